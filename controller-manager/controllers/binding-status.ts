import type {
  ServiceBinding,
  ServiceBindingCondition,
  ServiceBindingStatus,
} from '../../api-types/servicebinding';
import { setCondition, type ConditionEvents } from '../framework/conditions';

/**
 * Reasons of the Ready and Failed conditions and of the Events. Those the original controller had
 * (pkg/controller/controller_binding.go) keep its names; the others are ours: rotation, orphan
 * mitigation steps, parameters refused by the plan's schema, abandon.
 */
export const reasons = {
  nonexistentInstance: 'ReferencesNonexistentInstance',
  instanceRefsUnresolved: 'ErrorInstanceRefsUnresolved',
  nonexistentBroker: 'ReferencesNonexistentBroker',
  authCredentials: 'ErrorGettingAuthCredentials',
  brokerAuth: 'BrokerAuthenticationFailed',
  nonbindable: 'ErrorNonbindableServiceClass',
  instanceNotReady: 'ErrorInstanceNotReady',
  asyncOperationInProgress: 'ErrorAsyncOperationInProgress',
  findingNamespace: 'ErrorFindingNamespaceForInstance',
  withParameters: 'ErrorWithParameters',
  invalidParameters: 'InvalidParameters',
  bindInFlight: 'BindingRequestInFlight',
  binding: 'Binding',
  bindCallFailed: 'BindCallFailed',
  bindReturnedFailure: 'ServiceBindingReturnedFailure',
  pollFailed: 'ErrorPollingLastOperation',
  injected: 'InjectedBindResult',
  errorInjecting: 'ErrorInjectingBindResult',
  orphanMitigation: 'ServiceBindingNeedsOrphanMitigation',
  orphanMitigationSuccessful: 'OrphanMitigationSuccessful',
  orphanMitigationFailed: 'OrphanMitigationFailed',
  unbindInFlight: 'UnbindingRequestInFlight',
  unbinding: 'Unbinding',
  unbindCallFailed: 'UnbindCallFailed',
  unbound: 'UnboundSuccessfully',
  errorEjecting: 'ErrorEjectingServiceBinding',
  retryTimeout: 'ErrorReconciliationRetryTimeout',
  abandoned: 'Abandoned',
  rotating: 'RotatingBinding',
  rotated: 'BindingRotated',
  rotationFailed: 'RotationFailed',
} as const;

export const messages = {
  injected: 'Injected bind result',
  bindInFlight: 'Binding request for ServiceBinding in-flight to Broker',
  binding: 'The binding is being created asynchronously',
  unbindInFlight: 'Unbind request for ServiceBinding in-flight to Broker',
  unbinding: 'The binding is being deleted asynchronously',
  unbound: 'The binding was deleted successfully',
  retryTimeout: 'Stopping reconciliation retries because too much time has elapsed',
} as const;

/**
 * No Event for these: a request on its way says nothing its outcome will not (the original had
 * none either), and a binding created with its instance waits for it as a matter of course (a
 * thousand of those would crowd out the Events that matter); the Ready condition still says so.
 */
const quietReasons = new Set<string>([
  reasons.bindInFlight,
  reasons.unbindInFlight,
  reasons.instanceRefsUnresolved,
  reasons.instanceNotReady,
]);
/** Ready False on the way somewhere, not because something went wrong. */
const normalReasons = new Set<string>([reasons.binding, reasons.unbinding, reasons.unbound]);

/** Events for Failed turning True and for each new Ready reason or message (but the quiet ones). */
export const conditionEvents: ConditionEvents<ServiceBindingCondition> = {
  types: ['Failed', 'Ready'],
  eventType(now) {
    // Failed going back to False says nothing Ready does not say
    if (now.type === 'Failed') return now.status === 'True' ? 'Warning' : undefined;
    if (quietReasons.has(now.reason ?? '')) return undefined;
    return now.status === 'True' || normalReasons.has(now.reason ?? '') ? 'Normal' : 'Warning';
  },
};

/** The spec the controller acted on last, successfully or terminally: nothing to do until it changes. */
export const isReconciled = (b: ServiceBinding) =>
  (b.status?.reconciledGeneration ?? 0) === (b.metadata.generation ?? 0);

/** Failed back to False (if it was ever set) once the binding works again. */
export function clearFailed(status: ServiceBindingStatus, reason: string, message: string): void {
  if (status.conditions?.some((c) => c.type === 'Failed'))
    setCondition(status, 'Failed', 'False', reason, message);
}

/** The broker works on it asynchronously: polled with the operation it named, if any. */
export function recordAsyncOperation(status: ServiceBindingStatus, operation: string | undefined): void {
  status.asyncOpInProgress = true;
  if (operation !== undefined) status.lastOperation = operation;
  else delete status.lastOperation;
}

/** No operation in progress: what the API server requires once currentOperation is empty. */
export function clearOperation(status: ServiceBindingStatus): void {
  delete status.currentOperation;
  delete status.operationStartTime;
  delete status.inProgressProperties;
  delete status.asyncOpInProgress;
  delete status.lastOperation;
  delete status.orphanMitigationInProgress;
}
