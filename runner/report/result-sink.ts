/**
 * Machine-readable result hand-off to whoever drives the runner (the operator). The payload is the stats
 * aggregate's versioned JSON (`RunStatsSnapshot`) per target, wrapped with enough context to merge N
 * runners: labels, shard, final flag, status. Transport is a `ResultSink`; `FileResultSink` writes a file
 * atomically (write + rename) so a reader never sees half a document. The operator adds a ConfigMap sink.
 */
import { rename, writeFile } from 'node:fs/promises';
import type { EnvironmentLabelValues } from '../config/plan.ts';
import type { RequestCounts, StopReason } from '../engine/types.ts';
import type { RunStatsSnapshot } from '../stats/index.ts';
import { finiteOrNull } from './format.ts';
import type { RunStatus } from './report.ts';

export const runnerResultKind = 'RunnerResult';
export const runnerResultSchemaVersion = 1;

export interface RunnerResultTarget {
  name: string;
  model: string;
  /** Measured-window aggregate: merge these across runners with RunStats.fromJSON(...).merge(...). */
  stats: RunStatsSnapshot;
  /** Engine counters over all phases so far (progress display; not for statistics). */
  counts?: RequestCounts;
  stopReason?: StopReason;
  error?: string;
}

export interface RunnerResult {
  apiVersion: 'loadlm.dev/v1alpha1';
  kind: typeof runnerResultKind;
  schemaVersion: typeof runnerResultSchemaVersion;
  /** false while the run goes on; true exactly once, at the end. */
  final: boolean;
  updatedAt: string;
  startedAt: string;
  labels: EnvironmentLabelValues;
  shard: { index: number; count: number };
  /** Set when final. */
  status?: RunStatus;
  exitCode?: number;
  messages?: string[];
  targets: RunnerResultTarget[];
}

export interface ResultSink {
  /** A snapshot during the run (may be skipped or coalesced by the sink). */
  partial(result: RunnerResult): Promise<void>;
  /** The last word; called once. */
  final(result: RunnerResult): Promise<void>;
}

export function serializeResult(result: RunnerResult): string {
  return `${JSON.stringify(result, finiteOrNull)}\n`;
}

export class FileResultSink implements ResultSink {
  private writing: Promise<void> = Promise.resolve();
  private readonly path: string;
  constructor(path: string) {
    this.path = path;
  }

  partial(result: RunnerResult): Promise<void> {
    return this.enqueue(result);
  }

  final(result: RunnerResult): Promise<void> {
    return this.enqueue(result);
  }

  /** Writes in order; a failed write does not block the next one. */
  private enqueue(result: RunnerResult): Promise<void> {
    const text = serializeResult(result);
    const next = this.writing
      .catch(() => {})
      .then(async () => {
        const tmp = `${this.path}.${process.pid}.tmp`;
        await writeFile(tmp, text);
        await rename(tmp, this.path);
      });
    this.writing = next;
    return next;
  }
}
