/**
 * `loadlm run` as a real subprocess against the in-process simulator: exit codes, reports, signals,
 * config errors, continuous mode, Pushgateway, and that an API key never leaks into any output.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../../runner/sim/index.ts';
import { RunStats } from '../../../runner/stats/index.ts';
import { runLoadlm, startLoadlm } from './process.ts';

const MODEL = 'mistralai/Mistral-7B-Instruct-v0.3';
const SENTINEL_KEY = 'sk-loadlm-sentinel-7f3a9c21e4';

describe('loadlm run (subprocess against the simulator)', () => {
  let sim: SimulatorHandle;
  let keySim: SimulatorHandle;
  let dir: string;

  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 20, itlMs: 2, model: MODEL });
    keySim = await startSimulator({ port: 0, ttftMs: 20, itlMs: 2, model: MODEL, apiKey: SENTINEL_KEY });
    dir = await mkdtemp(join(tmpdir(), 'loadlm-cli-'));
  });
  after(async () => {
    await sim.close();
    await keySim.close();
    await rm(dir, { recursive: true, force: true });
  });

  const quick = (url: string) => [
    '--target-url',
    `${url}/v1`,
    '--model',
    MODEL,
    '--rate',
    '20',
    '--duration',
    '2',
    '--prompt-tokens',
    '32',
    '--output-tokens',
    '16',
    '--metrics-host',
    '127.0.0.1',
    '--metrics-port',
    '0',
    '--progress',
    'lines',
    '--progress-interval',
    '500ms',
  ];

  it('exits 0 on success and writes a valid versioned report, CSV and result file', async () => {
    const report = join(dir, 'ok.json');
    const csv = join(dir, 'ok.csv');
    const result = join(dir, 'ok-result.json');
    const run = await runLoadlm([
      'run',
      ...quick(sim.url),
      '--environment',
      'development',
      '--report',
      report,
      '--csv',
      csv,
      '--result-file',
      result,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /loadlm run SUCCESS \(exit 0\)/);
    assert.match(run.stdout, /TTFT +\d+/);
    assert.match(run.stderr, /^progress elapsed=/m, 'plain progress lines when stderr is not a TTY');

    const r = JSON.parse(await readFile(report, 'utf8'));
    assert.equal(r.apiVersion, 'loadlm.dev/v1alpha1');
    assert.equal(r.kind, 'LoadTestReport');
    assert.equal(r.schemaVersion, 1);
    assert.equal(r.outcome.status, 'success');
    assert.equal(r.labels.environment, 'development');
    assert.equal(r.targets.length, 1);
    const stats = RunStats.fromJSON(r.stats, 'report.stats');
    assert.ok(stats.requests.ok >= 30, `expected ~40 measured requests, got ${stats.requests.ok}`);
    assert.equal(stats.requests.failed, 0);
    assert.equal(r.summary.requests.ok, stats.requests.ok);
    // The sim's TTFT is 20 ms from when the request runs; measured TTFT adds only local overhead.
    assert.ok(
      r.summary.latency.ttft.p50 >= 0.02 && r.summary.latency.ttft.p50 < 0.5,
      String(r.summary.latency.ttft.p50),
    );

    const lines = (await readFile(csv, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /^environment,target,model,step,/);
    assert.match(lines[1] ?? '', /^development,mistral-7b-instruct-v0-3,/);

    const handoff = JSON.parse(await readFile(result, 'utf8'));
    assert.equal(handoff.kind, 'RunnerResult');
    assert.equal(handoff.final, true);
    assert.equal(handoff.status, 'success');
    assert.equal(RunStats.fromJSON(handoff.targets[0].stats).requests.ok, stats.requests.ok);
  });

  it('exits 1 when an SLO is breached and says which', async () => {
    const report = join(dir, 'slo.json');
    const run = await runLoadlm(['run', ...quick(sim.url), '--slo-ttft-p95-ms', '1', '--report', report]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /SLOs BREACHED/);
    assert.match(run.stdout, /FAIL ttftP95Milliseconds: .* \(limit ≤ 1\.00ms\)/);
    const r = JSON.parse(await readFile(report, 'utf8'));
    assert.equal(r.outcome.status, 'slo_breached');
    assert.equal(r.slo.met, false);
  });

  it('exits 3 when the target is unreachable, still writing the report', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const report = join(dir, 'unreachable.json');
    const run = await runLoadlm(['run', ...quick(`http://127.0.0.1:${port}`), '--duration', '1', '--report', report]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stdout, /loadlm run FAILED \(exit 3\)/);
    assert.match(run.stdout, /no request succeeded .* First connect error:/);
    const r = JSON.parse(await readFile(report, 'utf8'));
    assert.equal(r.outcome.status, 'failed');
    assert.ok(r.summary.errors.connect > 0);
  });

  it('exits 2 on usage errors, naming the flag', async () => {
    const unknown = await runLoadlm(['run', '--rat', '5']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option --rat \(did you mean --rate\?\)/);
    const bad = await runLoadlm(['run', '--target-url', `${sim.url}/v1`, '--model', MODEL, '--output-tokens', 'lots']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--output-tokens: expected N, fixed:N, uniform:MIN-MAX/);
    const missing = await runLoadlm(['run']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--target-url is required/);
  });

  it('exits 2 on an invalid config, naming the field', async () => {
    const config = join(dir, 'bad.yaml');
    await writeFile(
      config,
      `environments:\n  development:\n    targets:\n      - name: mistral-7b\n        url: ftp://nowhere\n        model: ${MODEL}\nload:\n  profile: constant\n  rate: 5\n  concurrency: 3\n  durationSeconds: 10\n`,
    );
    const run = await runLoadlm(['run', '--config', config]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /environments\.development\.targets\[0\]\.url: expected an http\(s\) URL/);
    assert.match(run.stderr, /load\.concurrency: concurrency is not allowed when profile is constant/);
    const unset = join(dir, 'unset.yaml');
    await writeFile(
      unset,
      `environments:\n  development:\n    targets:\n      - name: m\n        url: ${sim.url}/v1\n        model: ${MODEL}\n        api_key: \${LOADLM_TEST_UNSET_KEY}\n`,
    );
    const unsetRun = await runLoadlm(['run', '--config', unset]);
    assert.equal(unsetRun.code, 2);
    assert.match(
      unsetRun.stderr,
      /environments\.development\.targets\[0\]\.api_key: environment variable LOADLM_TEST_UNSET_KEY is not set/,
    );
  });

  it('on SIGTERM stops, still writes the report and exits 143', async () => {
    const report = join(dir, 'sigterm.json');
    const p = startLoadlm(['run', ...quick(sim.url), '--duration', '120', '--grace-period', '5', '--report', report]);
    // Interrupt once requests are completing (progress lines report them).
    await p.waitForStderr(/completed=[1-9]/);
    p.child.kill('SIGTERM');
    const code = await p.exited(30_000);
    assert.equal(code, 143, p.stderr());
    const r = JSON.parse(await readFile(report, 'utf8'));
    assert.equal(r.outcome.status, 'interrupted');
    assert.ok(r.summary.requests.ok > 0, 'requests measured before the signal are reported');
    assert.match(p.stdout(), /INTERRUPTED \(exit 143\)/);
  });

  it('never puts the API key into stdout, stderr, report, CSV, result file or /metrics', async () => {
    const config = join(dir, 'key.yaml');
    await writeFile(
      config,
      `environments:\n  development:\n    targets:\n      - name: guarded\n        url: ${keySim.url}/v1/chat/completions\n        model: ${MODEL}\n        api_key: \${API_KEY}\n        headers: { X-Secret-Route: ${SENTINEL_KEY} }\n`,
    );
    const files = {
      report: join(dir, 'key-report.json'),
      csv: join(dir, 'key-requests.csv'),
      result: join(dir, 'key-result.json'),
    };
    const p = startLoadlm(
      [
        'run',
        '--config',
        config,
        '--rate',
        '20',
        '--duration',
        '2',
        '--output-tokens',
        '8',
        '--metrics-host',
        '127.0.0.1',
        '--metrics-port',
        '0',
        '--linger',
        '30',
        '--report',
        files.report,
        '--csv',
        files.csv,
        '--csv-per-request',
        '--result-file',
        files.result,
        '--log-level',
        'trace',
      ],
      { API_KEY: SENTINEL_KEY },
    );
    const listening = await p.waitForLog((l) => l.msg === 'metrics server listening');
    await p.waitForLog((l) => l.msg === 'run finished');
    const metrics = await (await fetch(String(listening.url))).text();
    p.child.kill('SIGTERM'); // ends the linger
    const code = await p.exited(30_000);
    assert.equal(code, 0, p.stderr());
    const outputs = {
      stdout: p.stdout(),
      stderr: p.stderr(),
      metrics,
      report: await readFile(files.report, 'utf8'),
      csv: await readFile(files.csv, 'utf8'),
      result: await readFile(files.result, 'utf8'),
    };
    for (const [name, text] of Object.entries(outputs)) {
      assert.ok(text.length > 0, `${name} is empty`);
      assert.ok(!text.includes(SENTINEL_KEY), `the API key leaked into ${name}`);
    }
    // The key was really sent: the simulator requires it, and every request succeeded.
    const r = JSON.parse(outputs.report);
    assert.equal(r.outcome.status, 'success');
    assert.ok(r.summary.requests.ok > 0);
    assert.match(outputs.metrics, /guidellm_requests_total\{[^}]*status="success"[^}]*\} [1-9]/);
    assert.ok(outputs.csv.split('\n').length > r.summary.requests.ok, 'one CSV row per request');
  });

  it('a wrong key gives classified 401 errors without echoing the key', async () => {
    const run = await runLoadlm(['run', ...quick(keySim.url), '--api-key-env', 'MY_KEY', '--duration', '1'], {
      MY_KEY: `${SENTINEL_KEY}-wrong`,
    });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stdout, /HTTP 401×/);
    assert.ok(!run.stdout.includes(SENTINEL_KEY) && !run.stderr.includes(SENTINEL_KEY));
  });

  it('continuous mode repeats runs, serves /metrics throughout and exits 0 on SIGTERM', async () => {
    const p = startLoadlm(['run', ...quick(sim.url), '--duration', '1', '--continuous', '--interval', '1', '--quiet']);
    const listening = await p.waitForLog((l) => l.msg === 'metrics server listening');
    await p.waitForLog((l) => l.msg === 'run finished' && l.runIndex === 2, 30_000);
    const metrics = await (await fetch(String(listening.url))).text();
    const runs = /guidellm_runs_total\{[^}]*outcome="success"[^}]*\} (\d+)/.exec(metrics);
    assert.ok(runs && Number(runs[1]) >= 2, `expected ≥ 2 finished runs in /metrics:\n${metrics.slice(0, 2000)}`);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited(30_000), 0, p.stderr());
    assert.equal(p.stdout(), '', '--quiet prints no summary');
  });

  it('pushes the metrics to a Pushgateway', async () => {
    const pushes: Array<{ method: string; url: string; body: string }> = [];
    const gateway: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        pushes.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    try {
      const port = (gateway.address() as { port: number }).port;
      const run = await runLoadlm([
        'run',
        ...quick(sim.url),
        '--no-metrics',
        '--pushgateway',
        `http://127.0.0.1:${port}`,
        '--push-interval',
        '1',
        '--environment',
        'development',
        '--loadtest',
        'nightly',
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(pushes.length >= 1, 'at least the final push');
      const last = pushes.at(-1);
      assert.equal(last?.method, 'PUT');
      assert.match(
        last?.url ?? '',
        /^\/metrics\/job\/loadlm\/instance\/[^/]+\/environment\/development\/loadtest\/nightly$/,
      );
      assert.match(
        last?.body ?? '',
        /guidellm_requests_total\{[^}]*environment="development"[^}]*loadtest="nightly"[^}]*status="success"[^}]*\} [1-9]/,
      );
      assert.match(last?.body ?? '', /guidellm_ttft_seconds_bucket\{/);
    } finally {
      await new Promise<void>((resolve) => gateway.close(() => resolve()));
    }
  });
});
