/**
 * Steps every operation of the instance controller shares (provision, update, poll, deprovision):
 * report a problem, start polling an asynchronous operation, record a success, start orphan
 * mitigation, keep the offered maintenance in status.
 */
import { type MaintenanceInfo } from '../../pkg/osb';
import { keyOf } from '../../pkg/kube/informers';
import { setCondition } from '../framework/conditions';
import type { ReconcileResult } from '../../pkg/controller/controller';
import { planMaintenance, type CatalogInfo, type InstanceEnv, type Problem } from './instance-catalog';
import { stringOf as str } from '../../pkg/json';
import {
  clearOperation,
  compareVersions,
  failFor,
  messages,
  observe,
  reasons,
  reconciled,
  type Instance,
  type InstanceStatus,
  type PropertiesState,
} from './instance-status';
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
