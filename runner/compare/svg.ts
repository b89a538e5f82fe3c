/**
 * Small, dependency-free SVG line charts for the HTML report: linear and log scales with round ticks, path
 * data thinned to what a pixel can show, and a legend. Every text goes through escapeHtml.
 */
import { escapeHtml } from './escape.ts';

export interface Tick {
  value: number;
  label: string;
}

export interface Scale {
  kind: 'linear' | 'log';
  domain: [number, number];
  range: [number, number];
  map(value: number): number;
  ticks: Tick[];
}

/** A colour-blind-safe palette (Okabe–Ito, without yellow, which is unreadable on white). */
export const palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
/** After the palette runs out, lines repeat its colours dashed. */
export const dashes = ['', '6 3', '2 3', '8 3 2 3'];

export function seriesStyle(index: number): { color: string; dash: string } {
  return {
    color: palette[index % palette.length] as string,
    dash: dashes[Math.floor(index / palette.length) % dashes.length] as string,
  };
}

/** 1, 2 or 5 × 10^k: the round step that gives about `count` intervals over `span`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/** Rounds away binary noise: 0.30000000000000004 → 0.3. */
const clean = (v: number) => Number.parseFloat(v.toPrecision(12));

export function linearScale(
  min: number,
  max: number,
  range: [number, number],
  format: (v: number) => string,
  count = 5,
): Scale {
  let lo = min;
  let hi = max;
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo, count);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const ticks: Tick[] = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push({ value: clean(v), label: format(clean(v)) });
  const [r0, r1] = range;
  return {
    kind: 'linear',
    domain: [lo, hi],
    range,
    map: (v) => r0 + ((v - lo) / (hi - lo)) * (r1 - r0),
    ticks,
  };
}

/** 1-2-5 values from below `min` to above `max`; decades only when there would be too many. */
export function logTickValues(min: number, max: number): number[] {
  const first = Math.floor(Math.log10(min));
  const last = Math.ceil(Math.log10(max));
  const all: number[] = [];
  for (let k = first; k <= last; k++) for (const m of [1, 2, 5]) all.push(clean(m * 10 ** k));
  const lowIndex = Math.max(
    0,
    all.findLastIndex((v) => v <= min),
  );
  const highIndex = all.findIndex((v) => v >= max);
  const within = all.slice(lowIndex, (highIndex === -1 ? all.length - 1 : highIndex) + 1);
  if (within.length <= 8) return within;
  const decades = within.filter((v) => Number.isInteger(Math.log10(v)) || v === within[0] || v === within.at(-1));
  if (decades.length <= 8) return decades;
  // Many decades: every n-th one, keeping both ends so the domain still covers the data.
  const every = Math.ceil(decades.length / 7);
  return decades.filter((_, i) => i % every === 0 || i === decades.length - 1);
}

export function logScale(min: number, max: number, range: [number, number], format: (v: number) => string): Scale {
  const lo0 = min > 0 ? min : max > 0 ? max / 10 : 1;
  const hi0 = max > lo0 ? max : lo0 * 10;
  const values = logTickValues(lo0, hi0);
  const lo = values[0] as number;
  const hi = values.at(-1) as number;
  const [r0, r1] = range;
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  return {
    kind: 'log',
    domain: [lo, hi],
    range,
    // Values at or below zero (a 0 s inter-token gap) sit on the axis.
    map: (v) => r0 + ((Math.log10(Math.max(v, lo)) - a) / (b - a)) * (r1 - r0),
    ticks: values.map((value) => ({ value, label: format(value) })),
  };
}

const maxDecades = 1e6;

/** A log scale when the positive values span at least a factor of `ratio`, else linear. */
export function autoScale(
  values: readonly number[],
  range: [number, number],
  format: (v: number) => string,
  ratio = 20,
): Scale {
  const finite = values.filter((v) => Number.isFinite(v));
  const positive = finite.filter((v) => v > 0);
  const max = finite.length > 0 ? Math.max(...finite) : 1;
  // Below a millionth of the largest value, the log axis would only show empty decades: clamp there.
  const minPositive = positive.length > 0 ? Math.max(Math.min(...positive), max / maxDecades) : 0;
  if (minPositive > 0 && max / minPositive >= ratio) return logScale(minPositive, max, range, format);
  return linearScale(finite.length > 0 ? Math.min(0, ...finite) : 0, max, range, format);
}

const px = (v: number) => (Math.round(v * 10) / 10).toString();

/**
 * SVG path data through pixel points. A point closer than half a pixel (in both directions) to the last
 * one drawn adds nothing visible and is skipped; the final point is always kept.
 */
export function pathData(points: ReadonlyArray<{ x: number; y: number }>, minStep = 0.5): string {
  const parts: string[] = [];
  let last: { x: number; y: number } | undefined;
  points.forEach((p, i) => {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) return;
    const final = i === points.length - 1;
    if (last && !final && Math.abs(p.x - last.x) < minStep && Math.abs(p.y - last.y) < minStep) return;
    parts.push(`${last ? 'L' : 'M'}${px(p.x)} ${px(p.y)}`);
    last = p;
  });
  return parts.join('');
}

