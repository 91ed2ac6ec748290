import { isBadRequest, isNotFound, isOSBError, type LastOperationResult } from '../../pkg/osb';
import { keyOf } from '../../pkg/kube/informers';
import { setCondition } from '../framework/conditions';
import type { ReconcileResult } from '../../pkg/controller/controller';
import { catalogOf, isProblem, maximumPollingMs, planIdOf, type InstanceEnv } from './instance-catalog';
import { stringOf as str } from '../../pkg/json';
import { deletePlanId, deleteSucceeded } from './instance-deprovision';
import { updateFailedForGood } from './instance-update';
import { messages, reasons, type Instance } from './instance-status';
import { originatingIdentity } from './parameters';
import { backoffDelay } from '../../pkg/backoff';
import { operationSucceeded, report, retryTimeExceeded, startOrphanMitigation } from './instance-steps';

type PolledOp = 'Provision' | 'Update' | 'Deprovision' | 'OrphanMitigation';

const deletingOp = (op: PolledOp) => op === 'Deprovision' || op === 'OrphanMitigation';

function polledOp(inst: Instance): PolledOp {
  const s = inst.status ?? {};
  if (s.orphanMitigationInProgress) return 'OrphanMitigation';
  return s.currentOperation || 'Provision';
}

const progress: Record<PolledOp, [string, string]> = {
  Provision: [reasons.provisioning, messages.provisioning],
  Update: [reasons.updating, messages.updating],
  Deprovision: [reasons.deprovisioning, messages.deprovisioning],
  OrphanMitigation: [reasons.startingOrphanMitigation, messages.startingOrphanMitigation],
};

/**
 * When to poll next: after Retry-After when the broker sent one (the spec's SHOULD), otherwise
 * after an exponential backoff (limiter base, doubling, capped at
 * --operation-polling-maximum-backoff-duration). Kept per instance, so that no other event
 * (a resync, a change) makes a poll come early.
 */
function nextPoll(
  env: InstanceEnv,
  inst: Instance,
  op: PolledOp,
  retryAfterSeconds?: number,
): ReconcileResult {
  const key = keyOf(inst);
  const state = env.polls.get(key);
  const attempt = state && state.op === op ? state.attempt + 1 : 1;
  const { baseDelayMs, maxDelayMs } = env.limiter;
  const backoff = backoffDelay({ initialMs: baseDelayMs, maxMs: maxDelayMs }, attempt);
  const delay = retryAfterSeconds && retryAfterSeconds > 0 ? retryAfterSeconds * 1000 : backoff;
  env.polls.set(key, { op, attempt, notBefore: env.now() + delay });
  return { requeueAfterMs: delay };
}

/** Back to sending DELETE (with backoff): a failed or timed-out deprovision is retried, not wedged. */
async function retryDelete(
  env: InstanceEnv,
  inst: Instance,
  op: PolledOp,
  message: string,
  instanceUsable?: boolean,
): Promise<ReconcileResult> {
  env.polls.delete(keyOf(inst));
  await env.write(inst, (s) => {
    if (instanceUsable === false) s.instanceUsable = false;
    delete s.asyncOpInProgress;
    delete s.lastOperation;
    setCondition(
      s,
      'Ready',
      'Unknown',
      op === 'OrphanMitigation' ? reasons.orphanMitigationFailed : reasons.deprovisionCallFailed,
      message,
    );
  });
  return { requeue: true };
}

/**
 * Polls the instance's last_operation (service_id, plan_id — the old plan during a plan change —
 * and the broker's operation), and acts on the answer: in progress → poll again; succeeded →
 * finish; failed → orphan mitigation (provision), Failed (update), DELETE again (deprovision);
 * 410 → gone (deletes only); past the plan's maximum_polling_duration or the retry duration →
 * the operation failed.
 */
