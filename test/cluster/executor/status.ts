/** Pod status as the kubelet reports it, computed from the executor's record of each container. */
import type { ContainerState, ContainerStatus, PodCondition, PodStatus } from './types.ts';

export interface ContainerRecord {
  name: string;
  image: string;
  state: ContainerState;
  ready: boolean;
  containerID?: string;
}

export function containerStatus(record: ContainerRecord): ContainerStatus {
  const started = record.state.running !== undefined || record.state.terminated !== undefined;
  return {
    name: record.name,
    state: record.state,
    ready: record.ready,
    started: record.state.running !== undefined,
    restartCount: 0,
    image: record.image,
    imageID: started ? `loadlm.local/${record.image}` : '',
    ...(record.containerID ? { containerID: record.containerID } : {}),
  };
}

/** The kubelet's phase rules for restartPolicy Never. */
export function podPhase(init: ContainerRecord[], main: ContainerRecord[]): NonNullable<PodStatus['phase']> {
  if (init.some((c) => c.state.terminated && c.state.terminated.exitCode !== 0)) return 'Failed';
  if (init.some((c) => !c.state.terminated)) return 'Pending';
  if (main.some((c) => c.state.waiting)) return 'Pending';
  if (main.some((c) => c.state.running)) return 'Running';
  return main.every((c) => c.state.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
}

/** The kubelet-owned conditions; the caller keeps lastTransitionTime stable across unchanged statuses. */
export function podConditions(
  init: ContainerRecord[],
  main: ContainerRecord[],
  phase: NonNullable<PodStatus['phase']>,
  sandboxReady: boolean,
): PodCondition[] {
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const conditions: PodCondition[] = [{ type: 'PodReadyToStartContainers', status: sandboxReady ? 'True' : 'False' }];
  const incompleteInit = init.filter((c) => c.state.terminated?.exitCode !== 0).map((c) => c.name);
  conditions.push(
    incompleteInit.length === 0
      ? { type: 'Initialized', status: 'True' }
      : {
          type: 'Initialized',
          status: 'False',
          reason: 'ContainersNotInitialized',
          message: `containers with incomplete status: [${incompleteInit.join(' ')}]`,
        },
  );
  const unready = main.filter((c) => !c.ready).map((c) => c.name);
  const ready: Omit<PodCondition, 'type'> =
    unready.length === 0
      ? { status: 'True' }
      : terminal
        ? { status: 'False', reason: 'PodCompleted' }
        : {
            status: 'False',
            reason: 'ContainersNotReady',
            message: `containers with unready status: [${unready.join(' ')}]`,
          };
  conditions.push({ type: 'ContainersReady', ...ready }, { type: 'Ready', ...ready });
  return conditions;
}

/** Keeps lastTransitionTime from the previous condition of the same type when its status did not change. */
export function withTransitionTimes(
  next: PodCondition[],
  previous: PodCondition[] | undefined,
  now: string,
): PodCondition[] {
  return next.map((condition) => {
    const before = previous?.find((p) => p.type === condition.type);
    const lastTransitionTime =
      before && before.status === condition.status && before.lastTransitionTime ? before.lastTransitionTime : now;
    return { ...condition, lastProbeTime: null, lastTransitionTime };
  });
}

/** The kubelet's FallbackToLogsOnError: the last 80 lines, at most 2048 bytes, of the container's log. */
export function logTail(log: string, maxLines = 80, maxBytes = 2048): string {
  const lines = log.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let tail = lines.slice(-maxLines).join('\n');
  const bytes = Buffer.from(tail, 'utf8');
  if (bytes.length > maxBytes) tail = bytes.subarray(bytes.length - maxBytes).toString('utf8');
  return tail;
}
