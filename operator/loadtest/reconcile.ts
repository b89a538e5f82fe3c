/**
 * The LoadTest reconcile: level-based and idempotent. Every pass reads the LoadTest and its children from the
 * caches, computes the whole status from them, applies what is missing and writes status only when it changed.
 *
 * Stages (the phase is always derived from the conditions):
 * - references: while the Job does not exist, the Secrets/ConfigMaps the spec names must exist. A missing one
 *   sets Accepted=False (reason SecretNotFound, ...) and is checked again after 5 s, then less often (a plain
 *   requeue, no error backoff, so no crash loop); after spec.startupDeadlineSeconds it becomes Failed=True;
 * - objects: runner config, RBAC, Service, result placeholders, then the Job (deterministic name + server-side
 *   apply: a second reconcile, another replica or a restarted operator applies the same Job, never a new one);
 * - start barrier (status/start.ts): once every runner reported Ready, the start signal gets a common start
 *   time; a failure or the startup deadline aborts the start instead;
 * - results: merged into status.summary/progress (progress at most every progressIntervalMs); the run ends
 *   when every runner's result is final or the Job finished; failures (status/failure.ts) and then the
 *   thresholds decide;
 * - finished: only cleanup (cleanup.ts); the LoadTest, its status and the report stay.
 * Changes of the LoadTest and its children arrive as events; a pass requeues itself only for the moments when
 * time alone changes the outcome (requeue.ts), so a thousand waiting LoadTests cost no work while idle.
 */
import { type LoadTest, type LoadTestStatus, phaseFromConditions } from '../../api/loadtest.ts';
import { parseStartSignal } from '../../runner/handoff/protocol.ts';
import { isNotFound } from '../runtime/api-error.ts';
import type { Applier } from '../runtime/apply.ts';
import { type Condition, findCondition, rfc3339 } from '../runtime/conditions.ts';
import type { ReconcileContext, ReconcileResult } from '../runtime/controller.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { KubeClient } from '../runtime/kube-client.ts';
import { type KubeObject, type ResourceType, resources } from '../runtime/resources.ts';
import { cleanupRunnerObjects } from './cleanup.ts';
import {
  checkReferences,
  defaultTimings,
  type FoundObjects,
  namedServicePorts,
  RenderError,
  type RunnerTimings,
  renderResultPlaceholders,
  renderRunnerConfig,
  renderRunnerJob,
  renderRunnerRbac,
  renderRunnerService,
  renderStartSignal,
  requiredReferences,
} from './desired/index.ts';
import { effectiveSeed, expectedRunners } from './desired/plan.ts';
import { jobCondition, type LoadTestCaches, observe } from './observe.ts';
import { nextFailureCheckAt, progressDueAt, referencePollDelayMs, requeueDelayMs } from './requeue.ts';
import {
  buildReport,
  type ConditionObservations,
  conditionChanges,
  decideStart,
  detectRunnerFailure,
  isFinished,
  type MergedResults,
  mergeRunnerResults,
  nextConditions,
  progress,
  renderReportConfigMap,
  resultProblemsFailure,
  resultStatus,
  runnerCounts,
} from './status/index.ts';

export interface LoadTestReconcilerOptions {
  caches: LoadTestCaches;
  client: KubeClient;
  applier: Applier;
  events: EventRecorder;
  runnerImage: string;
  runnerLogLevel?: string;
  timings?: Partial<RunnerTimings>;
  /** status.progress refresh period while running; default 10 s. */
  progressIntervalMs?: number;
  now?: () => number;
}

/** After the Job finished, how long final results may take to reach the cache before they count as missing. */
const finalResultGraceMs = 30_000;

