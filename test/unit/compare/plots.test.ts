/** CDFs from histograms, scales and SVG paths, HTML escaping and the HTML document. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cdfFromHistogram, valueAt } from '../../../runner/compare/cdf.ts';
import { buildComparison } from '../../../runner/compare/comparison.ts';
import { escapeHtml } from '../../../runner/compare/escape.ts';
import { latencyCharts, renderHtml, sweepCharts, tickMs } from '../../../runner/compare/html.ts';
import { inputsFromDocument } from '../../../runner/compare/report-input.ts';
import {
  autoScale,
  linearScale,
  lineChart,
  logScale,
  logTickValues,
  niceStep,
  pathData,
} from '../../../runner/compare/svg.ts';
import { Histogram } from '../../../runner/stats/index.ts';
import { runnerReport } from './fixtures.ts';

describe('cdfFromHistogram', () => {
  it('rises through each bucket from (min, 0) to (max, 1)', () => {
    const h = new Histogram();
    for (const v of [1, 1, 2, 4]) h.record(v);
    // Powers of two are bucket lower bounds; a bucket is 1/128 of its octave wide.
    assert.deepEqual(cdfFromHistogram(h), [
      { x: 1, p: 0 },
      { x: 1 + 1 / 128, p: 0.5 },
      { x: 2, p: 0.5 },
      { x: 2 + 2 / 128, p: 0.75 },
      { x: 4, p: 0.75 },
      { x: 4, p: 1 },
    ]);
  });

  it('is monotone and agrees with the histogram quantiles', () => {
    const h = new Histogram();
    for (let i = 1; i <= 1000; i++) h.record(0.01 * (1 + ((i * 7919) % 1000) / 250));
    const cdf = cdfFromHistogram(h);
    for (let i = 1; i < cdf.length; i++) {
      assert.ok((cdf[i]?.x ?? 0) >= (cdf[i - 1]?.x ?? 0), 'x never decreases');
      assert.ok((cdf[i]?.p ?? 0) >= (cdf[i - 1]?.p ?? 0), 'p never decreases');
    }
    assert.deepEqual(cdf[0], { x: h.min, p: 0 });
    assert.deepEqual(cdf.at(-1), { x: h.max, p: 1 });
    for (const q of [0.5, 0.95, 0.99]) {
      const fromCdf = valueAt(cdf, q);
      const exact = h.quantile(q);
      assert.ok(Math.abs(fromCdf - exact) <= exact * h.relativeError * 2, `q=${q}: ${fromCdf} vs ${exact}`);
    }
  });

  it('puts exact zeros at 0 (no spread to the smallest double) and is empty for an empty histogram', () => {
    const h = new Histogram();
    h.record(0);
    h.record(0.002);
    const cdf = cdfFromHistogram(h);
    assert.deepEqual(cdf.slice(0, 2), [
      { x: 0, p: 0 },
      { x: 0, p: 0.5 },
    ]);
    assert.ok(Math.abs((cdf[2]?.x ?? 0) - 0.002) < 0.002 / 128, 'then the bucket of 0.002');
    assert.deepEqual(cdf.at(-1), { x: 0.002, p: 1 });
    assert.deepEqual(cdfFromHistogram(new Histogram()), []);
  });
});

describe('scales', () => {
  it('picks 1-2-5 steps and round linear ticks covering the data', () => {
    assert.equal(niceStep(100, 5), 20);
    assert.equal(niceStep(7, 5), 2);
    assert.equal(niceStep(0.3, 5), 0.1);
    const s = linearScale(3, 97, [0, 100], String);
    assert.deepEqual(s.domain, [0, 100]);
    assert.deepEqual(
      s.ticks.map((t) => t.value),
      [0, 20, 40, 60, 80, 100],
    );
    assert.equal(s.map(50), 50);
    const cdf = linearScale(0, 1, [300, 30], String);
    assert.deepEqual(
      cdf.ticks.map((t) => t.value),
      [0, 0.2, 0.4, 0.6, 0.8, 1],
    );
    assert.equal(cdf.map(1), 30, 'y grows upwards');
  });

  it('log ticks are 1-2-5 values, thinned to decades over wide ranges', () => {
    assert.deepEqual(logTickValues(3, 80), [2, 5, 10, 20, 50, 100]);
    assert.deepEqual(logTickValues(0.0011, 900), [0.001, 0.01, 0.1, 1, 10, 100, 1000]);
    assert.ok(logTickValues(1e-300, 1e10).length <= 9);
    const s = logScale(10, 1000, [0, 200], String);
    assert.equal(s.map(10), 0);
    assert.equal(s.map(100), 100);
    assert.equal(s.map(0), 0, 'zero sits on the axis');
  });

  it('goes logarithmic only for data spanning a wide range, and never below a millionth of the maximum', () => {
    assert.equal(autoScale([20, 30, 60], [0, 1], String).kind, 'linear');
    assert.equal(autoScale([0, 1, 500], [0, 1], String).kind, 'log');
    const wide = autoScale([1e-300, 50], [0, 1], String);
    assert.ok(wide.domain[0] >= 1e-5, `${wide.domain[0]}`);
  });
});

describe('pathData', () => {
  it('draws M then L commands with one decimal', () => {
    assert.equal(
      pathData([
        { x: 0, y: 10 },
        { x: 10.26, y: 5.04 },
      ]),
      'M0 10L10.3 5',
    );
  });

  it('skips points within half a pixel of the last drawn one, but keeps the last point', () => {
    const points = Array.from({ length: 1001 }, (_, i) => ({ x: i / 100, y: 0 }));
    const d = pathData(points);
    const commands = d.match(/[ML]/g) ?? [];
    assert.ok(commands.length <= 22, `${commands.length} commands for a 10 px line`);
    assert.ok(d.endsWith('L10 0'), d);
  });

  it('leaves out non-finite points and gives nothing for no points', () => {
    assert.equal(pathData([]), '');
    assert.equal(
      pathData([
        { x: Number.NaN, y: 1 },
        { x: 1, y: 2 },
      ]),
      'M1 2',
    );
  });
});

describe('escaping and the HTML document', () => {
  it('escapes the five XML characters and drops control characters', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    assert.equal(escapeHtml('a\u0000b\u001bc\td'), 'abc\td');
  });

  const hostile = '<script>alert("x")</script>&';
  const profile = { ttftMs: 50, itlMs: 5, outputTokens: 16, requests: 40, windowSeconds: 4 };
  const withSteps = (provider: string, ttftMs: number) =>
    runnerReport({
      labels: { provider },
      targets: [
        {
          name: 'm',
          profile: { ...profile, ttftMs },
          steps: [
            { label: 'synchronous', profile: { ...profile, ttftMs, requests: 10 } },
            { label: 'throughput', profile: { ...profile, ttftMs: ttftMs * 3, requests: 200 } },
            { label: 'constant@20', targetRate: 20, profile: { ...profile, ttftMs: ttftMs * 1.5, requests: 80 } },
          ],
        },
      ],
    });

  it('renders every input string escaped, one SVG per plot, and nothing external', () => {
    const inputs = [
      ...inputsFromDocument(
        withSteps(hostile, 40),
        { source: `${hostile}.json`, sourceShort: hostile },
        { perTarget: false },
      ),
      ...inputsFromDocument(
        withSteps('gcp', 90),
        { source: 'gcp.json', sourceShort: 'gcp.json' },
        { perTarget: false },
      ),
    ];
    const html = renderHtml(buildComparison(inputs), { title: `compare ${hostile}`, generatedAt: new Date(0) });
    assert.ok(!html.includes('<script'), 'no script element, not even from a label');
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;'));
    const svgs = html.match(/<svg\b/g) ?? [];
    const figures = html.match(/<figure class="plot">/g) ?? [];
    assert.equal(figures.length, 6, '4 latency CDFs + 2 sweep plots');
    assert.equal(svgs.length, figures.length);
    assert.doesNotMatch(html, /\b(src|href)=|url\(|@import|https?:/i);
  });

  it('skips a latency plot no input has data for, and sweep plots without steps', () => {
    const [a] = inputsFromDocument(
      runnerReport({ labels: { provider: 'a' } }),
      { source: 'a', sourceShort: 'a' },
      { perTarget: false },
    );
    assert.ok(a);
    assert.equal(latencyCharts([a]).length, 4);
    assert.deepEqual(sweepCharts([a]), []);
    const html = renderHtml(buildComparison([a]), { title: 't', generatedAt: new Date(0) });
    assert.match(html, /No input has sweep or stage steps/);
    a.distributions = {};
    assert.deepEqual(latencyCharts([a]), []);
  });

  it('draws sweep points sorted by throughput, with the step in each tooltip', () => {
    const [a] = inputsFromDocument(withSteps('a', 40), { source: 'a', sourceShort: 'a' }, { perTarget: false });
    assert.ok(a);
    const [ttft] = sweepCharts([a]);
    const titles = [...(ttft ?? '').matchAll(/<circle [^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]);
    assert.equal(titles.length, 3);
    assert.match(titles[0] ?? '', /^a: synchronous: 40\.0 tok\/s, TTFT p95 /);
    assert.match(titles[1] ?? '', /^a: constant@20 \(target 20\.00 req\/s\): 320\.0 tok\/s, /);
    assert.match(titles[2] ?? '', /^a: throughput: 800\.0 tok\/s, /);
  });

  it('labels axis ticks with round values', () => {
    assert.equal(tickMs(0), '0');
    assert.equal(tickMs(20), '20ms');
    assert.equal(tickMs(0.5), '0.5ms');
    assert.equal(tickMs(1500), '1.5s');
  });

  it('a chart has a title, a path per series with data, and a legend entry per series', () => {
    const svg = lineChart({
      title: 'T',
      xLabel: 'x',
      yLabel: 'y',
      x: 'linear',
      y: 'linear',
      xFormat: String,
      yFormat: String,
      series: [
        {
          name: 'one',
          points: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
        { name: 'none', points: [] },
      ],
    });
    assert.match(svg, /^<svg class="chart"/);
    assert.equal((svg.match(/<path class="series"/g) ?? []).length, 1);
    assert.equal((svg.match(/<text class="legend"/g) ?? []).length, 2);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
  });
});
