import type { ConditionStatus } from '../../api-types/common';
import type { KubeObject } from '../../api-types/meta';
import type { EventRecorder } from '../context';
import { rfc3339 } from '../../pkg/time';

/** One entry of status.conditions: every kind has the same shape (api-types conditionSchema). */
export interface Condition<T extends string = string> {
  type: T;
  status: ConditionStatus;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

interface WithConditions<C extends Condition> {
  status?: { conditions?: C[] };
}

export function conditionOf<C extends Condition>(
  obj: WithConditions<C> | undefined,
  type: C['type'],
): C | undefined {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

export const isTrue = <C extends Condition>(obj: WithConditions<C> | undefined, type: C['type']) =>
  conditionOf(obj, type)?.status === 'True';

/**
 * Sets one condition: lastTransitionTime moves only when the status changes; a type not present
 * yet is appended (the original dropped new types once any condition existed).
 */
export function setCondition<C extends Condition>(
  status: { conditions?: C[] },
  type: C['type'],
  value: ConditionStatus,
  reason: string,
  message: string,
  now = rfc3339(Date.now()),
): void {
  const conditions = [...(status.conditions ?? [])];
  const i = conditions.findIndex((c) => c.type === type);
  const old = i >= 0 ? conditions[i] : undefined;
  const next = {
    type,
    status: value,
    lastTransitionTime: old && old.status === value && old.lastTransitionTime ? old.lastTransitionTime : now,
    reason,
    message,
  } as C;
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
  status.conditions = conditions;
}

/** Which condition changes a controller records as Events, and as Normal or Warning (undefined: none). */
export interface ConditionEvents<C extends Condition> {
  /** The condition types looked at, in the order their Events are recorded. */
  types: readonly C['type'][];
  eventType(now: C, was: C | undefined): 'Normal' | 'Warning' | undefined;
}

/**
 * Events for the conditions a status write changed (status, reason or message): what users see
 * with kubectl describe.
 */
export function recordConditionEvents<C extends Condition>(
  recorder: EventRecorder,
  before: WithConditions<C>,
  after: KubeObject & WithConditions<C>,
  events: ConditionEvents<C>,
): void {
  for (const type of events.types) {
    const was = conditionOf(before, type);
    const now = conditionOf(after, type);
    if (!now || (was?.status === now.status && was.reason === now.reason && was.message === now.message))
      continue;
    const kind = events.eventType(now, was);
    if (kind) recorder.event(after, kind, now.reason ?? '', now.message ?? '');
  }
}
