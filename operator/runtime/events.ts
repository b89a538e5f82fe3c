/**
 * An event recorder writing events.k8s.io/v1 Events (shown by `kubectl describe` and `kubectl events`) with
 * reportingController `loadlm.dev/operator`. Repeats of the same event (same object, type, reason, action and
 * note) within a window do not create new objects: they bump the first one's `series.count`, written at most
 * once per flush interval, so a reconcile loop cannot spam the apiserver. Recording never throws and never
 * blocks a reconcile; failures are logged. Notes are not redacted: never put secrets in them.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError } from './api-error.ts';
import { type Clock, realClock, type TimerHandle } from './clock.ts';
import type { KubeClient } from './kube-client.ts';
import { microTime } from './leader-election.ts';
import { type KubeObject, resources } from './resources.ts';

export const defaultReportingController = 'loadlm.dev/operator';

export type EventType = 'Normal' | 'Warning';

export interface EventOptions {
  /** What was done or failed, e.g. `CreateJob`; default the reason. */
  action?: string;
  /** A second object the event is about (e.g. the Pod of a failed runner). */
  related?: Readonly<KubeObject>;
}

export interface EventRecorderOptions {
  client: KubeClient;
  reportingController?: string;
  /** This replica, e.g. the leader election identity; at most 128 characters. */
  reportingInstance: string;
  /** Repeats within this window extend the existing Event's series; default 10 min. */
  seriesWindowMs?: number;
  /** A repeated event's series is written at most this often; default 30 s. */
  seriesFlushMs?: number;
  /** How many distinct events are remembered for aggregation; default 4096. */
  maxTracked?: number;
  clock?: Clock;
  logger?: Logger;
}

interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

interface EventV1 extends KubeObject {
  eventTime: string;
  series?: { count: number; lastObservedTime: string };
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  regarding: ObjectReference;
  related?: ObjectReference;
  note: string;
  type: EventType;
}

interface Tracked {
  namespace: string;
  name: string;
  count: number;
  writtenCount: number;
  lastObservedAt: number;
  /** The create (and later series patches) in order. */
  writing: Promise<boolean>;
  flushTimer: TimerHandle | undefined;
}

const maxNoteBytes = 1024;

export class EventRecorder {
  readonly reportingController: string;
  readonly reportingInstance: string;
  private readonly client: KubeClient;
  private readonly seriesWindowMs: number;
  private readonly seriesFlushMs: number;
  private readonly maxTracked: number;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly tracked = new Map<string, Tracked>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(options: EventRecorderOptions) {
    this.client = options.client;
    this.reportingController = options.reportingController ?? defaultReportingController;
    this.reportingInstance = options.reportingInstance.slice(0, 128);
    this.seriesWindowMs = options.seriesWindowMs ?? 10 * 60_000;
    this.seriesFlushMs = options.seriesFlushMs ?? 30_000;
    this.maxTracked = options.maxTracked ?? 4096;
    this.clock = options.clock ?? realClock;
    this.logger = options.logger;
  }

  /** Records an event about `regarding`. Fire-and-forget; `flush()` waits for the writes. */
  event(
    regarding: Readonly<KubeObject>,
    type: EventType,
    reason: string,
    note: string,
    options: EventOptions = {},
  ): void {
    const action = options.action ?? reason;
    const key = [regarding.metadata?.uid ?? regarding.metadata?.name, type, reason, action, note].join('\u0000');
    const now = this.clock.now();
    const existing = this.tracked.get(key);
    if (existing && now - existing.lastObservedAt < this.seriesWindowMs) {
      existing.count++;
      existing.lastObservedAt = now;
      // Refresh its place in the LRU order.
      this.tracked.delete(key);
      this.tracked.set(key, existing);
      if (existing.flushTimer === undefined) {
        existing.flushTimer = this.clock.setTimeout(() => {
          existing.flushTimer = undefined;
          this.writeSeries(existing);
        }, this.seriesFlushMs);
      }
      return;
    }
    if (existing) this.forget(key, existing);
    const namespace = regarding.metadata?.namespace || 'default';
    const name = `${regarding.metadata?.name ?? 'object'}.${now.toString(16)}${randomBytes(2).toString('hex')}`;
    const body: EventV1 = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace },
      eventTime: microTime(now),
      reportingController: this.reportingController,
      reportingInstance: this.reportingInstance,
      action: action.slice(0, 128),
      reason: reason.slice(0, 128),
      type,
      note: truncateUtf8(note, maxNoteBytes),
      regarding: referenceTo(regarding),
      ...(options.related ? { related: referenceTo(options.related) } : {}),
    };
    const entry: Tracked = {
      namespace,
      name,
      count: 1,
      writtenCount: 1,
      lastObservedAt: now,
      writing: Promise.resolve(false),
      flushTimer: undefined,
    };
    entry.writing = this.track(
      this.client.create(resources.events, body).then(
        () => true,
        (error: unknown) => {
          this.logFailure(error, 'creating event', reason);
          return false;
        },
      ),
    );
    this.tracked.set(key, entry);
    while (this.tracked.size > this.maxTracked) {
      const [oldestKey, oldest] = this.tracked.entries().next().value as [string, Tracked];
      this.forget(oldestKey, oldest);
    }
  }

  /** Writes pending series updates now and waits for every write in flight. */
  async flush(): Promise<void> {
    for (const entry of this.tracked.values()) {
      if (entry.flushTimer !== undefined) {
        this.clock.clearTimeout(entry.flushTimer);
        entry.flushTimer = undefined;
        this.writeSeries(entry);
      }
    }
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private writeSeries(entry: Tracked): void {
    if (entry.count === entry.writtenCount) return;
    const count = entry.count;
    const patch = { series: { count, lastObservedTime: microTime(entry.lastObservedAt) } };
    entry.writing = this.track(
      entry.writing.then(async (created) => {
        if (!created) return false;
        try {
          await this.client.patch(resources.events, entry.namespace, entry.name, patch, 'merge');
          entry.writtenCount = count;
          return true;
        } catch (error) {
          this.logFailure(error, 'updating event series', entry.name);
          return false;
        }
      }),
    );
  }

  private forget(key: string, entry: Tracked): void {
    if (entry.flushTimer !== undefined) {
      this.clock.clearTimeout(entry.flushTimer);
      entry.flushTimer = undefined;
      this.writeSeries(entry);
    }
    this.tracked.delete(key);
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
    return promise;
  }

  private logFailure(error: unknown, what: string, subject: string): void {
    const message = error instanceof ApiError ? error.message : String(error);
    this.logger?.warn({ err: message, subject }, `${what} failed`);
  }
}

function referenceTo(object: Readonly<KubeObject>): ObjectReference {
  const metadata = object.metadata ?? {};
  return {
    ...(object.apiVersion ? { apiVersion: object.apiVersion } : {}),
    ...(object.kind ? { kind: object.kind } : {}),
    ...(metadata.name ? { name: metadata.name } : {}),
    ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
    ...(metadata.uid ? { uid: metadata.uid } : {}),
    ...(metadata.resourceVersion ? { resourceVersion: metadata.resourceVersion } : {}),
  };
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let end = Math.min(text.length, maxBytes);
  while (end > 0 && Buffer.byteLength(`${text.slice(0, end)}…`) > maxBytes) end--;
  return `${text.slice(0, end)}…`;
}
