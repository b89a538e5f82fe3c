/**
 * The runner Job: an Indexed Job of targets × parallelism runner pods that run once (backoffLimit 0,
 * restartPolicy Never: a retry would re-run part of the test), bounded by activeDeadlineSeconds. Runner `I`
 * reads its identity from the downward API and its config from the runner ConfigMap through env vars (no
 * volume is needed for either, so the same Job runs under a kubelet and under the test pod executor), takes
 * target ⌊I/P⌋ shard (I mod P)/P, reports ready in `<lt>-result-I`, waits for `<lt>-start`, and hands its
 * results back in `<lt>-result-I`.
 *
 * Not set, on purpose: ttlSecondsAfterFinished (the operator's cleanup policy decides, and keeps failed runs
 * for debugging with OnSuccess); podFailurePolicy (with backoffLimit 0 every pod failure already fails the
 * Job, and the operator reads the reason from the pod itself); a CPU limit (throttling shows up as dispatch
 * lag, not as slower requests).
 */
import type { LoadTest } from '../../../api/loadtest.ts';
import { handoffEnv } from '../../../runner/handoff/protocol.ts';
import type { Container, EnvVar, Job, PodSpec, Volume } from './kube-types.ts';
import {
  loadTestRef,
  metricsPort,
  metricsPortName,
  ownerReference,
  resultConfigMapName,
  runnerConfigKey,
  runnerConfigName,
  runnerContainerName,
  runnerJobName,
  runnerLabels,
  runnerServiceAccountName,
  startSignalName,
} from './names.ts';
import {
  defaultTimings,
  expectedRunners,
  jobActiveDeadlineSeconds,
  type RunnerTimings,
  terminationGracePeriodSeconds,
} from './plan.ts';
import { runnerResources } from './resources.ts';
import { apiKeyEnvName, datasetMountPath } from './runner-config.ts';

/** The env var carrying the runner's YAML config (flag --config-env). */
export const configEnvName = 'LOADLM_CONFIG';
export const podIpEnvName = 'POD_IP';
/** The annotation the Job controller puts the completion index in (what JOB_COMPLETION_INDEX is read from). */
export const completionIndexAnnotation = 'batch.kubernetes.io/job-completion-index';

/**
 * `loadlm run` flags the Job relies on that the runner CLI must provide (see operator/loadtest/README.md):
 * config from an env var, the Kubernetes hand-off (runner/handoff), and the multi-target runner assignment.
 */
export const handoffRunnerFlags = [
  'config-env',
  'result-configmap',
  'start-signal',
  'start-timeout',
  'job-index',
  'runners-per-target',
] as const;

/** The pod's user and group: distroless's `nonroot`. */
export const runnerUid = 65532;

export interface RunnerJobOptions {
  /** The operator's default runner image (spec.runner.image wins). */
  image: string;
  timings?: Partial<RunnerTimings>;
  /** Runner --log-level; default info. */
  logLevel?: string;
}

export function renderRunnerJob(lt: LoadTest, options: RunnerJobOptions): Job {
  const ref = loadTestRef(lt);
  const spec = lt.spec;
  const runner = spec.runner;
  const timings: RunnerTimings = { ...defaultTimings, ...options.timings };
  const runners = expectedRunners(lt);
  const labels = runnerLabels(ref.name);
  const container: Container = {
    name: runnerContainerName,
    image: runner?.image ?? options.image,
    ...(runner?.imagePullPolicy ? { imagePullPolicy: runner.imagePullPolicy } : {}),
    args: runnerArgs(lt, timings, options.logLevel ?? 'info'),
    env: runnerEnv(lt),
    ports: [{ name: metricsPortName, containerPort: metricsPort, protocol: 'TCP' }],
    readinessProbe: { httpGet: { path: '/readyz', port: metricsPortName }, periodSeconds: 5, failureThreshold: 3 },
    resources: runnerResources(runner?.resources),
    securityContext: {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      ...(spec.data.dataset ? [{ name: 'dataset', mountPath: datasetMountPath, readOnly: true }] : []),
    ],
  };
  const volumes: Volume[] = [
    { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    ...(spec.data.dataset
      ? [
          {
            name: 'dataset',
            configMap: {
              name: spec.data.dataset.configMapRef.name,
              items: [{ key: spec.data.dataset.configMapRef.key, path: spec.data.dataset.configMapRef.key }],
            },
          },
        ]
      : []),
  ];
  const podSpec: PodSpec = {
    restartPolicy: 'Never',
    serviceAccountName: runner?.serviceAccountName ?? runnerServiceAccountName(ref.name),
    // The runner talks to the API (results, start signal) even if its ServiceAccount opts out by default.
    automountServiceAccountToken: true,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: terminationGracePeriodSeconds(timings),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: runnerUid,
      runAsGroup: runnerUid,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    ...(runner?.nodeSelector ? { nodeSelector: { ...runner.nodeSelector } } : {}),
    ...(runner?.tolerations ? { tolerations: runner.tolerations.map((t) => ({ ...t })) } : {}),
    ...(runner?.priorityClassName ? { priorityClassName: runner.priorityClassName } : {}),
    ...(runner?.imagePullSecrets ? { imagePullSecrets: runner.imagePullSecrets.map((s) => ({ name: s.name })) } : {}),
    containers: [container],
    volumes,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: runnerJobName(ref.name, runners.count),
      namespace: ref.namespace,
      labels,
      ownerReferences: [ownerReference(lt)],
    },
    spec: {
      completionMode: 'Indexed',
      completions: runners.count,
      parallelism: runners.count,
      backoffLimit: 0,
      activeDeadlineSeconds: jobActiveDeadlineSeconds(lt, timings),
      template: {
        // Our labels win over spec.runner.podLabels: the Service and the operator select pods by them.
        metadata: {
          labels: { ...runner?.podLabels, ...labels },
          ...(runner?.podAnnotations ? { annotations: { ...runner.podAnnotations } } : {}),
        },
        spec: podSpec,
      },
    },
  };
}

