/**
 * Cross-field validation rules, declared once and enforced twice: as CEL `x-kubernetes-validations` by the
 * apiserver (via the generated CRD) and as zod refinements at runtime (operator, runner config). Keeping the
 * CEL expression and its TypeScript twin side by side is what keeps them in step; the invalid-manifest table
 * in the tests runs against both.
 */
import type { z } from 'zod';

/** The `reason` values the apiserver accepts on a validation rule; they pick the error's wording. */
export type RuleReason = 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';

export interface ValidationRule<T> {
  /** CEL expression with `self` bound to the node the rule is attached to (and `oldSelf` for transition rules). */
  rule: string;
  /** What is wrong and what is expected. The error is reported on `fieldPath`, so the field is always named. */
  message: string;
  /** Optional CEL message expression that quotes values (the apiserver prefers it over `message`). */
  messageExpression?: string;
  /** The field the error is reported on, relative to this node, in CEL fieldPath syntax (`.load.rate`). */
  fieldPath?: string;
  reason?: RuleReason;
  /** The same rule in TypeScript. Omitted only for transition rules, which need the stored object. */
  check?: (self: T) => boolean;
  /** TypeScript twin of `messageExpression`. */
  messageFor?: (self: T) => string;
}

/** The CRD form of a rule (what lands in `x-kubernetes-validations`). */
export interface CrdValidationRule {
  rule: string;
  message: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: RuleReason;
}

export const validationsKey = 'x-kubernetes-validations';

/** `.load.rate` → `['load', 'rate']`; `['a.b']` → `['a.b']`. */
export function fieldPathToPath(fieldPath: string): string[] {
  const path: string[] = [];
  const tokens = fieldPath.matchAll(/\.([A-Za-z_][A-Za-z0-9_]*)|\['([^']*)'\]/g);
  for (const token of tokens) path.push(token[1] ?? token[2] ?? '');
  return path;
}

export function toCrdRule<T>(rule: ValidationRule<T>): CrdValidationRule {
  const out: CrdValidationRule = { rule: rule.rule, message: rule.message };
  if (rule.messageExpression !== undefined) out.messageExpression = rule.messageExpression;
  if (rule.fieldPath !== undefined) out.fieldPath = rule.fieldPath;
  if (rule.reason !== undefined) out.reason = rule.reason;
  return out;
}

/**
 * Attaches rules to a schema: a zod refinement that runs every `check` (reporting on `fieldPath`), and the CEL
 * form as metadata for the CRD generator. Rules already on the schema (from an earlier call) are kept.
 */
export function withRules<S extends z.ZodType>(schema: S, rules: ValidationRule<z.output<S>>[]): S {
  for (const rule of rules) {
    if (rule.check === undefined && !rule.rule.includes('oldSelf')) {
      throw new Error(`rule "${rule.rule}" needs a TypeScript check (only transition rules may omit it)`);
    }
  }
  const checked = schema.superRefine((value, ctx) => {
    for (const rule of rules) {
      if (rule.check === undefined || rule.check(value)) continue;
      ctx.addIssue({
        code: 'custom',
        message: rule.messageFor ? rule.messageFor(value) : rule.message,
        path: rule.fieldPath ? fieldPathToPath(rule.fieldPath) : [],
        input: value,
      });
    }
  }) as S;
  return checked.meta({ [validationsKey]: [...inheritedRules(schema), ...rules.map(toCrdRule)] }) as S;
}

/** Rules registered on a schema or on the schemas it was cloned from (`.describe()` and friends clone). */
function inheritedRules(schema: z.ZodType): CrdValidationRule[] {
  for (let node: z.ZodType | undefined = schema; node; node = node._zod.parent as z.ZodType | undefined) {
    const rules = node.meta()?.[validationsKey] as CrdValidationRule[] | undefined;
    if (rules) return rules;
  }
  return [];
}

/** Kubernetes schema extensions that have no zod equivalent, attached as metadata. */
export function k8s<S extends z.ZodType>(schema: S, extensions: Record<string, unknown>): S {
  return schema.meta(extensions) as S;
}
