import { Gauge, type Registry } from 'prom-client';
import type { ConditionStatus } from '../../api-types/common';
import {
  serviceBindingResource,
  type ServiceBinding,
  type ServiceBindingCondition,
  type ServiceBindingStatus,
} from '../../api-types/servicebinding';
import { jsonEqual } from '../../pkg/json';
import type { ControllerContext } from '../context';
import { keyOf, type SharedInformer } from '../framework/informers';

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

/** The annotation that lets a binding go without its broker. */
export const ABANDON_ANNOTATION = 'servicecatalog.k8s.io/abandon';

/** metav1.Time: RFC 3339 in seconds. */
export const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export const condition = (b: ServiceBinding | undefined, type: 'Ready' | 'Failed') =>
  b?.status?.conditions?.find((c) => c.type === type);

export const isReady = (b: ServiceBinding) => condition(b, 'Ready')?.status === 'True';
export const isFailed = (b: ServiceBinding) => condition(b, 'Failed')?.status === 'True';

/** The spec the controller acted on last, successfully or terminally: nothing to do until it changes. */
export const isReconciled = (b: ServiceBinding) =>
  (b.status?.reconciledGeneration ?? 0) === (b.metadata.generation ?? 0);

/**
 * Sets one condition; lastTransitionTime moves only when the status changes, and a type not
 * present yet is appended.
 */
export function setCondition(
  status: ServiceBindingStatus,
  type: 'Ready' | 'Failed',
  value: ConditionStatus,
  reason: string,
  message: string,
  now = rfc3339(Date.now()),
): void {
  const conditions = [...(status.conditions ?? [])];
  const i = conditions.findIndex((c) => c.type === type);
  const old = i >= 0 ? conditions[i] : undefined;
  const next: ServiceBindingCondition = {
    type,
    status: value,
    lastTransitionTime: old && old.status === value && old.lastTransitionTime ? old.lastTransitionTime : now,
    reason,
    message,
  };
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
  status.conditions = conditions;
}

