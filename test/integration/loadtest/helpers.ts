/**
 * What the LoadTest end-to-end suites share: kubectl reads of one namespace (LoadTests, Jobs, pods, result
 * ConfigMaps, events), waits with deadlines, and `kubectl get loadtests` parsed into columns.
 */
import assert from 'node:assert/strict';
import type { LoadTest } from '../../../api/loadtest.ts';
import { type ClusterHandle, waitFor } from '../../cluster/index.ts';

export const finishedPhases = ['Succeeded', 'Failed', 'ThresholdsBreached'];

export interface JobJson {
  metadata: { name: string; uid: string };
  spec: { suspend?: boolean; activeDeadlineSeconds?: number };
  status: { active?: number; conditions?: { type: string; status: string; reason?: string }[] };
}

export interface PodJson {
  metadata: { name: string; annotations?: Record<string, string>; deletionTimestamp?: string };
  status?: { phase?: string };
}

export interface ConfigMapJson {
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

/** A RunnerResult as the runner writes it into `<lt>-result-<i>` (only what the tests read). */
export interface RunnerResultJson {
  final: boolean;
  targets: { name: string; stats: { requests: { completed: number; ok: number; failed: number } } }[];
}

export interface EventJson {
  type: string;
  reason: string;
  note?: string;
  series?: { count: number };
  deprecatedCount?: number;
}

export class LoadTestNamespace {
  readonly cluster: ClusterHandle;
  readonly namespace: string;

  constructor(cluster: ClusterHandle, namespace: string) {
    this.cluster = cluster;
    this.namespace = namespace;
  }

  async kubectl(args: string[]): Promise<string> {
    return (await this.cluster.kubectl(args, { namespace: this.namespace })).stdout;
  }

  async getJson<T>(args: string[]): Promise<T> {
    return JSON.parse(await this.kubectl([...args, '-o', 'json'])) as T;
  }

