/** The shapes failure detection shares across its families (results, pods, waiting pods, the Job). */
import type { ObservedJob, Pod } from '../desired/kube-types.ts';
import type { MergedResults } from './results.ts';

export interface RunnerFailure {
  reason: string;
  message: string;
  /** The runner at fault, when one is. */
  index?: number;
}

export interface FailureObservations {
  pods: readonly Pod[];
  job?: ObservedJob;
  /** The latest merge of the runners' results (partial while running). */
  results?: MergedResults;
  /** The start signal was written: runners were told to start. */
  started: boolean;
  /** When startup began: the runner Job's creationTimestamp, or the LoadTest's while there is no Job. */
  startupBeganAt?: string;
}

export interface FailureDetectionOptions {
  /** ErrImagePull / ImagePullBackOff for this long → ImagePullBackOff. Default 60. */
  imagePullGraceSeconds?: number;
  /** CreateContainerConfigError (missing Secret or key) for this long → SecretNotFound, .... Default 30. */
  configErrorGraceSeconds?: number;
  /** PodScheduled=False for this long → Unschedulable. Default 120 (room for a cluster autoscaler). */
  unschedulableGraceSeconds?: number;
  /** A target with no successful request and at least this many failed ones is failing. Default 10. */
  allFailingMinRequests?: number;
}

export const failureDefaults: Required<FailureDetectionOptions> = {
  imagePullGraceSeconds: 60,
  configErrorGraceSeconds: 30,
  unschedulableGraceSeconds: 120,
  allFailingMinRequests: 10,
};
