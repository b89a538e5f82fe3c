/**
 * Pure helpers for `metav1.Condition` lists (status.conditions): set a condition so that lastTransitionTime
 * moves only when the status changes, find one, test it. The Condition type comes from api/.
 */
import type { Condition } from '../../api/common.ts';

export type { Condition };
export type ConditionStatus = Condition['status'];

/** What a reconcile decides; the transition time is derived. */
export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  reason: string;
  message?: string;
  observedGeneration?: number;
}

/** RFC 3339 with second precision, as metav1.Time serializes (`2025-01-31T12:00:00Z`). */
export function rfc3339(time: Date | number = new Date()): string {
  return new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

export function isConditionFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'False';
}

/** True when the condition exists with this status (and, if given, reason). */
export function hasCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
  status: ConditionStatus,
  reason?: string,
): boolean {
  const condition = findCondition(conditions, type);
  return condition?.status === status && (reason === undefined || condition.reason === reason);
}

/**
 * A new list with `update` applied: added at the end if new, otherwise replaced in place. lastTransitionTime is
 * `now` for a new condition or a status change and kept otherwise, so re-setting the same status is a no-op
 * (the returned list then equals the input) and a steady-state reconcile writes nothing.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date | number = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((condition) => condition.type === update.type);
  const existing = index === -1 ? undefined : list[index];
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message ?? '',
    lastTransitionTime: existing && existing.status === update.status ? existing.lastTransitionTime : rfc3339(now),
    ...(update.observedGeneration !== undefined
      ? { observedGeneration: update.observedGeneration }
      : existing?.observedGeneration !== undefined
        ? { observedGeneration: existing.observedGeneration }
        : {}),
  };
  if (index === -1) list.push(next);
  else list[index] = next;
  return list;
}

/** Applies several updates in order (same `now`). */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  now: Date | number = new Date(),
): Condition[] {
  return updates.reduce<Condition[]>((list, update) => setCondition(list, update, now), [...(conditions ?? [])]);
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((condition) => condition.type !== type);
}

/** Same conditions, ignoring order. */
export function conditionsEqual(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return false;
  return left.every((condition) => {
    const other = findCondition(right, condition.type);
    return (
      other !== undefined &&
      other.status === condition.status &&
      other.reason === condition.reason &&
      other.message === condition.message &&
      other.lastTransitionTime === condition.lastTransitionTime &&
      other.observedGeneration === condition.observedGeneration
    );
  });
}
