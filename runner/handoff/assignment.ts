/**
 * Which target and shard a runner of the operator's Indexed Job takes. A LoadTest with T targets and
 * `parallelism` P runs T × P runners in one Job: index I drives target ⌊I / P⌋ (in spec order) as shard
 * (I mod P) of P. With one target this is just `--shard I/P`.
 */

export interface RunnerAssignment {
  index: number;
  targetIndex: number;
  target: string;
  shard: { index: number; count: number };
}

export function runnerAssignment(index: number, perTarget: number, targets: readonly string[]): RunnerAssignment {
  if (!Number.isInteger(perTarget) || perTarget < 1) {
    throw new RangeError(`runners per target: expected an integer ≥ 1, got ${perTarget}`);
  }
  const total = perTarget * targets.length;
  if (!Number.isInteger(index) || index < 0 || index >= total) {
    throw new RangeError(
      `runner index: expected an integer from 0 to ${total - 1} (${targets.length} target(s) × ${perTarget} runners), got ${index}`,
    );
  }
  const targetIndex = Math.floor(index / perTarget);
  return {
    index,
    targetIndex,
    target: targets[targetIndex] as string,
    shard: { index: index % perTarget, count: perTarget },
  };
}

/** All runners of a test, in index order. */
export function allAssignments(perTarget: number, targets: readonly string[]): RunnerAssignment[] {
  return Array.from({ length: perTarget * targets.length }, (_, index) => runnerAssignment(index, perTarget, targets));
}