export function loadTestReconciler(options: LoadTestReconcilerOptions) {
  const now = options.now ?? Date.now;
  const progressIntervalMs = options.progressIntervalMs ?? 10_000;
  const timings: RunnerTimings = { ...defaultTimings, ...options.timings };

  return async function reconcile(context: ReconcileContext): Promise<ReconcileResult> {
    const { namespace, name, log, signal } = context;
    const cached = options.caches.loadTests.get(namespace, name);
    if (!cached || cached.metadata.deletionTimestamp) return undefined; // children go with it (ownerReferences)
    const lt = structuredClone(cached) as LoadTest;
    const status: LoadTestStatus = structuredClone(lt.status ?? {});
    const before = status.conditions ?? [];
    const observed = observe(options.caches, lt);
    if (isFinished(before)) return cleanupRunnerObjects({ ...options, now, log, signal }, lt, observed);

    const expected = expectedRunners(lt);
    const generation = lt.metadata.generation;
    const conditionsWith = (observations: Omit<ConditionObservations, 'generation'>) =>
      nextConditions(before, generation !== undefined ? { ...observations, generation } : observations, now());
    const done = (conditions: Condition[], requeueAfterMs: number | undefined) =>
      finish(options, cached, status, before, conditions, requeueAfterMs, log, signal);
    status.seed = effectiveSeed(lt);
    status.runners = { ...status.runners, desired: expected.count };

    // --- references and objects, until the Job exists
    if (!observed.job) {
      const problem = checkReferences(lt, await findReferences(options.client, lt));
      if (problem) {
        const accepted = { ok: false as const, ...problem };
        const deadline = startupDeadlineAt(lt, now());
        if (now() < deadline) {
          const created = Date.parse(lt.metadata.creationTimestamp ?? '');
          return done(conditionsWith({ accepted }), referencePollDelayMs(created, now(), deadline));
        }
        status.completionTime = rfc3339(now());
        return done(conditionsWith({ accepted, failure: problem }), undefined);
      }
      try {
        const startedAt = now();
        await applyRunnerObjects(options, lt, timings, signal);
        log.info({ tookMs: now() - startedAt }, 'runner objects applied');
      } catch (error) {
        if (!(error instanceof RenderError)) throw error;
        const failure = { reason: 'InvalidSpec', message: error.message };
        status.completionTime = rfc3339(now());
        return done(conditionsWith({ accepted: { ok: false, ...failure }, failure }), undefined);
      }
    }
    const accepted = { ok: true as const, message: `runner Job created with ${expected.count} runner(s)` };

    // --- start barrier, failures, results
    const job = observed.job;
    const jobFinished =
      jobCondition(job, 'Complete') ??
      jobCondition(job, 'SuccessCriteriaMet') ??
      jobCondition(job, 'Failed') ??
      jobCondition(job, 'FailureTarget');
    let merged = mergeRunnerResults(observed.results, expected);
    status.runners = runnerCounts(lt, observed.pods, merged);
    const startupBeganAt = job?.metadata.creationTimestamp ?? lt.metadata.creationTimestamp;
    const startSignal = observed.startSignal ? parseStartSignal(observed.startSignal) : undefined;
    const observations = {
      pods: observed.pods,
      ...(job ? { job } : {}),
      results: merged,
      ...(startSignal ? { startSignal } : {}),
      ...(startupBeganAt ? { startupBeganAt } : {}),
    };
    const start = decideStart(observations, now(), lt, { startLeadSeconds: timings.startLeadSeconds });
    let failure: { reason: string; message: string } | undefined;
    // Moments at which time alone changes the outcome (requeue.ts); object changes come as events.
    const wakeAt: number[] = [];
    if (start.action === 'start') {
      if (startSignal?.kind !== 'start') {
        const desired = renderStartSignal(lt, { kind: 'start', startAtMs: start.startAtMs });
        await options.applier.apply(resources.configMaps, desired, { signal });
      }
      status.startTime = rfc3339(start.startAtMs);
      failure = detectRunnerFailure({ ...observations, started: true }, now(), lt);
      wakeAt.push(nextFailureCheckAt({ ...observations, started: true }, now(), lt));
    } else if (start.action === 'fail') {
      failure = start;
      if (!startSignal) {
        // Runners waiting at the barrier exit at once instead of at their own start timeout.
        const desired = renderStartSignal(lt, { kind: 'abort', reason: start.reason, message: start.message });
        await options.applier.apply(resources.configMaps, desired, { signal });
      }
    } else {
      wakeAt.push(nextFailureCheckAt({ ...observations, started: false }, now(), lt));
    }

    let completed: ConditionObservations['completed'];
    if (!failure && (merged.allFinal || jobFinished)) {
      const jobDoneAt = Date.parse(job?.status?.completionTime ?? '') || now();
      if (!merged.allFinal && now() - jobDoneAt < finalResultGraceMs) {
        // The Job is done but a final result has not reached the cache yet: its update wakes us, or the grace ends.
        wakeAt.push(jobDoneAt + finalResultGraceMs);
      } else {
        merged = mergeRunnerResults(observed.results, expected, { requireFinal: true });
        failure = resultProblemsFailure(merged.problems);
        if (!failure) {
          const results = resultStatus(lt, merged);
          completed = { thresholds: results.thresholds, runners: expected.count };
        }
      }
    }
    const over = Boolean(failure || completed);
    if (merged.runners.length > 0) {
      const results = resultStatus(lt, merged);
      status.summary = results.summary;
      if (results.targets) status.targets = results.targets;
      if (over && results.thresholds.length > 0) status.thresholds = results.thresholds;
      const last = Date.parse(status.progress?.updateTime ?? '');
      if (over || !status.progress || !(now() - last < progressIntervalMs)) {
        const startAt = status.startTime;
        status.progress = progress({ results: merged, ...(startAt ? { startAt } : {}), finished: over }, now(), lt);
      }
    }
    if (start.action === 'start') wakeAt.push(progressDueAt(status.progress?.updateTime, progressIntervalMs, now()));
    const conditions = conditionsWith({
      accepted,
      start,
      ...(failure ? { failure } : {}),
      ...(completed ? { completed } : {}),
    });
    if (failure && job && (job.status?.active ?? 0) > 0) {
      // Stop the load at once; the suspended Job stays for debugging until the cleanup policy removes it.
      await options.client.patch(resources.jobs, namespace, job.metadata.name, { spec: { suspend: true } }, 'merge', {
        fieldManager: options.applier.fieldManager,
        signal,
      });
      log.info({ job: job.metadata.name, reason: failure.reason }, 'runner Job suspended after a failure');
    }
    if (over) {
      status.completionTime = rfc3339(now());
      const outcome = failure ?? {
        reason: 'Completed',
        message: findCondition(conditions, 'Succeeded')?.message ?? '',
      };
      status.reportRef = await writeReport(options, lt, merged, status, outcome, signal);
    }
    return done(conditions, over ? undefined : requeueDelayMs(wakeAt, now()));
  };
}

