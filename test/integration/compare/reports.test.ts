/**
 * `loadlm compare` as a subprocess on real reports: two short `loadlm run`s against simulators with different
 * latencies, then the table, JSON and HTML outputs, and the errors for bad inputs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type SimulatorHandle, startSimulator } from '../../../runner/sim/index.ts';
import { runnerReport } from '../../unit/compare/fixtures.ts';
import { runLoadlm } from '../cli/process.ts';
import { checkWellFormed } from './well-formed.ts';

const MODEL = 'mistralai/Mistral-7B-Instruct-v0.3';

describe('loadlm compare on reports from loadlm run', () => {
  let fastSim: SimulatorHandle;
  let slowSim: SimulatorHandle;
  let dir: string;
  let fast: string;
  let slow: string;

  const run = async (url: string, provider: string, region: string, report: string) => {
    const result = await runLoadlm([
      'run',
      ...['--target-url', `${url}/v1`, '--model', MODEL, '--rate', '10', '--duration', '2'],
      ...['--prompt-tokens', '32', '--output-tokens', '16', '--no-metrics', '--quiet'],
      ...['--provider', provider, '--region', region, '--environment', 'production', '--report', report],
    ]);
    assert.equal(result.code, 0, result.stderr);
  };

  before(async () => {
    fastSim = await startSimulator({ port: 0, ttftMs: 15, itlMs: 2, model: MODEL });
    slowSim = await startSimulator({ port: 0, ttftMs: 90, itlMs: 6, model: MODEL });
    dir = await mkdtemp(join(tmpdir(), 'loadlm-compare-'));
    fast = join(dir, 'aws.json');
    slow = join(dir, 'gcp.json');
    // Sequential: two runs at once would share 2 cores with the simulators.
    await run(slowSim.url, 'gcp-gke', 'us-central1', slow);
    await run(fastSim.url, 'aws-eks', 'us-east-1', fast);
  });
  after(async () => {
    await fastSim?.close();
    await slowSim?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('marks the faster simulator best for TTFT in the table', async () => {
    const result = await runLoadlm(['compare', slow, fast]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.match(lines[0] ?? '', /^\s+gcp-gke\/us-central1\/production\s+aws-eks\/us-east-1\/production$/);
    for (const p of ['p50', 'p95', 'p99']) {
      const row = lines.find((l) => l.startsWith(`TTFT ${p}`));
      assert.match(row ?? '', /^TTFT p\d\d\s+\S+\s+\S+ \*$/, `TTFT ${p}: the second column (aws) is best: ${row}`);
    }
    assert.match(result.stdout, /^E2E p50\s+\S+\s+\S+ \*$/m);
    assert.ok(!result.stdout.includes(`${String.fromCharCode(27)}[`), 'plain text when stdout is not a terminal');
  });

  it('gives the same verdict as JSON, with figures from the merged histograms', async () => {
    const result = await runLoadlm(['compare', slow, fast, '--format', 'json', '--label', 'GCP', '--label', 'AWS']);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout);
    assert.equal(doc.kind, 'LoadTestComparison');
    assert.deepEqual(
      doc.inputs.map((i: { name: string }) => i.name),
      ['GCP', 'AWS'],
    );
    const ttft = doc.rows.find((r: { id: string }) => r.id === 'ttft.p95');
    assert.deepEqual(ttft.best, ['AWS']);
    assert.ok(ttft.values[0] > 0.09 && ttft.values[1] < 0.09, `TTFT p95 ${ttft.values}`);
    const report = JSON.parse(await readFile(fast, 'utf8'));
    const requests = doc.rows.find((r: { id: string }) => r.id === 'requests');
    assert.equal(requests.values[1], report.summary.requests.completed);
  });

  it('writes a well-formed, self-contained HTML report with one SVG per plot', async () => {
    const html = join(dir, 'report.html');
    const result = await runLoadlm(['compare', slow, fast, '--html', html, '--title', 'AWS vs GCP <nightly>']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /wrote .*report\.html/);
    const text = await readFile(html, 'utf8');
    const { problems, elements } = checkWellFormed(text);
    assert.deepEqual(problems, []);
    assert.equal(elements[0], 'html');
    assert.ok(text.includes('<title>AWS vs GCP &lt;nightly&gt;</title>'));
    const figures = text.match(/<figure class="plot">/g) ?? [];
    assert.equal(figures.length, 4, 'TTFT, TPOT, ITL and E2E distributions; no sweep steps in these runs');
    assert.equal(elements.filter((e) => e === 'svg').length, figures.length);
    assert.doesNotMatch(text, /\b(src|href)\s*=|url\(|@import|<script|<link/i);
    assert.doesNotMatch(text, /https?:\/\//);
  });

  it('plots throughput against latency for reports with sweep steps', async () => {
    const profile = { ttftMs: 50, itlMs: 5, outputTokens: 16, requests: 40, windowSeconds: 4 };
    const sweep = (provider: string, ttftMs: number) =>
      runnerReport({
        labels: { provider },
        targets: [
          {
            name: 'm',
            profile: { ...profile, ttftMs },
            steps: [
              { label: 'synchronous', profile: { ...profile, ttftMs, requests: 10 } },
              { label: 'constant@5', targetRate: 5, profile: { ...profile, ttftMs: ttftMs * 1.2, requests: 20 } },
              { label: 'throughput', profile: { ...profile, ttftMs: ttftMs * 3, requests: 80 } },
            ],
          },
        ],
      });
    const a = join(dir, 'sweep-a.json.gz');
    const b = join(dir, 'sweep-b.json');
    await writeFile(a, gzipSync(JSON.stringify(sweep('lke', 40))));
    await writeFile(b, JSON.stringify(sweep('eks', 70)));
    const html = join(dir, 'sweep.html');
    const result = await runLoadlm(['compare', a, b, '--html', html]);
    assert.equal(result.code, 0, result.stderr);
    const text = await readFile(html, 'utf8');
    const { problems, elements } = checkWellFormed(text);
    assert.deepEqual(problems, []);
    const figures = text.match(/<figure class="plot">/g) ?? [];
    assert.equal(figures.length, 6, '4 distributions + throughput vs TTFT p95 and vs TPOT p95');
    assert.equal(elements.filter((e) => e === 'svg').length, 6);
    assert.match(text, /Throughput vs TTFT p95 across sweep steps/);
  });

  it('refuses bad inputs with exit 2 and a message naming the input', async () => {
    const notReport = join(dir, 'package.json');
    await writeFile(notReport, JSON.stringify({ name: 'x', version: '1' }));
    const cases: Array<[string[], RegExp]> = [
      [['compare'], /nothing to compare: give report files/],
      [['compare', join(dir, 'missing.json')], /missing\.json: report file not found/],
      [
        ['compare', notReport],
        /package\.json: not a loadlm report: expected a loadlm report \(apiVersion loadlm\.dev\/v1alpha1, kind LoadTestReport.*got an object with keys name, version/,
      ],
      [['compare', fast, '--format', 'xml'], /--format: expected one of table, json, markdown, got "xml"/],
      [['compare', '--context', 'prod-aws'], /--context: needs --loadtest NAME/],
      [['compare', fast, '--label', 'a', '--label', 'b'], /--label: given 2 times but there are 1 input/],
      [['compare', fast, '--lable', 'x'], /unknown option --lable \(did you mean --label\?\)/],
    ];
    for (const [args, pattern] of cases) {
      const result = await runLoadlm(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern, args.join(' '));
      assert.equal(result.stdout, '', 'nothing on stdout on error');
    }
  });

  it('documents every flag with its default in --help', async () => {
    const result = await runLoadlm(['compare', '--help']);
    assert.equal(result.code, 0);
    for (const flag of ['--context', '--loadtest', '--namespace', '--kubeconfig', '--label', '--format', '--html']) {
      assert.ok(result.stdout.includes(flag), flag);
    }
    assert.match(
      result.stdout,
      /--format table\|json\|markdown\s+How the comparison is printed on stdout\.\s+\(default: table\)/,
    );
    const top = await runLoadlm(['--help']);
    assert.match(top.stdout, /^ {2}compare {4}/m);
  });
});
