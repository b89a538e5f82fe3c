/**
 * The side-by-side table: inputs as columns, metrics as rows, the best value of each row marked with `*`
 * (bold green too on a colour terminal, bold in Markdown).
 */
import type { Comparison } from './comparison.ts';
import type { InputLabels } from './input.ts';

export type TableStyle = 'plain' | 'ansi' | 'markdown';

export const bestMarker = '*';
const ansiBest = (text: string) => `\u001b[1;32m${text}\u001b[0m`;
const ansiDim = (text: string) => `\u001b[2m${text}\u001b[0m`;

const labelRows: Array<[keyof InputLabels, string]> = [
  ['provider', 'provider'],
  ['cluster', 'cluster'],
  ['region', 'region'],
  ['environment', 'environment'],
  ['loadtest', 'loadtest'],
  ['target', 'target'],
];

interface Cell {
  text: string;
  best?: boolean;
}

/** Header rows: the label values some input has, then the source. */
function headerRows(c: Comparison): Array<{ label: string; cells: string[] }> {
  const rows: Array<{ label: string; cells: string[] }> = [];
  for (const [key, label] of labelRows) {
    if (c.inputs.some((i) => i.labels[key])) rows.push({ label, cells: c.inputs.map((i) => i.labels[key] ?? '-') });
  }
  rows.push({ label: 'source', cells: c.inputs.map((i) => i.sourceShort) });
  return rows;
}

function footer(c: Comparison): string[] {
  const lines = [`${bestMarker} best of the row (lower latency and errors, higher throughput; none when all equal)`];
  for (const note of c.notes) lines.push(`note: ${note}`);
  for (const input of c.inputs) for (const w of input.warnings) lines.push(`warning: ${input.name}: ${w}`);
  return lines;
}

export function renderTable(c: Comparison, style: TableStyle): string {
  return style === 'markdown' ? renderMarkdown(c) : renderText(c, style === 'ansi');
}

function renderText(c: Comparison, ansi: boolean): string {
  const header: Cell[] = [{ text: '' }, ...c.inputs.map((i) => ({ text: i.name }))];
  const meta: Cell[][] = headerRows(c).map((r) => [{ text: r.label }, ...r.cells.map((text) => ({ text }))]);
  const body: Cell[][] = c.rows.map((row) => [
    { text: row.label },
    ...row.display.map((text, i) => ({ text, best: row.best[i] ?? false })),
  ]);
  // Every value cell reserves room for " *" so marked and unmarked values stay right-aligned together.
  const suffix = ` ${bestMarker}`;
  const cellText = (cell: Cell, column: number) =>
    column === 0 ? cell.text : `${cell.text}${cell.best ? suffix : ' '.repeat(suffix.length)}`;
  const widths: number[] = [];
  for (const row of [header, ...meta, ...body]) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cellText(cell, i).length);
    });
  }
  const line = (row: Cell[], paint?: (cell: Cell, text: string) => string) =>
    row
      .map((cell, i) => {
        const text = cellText(cell, i);
        const padded = i === 0 ? text.padEnd(widths[i] ?? 0) : text.padStart(widths[i] ?? 0);
        return paint ? paint(cell, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  const paintBest = (cell: Cell, text: string) => (ansi && cell.best ? ansiBest(text) : text);
  const paintMeta = (_cell: Cell, text: string) => (ansi ? ansiDim(text) : text);
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [
    line(header),
    ...meta.map((row) => line(row, paintMeta)),
    rule,
    ...body.map((row) => line(row, paintBest)),
    '',
    ...footer(c),
    '',
  ].join('\n');
}

/** Markdown cells cannot hold `|` or line breaks. */
export function markdownCell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

function renderMarkdown(c: Comparison): string {
  const row = (cells: string[]) => `| ${cells.map(markdownCell).join(' | ')} |`;
  const lines = [row(['metric', ...c.inputs.map((i) => i.name)]), `|---|${c.inputs.map(() => '---:').join('|')}|`];
  for (const r of headerRows(c)) lines.push(row([r.label, ...r.cells]));
  for (const r of c.rows) {
    const cells = r.display.map((text, i) =>
      r.best[i] ? `**${markdownCell(text)}** \\${bestMarker}` : markdownCell(text),
    );
    lines.push(`| ${markdownCell(r.label)} | ${cells.join(' | ')} |`);
  }
  lines.push('', ...footer(c).map((l) => `${markdownCell(l).replace(/^\\?\*/, '\\*')}  `), '');
  return lines.join('\n');
}
