import { jsonEqual } from '../../pkg/json';
import {
  isBadRequest,
  isConcurrencyError,
  isMaintenanceInfoConflict,
  isOSBError,
  type MaintenanceInfo,
  type OSBError,
  type UpdateRequest,
  type UpdateResult,
} from '../../pkg/osb';
import { keyOf } from '../../pkg/kube/informers';
import { setCondition } from '../framework/conditions';
import type { ReconcileResult } from '../../pkg/controller/controller';
import {
  catalogOf,
  instanceParameters,
  isProblem,
  kubernetesContext,
  planByExternalId,
  planIdOf,
  planMaintenance,
  planProperties,
  planUpdatable,
  resolveReferences,
  type CatalogInfo,
  type InstanceEnv,
} from './instance-catalog';
import { stringOf as str } from '../../pkg/json';
import {
  clearOperation,
  failFor,
  messages,
  reasons,
  reconciled,
  startOperation,
  type Instance,
  type PropertiesState,
} from './instance-status';
import {
  originatingIdentity,
  parametersChecksum,
  REDACTED,
  statusParameters,
  type BuiltParameters,
} from './parameters';
import {
  describeViolations,
  parametersSchemaViolations,
  partialViolations,
} from '../../pkg/servicecatalog/parameters-schema';
import { type Entry } from '../../pkg/servicecatalog/references';
import {
  describeEntry,
  operationSucceeded,
  recordMaintenance,
  relistBroker,
  report,
  retryTimeExceeded,
  startPolling,
  upgradeOffered,
} from './instance-steps';

/** The checksum a properties state records for these parameters (none when there are none). */
export const recordedChecksum = (built: BuiltParameters) =>
  Object.keys(built.parameters).length ? built.checksum : undefined;

/**
 * The parameters an update sends: only the top-level ones whose values changed since the broker
 * last accepted them (OSB: send only what the user changed). Values from Secrets are recorded
 * redacted; whether one of them changed is told by the checksum of the previous parameters
 * rebuilt with today's Secret values: when it differs, every Secret-sourced value is sent, as
 * there is no telling which one changed. A removed parameter cannot be expressed and is not sent.
 */
function changedParameters(
  built: BuiltParameters,
  previous: PropertiesState | undefined,
): Record<string, unknown> {
  if (!previous) return built.parameters;
  if (previous.parameterChecksum === recordedChecksum(built)) return {};
  const prev = (previous.parameters ?? {}) as Record<string, unknown>;
  const fromSecrets = new Set(Object.keys(built.redacted).filter((k) => built.redacted[k] === REDACTED));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(built.parameters)) {
    if (!fromSecrets.has(k) && !jsonEqual(prev[k], v)) out[k] = v;
  }
  const guess: Record<string, unknown> = {};
  let rebuildable = true;
  for (const [k, v] of Object.entries(prev)) {
    if (v !== REDACTED) guess[k] = v;
    else if (fromSecrets.has(k)) guess[k] = built.parameters[k];
    else rebuildable = false;
  }
  const guessed = Object.keys(guess).length ? parametersChecksum(guess) : undefined;
  if (!rebuildable || guessed !== previous.parameterChecksum) {
    for (const k of fromSecrets) out[k] = built.parameters[k];
  }
  return out;
}

/**
 * Updates a provisioned instance after a spec change (plan, parameters, updateRequests,
 * maintenanceInfo) or a change in a parametersFrom Secret: plan_id only when the plan changes
 * (refused before any call when the current plan, or else its class, is not plan_updateable),
 * only the changed parameters, previous_values, and maintenance_info for an upgrade.
 */
