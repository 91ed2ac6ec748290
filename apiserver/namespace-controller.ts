import type { KubeObject } from '../api-types/meta';
import { kubernetesFinalizer, type NamespaceCondition } from '../api-types/core';
import { Registry } from 'prom-client';
import { Controller, controllerMetrics, type ReconcileResult } from '../pkg/controller/controller';
import type { Logger } from '../pkg/logging';
import type { Subscription } from '../pkg/storage';
import type { RequestContext } from './strategy/strategy';
import { StatusError } from '../pkg/apierrors';
import type { Store } from './rest/store';
import { rfc3339 } from '../pkg/time';

/**
 * The namespace lifecycle controller of standalone mode, after kube-controller-manager's namespace
 * controller: a namespace being deleted has every object in it deleted through the stores (so
 * objects with finalizers wait for them), and once nothing is left its `kubernetes` finalizer goes,
 * which lets the namespace itself go. It also creates the namespaces every cluster has.
 */

export interface NamespaceControllerOptions {
  /** Every store of the server; the one serving core/v1 namespaces is required. */
  stores: Iterable<Store>;
  logger: Logger;
  /** Where the reconcile counters go (a registry of its own when not given). */
  metrics?: Registry;
  /** How often namespaces being deleted are checked again while some remain (ms). */
  resyncMs?: number;
  /** Namespaces created at start when missing. */
  systemNamespaces?: string[];
}

