import type { ConditionStatus } from '../../api-types/common';
import type {
  ServiceInstance,
  ServiceInstanceCondition,
  ServiceInstancePropertiesState,
  ServiceInstanceStatus,
} from '../../api-types/serviceinstance';
import { setCondition, type ConditionEvents } from '../framework/conditions';
import { rfc3339 } from '../../pkg/time';

export type Instance = ServiceInstance;
export type InstanceStatus = ServiceInstanceStatus;
export type PropertiesState = ServiceInstancePropertiesState;

/**
 * Condition reasons, as the original controller wrote them (pkg/controller/controller_instance.go),
 * plus a few for what it did not do (schema checks, plan-level updatability, abandon).
 */
export const reasons = {
  provisioned: 'ProvisionedSuccessfully',
  updated: 'InstanceUpdatedSuccessfully',
  deprovisioned: 'DeprovisionedSuccessfully',
  orphanMitigationSuccessful: 'OrphanMitigationSuccessful',
  provisionInFlight: 'ProvisionRequestInFlight',
  updateInFlight: 'UpdateInstanceRequestInFlight',
  deprovisionInFlight: 'DeprovisionRequestInFlight',
  provisioning: 'Provisioning',
  updating: 'UpdatingInstance',
  deprovisioning: 'Deprovisioning',
  startingOrphanMitigation: 'StartingInstanceOrphanMitigation',
  orphanMitigationFailed: 'OrphanMitigationFailed',
  observedNewGeneration: 'ObservedNewGeneration',
  errorWithParameters: 'ErrorWithParameters',
  provisionCallFailed: 'ProvisionCallFailed',
  errorCallingProvision: 'ErrorCallingProvision',
  updateCallFailed: 'UpdateInstanceCallFailed',
  errorCallingUpdate: 'ErrorCallingUpdateInstance',
  deprovisionCallFailed: 'DeprovisionCallFailed',
  deprovisionBlocked: 'DeprovisionBlockedByExistingCredentials',
  bindingsDeletion: 'ServiceBindingsDeletion',
  errorPollingLastOperation: 'ErrorPollingLastOperation',
  asyncOperationInProgress: 'ErrorAsyncOperationInProgress',
  nonexistentClass: 'ReferencesNonexistentServiceClass',
  nonexistentPlan: 'ReferencesNonexistentServicePlan',
  nonexistentBroker: 'ReferencesNonexistentBroker',
  deletedClass: 'ReferencesDeletedServiceClass',
  deletedPlan: 'ReferencesDeletedServicePlan',
  errorFindingNamespace: 'ErrorFindingNamespaceForInstance',
  unknownPlan: 'UnknownServicePlan',
  retryTimeout: 'ErrorReconciliationRetryTimeout',
  errorAuthCredentials: 'ErrorGettingAuthCredentials',
  /** Failed: the broker refused the request for good (the original's `ClusterServiceBrokerReturnedFailure`). */
  brokerReturnedFailure: (namespaced: boolean) =>
    namespaced ? 'ServiceBrokerReturnedFailure' : 'ClusterServiceBrokerReturnedFailure',
  // ours
  planNotUpdatable: 'PlanNotUpdatable',
  abandoned: 'Abandoned',
} as const;

export const messages = {
  provisioned: 'The instance was provisioned successfully',
  updated: 'The instance was updated successfully',
  deprovisioned: 'The instance was deprovisioned successfully',
  orphanMitigationSuccessful: 'Orphan mitigation was completed successfully',
  provisionInFlight: 'Provision request for ServiceInstance in-flight to Broker',
  updateInFlight: 'Update request for ServiceInstance in-flight to Broker',
  deprovisionInFlight: 'Deprovision request for ServiceInstance in-flight to Broker',
  provisioning: 'The instance is being provisioned asynchronously',
  updating: 'The instance is being updated asynchronously',
  deprovisioning: 'The instance is being deprovisioned asynchronously',
  startingOrphanMitigation:
    'The instance provision call failed with an ambiguous error; attempting to deprovision the instance in order to mitigate an orphaned resource',
  observedNewGeneration: 'Observed a new generation of the instance',
  asyncOperationInProgress: 'Another operation for this service instance is in progress. ',
  deprovisionBlocked:
    'All associated ServiceBindings must be removed before this ServiceInstance can be deleted',
  retryTimeout: 'Stopping reconciliation retries because too much time has elapsed',
} as const;

