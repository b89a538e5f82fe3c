/** What the quickstart prints about a LoadTest: progress lines, the summary and, when it fails, its conditions. */
import type { LatencyStatKey, LatencyStats, LoadTest } from '../../api/loadtest.ts';

/** One line of progress, e.g. `Running   runners 1/1 ready   42% (50 s of 60)   88 requests, 0 failed`. */
export function progressLine(lt: LoadTest): string {
  const status = lt.status ?? {};
  const parts = [(status.phase ?? 'Pending').padEnd(9)];
  if (status.runners) parts.push(`runners ${status.runners.ready ?? 0}/${status.runners.desired} ready`);
  const progress = status.progress;
  if (progress) {
    const elapsed =
      progress.elapsedSeconds !== undefined && progress.expectedSeconds !== undefined
        ? ` (${progress.elapsedSeconds} s of ${progress.expectedSeconds})`
        : '';
    if (progress.percent) parts.push(`${progress.percent}${elapsed}`);
    parts.push(`${progress.requestsCompleted} requests, ${progress.requestsFailed ?? 0} failed`);
  }
  return parts.join('   ');
}

const latencyColumns: LatencyStatKey[] = ['p50', 'p90', 'p95', 'p99', 'mean', 'max'];
const latencyRows = [
  ['TTFT', 'ttft'],
  ['ITL', 'itl'],
  ['TPOT', 'tpot'],
  ['E2E', 'e2e'],
] as const;

/** The summary of a finished LoadTest from its status (the same numbers `kubectl get lt -o yaml` shows). */
export function summaryText(lt: LoadTest): string {
  const summary = lt.status?.summary;
  if (!summary) return `loadtest/${lt.metadata.name} has no status.summary`;
  const width = 10;
  const cell = (text: string) => text.padStart(width);
  const lines = [`  ${''.padEnd(6)}${latencyColumns.map((column) => cell(column)).join('')}`];
  for (const [label, key] of latencyRows) {
    const stats: LatencyStats | undefined = summary[key];
    if (!stats || stats.samples === 0) continue;
    lines.push(`  ${label.padEnd(6)}${latencyColumns.map((column) => cell(stats[column] ?? '-')).join('')}`);
  }
  const requests = summary.requests;
  const errors = summary.errors;
  const throughput = summary.throughput;
  const measured = summary.measuredSeconds === undefined ? '' : ` in ${summary.measuredSeconds} s measured`;
  lines.push('');
  if (requests) {
    lines.push(
      `  Requests    ${requests.total}${measured}: ${requests.succeeded} succeeded, ${requests.failed} failed` +
        (requests.late ? `, ${requests.late} sent late` : ''),
    );
  }
  if (throughput) {
    lines.push(
      `  Throughput  ${throughput.requestsPerSecond ?? '-'} req/s, ${throughput.outputTokensPerSecond ?? '-'} output tok/s, ` +
        `${throughput.totalTokensPerSecond ?? '-'} total tok/s`,
    );
  }
  if (errors) {
    const classes = Object.entries(errors.byClass ?? {}).map(([name, n]) => `${name} ${n}`);
    lines.push(
      `  Errors      ${errors.total} (${errors.ratePercent ?? '0%'})${classes.length ? `: ${classes.join(', ')}` : ''}`,
    );
  }
  const goodput = summary.goodput;
  lines.push(
    goodput
      ? `  Goodput     ${goodput.percent ?? '-'} of requests within spec.slo.goodput (${goodput.requestsPerSecond ?? '-'} req/s)`
      : '  Goodput     not measured (the LoadTest sets no spec.slo.goodput limits)',
  );
  for (const threshold of lt.status?.thresholds ?? []) {
    lines.push(
      `  SLO ${threshold.name}: ${threshold.observed} (limit ${threshold.limit}) ${threshold.met ? 'met' : 'BREACHED'}`,
    );
  }
  return lines.join('\n');
}

/** The conditions, one per line, with reason and message: what to read when a test fails or hangs. */
export function conditionsText(lt: LoadTest): string {
  const conditions = lt.status?.conditions ?? [];
  if (conditions.length === 0) return '  (no conditions yet: the operator has not accepted the LoadTest)';
  return conditions
    .map(
      (condition) =>
        `  ${condition.type}=${condition.status}` +
        (condition.reason ? ` ${condition.reason}` : '') +
        (condition.message ? `: ${condition.message}` : ''),
    )
    .join('\n');
}
