import pLimit from 'p-limit';
import { Gauge, type Registry } from 'prom-client';
import type { BrokerCondition, CommonServiceBrokerStatus } from '../../api-types/common';
import { secretResource, type Secret } from '../../api-types/core/secret';
import type { KubeObject } from '../../api-types/meta';
import { serviceInstanceResource, type ServiceInstance } from '../../api-types/serviceinstance';
import { jsonEqual } from '../../pkg/json';
import { isAlreadyExists, isConflict } from '../../pkg/kube/client';
import { isOSBError, type Catalog, type OSBClient } from '../../pkg/osb';
import { keyOf, splitKey, type SharedInformer } from '../../pkg/kube/informers';
import type { ControllerContext } from '../context';
import {
  conditionOf,
  recordConditionEvents,
  setCondition,
  type ConditionEvents,
} from '../framework/conditions';
import {
  Controller,
  type ReconcileResult,
  type RunningController,
  runWhenSynced,
} from '../../pkg/controller/controller';
import { removeFinalizer } from '../framework/finalizer';
import { StatusWriter } from '../framework/status';
import {
  classCatalogFields,
  convertCatalog,
  isManaged,
  isOwnedBy,
  ownedBy,
  planCatalogFields,
  validateCatalog,
  type DesiredEntry,
} from './catalog';
import { AuthCredentialsError, authSecretRef, type BrokerLike } from './osb-clients';
import { FINALIZER } from '../../pkg/servicecatalog/constants';
import { parseDuration, rfc3339 } from '../../pkg/time';
import { type ResourceType } from '../../api-types/resource';
import {
  type CatalogScope,
  clusterScope,
  type Entry,
  namespacedScope,
} from '../../pkg/servicecatalog/references';

// Reasons and messages as the original controller writes them (pkg/controller/controller_*broker.go),
// plus InvalidCatalog for a catalog that breaks the OSB API's rules.
const reasons = {
  fetchedCatalog: 'FetchedCatalog',
  errorFetchingCatalog: 'ErrorFetchingCatalog',
  errorSyncingCatalog: 'ErrorSyncingCatalog',
  errorAuthCredentials: 'ErrorGettingAuthCredentials',
  invalidCatalog: 'InvalidCatalog',
  errorReconciliationRetryTimeout: 'ErrorReconciliationRetryTimeout',
  errorDeletingClass: (scope: CatalogScope) => `ErrorDeleting${scope.class.kind}`,
  errorDeletingPlan: (scope: CatalogScope) => `ErrorDeleting${scope.plan.kind}`,
  deleted: (scope: CatalogScope) => `Deleted${scope.broker.kind}Successfully`,
} as const;

const messages = {
  fetchedCatalog: 'Successfully fetched catalog entries from broker.',
  errorFetchingCatalog: 'Error fetching catalog. ',
  errorSyncingCatalog: (scope: CatalogScope) => `Error syncing catalog from ${scope.broker.kind}. `,
  retryTimeout: 'Stopping reconciliation retries because too much time has elapsed',
} as const;

const keptNote = 'the classes and plans it had are kept';

export type Broker = BrokerLike & { status?: CommonServiceBrokerStatus };

/** Concurrent calls per reconcile: enough to write a large catalog in a few round trips. */
const WRITE_CONCURRENCY = 32;

/** Runs fn over items, `limit` at a time; every item runs, and the failures are thrown together. */
async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const run = pLimit(limit);
  const results = await Promise.allSettled(items.map((item) => run(() => fn(item))));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new Error(errors.map((e) => (e as Error).message).join('; '));
}

/** An Event for each new Ready reason or message: Normal once the catalog is fetched, else a Warning. */
const conditionEvents: ConditionEvents<BrokerCondition> = {
  types: ['Ready'],
  eventType: (now) => (now.status === 'True' ? 'Normal' : 'Warning'),
};

function gauge(registry: Registry, name: string, help: string): Gauge<'broker'> {
  return (
    (registry.getSingleMetric(name) as Gauge<'broker'> | undefined) ??
    new Gauge({ name, help, labelNames: ['broker'], registers: [registry] })
  );
}

