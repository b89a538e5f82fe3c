/** Checks of LoadSpec against itself and the target, with errors that name the field. */
import { shareOf } from './schedule.ts';
import type { LoadSpec, TargetSpec } from './types.ts';

const PROFILES = ['synchronous', 'concurrent', 'constant', 'poisson', 'throughput', 'sweep'];

function fail(field: string, expected: string, got: unknown): never {
  throw new Error(`load.${field}: expected ${expected}, got ${JSON.stringify(got)}`);
}

function positive(field: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(field, 'a number > 0', v);
}

function nonNegative(field: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(field, 'a number ≥ 0', v);
}

function positiveInt(field: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(field, 'an integer ≥ 1', v);
}

export function isOpenLoop(profile: LoadSpec['profile']): boolean {
  return profile === 'constant' || profile === 'poisson';
}

/** The run length in seconds when known (duration, stages or sweep), else undefined. */
export function plannedSeconds(load: LoadSpec): number | undefined {
  if (load.stages) return load.stages.reduce((sum, s) => sum + s.durationSeconds, 0);
  return load.durationSeconds;
}

export function validateLoad(load: LoadSpec, target: TargetSpec): void {
  if (!PROFILES.includes(load.profile)) fail('profile', PROFILES.join(' | '), load.profile);
  nonNegative('warmupSeconds', load.warmupSeconds);
  nonNegative('cooldownSeconds', load.cooldownSeconds);
  if (load.durationSeconds !== undefined) positive('durationSeconds', load.durationSeconds);
  if (load.maxRequests !== undefined) positiveInt('maxRequests', load.maxRequests);
  if (load.maxErrors !== undefined) positiveInt('maxErrors', load.maxErrors);
  if (load.lateThresholdMs !== undefined) positive('lateThresholdMs', load.lateThresholdMs);
  if (load.startAt !== undefined && !Number.isFinite(load.startAt)) fail('startAt', 'epoch milliseconds', load.startAt);
  if (load.share !== undefined) {
    const { index, count } = load.share;
    positiveInt('share.count', count);
    if (!Number.isInteger(index) || index < 0 || index >= count)
      fail('share.index', `an integer in [0, ${count})`, index);
    // A 1-way share (the operator passes --shard 0/1 to a lone runner) is no split.
    if (load.profile === 'sweep' && count > 1) throw new Error('load.share: a sweep cannot be split across runners');
  }
  const open = isOpenLoop(load.profile);
  if (load.stages !== undefined) {
    if (!Array.isArray(load.stages) || load.stages.length === 0) fail('stages', 'a non-empty list', load.stages);
    if (load.profile === 'synchronous' || load.profile === 'sweep') {
      throw new Error(
        `load.stages: not supported with profile ${load.profile} (use constant, poisson, concurrent or throughput)`,
      );
    }
    load.stages.forEach((s, i) => {
      positive(`stages[${i}].durationSeconds`, s.durationSeconds);
      if (open) nonNegative(`stages[${i}].rate`, s.rate);
      else if (typeof s.concurrency !== 'number' || !Number.isInteger(s.concurrency) || s.concurrency < 0) {
        fail(`stages[${i}].concurrency`, 'an integer ≥ 0', s.concurrency);
      }
    });
    if (open && !load.stages.some((s) => (s.rate ?? 0) > 0))
      fail('stages', 'at least one stage with rate > 0', load.stages);
    if (load.durationSeconds !== undefined) {
      throw new Error('load.durationSeconds: not allowed together with load.stages (the stages set the duration)');
    }
  } else if (open) {
    positive('rate', load.rate);
  } else if (load.profile === 'concurrent') {
    positiveInt('concurrency', load.concurrency);
  } else if (load.profile === 'throughput' && load.concurrency !== undefined) {
    positiveInt('concurrency', load.concurrency);
  }
  if (load.profile === 'sweep') {
    const s = load.sweep;
    if (!s) throw new Error('load.sweep: required for profile sweep ({rates, stepSeconds})');
    positiveInt('sweep.rates', s.rates);
    positive('sweep.stepSeconds', s.stepSeconds);
    if (s.profile !== undefined && s.profile !== 'constant' && s.profile !== 'poisson') {
      fail('sweep.profile', 'constant | poisson', s.profile);
    }
    if (load.concurrency !== undefined) positiveInt('concurrency', load.concurrency);
    if (load.warmupSeconds + load.cooldownSeconds >= s.stepSeconds) {
      throw new Error('load.warmupSeconds + load.cooldownSeconds: must be shorter than load.sweep.stepSeconds');
    }
  } else {
    const total = plannedSeconds(load);
    if (total === undefined && load.maxRequests === undefined) {
      throw new Error('load: set durationSeconds, stages or maxRequests, so the run has an end');
    }
    if (total === undefined && load.cooldownSeconds > 0) {
      throw new Error(
        'load.cooldownSeconds: needs durationSeconds or stages (the cooldown is the end of a known timeline)',
      );
    }
    if (total !== undefined && load.warmupSeconds + load.cooldownSeconds >= total) {
      throw new Error('load.warmupSeconds + load.cooldownSeconds: must be shorter than the run duration');
    }
  }
  // A concurrency above the pool size would queue inside the HTTP client: a hidden cap. Refuse it.
  const wanted = Math.max(load.concurrency ?? 0, ...(load.stages ?? []).map((s) => s.concurrency ?? 0));
  if (!open && shareOf(wanted, load.share) > target.maxConnections) {
    throw new Error(
      `load.concurrency: ${wanted} exceeds target.maxConnections (${target.maxConnections}); raise maxConnections`,
    );
  }
}
