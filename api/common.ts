/**
 * Building blocks shared by both kinds and by the runner's own config: names, references, label maps,
 * environment labels, conditions, quantities and the integer-or-decimal-string number type.
 */
import { z } from 'zod';
import { k8s, withRules } from './rules.ts';

// Patterns are written so that JavaScript and Go's RE2 (the apiserver) read them the same way: no lookaround.
export const dns1123LabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dns1123SubdomainPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
export const labelKeyPattern =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
export const configMapKeyPattern = /^[-._a-zA-Z0-9]+$/;
export const portNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const envVarNamePattern = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
/** Kubernetes resource quantity (apimachinery's pattern): `500m`, `2`, `1.5Gi`, `128974848`, `1e3`. */
export const quantityPattern =
  /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
/** CEL string literal of a pattern (for `matches()` in rules). */
export function celRegex(pattern: RegExp): string {
  return `'${pattern.source.replaceAll('\\', '\\\\')}'`;
}

export const maxInt32 = 2_147_483_647;

/** An integer field with explicit bounds (every integer in the API has them). */
export function int(min: number, max: number) {
  return z.int().min(min).max(max);
}

/** A duration in whole seconds (`...Seconds` fields). */
export function seconds(min: number, max: number) {
  return int(min, max);
}

export const Dns1123Label = z.string().min(1).max(63).regex(dns1123LabelPattern, {
  error: 'expected a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
});

export const ObjectName = z.string().min(1).max(253).regex(dns1123SubdomainPattern, {
  error: 'expected a Kubernetes object name: lowercase letters, digits, "-" and ".", at most 253 characters',
});

export const LabelValue = z.string().max(63).regex(labelValuePattern, {
  error:
    'expected a label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
});

export const ConfigMapKey = z.string().min(1).max(253).regex(configMapKeyPattern, {
  error: 'expected a key of letters, digits, "-", "_" or "."',
});

/** A map of Kubernetes labels (keys `prefix/name`, values label values). */
export function labelMap(maxProperties = 32) {
  const map = k8s(z.record(z.string().max(316), LabelValue), { maxProperties });
  return withRules(map, [
    {
      rule: `self.all(k, k.matches(${celRegex(labelKeyPattern)}))`,
      message: 'every key must be a valid label key ([prefix/]name, name at most 63 characters)',
      check: (self) =>
        Object.keys(self).every((key) => labelKeyPattern.test(key) && (key.split('/').at(-1)?.length ?? 0) <= 63),
    },
  ]);
}

/**
 * The label convention of the design documents, stamped onto every metric so one query can compare
 * environments, providers, clusters and regions.
 */
export const EnvironmentLabels = z
  .strictObject({
    name: LabelValue.optional().describe(
      'Environment tier, e.g. `development`, `staging` or `production`. Becomes the `environment` label.',
    ),
    provider: LabelValue.optional().describe(
      'Cloud or hosting provider, e.g. `akamai-lke`, `aws-eks` or `gcp-gke`. Becomes the `provider` label.',
    ),
    cluster: LabelValue.optional().describe('Cluster name, e.g. `rag-ray-dev`. Becomes the `cluster` label.'),
    region: LabelValue.optional().describe(
      'Deployment region, e.g. `us-ord` or `us-east-1`. Becomes the `region` label.',
    ),
  })
  .describe(
    'Environment labels (`environment`, `provider`, `cluster`, `region`) added to every metric series, so one ' +
      'query can compare environments and clusters.',
  );
export type EnvironmentLabels = z.infer<typeof EnvironmentLabels>;

/** A key of a Secret in the object's own namespace. */
export const SecretKeySelector = z
  .strictObject({
    name: ObjectName.describe('Name of the Secret, in the same namespace as this object.'),
    key: ConfigMapKey.describe('Key within the Secret whose value is used.'),
  })
  .describe('A key of a Secret in the same namespace.');
export type SecretKeySelector = z.infer<typeof SecretKeySelector>;

/** A key of a ConfigMap in the object's own namespace. */
export const ConfigMapKeySelector = z
  .strictObject({
    name: ObjectName.describe('Name of the ConfigMap, in the same namespace as this object.'),
    key: ConfigMapKey.describe('Key within the ConfigMap whose value is used.'),
  })
  .describe('A key of a ConfigMap in the same namespace.');
export type ConfigMapKeySelector = z.infer<typeof ConfigMapKeySelector>;

