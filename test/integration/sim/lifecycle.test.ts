import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import { startSimulator } from '../../../runner/sim/index.ts';
import { contentEvents, get, MODEL, metricValue, postJson, streamPost, waitFor } from './client.ts';

const PROCESS_ENTRY = fileURLToPath(new URL('../../../runner/sim/process.ts', import.meta.url));

const streamBody = (maxTokens: number) => ({
  model: MODEL,
  messages: [{ role: 'user', content: 'x' }],
  max_tokens: maxTokens,
  ignore_eos: true,
  stream: true,
});

describe('close()', () => {
  it('ends open streams, hanging requests and idle connections, then resolves', async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 5, itlMs: 5 });
    const agent = new Agent({ connections: 8 });
    try {
      await get(`${sim.url}/health`, { dispatcher: agent }); // leaves an idle keep-alive connection
      const stalled = streamPost(`${sim.url}/v1/chat/completions`, streamBody(10), {
        dispatcher: agent,
        headers: { 'x-sim-fault': 'stall-after=1' },
      });
      // Settles (with an error) while close() runs, so take its outcome right away.
      const hanging = streamPost(`${sim.url}/v1/chat/completions`, streamBody(10), {
        dispatcher: agent,
        headers: { 'x-sim-fault': 'no-headers' },
      }).then(
        () => undefined,
        (error: Error) => error,
      );
      const streaming = streamPost(`${sim.url}/v1/chat/completions`, streamBody(20_000), { dispatcher: agent });
      await waitFor(() => sim.stats().faults.stall === 1 && sim.stats().faults['no-headers'] === 1, 'both faults');
      await waitFor(() => sim.stats().generationTokens > 2, 'the long stream to be under way');
      assert.ok(sim.stats().openConnections >= 3);

      await sim.close();
      assert.equal(sim.stats().openConnections, 0);
      const [stalledResult, streamingResult] = await Promise.all([stalled, streaming]);
      assert.ok(stalledResult.error !== undefined, 'the stalled stream ends with an error');
      assert.ok(streamingResult.error !== undefined, 'the long stream is cut');
      assert.ok((await hanging) instanceof Error, 'the request that never got headers fails');
      await sim.close(); // idempotent
    } finally {
      await sim.close();
      await agent.close();
    }
  });

  it('with graceMs lets running requests finish first', async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 5, itlMs: 5 });
    const agent = new Agent();
    try {
      const streaming = streamPost(`${sim.url}/v1/chat/completions`, streamBody(20), { dispatcher: agent });
      await waitFor(() => sim.stats().running === 1, 'the request to run');
      await sim.close({ graceMs: 5000 });
      const result = await streaming;
      assert.equal(result.error, undefined);
      assert.equal(contentEvents(result).length, 20);
    } finally {
      await sim.close();
      await agent.close();
    }
  });
});

/** Starts process.ts and resolves with its URL once it printed READY. */
async function startProcess(args: string[]): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const child = spawn(process.execPath, [PROCESS_ENTRY, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffered = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  await waitFor(() => lines.some((line) => line.startsWith('READY ')) || child.exitCode !== null, 'READY', 20_000);
  const ready = lines.find((line) => line.startsWith('READY '));
  assert.ok(ready, 'process printed READY');
  return { child, url: ready.slice('READY '.length), lines };
}

describe('runner/sim/process.ts', () => {
  it('prints READY <url>, serves requests, answers `stats` on stdin and exits 0 on SIGTERM', async () => {
    const { child, url, lines } = await startProcess([
      '--port',
      '0',
      '--ttft-ms',
      '1',
      '--itl-ms',
      '1',
      '--model',
      'm1',
    ]);
    const exited = once(child, 'exit');
    after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await postJson(`${url}/v1/completions`, {
      model: 'm1',
      prompt: 'x',
      max_tokens: 3,
      ignore_eos: true,
    });
    assert.equal(JSON.parse(response.text).usage.completion_tokens, 3);
    child.stdin?.write('stats\n');
    await waitFor(() => lines.some((line) => line.startsWith('STATS ')), 'STATS line');
    const stats = JSON.parse((lines.find((line) => line.startsWith('STATS ')) as string).slice(6));
    assert.equal(stats.completed, 1);
    assert.equal(stats.generationTokens, 3);
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0);
  });

  it('exits 2 naming the flag for invalid options', async () => {
    for (const [args, message] of [
      [['--ttft-ms', 'soon'], /--ttft-ms: expected a number/],
      [['--max-num-seqs', '0'], /maxNumSeqs: Too small/],
      [['--faults', 'explode'], /faults\.0: unknown fault "explode"/],
      [['--colour', 'red'], /Unknown option '--colour'/],
    ] as const) {
      const child = spawn(process.execPath, [PROCESS_ENTRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        stderr += chunk;
      });
      const [code] = await once(child, 'exit');
      assert.equal(code, 2, `exit code for ${args.join(' ')}`);
      assert.match(stderr, message);
    }
  });
});

describe('several workers (node:cluster)', () => {
  it('share one port and report aggregated /metrics and stats', async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 2, itlMs: 1, workers: 2, maxNumSeqs: 8 });
    // Separate connections so the primary spreads them over both workers.
    const agents = Array.from({ length: 12 }, () => new Agent());
    try {
      await Promise.all(
        agents.map((agent) =>
          postJson(
            `${sim.url}/v1/completions`,
            { model: MODEL, prompt: 'x', max_tokens: 5, ignore_eos: true },
            {
              dispatcher: agent,
            },
          ),
        ),
      );
      const text = (await get(`${sim.url}/metrics`)).text;
      const labels = `{model_name="${MODEL}",engine="0"}`;
      assert.equal(metricValue(text, `vllm:generation_tokens_total${labels}`), 12 * 5);
      assert.equal(
        metricValue(text, `vllm:request_success_total{model_name="${MODEL}",engine="0",finished_reason="length"}`),
        12,
      );
      assert.equal(metricValue(text, `vllm:time_to_first_token_seconds_count${labels}`), 12);
      await waitFor(() => sim.stats().completed === 12, 'the workers to report their stats');
    } finally {
      await Promise.all(agents.map((agent) => agent.close()));
      await sim.close();
    }
  });
});
