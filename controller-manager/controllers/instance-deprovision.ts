import { serviceBindingResource, serviceInstanceResource } from '../../api-types';
import { isConcurrencyError, isOSBError, type DeleteResult, type OSBError } from '../../pkg/osb';
import { keyOf } from '../../pkg/kube/informers';
import { isTrue, setCondition } from '../framework/conditions';
import type { ReconcileResult } from '../../pkg/controller/controller';
import { removeFinalizer } from '../framework/finalizer';
import {
  bindingsOf,
  catalogOf,
  isProblem,
  planIdOf,
  planProperties,
  type CatalogInfo,
  type InstanceEnv,
} from './instance-catalog';
import { stringOf as str } from '../../pkg/json';
import {
  clearOperation,
  messages,
  reasons,
  reconciled,
  startOperation,
  type Instance,
  type PropertiesState,
} from './instance-status';
import { originatingIdentity } from './parameters';
import { ABANDON_ANNOTATION, CASCADING_DELETION_ANNOTATION } from '../../pkg/servicecatalog/constants';
import { report, retryTimeExceeded, startPolling } from './instance-steps';

/** Lets the instance go: the API server deletes it once our finalizer is gone. */
async function release(env: InstanceEnv, inst: Instance): Promise<void> {
  if (await removeFinalizer(env.ctx.client, serviceInstanceResource, inst)) env.polls.delete(keyOf(inst));
}

/** The user released the instance (its broker is gone): no call to the broker, an Event saying so. */
export async function abandon(env: InstanceEnv, inst: Instance): Promise<ReconcileResult> {
  await release(env, inst);
  env.ctx.recorder.event(
    inst,
    'Warning',
    reasons.abandoned,
    `The instance was abandoned (annotation ${ABANDON_ANNOTATION}: "true"): it was removed without asking the broker to deprovision it; anything the broker still holds for it is no longer tracked`,
  );
  return {};
}

export const isAbandoned = (inst: Instance) => inst.metadata.annotations?.[ABANDON_ANNOTATION] === 'true';

/** Whether the broker may hold something for this instance that a DELETE must remove. */
function deprovisionNeeded(inst: Instance): boolean {
  const s = inst.status ?? {};
  if (s.orphanMitigationInProgress || s.currentOperation) return true;
  switch (s.deprovisionStatus) {
    case 'Required':
    case 'Failed':
      return true;
    case 'NotRequired':
    case 'Succeeded':
      return false;
    default:
      return s.provisionStatus === 'Provisioned';
  }
}

/**
 * Deletion: blocked while bindings exist (or, with cascading deletion, they are deleted first
 * and waited for), then DELETE at the broker until it answers 200/202/410, then the finalizer
 * goes. Failures are retried with backoff, never left wedged.
 */
export async function finalize(env: InstanceEnv, inst: Instance): Promise<ReconcileResult> {
  if (!deprovisionNeeded(inst)) {
    await release(env, inst);
    return {};
  }
  const bindings = await bindingsOf(env, inst);
  if (bindings.length) {
    const cascade =
      env.ctx.options.cascadingDeletion ||
      inst.metadata.annotations?.[CASCADING_DELETION_ANNOTATION] === 'true';
    const names = bindings.map((b) => b.metadata.name).join(', ');
    if (!cascade) {
      return report(env, inst, {
        reason: reasons.deprovisionBlocked,
        message: `${messages.deprovisionBlocked} (${names})`,
      }).then(() => ({}));
    }
    for (const b of bindings) {
      if (!b.metadata.deletionTimestamp) {
        await env.ctx.client.delete(serviceBindingResource, b.metadata.namespace, b.metadata.name!);
      }
    }
    await env.write(inst, (s) =>
      setCondition(
        s,
        'Ready',
        'False',
        reasons.bindingsDeletion,
        `Deleting the ServiceBindings of this instance before deprovisioning it: ${names}`,
      ),
    );
    // the bindings' deletion enqueues the instance again; this is a backstop
    return { requeue: true };
  }
  return sendDelete(env, inst, 'delete');
}

/** Orphan mitigation: DELETE until the broker answers 200 or 410 (with backoff), no originating identity. */
export function orphanMitigate(env: InstanceEnv, inst: Instance): Promise<ReconcileResult> {
  return sendDelete(env, inst, 'om');
}

/** The plan id a DELETE (or its poll) names: what the broker has, or is being given. */
export function deletePlanId(inst: Instance, cat: CatalogInfo): string | undefined {
  const s = inst.status ?? {};
  const inProgress = planIdOf(s.inProgressProperties);
  const external = planIdOf(s.externalProperties);
  const planned = s.currentOperation === 'Update' ? (external ?? inProgress) : (inProgress ?? external);
  return planned ?? (cat.plan ? str(cat.plan.spec?.externalID) : undefined);
}

