/**
 * `npm run quickstart` as a user runs it: a subprocess that starts its own control plane, operator, pod executor
 * and simulator, applies examples/quickstart.yaml and prints `kubectl get loadtests -o wide` and the summary.
 * With --down it must exit 0 with real numbers and leave no process behind; a LoadTest that cannot finish in time
 * must exit 1 showing its conditions.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../cluster/index.ts';

const script = join(repoRoot, 'scripts', 'quickstart.ts');
/** Generous: a machine without the cached control plane builds it first (~10 min on 2 cores). */
const runTimeoutMs = 20 * 60_000;
const markerName = 'LOADLM_QUICKSTART_TEST_RUN';

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  marker: string;
}

function quickstart(args: string[]): Promise<Outcome> {
  const marker = randomBytes(8).toString('hex');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: repoRoot,
      env: { ...process.env, [markerName]: marker },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: runTimeoutMs,
      killSignal: 'SIGINT',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, marker }));
  });
}

/** `kubectl get` output as rows of column → value. */
function table(text: string): Record<string, string>[] {
  const lines = text.split('\n');
  const headerAt = lines.findIndex((line) => /^NAME\s+PHASE\s/.test(line));
  assert.ok(headerAt >= 0, 'the output has the kubectl get loadtests table');
  const header = lines[headerAt] ?? '';
  const starts = [...header.matchAll(/\S+/g)].map((match) => ({ name: match[0], at: match.index ?? 0 }));
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(headerAt + 1)) {
    if (!line.trim()) break;
    rows.push(
      Object.fromEntries(
        starts.map((column, i) => [column.name, line.slice(column.at, starts[i + 1]?.at ?? line.length).trim()]),
      ),
    );
  }
  return rows;
}

function milliseconds(display: string): number {
  const match = /^([\d.]+)(µs|us|ms|s)$/.exec(display);
  assert.ok(match, `expected a duration like 88.6ms, got "${display}"`);
  const factor = match[2] === 's' ? 1000 : match[2] === 'ms' ? 1 : 0.001;
  return Number(match[1]) * factor;
}

/** Processes started by the quickstart run with `marker`, or holding its cluster or pod directories. */
function leftovers(marker: string, clusterDir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (
        environ.includes(`${markerName}=${marker}`) ||
        cmdline.includes(clusterDir) ||
        environ.includes('/loadlm-pods-loadlm-quickstart-')
      ) {
        found.push(`${pid}: ${cmdline.slice(0, 200)}`);
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

function clusterDirOf(stdout: string): string {
  const match = /operator: .* log (\S+)\/operator\.log/.exec(stdout);
  assert.ok(match?.[1], `the output names the operator log in the cluster directory:\n${stdout}`);
  return match[1];
}

describe('npm run quickstart', () => {
  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await quickstart(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /usage: npm run quickstart/);
    assert.match(stdout, /--down/);
  });

  it('a bad flag value exits 2 naming the flag', async () => {
    const { code, stderr } = await quickstart(['--timeout', 'soon']);
    assert.equal(code, 2);
    assert.match(stderr, /--timeout: expected a whole number of seconds/);
  });

  it('--down runs examples/quickstart.yaml to Succeeded, prints a real TTFT-P95 and Tok/s, and leaves nothing behind', async () => {
    const outcome = await quickstart(['--down']);
    const { code, stdout, stderr } = outcome;
    assert.equal(code, 0, `exit code 0; stderr:\n${stderr}\nstdout:\n${stdout}`);
    assert.match(stdout, /the target URL points at the simulator, http:\/\/127\.0\.0\.1:\d+/);
    assert.match(stdout, /loadtest\.loadlm\.dev\/quickstart created/);

    const [row, ...others] = table(stdout);
    assert.equal(others.length, 0, 'one LoadTest');
    assert.equal(row?.NAME, 'quickstart');
    assert.equal(row?.PHASE, 'Succeeded');
    const ttftP95 = milliseconds(row?.['TTFT-P95'] ?? '');
    const tokensPerSecond = Number(row?.['TOK/S']);
    assert.ok(ttftP95 > 0, `TTFT-P95 ${row?.['TTFT-P95']} > 0`);
    assert.ok(tokensPerSecond > 0, `Tok/s ${row?.['TOK/S']} > 0`);
    assert.equal(row?.ERRORS, '0');

    // The summary: all four latency rows with percentiles, throughput and errors from status.
    for (const metric of ['TTFT', 'ITL', 'TPOT', 'E2E']) {
      assert.match(stdout, new RegExp(`^ {2}${metric} +[\\d.]+(µs|ms|s) +`, 'm'), `a ${metric} row`);
    }
    const throughput = /Throughput +([\d.]+) req\/s, ([\d.]+) output tok\/s/.exec(stdout);
    assert.ok(throughput, 'a throughput line');
    assert.ok(Number(throughput[1]) > 0 && Number(throughput[2]) > 0, throughput[0]);
    assert.match(stdout, /Errors +0 \(0%\)/);
    assert.match(stdout, /Goodput +/);

    const clusterDir = clusterDirOf(stdout);
    assert.deepEqual(leftovers(outcome.marker, clusterDir), [], 'no process of the run is left');
    assert.ok(!existsSync(clusterDir), `${clusterDir} was removed`);
  });

  it('a LoadTest that cannot finish before --timeout exits 1 and shows its conditions', async () => {
    const outcome = await quickstart(['--down', '--timeout', '3']);
    const { code, stdout, stderr } = outcome;
    assert.equal(code, 1, `exit code 1; stderr:\n${stderr}`);
    assert.match(stderr, /loadtest\/quickstart did not finish within 3 s/);
    assert.match(stderr, /Its conditions:\n {2}(\(no conditions yet|Accepted=)/);
    assert.deepEqual(leftovers(outcome.marker, clusterDirOf(stdout)), [], 'no process of the run is left');
  });
});
