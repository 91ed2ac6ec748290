import {
  isAsyncRequired,
  isConcurrencyError,
  isConflict,
  isMaintenanceInfoConflict,
  isOSBError,
  isRequiresApp,
  needsOrphanMitigation,
  type OSBError,
  type ProvisionRequest,
  type ProvisionResult,
} from '../../pkg/osb';
import { setCondition } from '../framework/conditions';
import type { ReconcileResult } from '../../pkg/controller/controller';
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
import { originatingIdentity, statusParameters } from './parameters';
import { describeViolations, parametersSchemaViolations } from '../../pkg/servicecatalog/parameters-schema';
import {
  describeEntry,
  report,
  retryTimeExceeded,
  relistBroker,
  startOrphanMitigation,
  startPolling,
  operationSucceeded,
} from './instance-steps';

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