async function sendDelete(env: InstanceEnv, inst: Instance, mode: 'delete' | 'om'): Promise<ReconcileResult> {
  const cat = await catalogOf(env, inst, { planRequired: false });
  if (isProblem(cat)) return report(env, inst, cat, { unknown: mode === 'delete' });
  const planId = deletePlanId(inst, cat);
  if (!planId) {
    return report(
      env,
      inst,
      { reason: reasons.unknownPlan, message: 'The ServicePlan is not known: no plan id to send the broker' },
      { unknown: true },
    );
  }
  const status = inst.status ?? {};
  const generation = inst.metadata.generation ?? 0;
  if (mode === 'delete' && status.currentOperation !== 'Deprovision') {
    const properties: PropertiesState =
      status.inProgressProperties ??
      status.externalProperties ??
      (cat.plan ? planProperties(cat.scope, cat.plan) : { clusterServicePlanExternalID: planId });
    inst = await env.write(inst, (s) => {
      startOperation(s, 'Deprovision', generation, properties, env.now());
      // a deletion takes over whatever was running, orphan mitigation included
      delete s.orphanMitigationInProgress;
    });
  }
  if (
    mode === 'delete' &&
    retryTimeExceeded(env, inst.status) &&
    inst.status?.deprovisionStatus !== 'Failed'
  ) {
    // say so, but keep trying (with the longest backoff): a wedged instance helps nobody
    inst = await env.write(inst, (s) => {
      setCondition(s, 'Failed', 'True', reasons.retryTimeout, messages.retryTimeout);
      s.deprovisionStatus = 'Failed';
    });
  }
  let result: DeleteResult;
  try {
    result = await cat.client.deprovision(str(inst.spec?.externalID), {
      serviceId: str(cat.cls.spec?.externalID),
      planId,
      acceptsIncomplete: true,
      // orphan mitigation is the platform's own doing: no user to name
      originatingIdentity: mode === 'delete' ? originatingIdentity(inst.spec?.userInfo) : undefined,
    });
  } catch (e) {
    if (!isOSBError(e)) throw e;
    return deleteFailed(env, inst, mode, e);
  }
  if (result.kind === 'async') {
    return startPolling(env, inst, mode === 'om' ? 'OrphanMitigation' : 'Deprovision', result, [
      mode === 'om' ? reasons.startingOrphanMitigation : reasons.deprovisioning,
      mode === 'om' ? messages.startingOrphanMitigation : messages.deprovisioning,
    ]);
  }
  return deleteSucceeded(env, inst, mode);
}

async function deleteFailed(
  env: InstanceEnv,
  inst: Instance,
  mode: 'delete' | 'om',
  e: OSBError,
): Promise<ReconcileResult> {
  const detail =
    e.httpStatus === undefined
      ? e.message
      : `Deprovision call failed; received error response from broker: ${e.message}`;
  let reason: string = mode === 'om' ? reasons.orphanMitigationFailed : reasons.deprovisionCallFailed;
  let message =
    mode === 'om' ? `Orphan mitigation failed and will be retried: ${detail}` : `${detail}; retrying`;
  if (isConcurrencyError(e)) {
    reason = reasons.asyncOperationInProgress;
    message = `${messages.asyncOperationInProgress}${detail}`;
  }
  await env.write(inst, (s) => {
    setCondition(s, 'Ready', 'Unknown', reason, message);
    if (e.instanceUsable === false) s.instanceUsable = false;
  });
  return { requeue: true };
}

/** The broker deleted the instance (200 or 410, or the poll said so). */
export async function deleteSucceeded(
  env: InstanceEnv,
  inst: Instance,
  mode: 'delete' | 'om',
): Promise<ReconcileResult> {
  env.polls.delete(keyOf(inst));
  const generation = inst.metadata.generation ?? 0;
  if (mode === 'delete') {
    inst = await env.write(inst, (s) => {
      setCondition(s, 'Ready', 'False', reasons.deprovisioned, messages.deprovisioned);
      clearOperation(s);
      delete s.externalProperties;
      s.provisionStatus = 'NotProvisioned';
      s.deprovisionStatus = 'Succeeded';
      reconciled(s, generation);
    });
    await release(env, inst);
    return {};
  }
  // terminal failures (the broker said the provision failed) stay failed; the others are retried
  const terminal = isTrue(inst, 'Failed');
  await env.write(inst, (s) => {
    setCondition(
      s,
      'OrphanMitigation',
      'False',
      reasons.orphanMitigationSuccessful,
      messages.orphanMitigationSuccessful,
    );
    delete s.orphanMitigationInProgress;
    delete s.asyncOpInProgress;
    delete s.lastOperation;
    if (terminal) {
      setCondition(
        s,
        'Ready',
        'False',
        reasons.orphanMitigationSuccessful,
        messages.orphanMitigationSuccessful,
      );
      clearOperation(s);
      s.provisionStatus = 'NotProvisioned';
      s.deprovisionStatus = 'Succeeded';
      reconciled(s, generation);
    } else {
      setCondition(
        s,
        'Ready',
        'False',
        reasons.orphanMitigationSuccessful,
        `${messages.orphanMitigationSuccessful}; the provision will be retried`,
      );
      // still the same Provision operation: the next attempt re-sends it, within the retry duration
      s.currentOperation = 'Provision';
      s.deprovisionStatus = 'Required';
    }
  });
  return terminal ? {} : { requeue: true };
}