export async function poll(env: InstanceEnv, inst: Instance): Promise<ReconcileResult> {
  const key = keyOf(inst);
  const op = polledOp(inst);
  const due = env.polls.get(key);
  if (due && due.op === op && due.notBefore > env.now()) return { requeueAfterMs: due.notBefore - env.now() };

  const cat = await catalogOf(env, inst, { planRequired: op === 'Provision' || op === 'Update' });
  if (isProblem(cat)) return report(env, inst, cat, { unknown: deletingOp(op) });
  const s = inst.status ?? {};
  const deleting = deletingOp(op);
  // orphan mitigation of an instance being deleted ends the deletion too
  const deleteMode = op === 'OrphanMitigation' && !inst.metadata.deletionTimestamp ? 'om' : 'delete';

  // limits: the plan's maximum_polling_duration, then ours (--reconciliation-retry-duration)
  const started = Date.parse(s.operationStartTime ?? '');
  const maxMs = maximumPollingMs(cat.plan);
  // orphan mitigation goes on whatever the time (it counts from the failed provision)
  const overPlanLimit =
    op !== 'OrphanMitigation' &&
    maxMs !== undefined &&
    !Number.isNaN(started) &&
    env.now() - started >= maxMs;
  if (overPlanLimit || retryTimeExceeded(env, s)) {
    const message = overPlanLimit
      ? `Stopping polling: the plan's maximum_polling_duration (${maxMs / 1000}s) has elapsed; the operation is considered failed`
      : messages.retryTimeout;
    switch (op) {
      case 'Provision':
        return startOrphanMitigation(env, inst, { reason: reasons.retryTimeout, message }, true);
      case 'Update':
        return updateFailedForGood(env, inst, reasons.retryTimeout, message, {});
      default:
        if (overPlanLimit) return retryDelete(env, inst, op, message);
    }
  }

  const planId =
    op === 'Update'
      ? planIdOf(s.externalProperties) // during a plan change: the plan before the update (MUST)
      : op === 'Provision'
        ? planIdOf(s.inProgressProperties)
        : deletePlanId(inst, cat);
  let result: LastOperationResult;
  try {
    result = await cat.client.pollInstanceLastOperation(str(inst.spec?.externalID), {
      serviceId: str(cat.cls.spec?.externalID),
      planId,
      operation: s.lastOperation || undefined,
      originatingIdentity: op === 'OrphanMitigation' ? undefined : originatingIdentity(inst.spec?.userInfo),
    });
  } catch (e) {
    if (!isOSBError(e)) throw e;
    if (isNotFound(e)) {
      // the broker does not know the instance: gone for a delete; for a create, it never was
      if (deleting) return deleteSucceeded(env, inst, deleteMode);
      if (op === 'Update') {
        return updateFailedForGood(
          env,
          inst,
          reasons.updateCallFailed,
          `Update call failed: ${e.message}`,
          {},
        );
      }
      env.polls.delete(key);
      await env.write(inst, (st) => {
        delete st.asyncOpInProgress;
        delete st.lastOperation;
        setCondition(
          st,
          'Ready',
          'False',
          reasons.errorPollingLastOperation,
          `${e.message}; provisioning again`,
        );
      });
      return { requeue: true };
    }
    if (isBadRequest(e) && deleting)
      return retryDelete(env, inst, op, `Error polling last operation: ${e.message}`);
    // anything else (5xx, garbage, timeouts): keep polling until a limit is reached
    env.ctx.recorder.event(
      inst,
      'Warning',
      reasons.errorPollingLastOperation,
      `Error polling last operation: ${e.message}`,
    );
    return nextPoll(env, inst, op, e.retryAfterSeconds);
  }

  if (result.kind === 'gone') {
    if (deleting) return deleteSucceeded(env, inst, deleteMode);
    // 410 while creating or updating is not a valid answer: keep polling
    env.ctx.recorder.event(
      inst,
      'Warning',
      reasons.errorPollingLastOperation,
      'Error polling last operation: the broker answered 410 Gone to a poll of a create or update; polling on',
    );
    return nextPoll(env, inst, op, result.retryAfterSeconds);
  }

  const description = result.description;
  switch (result.state) {
    case 'in progress': {
      const [reason, base] = progress[op];
      const message = description ? `${base} (${description})` : base;
      await env.write(inst, (st) => setCondition(st, 'Ready', 'False', reason, message));
      return nextPoll(env, inst, op, result.retryAfterSeconds);
    }
    case 'succeeded':
      switch (op) {
        case 'Provision':
        case 'Update':
          return operationSucceeded(env, inst, op, cat.plan);
        case 'Deprovision':
        case 'OrphanMitigation':
          return deleteSucceeded(env, inst, deleteMode);
      }
      break;
    case 'failed': {
      const text = description ?? '(no description provided)';
      switch (op) {
        case 'Provision':
          // the broker may have left something behind: clean up, then stay failed
          return startOrphanMitigation(
            env,
            inst,
            { reason: reasons.provisionCallFailed, message: `Provision call failed: ${text}` },
            true,
          );
        case 'Update':
          return updateFailedForGood(env, inst, reasons.updateCallFailed, `Update call failed: ${text}`, {
            instanceUsable: result.instanceUsable,
          });
        default:
          return retryDelete(
            env,
            inst,
            op,
            `Deprovision call failed: ${text}; retrying`,
            result.instanceUsable,
          );
      }
    }
  }
  return nextPoll(env, inst, op);
}
