/** `loadlm sim` as a process, and signal handling of `loadlm run` with stalled in-flight requests. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../../runner/sim/index.ts';
import { runLoadlm, startLoadlm } from './process.ts';

const MODEL = 'mistralai/Mistral-7B-Instruct-v0.3';

describe('loadlm sim', () => {
  it('serves the OpenAI API, prints READY and exits 0 on SIGTERM', async () => {
    const p = startLoadlm(['sim', '--port', '0', '--ttft-ms', '5', '--itl-ms', '1', '--model', 'm1']);
    await p.waitForStdout(/^READY (http:\/\/\S+)$/m);
    const url = /^READY (\S+)$/m.exec(p.stdout())?.[1];
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm1', prompt: 'hello', max_tokens: 3, ignore_eos: true }),
    });
    const body = (await res.json()) as { usage: { completion_tokens: number } };
    assert.equal(res.status, 200);
    assert.equal(body.usage.completion_tokens, 3);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /vllm:generation_tokens_total\{[^}]*model_name="m1"/);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited(20_000), 0, p.stderr());
  });

  it('rejects bad options with exit 2, naming the flag', async () => {
    const unknown = await runLoadlm(['sim', '--ttft', '5']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option --ttft \(did you mean --ttft-ms\?\) for 'loadlm sim'/);
    const bad = await runLoadlm(['sim', '--port', '0', '--ttft-ms', '10', '--ttft-jitter-ms', '20']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--ttft-jitter-ms: must not exceed --ttft-ms/);
    const nan = await runLoadlm(['sim', '--itl-ms', 'fast']);
    assert.equal(nan.code, 2);
    assert.match(nan.stderr, /--itl-ms: expected a number, got "fast"/);
  });

  it('documents every option with its default', async () => {
    const help = await runLoadlm(['sim', '--help']);
    assert.equal(help.code, 0);
    for (const flag of ['--ttft-ms', '--itl-ms', '--max-num-seqs', '--faults', '--api-key-env', '--shutdown-grace']) {
      assert.match(help.stdout, new RegExp(`${flag}\\b`));
    }
    assert.match(help.stdout.replace(/\s+/g, ' '), /--max-num-seqs N .*\(default: 256\)/);
  });
});

describe('loadlm run signal handling', () => {
  let stalling: SimulatorHandle;
  let dir: string;

  before(async () => {
    // Every stream stalls after 2 tokens: in-flight requests never finish by themselves.
    stalling = await startSimulator({ port: 0, ttftMs: 5, itlMs: 1, model: MODEL, faults: ['stall-after=2'] });
    dir = await mkdtemp(join(tmpdir(), 'loadlm-signals-'));
  });
  after(async () => {
    await stalling.close();
    await rm(dir, { recursive: true, force: true });
  });

  const args = (report: string, grace: string) => [
    'run',
    '--target-url',
    `${stalling.url}/v1`,
    '--model',
    MODEL,
    '--rate',
    '20',
    '--duration',
    '120',
    '--calibration',
    'off',
    '--output-tokens',
    '16',
    '--metrics-port',
    '0',
    '--metrics-host',
    '127.0.0.1',
    '--grace-period',
    grace,
    '--report',
    report,
    '--progress',
    'lines',
    '--progress-interval',
    '200ms',
  ];

  it('cancels in-flight requests after the grace period and still writes the report', async () => {
    const report = join(dir, 'grace.json');
    const p = startLoadlm(args(report, '1'));
    await p.waitForStderr(/in_flight=[1-9]/);
    p.child.kill('SIGINT');
    assert.equal(await p.exited(30_000), 130, p.stderr());
    const r = JSON.parse(await readFile(report, 'utf8'));
    assert.equal(r.outcome.status, 'interrupted');
    assert.equal(r.outcome.exitCode, 130);
    assert.ok(r.summary.errors.cancelled > 0, `stalled requests end as cancelled: ${JSON.stringify(r.summary.errors)}`);
  });

  it('a second signal exits at once', async () => {
    const report = join(dir, 'second.json');
    const p = startLoadlm(args(report, '600'));
    await p.waitForStderr(/in_flight=[1-9]/);
    p.child.kill('SIGTERM');
    await p.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('stopping'));
    p.child.kill('SIGTERM');
    // With a 600 s grace period only the second signal can end it within the deadline.
    assert.equal(await p.exited(20_000), 143, p.stderr());
    assert.ok(p.logs().some((l) => l.msg === 'second signal: exiting now'));
  });
});
