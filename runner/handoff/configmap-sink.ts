/**
 * A ResultSink that hands results to the operator as a ConfigMap (`<loadtest>-result-<index>`), written with
 * server-side apply under field manager `loadlm-runner`:
 * - `ready()` at the start barrier (phase Ready, no result): proves before any load is sent that this runner
 *   can write its result, and tells the operator it may start;
 * - `partial()` during the run (phase Running), coalesced: while one write is in flight only the newest
 *   snapshot waits, older ones are dropped;
 * - `final()` once (phase Finished), retried with backoff on transient errors (network, 429, 5xx) so a
 *   restarting apiserver does not lose the result; later partials are ignored;
 * - a result too large for a ConfigMap even gzipped is written without its per-step statistics (each target's
 *   `stepsOmitted` says why); only a result too large without them fails (ResultTooLargeError).
 */
import { type ResultSink, type RunnerResult, withoutSteps } from '../report/result-sink.ts';
import { type ConfigMapApi, KubeApiError } from './kube-api.ts';
import {
  type LoadTestIdentity,
  ResultTooLargeError,
  type RunnerPhase,
  resultConfigMap,
  runnerFieldManager,
} from './protocol.ts';

export interface ConfigMapSinkOptions {
  api: ConfigMapApi;
  /** The result ConfigMap's name, as the operator chose it (flag --result-configmap). */
  name: string;
  namespace: string;
  loadTest: LoadTestIdentity;
  /** This runner's index in the runner Job (JOB_COMPLETION_INDEX). */
  index: number;
  pod?: string;
  /** Attempts for ready() and final(); default 6 (about 15 s of backoff). */
  attempts?: number;
  /** First retry delay; doubles each attempt. Default 500 ms. */
  retryDelayMs?: number;
  onRetry?(error: Error, attempt: number): void;
}

export class ConfigMapResultSink implements ResultSink {
  private readonly options: ConfigMapSinkOptions;
  private inFlight: Promise<void> | undefined;
  private pending: RunnerResult | undefined;
  private finalStarted = false;

  constructor(options: ConfigMapSinkOptions) {
    this.options = options;
  }

  /** Announces that this runner waits at the start barrier. Throws when it cannot (RBAC, missing owner, ...). */
  ready(signal?: AbortSignal): Promise<void> {
    return this.writeWithRetries('Ready', undefined, signal);
  }

  partial(result: RunnerResult): Promise<void> {
    if (this.finalStarted) return Promise.resolve();
    this.pending = result;
    if (!this.inFlight) this.inFlight = this.drain();
    return this.inFlight;
  }

  async final(result: RunnerResult): Promise<void> {
    this.finalStarted = true;
    this.pending = undefined;
    await this.inFlight?.catch(() => {});
    await this.writeWithRetries('Finished', result);
  }

  /** Writes the newest pending partial until none is left. */
  private async drain(): Promise<void> {
    try {
      while (this.pending && !this.finalStarted) {
        const next = this.pending;
        this.pending = undefined;
        await this.write('Running', next);
      }
    } finally {
      this.inFlight = undefined;
    }
  }

  private async write(phase: RunnerPhase, result: RunnerResult | undefined, signal?: AbortSignal): Promise<void> {
    const o = this.options;
    const render = (r: RunnerResult | undefined) =>
      resultConfigMap({
        name: o.name,
        namespace: o.namespace,
        loadTest: o.loadTest,
        index: o.index,
        ...(o.pod ? { pod: o.pod } : {}),
        phase,
        ...(r ? { result: r } : {}),
      });
    let body: ReturnType<typeof render>;
    try {
      body = render(result);
    } catch (error) {
      // Per-step statistics are the first to go: the whole-run statistics must reach the operator.
      if (!(error instanceof ResultTooLargeError) || !result) throw error;
      const trimmed = withoutSteps(result, `left out: ${error.message}`);
      if (trimmed === result) throw error;
      body = render(trimmed);
    }
    await o.api.apply(body, { fieldManager: runnerFieldManager, force: true, ...(signal ? { signal } : {}) });
  }

  private async writeWithRetries(phase: RunnerPhase, result: RunnerResult | undefined, signal?: AbortSignal) {
    const attempts = this.options.attempts ?? 6;
    let delay = this.options.retryDelayMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.write(phase, result, signal);
        return;
      } catch (error) {
        if (attempt >= attempts || !isTransient(error) || signal?.aborted) throw describe(error, this.options);
        this.options.onRetry?.(error as Error, attempt);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
    }
  }
}

/** Network errors, timeouts, 429 and 5xx may pass; 4xx (RBAC, validation) and oversized results will not. */
export function isTransient(error: unknown): boolean {
  if (error instanceof ResultTooLargeError) return false;
  if (error instanceof KubeApiError) return error.status === 0 || error.status === 429 || error.status >= 500;
  return true;
}

function describe(error: unknown, o: ConfigMapSinkOptions): Error {
  if (error instanceof KubeApiError && error.status === 403) {
    return new Error(
      `cannot write the result ConfigMap ${o.namespace}/${o.name}: forbidden. The runner's ServiceAccount needs ` +
        `patch on that ConfigMap (the operator's runner Role grants it): ${error.message}`,
    );
  }
  if (error instanceof KubeApiError) {
    return new Error(`cannot write the result ConfigMap ${o.namespace}/${o.name}: ${error.message}`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