export const LocalObjectReference = z
  .strictObject({ name: ObjectName.describe('Name of the referenced object.') })
  .describe('A reference to an object in the same namespace.');
export type LocalObjectReference = z.infer<typeof LocalObjectReference>;

export const NamespacedObjectReference = z
  .strictObject({
    name: ObjectName.describe('Name of the referenced object.'),
    namespace: Dns1123Label.optional().describe(
      "Namespace of the referenced object. Default: this object's namespace.",
    ),
  })
  .describe('A reference to an object, possibly in another namespace.');
export type NamespacedObjectReference = z.infer<typeof NamespacedObjectReference>;

export const LabelSelectorRequirement = z
  .strictObject({
    key: z.string().min(1).max(316).describe('The label key the requirement applies to.'),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']).describe('How the key relates to the values.'),
    values: z
      .array(LabelValue)
      .max(64)
      .optional()
      .describe('Label values; must be non-empty for In and NotIn and empty for Exists and DoesNotExist.'),
  })
  .describe('A label selector requirement (`key operator values`).');

/** metav1.LabelSelector. */
export const LabelSelector = z
  .strictObject({
    matchLabels: labelMap().optional().describe('Labels that must all match exactly.'),
    matchExpressions: z.array(LabelSelectorRequirement).max(16).optional().describe('Requirements that must all hold.'),
  })
  .describe('A Kubernetes label selector. An empty selector matches everything.');
export type LabelSelector = z.infer<typeof LabelSelector>;

/**
 * A number that may be fractional, without floats in the API: an integer (`10`) or a decimal string with at
 * most three fractional digits (`"2.5"`, `"0.125"`). An unquoted `2.5` is rejected (Kubernetes APIs avoid
 * floats because they do not round-trip exactly). Read with `decimalToMilli`/`decimalToNumber`.
 */
export type Decimal = number | string;

export const positiveDecimalPattern = /^([1-9][0-9]{0,5}(\.[0-9]{1,3})?|0\.([1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9]))$/;
export const nonNegativeDecimalPattern = /^[0-9]{1,6}(\.[0-9]{1,3})?$/;
export const percentPattern = /^(100(\.0{1,3})?|[0-9]{1,2}(\.[0-9]{1,3})?)$/;

const decimalHelp = 'an integer or a decimal string with at most 3 fractional digits';

function decimal(integer: z.ZodInt, pattern: RegExp, what: string) {
  const error = `expected ${what}: ${decimalHelp} (e.g. 10 or "2.5"; unquoted fractions are not accepted)`;
  return z.union([integer, z.string().max(13).regex(pattern, { error })], { error });
}

/** A positive Decimal (> 0), e.g. a request rate. */
export function positiveDecimal(max = 1_000_000) {
  return decimal(int(1, max), positiveDecimalPattern, 'a positive number');
}

/** A Decimal percentage in [0, 100]. */
export function percent() {
  return decimal(int(0, 100), percentPattern, 'a percentage from 0 to 100');
}

/** A Decimal as an exact integer count of thousandths (`"2.5"` → 2500). */
export function decimalToMilli(value: Decimal): number {
  if (typeof value === 'number') return value * 1000;
  const [whole = '0', fraction = ''] = value.split('.');
  return Number(whole) * 1000 + Number(fraction.padEnd(3, '0'));
}

export function decimalToNumber(value: Decimal): number {
  return decimalToMilli(value) / 1000;
}

/** An integer or a string (Kubernetes int-or-string), e.g. a port number or name. */
export function intOrString(integer: z.ZodInt, string: z.ZodString, error: string) {
  return z.union([integer, string], { error });
}

/** A Kubernetes resource quantity: an integer or a quantity string (`500m`, `1Gi`). */
export const Quantity = intOrString(
  int(0, Number.MAX_SAFE_INTEGER),
  z.string().max(64).regex(quantityPattern),
  'expected a Kubernetes quantity such as 500m, 2 or 1Gi',
);

/** Resource requests and limits, as in a container spec. */
export const ResourceRequirements = z
  .strictObject({
    requests: k8s(z.record(z.string().max(253), Quantity), { maxProperties: 16 })
      .optional()
      .describe('Minimum resources, e.g. `{cpu: 500m, memory: 256Mi}`.'),
    limits: k8s(z.record(z.string().max(253), Quantity), { maxProperties: 16 })
      .optional()
      .describe('Maximum resources, e.g. `{cpu: "2", memory: 1Gi}`.'),
  })
  .describe('Compute resources of a container (requests and limits by resource name).');