export async function update(env: InstanceEnv, inst: Instance): Promise<ReconcileResult> {
  const status = inst.status ?? {};
  const resend = status.currentOperation === 'Update';
  if (resend && retryTimeExceeded(env, status)) {
    return updateFailedForGood(env, inst, reasons.retryTimeout, messages.retryTimeout, {});
  }
  if (!resend) {
    const resolved = await resolveReferences(env, inst);
    if (isProblem(resolved)) return report(env, inst, resolved);
    inst = resolved;
  }
  const cat = await catalogOf(env, inst, { planRequired: true });
  if (isProblem(cat)) return report(env, inst, cat);
  const { scope, cls } = cat;
  const plan = cat.plan!;
  const previous = status.externalProperties;
  const oldPlanId = planIdOf(previous);
  const newPlanId = str(plan.spec?.externalID);
  // without a record of what the broker has, the plan is taken as unchanged
  const planChange = oldPlanId !== undefined && oldPlanId !== newPlanId;
  if (planChange && !resend) {
    if (cls.status?.removedFromBrokerCatalog || plan.status?.removedFromBrokerCatalog) {
      const [kind, entry, reason] = cls.status?.removedFromBrokerCatalog
        ? [scope.class.kind, cls, reasons.deletedClass]
        : [scope.plan.kind, plan, reasons.deletedPlan];
      return report(env, inst, {
        reason,
        message: `${describeEntry(kind, entry)} has been deleted; cannot change to it.`,
        terminal: true,
      });
    }
    const current = planByExternalId(env, scope, cls, oldPlanId);
    if (!planUpdatable(cls, current)) {
      const from = current ? describeEntry(scope.plan.kind, current) : `plan "${oldPlanId ?? ''}"`;
      return report(env, inst, {
        reason: reasons.planNotUpdatable,
        message: `${from} is not plan_updateable (nor is ${describeEntry(scope.class.kind, cls)}): cannot change to ${describeEntry(scope.plan.kind, plan)}; the broker was not asked`,
        terminal: true,
      });
    }
  }
  const spec = inst.spec ?? {};
  const built = await instanceParameters(env, inst);
  if (isProblem(built)) return report(env, inst, built);
  const parameters = changedParameters(built, previous);
  if (!resend && Object.keys(parameters).length) {
    const violations = parametersSchemaViolations(plan.spec?.instanceUpdateParameterSchema, parameters);
    const relevant = violations ? partialViolations(violations) : [];
    if (relevant.length) {
      return report(env, inst, {
        reason: reasons.errorWithParameters,
        message: `The parameters do not match the instanceUpdateParameterSchema of ${describeEntry(scope.plan.kind, plan)}: ${describeViolations(relevant)}`,
        terminal: true,
      });
    }
  }

  // maintenance_info: the new plan's on a plan change; the one the spec asks for; or, on an
  // updateRequests bump that changes nothing else, the newer level the plan offers
  const generation = inst.metadata.generation ?? 0;
  let maintenance: MaintenanceInfo | undefined;
  if (resend) {
    const pending = status.inProgressProperties?.maintenanceInfo;
    if (pending?.version && pending.version !== status.maintenanceInfo?.version)
      maintenance = pending as MaintenanceInfo;
  } else if (planChange) {
    maintenance = planMaintenance(plan);
  } else if (
    spec.maintenanceInfo?.version &&
    spec.maintenanceInfo.version !== status.maintenanceInfo?.version
  ) {
    maintenance = { version: spec.maintenanceInfo.version };
  } else if ((status.observedGeneration ?? 0) < generation && Object.keys(parameters).length === 0) {
    maintenance = upgradeOffered(status, plan);
  }
  const after = maintenance ?? (status.maintenanceInfo?.version ? status.maintenanceInfo : undefined);
  const properties: PropertiesState = {
    ...planProperties(scope, plan),
    ...statusParameters(built),
    ...(spec.userInfo ? { userInfo: spec.userInfo } : {}),
    ...(after ? { maintenanceInfo: after } : {}),
  };
  if (
    !planChange &&
    !maintenance &&
    Object.keys(parameters).length === 0 &&
    cls.spec?.allowContextUpdates !== true
  ) {
    // only the context would go: the offering has not declared allow_context_updates (U3)
    return nothingToSend(env, inst, properties, plan);
  }
  inst = await env.write(inst, (s) => startOperation(s, 'Update', generation, properties, env.now()));

  const previousMaintenance = status.maintenanceInfo?.version
    ? { version: status.maintenanceInfo.version }
    : undefined;
  const request: UpdateRequest = {
    service_id: str(cls.spec?.externalID),
    ...(planChange ? { plan_id: newPlanId } : {}),
    context: kubernetesContext(env, inst),
    ...(Object.keys(parameters).length ? { parameters } : {}),
    previous_values: {
      ...(oldPlanId ? { plan_id: oldPlanId } : {}),
      ...(previousMaintenance ? { maintenance_info: previousMaintenance } : {}),
    },
    ...(maintenance ? { maintenance_info: { version: maintenance.version } } : {}),
  };
  let result: UpdateResult;
  try {
    result = await cat.client.update(spec.externalID ?? '', request, {
      acceptsIncomplete: true,
      originatingIdentity: originatingIdentity(spec.userInfo),
    });
  } catch (e) {
    if (!isOSBError(e)) throw e;
    return updateFailed(env, inst, cat, e);
  }
  if (result.kind === 'async') {
    return startPolling(env, inst, 'Update', result, [reasons.updating, messages.updating]);
  }
  return operationSucceeded(env, inst, 'Update', plan, result.dashboardUrl);
}

