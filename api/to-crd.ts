/**
 * zod → Kubernetes structural schema, and the CustomResourceDefinition built from it.
 *
 * zod's JSON Schema output is close; the apiserver's structural rules need a few rewrites: no
 * `additionalProperties: false`, `propertyNames`, `$schema` or `$ref`; no unions except int-or-string
 * (`x-kubernetes-int-or-string`); a `type` on every node; free-form nodes marked
 * `x-kubernetes-preserve-unknown-fields`. Anything that cannot be made structural is an error, not a silent drop.
 */
import { z } from 'zod';
import { apiVersion, group, type KindNames, type PrinterColumn, version } from './crd-meta.ts';
import type { CrdValidationRule } from './rules.ts';

/** The subset of OpenAPI v3 (JSONSchemaProps) that a CRD schema uses. */
export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema;
  items?: StructuralSchema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  anyOf?: StructuralSchema[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: CrdValidationRule[];
}

type JsonSchema = Record<string, unknown>;

const int32Min = -2_147_483_648;
const int32Max = 2_147_483_647;

/** Keywords copied as they are (after their values are checked where it matters). */
const passThrough = new Set([
  'description',
  'default',
  'enum',
  'format',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'required',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
]);
/** Keywords dropped: JSON Schema bookkeeping with no meaning for the apiserver. */
const dropped = new Set(['$schema', 'title', 'examples', 'id', 'propertyNames', 'readOnly', 'writeOnly']);
/** Value validations that belong to one branch of an int-or-string and can sit on the node itself. */
const intOrStringHoistable = new Set([
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'pattern',
  'minLength',
  'maxLength',
]);

export class StructuralSchemaError extends Error {}

/** Converts a zod schema into a structural schema. Throws StructuralSchemaError naming the offending path. */
export function toStructuralSchema(schema: z.ZodType): StructuralSchema {
  const json = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    reused: 'inline',
    cycles: 'throw',
    unrepresentable: 'throw',
  }) as JsonSchema;
  return convert(json, '');
}

function fail(path: string, problem: string): never {
  throw new StructuralSchemaError(`${path || '<root>'}: ${problem}`);
}

function convert(node: JsonSchema, path: string): StructuralSchema {
  if ('$ref' in node) fail(path, '$ref is not allowed (schemas must be inlined)');
  if ('oneOf' in node || 'allOf' in node || 'not' in node) fail(path, 'oneOf/allOf/not are not allowed; use CEL rules');
  if (node.nullable === true) fail(path, 'nullable is not allowed; make the field optional instead');
  if (Array.isArray(node.type)) fail(path, 'a node must have exactly one type');
  if ('anyOf' in node) return convertIntOrString(node, path);

  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (dropped.has(key)) continue;
    if (key === 'type' || key === 'properties' || key === 'items' || key === 'additionalProperties') continue;
    if (key === 'const') {
      out.enum = [value];
      continue;
    }
    if (!passThrough.has(key)) fail(path, `unsupported keyword "${key}"`);
    out[key] = value;
  }

  const type = node.type as StructuralSchema['type'] | undefined;
  if (type === undefined) {
    if (Object.keys(node).every((key) => key === 'description' || key === 'default' || dropped.has(key))) {
      // zod's unknown/any: a free-form value.
      out['x-kubernetes-preserve-unknown-fields'] = true;
      return order(out);
    }
    fail(path, 'every node needs a type');
  }
  out.type = type;

  if (type === 'object') {
    const properties = node.properties as Record<string, JsonSchema> | undefined;
    const additional = node.additionalProperties;
    if (properties !== undefined) {
      out.properties = Object.fromEntries(
        Object.entries(properties).map(([name, child]) => [name, convert(child, `${path}.${name}`)]),
      );
    }
    if (typeof additional === 'object' && additional !== null) {
      if (properties !== undefined && Object.keys(properties).length > 0) {
        fail(path, 'properties and additionalProperties cannot be combined');
      }
      out.additionalProperties = convert(additional as JsonSchema, `${path}[*]`);
    } else if (properties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) {
      out['x-kubernetes-preserve-unknown-fields'] = true;
    }
    if (Array.isArray(out.required) && out.required.length === 0) delete out.required;
  } else if (type === 'array') {
    const items = node.items;
    if (typeof items !== 'object' || items === null || Array.isArray(items)) {
      fail(path, 'arrays need a single items schema (no tuples)');
    }
    out.items = convert(items as JsonSchema, `${path}[]`);
  } else if (type === 'integer') {
    normalizeInteger(out);
  } else if (type === 'string' && out.format === 'date-time') {
    // The apiserver checks the format itself; zod's pattern for it is long and adds nothing.
    delete out.pattern;
  }
  mentionDefault(out);
  return order(out);
}

