/**
 * CSV outputs (RFC 4180: comma-separated, CRLF-free `\n` rows, fields quoted when needed).
 *
 * Default (`--csv FILE`): one row per target and step from the report — for a sweep one row per step plus
 * a `step=all` row per target; otherwise one row per target. Latencies in milliseconds; empty = not measured.
 * Per request (`--csv FILE --csv-per-request`): one row per finished request, all phases, streamed to the
 * file while the run goes (no request data is kept in memory).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { RequestResult } from '../engine/types.ts';
import type { ReportSummary, RunReport } from './report.ts';

export function csvField(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(Number(v.toPrecision(12))) : '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvRow(fields: unknown[]): string {
  return `${fields.map(csvField).join(',')}\n`;
}

const latencyMetrics = ['ttft', 'itl', 'tpot', 'e2e', 'dispatchLag'] as const;
const latencyNames: Record<(typeof latencyMetrics)[number], string> = {
  ttft: 'ttft',
  itl: 'itl',
  tpot: 'tpot',
  e2e: 'e2e',
  dispatchLag: 'dispatch_lag',
};
const stats = ['mean', 'min', 'max', 'p50', 'p90', 'p95', 'p99', 'p999'] as const;

export const summaryCsvHeader = [
  'environment',
  'target',
  'model',
  'step',
  'label',
  'profile',
  'target_rate',
  'achieved_rate',
  'window_s',
  'completed',
  'ok',
  'failed',
  'late',
  'requests_per_s',
  'output_tokens_per_s',
  'total_tokens_per_s',
  'goodput_per_s',
  'error_rate_pct',
  'mean_concurrency',
  'prompt_tokens',
  'output_tokens',
  ...latencyMetrics.flatMap((m) => stats.map((s) => `${latencyNames[m]}_${s}_ms`)),
];

function summaryFields(s: ReportSummary): unknown[] {
  const r = s.rates;
  return [
    r.windowSeconds,
    s.requests.completed,
    s.requests.ok,
    s.requests.failed,
    s.requests.late,
    r.requestsPerSecond,
    r.outputTokensPerSecond,
    r.totalTokensPerSecond,
    r.goodputPerSecond,
    r.errorRatio * 100,
    s.meanConcurrency,
    s.tokens.prompt,
    s.tokens.output,
    ...latencyMetrics.flatMap((m) => stats.map((k) => (s.latency[m][k] as number) * 1000)),
  ];
}

/** One row per target and step (see the module doc). */
export function renderSummaryCsv(report: RunReport): string {
  let out = csvRow(summaryCsvHeader);
  const env = report.labels.environment;
  for (const t of report.targets) {
    const steps = t.steps.length > 1 ? t.steps : [];
    for (const st of steps) {
      out += csvRow([
        env,
        t.name,
        t.model,
        st.step,
        st.label,
        st.profile,
        st.targetRate,
        st.achievedRate,
        ...summaryFields(st.summary),
      ]);
    }
    const only = t.steps.length === 1 ? t.steps[0] : undefined;
    out += csvRow([
      env,
      t.name,
      t.model,
      steps.length > 0 ? 'all' : 0,
      only?.label ?? 'all',
      only?.profile ?? (steps.length > 0 ? 'sweep' : ''),
      only?.targetRate,
      only?.achievedRate,
      ...summaryFields(t.summary),
    ]);
  }
  return out;
}

export const requestCsvHeader = [
  'target',
  'index',
  'step',
  'stage',
  'phase',
  'scheduled_at_ms',
  'sent_at_ms',
  'dispatch_lag_ms',
  'late',
  'ok',
  'error_class',
  'http_status',
  'ttft_ms',
  'tpot_ms',
  'e2e_ms',
  'itl_count',
  'itl_mean_ms',
  'itl_max_ms',
  'prompt_tokens',
  'output_tokens',
  'output_tokens_estimated',
  'requested_prompt_tokens',
  'requested_output_tokens',
  'error_message',
];

export function requestCsvRow(target: string, r: RequestResult): string {
  let sum = 0;
  let max = Number.NaN;
  for (const gap of r.itlSeconds) {
    sum += gap;
    if (!(gap <= max)) max = gap;
  }
  const n = r.itlSeconds.length;
  const ms = (s: number | undefined) => (s === undefined ? undefined : s * 1000);
  return csvRow([
    target,
    r.index,
    r.step,
    r.stage,
    r.phase,
    r.scheduledAt.toFixed(3),
    r.sentAt.toFixed(3),
    r.dispatchLagSeconds * 1000,
    r.late,
    r.ok,
    r.errorClass,
    r.httpStatus,
    ms(r.ttftSeconds),
    ms(r.tpotSeconds),
    ms(r.e2eSeconds),
    n,
    n > 0 ? (sum / n) * 1000 : undefined,
    n > 0 ? max * 1000 : undefined,
    r.promptTokens,
    r.outputTokens,
    r.outputTokensEstimated ?? false,
    r.requestedPromptTokens,
    r.requestedOutputTokens,
    r.errorMessage,
  ]);
}

/** Streams per-request rows to a file. */
export class RequestCsvWriter {
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  constructor(path: string) {
    this.stream = createWriteStream(path, { encoding: 'utf8' });
    this.stream.on('error', (err) => {
      this.failure = err;
    });
    this.stream.write(csvRow(requestCsvHeader));
  }

  write(target: string, r: RequestResult): void {
    if (!this.failure) this.stream.write(requestCsvRow(target, r));
  }

  /** Flushes and closes; rejects if any write failed. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.end(() => (this.failure ? reject(this.failure) : resolve()));
    });
  }
}
