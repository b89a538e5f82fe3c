/**
 * The engine's own checks (runner/engine/validate.ts, data.ts), run on the resolved plan before anything is
 * sent, so a value the engine would refuse is a usage error naming the flag or config field instead of a
 * failed run. The engine stays the one source of truth for what it accepts; this only renames its fields.
 */
import { loadDataset, validateData } from '../engine/data.ts';
import { shareOf } from '../engine/schedule.ts';
import { validateLoad } from '../engine/validate.ts';
import { ConfigError } from './overrides.ts';
import type { RunPlan } from './plan.ts';

/** LoadSpec fields with no config field: only a flag sets them. */
const engineOnlyFlags: Record<string, string> = {
  'load.lateThresholdMs': '--late-threshold',
  'load.startAt': '--start-at',
  'load.share': '--shard',
  'load.share.index': '--shard',
  'load.share.count': '--shard',
};

/** Throws a ConfigError for the first engine check the plan fails. */
export function checkPlanForEngine(plan: RunPlan, sources: Record<string, string> = {}): void {
  const check = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      throw new ConfigError(withOrigin((err as Error).message, sources));
    }
  };
  check(() => validateData(plan.data));
  for (const target of plan.targets) check(() => validateLoad(plan.load, target.spec));
  checkClosedLoopShare(plan, sources);
  const dataset = plan.data.dataset;
  if (dataset !== undefined) check(() => loadDataset(dataset));
}

/** A closed-loop runner whose share of the streams is 0 would send nothing and fail; refuse that split. */
function checkClosedLoopShare(plan: RunPlan, sources: Record<string, string>): void {
  const { load } = plan;
  const share = load.share;
  if (!share || (load.profile !== 'concurrent' && load.profile !== 'throughput')) return;
  const streams = Math.max(load.concurrency ?? 0, ...(load.stages ?? []).map((s) => s.concurrency ?? 0));
  if (streams === 0 || shareOf(streams, share) > 0) return;
  const field = load.stages ? 'load.stages' : 'load.concurrency';
  const origin = sources[field] ?? sources['load.share'];
  throw new ConfigError(
    `${field}${origin ? ` (from ${origin})` : ''}: ${streams} concurrent streams split ${share.count} ways leave runner ${share.index} none; give at least ${share.count}`,
  );
}

/** `load.concurrency: 50 exceeds ...` → `load.concurrency (from --concurrency): 50 exceeds ...`. */
function withOrigin(message: string, sources: Record<string, string>): string {
  const m = /^((?:load|data)(?:\.[A-Za-z]+|\[\d+\])*)(:| )/.exec(message);
  if (!m) return message;
  const field = m[1] as string;
  // `load.stages[0].rate` was set by the flag that set `load.stages`.
  let flag: string | undefined;
  for (
    let path = field;
    flag === undefined && path !== '';
    path = path.replace(/(\.[A-Za-z]+|\[\d+\])$|^[a-z]+$/, '')
  ) {
    flag = engineOnlyFlags[path] ?? sources[path];
  }
  return flag === undefined ? message : `${field} (from ${flag})${message.slice(field.length)}`;
}
