import {
  isAsyncRequired,
  isConcurrencyError,
  isConflict,
  isMaintenanceInfoConflict,
  isOSBError,
  isRequiresApp,
  needsOrphanMitigation,
  type MaintenanceInfo,
  type OSBError,
  type ProvisionRequest,
  type ProvisionResult,
} from '../../pkg/osb';
import { keyOf } from '../../pkg/kube/informers';
import { setCondition } from '../framework/conditions';
import type { ReconcileResult } from '../framework/controller';
import {
  catalogOf,
  instanceParameters,
  isProblem,
  kubernetesContext,
  namespaceUid,
  planMaintenance,
  planProperties,
  resolveReferences,
  type CatalogInfo,
  type InstanceEnv,
  type Problem,
} from './instance-catalog';
import { stringOf as str } from '../../pkg/json';
import {
  clearOperation,
  compareVersions,
  failFor,
  messages,
  observe,
  reasons,
  reconciled,
  startOperation,
  type Instance,
  type InstanceStatus,
  type PropertiesState,
} from './instance-status';
import { originatingIdentity, statusParameters } from './parameters';
import { describeViolations, parametersSchemaViolations } from '../../pkg/servicecatalog/parameters-schema';
import { type Entry } from '../../pkg/servicecatalog/references';

/** `ClusterServiceClass (K8S: "abc" ExternalName: "db")`, as the original names classes and plans. */
export const describeEntry = (kind: string, e: Entry) =>
  `${kind} (K8S: "${e.metadata.name ?? ''}" ExternalName: "${str(e.spec?.externalName)}")`;

/**
 * Reports why a step could not go on: a retry with backoff (Ready False, or Unknown while
 * deleting) or, for what only the user can fix, Failed until the spec changes.
 */
export async function report(
  env: InstanceEnv,
  inst: Instance,
  problem: Problem,
  opts: { unknown?: boolean } = {},
): Promise<ReconcileResult> {
  const generation = inst.metadata.generation ?? 0;
  await env.write(inst, (s) => {
    observe(s, generation);
    if (problem.terminal) {
      failFor(s, ['False', problem.reason, problem.message], [problem.reason, problem.message]);
      if (s.currentOperation && s.currentOperation !== 'Deprovision') {
        clearOperation(s);
        reconciled(s, generation);
      } else if (!s.currentOperation) reconciled(s, generation);
    } else {
      setCondition(s, 'Ready', opts.unknown ? 'Unknown' : 'False', problem.reason, problem.message);
    }
  });
  return problem.terminal ? {} : { requeue: true };
}

/** Whether --reconciliation-retry-duration has passed since the operation started. */
export function retryTimeExceeded(env: InstanceEnv, status: InstanceStatus | undefined): boolean {
  const started = Date.parse(status?.operationStartTime ?? '');
  return !Number.isNaN(started) && env.now() - started >= env.ctx.options.reconciliationRetryDurationMs;
}

/** Asks the broker controller for a fresh catalog (MaintenanceInfoConflict: the plan changed at the broker). */
export async function relistBroker(env: InstanceEnv, cat: CatalogInfo): Promise<void> {
  const { namespace, name } = cat.broker.metadata;
  const current = cat.broker.spec?.relistRequests ?? 0;
  await env.ctx.client.patch(cat.scope.broker, namespace, name!, { spec: { relistRequests: current + 1 } });
}

/** The instance's status after success on the plan it was moved to: maintenance level and whether a newer one is offered. */
export function recordMaintenance(
  s: InstanceStatus,
  state: PropertiesState | undefined,
  plan: Entry | undefined,
) {
  if (state?.maintenanceInfo?.version) s.maintenanceInfo = state.maintenanceInfo;
  else delete s.maintenanceInfo;
  if (upgradeOffered(s, plan)) s.upgradeAvailable = true;
  else delete s.upgradeAvailable;
}

/** Whether the plan offers a newer maintenance level than the instance runs. */
export function upgradeOffered(
  status: InstanceStatus | undefined,
  plan: Entry | undefined,
): MaintenanceInfo | undefined {
  const offered = planMaintenance(plan);
  if (!offered) return undefined;
  const running = status?.maintenanceInfo?.version;
  return running === undefined || compareVersions(offered.version, running) > 0 ? offered : undefined;
}

/**
 * The broker applied a provision or update (synchronously, or the poll said succeeded): what it
 * was sent becomes what it has.
 */
