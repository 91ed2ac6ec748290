import {
  clusterServiceBrokerResource,
  clusterServiceClassResource,
  clusterServicePlanResource,
  serviceBindingResource,
  serviceBrokerResource,
  serviceClassResource,
  serviceInstanceResource,
  servicePlanResource,
  type ServiceBinding,
} from '../../api-types';
import { namespaceResource, secretResource, type Namespace, type Secret } from '../../api-types/core';
import { keyOf, splitKey } from '../../pkg/kube/informers';
import type { ControllerContext, RunningController } from '../context';
import { conditionOf, isTrue, recordConditionEvents } from '../framework/conditions';
import { Controller, runWhenSynced, type ReconcileResult } from '../framework/controller';
import { asyncOperationsGauge, conditionsGauge } from '../framework/metrics';
import { StatusWriter } from '../framework/status';
import type { RateLimiterOptions } from '../framework/queue';
import type { ControllerStarter } from './';
import type { Broker } from './broker';
import { instanceParameters, instanceRef, isProblem, type InstanceEnv } from './instance-catalog';
import { scopeOf } from '../../pkg/servicecatalog/references';
import { abandon, finalize, isAbandoned, orphanMitigate } from './instance-deprovision';
import { poll } from './instance-poll';
import { provision, recordMaintenance, report } from './instance-provision';
import { clearOperation, conditionEvents, type Instance } from './instance-status';
import { recordedChecksum, update } from './instance-update';
import { FINALIZER } from '../../pkg/servicecatalog/constants';
import {
  type CatalogScope,
  clusterScope,
  type Entry,
  namespacedScope,
} from '../../pkg/servicecatalog/references';

/**
 * Reconciles ServiceInstances, one step per pass: resolve the class and plan, then provision,
 * update, poll an asynchronous operation, mitigate an orphan, or deprovision on delete. Every
 * operation is recorded in status before the broker is called, so a controller restarted in the
 * middle re-sends the same request (or polls) instead of starting a second one.
 */
class InstanceReconciler {
  readonly env: InstanceEnv;
  /** Our own last write needs no reconcile, and is kept until the next one (resyncs pass over it). */
  private readonly writer: StatusWriter<Instance>;

  constructor(
    ctx: ControllerContext,
    enqueue: (key: string) => void,
    limiter: RateLimiterOptions = ctx.limiter,
  ) {
    const { informers } = ctx;
    this.writer = new StatusWriter<Instance>(ctx, {
      type: serviceInstanceResource,
      enqueue,
      forgetOnceCached: false,
      onWritten: (before, after) => recordConditionEvents(ctx.recorder, before, after, conditionEvents),
    });
    this.env = {
      ctx,
      limiter,
      instances: informers.for<Instance>(serviceInstanceResource),
      bindings: informers.for<ServiceBinding>(serviceBindingResource),
      namespaces: informers.for<Namespace>(namespaceResource),
      classes: {
        cluster: informers.for<Entry>(clusterServiceClassResource),
        namespaced: informers.for<Entry>(serviceClassResource),
      },
      plans: {
        cluster: informers.for<Entry>(clusterServicePlanResource),
        namespaced: informers.for<Entry>(servicePlanResource),
      },
      brokers: {
        cluster: informers.for<Broker>(clusterServiceBrokerResource),
        namespaced: informers.for<Broker>(serviceBrokerResource),
      },
      write: (inst, mutate) => this.writer.write(inst, mutate),
      remember: (inst) => this.writer.remember(inst),
      polls: new Map(),
      now: () => Date.now(),
    };
  }

  /**
   * The informer handler: an instance being polled is left to its poll timer (so that Retry-After
   * and the backoff hold), unless it is deleted.
   */
  observe(inst: Instance): void {
    if (inst.status?.asyncOpInProgress && !inst.metadata.deletionTimestamp && this.env.polls.has(keyOf(inst)))
      return;
    this.writer.observe(inst);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const inst = this.writer.current(key, this.env.instances.get(namespace, name));
    if (!inst) {
      this.env.polls.delete(key);
      return {};
    }
    return this.dispatch(inst);
  }

  private async dispatch(inst: Instance): Promise<ReconcileResult> {
    const env = this.env;
    const s = inst.status ?? {};
    if (inst.metadata.deletionTimestamp) {
      if (!(inst.metadata.finalizers ?? []).includes(FINALIZER)) return {};
      if (isAbandoned(inst)) return abandon(env, inst);
      // a provision in flight is halted by the DELETE (the broker MUST stop it); anything else is waited for
      const provisioning = s.currentOperation === 'Provision' && !s.orphanMitigationInProgress;
      if (s.asyncOpInProgress && !provisioning) return poll(env, inst);
      return finalize(env, inst);
    }
    if (s.orphanMitigationInProgress)
      return s.asyncOpInProgress ? poll(env, inst) : orphanMitigate(env, inst);
    if (s.asyncOpInProgress) return poll(env, inst);
    switch (s.currentOperation) {
      case 'Provision':
        return provision(env, inst);
      case 'Update':
        return update(env, inst);
      case 'Deprovision':
        // only a deletion deprovisions; an operation left over without one is over
        await env.write(inst, (st) => clearOperation(st));
        return { requeue: true };
    }
    if (s.provisionStatus === 'Provisioned') return this.maybeUpdate(inst);
    // a failure for good waits for the spec to change
    if (s.observedGeneration === inst.metadata.generation && isTrue(inst, 'Failed')) return {};
    return provision(env, inst);
  }