/** The key of a broker's client in ctx.brokerClients: its kind and its key (namespace/name or name). */
export const brokerClientKey = (kind: string, key: string) => `${kind}:${key}`;

/**
 * Reconciles the brokers of one scope (ClusterServiceBroker or ServiceBroker): fetches the catalog
 * on create, on spec changes (relistRequests included: it bumps the generation) and every
 * relistDuration (relistBehavior Duration), writes it as classes and plans the broker owns, flags
 * those gone from the catalog, and on delete removes them before dropping the finalizer.
 */
class BrokerReconciler {
  readonly brokers: SharedInformer<Broker>;
  readonly classes: SharedInformer<Entry>;
  readonly plans: SharedInformer<Entry>;
  private readonly classCount: Gauge<'broker'>;
  private readonly planCount: Gauge<'broker'>;
  /**
   * Our own last status write needs no reconcile (a failure is retried with backoff, a success
   * relists on its timer), and is kept until the next reconcile: a resync of it would otherwise
   * retry a failing broker at once.
   */
  readonly writer: StatusWriter<Broker>;

  constructor(
    private readonly ctx: ControllerContext,
    readonly scope: CatalogScope,
    /** Queues a broker for reconciling. */
    enqueue: (key: string) => void,
  ) {
    this.brokers = ctx.informers.for<Broker>(scope.broker);
    this.classes = ctx.informers.for<Entry>(scope.class);
    this.plans = ctx.informers.for<Entry>(scope.plan);
    this.classCount = gauge(
      ctx.metrics,
      'servicecatalog_broker_service_class_count',
      'Classes the broker offers here (after catalog restrictions), by broker (namespace/name for ServiceBrokers).',
    );
    this.planCount = gauge(
      ctx.metrics,
      'servicecatalog_broker_service_plan_count',
      'Plans the broker offers here (after catalog restrictions), by broker (namespace/name for ServiceBrokers).',
    );
    this.writer = new StatusWriter<Broker>(ctx, {
      type: scope.broker,
      enqueue,
      forgetOnceCached: false,
      onWritten: (before, after) => recordConditionEvents(ctx.recorder, before, after, conditionEvents),
    });
  }

  private get kind() {
    return this.scope.broker.kind;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const broker = this.writer.current(key, this.brokers.get(namespace, name));
    if (!broker) {
      this.forget(key);
      return {};
    }
    if (broker.metadata.deletionTimestamp) return this.finalize(key, broker);
    const due = this.due(broker, Date.now());
    if (due !== true) return due;
    return this.refresh(key, broker);
  }

  private forget(key: string): void {
    this.writer.forget(key);
    this.ctx.brokerClients.remove(brokerClientKey(this.kind, key));
    this.classCount.remove({ broker: key });
    this.planCount.remove({ broker: key });
  }

  private relistIntervalMs(broker: Broker): number {
    const d = broker.spec?.relistDuration;
    const ms = d ? parseDuration(d) : undefined;
    return ms !== undefined && ms > 0 ? ms : this.ctx.options.brokerRelistIntervalMs;
  }

  /** True when the catalog should be fetched now; otherwise when to look again (if ever). */
  private due(broker: Broker, now: number): true | ReconcileResult {
    const status = broker.status ?? {};
    if ((broker.metadata.generation ?? 0) !== (status.reconciledGeneration ?? 0)) return true;
    if (!status.conditions?.length) return true;
    if (conditionOf(broker, 'Ready')?.status !== 'True') {
      // retries gave up (reconciliationRetryDuration): wait for a spec change
      return conditionOf(broker, 'Failed')?.status === 'True' ? {} : true;
    }
    return this.nextRelist(broker, now);
  }

  private nextRelist(broker: Broker, now: number): true | ReconcileResult {
    if (broker.spec?.relistBehavior === 'Manual') return {};
    const last = Date.parse(broker.status?.lastCatalogRetrievalTime ?? '');
    if (Number.isNaN(last)) return true;
    const wait = last + this.relistIntervalMs(broker) - now;
    return wait <= 0 ? true : { requeueAfterMs: wait };
  }

