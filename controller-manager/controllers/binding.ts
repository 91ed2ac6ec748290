import { RetryAfterGate } from '../framework/retry-after';
import { namespaceResource, type Namespace } from '../../api-types/core/namespace';
import { secretResource, type Secret } from '../../api-types/core/secret';
import type { KubeObject } from '../../api-types/meta';
import { serviceBindingResource, type ServiceBinding } from '../../api-types/servicebinding';
import type { ServiceInstance } from '../../api-types/serviceinstance';
import { keyOf, splitKey, type SharedInformer } from '../../pkg/kube/informers';
import type { ControllerContext } from '../context';
import { isTrue, recordConditionEvents } from '../framework/conditions';
import {
  Controller,
  type ReconcileResult,
  type RunningController,
  runWhenSynced,
} from '../../pkg/controller/controller';
import { asyncOperationsGauge, conditionsGauge } from '../framework/metrics';
import { StatusWriter } from '../framework/status';
import type { RateLimiterOptions } from '../../pkg/controller/queue';
import { Binder, rotationDelay } from './binding-bind';
import { addKeysFromSource, BindingSecrets, isControlledBy, secretNameOf } from './binding-secret';
import { conditionEvents, isReconciled } from './binding-status';
import { isTarget, TargetResolver } from './binding-target';
import { Unbinder } from './binding-unbind';

const KIND = 'ServiceBinding';

/** Whether a binding still has work ahead, so that changes it may wait for should queue it. */
const pending = (b: ServiceBinding) =>
  !!b.metadata.deletionTimestamp || !isReconciled(b) || !!b.status?.orphanMitigationInProgress;

/**
 * The ServiceBinding controller: decides per binding what comes next (delete, orphan mitigation,
 * a rotation step, a poll, a bind, a rotation when renewBefore has passed, or nothing) and hands
 * it to the binder (binding-bind.ts) or unbinder (binding-unbind.ts).
 */
class BindingReconciler {
  readonly bindings: SharedInformer<ServiceBinding>;
  readonly secrets: SharedInformer<Secret>;
  readonly namespaces: SharedInformer<Namespace>;
  readonly resolver: TargetResolver;
  readonly writer: StatusWriter<ServiceBinding>;
  private readonly binder: Binder;
  private readonly unbinder: Unbinder;
  /** Bindings with an asynchronous broker operation being polled (the shared gauge's ServiceBinding count). */
  private readonly polling = new Set<string>();

  constructor(ctx: ControllerContext, enqueue: (key: string) => void) {
    this.bindings = ctx.informers.for<ServiceBinding>(serviceBindingResource);
    this.secrets = ctx.informers.for<Secret>(secretResource);
    this.namespaces = ctx.informers.for<Namespace>(namespaceResource);
    this.resolver = new TargetResolver(ctx);
    this.writer = new StatusWriter<ServiceBinding>(ctx, {
      type: serviceBindingResource,
      enqueue,
      forgetOnceCached: true,
      onWritten: (before, after) => recordConditionEvents(ctx.recorder, before, after, conditionEvents),
    });
    const secrets = new BindingSecrets(ctx.client, this.secrets);
    const retryAfter = new RetryAfterGate();
    this.binder = new Binder(ctx, this.writer, this.resolver, secrets, this.namespaces, retryAfter);
    this.unbinder = new Unbinder(
      ctx,
      this.writer,
      this.resolver,
      secrets,
      (key) => this.forget(key),
      retryAfter,
    );
    asyncOperationsGauge(ctx.metrics, KIND, () => this.polling.size);
    // bindings with no condition yet count as Ready "Unknown"
    conditionsGauge(
      ctx.metrics,
      {
        name: 'servicecatalog_service_bindings',
        help: 'ServiceBindings by condition (Ready, Failed) and its status (True, False, Unknown).',
      },
      ['Ready', 'Failed'],
      () => this.bindings.list(),
      ['Ready'],
    );
  }

  informers(): Array<SharedInformer<KubeObject>> {
    return [this.bindings, this.secrets, this.namespaces, ...this.resolver.informers()] as unknown as Array<
      SharedInformer<KubeObject>
    >;
  }

  forget(key: string): void {
    this.writer.forget(key);
    this.setPolling(key, false);
  }

  private setPolling(key: string, on: boolean): void {
    if (on) this.polling.add(key);
    else this.polling.delete(key);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const b = this.writer.current(key, this.bindings.get(namespace, name));
    if (!b) {
      this.forget(key);
      return {};
    }
    try {
      return await this.decide(b);
    } finally {
      const latest = this.writer.current(key, this.bindings.get(namespace, name));
      const s = latest?.status;
      this.setPolling(key, !!latest && (!!s?.asyncOpInProgress || !!s?.rotation?.asyncOpInProgress));
    }
  }