/** The merged report into `<lt>-report` (kept after cleanup); returns status.reportRef. */
async function writeReport(
  options: LoadTestReconcilerOptions,
  lt: LoadTest,
  merged: MergedResults,
  status: LoadTestStatus,
  outcome: { reason: string; message: string },
  signal: AbortSignal,
): Promise<LoadTestStatus['reportRef']> {
  const report = buildReport(lt, {
    results: merged,
    thresholds: status.thresholds ?? [],
    outcome,
    ...(status.startTime ? { startedAt: status.startTime } : {}),
    ...(status.completionTime ? { completedAt: status.completionTime } : {}),
  });
  const rendered = renderReportConfigMap(lt, report);
  await options.applier.apply(resources.configMaps, rendered.configMap, { signal });
  return rendered.reportRef;
}

/** When the startup deadline ends: spec.startupDeadlineSeconds after creation. */
function startupDeadlineAt(lt: LoadTest, fallback: number): number {
  const created = Date.parse(lt.metadata.creationTimestamp ?? '') || fallback;
  return created + lt.spec.startupDeadlineSeconds * 1000;
}

/** Which referenced Secrets/ConfigMaps exist and their key names (values are dropped at once). */
async function findReferences(client: KubeClient, lt: LoadTest): Promise<FoundObjects> {
  const namespace = lt.metadata.namespace ?? '';
  const secrets = new Map<string, string[]>();
  const configMaps = new Map<string, string[]>();
  for (const ref of requiredReferences(lt)) {
    const into = ref.kind === 'Secret' ? secrets : configMaps;
    if (into.has(ref.name)) continue;
    const resource = ref.kind === 'Secret' ? resources.secrets : resources.configMaps;
    const object = await client.getIfExists<KubeObject & { data?: object; binaryData?: object }>(
      resource,
      namespace,
      ref.name,
    );
    if (object) into.set(ref.name, [...Object.keys(object.data ?? {}), ...Object.keys(object.binaryData ?? {})]);
  }
  return { secrets, configMaps };
}