  /** Fetches, checks and writes the catalog, then records the outcome on the broker. */
  private async refresh(key: string, broker: Broker): Promise<ReconcileResult> {
    let client: OSBClient;
    try {
      client = await this.ctx.brokerClients.get(brokerClientKey(this.kind, key), broker);
    } catch (e) {
      if (e instanceof AuthCredentialsError) {
        return this.fail(
          key,
          broker,
          reasons.errorAuthCredentials,
          `Error getting broker auth credentials: ${e.message}`,
        );
      }
      return this.fail(
        key,
        broker,
        reasons.errorFetchingCatalog,
        `${messages.errorFetchingCatalog}Error creating client for broker "${key}": ${(e as Error).message}`,
      );
    }
    let catalog: Catalog;
    try {
      catalog = (await client.getCatalog()).body;
    } catch (e) {
      // a JSON body that is not a catalog (fields missing or of the wrong type) is an invalid catalog
      if (isOSBError(e) && e.malformedBody && e.httpStatus === 200 && typeof e.body === 'object') {
        return this.fail(
          key,
          broker,
          reasons.invalidCatalog,
          `The broker's catalog is invalid; ${keptNote}: ${e.description}`,
        );
      }
      return this.fail(
        key,
        broker,
        reasons.errorFetchingCatalog,
        `${messages.errorFetchingCatalog}Error getting broker catalog: ${(e as Error).message}`,
      );
    }

    const violations = validateCatalog(catalog);
    if (violations.length) {
      const n = violations.length;
      return this.fail(
        key,
        broker,
        reasons.invalidCatalog,
        `The broker's catalog is invalid (${n} problem${n === 1 ? '' : 's'}); ${keptNote}: ${violations.join('; ')}`,
      );
    }

    let counts: { classes: number; plans: number };
    try {
      counts = await this.sync(broker, catalog);
    } catch (e) {
      return this.fail(
        key,
        broker,
        reasons.errorSyncingCatalog,
        `${messages.errorSyncingCatalog(this.scope)}${(e as Error).message}`,
      );
    }

    const now = rfc3339(Date.now());
    const generation = broker.metadata.generation ?? 0;
    await this.writer.write(broker, (s) => {
      setCondition(s, 'Ready', 'True', reasons.fetchedCatalog, messages.fetchedCatalog, now);
      if (conditionOf({ status: s }, 'Failed')) {
        setCondition(s, 'Failed', 'False', reasons.fetchedCatalog, messages.fetchedCatalog, now);
      }
      s.reconciledGeneration = generation;
      s.lastCatalogRetrievalTime = now;
      delete s.operationStartTime;
    });
    this.classCount.set({ broker: key }, counts.classes);
    this.planCount.set({ broker: key }, counts.plans);
    if (broker.spec?.relistBehavior === 'Manual') return {};
    return { requeueAfterMs: this.relistIntervalMs(broker) };
  }

  /**
   * Records a failed attempt (Ready False with the reason) and asks for a retry with backoff, or,
   * once the attempts have gone on longer than --reconciliation-retry-duration, sets Failed and
   * stops retrying until the spec changes.
   */
  private async fail(key: string, broker: Broker, reason: string, message: string): Promise<ReconcileResult> {
    this.ctx.log.info({ [this.kind]: key, reason, message }, 'broker catalog not refreshed');
    const nowMs = Date.now();
    const now = rfc3339(nowMs);
    const started = Date.parse(broker.status?.operationStartTime ?? '');
    const givingUp =
      !Number.isNaN(started) && nowMs - started >= this.ctx.options.reconciliationRetryDurationMs;
    const generation = broker.metadata.generation ?? 0;
    await this.writer.write(broker, (s) => {
      setCondition(s, 'Ready', 'False', reason, message, now);
      if (givingUp) {
        setCondition(
          s,
          'Failed',
          'True',
          reasons.errorReconciliationRetryTimeout,
          messages.retryTimeout,
          now,
        );
        delete s.operationStartTime;
        s.reconciledGeneration = generation;
      } else {
        s.operationStartTime ??= now;
      }
    });
    if (givingUp) {
      this.ctx.recorder.event(
        broker,
        'Warning',
        reasons.errorReconciliationRetryTimeout,
        messages.retryTimeout,
      );
      return {};
    }
    return { requeue: true };
  }