  private async decide(b: ServiceBinding): Promise<ReconcileResult> {
    if (b.metadata.deletionTimestamp) return this.unbinder.finalize(b);
    const s = b.status ?? {};
    if (s.orphanMitigationInProgress) return this.unbinder.mitigate(b);
    if (s.rotation) {
      const t = await this.resolver.resolve(b);
      // the binding keeps working meanwhile: look again later
      if (!isTarget(t)) return { requeue: true };
      return s.rotation.phase === 'Unbind'
        ? this.unbinder.rotationUnbind(b, t, false)
        : this.binder.continueRotation(b, t);
    }
    if (s.currentOperation === 'Bind' && s.asyncOpInProgress) return this.binder.poll(b);
    if (isReconciled(b)) return this.maybeRotate(b);
    return this.binder.bind(b);
  }

  /**
   * Rotation, for plans with bindingRotatable only: once renewBefore has passed, a successor
   * binding replaces the credentials. Never for other plans, nor for a binding not Ready.
   */
  private async maybeRotate(b: ServiceBinding): Promise<ReconcileResult> {
    if (!isTrue(b, 'Ready') || isTrue(b, 'Failed')) return {};
    const s = b.status ?? {};
    const delay = rotationDelay(s, Date.now());
    if (delay === undefined) return {};
    const t = await this.resolver.resolve(b);
    if (!isTarget(t)) return { requeue: true };
    if (!t.rotatable) return {};
    if (delay > 0) return { requeueAfterMs: delay };
    // credentials that were due when the last rotation got them: no hot loop, back off instead
    const last = Date.parse(s.lastRotationTime ?? '');
    if (!Number.isNaN(last) && Date.parse(s.renewBefore ?? '') <= last) return { requeue: true };
    return this.binder.startRotation(b, t);
  }

  // -------------------------------------------------------------------------------------------
  // What else queues a binding

  /** Bindings of an instance that wait for something: the instance becoming Ready, or going away. */
  bindingsOfInstance(instance: ServiceInstance): string[] {
    return this.bindings
      .list(instance.metadata.namespace)
      .filter((b) => b.spec?.instanceRef?.name === instance.metadata.name && pending(b))
      .map(keyOf);
  }

  /** Bindings whose parametersFrom or addKeysFrom read this Secret, or whose secretName it blocks. */
  bindingsOfSecret(secret: Secret): string[] {
    const name = secret.metadata.name;
    const namespace = secret.metadata.namespace!;
    return this.bindings
      .list(namespace)
      .filter((b) => {
        if (!pending(b)) return false;
        if (secretNameOf(b) === name) return !isControlledBy(secret, b);
        if ((b.spec?.parametersFrom ?? []).some((p) => p.secretKeyRef?.name === name)) return true;
        return (b.spec?.secretTransforms ?? []).some((t) => addKeysFromSource(t, namespace)?.name === name);
      })
      .map(keyOf);
  }

  /** Bindings not done yet whose instance uses a class or plan of this name (bindable may have changed). */
  bindingsOfCatalogEntry(entry: KubeObject): string[] {
    const name = entry.metadata.name;
    return this.bindings
      .list(entry.metadata.namespace)
      .filter((b) => {
        if (!pending(b)) return false;
        const spec = this.resolver.instanceOf(b)?.spec ?? {};
        return [
          spec.clusterServiceClassRef,
          spec.clusterServicePlanRef,
          spec.serviceClassRef,
          spec.servicePlanRef,
        ].some((r) => r?.name === name);
      })
      .map(keyOf);
  }
}

interface BindingControllerOptions {
  /** Overrides of the context's retry backoff (tests shorten it). */
  limiter?: Partial<RateLimiterOptions>;
}

/**
 * Starts the ServiceBinding controller. Workers start once the informers it reads have synced.
 */
export function startServiceBindingController(
  ctx: ControllerContext,
  opts: BindingControllerOptions = {},
): RunningController {
  const controller: Controller = new Controller(KIND, (key) => reconciler.reconcile(key), {
    workers: ctx.options.concurrentSyncs,
    limiter: { ...ctx.limiter, ...opts.limiter },
    log: ctx.log,
    metrics: ctx.controllerMetrics,
  });
  const enqueue = (key: string) => controller.enqueue(key);
  const reconciler = new BindingReconciler(ctx, enqueue);

  reconciler.bindings.onChange((b) => reconciler.writer.observe(b));
  reconciler.resolver.instances.onChange((i) => reconciler.bindingsOfInstance(i).forEach(enqueue));
  reconciler.secrets.onChange((s) => reconciler.bindingsOfSecret(s).forEach(enqueue));
  for (const inf of reconciler.resolver.informers()) {
    if (inf === (reconciler.resolver.instances as unknown)) continue;
    inf.onChange((e) => reconciler.bindingsOfCatalogEntry(e).forEach(enqueue));
  }

  return runWhenSynced(KIND, reconciler.informers(), ctx.options.resyncIntervalMs, [controller]);
}

/** A starter with options, for the controller list or tests. */
export const serviceBindingController =
  (opts: BindingControllerOptions = {}) =>
  (ctx: ControllerContext): RunningController =>
    startServiceBindingController(ctx, opts);