/** Failed back to False (if it was ever set) once the binding works again. */
export function clearFailed(status: ServiceBindingStatus, reason: string, message: string): void {
  if (status.conditions?.some((c) => c.type === 'Failed'))
    setCondition(status, 'Failed', 'False', reason, message);
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

/** A larger numeric resourceVersion is a later state of the same object (ours come from etcd revisions). */
function newer(a: ServiceBinding | undefined, b: ServiceBinding | undefined): ServiceBinding | undefined {
  if (!a || !b) return a ?? b;
  if (a.metadata.uid !== b.metadata.uid) return a;
  const ra = Number(a.metadata.resourceVersion);
  const rb = Number(b.metadata.resourceVersion);
  return Number.isFinite(ra) && Number.isFinite(rb) && rb > ra ? b : a;
}

/**
 * Status writes of the binding controller. Every write is followed by the reconcile that made it
 * deciding what comes next (a poll after Retry-After, a backoff, nothing), so the watch event of
 * our own write must not queue the binding again: a poll would otherwise run at once and ignore
 * Retry-After. The last object written is also the state the next reconcile starts from until the
 * cache has caught up with it.
 */
export class StatusWriter {
  private readonly written = new Map<string, ServiceBinding>();
  /** Changes seen while a write of that binding was in flight, judged once it returns. */
  private readonly writing = new Map<string, ServiceBinding[]>();

  constructor(
    private readonly ctx: ControllerContext,
    private readonly enqueue: (key: string) => void,
  ) {}

  /** The informer handler: queues the binding unless the change is our own last write. */
  observe(b: ServiceBinding): void {
    const key = keyOf(b);
    const pending = this.writing.get(key);
    if (pending) pending.push(b);
    // the cache holds our write now: nothing to remember (a thousand bindings would otherwise stay in memory twice)
    else if (this.isOwnWrite(key, b)) this.written.delete(key);
    else this.enqueue(key);
  }

  private isOwnWrite(key: string, b: ServiceBinding): boolean {
    return this.written.get(key)?.metadata.resourceVersion === b.metadata.resourceVersion;
  }

  /** The latest state known of a binding: the cache, or our last write when the cache lags. */
  current(key: string, cached: ServiceBinding | undefined): ServiceBinding | undefined {
    if (!cached) {
      this.written.delete(key);
      return undefined;
    }
    const b = newer(cached, this.written.get(key));
    if (b === cached) this.written.delete(key);
    return b;
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  /**
   * Writes `mutate(status)` when it changes anything (re-applied to the latest object on
   * conflicts), with an Event when the Ready or Failed condition changes. Returns the binding as
   * stored.
   */
  async write(b: ServiceBinding, mutate: (s: ServiceBindingStatus) => void): Promise<ServiceBinding> {
    const key = keyOf(b);
    const apply = (x: ServiceBinding) => {
      x.status ??= {};
      mutate(x.status);
    };
    const probe = structuredClone(b);
    apply(probe);
    if (jsonEqual(probe.status, b.status)) return b;
    this.writing.set(key, []);
    let stored: ServiceBinding;
    try {
      stored = await this.ctx.updateStatus<ServiceBinding>(serviceBindingResource, b, apply);
      this.written.set(key, stored);
    } finally {
      const seen = this.writing.get(key) ?? [];
      this.writing.delete(key);
      if (seen.some((x) => !this.isOwnWrite(key, x))) this.enqueue(key);
    }
    this.announce(b, stored);
    return stored;
  }

  /** Events for condition changes: what users see with kubectl describe. */
  private announce(before: ServiceBinding, after: ServiceBinding): void {
    for (const type of ['Failed', 'Ready'] as const) {
      const was = condition(before, type);
      const now = condition(after, type);
      if (!now || (was?.status === now.status && was.reason === now.reason && was.message === now.message))
        continue;
      // Failed going back to False says nothing Ready does not say
      if (type === 'Failed' && now.status !== 'True') continue;
      const reason = now.reason ?? '';
      if (type === 'Ready' && quietReasons.has(reason)) continue;
      const normal = type === 'Ready' && (now.status === 'True' || normalReasons.has(reason));
      this.ctx.recorder.event(after, normal ? 'Normal' : 'Warning', reason, now.message ?? '');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** Shared with the instance controller: one gauge, told apart by `kind`. */
export const ASYNC_OPERATIONS_GAUGE = 'servicecatalog_async_operations_in_flight';
export const BINDINGS_GAUGE = 'servicecatalog_service_bindings';

export function asyncOperationsGauge(registry: Registry): Gauge<'kind'> {
  return (
    (registry.getSingleMetric(ASYNC_OPERATIONS_GAUGE) as Gauge<'kind'> | undefined) ??
    new Gauge({
      name: ASYNC_OPERATIONS_GAUGE,
      help: 'Asynchronous broker operations being polled, by kind (ServiceInstance, ServiceBinding).',
      labelNames: ['kind'],
      registers: [registry],
    })
  );
}

/**
 * ServiceBindings by condition (Ready and Failed) and status, counted from the informer cache
 * when scraped; bindings with no condition yet count as Ready "Unknown".
 */
const gaugeSources = new WeakMap<Registry, { bindings: SharedInformer<ServiceBinding> }>();

export function bindingsGauge(registry: Registry, bindings: SharedInformer<ServiceBinding>): void {
  const known = gaugeSources.get(registry);
  // a controller started again on the same registry counts from its own cache
  if (known) {
    known.bindings = bindings;
    return;
  }
  const source = { bindings };
  gaugeSources.set(registry, source);
  if (registry.getSingleMetric(BINDINGS_GAUGE)) return;
  new Gauge({
    name: BINDINGS_GAUGE,
    help: 'ServiceBindings by condition (Ready, Failed) and its status (True, False, Unknown).',
    labelNames: ['condition', 'status'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>();
      for (const type of ['Ready', 'Failed']) {
        for (const status of ['True', 'False', 'Unknown']) counts.set(`${type}/${status}`, 0);
      }
      for (const b of source.bindings.list()) {
        const ready = condition(b, 'Ready')?.status ?? 'Unknown';
        counts.set(`Ready/${ready}`, (counts.get(`Ready/${ready}`) ?? 0) + 1);
        const failed = condition(b, 'Failed')?.status;
        if (failed) counts.set(`Failed/${failed}`, (counts.get(`Failed/${failed}`) ?? 0) + 1);
      }
      for (const [k, v] of counts) {
        const [type, status] = k.split('/');
        this.set({ condition: type, status }, v);
      }
    },
  });
}
