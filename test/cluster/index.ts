/** Test cluster helpers: the local control plane, handles for test files, and the pod executor. */
export { ApiClient, ApiError } from './api-client.ts';
export { type ControlPlaneBinaries, ensureBinaries, repoRoot } from './build.ts';
export { type ClusterHandle, envNames, fromEnv } from './cluster-handle.ts';
export { type LocalCluster, type StartClusterOptions, startCluster } from './controlplane.ts';
export { defaultImages, runnerImage } from './images.ts';
export { KubectlError, type KubectlOptions, type KubectlResult } from './kubectl.ts';
export {
  type ImageMap,
  type ImageSpec,
  type PodExecutor,
  type PodExecutorOptions,
  startPodExecutor,
  type Taint,
  terminationMessagePathEnv,
} from './pod-executor.ts';
export { waitFor } from './wait.ts';