export interface ChartPoint {
  x: number;
  y: number;
  /** Tooltip of a marker. */
  title?: string;
}

export interface ChartSeries {
  name: string;
  points: ChartPoint[];
  /** Draw a dot at each point (sweep steps), not only the line. */
  markers?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  x: 'linear' | 'log' | 'auto';
  y: 'linear' | 'log' | 'auto';
  xFormat(v: number): string;
  yFormat(v: number): string;
  /** Fixed domains (e.g. [0, 1] for a CDF); otherwise from the data. */
  yDomain?: [number, number];
  series: ChartSeries[];
  width?: number;
  height?: number;
  /** Extra horizontal guide lines, e.g. the p50/p95/p99 levels of a CDF. */
  yGuides?: number[];
}

function makeScale(
  kind: 'linear' | 'log' | 'auto',
  values: number[],
  range: [number, number],
  f: (v: number) => string,
) {
  if (kind === 'auto') return autoScale(values, range, f);
  const finite = values.filter((v) => Number.isFinite(v));
  if (kind === 'log') {
    const positive = finite.filter((v) => v > 0);
    return logScale(
      positive.length ? Math.min(...positive) : 1,
      positive.length ? Math.max(...positive) : 10,
      range,
      f,
    );
  }
  return linearScale(finite.length ? Math.min(0, ...finite) : 0, finite.length ? Math.max(...finite) : 1, range, f);
}

/** A complete `<svg>` element: axes, ticks, grid, one path per series, markers and a legend below. */
export function lineChart(o: ChartOptions): string {
  const width = o.width ?? 640;
  const plotHeight = o.height ?? 320;
  const margin = { left: 70, right: 20, top: 30, bottom: 46 };
  const legendRow = 18;
  const height = plotHeight + o.series.length * legendRow + 8;
  const left = margin.left;
  const right = width - margin.right;
  const top = margin.top;
  const bottom = plotHeight - margin.bottom;
  const xs = o.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = o.series.flatMap((s) => s.points.map((p) => p.y));
  const xScale = makeScale(o.x, xs, [left, right], o.xFormat);
  const yScale = o.yDomain
    ? linearScale(o.yDomain[0], o.yDomain[1], [bottom, top], o.yFormat)
    : makeScale(o.y, ys, [bottom, top], o.yFormat);
  const out: string[] = [];
  out.push(
    `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(o.title)}">`,
    `<title>${escapeHtml(o.title)}</title>`,
    `<text class="chart-title" x="${left}" y="18">${escapeHtml(o.title)}</text>`,
  );
  for (const t of xScale.ticks) {
    const x = px(xScale.map(t.value));
    out.push(
      `<line class="grid" x1="${x}" y1="${top}" x2="${x}" y2="${bottom}"/>`,
      `<text class="tick" x="${x}" y="${bottom + 16}" text-anchor="middle">${escapeHtml(t.label)}</text>`,
    );
  }
  for (const t of yScale.ticks) {
    const y = px(yScale.map(t.value));
    out.push(
      `<line class="grid" x1="${left}" y1="${y}" x2="${right}" y2="${y}"/>`,
      `<text class="tick" x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeHtml(t.label)}</text>`,
    );
  }
  for (const g of o.yGuides ?? []) {
    const y = px(yScale.map(g));
    out.push(`<line class="guide" x1="${left}" y1="${y}" x2="${right}" y2="${y}"/>`);
  }
  out.push(
    `<rect class="frame" x="${left}" y="${top}" width="${right - left}" height="${bottom - top}"/>`,
    `<text class="axis-label" x="${(left + right) / 2}" y="${bottom + 36}" text-anchor="middle">${escapeHtml(o.xLabel)}</text>`,
    `<text class="axis-label" transform="translate(16 ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(o.yLabel)}</text>`,
  );
  o.series.forEach((s, i) => {
    const style = seriesStyle(i);
    const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : '';
    const pixels = s.points.map((p) => ({ x: xScale.map(p.x), y: yScale.map(p.y) }));
    const d = pathData(pixels);
    if (d) {
      out.push(
        `<path class="series" d="${d}" stroke="${style.color}"${dash}><title>${escapeHtml(s.name)}</title></path>`,
      );
    }
    if (s.markers) {
      s.points.forEach((p, j) => {
        const pixel = pixels[j] as { x: number; y: number };
        if (!Number.isFinite(pixel.x) || !Number.isFinite(pixel.y)) return;
        const title = p.title ? `<title>${escapeHtml(`${s.name}: ${p.title}`)}</title>` : '';
        out.push(`<circle cx="${px(pixel.x)}" cy="${px(pixel.y)}" r="3.5" fill="${style.color}">${title}</circle>`);
      });
    }
    const ly = plotHeight + i * legendRow + 4;
    out.push(
      `<line x1="${left}" y1="${ly}" x2="${left + 28}" y2="${ly}" stroke="${style.color}" stroke-width="2.5"${dash}/>`,
      `<text class="legend" x="${left + 36}" y="${ly}" dominant-baseline="middle">${escapeHtml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
