import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  ConfigMapResultSink,
  createRunnerHandoff,
  decodeResultConfigMap,
  encodeResult,
  handoffIdentityFromEnv,
  inlineResultLimitBytes,
  parseStartSignal,
  runnerAssignment,
  StartAbortedError,
  StartDeadlineError,
  startSignalData,
  waitForStartSignal,
} from '../../../runner/handoff/index.ts';
import { FakeConfigMapApi, forbidden, gone, unavailable } from './fake-configmap-api.ts';
import { request, resultCm, runnerResult, statsOf, uid } from './fixtures.ts';

const identity = { namespace: 'bench', loadTest: { name: 'nightly', uid }, index: 1, pod: 'nightly-runners-1-x7k2p' };
const startConfigMap = (data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'nightly-start', namespace: 'bench' },
  data,
});

describe('result ConfigMap codec', () => {
  it('stores the RunnerResult as JSON with the labels and owner the operator uses, and reads it back', () => {
    const result = runnerResult(statsOf([request(), request({ ok: false })]), { shard: { index: 1, count: 2 } });
    const cm = resultCm(1, result);
    assert.equal(cm.metadata.name, 'nightly-result-1');
    assert.equal(cm.metadata.labels?.['loadlm.dev/runner-index'], '1');
    assert.equal(cm.metadata.labels?.['loadlm.dev/result'], 'true');
    assert.deepEqual(cm.metadata.ownerReferences, [
      {
        apiVersion: 'loadlm.dev/v1alpha1',
        kind: 'LoadTest',
        name: 'nightly',
        uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    const decoded = decodeResultConfigMap(cm);
    assert.equal(decoded.index, 1);
    assert.equal(decoded.phase, 'Finished');
    assert.equal(decoded.pod, 'nightly-runners-1-x7k2p');
    assert.deepEqual(decoded.payload, JSON.parse(JSON.stringify(result)));
  });

  it('gzips a result that would not fit inline, and reads either form', () => {
    const result = runnerResult(statsOf([request()]), { messages: [`${'x'.repeat(1000)}\n`.repeat(1000)] });
    const encoded = encodeResult(result);
    assert.deepEqual(Object.keys(encoded.data), []);
    assert.ok(encoded.binaryData?.['result.json.gz']);
    assert.ok(encoded.encodedBytes < inlineResultLimitBytes);
    const decoded = decodeResultConfigMap({
      metadata: { name: 'r' },
      data: { ...encoded.data, phase: 'Finished' },
      ...(encoded.binaryData ? { binaryData: encoded.binaryData } : {}),
    });
    assert.equal((decoded.payload as { messages: string[] }).messages[0]?.length, 1_001_000);
  });

  it('names what is wrong with a damaged ConfigMap instead of throwing', () => {
    const base = { metadata: { name: 'nightly-result-0', labels: { 'loadlm.dev/runner-index': '0' } } };
    assert.match(
      decodeResultConfigMap({ ...base, data: { phase: 'Finished', 'result.json': '{"apiVersion": "loadlm.dev/v1al' } })
        .error ?? '',
      /^result\.json: not valid JSON/,
    );
    assert.match(
      decodeResultConfigMap({ ...base, binaryData: { 'result.json.gz': Buffer.from('nope').toString('base64') } })
        .error ?? '',
      /^result\.json\.gz: not gzip data/,
    );
    assert.match(
      decodeResultConfigMap({ ...base, data: { phase: 'Done' } }).error ?? '',
      /phase: unknown phase "Done"/,
    );
    const gz = gzipSync('{"a":1}').toString('base64');
    assert.deepEqual(decodeResultConfigMap({ ...base, binaryData: { 'result.json.gz': gz } }).payload, { a: 1 });
  });

  it('parses start signals strictly', () => {
    assert.equal(parseStartSignal({ data: {} }), undefined);
    assert.deepEqual(parseStartSignal({ data: startSignalData({ kind: 'start', startAtMs: 1_750_000_000_123 }) }), {
      kind: 'start',
      startAtMs: 1_750_000_000_123,
    });
    assert.deepEqual(parseStartSignal({ data: { phase: 'Start', startAt: 'soon' } }), {
      kind: 'invalid',
      problem: 'startAt: expected an RFC 3339 time, got "soon"',
    });
  });

  it('assigns runner indexes to targets and shards', () => {
    assert.deepEqual(runnerAssignment(5, 3, ['a', 'b']), {
      index: 5,
      targetIndex: 1,
      target: 'b',
      shard: { index: 2, count: 3 },
    });
    assert.throws(() => runnerAssignment(6, 3, ['a', 'b']), /from 0 to 5 \(2 target\(s\) × 3 runners\), got 6/);
  });

  it('reads the pod identity from the env the Job sets, naming a missing variable', () => {
    const env = {
      LOADLM_NAMESPACE: 'bench',
      LOADLM_POD_NAME: 'nightly-runners-1-x7k2p',
      LOADLM_LOADTEST_NAME: 'nightly',
      LOADLM_LOADTEST_UID: uid,
      JOB_COMPLETION_INDEX: '1',
    };
    assert.deepEqual(handoffIdentityFromEnv(env), identity);
    assert.throws(() => handoffIdentityFromEnv({ ...env, LOADLM_LOADTEST_UID: '' }), /LOADLM_LOADTEST_UID is not set/);
    assert.throws(
      () => handoffIdentityFromEnv({ ...env, JOB_COMPLETION_INDEX: 'x' }),
      /JOB_COMPLETION_INDEX: expected/,
    );
  });

  it('keeps a realistic runner result far below the ConfigMap limit', () => {
    // 10,000 requests × 128 tokens, lognormal-ish TTFT: the size the operator has to hold per runner.
    const requests = Array.from({ length: 10_000 }, (_, i) =>
      request({ ttft: 0.05 + ((i * 7919) % 1000) / 2000, dispatchLagSeconds: ((i * 104_729) % 997) / 1e6 }),
    );
    const bytes = encodeResult(runnerResult(statsOf(requests))).encodedBytes;
    assert.ok(bytes < 100 * 1024, `${bytes} bytes`);
  });
});

describe('ConfigMapResultSink', () => {
  const sink = (api: FakeConfigMapApi) =>
    new ConfigMapResultSink({ api, name: 'nightly-result-1', ...identity, retryDelayMs: 1 });

  it('announces Ready without a result, then partial and final results under its own field manager', async () => {
    const api = new FakeConfigMapApi();
    const s = sink(api);
    await s.ready();
    assert.equal(api.objects.get('nightly-result-1')?.data?.phase, 'Ready');
    assert.equal(api.objects.get('nightly-result-1')?.data?.['result.json'], undefined);
    await s.partial(runnerResult(statsOf([request()]), { final: false, shard: { index: 1, count: 2 } }));
    assert.equal(api.objects.get('nightly-result-1')?.data?.phase, 'Running');
    await s.final(runnerResult(statsOf([request(), request()]), { shard: { index: 1, count: 2 } }));
    const decoded = decodeResultConfigMap(api.objects.get('nightly-result-1') ?? { metadata: { name: '' } });
    assert.equal(decoded.phase, 'Finished');
    assert.equal((decoded.payload as { final: boolean }).final, true);
  });

  it('coalesces partials while a write is in flight and never lets a partial overwrite the final', async () => {
    const api = new FakeConfigMapApi();
    const s = sink(api);
    const release = api.holdApplies();
    const partial = (n: number) => runnerResult(statsOf(Array.from({ length: n }, () => request())), { final: false });
    const first = s.partial(partial(1));
    void s.partial(partial(2));
    void s.partial(partial(3));
    release();
    await first;
    const writtenCounts = api.applied.map(
      (cm) =>
        (JSON.parse(cm.data?.['result.json'] ?? '{}') as { targets: { stats: { requests: { ok: number } } }[] })
          .targets[0]?.stats.requests.ok,
    );
    assert.deepEqual(writtenCounts, [1, 3]);
    await s.final(runnerResult(statsOf([request()])));
    await s.partial(partial(9));
    assert.equal(api.objects.get('nightly-result-1')?.data?.phase, 'Finished');
  });

  it('retries the final result through transient API errors', async () => {
    const api = new FakeConfigMapApi();
    api.failNext('apply', unavailable(), 3);
    await sink(api).final(runnerResult(statsOf([request()])));
    assert.equal(api.calls.filter((c) => c === 'apply').length, 4);
    assert.equal(api.objects.get('nightly-result-1')?.data?.phase, 'Finished');
  });

  it('fails at once, naming the ConfigMap and the RBAC fix, when it may not write', async () => {
    const api = new FakeConfigMapApi();
    api.failNext('apply', forbidden());
    await assert.rejects(
      sink(api).ready(),
      /cannot write the result ConfigMap bench\/nightly-result-1: forbidden.*needs patch/,
    );
    assert.equal(api.calls.length, 1);
  });
});

describe('waitForStartSignal', () => {
  const base = (api: FakeConfigMapApi, extra: Partial<Parameters<typeof waitForStartSignal>[0]> = {}) => ({
    api,
    namespace: 'bench',
    name: 'nightly-start',
    deadlineMs: Date.now() + 5000,
    retryDelayMs: 1,
    ...extra,
  });

  it('returns a start time already written', async () => {
    const api = new FakeConfigMapApi();
    api.put(startConfigMap(startSignalData({ kind: 'start', startAtMs: 1_750_000_000_000 })));
    assert.deepEqual(await waitForStartSignal(base(api)), { startAtMs: 1_750_000_000_000 });
    assert.equal(api.watcherCount, 0);
  });

  it('waits on a watch for the operator to write it', async () => {
    const api = new FakeConfigMapApi();
    const waiting = waitForStartSignal(base(api));
    await until(() => api.watcherCount === 1);
    api.put(startConfigMap({}));
    api.put(startConfigMap(startSignalData({ kind: 'start', startAtMs: 1_750_000_000_500 })));
    assert.deepEqual(await waiting, { startAtMs: 1_750_000_000_500 });
    assert.equal(api.watcherCount, 0);
  });

  it('re-lists after a broken watch (410 Gone, 503) and still sees the signal', async () => {
    const api = new FakeConfigMapApi();
    api.failNext('watchByName', gone());
    api.failNext('getByName', unavailable());
    const retries: string[] = [];
    const waiting = waitForStartSignal(base(api, { onRetry: (e) => retries.push(e.message) }));
    await until(() => api.watcherCount === 1);
    api.put(startConfigMap(startSignalData({ kind: 'start', startAtMs: 1_750_000_000_900 })));
    assert.deepEqual(await waiting, { startAtMs: 1_750_000_000_900 });
    assert.equal(retries.length, 2);
  });

  it('ends with the operator’s reason on Abort, and with StartDeadlineError at the deadline', async () => {
    const api = new FakeConfigMapApi();
    const aborted = waitForStartSignal(base(api));
    await until(() => api.watcherCount === 1);
    api.put(startConfigMap(startSignalData({ kind: 'abort', reason: 'ImagePullBackOff', message: 'runner 2 …' })));
    await assert.rejects(aborted, (e: unknown) => e instanceof StartAbortedError && e.reason === 'ImagePullBackOff');
    await assert.rejects(
      waitForStartSignal(base(new FakeConfigMapApi(), { deadlineMs: Date.now() + 50 })),
      (e: unknown) => e instanceof StartDeadlineError && /no start signal in ConfigMap nightly-start/.test(e.message),
    );
  });

  it('gives up at once when RBAC forbids reading the signal, and stops on the caller’s signal', async () => {
    const api = new FakeConfigMapApi();
    api.failNext('getByName', forbidden());
    await assert.rejects(waitForStartSignal(base(api)), /forbidden.*needs get, list and watch/);
    const controller = new AbortController();
    const waiting = waitForStartSignal(base(new FakeConfigMapApi(), { signal: controller.signal }));
    controller.abort(new Error('SIGTERM'));
    await assert.rejects(waiting, /SIGTERM/);
  });
});

describe('createRunnerHandoff', () => {
  it('reports ready first, then resolves with the agreed start time', async () => {
    const api = new FakeConfigMapApi();
    const handoff = createRunnerHandoff({
      api,
      identity,
      resultConfigMap: 'nightly-result-1',
      startSignal: 'nightly-start',
      startTimeoutMs: 5000,
    });
    const start = handoff.awaitStart();
    await until(() => api.watcherCount === 1);
    assert.equal(api.objects.get('nightly-result-1')?.data?.phase, 'Ready');
    api.put(startConfigMap(startSignalData({ kind: 'start', startAtMs: 1_750_000_001_000 })));
    assert.equal(await start, 1_750_000_001_000);
  });
});

/** Polls a condition with a deadline (the fakes settle within a few event-loop turns). */
async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within the deadline');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