export async function operationSucceeded(
  env: InstanceEnv,
  inst: Instance,
  op: 'Provision' | 'Update',
  plan: Entry | undefined,
  dashboardUrl?: string,
): Promise<ReconcileResult> {
  env.polls.delete(keyOf(inst));
  await env.write(inst, (s) => {
    const generation = s.observedGeneration ?? inst.metadata.generation ?? 0;
    s.externalProperties = s.inProgressProperties;
    clearOperation(s);
    if (op === 'Provision') {
      setCondition(s, 'Ready', 'True', reasons.provisioned, messages.provisioned);
      s.provisionStatus = 'Provisioned';
      s.deprovisionStatus = 'Required';
    } else {
      setCondition(s, 'Ready', 'True', reasons.updated, messages.updated);
    }
    // absent means "keep the one you have" (OSB)
    if (dashboardUrl) s.dashboardURL = dashboardUrl;
    delete s.instanceUsable;
    recordMaintenance(s, s.externalProperties, plan);
    reconciled(s, generation);
  });
  return {};
}

/** The broker accepted the request asynchronously: remember its operation and poll. */
export async function startPolling(
  env: InstanceEnv,
  inst: Instance,
  op: string,
  result: { operation?: string; dashboardUrl?: string; retryAfterSeconds?: number },
  ready: [string, string],
  mutate?: (s: InstanceStatus) => void,
): Promise<ReconcileResult> {
  await env.write(inst, (s) => {
    s.asyncOpInProgress = true;
    if (result.operation) s.lastOperation = result.operation;
    else delete s.lastOperation;
    if (result.dashboardUrl) s.dashboardURL = result.dashboardUrl;
    setCondition(s, 'Ready', 'False', ready[0], ready[1]);
    mutate?.(s);
  });
  const base = env.limiter.baseDelayMs;
  const delay = result.retryAfterSeconds ? result.retryAfterSeconds * 1000 : base;
  env.polls.set(keyOf(inst), { op, attempt: 0, notBefore: env.now() + delay });
  return { requeueAfterMs: delay };
}

/**
 * Starts orphan mitigation after a provision whose outcome is uncertain: DELETE is sent until the
 * broker answers 200 or 410. `terminal` failures (the broker said the provision failed, or it
 * took too long) stay Failed afterwards; the others are provisioned again once mitigated.
 */
export async function startOrphanMitigation(
  env: InstanceEnv,
  inst: Instance,
  cause: { reason: string; message: string },
  terminal: boolean,
  failedReason = cause.reason,
): Promise<ReconcileResult> {
  env.polls.delete(keyOf(inst));
  env.ctx.recorder.event(inst, 'Warning', cause.reason, cause.message);
  await env.write(inst, (s) => {
    if (terminal) setCondition(s, 'Failed', 'True', failedReason, cause.message);
    setCondition(s, 'Ready', 'False', reasons.startingOrphanMitigation, messages.startingOrphanMitigation);
    setCondition(
      s,
      'OrphanMitigation',
      'True',
      reasons.startingOrphanMitigation,
      `${messages.startingOrphanMitigation}: ${cause.message}`,
    );
    s.currentOperation = 'Provision';
    s.orphanMitigationInProgress = true;
    delete s.asyncOpInProgress;
    delete s.lastOperation;
    s.deprovisionStatus = 'Required';
  });
  return { requeue: true };
}

/**
 * Provisions: resolves the class and plan, refuses removed ones, builds and checks the
 * parameters, records the operation (before the call: a restarted controller re-sends the same
 * request with the same instance id, which brokers answer 200/202, never with a second instance),
 * then sends PUT with accepts_incomplete=true.
 */
