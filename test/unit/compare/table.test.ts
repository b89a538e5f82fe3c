/** The comparison model, best-value marking, and the text / Markdown / JSON renderings. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildComparison, markBest } from '../../../runner/compare/comparison.ts';
import type { CompareInput } from '../../../runner/compare/input.ts';
import { comparisonDocument } from '../../../runner/compare/json.ts';
import { inputsFromDocument } from '../../../runner/compare/report-input.ts';
import { markdownCell, renderTable } from '../../../runner/compare/table.ts';
import { type Profile, runnerReport } from './fixtures.ts';

const ESC = String.fromCharCode(27);
const profile: Profile = { ttftMs: 50, itlMs: 5, outputTokens: 16, requests: 40, windowSeconds: 4 };

function input(file: string, labels: Record<string, string>, p = profile, goodputTtft?: number): CompareInput {
  const doc = runnerReport({
    labels,
    targets: [{ name: 'm', profile: p }],
    ...(goodputTtft !== undefined ? { goodput: { ttftSeconds: goodputTtft } } : {}),
  });
  const [one] = inputsFromDocument(doc, { source: file, sourceShort: file }, { perTarget: false });
  assert.ok(one);
  return one;
}

const fast = () => input('aws.json', { provider: 'aws-eks', region: 'us-east-1' }, { ...profile, ttftMs: 40 });
const slow = () =>
  input(
    'gcp.json',
    { provider: 'gcp-gke', region: 'us-central1' },
    { ...profile, ttftMs: 90, requests: 60, failed: 3 },
  );

describe('markBest', () => {
  it('marks the lowest or highest finite value, all of a tie', () => {
    assert.deepEqual(markBest([3, 1, 2], 'lower'), [false, true, false]);
    assert.deepEqual(markBest([3, 1, 3], 'higher'), [true, false, true]);
    assert.deepEqual(markBest([Number.NaN, 2, 1], 'lower'), [false, false, true]);
  });

  it('marks nothing with fewer than two measured values, all equal values, or an unranked row', () => {
    assert.deepEqual(markBest([1], 'lower'), [false]);
    assert.deepEqual(markBest([Number.NaN, 1], 'lower'), [false, false]);
    assert.deepEqual(markBest([0, 0, 0], 'lower'), [false, false, false]);
    assert.deepEqual(markBest([1, 2], null), [false, false]);
  });
});

describe('buildComparison', () => {
  it('has the latency percentiles, throughput, errors, and ranks each row in its direction', () => {
    const c = buildComparison([fast(), slow()]);
    const row = (id: string) => c.rows.find((r) => r.id === id);
    assert.deepEqual(
      c.rows.map((r) => r.id),
      [
        ...['ttft', 'tpot', 'itl', 'e2e'].flatMap((m) => ['p50', 'p95', 'p99'].map((p) => `${m}.${p}`)),
        'requestsPerSecond',
        'outputTokensPerSecond',
        'requests',
        'errors',
      ],
      'no goodput rows when no input has goodput limits',
    );
    assert.deepEqual(row('ttft.p95')?.best, [true, false]);
    assert.deepEqual(row('requestsPerSecond')?.best, [false, true], '60 ok requests in 4 s beat 40');
    assert.deepEqual(row('errors')?.best, [true, false]);
    assert.deepEqual(row('errors')?.display, ['0 (0.00%)', '3 (4.76%)']);
    assert.deepEqual(row('requests')?.best, [false, false], 'request counts are not ranked');
    assert.deepEqual(row('tpot.p50')?.best, [false, false], 'equal TPOT: nothing to choose');
  });

  it('ranks goodput only when the runs used the same limits, and says which', () => {
    const same = buildComparison([
      input('a', { provider: 'a' }, profile, 0.06),
      input('b', { provider: 'b' }, { ...profile, ttftMs: 70 }, 0.06),
    ]);
    assert.deepEqual(same.rows.find((r) => r.id === 'goodputRatio')?.best, [true, false]);
    assert.deepEqual(same.notes, ['goodput limits: TTFT ≤ 60.0ms']);
    const differ = buildComparison([
      input('a', { provider: 'a' }, profile, 0.06),
      input('b', { provider: 'b' }, profile, 0.04),
    ]);
    const ratio = differ.rows.find((r) => r.id === 'goodputRatio');
    assert.equal(ratio?.better, null);
    assert.deepEqual(ratio?.best, [false, false]);
    assert.match(
      differ.notes[0] ?? '',
      /goodput is not ranked: the runs used different goodput limits \(a: TTFT ≤ 60\.0ms; b: TTFT ≤ 40\.0ms\)/,
    );
  });
});

describe('renderTable', () => {
  it('plain: columns = inputs, label rows, right-aligned values, * on the best, no escape codes', () => {
    const text = renderTable(buildComparison([fast(), slow()]), 'plain');
    const lines = text.split('\n');
    assert.match(lines[0] ?? '', /^\s+aws-eks\/us-east-1\s+gcp-gke\/us-central1$/);
    assert.match(text, /^provider\s+aws-eks\s+gcp-gke$/m);
    assert.match(text, /^region\s+us-east-1\s+us-central1$/m);
    assert.match(text, /^source\s+aws\.json\s+gcp\.json$/m);
    assert.match(text, /^TTFT p95\s+\d+\.\dms \*\s+\d+\.\dms$/m);
    assert.match(text, /^errors\s+0 \(0\.00%\) \*\s+3 \(4\.76%\)$/m);
    assert.ok(!text.includes(`${ESC}[`), 'no escape codes');
    // Values end in the same column whether marked or not: a marked value only adds " *" after it.
    const header = lines[0] ?? '';
    const unmarkedLast = lines.find((l) => l.startsWith('TTFT p50')) ?? '';
    const markedLast = lines.find((l) => l.startsWith('req/s')) ?? '';
    assert.equal(unmarkedLast.length, header.length);
    assert.equal(markedLast.length, header.length + 2);
    assert.match(text, /^\* best of the row/m);
  });

  it('ansi: the best values are bold green', () => {
    const text = renderTable(buildComparison([fast(), slow()]), 'ansi');
    const painted = text
      .split(`${ESC}[1;32m`)
      .slice(1)
      .map((part) => part.split(`${ESC}[0m`)[0]);
    assert.ok(painted.length > 0, 'some values are painted');
    for (const value of painted) assert.match(value ?? '', /\S \*$/, 'only marked values are painted');
  });

  it('markdown: a GitHub table with the best in bold and pipes escaped', () => {
    const a = fast();
    a.name = 'aws|eks';
    const text = renderTable(buildComparison([a, slow()]), 'markdown');
    const lines = text.split('\n');
    assert.equal(lines[0], '| metric | aws\\|eks | gcp-gke/us-central1 |');
    assert.equal(lines[1], '|---|---:|---:|');
    assert.match(text, /^\| TTFT p95 \| \*\*\d+\.\dms\*\* \\\* \| \d+\.\dms \|$/m);
    assert.equal(markdownCell('a|b\nc'), 'a\\|b c');
  });

  it('json: values in seconds, best by input name, nulls for unmeasured values', () => {
    const doc = comparisonDocument(buildComparison([fast(), slow()]), new Date('2026-01-01T00:00:00Z'));
    assert.equal(doc.kind, 'LoadTestComparison');
    const ttft = doc.rows.find((r) => r.id === 'ttft.p95');
    assert.equal(ttft?.unit, 'seconds');
    assert.deepEqual(ttft?.best, ['aws-eks/us-east-1']);
    assert.ok((ttft?.values[0] as number) > 0.03 && (ttft?.values[0] as number) < 0.05);
    assert.deepEqual(
      doc.inputs.map((i) => i.labels),
      [
        { environment: 'default', provider: 'aws-eks', region: 'us-east-1' },
        { environment: 'default', provider: 'gcp-gke', region: 'us-central1' },
      ],
    );
    const empty = buildComparison([input('none', { provider: 'x' }, { ...profile, requests: 0 }), fast()]);
    assert.equal(comparisonDocument(empty, new Date()).rows[0]?.values[0], null);
  });
});