/** `kubectl explain` does not show defaults: say them in the description of scalar fields. */
function mentionDefault(out: Record<string, unknown>): void {
  const value = out.default;
  if (value === undefined || typeof value === 'object') return;
  const description = typeof out.description === 'string' ? out.description : '';
  if (/\bDefault\b/.test(description)) return;
  const shown = typeof value === 'string' ? `\`${value}\`` : String(value);
  out.description =
    `${description}${description === '' || description.endsWith('.') ? '' : '.'} Default ${shown}.`.trim();
}

/** z.int() carries ±MAX_SAFE_INTEGER bounds; replace meaningless bounds with a format. */
function normalizeInteger(out: Record<string, unknown>): void {
  if (out.minimum === -Number.MAX_SAFE_INTEGER) delete out.minimum;
  if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
  const min = (out.minimum as number | undefined) ?? -Infinity;
  const max = (out.maximum as number | undefined) ?? Infinity;
  out.format = min >= int32Min && max <= int32Max ? 'int32' : 'int64';
}

function convertIntOrString(node: JsonSchema, path: string): StructuralSchema {
  const branches = node.anyOf as JsonSchema[];
  const integer = branches.find((branch) => branch.type === 'integer');
  const string = branches.find((branch) => branch.type === 'string');
  if (branches.length !== 2 || integer === undefined || string === undefined) {
    fail(path, 'unions are not allowed in a structural schema, except integer-or-string');
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'anyOf' || dropped.has(key)) continue;
    if (!passThrough.has(key)) fail(path, `unsupported keyword "${key}"`);
    out[key] = value;
  }
  for (const branch of [integer, string]) {
    const bounds: Record<string, unknown> = { ...branch };
    if (branch === integer) normalizeInteger(bounds);
    for (const [key, value] of Object.entries(bounds)) {
      if (key === 'type' || key === 'format') continue;
      if (!intOrStringHoistable.has(key)) fail(path, `int-or-string branches may only carry bounds, not "${key}"`);
      out[key] = value;
    }
  }
  out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  out['x-kubernetes-int-or-string'] = true;
  return order(out);
}

/** A stable, readable key order: type and description first, children last. */
const keyOrder = [
  'type',
  'description',
  'format',
  'enum',
  'default',
  'anyOf',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
];
const trailing = ['required', 'properties', 'additionalProperties', 'items', 'x-kubernetes-validations'];

function order(out: Record<string, unknown>): StructuralSchema {
  const keys = Object.keys(out);
  const rank = (key: string) => {
    const head = keyOrder.indexOf(key);
    if (head >= 0) return head;
    const tail = trailing.indexOf(key);
    return tail >= 0 ? 100 + tail : 50;
  };
  keys.sort((a, b) => rank(a) - rank(b) || (rank(a) === 50 ? a.localeCompare(b) : 0));
  return Object.fromEntries(keys.map((key) => [key, out[key]])) as StructuralSchema;
}

// --------------------------------------------------------------------------------------------------- CRD

export interface CrdSource {
  names: KindNames;
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  columns: PrinterColumn[];
  /** Rules on the whole object (they may read metadata.name). */
  rootRules?: CrdValidationRule[];
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: KindNames;
    scope: 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: StructuralSchema };
    }[];
  };
}

export function crdName(names: KindNames): string {
  return `${names.plural}.${group}`;
}

export function buildCrd(source: CrdSource): CustomResourceDefinition {
  const root: StructuralSchema = {
    type: 'object',
    description: source.description,
    required: ['spec'],
    properties: {
      apiVersion: {
        type: 'string',
        description: `APIVersion of this object: \`${apiVersion}\`.`,
      },
      kind: { type: 'string', description: `Kind of this object: \`${source.names.kind}\`.` },
      metadata: { type: 'object' },
      spec: toStructuralSchema(source.spec),
      status: toStructuralSchema(source.status),
    },
  };
  if (source.rootRules && source.rootRules.length > 0) root['x-kubernetes-validations'] = source.rootRules;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: crdName(source.names),
      labels: { 'app.kubernetes.io/name': 'loadlm', 'app.kubernetes.io/part-of': 'loadlm' },
    },
    spec: {
      group,
      names: source.names,
      scope: 'Namespaced',
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: source.columns,
          schema: { openAPIV3Schema: root },
        },
      ],
    },
  };
}