export async function provision(env: InstanceEnv, inst: Instance): Promise<ReconcileResult> {
  const resend = inst.status?.currentOperation === 'Provision';
  if (resend && retryTimeExceeded(env, inst.status)) {
    // a request may have reached the broker: clean up before giving up
    return startOrphanMitigation(
      env,
      inst,
      { reason: reasons.retryTimeout, message: messages.retryTimeout },
      true,
    );
  }
  if (!resend) {
    const resolved = await resolveReferences(env, inst);
    if (isProblem(resolved)) return report(env, inst, resolved);
    inst = resolved;
  }
  const cat = await catalogOf(env, inst, { planRequired: true });
  if (isProblem(cat)) return report(env, inst, cat);
  const plan = cat.plan!;
  const { scope, cls } = cat;
  if (!resend) {
    // nothing new on what the broker no longer offers (instances already there keep working)
    if (cls.status?.removedFromBrokerCatalog) {
      return report(env, inst, {
        reason: reasons.deletedClass,
        message: `${describeEntry(scope.class.kind, cls)} has been deleted; cannot provision.`,
        terminal: true,
      });
    }
    if (plan.status?.removedFromBrokerCatalog) {
      return report(env, inst, {
        reason: reasons.deletedPlan,
        message: `${describeEntry(scope.plan.kind, plan)} has been deleted; cannot provision.`,
        terminal: true,
      });
    }
  }
  const spec = inst.spec ?? {};
  const built = await instanceParameters(env, inst);
  if (isProblem(built)) return report(env, inst, built);
  if (!resend) {
    const violations = parametersSchemaViolations(plan.spec?.instanceCreateParameterSchema, built.parameters);
    if (violations?.length) {
      return report(env, inst, {
        reason: reasons.errorWithParameters,
        message: `The parameters do not match the instanceCreateParameterSchema of ${describeEntry(scope.plan.kind, plan)}: ${describeViolations(violations)}`,
        terminal: true,
      });
    }
  }
  const spaceGuid = await namespaceUid(env, inst);
  if (isProblem(spaceGuid)) return report(env, inst, spaceGuid);

  const maintenance = planMaintenance(plan);
  const properties: PropertiesState = {
    ...planProperties(scope, plan),
    ...statusParameters(built),
    ...(spec.userInfo ? { userInfo: spec.userInfo } : {}),
    ...(maintenance ? { maintenanceInfo: maintenance } : {}),
  };
  const generation = inst.metadata.generation ?? 0;
  inst = await env.write(inst, (s) => startOperation(s, 'Provision', generation, properties, env.now()));

  const request: ProvisionRequest = {
    service_id: str(cls.spec?.externalID),
    plan_id: str(plan.spec?.externalID),
    organization_guid: env.ctx.clusterId,
    space_guid: spaceGuid,
    context: kubernetesContext(env, inst),
    ...(Object.keys(built.parameters).length ? { parameters: built.parameters } : {}),
    ...(maintenance ? { maintenance_info: { version: maintenance.version } } : {}),
  };
  let result: ProvisionResult;
  try {
    result = await cat.client.provision(spec.externalID ?? '', request, {
      acceptsIncomplete: true,
      originatingIdentity: originatingIdentity(spec.userInfo),
    });
  } catch (e) {
    if (!isOSBError(e)) throw e;
    return provisionFailed(env, inst, cat, e, resend);
  }
  if (result.kind === 'async') {
    return startPolling(env, inst, 'Provision', result, [reasons.provisioning, messages.provisioning]);
  }
  return operationSucceeded(env, inst, 'Provision', plan, result.dashboardUrl);
}

/** What a failed PUT means, per the spec's orphan-mitigation table and error codes. */
async function provisionFailed(
  env: InstanceEnv,
  inst: Instance,
  cat: CatalogInfo,
  e: OSBError,
  resend: boolean,
): Promise<ReconcileResult> {
  const where = `${describeEntry(cat.scope.class.kind, cat.cls)} at ${cat.scope.broker.kind} "${cat.broker.metadata.name}"`;
  const failure = `Error provisioning ServiceInstance of ${where}: ${e.message}`;
  if (needsOrphanMitigation(e)) {
    const reason = e.httpStatus === undefined ? reasons.errorCallingProvision : reasons.provisionCallFailed;
    return startOrphanMitigation(env, inst, { reason, message: failure }, false);
  }
  const generation = inst.metadata.generation ?? 0;
  const terminal = async (message: string): Promise<ReconcileResult> => {
    await env.write(inst, (s) => {
      failFor(
        s,
        ['False', reasons.provisionCallFailed, message],
        [reasons.brokerReturnedFailure(cat.scope.namespaced), message],
      );
      clearOperation(s);
      s.provisionStatus = 'NotProvisioned';
      // after a 4xx the broker MUST have changed nothing: deleting needs no DELETE (unless an
      // earlier attempt of this operation may still be in flight)
      s.deprovisionStatus = resend ? 'Required' : 'NotRequired';
      reconciled(s, generation);
    });
    return {};
  };
  const retry = async (reason: string, message: string): Promise<ReconcileResult> => {
    await env.write(inst, (s) => setCondition(s, 'Ready', 'False', reason, message));
    return { requeue: true };
  };
  if (e.httpStatus === 400) return terminal(`${failure}; fix the spec to retry`);
  if (isRequiresApp(e)) {
    return terminal(
      `${failure}; the broker requires an application to be given (RequiresApp), which an instance cannot`,
    );
  }
  if (isConflict(e)) {
    // our own earlier request may have got there first: ask the broker how it went
    if (resend) {
      return startPolling(env, inst, 'Provision', {}, [reasons.provisioning, messages.provisioning]);
    }
    return terminal(`${failure}; an instance with this id exists at the broker with other attributes`);
  }
  if (isConcurrencyError(e)) {
    return retry(reasons.asyncOperationInProgress, `${messages.asyncOperationInProgress}${failure}`);
  }
  if (isMaintenanceInfoConflict(e)) {
    await relistBroker(env, cat);
    return retry(
      reasons.provisionCallFailed,
      `${failure}; the plan's maintenance_info changed at the broker: fetching the catalog again and retrying`,
    );
  }
  if (isAsyncRequired(e)) {
    return retry(reasons.provisionCallFailed, `${failure}; retrying with accepts_incomplete=true`);
  }
  const reason = e.httpStatus === undefined ? reasons.errorCallingProvision : reasons.provisionCallFailed;
  return retry(reason, `The provision call failed and will be retried: ${failure}`);
}