export interface NamespaceController {
  /** Resolves once the first pass (system namespaces, namespaces already being deleted) is done. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export const defaultSystemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

const controllerUser: RequestContext['user'] = {
  username: 'system:serviceaccount:kube-system:namespace-controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
};

const allItems = { labelSelector: '', fieldSelector: '', allowWatchBookmarks: false };

const isNotFound = (e: unknown) => e instanceof StatusError && e.code === 404;
const isConflict = (e: unknown) => e instanceof StatusError && e.code === 409;

const specFinalizers = (ns: KubeObject): string[] =>
  ((ns.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).slice();

/** What one pass over a namespace's content found. */
interface ContentReport {
  /** Objects still there, by resource. */
  remaining: Map<string, number>;
  /** Objects still there, by the finalizers they wait for. */
  finalizers: Map<string, number>;
  errors: string[];
}

export function startNamespaceController(opts: NamespaceControllerOptions): NamespaceController {
  const log = opts.logger;
  const all = [...opts.stores];
  const found = all.find((r) => r.def.group === '' && r.def.plural === 'namespaces');
  if (!found) throw new Error('the namespace controller needs the core/v1 namespaces resource');
  const namespaces: Store = found;
  const content = all.filter((r) => r.def.namespaced);
  const resyncMs = opts.resyncMs ?? 2000;

  let stopped = false;
  /** Namespaces being deleted that still hold our finalizer. */
  const terminating = new Set<string>();
  let relistTimer: NodeJS.Timeout | undefined;
  const subscriptions: Subscription[] = [];

  // one namespace per key; one worker, so that passes over the store never overlap
  const controller = new Controller('namespace', (name) => reconcile(name), {
    workers: 1,
    limiter: { baseDelayMs: resyncMs, maxDelayMs: 30_000, qps: 10, burst: 100 },
    log,
    metrics: controllerMetrics(opts.metrics ?? new Registry()),
  });

  /** Looks at a namespace being deleted again until nothing in it needs us. */
  async function reconcile(name: string): Promise<ReconcileResult> {
    terminating.add(name);
    if (await syncNamespace(name)) {
      terminating.delete(name);
      return {};
    }
    // content waits for finalizers: check again
    return { requeueAfterMs: resyncMs };
  }

  /** Queues every namespace being deleted; without a watch cache nothing else tells us, so it repeats. */
  async function relist(): Promise<void> {
    const { items } = await namespaces.list(undefined, allItems);
    for (const ns of items) {
      if (ns.metadata.deletionTimestamp && specFinalizers(ns).includes(kubernetesFinalizer)) {
        terminating.add(ns.metadata.name!);
        controller.enqueue(ns.metadata.name!);
      }
    }
  }

  const relistSoon = () => {
    if (stopped || namespaces.cache) return;
    relistTimer = setTimeout(() => {
      relist()
        .catch((e: Error) => log.warn({ err: e.message }, 'namespace controller cannot list namespaces'))
        .finally(relistSoon);
    }, resyncMs);
    relistTimer.unref();
  };

  /** Deletes what is left in a namespace being deleted; true once it no longer needs us. */
  async function syncNamespace(name: string): Promise<boolean> {
    let ns: KubeObject;
    try {
      ns = await namespaces.get(undefined, name);
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
    if (!ns.metadata.deletionTimestamp || !specFinalizers(ns).includes(kubernetesFinalizer)) return true;
    const report = await deleteContent(name);
    if (stopped) return false;
    await setConditions(ns, report);
    if (report.remaining.size > 0 || report.errors.length > 0) return false;
    try {
      await finalize(name);
      log.info({ namespace: name }, 'namespace emptied and finalized');
      return true;
    } catch (e) {
      if (isNotFound(e)) return true;
      if (isConflict(e)) return false; // changed meanwhile: the next pass retries
      throw e;
    }
  }

  async function deleteContent(namespace: string): Promise<ContentReport> {
    const report: ContentReport = { remaining: new Map(), finalizers: new Map(), errors: [] };
    const ctx: RequestContext = { user: controllerUser, namespace, dryRun: false };
    for (const store of content) {
      if (stopped) break;
      const resource = store.def.group ? `${store.def.plural}.${store.def.group}` : store.def.plural;
      let items: KubeObject[];
      try {
        items = (await store.list(namespace, allItems)).items;
      } catch (e) {
        report.errors.push(`${resource}: ${(e as Error).message}`);
        continue;
      }
      for (const obj of items) {
        try {
          if (!obj.metadata.deletionTimestamp)
            await store.delete(namespace, obj.metadata.name!, { dryRun: false }, ctx);
        } catch (e) {
          if (isNotFound(e)) continue;
          report.errors.push(`${resource} "${obj.metadata.name}": ${(e as Error).message}`);
        }
        // an object with finalizers stays until its controllers remove them
        const finalizers = obj.metadata.finalizers ?? [];
        if (finalizers.length === 0) continue;
        report.remaining.set(resource, (report.remaining.get(resource) ?? 0) + 1);
        for (const f of finalizers) report.finalizers.set(f, (report.finalizers.get(f) ?? 0) + 1);
      }
    }
    return report;
  }

  /** Removes our finalizer through namespaces/finalize; the store deletes the namespace when none is left. */
  async function finalize(name: string): Promise<void> {
    const ns = await namespaces.get(undefined, name);
    const finalizers = specFinalizers(ns).filter((f) => f !== kubernetesFinalizer);
    const body = { ...structuredClone(ns), spec: { ...(ns.spec as object), finalizers } };
    await namespaces.update(
      undefined,
      name,
      body,
      { user: controllerUser, dryRun: false },
      'Ignore',
      'finalize',
    );
  }

  /** The deletion conditions kube's controller reports on status, so `kubectl describe ns` says what blocks. */
  async function setConditions(ns: KubeObject, report: ContentReport): Promise<void> {
    const list = (m: Map<string, number>) =>
      [...m]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, n]) => `${k} has ${n} resource instances`)
        .join(', ');
    const finalizerList = [...report.finalizers]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([f, n]) => `${f} in ${n} resource instances`)
      .join(', ');
    const wanted: Array<Omit<NamespaceCondition, 'lastTransitionTime'>> = [
      report.errors.length > 0
        ? {
            type: 'NamespaceDeletionContentFailure',
            status: 'True',
            reason: 'ContentDeletionFailed',
            message: `Failed to delete all resource types, ${report.errors.length} remaining: ${report.errors.join(', ')}`,
          }
        : {
            type: 'NamespaceDeletionContentFailure',
            status: 'False',
            reason: 'ContentDeleted',
            message: 'All content successfully deleted, may be waiting on finalization',
          },
      report.remaining.size > 0
        ? {
            type: 'NamespaceContentRemaining',
            status: 'True',
            reason: 'SomeResourcesRemain',
            message: `Some resources are remaining: ${list(report.remaining)}`,
          }
        : {
            type: 'NamespaceContentRemaining',
            status: 'False',
            reason: 'ContentRemoved',
            message: 'All content successfully removed',
          },
      report.finalizers.size > 0
        ? {
            type: 'NamespaceFinalizersRemaining',
            status: 'True',
            reason: 'SomeFinalizersRemain',
            message: `Some content in the namespace has finalizers remaining: ${finalizerList}`,
          }
        : {
            type: 'NamespaceFinalizersRemaining',
            status: 'False',
            reason: 'ContentHasNoFinalizers',
            message: 'All content-preserving finalizers finished',
          },
    ];
    const status = (ns.status ?? {}) as { phase?: string; conditions?: NamespaceCondition[] };
    const current = status.conditions ?? [];
    let changed = false;
    const conditions = current.filter((c) => !wanted.some((w) => w.type === c.type));
    for (const w of wanted) {
      const old = current.find((c) => c.type === w.type);
      if (old && old.status === w.status && old.reason === w.reason && old.message === w.message) {
        conditions.push(old);
        continue;
      }
      changed = true;
      conditions.push({
        ...w,
        lastTransitionTime: old && old.status === w.status ? old.lastTransitionTime : rfc3339(),
      });
    }
    if (!changed) return;
    const body = { ...structuredClone(ns), status: { ...status, conditions } };
    try {
      await namespaces.update(
        undefined,
        ns.metadata.name!,
        body,
        { user: controllerUser, dryRun: false },
        'Ignore',
        'status',
      );
    } catch (e) {
      // conditions are informative: a conflict or a namespace gone meanwhile is fixed by the next pass
      if (!isConflict(e) && !isNotFound(e)) throw e;
    }
  }

  async function createSystemNamespaces(): Promise<void> {
    for (const name of opts.systemNamespaces ?? defaultSystemNamespaces) {
      try {
        await namespaces.create(
          undefined,
          { metadata: { name } },
          { user: controllerUser, dryRun: false },
          'Ignore',
        );
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 409)) throw e;
      }
    }
  }

  /** Namespaces being deleted wake the controller, and so does every deletion inside one. */
  const subscribe = (store: Store, wake: (obj: KubeObject, type: string) => string | undefined) => {
    const cache = store.cache;
    if (!cache) return;
    const start = () => {
      if (stopped) return;
      try {
        subscriptions.push(
          cache.watch(cache.revision, {
            send: (ev) => {
              const name = wake(ev.object, ev.type);
              if (name !== undefined) controller.enqueue(name);
            },
            // the cache re-listed: events may be lost, so subscribe again and look at everything
            close: () =>
              void cache.ready
                .then(() => {
                  start();
                  return relist();
                })
                .catch((e: Error) =>
                  log.warn({ err: e.message }, 'namespace controller cannot list namespaces'),
                ),
          }),
        );
      } catch (e) {
        log.warn(
          { err: (e as Error).message, resource: store.def.plural },
          'namespace controller cannot watch',
        );
      }
    };
    start();
  };

  const ready = (async () => {
    await Promise.all(all.flatMap((r) => (r.cache ? [r.cache.ready] : [])));
    subscribe(namespaces, (obj, type) =>
      type !== 'DELETED' && obj.metadata.deletionTimestamp !== undefined ? obj.metadata.name : undefined,
    );
    for (const store of content) {
      subscribe(store, (obj, type) => {
        const ns = obj.metadata.namespace ?? '';
        return type === 'DELETED' && terminating.has(ns) ? ns : undefined;
      });
    }
    try {
      await createSystemNamespaces();
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'cannot create the system namespaces');
    }
    if (stopped) return;
    controller.run();
    try {
      await relist();
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'namespace controller cannot list namespaces');
    }
    relistSoon();
  })();

  return {
    ready,
    async stop() {
      stopped = true;
      if (relistTimer) clearTimeout(relistTimer);
      for (const s of subscriptions) s.unsubscribe();
      await ready.catch(() => undefined);
      await controller.stop();
    },
  };
}
