/** The human summary printed on stdout at the end of a run, rendered from the JSON report alone. */
import type { HistogramSummary } from '../stats/index.ts';
import { formatInt, formatMs, formatNumber } from './format.ts';
import type { ReportSummary, RunReport, StepReport, TargetReport } from './report.ts';

const statColumns: Array<[keyof HistogramSummary, string]> = [
  ['mean', 'mean'],
  ['min', 'min'],
  ['max', 'max'],
  ['p50', 'p50'],
  ['p90', 'p90'],
  ['p95', 'p95'],
  ['p99', 'p99'],
  ['p999', 'p99.9'],
];

const latencyRows: Array<[keyof ReportSummary['latency'], string]> = [
  ['ttft', 'TTFT'],
  ['itl', 'ITL'],
  ['tpot', 'TPOT'],
  ['e2e', 'E2E latency'],
  ['dispatchLag', 'Dispatch lag'],
];

function table(rows: string[][], alignLeft = 1): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i < alignLeft ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function latencyTable(s: ReportSummary): string[] {
  const rows = [['', 'n', ...statColumns.map(([, label]) => label)]];
  for (const [metric, label] of latencyRows) {
    const h = s.latency[metric];
    rows.push([label, formatInt(h.count), ...statColumns.map(([key]) => formatMs((h[key] as number) * 1000))]);
  }
  return table(rows);
}

function errorsLine(s: ReportSummary): string {
  const failed = s.requests.failed;
  if (failed === 0) return '0';
  const classes = Object.entries(s.errors)
    .filter(([, n]) => n > 0)
    .map(([cls, n]) => `${cls} ${formatInt(n)}`);
  const statuses = Object.entries(s.httpStatus)
    .filter(([code]) => Number(code) >= 400)
    .map(([code, n]) => `${code}×${formatInt(n)}`);
  const rate = formatNumber(s.rates.errorRatio * 100, 2);
  return `${formatInt(failed)} (${rate}%): ${classes.join(', ')}${statuses.length ? ` · HTTP ${statuses.join(', ')}` : ''}`;
}

function summaryBlock(s: ReportSummary): string[] {
  const r = s.rates;
  const lines = [
    `Requests     ${formatInt(s.requests.completed)} measured: ${formatInt(s.requests.ok)} ok, ${formatInt(s.requests.failed)} failed, ${formatInt(s.requests.late)} late (sent behind schedule) · excluded ${formatInt(s.excluded.warmup)} warmup, ${formatInt(s.excluded.cooldown)} cooldown`,
    `Window       ${Number.isFinite(r.windowSeconds) ? `${formatNumber(r.windowSeconds, 1)}s` : 'none (nothing measured)'}`,
    '',
    ...latencyTable(s),
    '',
    `Throughput   ${formatNumber(r.requestsPerSecond, 2)} req/s · ${formatNumber(r.outputTokensPerSecond, 1)} output tok/s · ${formatNumber(r.totalTokensPerSecond, 1)} total tok/s · mean concurrency ${formatNumber(s.meanConcurrency, 1)}`,
    `Tokens       prompt ${formatInt(s.tokens.prompt)} · output ${formatInt(s.tokens.output)}${s.tokens.outputEstimatedRequests > 0 ? ` (${formatInt(s.tokens.outputEstimatedRequests)} requests counted from chunks: no usage)` : ''}`,
    `Errors       ${errorsLine(s)}`,
  ];
  if (s.goodput) {
    lines.push(
      `Goodput      ${formatInt(s.goodput.good)} good requests (${formatNumber(r.goodputRatio * 100, 2)}%) · ${formatNumber(r.goodputPerSecond, 2)} req/s`,
    );
  }
  return lines;
}

function stepTable(steps: StepReport[]): string[] {
  const rows = [
    ['step', 'target', 'achieved', 'ok req/s', 'TTFT p50', 'TTFT p95', 'TPOT p50', 'E2E p95', 'errors', ''],
  ];
  for (const st of steps) {
    const s = st.summary;
    rows.push([
      st.label,
      st.targetRate !== undefined ? `${formatNumber(st.targetRate, 2)}/s` : '-',
      st.achievedRate !== undefined ? `${formatNumber(st.achievedRate, 2)}/s` : '-',
      formatNumber(s.rates.requestsPerSecond, 2),
      formatMs(s.latency.ttft.p50 * 1000),
      formatMs(s.latency.ttft.p95 * 1000),
      formatMs(s.latency.tpot.p50 * 1000),
      formatMs(s.latency.e2e.p95 * 1000),
      formatInt(s.requests.failed),
      st.saturated ? 'saturated' : '',
    ]);
  }
  return table(rows);
}

function targetBlock(t: TargetReport): string[] {
  const lines = [
    `Target ${t.name} · model ${t.model} · ${t.api}${t.stream ? ', streaming' : ', non-streaming'} · ${t.url}`,
  ];
  if (t.error) lines.push(`  run error: ${t.error}`);
  if (t.stopReason) lines.push(`  stopped by: ${t.stopReason}`);
  lines.push(...summaryBlock(t.summary).map((l) => (l ? `  ${l}` : '')));
  if (t.steps.length > 1) lines.push('', ...stepTable(t.steps).map((l) => `  ${l}`));
  return lines;
}

export function renderSummary(report: RunReport): string {
  const labels = Object.entries(report.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const lines = [
    `loadlm run ${report.outcome.status.toUpperCase()} (exit ${report.outcome.exitCode}) · ${labels} · ${formatNumber(report.metadata.durationSeconds, 1)}s`,
    ...report.outcome.messages.map((m) => `  ${m}`),
    '',
  ];
  for (const t of report.targets) lines.push(...targetBlock(t), '');
  if (report.targets.length > 1)
    lines.push('All targets', ...summaryBlock(report.summary).map((l) => (l ? `  ${l}` : '')), '');
  if (report.slo) {
    lines.push(`SLOs ${report.slo.met ? 'met' : 'BREACHED'}`);
    for (const th of report.slo.thresholds) {
      const cmp = th.name.startsWith('min') ? '≥' : '≤';
      lines.push(
        `  ${th.met ? 'ok  ' : 'FAIL'} ${report.targets.length > 1 ? `${th.target} ` : ''}${th.name}: ${th.observedText} (limit ${cmp} ${th.limitText})`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}
