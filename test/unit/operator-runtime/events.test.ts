import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../../operator/runtime/clock.ts';
import { EventRecorder } from '../../../operator/runtime/events.ts';
import type { KubeClient } from '../../../operator/runtime/kube-client.ts';
import type { KubeObject } from '../../../operator/runtime/resources.ts';

interface Call {
  verb: 'create' | 'patch';
  name: string;
  body: Record<string, unknown>;
}

function fakeClient(calls: Call[]): KubeClient {
  return {
    create: async (_resource: unknown, body: KubeObject) => {
      calls.push({ verb: 'create', name: body.metadata?.name ?? '', body: body as Record<string, unknown> });
      return body;
    },
    patch: async (_resource: unknown, _namespace: string, name: string, body: Record<string, unknown>) => {
      calls.push({ verb: 'patch', name, body });
      return {};
    },
  } as unknown as KubeClient;
}

const loadTest: KubeObject = {
  apiVersion: 'loadlm.dev/v1alpha1',
  kind: 'LoadTest',
  metadata: { name: 'smoke', namespace: 'team-a', uid: 'uid-1', resourceVersion: '7' },
};

describe('EventRecorder', () => {
  it('creates one Event, then counts repeats into its series at most once per flush interval', async () => {
    const calls: Call[] = [];
    const clock = new FakeClock();
    const recorder = new EventRecorder({
      client: fakeClient(calls),
      reportingInstance: 'op-1',
      clock,
      seriesFlushMs: 30_000,
    });
    recorder.event(loadTest, 'Warning', 'RunnerOOMKilled', 'runner 1 was OOMKilled', { action: 'WatchRunners' });
    await clock.advance(0);
    assert.equal(calls.length, 1);
    const created = calls[0]?.body as Record<string, unknown>;
    assert.equal(created.reportingController, 'loadlm.dev/operator');
    assert.equal(created.reportingInstance, 'op-1');
    assert.equal(created.action, 'WatchRunners');
    assert.equal(created.type, 'Warning');
    assert.deepEqual(created.regarding, {
      apiVersion: 'loadlm.dev/v1alpha1',
      kind: 'LoadTest',
      name: 'smoke',
      namespace: 'team-a',
      uid: 'uid-1',
      resourceVersion: '7',
    });
    assert.match(String(created.eventTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    for (let i = 0; i < 10; i++) {
      await clock.advance(1_000);
      recorder.event(loadTest, 'Warning', 'RunnerOOMKilled', 'runner 1 was OOMKilled', { action: 'WatchRunners' });
    }
    assert.equal(calls.length, 1, 'repeats are not written at once');
    await clock.advance(30_000);
    assert.equal(calls.length, 2);
    assert.equal(calls[1]?.verb, 'patch');
    assert.equal(calls[1]?.name, calls[0]?.name);
    assert.equal((calls[1]?.body.series as { count: number } | undefined)?.count, 11);
  });

  it('a different reason or note is a different Event; a repeat after the window starts a new one', async () => {
    const calls: Call[] = [];
    const clock = new FakeClock();
    const recorder = new EventRecorder({
      client: fakeClient(calls),
      reportingInstance: 'op-1',
      clock,
      seriesWindowMs: 600_000,
    });
    recorder.event(loadTest, 'Normal', 'JobCreated', 'created Job smoke-runners');
    recorder.event(loadTest, 'Normal', 'Started', 'all 3 runners ready');
    recorder.event(loadTest, 'Normal', 'Started', 'all 4 runners ready');
    await clock.advance(700_000);
    recorder.event(loadTest, 'Normal', 'JobCreated', 'created Job smoke-runners');
    await recorder.flush();
    assert.deepEqual(
      calls.map((call) => call.verb),
      ['create', 'create', 'create', 'create'],
    );
  });

  it('flush writes pending series updates at once; notes are capped at 1 KiB', async () => {
    const calls: Call[] = [];
    const clock = new FakeClock();
    const recorder = new EventRecorder({ client: fakeClient(calls), reportingInstance: 'op-1', clock });
    const long = 'x'.repeat(5000);
    recorder.event(loadTest, 'Warning', 'Failed', long);
    recorder.event(loadTest, 'Warning', 'Failed', long);
    await recorder.flush();
    assert.equal(calls.length, 2);
    assert.ok(Buffer.byteLength(String(calls[0]?.body.note)) <= 1024);
    assert.equal((calls[1]?.body.series as { count: number } | undefined)?.count, 2);
    assert.equal(clock.pendingTimers(), 0);
  });
});
