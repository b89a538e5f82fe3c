/**
 * LoadTest spec → the runner's YAML config (runner/config/schema.ts), stored in ConfigMap
 * `<lt>-runner-config` under `config.yaml` and handed to the runner as the env var LOADLM_CONFIG. It holds no
 * secret: an API key appears as `${LOADLM_API_KEY_<i>}`, which the runner expands from the env var the Job
 * fills from the Secret (secretKeyRef).
 *
 * Deliberate differences from the spec:
 * - `slo` carries only `goodput` (it changes what is counted); thresholds are judged by the operator on the
 *   merged histograms, because one shard's p95 is not the test's p95, and a runner exiting 1 (SLO breached)
 *   would fail the Job and stop the other runners;
 * - a URL whose path names the endpoint (`.../chat/completions`, `.../completions`) decides `api` (the CRD
 *   defaults `api` to chat, so it cannot say whether the user chose it);
 * - a ConfigMap dataset becomes the file path where the Job mounts it;
 * - `load.seed` is always set (see effectiveSeed), so every runner generates the same global request sequence;
 * - every string from the spec is escaped for the runner's `${VAR}` expansion (`${` → `$${`, which the runner
 *   turns back into `${`): only the operator's own `api_key` reference is expanded. Otherwise a model name
 *   like `m-${LOADLM_API_KEY_0}` would put the Secret's value into the requests, results, report and status.
 */
import { stringify } from 'yaml';
import type { LoadTest, Target } from '../../../api/loadtest.ts';
import { runDefaults } from '../../../runner/config/overrides.ts';
import type { ConfigMap } from './kube-types.ts';
import { loadTestRef, ownerReference, runnerConfigKey, runnerConfigName, runnerLabels } from './names.ts';
import { effectiveSeed } from './plan.ts';

/** A spec value the operator cannot turn into a runner config by itself. */
export class RenderError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'RenderError';
    this.field = field;
  }
}

/** Where the Job mounts a ConfigMap dataset (read-only). */
export const datasetMountPath = '/etc/loadlm/dataset';

/** Env var holding target `index`'s API key (from its apiKeySecretRef). */
export const apiKeyEnvName = (index: number) => `LOADLM_API_KEY_${index}`;

export interface RunnerConfigOptions {
  /** Port numbers of serviceRef targets given by port name, keyed `namespace/service/port` (read from the Service). */
  servicePorts?: Record<string, number>;
}

export interface RenderedRunnerConfig {
  /** The config as an object (what the YAML says). */
  config: Record<string, unknown>;
  yaml: string;
  configMap: ConfigMap;
}

export function renderRunnerConfig(lt: LoadTest, options: RunnerConfigOptions = {}): RenderedRunnerConfig {
  const ref = loadTestRef(lt);
  const spec = lt.spec;
  const environment = spec.environment;
  const environmentName = environment?.name || runDefaults.environment;
  const targets = spec.targets.map((target, index) => ({
    // Spec text is data, never a variable reference (see the file comment)...
    ...(escapeExpansion(runnerTarget(target, index, ref.namespace, options)) as Record<string, unknown>),
    // ...except the key, which the runner expands from the env var the Job fills from the Secret (secretKeyRef).
    ...(target.apiKeySecretRef ? { api_key: `\${${apiKeyEnvName(index)}}` } : {}),
  }));
  const { seed: _ignored, ...load } = spec.load;
  const data = spec.data;
  const config: Record<string, unknown> = {
    loadtest: ref.name,
    environments: {
      [environmentName]: {
        ...(escapeExpansion({
          ...(environment?.provider ? { provider: environment.provider } : {}),
          ...(environment?.cluster ? { cluster: environment.cluster } : {}),
          ...(environment?.region ? { region: environment.region } : {}),
        }) as Record<string, unknown>),
        targets,
      },
    },
    load: escapeExpansion({ ...withoutUndefined(load), seed: effectiveSeed(lt) }),
    data: escapeExpansion(
      withoutUndefined({
        promptTokens: data.promptTokens,
        outputTokens: data.outputTokens,
        sharedPrefixTokens: data.sharedPrefixTokens,
        calibration: data.calibration,
        dataset: data.dataset ? `${datasetMountPath}/${data.dataset.configMapRef.key}` : undefined,
      }),
    ),
    ...(spec.slo?.goodput ? { slo: { goodput: escapeExpansion(withoutUndefined(spec.slo.goodput)) } } : {}),
  };
  const yaml =
    `# Rendered by loadlm-operator from LoadTest ${ref.namespace}/${ref.name}. API keys come from environment\n` +
    '# variables (filled from Secrets); SLO thresholds are judged by the operator on the merged results.\n' +
    stringify(config, { lineWidth: 0 });
  const configMap: ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: runnerConfigName(ref.name),
      namespace: ref.namespace,
      labels: runnerLabels(ref.name),
      ownerReferences: [ownerReference(lt)],
    },
    data: { [runnerConfigKey]: yaml },
  };
  return { config, yaml, configMap };
}

function runnerTarget(
  target: Target,
  index: number,
  namespace: string,
  options: RunnerConfigOptions,
): Record<string, unknown> {
  const url = targetUrl(target, index, namespace, options);
  const namesEndpoint = /\/(chat\/)?completions\/*$/.test(new URL(url).pathname);
  return withoutUndefined({
    name: target.name,
    url,
    model: target.model,
    api: namesEndpoint ? undefined : target.api,
    stream: target.stream,
    maxConnections: target.maxConnections,
    timeouts: target.timeouts ? withoutUndefined(target.timeouts) : undefined,
  });
}

/** A target's URL; a serviceRef becomes `<scheme>://<name>.<namespace>.svc:<port><path>`. */
export function targetUrl(target: Target, index: number, namespace: string, options: RunnerConfigOptions = {}): string {
  if (target.url !== undefined) return target.url;
  const ref = target.serviceRef;
  if (!ref) throw new RenderError(`spec.targets[${index}]`, 'exactly one of url or serviceRef must be set');
  const serviceNamespace = ref.namespace ?? namespace;
  let port: number;
  if (typeof ref.port === 'number') {
    port = ref.port;
  } else {
    const key = `${serviceNamespace}/${ref.name}/${ref.port}`;
    const resolved = options.servicePorts?.[key];
    if (resolved === undefined) {
      throw new RenderError(
        `spec.targets[${index}].serviceRef.port`,
        `the port name "${ref.port}" must be resolved from Service ${serviceNamespace}/${ref.name} first`,
      );
    }
    port = resolved;
  }
  return `${ref.scheme}://${ref.name}.${serviceNamespace}.svc:${port}${ref.path ?? '/v1'}`;
}

/** The `namespace/service/port` keys renderRunnerConfig needs in `servicePorts` (named serviceRef ports). */
export function namedServicePorts(lt: LoadTest): { key: string; namespace: string; service: string; port: string }[] {
  const namespace = lt.metadata.namespace ?? '';
  return lt.spec.targets.flatMap((target) => {
    const ref = target.serviceRef;
    if (!ref || typeof ref.port === 'number') return [];
    const ns = ref.namespace ?? namespace;
    return [{ key: `${ns}/${ref.name}/${ref.port}`, namespace: ns, service: ref.name, port: ref.port }];
  });
}

/** `${` → `$${` in every string of a tree: the runner's expansion then yields the text as written. */
export function escapeExpansion(value: unknown): unknown {
  if (typeof value === 'string') return value.split('${').join('$${'); // not replaceAll: `$$` means `$` there
  if (Array.isArray(value)) return value.map(escapeExpansion);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, escapeExpansion(item)]));
  }
  return value;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