/** An update with nothing for the broker: recorded as done without a call. */
async function nothingToSend(
  env: InstanceEnv,
  inst: Instance,
  properties: PropertiesState,
  plan: Entry,
): Promise<ReconcileResult> {
  await env.write(inst, (s) => {
    s.externalProperties = properties;
    clearOperation(s);
    setCondition(
      s,
      'Ready',
      'True',
      reasons.updated,
      `${messages.updated}: nothing changed for the broker, so no request was sent (the service does not accept context-only updates)`,
    );
    recordMaintenance(s, s.externalProperties, plan);
    reconciled(s, inst.metadata.generation ?? 0);
  });
  return {};
}

/**
 * The update failed and will not be retried until the spec changes: the instance keeps the plan
 * and parameters the broker last accepted (no orphan mitigation after an update, ever).
 */
export async function updateFailedForGood(
  env: InstanceEnv,
  inst: Instance,
  reason: string,
  message: string,
  flags: { instanceUsable?: boolean },
): Promise<ReconcileResult> {
  env.polls.delete(keyOf(inst));
  await env.write(inst, (s) => {
    const generation = s.observedGeneration ?? inst.metadata.generation ?? 0;
    failFor(s, ['False', reason, message], [reason, message]);
    clearOperation(s);
    if (flags.instanceUsable === false) s.instanceUsable = false;
    reconciled(s, generation);
  });
  return {};
}

async function updateFailed(
  env: InstanceEnv,
  inst: Instance,
  cat: CatalogInfo,
  e: OSBError,
): Promise<ReconcileResult> {
  const flags = { instanceUsable: e.instanceUsable };
  if (isBadRequest(e) || e.updateRepeatable === false) {
    const why =
      e.updateRepeatable === false ? 'the broker says repeating it will not help' : 'fix the spec to retry';
    return updateFailedForGood(
      env,
      inst,
      reasons.updateCallFailed,
      `${cat.scope.broker.kind} returned a failure for update call; update will not be retried (${why}): ${e.message}`,
      flags,
    );
  }
  if (isMaintenanceInfoConflict(e)) {
    // the broker's catalog moved on: fetch it, and decide the update afresh (no upgrade unless asked again)
    await relistBroker(env, cat);
    await env.write(inst, (s) => {
      setCondition(
        s,
        'Ready',
        'False',
        reasons.updateCallFailed,
        `The update call failed and will be retried: ${e.message}; the plan's maintenance_info changed at the broker: fetching the catalog again`,
      );
      clearOperation(s);
    });
    return { requeue: true };
  }
  let reason: string = e.httpStatus === undefined ? reasons.errorCallingUpdate : reasons.updateCallFailed;
  let message = `The update call failed and will be retried: ${e.message}`;
  if (isConcurrencyError(e)) {
    reason = reasons.asyncOperationInProgress;
    message = `${messages.asyncOperationInProgress}${e.message}`;
  }
  await env.write(inst, (s) => {
    setCondition(s, 'Ready', 'False', reason, message);
    if (flags.instanceUsable === false) s.instanceUsable = false;
  });
  return { requeue: true };
}