  // -------------------------------------------------------------------------------------------
  // Classes and plans

  /** The classes or plans that name this broker (the broker's own, and any a user made for it). */
  private entriesOf(informer: SharedInformer<Entry>, broker: Broker): Entry[] {
    const name = broker.metadata.name;
    return informer
      .list(this.scope.namespaced ? broker.metadata.namespace : undefined)
      .filter((e) => e.spec?.[this.scope.brokerNameField] === name);
  }

  /** Writes the catalog: classes first, then plans; flags what the catalog no longer has. */
  private async sync(broker: Broker, catalog: Catalog): Promise<{ classes: number; plans: number }> {
    const existingClasses = this.entriesOf(this.classes, broker);
    const existingPlans = this.entriesOf(this.plans, broker);
    const byId = (entries: Entry[]) => {
      const m = new Map<string, Entry>();
      for (const e of entries) if (typeof e.spec?.externalID === 'string') m.set(e.spec.externalID, e);
      return m;
    };
    const classesById = byId(existingClasses);
    const plansById = byId(existingPlans);
    const names = (m: Map<string, Entry>) => new Map([...m].map(([id, e]) => [id, e.metadata.name!]));
    const desired = convertCatalog(
      this.scope,
      broker.metadata.name!,
      catalog,
      broker.spec?.catalogRestrictions,
      names(classesById),
      names(plansById),
    );
    await forEachLimit(desired.classes, WRITE_CONCURRENCY, (d) =>
      this.upsert(
        this.scope.class,
        this.classes,
        classCatalogFields,
        broker,
        d,
        classesById.get(d.externalID),
      ),
    );
    await forEachLimit(desired.plans, WRITE_CONCURRENCY, (d) =>
      this.upsert(this.scope.plan, this.plans, planCatalogFields, broker, d, plansById.get(d.externalID)),
    );
    const keepClasses = new Set(desired.classes.map((d) => d.externalID));
    const keepPlans = new Set(desired.plans.map((d) => d.externalID));
    const gone = [
      ...existingClasses
        .filter((e) => !keepClasses.has(String(e.spec?.externalID)))
        .map((e) => [this.scope.class, e] as const),
      ...existingPlans
        .filter((e) => !keepPlans.has(String(e.spec?.externalID)))
        .map((e) => [this.scope.plan, e] as const),
    ].filter(([, e]) => isManaged(e) && !e.status?.removedFromBrokerCatalog);
    await forEachLimit(gone, WRITE_CONCURRENCY, async ([type, e]) => {
      await this.ctx.updateStatus<Entry>(type, e, (latest) => {
        latest.status = { ...(latest.status ?? {}), removedFromBrokerCatalog: true };
      });
    });
    return { classes: desired.classes.length, plans: desired.plans.length };
  }

  /** Creates a class or plan, or brings an existing one up to the catalog (keeping user fields). */
  private async upsert(
    type: ResourceType,
    informer: SharedInformer<Entry>,
    fields: readonly string[],
    broker: Broker,
    desired: DesiredEntry,
    existing: Entry | undefined,
  ): Promise<void> {
    const namespace = this.scope.namespaced ? broker.metadata.namespace : undefined;
    if (!existing) {
      const other = informer.get(namespace, desired.name);
      if (other) existing = this.claimable(type, broker, desired, other);
    }
    if (!existing) {
      try {
        await this.ctx.client.create<Entry>(type, {
          metadata: {
            name: desired.name,
            ...(namespace ? { namespace } : {}),
            ownerReferences: ownedBy(this.scope, {}, broker),
          },
          spec: desired.spec,
        });
        return;
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        // made since our cache was filled (a previous sync whose writes we have not seen yet)
        const current = await this.ctx.client.get<Entry>(type, namespace, desired.name);
        if (!current) throw e;
        existing = this.claimable(type, broker, desired, current);
      }
    }
    for (let attempt = 1; ; attempt++) {
      const spec: Record<string, unknown> = { ...(existing.spec ?? {}) };
      for (const f of fields) {
        if (desired.spec[f] === undefined) delete spec[f];
        else spec[f] = desired.spec[f];
      }
      for (const [k, v] of Object.entries(desired.spec)) if (!fields.includes(k)) spec[k] = v;
      const owned = isOwnedBy(this.scope, existing.metadata, broker);
      if (jsonEqual(spec, existing.spec) && owned) break;
      try {
        existing = await this.ctx.client.update<Entry>(type, {
          ...existing,
          metadata: { ...existing.metadata, ownerReferences: ownedBy(this.scope, existing.metadata, broker) },
          spec,
        });
        break;
      } catch (e) {
        if (!isConflict(e) || attempt >= 5) throw e;
        const current = await this.ctx.client.get<Entry>(type, namespace, desired.name);
        if (!current) throw e;
        existing = current;
      }
    }
    if (existing.status?.removedFromBrokerCatalog) {
      await this.ctx.updateStatus<Entry>(type, existing, (latest) => {
        latest.status = { ...(latest.status ?? {}), removedFromBrokerCatalog: false };
      });
    }
  }

