/**
 * One pod's life on the executor's node, as the kubelet would drive it with restartPolicy Never: sandbox (pod IP,
 * directory, ServiceAccount token), init containers in order, then all containers as local processes, with
 * status reported through `pods/status` at every step; activeDeadlineSeconds, memory limits and graceful
 * deletion enforced.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ApiClient, ApiError } from '../api-client.ts';
import { type ClusterEndpoint, writePodCredentials } from './credentials.ts';
import { ContainerConfigError, resolveEnv } from './env.ts';
import { recordPodEvent } from './events.ts';
import { expandVars } from './expansion.ts';
import { containerArgv, findImage, type ImageMap } from './images.ts';
import type { IpPool } from './ip-pool.ts';
import type { MemoryWatch } from './memory-watch.ts';
import type { NodeResources } from './node.ts';
import { probeOnce } from './probes.ts';
import { type ContainerProcess, type Reaper, spawnContainer } from './process.ts';
import { parseQuantity } from './quantity.ts';
import {
  type ContainerRecord,
  containerStatus,
  logTail,
  podConditions,
  podPhase,
  withTransitionTimes,
} from './status.ts';
import type { Container, KeyedData, Pod, PodCondition, PodStatus } from './types.ts';

/** Env var naming the file a container may write its termination message to (stands in for /dev/termination-log). */
export const terminationMessagePathEnv = 'LOADLM_TERMINATION_MESSAGE_PATH';

const configRetryMs = 1_000;
const imageRetryMs = 5_000;
const maxTerminationMessageBytes = 4096;

export interface RunContext {
  client: ApiClient;
  nodeName: string;
  hostIP: string;
  images: ImageMap;
  hostImages: readonly string[];
  ipPool: IpPool;
  reaper: Reaper;
  memoryWatch: MemoryWatch;
  endpoint: ClusterEndpoint;
  resources: NodeResources;
  podDir: string;
  log(message: string): void;
}

interface Termination {
  graceSeconds: number;
  /** Pod-level reason/message for the final status (DeadlineExceeded, executor stop). */
  reason?: string;
  message?: string;
  /** Delete the pod object once every process has exited (graceful deletion). */
  deleteAfter: boolean;
}

export class PodRun {
  readonly done: Promise<void>;
  private pod: Pod;
  private readonly namespace: string;
  private readonly name: string;
  private readonly init: ContainerRecord[];
  private readonly main: ContainerRecord[];
  private readonly processes = new Map<string, ContainerProcess>();
  private readonly abort = new AbortController();
  private podIP = '';
  private startTime = '';
  private podReason: string | undefined;
  private podMessage: string | undefined;
  private conditions: PodCondition[] | undefined;
  private termination: Termination | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private gone = false;
  private final = false;
  private dirty = false;
  private writing: Promise<void> | undefined;

  private readonly context: RunContext;

  constructor(pod: Pod, context: RunContext) {
    this.context = context;
    this.pod = pod;
    this.namespace = pod.metadata.namespace ?? 'default';
    this.name = pod.metadata.name;
    const hasInit = (pod.spec.initContainers ?? []).length > 0;
    this.init = (pod.spec.initContainers ?? []).map((c) => record(c, 'PodInitializing'));
    this.main = pod.spec.containers.map((c) => record(c, hasInit ? 'PodInitializing' : 'ContainerCreating'));
    this.done = this.run().catch((error: unknown) => {
      context.log(`pod ${this.key}: ${(error as Error).stack ?? error}`);
    });
  }

  get uid(): string {
    return this.pod.metadata.uid ?? '';
  }

  get key(): string {
    return `${this.namespace}/${this.name}`;
  }

  /** The state the executor reports for a container, or undefined for a name the pod does not have. */
  containerState(name: string): ContainerRecord['state'] | undefined {
    return [...this.init, ...this.main].find((rec) => rec.name === name)?.state;
  }