export type ResourceRequirements = z.infer<typeof ResourceRequirements>;

/** core/v1 Toleration. */
export const Toleration = z
  .strictObject({
    key: z.string().max(316).optional().describe('Taint key; empty with operator Exists tolerates every taint.'),
    operator: z.enum(['Exists', 'Equal']).optional().describe('Exists or Equal (default Equal).'),
    value: z.string().max(63).optional().describe('Taint value to match with operator Equal.'),
    effect: z
      .enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])
      .optional()
      .describe('Taint effect to match; empty matches all effects.'),
    tolerationSeconds: int(0, Number.MAX_SAFE_INTEGER)
      .optional()
      .describe('For NoExecute: how long the pod stays bound after the taint appears.'),
  })
  .describe('A toleration, as in a pod spec.');
export type Toleration = z.infer<typeof Toleration>;

/** A plain environment variable (never a secret: secrets come from `...SecretRef` fields). */
export const EnvVar = z
  .strictObject({
    name: z.string().min(1).max(256).regex(envVarNamePattern).describe('Variable name.'),
    value: z.string().max(4096).describe('Variable value. Do not put secrets here: it is stored in plain text.'),
  })
  .describe('An environment variable with a literal value.');
export type EnvVar = z.infer<typeof EnvVar>;

/** RFC 3339 timestamp as the apiserver writes it (`2025-01-31T12:00:00Z`). */
export const Timestamp = z.iso.datetime({ offset: true });

export const conditionReasonPattern = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
export const conditionTypePattern =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/;

/** metav1.Condition. */
export const Condition = z
  .object({
    type: z.string().min(1).max(316).regex(conditionTypePattern).describe('Condition type in CamelCase, e.g. `Ready`.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('True, False or Unknown.'),
    observedGeneration: int(0, Number.MAX_SAFE_INTEGER)
      .optional()
      .describe('The `metadata.generation` the condition was set for.'),
    lastTransitionTime: Timestamp.describe('When the status last changed (not when the condition was last updated).'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(conditionReasonPattern)
      .describe('Programmatic identifier of the cause, in CamelCase, e.g. `ThresholdsBreached`.'),
    message: z.string().max(32768).describe('Human-readable details; may be empty.'),
  })
  .describe('A condition in the `metav1.Condition` shape.');
export type Condition = z.infer<typeof Condition>;

/**
 * A list whose items are unique by `key` (`x-kubernetes-list-type: map`): the apiserver rejects duplicates and
 * server-side apply merges items by key. The zod twin reports a duplicate on its index.
 */
export function listMap<S extends z.ZodType<readonly object[]>>(array: S, key: string): S {
  const unique = array.superRefine((items, ctx) => {
    const seen = new Set<unknown>();
    items.forEach((item, index) => {
      const value = (item as Record<string, unknown>)[key];
      if (seen.has(value)) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `duplicate ${key} "${String(value)}": ${key} must be unique`,
        });
      }
      seen.add(value);
    });
  }) as S;
  return k8s(unique, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [key] });
}

/** A list of unique values (`x-kubernetes-list-type: set`). */
export function listSet<S extends z.ZodType<readonly (string | number)[]>>(array: S): S {
  const unique = array.superRefine((items, ctx) => {
    items.forEach((item, index) => {
      if (items.indexOf(item) !== index) {
        ctx.addIssue({ code: 'custom', path: [index], message: `duplicate value "${item}": values must be unique` });
      }
    });
  }) as S;
  return k8s(unique, { 'x-kubernetes-list-type': 'set' });
}

/** The `conditions` list: a map keyed by `type`, as Kubernetes expects for server-side apply. */
export function conditionList(description: string) {
  return listMap(z.array(Condition).max(16), 'type').describe(description);
}

/** The part of ObjectMeta that manifests and the operator read. Other fields pass through. */
export const ObjectMeta = z
  .looseObject({
    name: z.string().max(253).optional(),
    generateName: z.string().max(253).optional(),
    namespace: z.string().max(63).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    generation: z.int().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    creationTimestamp: z.string().optional(),
  })
  .describe('Standard object metadata.');
export type ObjectMeta = z.infer<typeof ObjectMeta>;
