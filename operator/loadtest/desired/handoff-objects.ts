/**
 * The ConfigMaps of the start barrier and the result hand-off, as the operator applies them:
 * - result placeholders `<lt>-result-<i>` (labels and ownerReference only, no data: the runner owns `data`
 *   and only needs `patch`), applied before the Job;
 * - the start signal `<lt>-start`, applied once when every runner is ready (or to abort the start);
 * - the report `<lt>-report` lives in status/report.ts.
 */
import type { LoadTest } from '../../../api/loadtest.ts';
import { startSignalData } from '../../../runner/handoff/protocol.ts';
import type { ConfigMap } from './kube-types.ts';
import {
  loadTestRef,
  ownerReference,
  resultConfigMapName,
  resultLabels,
  runnerLabels,
  startSignalName,
} from './names.ts';
import { expectedRunners } from './plan.ts';

export function renderResultPlaceholders(lt: LoadTest): ConfigMap[] {
  const ref = loadTestRef(lt);
  return Array.from({ length: expectedRunners(lt).count }, (_, index) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: resultConfigMapName(ref.name, index),
      namespace: ref.namespace,
      labels: resultLabels(ref.name, index),
      ownerReferences: [ownerReference(lt)],
    },
  }));
}

export type StartDecisionSignal =
  | { kind: 'start'; startAtMs: number }
  | { kind: 'abort'; reason: string; message: string };

/** `<lt>-start` with `phase: Start` and the agreed `startAt`, or `phase: Abort` with the reason. Write it once. */
export function renderStartSignal(lt: LoadTest, signal: StartDecisionSignal): ConfigMap {
  const ref = loadTestRef(lt);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: startSignalName(ref.name),
      namespace: ref.namespace,
      labels: runnerLabels(ref.name),
      ownerReferences: [ownerReference(lt)],
    },
    data: startSignalData(signal),
  };
}