  /** A newer version of the pod object: reacts to graceful deletion. */
  observe(pod: Pod): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp && !this.termination?.deleteAfter) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      this.terminate({ graceSeconds: grace, deleteAfter: true });
    }
  }

  /** The pod object is gone (force-deleted): kill at once, report nothing more. */
  vanish(): void {
    this.gone = true;
    this.terminate({ graceSeconds: 0, deleteAfter: false });
  }

  /** The executor stops: kill quickly and report the pod as terminated by the node. */
  stop(): Promise<void> {
    this.terminate({
      graceSeconds: 2,
      reason: 'Terminated',
      message: 'Pod was terminated because the loadlm pod executor stopped.',
      deleteAfter: false,
    });
    return this.done;
  }

  /** Starts (or tightens) termination: SIGTERM to every container, SIGKILL after the grace period. */
  private terminate(next: Termination): void {
    const current = this.termination;
    this.termination = {
      graceSeconds: Math.min(current?.graceSeconds ?? next.graceSeconds, next.graceSeconds),
      reason: current?.reason ?? next.reason,
      message: current?.message ?? next.message,
      deleteAfter: Boolean(current?.deleteAfter || next.deleteAfter),
    };
    if (current && this.termination.graceSeconds >= current.graceSeconds) return;
    this.abort.abort();
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.killTimer);
    const grace = this.termination.graceSeconds;
    for (const process of this.processes.values()) process.signal(grace > 0 ? 'SIGTERM' : 'SIGKILL');
    if (grace > 0) {
      this.killTimer = setTimeout(() => {
        for (const process of this.processes.values()) process.signal('SIGKILL');
      }, grace * 1000);
    }
  }

  private async run(): Promise<void> {
    // hostNetwork pods share the node's address, as on a real node.
    const hostNetwork = this.pod.spec.hostNetwork === true;
    this.podIP = hostNetwork ? this.context.hostIP : this.context.ipPool.allocate();
    try {
      await this.runSandbox();
    } finally {
      clearTimeout(this.deadlineTimer);
      clearTimeout(this.killTimer);
      if (!hostNetwork) this.context.ipPool.release(this.podIP);
    }
  }

  private async runSandbox(): Promise<void> {
    this.startTime = rfc3339(new Date());
    mkdirSync(join(this.context.podDir, 'tmp'), { recursive: true, mode: 0o700 });
    this.armDeadline();
    this.writeStatus();
    if (this.pod.spec.restartPolicy && this.pod.spec.restartPolicy !== 'Never') {
      this.event(
        'Warning',
        'RestartPolicyUnsupported',
        `restartPolicy ${this.pod.spec.restartPolicy} is run as Never: the loadlm pod executor does not restart containers`,
      );
    }

    const kubeconfigPath = await this.credentials();
    if (kubeconfigPath !== null) {
      let initialized = true;
      for (const [index, container] of (this.pod.spec.initContainers ?? []).entries()) {
        const rec = this.init[index];
        if (!rec || !(await this.runContainer(rec, container, kubeconfigPath, false))) {
          initialized = false;
          break;
        }
      }
      if (initialized && !this.termination) {
        for (const rec of this.main) rec.state = { waiting: { reason: 'ContainerCreating' } };
        this.writeStatus();
        await Promise.all(
          this.pod.spec.containers.map((container, index) => {
            const rec = this.main[index];
            return rec ? this.runContainer(rec, container, kubeconfigPath, true) : Promise.resolve(true);
          }),
        );
      }
    }
    await this.finish();
  }

  /** The pod's kubeconfig path, '' without automounted credentials, or null when terminated before it was ready. */
  private async credentials(): Promise<string | null> {
    if (this.pod.spec.automountServiceAccountToken === false) return '';
    let delayMs = 200;
    while (!this.termination) {
      try {
        return (await writePodCredentials(this.context.client, this.pod, this.context.endpoint, this.context.podDir))
          .kubeconfigPath;
      } catch (error) {
        this.context.log(`pod ${this.key}: token request failed: ${(error as Error).message}`);
        this.event('Warning', 'FailedMount', `could not get a ServiceAccount token: ${(error as Error).message}`);
        await this.pause(delayMs);
        delayMs = Math.min(delayMs * 2, 5_000);
      }
    }
    return null;
  }

  /** Runs one container to its end; true when it exited 0. */
  private async runContainer(
    rec: ContainerRecord,
    container: Container,
    kubeconfigPath: string,
    isMain: boolean,
  ): Promise<boolean> {
    const prepared = await this.prepare(rec, container, kubeconfigPath);
    if (!prepared) return false;
    const logPath = this.logPath(container.name);
    const startedAt = rfc3339(new Date());
    const process = spawnContainer({ ...prepared, logPath, reaper: this.context.reaper });
    const containerID = `loadlm://${this.pod.metadata.uid}/${container.name}/${process.pid}`;
    this.processes.set(container.name, process);
    if (this.termination) process.signal('SIGKILL');
    let oomKilled = false;
    const limit = container.resources?.limits?.memory;
    if (limit !== undefined && process.pid > 0) {
      this.context.memoryWatch.add(process.pid, parseQuantity(limit), () => {
        oomKilled = true;
        process.signal('SIGKILL');
      });
    }
    if (process.pid > 0) {
      rec.state = { running: { startedAt } };
      rec.containerID = containerID;
      rec.ready = isMain && !container.readinessProbe;
      this.writeStatus();
      this.event('Normal', 'Started', `Started container ${container.name}`);
    }
    let exited = false;
    const probing =
      isMain && container.readinessProbe && process.pid > 0
        ? this.readinessLoop(rec, container, prepared, () => exited)
        : Promise.resolve();
    const exit = await process.exited;
    exited = true;
    this.processes.delete(container.name);
    if (process.pid > 0) this.context.memoryWatch.remove(process.pid);
    await probing;
    const reason = exit.startError
      ? 'StartError'
      : oomKilled
        ? 'OOMKilled'
        : exit.exitCode === 0
          ? 'Completed'
          : 'Error';
    const message = exit.startError ?? this.terminationMessage(container, exit.exitCode);
    rec.ready = false;
    rec.state = {
      terminated: {
        exitCode: exit.exitCode,
        reason,
        ...(message ? { message } : {}),
        startedAt,
        finishedAt: rfc3339(new Date()),
        ...(process.pid > 0 ? { containerID } : {}),
      },
    };
    if (oomKilled) this.event('Warning', 'OOMKilling', `Memory limit ${limit} exceeded by container ${container.name}`);
    this.writeStatus();
    return exit.exitCode === 0;
  }

  /** Image and environment, retried while they fail as the kubelet retries them; null when terminated first. */
  private async prepare(
    rec: ContainerRecord,
    container: Container,
    kubeconfigPath: string,
  ): Promise<{ argv: string[]; cwd: string; env: Record<string, string> } | null> {
    let pullFailures = 0;
    while (!this.termination) {
      const image = findImage(container.image, this.context.images, this.context.hostImages);
      if (!image) {
        pullFailures += 1;
        rec.state =
          pullFailures === 1
            ? {
                waiting: {
                  reason: 'ErrImagePull',
                  message: `failed to pull and unpack image "${container.image}": the loadlm pod executor has no mapping for this image`,
                },
              }
            : { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${container.image}"` } };
        this.writeStatus();
        if (pullFailures === 1) this.event('Warning', 'Failed', `Failed to pull image "${container.image}"`);
        await this.pause(imageRetryMs);
        continue;
      }
      try {
        const podEnv = await resolveEnv(this.pod, container, this.envSources(), {
          podIP: this.podIP,
          hostIP: this.context.hostIP,
          allocatable: this.context.resources,
        });
        const env: Record<string, string> = {
          PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
          HOME: this.context.podDir,
          TMPDIR: join(this.context.podDir, 'tmp'),
          HOSTNAME: this.name,
          ...(kubeconfigPath ? { KUBECONFIG: kubeconfigPath } : {}),
          [terminationMessagePathEnv]: this.terminationMessageFile(container.name),
          ...image.env,
          ...Object.fromEntries(podEnv),
        };
        const argv = containerArgv(image, container, (text) => expandVars(text, (name) => podEnv.get(name)));
        return { argv, cwd: image.cwd ?? this.context.podDir, env };
      } catch (error) {
        if (!(error instanceof ContainerConfigError) && !(error instanceof ApiError)) throw error;
        const message = error instanceof ContainerConfigError ? error.message : `API error: ${error.message}`;
        const changed = rec.state.waiting?.message !== message;
        rec.state = { waiting: { reason: 'CreateContainerConfigError', message } };
        if (changed) {
          this.writeStatus();
          this.event('Warning', 'Failed', `Error: ${message}`);
        }
        await this.pause(configRetryMs);
      }
    }
    return null;
  }

  private envSources() {
    const get = async (resource: 'secrets' | 'configmaps', name: string): Promise<KeyedData | undefined> => {
      try {
        return await this.context.client.request<KeyedData>(
          'GET',
          `/api/v1/namespaces/${this.namespace}/${resource}/${name}`,
        );
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return undefined;
        throw error;
      }
    };
    return { secret: (name: string) => get('secrets', name), configMap: (name: string) => get('configmaps', name) };
  }

  private async readinessLoop(
    rec: ContainerRecord,
    container: Container,
    prepared: { cwd: string; env: Record<string, string> },
    hasExited: () => boolean,
  ): Promise<void> {
    const probe = container.readinessProbe;
    if (!probe) return;
    const successThreshold = probe.successThreshold ?? 1;
    const failureThreshold = probe.failureThreshold ?? 3;
    let successes = 0;
    let failures = 0;
    await this.pause((probe.initialDelaySeconds ?? 0) * 1000, hasExited);
    while (!hasExited() && !this.termination) {
      const ok = await probeOnce(probe, { podIP: this.podIP, container, ...prepared }).catch(() => false);
      if (hasExited() || this.termination) break;
      successes = ok ? successes + 1 : 0;
      failures = ok ? 0 : failures + 1;
      const ready = rec.ready ? failures < failureThreshold : successes >= successThreshold;
      if (ready !== rec.ready) {
        rec.ready = ready;
        this.writeStatus();
      }
      await this.pause((probe.periodSeconds ?? 10) * 1000, hasExited);
    }
  }

  /** Waits until every process is gone, writes the final status, and deletes the pod if it is being deleted. */
  private async finish(): Promise<void> {
    if (this.termination) {
      // Containers that never started in a pod that is going away, as the kubelet reports them.
      for (const rec of [...this.init, ...this.main]) {
        if (rec.state.waiting) {
          rec.state = {
            terminated: {
              exitCode: 137,
              reason: 'ContainerStatusUnknown',
              message: 'The container could not be located when the pod was terminated',
            },
          };
        }
      }
      this.podReason = this.termination.reason;
      this.podMessage = this.termination.message;
    }
    this.final = true;
    this.writeStatus();
    await this.flush();
    if (this.termination?.deleteAfter && !this.gone) {
      await this.context.client
        .request('DELETE', `/api/v1/namespaces/${this.namespace}/pods/${this.name}`, {
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            gracePeriodSeconds: 0,
            preconditions: { uid: this.pod.metadata.uid },
          },
        })
        .catch((error: unknown) => {
          if (!(error instanceof ApiError && (error.status === 404 || error.status === 409))) {
            this.context.log(`pod ${this.key}: final delete failed: ${(error as Error).message}`);
          }
        });
    }
  }

  private armDeadline(): void {
    const seconds = this.pod.spec.activeDeadlineSeconds;
    if (seconds === undefined) return;
    this.deadlineTimer = setTimeout(() => {
      this.event('Normal', 'DeadlineExceeded', 'Pod was active on the node longer than the specified deadline');
      this.terminate({
        graceSeconds: this.pod.spec.terminationGracePeriodSeconds ?? 30,
        reason: 'DeadlineExceeded',
        message: 'Pod was active on the node longer than the specified deadline',
        deleteAfter: false,
      });
    }, seconds * 1000);
  }

  private terminationMessage(container: Container, exitCode: number): string {
    let message = '';
    try {
      const bytes = readFileSync(this.terminationMessageFile(container.name));
      message = bytes.subarray(0, maxTerminationMessageBytes).toString('utf8');
    } catch {
      // Not written.
    }
    if (!message && exitCode !== 0 && container.terminationMessagePolicy === 'FallbackToLogsOnError') {
      try {
        message = logTail(readFileSync(this.logPath(container.name), 'utf8'));
      } catch {
        // No log.
      }
    }
    return message;
  }

  private terminationMessageFile(containerName: string): string {
    return join(this.context.podDir, `${containerName}.termination-log`);
  }

  private logPath(containerName: string): string {
    return join(this.context.podDir, `${containerName}.log`);
  }

  // --- status ---------------------------------------------------------------------------------------------------

  private writeStatus(): void {
    if (this.gone) return;
    this.dirty = true;
    this.writing ??= this.flushLoop().finally(() => {
      this.writing = undefined;
    });
  }

  private async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async flushLoop(): Promise<void> {
    let delayMs = 100;
    while (this.dirty && !this.gone) {
      this.dirty = false;
      try {
        await this.context.client.request('PATCH', `/api/v1/namespaces/${this.namespace}/pods/${this.name}/status`, {
          contentType: 'application/strategic-merge-patch+json',
          body: { metadata: { uid: this.pod.metadata.uid }, status: this.status() },
        });
        delayMs = 100;
      } catch (error) {
        if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
          // The pod is gone, or another pod with the same name replaced it.
          this.gone = true;
          return;
        }
        if (error instanceof ApiError && error.status === 422) {
          this.context.log(`pod ${this.key}: status rejected: ${error.message}`);
          return;
        }
        this.context.log(`pod ${this.key}: status update failed, retrying: ${(error as Error).message}`);
        this.dirty = true;
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, 2_000);
      }
    }
  }

  private status(): PodStatus {
    const phase = this.final && this.podReason ? 'Failed' : podPhase(this.init, this.main);
    const now = rfc3339(new Date());
    this.conditions = withTransitionTimes(podConditions(this.init, this.main, phase, true), this.conditions, now);
    return {
      phase,
      ...(this.podReason ? { reason: this.podReason } : {}),
      ...(this.podMessage ? { message: this.podMessage } : {}),
      hostIP: this.context.hostIP,
      hostIPs: [{ ip: this.context.hostIP }],
      podIP: this.podIP,
      podIPs: [{ ip: this.podIP }],
      startTime: this.startTime,
      conditions: this.conditions,
      ...(this.init.length > 0 ? { initContainerStatuses: this.init.map(containerStatus) } : {}),
      containerStatuses: this.main.map(containerStatus),
    };
  }

  // --- helpers --------------------------------------------------------------------------------------------------

  /** Waits ms, cut short by termination (or by `until`, checked every 100 ms). */
  private async pause(ms: number, until?: () => boolean): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end && !this.abort.signal.aborted && !until?.()) {
      const step = until ? Math.min(100, end - Date.now()) : end - Date.now();
      await sleep(Math.max(step, 0), undefined, { signal: this.abort.signal }).catch(() => {});
    }
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    void recordPodEvent(this.context.client, this.pod, this.context.nodeName, type, reason, message);
  }
}

function record(container: Container, waitingReason: string): ContainerRecord {
  return {
    name: container.name,
    image: container.image ?? '',
    state: { waiting: { reason: waitingReason } },
    ready: false,
  };
}

export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Reads a container log file; empty when there is none. */
export async function readLog(path: string): Promise<string> {
  try {
    const handle = await open(path, 'r');
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}