  /** An object already named like a new entry is ours to update only if it is this broker's, for the same id. */
  private claimable(type: ResourceType, broker: Broker, desired: DesiredEntry, other: Entry): Entry {
    const owner = other.spec?.[this.scope.brokerNameField];
    if (owner !== broker.metadata.name) {
      throw new Error(`${type.kind} "${desired.name}" already exists for broker "${String(owner)}"`);
    }
    if (other.spec?.externalID !== desired.externalID) {
      throw new Error(
        `${type.kind} "${desired.name}" already exists with OSB id "${String(other.spec?.externalID)}", received id "${desired.externalID}"`,
      );
    }
    return other;
  }

  // -------------------------------------------------------------------------------------------
  // Deletion

  /** Deletes the broker's plans, then its classes, then lets the broker go. */
  private async finalize(key: string, broker: Broker): Promise<ReconcileResult> {
    if (!(broker.metadata.finalizers ?? []).includes(FINALIZER)) {
      this.forget(key);
      return {};
    }
    // from the server, not the cache: entries written moments ago must not be left behind
    const list = (type: ResourceType) =>
      this.ctx.client
        .list<Entry>(type, broker.metadata.namespace, {
          fieldSelector: `spec.${this.scope.brokerNameField}=${broker.metadata.name}`,
        })
        .then((l) => l.items);
    const [plans, classes] = await Promise.all([list(this.scope.plan), list(this.scope.class)]);
    for (const [type, items, reason, what] of [
      [this.scope.plan, plans, reasons.errorDeletingPlan(this.scope), 'plans'],
      [this.scope.class, classes, reasons.errorDeletingClass(this.scope), 'classes'],
    ] as const) {
      try {
        await forEachLimit(items, WRITE_CONCURRENCY, (e) =>
          this.ctx.client.delete(type, e.metadata.namespace, e.metadata.name!),
        );
      } catch (e) {
        const message = `Error deleting ${what} of the broker: ${(e as Error).message}`;
        await this.writer.write(broker, (s) =>
          setCondition(s, 'Ready', 'Unknown', reason, message, rfc3339(Date.now())),
        );
        return { requeue: true };
      }
    }
    broker = (await removeFinalizer(this.ctx.client, this.scope.broker, broker)) ?? broker;
    this.ctx.recorder.event(
      broker,
      'Normal',
      reasons.deleted(this.scope),
      `The broker ${broker.metadata.name} was deleted successfully.`,
    );
    this.forget(key);
    return {};
  }
}

/**
 * Deletes classes and plans flagged removedFromBrokerCatalog once no ServiceInstance refers to
 * them (spec.*ClassRef / spec.*PlanRef), looking again whenever an instance changes.
 */
class RemovedEntryReconciler {
  readonly classes: SharedInformer<Entry>;
  readonly plans: SharedInformer<Entry>;
  readonly instances: SharedInformer<ServiceInstance>;

  constructor(
    private readonly ctx: ControllerContext,
    readonly scope: CatalogScope,
  ) {
    this.classes = ctx.informers.for<Entry>(scope.class);
    this.plans = ctx.informers.for<Entry>(scope.plan);
    this.instances = ctx.informers.for<ServiceInstance>(serviceInstanceResource);
  }