  private async maybeUpdate(inst: Instance): Promise<ReconcileResult> {
    const env = this.env;
    const s = inst.status ?? {};
    if (s.observedGeneration !== inst.metadata.generation) return update(env, inst);
    if (isTrue(inst, 'Failed')) return this.refreshMaintenance(inst);
    if (conditionOf(inst, 'Ready')?.status !== 'True') return update(env, inst);
    if (inst.spec?.parametersFrom?.length) {
      // a parametersFrom Secret changed: the broker gets what changed
      const built = await instanceParameters(env, inst);
      if (isProblem(built)) return report(env, inst, built);
      if (recordedChecksum(built) !== s.externalProperties?.parameterChecksum) return update(env, inst);
    }
    return this.refreshMaintenance(inst);
  }

  /** Keeps status.upgradeAvailable in step with what the plan offers. */
  private async refreshMaintenance(inst: Instance): Promise<ReconcileResult> {
    const found = scopeOf(inst);
    if (!found) return {};
    const { scope } = found;
    const planName = instanceRef(inst, scope.planRefField);
    const plan = planName
      ? this.env.plans[scope.namespaced ? 'namespaced' : 'cluster'].get(
          scope.namespaced ? inst.metadata.namespace : undefined,
          planName,
        )
      : undefined;
    if (!plan) return {};
    await this.env.write(inst, (st) => recordMaintenance(st, st.externalProperties, plan));
    return {};
  }

  /** Instances to look at again when a class or plan of `scope` changes. */
  instancesFor(scope: CatalogScope, entry: Entry, kind: 'class' | 'plan'): string[] {
    const field = kind === 'class' ? scope.classRefField : scope.planRefField;
    const ns = scope.namespaced ? entry.metadata.namespace : undefined;
    return this.env.instances
      .list(ns)
      .filter((inst) => {
        if (scopeOf(inst)?.scope !== scope) return false;
        const ref = instanceRef(inst, field);
        return !ref || ref === entry.metadata.name;
      })
      .map(keyOf);
  }
}

interface InstanceControllerOptions {
  /** Retry and poll backoff; the manager's (1 s doubling to --operation-polling-maximum-backoff-duration) by default. */
  limiter?: RateLimiterOptions;
}

/** The ServiceInstance controller's starter, with its own backoff when given (tests use short ones). */
export function serviceInstanceController(opts: InstanceControllerOptions = {}): ControllerStarter {
  return (ctx) => startServiceInstanceController(ctx, opts);
}

/** Starts the ServiceInstance controller; workers start once the informers it reads have synced. */
export function startServiceInstanceController(
  ctx: ControllerContext,
  opts: InstanceControllerOptions = {},
): RunningController {
  const name = 'ServiceInstance';
  const limiter = opts.limiter ?? ctx.limiter;
  const controller: Controller = new Controller(name, (key) => reconciler.reconcile(key), {
    workers: ctx.options.concurrentSyncs,
    limiter,
    log: ctx.log,
    metrics: ctx.controllerMetrics,
  });
  const reconciler = new InstanceReconciler(ctx, (key) => controller.enqueue(key), limiter);
  const env = reconciler.env;
  const secrets = ctx.informers.for<Secret>(secretResource);

  env.instances.onChange((inst) => reconciler.observe(inst));
  for (const [scope, which] of [
    [clusterScope, 'cluster'],
    [namespacedScope, 'namespaced'],
  ] as const) {
    env.classes[which].onChange((c) =>
      reconciler.instancesFor(scope, c, 'class').forEach((k) => controller.enqueue(k)),
    );
    env.plans[which].onChange((p) =>
      reconciler.instancesFor(scope, p, 'plan').forEach((k) => controller.enqueue(k)),
    );
  }
  // a binding gone may be what a deletion waits for
  env.bindings.onChange((b) => {
    const target = b.spec?.instanceRef?.name;
    const inst = target ? env.instances.get(b.metadata.namespace, target) : undefined;
    if (inst?.metadata.deletionTimestamp) controller.enqueue(keyOf(inst));
  });
  // a parametersFrom Secret changing updates the instance (or lets a failed build go on)
  secrets.onChange((secret) => {
    for (const inst of env.instances.list(secret.metadata.namespace)) {
      const uses = (inst.spec?.parametersFrom ?? []).some(
        (p) => p.secretKeyRef?.name === secret.metadata.name,
      );
      if (uses && !inst.status?.asyncOpInProgress) controller.enqueue(keyOf(inst));
    }
  });
  conditionsGauge(
    ctx.metrics,
    {
      name: 'servicecatalog_service_instances',
      help: 'ServiceInstances by condition type (Ready, Failed, OrphanMitigation) and status (True, False, Unknown).',
    },
    ['Ready', 'Failed', 'OrphanMitigation'],
    () => env.instances.list(),
  );
  asyncOperationsGauge(
    ctx.metrics,
    name,
    () => env.instances.list().filter((inst) => inst.status?.asyncOpInProgress).length,
  );

  const informers = [
    env.instances,
    env.bindings,
    env.namespaces,
    env.classes.cluster,
    env.classes.namespaced,
    env.plans.cluster,
    env.plans.namespaced,
    env.brokers.cluster,
    env.brokers.namespaced,
    secrets,
  ];
  return runWhenSynced(name, informers, ctx.options.resyncIntervalMs, [controller]);
}