/** `loadlm run` arguments; `$(VAR)` is expanded by the kubelet from the container's env. */
export function runnerArgs(lt: LoadTest, timings: RunnerTimings, logLevel: string): string[] {
  const ref = loadTestRef(lt);
  const runners = expectedRunners(lt);
  const index = `$(${handoffEnv.runnerIndex})`;
  const assignment =
    runners.targets.length === 1
      ? [`--shard=${index}/${runners.perTarget}`]
      : [`--job-index=${index}`, `--runners-per-target=${runners.perTarget}`];
  return [
    'run',
    `--config-env=${configEnvName}`,
    ...assignment,
    `--result-configmap=${resultConfigMapName(ref.name, index)}`,
    `--start-signal=${startSignalName(ref.name)}`,
    `--start-timeout=${lt.spec.startupDeadlineSeconds}s`,
    `--metrics-host=$(${podIpEnvName})`,
    `--metrics-port=${metricsPort}`,
    `--linger=${timings.metricsLingerSeconds}s`,
    `--grace-period=${timings.gracePeriodSeconds}s`,
    '--progress=lines',
    '--progress-interval=10s',
    `--log-level=${logLevel}`,
  ];
}

/**
 * The runner's environment, in dependency order (`$(VAR)` only sees variables defined above it):
 * JOB_COMPLETION_INDEX first (the Job controller then does not append its own), identity from the downward
 * API, the config from the runner ConfigMap, API keys from their Secrets, then spec.runner.env (names we set
 * are reserved).
 */
export function runnerEnv(lt: LoadTest): EnvVar[] {
  const ref = loadTestRef(lt);
  const fieldRef = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
  const env: EnvVar[] = [
    { name: handoffEnv.runnerIndex, ...fieldRef(`metadata.annotations['${completionIndexAnnotation}']`) },
    { name: handoffEnv.namespace, ...fieldRef('metadata.namespace') },
    { name: handoffEnv.podName, ...fieldRef('metadata.name') },
    { name: podIpEnvName, ...fieldRef('status.podIP') },
    { name: handoffEnv.loadTestName, value: ref.name },
    { name: handoffEnv.loadTestUid, value: ref.uid },
    {
      name: configEnvName,
      valueFrom: { configMapKeyRef: { name: runnerConfigName(ref.name), key: runnerConfigKey } },
    },
    ...lt.spec.targets.flatMap((target, index) =>
      target.apiKeySecretRef
        ? [
            {
              name: apiKeyEnvName(index),
              valueFrom: { secretKeyRef: { name: target.apiKeySecretRef.name, key: target.apiKeySecretRef.key } },
            },
          ]
        : [],
    ),
  ];
  const reserved = new Set(env.map((variable) => variable.name));
  for (const variable of lt.spec.runner?.env ?? []) {
    if (!reserved.has(variable.name) && !variable.name.startsWith('LOADLM_API_KEY_')) {
      env.push({ name: variable.name, value: variable.value });
    }
  }
  return env;
}