  static key(kind: 'class' | 'plan', obj: KubeObject): string {
    return `${kind}:${keyOf(obj)}`;
  }

  /** Keys of the flagged entries an instance refers to. */
  keysFor(instance: ServiceInstance): string[] {
    const spec = (instance.spec ?? {}) as Record<string, { name?: string } | undefined>;
    const ns = this.scope.namespaced ? instance.metadata.namespace : undefined;
    const out: string[] = [];
    for (const [kind, informer, field] of [
      ['class', this.classes, this.scope.classRefField],
      ['plan', this.plans, this.scope.planRefField],
    ] as const) {
      const name = spec[field]?.name;
      const entry = name ? informer.get(ns, name) : undefined;
      if (entry?.status?.removedFromBrokerCatalog) out.push(RemovedEntryReconciler.key(kind, entry));
    }
    return out;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const i = key.indexOf(':');
    const kind = key.slice(0, i) as 'class' | 'plan';
    const { namespace, name } = splitKey(key.slice(i + 1));
    const [type, informer, field] =
      kind === 'class'
        ? [this.scope.class, this.classes, this.scope.classRefField]
        : [this.scope.plan, this.plans, this.scope.planRefField];
    const entry = informer.get(namespace, name);
    if (!entry?.status?.removedFromBrokerCatalog || entry.metadata.deletionTimestamp) return {};
    const inUse = this.instances
      .list(this.scope.namespaced ? namespace : undefined)
      .some(
        (inst) => ((inst.spec ?? {}) as Record<string, { name?: string } | undefined>)[field]?.name === name,
      );
    if (inUse) return {};
    this.ctx.log.info(
      { [type.kind]: key.slice(i + 1) },
      'removed from the broker catalog and unused; deleting',
    );
    await this.ctx.client.delete(type, namespace, name);
    return {};
  }
}

/**
 * Starts the broker controller of one scope, and the controller deleting that scope's classes and
 * plans that left the catalog once unused. Workers start once the informers they read have synced.
 */
function startBrokerController(ctx: ControllerContext, scope: CatalogScope): RunningController {
  const name = scope.broker.kind;
  const opts = {
    workers: ctx.options.concurrentSyncs,
    limiter: ctx.limiter,
    log: ctx.log,
    metrics: ctx.controllerMetrics,
  };
  const brokerController: Controller = new Controller(name, (key) => brokers.reconcile(key), opts);
  const brokers = new BrokerReconciler(ctx, scope, (key) => brokerController.enqueue(key));
  const removed = new RemovedEntryReconciler(ctx, scope);
  const secrets = ctx.informers.for<Secret>(secretResource);
  const removedController = new Controller(
    `${scope.class.kind}+${scope.plan.kind}`,
    (key) => removed.reconcile(key),
    opts,
  );

  brokers.brokers.onChange((b) => brokers.writer.observe(b));
  // a Secret appearing or changing may be what a broker waits for
  secrets.onChange((secret) => {
    const { namespace, name: secretName } = secret.metadata;
    for (const b of brokers.brokers.list()) {
      const ref = authSecretRef(b);
      if (ref && ref.namespace === namespace && ref.name === secretName) brokerController.enqueue(keyOf(b));
    }
  });
  removed.classes.onChange((c) => {
    if (c.status?.removedFromBrokerCatalog) removedController.enqueue(RemovedEntryReconciler.key('class', c));
  });
  removed.plans.onChange((p) => {
    if (p.status?.removedFromBrokerCatalog) removedController.enqueue(RemovedEntryReconciler.key('plan', p));
  });
  removed.instances.onChange((inst) => removed.keysFor(inst).forEach((k) => removedController.enqueue(k)));

  return runWhenSynced(
    name,
    [brokers.brokers, brokers.classes, brokers.plans, removed.instances, secrets],
    ctx.options.resyncIntervalMs,
    [brokerController, removedController],
  );
}

export const startClusterServiceBrokerController = (ctx: ControllerContext) =>
  startBrokerController(ctx, clusterScope);
export const startServiceBrokerController = (ctx: ControllerContext) =>
  startBrokerController(ctx, namespacedScope);