/** Ready reasons that report progress or success, recorded as Normal Events (the rest are Warnings). */
const normalReasons = new Set<string>([
  reasons.provisioned,
  reasons.updated,
  reasons.deprovisioned,
  reasons.orphanMitigationSuccessful,
  reasons.provisionInFlight,
  reasons.updateInFlight,
  reasons.deprovisionInFlight,
  reasons.provisioning,
  reasons.updating,
  reasons.deprovisioning,
  reasons.observedNewGeneration,
  reasons.bindingsDeletion,
]);

/** Sets a condition only if the instance has it already (clearing Failed must not add it). */
function resetCondition(
  status: InstanceStatus,
  type: ServiceInstanceCondition['type'],
  reason: string,
  message: string,
) {
  const c = status.conditions?.find((x) => x.type === type);
  if (c && c.status !== 'False') setCondition(status, type, 'False', reason, message);
}

/** No operation in progress: the fields the API server allows only during one go. */
export function clearOperation(status: InstanceStatus): void {
  status.currentOperation = '';
  delete status.operationStartTime;
  delete status.asyncOpInProgress;
  delete status.orphanMitigationInProgress;
  delete status.lastOperation;
  delete status.inProgressProperties;
}

/**
 * Marks the generation as acted upon. The API server refuses an operation in progress while
 * reconciledGeneration equals generation, so during one it stays below (it is deprecated in
 * favour of observedGeneration, which says what the controller acted upon).
 */
export function observe(status: InstanceStatus, generation: number): void {
  status.observedGeneration = generation;
  if ((status.reconciledGeneration ?? 0) > generation - 1 && status.currentOperation) {
    status.reconciledGeneration = Math.max(0, generation - 1);
  }
}

/** The operation finished (well or for good): the generation it was for is reconciled. */
export function reconciled(status: InstanceStatus, generation: number): void {
  status.observedGeneration = generation;
  status.reconciledGeneration = generation;
}

/**
 * Starts an operation: recorded before the broker is called, so that a controller restarted
 * mid-call knows a request may be in flight and sends the same one again (brokers answer a
 * repeated identical request with 200/202, never a second resource).
 */
export function startOperation(
  status: InstanceStatus,
  op: 'Provision' | 'Update' | 'Deprovision',
  generation: number,
  properties: PropertiesState,
  now: number,
): void {
  const same = status.currentOperation === op;
  status.currentOperation = op;
  if (!same || !status.operationStartTime) status.operationStartTime = rfc3339(now);
  delete status.asyncOpInProgress;
  delete status.lastOperation;
  status.inProgressProperties = properties;
  if (op === 'Provision') status.deprovisionStatus = 'Required';
  observe(status, generation);
  const [reason, message] =
    op === 'Provision'
      ? [reasons.provisionInFlight, messages.provisionInFlight]
      : op === 'Update'
        ? [reasons.updateInFlight, messages.updateInFlight]
        : [reasons.deprovisionInFlight, messages.deprovisionInFlight];
  setCondition(status, 'Ready', 'False', reason, message);
  resetCondition(status, 'Failed', reasons.observedNewGeneration, messages.observedNewGeneration);
}

/** Records a failure for good: Ready False (or Unknown) and Failed True, each with its reason. */
export function failFor(
  status: InstanceStatus,
  ready: [ConditionStatus, string, string],
  failed: [string, string],
): void {
  setCondition(status, 'Ready', ready[0], ready[1], ready[2]);
  setCondition(status, 'Failed', 'True', failed[0], failed[1]);
}

/**
 * Events for each new Ready reason or message, Failed turning True, OrphanMitigation starting or
 * ending. Warnings for errors, Normal otherwise.
 */
export const conditionEvents: ConditionEvents<ServiceInstanceCondition> = {
  types: ['Ready', 'Failed', 'OrphanMitigation'],
  eventType(now, was) {
    switch (now.type) {
      case 'Ready':
        return now.status === 'True' || normalReasons.has(now.reason ?? '') ? 'Normal' : 'Warning';
      case 'Failed':
        return now.status === 'True' ? 'Warning' : undefined;
      case 'OrphanMitigation':
        if (now.status === 'True') return 'Warning';
        return was?.status === 'True' ? 'Normal' : undefined;
    }
  },
};

/** SemVer 2.0 precedence: negative when a < b. Non-semver strings compare as text. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
    return m ? { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4]?.split('.') } : undefined;
  };
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return a === b ? 0 : a < b ? -1 : 1;
  for (let i = 0; i < 3; i++) if (pa.core[i] !== pb.core[i]) return pa.core[i] - pb.core[i];
  if (!pa.pre || !pb.pre) return pa.pre ? -1 : pb.pre ? 1 : 0;
  for (let i = 0; i < Math.max(pa.pre.length, pb.pre.length); i++) {
    const x = pa.pre[i];
    const y = pb.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    if (nx) return -1;
    if (ny) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}