  async apply(object: unknown): Promise<void> {
    await this.cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(object), namespace: this.namespace });
  }

  get(name: string): Promise<LoadTest> {
    return this.getJson<LoadTest>(['get', 'loadtest', name]);
  }

  statusText(name: string): () => Promise<string> {
    return async () => JSON.stringify((await this.get(name)).status ?? {}).slice(0, 3000);
  }

  /** Waits until the LoadTest is finished (Succeeded, Failed or ThresholdsBreached) and returns it. */
  waitForFinished(name: string, timeoutMs = 90_000): Promise<LoadTest> {
    return waitFor(
      `LoadTest ${name} to finish`,
      async () => {
        const lt = await this.get(name);
        return finishedPhases.includes(lt.status?.phase ?? '') ? lt : undefined;
      },
      { timeoutMs, intervalMs: 500, describe: this.statusText(name) },
    );
  }

  /** Waits until the runners were told to start (RunnersReady=True): the run is under way. */
  waitForRunning(name: string, timeoutMs = 60_000): Promise<LoadTest> {
    return waitFor(
      `LoadTest ${name} to be running (RunnersReady=True)`,
      async () => {
        const lt = await this.get(name);
        const ready = lt.status?.conditions?.find((c) => c.type === 'RunnersReady');
        return ready?.status === 'True' ? lt : undefined;
      },
      { timeoutMs, intervalMs: 250, describe: this.statusText(name) },
    );
  }

  /** Asserts Failed=True with this reason and returns that condition. */
  async expectFailed(name: string, reason: string, timeoutMs?: number) {
    const lt = await this.waitForFinished(name, timeoutMs);
    const failed = lt.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(lt.status?.phase, 'Failed', JSON.stringify(lt.status?.conditions));
    assert.equal(failed?.status, 'True');
    if (failed?.reason !== reason) {
      assert.fail(
        `expected Failed/${reason}, got ${failed?.reason}: ${failed?.message}\n${await this.runnerState(name)}`,
      );
    }
    const succeeded = lt.status?.conditions?.find((c) => c.type === 'Succeeded');
    assert.equal(succeeded?.status, 'False');
    assert.equal(succeeded?.reason, reason);
    return { lt, message: failed?.message ?? '' };
  }

  /** The runner Job's conditions and its pods' states, for an assertion message. */
  async runnerState(loadTest: string): Promise<string> {
    const [jobs, pods] = await Promise.all([
      this.getJson<{ items: { metadata: { name: string }; status?: unknown }[] }>([
        'get',
        'jobs',
        '-l',
        `loadlm.dev/loadtest=${loadTest}`,
      ]),
      this.getJson<{ items: { metadata: { name: string; deletionTimestamp?: string }; status?: unknown }[] }>([
        'get',
        'pods',
        '-l',
        `loadlm.dev/loadtest=${loadTest}`,
      ]),
    ]);
    const lines = [
      ...jobs.items.map((job) => `job ${job.metadata.name}: ${JSON.stringify(job.status)}`),
      ...pods.items.map(
        (pod) =>
          `pod ${pod.metadata.name}${pod.metadata.deletionTimestamp ? ' (deleting)' : ''}: ${JSON.stringify(pod.status)}`,
      ),
    ];
    return lines.join('\n').slice(0, 6000);
  }

  jobs(loadTest: string): Promise<JobJson[]> {
    return this.getJson<{ items: JobJson[] }>(['get', 'jobs', '-l', `loadlm.dev/loadtest=${loadTest}`]).then(
      (list) => list.items,
    );
  }

  pods(loadTest: string): Promise<PodJson[]> {
    return this.getJson<{ items: PodJson[] }>(['get', 'pods', '-l', `loadlm.dev/loadtest=${loadTest}`]).then(
      (list) => list.items,
    );
  }

  /** The runner result ConfigMaps by runner index (kept while cleanupPolicy keeps runner objects). */
  async results(loadTest: string): Promise<Map<number, ConfigMapJson>> {
    const list = await this.getJson<{ items: ConfigMapJson[] }>([
      'get',
      'configmaps',
      '-l',
      `loadlm.dev/result=true,loadlm.dev/loadtest=${loadTest}`,
    ]);
    return new Map(list.items.map((item) => [Number(item.metadata.labels?.['loadlm.dev/runner-index']), item]));
  }

  /** Requests completed in the measured window by one runner, from its final result. */
  static completedOf(configMap: ConfigMapJson | undefined): number {
    const text = configMap?.data?.['result.json'];
    assert.ok(text, `${configMap?.metadata.name ?? 'the result ConfigMap'} holds result.json`);
    const result = JSON.parse(text) as RunnerResultJson;
    assert.equal(result.final, true, `${configMap?.metadata.name} holds a final result`);
    const completed = result.targets[0]?.stats.requests.completed;
    assert.ok(completed !== undefined && completed > 0, `${configMap?.metadata.name} has completed requests`);
    return completed;
  }

  /** events.k8s.io Events about the LoadTest. */
  async events(name: string): Promise<EventJson[]> {
    const list = await this.getJson<{ items: EventJson[] }>([
      'get',
      'events.events.k8s.io',
      '--field-selector',
      `regarding.kind=LoadTest,regarding.name=${name}`,
    ]);
    return list.items;
  }

  /** Waits until `kubectl describe loadtest` lists a Warning event with this reason; returns the describe text. */
  waitForWarningInDescribe(name: string, reason: string): Promise<string> {
    let last = '';
    return waitFor(
      `a Warning ${reason} event in kubectl describe loadtest ${name}`,
      async () => {
        last = await this.kubectl(['describe', 'loadtest', name]);
        const events = last.slice(last.lastIndexOf('Events:'));
        return new RegExp(`^\\s+Warning\\s+${reason}\\s`, 'm').test(events) ? last : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, describe: () => last.slice(last.lastIndexOf('Events:')) },
    );
  }

  /** `kubectl get loadtests [extra]` as rows of column → value. */
  async printed(extra: string[] = []): Promise<Record<string, string>[]> {
    const stdout = await this.kubectl(['get', 'loadtests', ...extra]);
    const [header = '', ...lines] = stdout.trimEnd().split('\n');
    const starts = [...header.matchAll(/\S+/g)].map((match) => ({ name: match[0], at: match.index ?? 0 }));
    return lines.map((line) =>
      Object.fromEntries(
        starts.map((column, i) => [column.name, line.slice(column.at, starts[i + 1]?.at ?? line.length).trim()]),
      ),
    );
  }
}

/** `42.1ms` / `1.2s` / `850µs` → milliseconds. */
export function milliseconds(display: string | undefined): number {
  const match = /^([\d.]+)(µs|us|ms|s)$/.exec(display ?? '');
  assert.ok(match, `expected a duration like 42.1ms, got "${display}"`);
  const factor = match[2] === 's' ? 1000 : match[2] === 'ms' ? 1 : 0.001;
  return Number(match[1]) * factor;
}

/** A LoadTest manifest with small defaults: one target, a few requests at a low rate. */
export function loadTestManifest(
  name: string,
  targets: { name: string; url: string; model: string }[],
  spec: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'LoadTest',
    metadata: { name },
    spec: {
      targets,
      load: { profile: 'constant', rate: 3, durationSeconds: 6 },
      data: { promptTokens: { type: 'fixed', value: 16 }, outputTokens: { type: 'fixed', value: 8 } },
      startupDeadlineSeconds: 60,
      ...spec,
    },
  };
}
