/**
 * The self-contained HTML report: the comparison table, latency CDFs from the merged histograms, and
 * throughput-vs-latency lines over sweep steps. No scripts, no external CSS, fonts or images: one file that
 * opens anywhere. The markup is also well-formed XML (void elements self-closed, only XML entities), and every
 * string from an input goes through escapeHtml.
 */
import { formatMs, formatNumber } from '../report/format.ts';
import { cdfFromHistogram } from './cdf.ts';
import type { Comparison } from './comparison.ts';
import { escapeHtml } from './escape.ts';
import type { CompareInput, LatencyKey } from './input.ts';
import { type ChartSeries, lineChart, seriesStyle } from './svg.ts';
import { bestMarker } from './table.ts';

export interface HtmlOptions {
  title: string;
  generatedAt: Date;
}

const latencyTitles: Record<LatencyKey, string> = {
  ttft: 'Time to first token (TTFT)',
  tpot: 'Time per output token (TPOT)',
  itl: 'Inter-token latency (ITL)',
  e2e: 'End-to-end latency (E2E)',
};

const css = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; margin: 24px auto; max-width: 1340px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: #666; margin: 0 0 16px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e4e4; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #bbb; vertical-align: bottom; }
tr.label td { color: #666; }
td.best { font-weight: 700; color: #0a6b2b; background: #eaf7ee; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
figure.plot { margin: 0; }
svg.chart { font: 12px system-ui, sans-serif; background: #fff; }
svg .grid { stroke: #ececec; } svg .guide { stroke: #bbb; stroke-dasharray: 3 3; }
svg .frame { fill: none; stroke: #999; }
svg .series { fill: none; stroke-width: 2; }
svg .chart-title { font-weight: 600; font-size: 13px; } svg .tick { fill: #555; font-size: 11px; }
ul.notes { color: #7a4b00; }
`;

const percent = (p: number) => `${formatNumber(p * 100, 0)}%`;
const round = (v: number) => Number.parseFloat(v.toPrecision(6));
/** Axis ticks are round numbers: `0`, `20ms`, `1.5s`. */
export const tickMs = (ms: number) => (ms === 0 ? '0' : ms >= 1000 ? `${round(ms / 1000)}s` : `${round(ms)}ms`);

function inputList(c: Comparison): string {
  const items = c.inputs.map((input, i) => {
    const { color } = seriesStyle(i);
    const labels = Object.entries(input.labels)
      .filter(([, v]) => v)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const outcome = input.outcome ? ` · outcome ${input.outcome}` : '';
    return (
      `<li><span class="swatch" style="background:${color}"></span><strong>${escapeHtml(input.name)}</strong>` +
      ` · ${escapeHtml(input.source)} · ${escapeHtml(labels)}${escapeHtml(outcome)}</li>`
    );
  });
  return `<ul class="inputs">\n${items.join('\n')}\n</ul>`;
}

function notesList(c: Comparison): string {
  const notes = [...c.notes, ...c.inputs.flatMap((input) => input.warnings.map((w) => `${input.name}: ${w}`))];
  if (notes.length === 0) return '';
  return `<ul class="notes">\n${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('\n')}\n</ul>`;
}

export function tableHtml(c: Comparison): string {
  const head = c.inputs.map((i) => `<th scope="col">${escapeHtml(i.name)}</th>`).join('');
  const labelKeys = ['provider', 'cluster', 'region', 'environment'] as const;
  const labelRows = labelKeys
    .filter((key) => c.inputs.some((i) => i.labels[key]))
    .map(
      (key) =>
        `<tr class="label"><td>${key}</td>${c.inputs.map((i) => `<td>${escapeHtml(i.labels[key] ?? '-')}</td>`).join('')}</tr>`,
    );
  const rows = c.rows.map((row) => {
    const cells = row.display
      .map((text, i) =>
        row.best[i]
          ? `<td class="best" title="best">${escapeHtml(text)} ${bestMarker}</td>`
          : `<td>${escapeHtml(text)}</td>`,
      )
      .join('');
    return `<tr><td>${escapeHtml(row.label)}</td>${cells}</tr>`;
  });
  return [
    '<table>',
    `<thead><tr><th scope="col">metric</th>${head}</tr></thead>`,
    '<tbody>',
    ...labelRows,
    ...rows,
    '</tbody>',
    '</table>',
    `<p class="meta">${bestMarker} best of the row (lower latency and errors, higher throughput; none when all equal).</p>`,
  ].join('\n');
}

function figure(svg: string): string {
  return `<figure class="plot">\n${svg}\n</figure>`;
}

/** One CDF chart per latency metric that some input has a distribution for. */
export function latencyCharts(inputs: CompareInput[]): string[] {
  const charts: string[] = [];
  for (const key of ['ttft', 'tpot', 'itl', 'e2e'] as const) {
    const series: ChartSeries[] = inputs.map((input) => {
      const h = input.distributions[key];
      const points = h ? cdfFromHistogram(h).map((p) => ({ x: p.x * 1000, y: p.p })) : [];
      return { name: input.name, points };
    });
    if (series.every((s) => s.points.length === 0)) continue;
    charts.push(
      lineChart({
        title: `${latencyTitles[key]}: cumulative distribution`,
        xLabel: `${key.toUpperCase()} (ms)`,
        yLabel: 'fraction of requests ≤ x',
        x: 'auto',
        y: 'linear',
        yDomain: [0, 1],
        yGuides: [0.5, 0.95, 0.99],
        xFormat: tickMs,
        yFormat: percent,
        series,
      }),
    );
  }
  return charts;
}

/** Output tok/s vs TTFT p95 and vs TPOT p95, one line per input over its steps (sorted by throughput). */
export function sweepCharts(inputs: CompareInput[]): string[] {
  if (!inputs.some((i) => i.steps.length >= 2)) return [];
  const charts: string[] = [];
  for (const key of ['ttft', 'tpot'] as const) {
    const series: ChartSeries[] = inputs.map((input) => ({
      name: input.name,
      markers: true,
      points: input.steps
        .map((s) => ({
          x: s.metrics.outputTokensPerSecond,
          y: s.metrics.latency[key].p95 * 1000,
          title:
            `${s.label}${s.targetRate !== undefined ? ` (target ${formatNumber(s.targetRate, 2)} req/s)` : ''}: ` +
            `${formatNumber(s.metrics.outputTokensPerSecond, 1)} tok/s, ${key.toUpperCase()} p95 ${formatMs(s.metrics.latency[key].p95 * 1000)}`,
        }))
        .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
        .sort((a, b) => a.x - b.x),
    }));
    charts.push(
      lineChart({
        title: `Throughput vs ${key.toUpperCase()} p95 across sweep steps`,
        xLabel: 'output tokens per second',
        yLabel: `${key.toUpperCase()} p95 (ms)`,
        x: 'linear',
        y: 'auto',
        xFormat: (v) => formatNumber(v, v >= 100 ? 0 : 1),
        yFormat: tickMs,
        series,
      }),
    );
  }
  return charts;
}

export function renderHtml(c: Comparison, options: HtmlOptions): string {
  const latency = latencyCharts(c.inputs);
  const sweep = sweepCharts(c.inputs);
  const noLatency = '<p class="meta">No input carries latency histograms (figures from status.summary only).</p>';
  const noSweep =
    '<p class="meta">No input has sweep or stage steps: run with <code>--profile sweep</code> to plot ' +
    'throughput against latency.</p>';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8" />',
    '<meta name="viewport" content="width=device-width, initial-scale=1" />',
    `<title>${escapeHtml(options.title)}</title>`,
    `<style>${css}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(options.title)}</h1>`,
    `<p class="meta">Generated by loadlm compare at ${escapeHtml(options.generatedAt.toISOString())} from ${c.inputs.length} input(s). Percentiles come from merged histograms (never averaged).</p>`,
    inputList(c),
    notesList(c),
    '<h2>Summary</h2>',
    tableHtml(c),
    '<h2>Latency distributions</h2>',
    latency.length > 0 ? `<div class="plots">\n${latency.map(figure).join('\n')}\n</div>` : noLatency,
    '<h2>Throughput vs latency</h2>',
    sweep.length > 0 ? `<div class="plots">\n${sweep.map(figure).join('\n')}\n</div>` : noSweep,
    '</body>',
    '</html>',
    '',
  ]
    .filter((part) => part !== '')
    .join('\n')
    .concat('\n');
}