async function servicePorts(client: KubeClient, lt: LoadTest): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const named of namedServicePorts(lt)) {
    try {
      const service = await client.get<KubeObject & { spec?: { ports?: { name?: string; port: number }[] } }>(
        resources.services,
        named.namespace,
        named.service,
      );
      const port = service.spec?.ports?.find((candidate) => candidate.name === named.port)?.port;
      if (port !== undefined) out[named.key] = port;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return out;
}

async function applyRunnerObjects(
  options: LoadTestReconcilerOptions,
  lt: LoadTest,
  timings: RunnerTimings,
  signal: AbortSignal,
): Promise<void> {
  const { applier, caches } = options;
  const namespace = lt.metadata.namespace ?? '';
  const apply = async <T extends KubeObject>(
    resource: ResourceType,
    desired: T,
    cache: { get(ns: string, n: string): unknown; transform?: ((object: never) => unknown) | undefined },
  ) =>
    applier.applyIfChanged(
      resource,
      desired,
      cache.get(namespace, desired.metadata?.name ?? '') as Readonly<T> | undefined,
      { signal, cachedAs: cache.transform as ((object: KubeObject) => KubeObject) | undefined },
    );
  const config = renderRunnerConfig(lt, { servicePorts: await servicePorts(options.client, lt) });
  await apply(resources.configMaps, config.configMap, caches.configMaps);
  const rbac = renderRunnerRbac(lt);
  if (rbac.serviceAccount) await apply(resources.serviceAccounts, rbac.serviceAccount, caches.serviceAccounts);
  await apply(resources.roles, rbac.role, caches.roles);
  await apply(resources.roleBindings, rbac.roleBinding, caches.roleBindings);
  await apply(resources.services, renderRunnerService(lt), caches.services);
  for (const placeholder of renderResultPlaceholders(lt)) {
    // The runner owns `data`: only create missing placeholders, never touch a written result.
    if (!caches.configMaps.get(namespace, placeholder.metadata.name)) {
      await applier.apply(resources.configMaps, placeholder, { signal });
    }
  }
  await apply(
    resources.jobs,
    renderRunnerJob(lt, {
      image: options.runnerImage,
      timings,
      ...(options.runnerLogLevel ? { logLevel: options.runnerLogLevel } : {}),
    }),
    caches.jobs,
  );
}

/** Phase from conditions, a status write when something changed, one Event per condition transition. */
async function finish(
  options: LoadTestReconcilerOptions,
  cached: Readonly<LoadTest>,
  status: LoadTestStatus,
  before: readonly Condition[],
  conditions: Condition[],
  requeueAfterMs: number | undefined,
  log: ReconcileContext['log'],
  signal: AbortSignal,
): Promise<ReconcileResult> {
  status.conditions = conditions;
  status.phase = phaseFromConditions(conditions);
  if (cached.metadata.generation !== undefined) status.observedGeneration = cached.metadata.generation;
  const result = await options.applier.applyStatusIfChanged(resources.loadTests, cached, status, { signal });
  if (result.changed) log.debug({ phase: status.phase }, 'status updated');
  for (const change of conditionChanges(before, conditions)) {
    // A failure also sets RunnersReady/Succeeded False with the same reason: one Event is enough.
    if (
      status.phase === 'Failed' &&
      change.type !== 'Failed' &&
      change.reason === findCondition(conditions, 'Failed')?.reason
    )
      continue;
    options.events.event(cached, change.eventType, change.reason, change.message || change.reason);
    log.info({ condition: change.type, status: change.status, reason: change.reason }, 'condition changed');
  }
  // Finished: the next pass does the cleanup (the status write also triggers it).
  if (isFinished(conditions)) return { requeueAfterMs: 1_000 };
  return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
}
