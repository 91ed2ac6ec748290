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
import type { ControllerContext } from '../context';
import { conditionOf, isTrue, recordConditionEvents } from '../framework/conditions';
import {
  Controller,
  type ReconcileResult,
  type RunningController,
  runWhenSynced,
} from '../../pkg/controller/controller';
import { asyncOperationsGauge, conditionsGauge } from '../framework/metrics';
import { StatusWriter } from '../framework/status';
import type { RateLimiterOptions } from '../../pkg/controller/queue';
import type { ControllerStarter } from './';
import type { Broker } from './broker';
import { instanceParameters, instanceRef, isProblem, type InstanceEnv } from './instance-catalog';
import { scopeOf } from '../../pkg/servicecatalog/references';
import { abandon, finalize, isAbandoned, orphanMitigate } from './instance-deprovision';
import { poll } from './instance-poll';
import { provision } from './instance-provision';
import { clearOperation, conditionEvents, type Instance } from './instance-status';
import { recordedChecksum, update } from './instance-update';
import { FINALIZER } from '../../pkg/servicecatalog/constants';
import {
  type CatalogScope,
  clusterScope,
  type Entry,
  namespacedScope,
} from '../../pkg/servicecatalog/references';
import { recordMaintenance, report } from './instance-steps';

/**
 * What an instance needs next. `nextAction` is the one place that decides it; each action is one
 * function that reads top to bottom (provision, update, poll, deprovision...).
 */
export type InstanceAction =
  /** Not ours to act on (our finalizer is gone), or failed for good until the spec changes. */
  | 'none'
  /** Being deleted with the abandon annotation: let it go without calling the broker. */
  | 'abandon'
  /** Being deleted: deprovision (waiting for bindings), then drop the finalizer. */
  | 'deprovision'
  /** An asynchronous operation is in progress: ask the broker how it goes. */
  | 'poll'
  /** A failed provision may have left something at the broker: delete it. */
  | 'orphanMitigate'
  | 'provision'
  | 'update'
  /** A Deprovision recorded without a deletion (an old failure): clear it. */
  | 'clearOperation'
  /** Provisioned and nothing recorded as pending: update if the parameters' Secrets changed. */
  | 'checkParameters'
  /** Provisioned and up to date: keep status.upgradeAvailable in step with the plan. */
  | 'refreshMaintenance';

export function nextAction(inst: Instance): InstanceAction {
  const s = inst.status ?? {};
  if (inst.metadata.deletionTimestamp) {
    if (!(inst.metadata.finalizers ?? []).includes(FINALIZER)) return 'none';
    if (isAbandoned(inst)) return 'abandon';
    // a provision in flight is halted by the DELETE (the broker MUST stop it); anything else is waited for
    const provisioning = s.currentOperation === 'Provision' && !s.orphanMitigationInProgress;
    return s.asyncOpInProgress && !provisioning ? 'poll' : 'deprovision';
  }
  if (s.asyncOpInProgress) return 'poll';
  if (s.orphanMitigationInProgress) return 'orphanMitigate';
  switch (s.currentOperation) {
    case 'Provision':
      return 'provision';
    case 'Update':
      return 'update';
    case 'Deprovision':
      // only a deletion deprovisions; an operation left over without one is over
      return 'clearOperation';
  }
  if (s.provisionStatus === 'Provisioned') {
    if (s.observedGeneration !== inst.metadata.generation) return 'update';
    if (isTrue(inst, 'Failed')) return 'refreshMaintenance';
    if (conditionOf(inst, 'Ready')?.status !== 'True') return 'update';
    return inst.spec?.parametersFrom?.length ? 'checkParameters' : 'refreshMaintenance';
  }
  // a failure for good waits for the spec to change
  if (s.observedGeneration === inst.metadata.generation && isTrue(inst, 'Failed')) return 'none';
  return 'provision';
}

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

  /** The function of each action. */
  private readonly actions: Record<InstanceAction, (inst: Instance) => Promise<ReconcileResult>> = {
    none: () => Promise.resolve({}),
    abandon: (inst) => abandon(this.env, inst),
    deprovision: (inst) => finalize(this.env, inst),
    poll: (inst) => poll(this.env, inst),
    orphanMitigate: (inst) => orphanMitigate(this.env, inst),
    provision: (inst) => provision(this.env, inst),
    update: (inst) => update(this.env, inst),
    clearOperation: async (inst) => {
      await this.env.write(inst, (st) => clearOperation(st));
      return { requeue: true };
    },
    checkParameters: (inst) => this.checkParameters(inst),
    refreshMaintenance: (inst) => this.refreshMaintenance(inst),
  };

  private dispatch(inst: Instance): Promise<ReconcileResult> {
    return this.actions[nextAction(inst)](inst);
  }

  /** A parametersFrom Secret changed: the broker gets what changed. */
  private async checkParameters(inst: Instance): Promise<ReconcileResult> {
    const built = await instanceParameters(this.env, inst);
    if (isProblem(built)) return report(this.env, inst, built);
    if (recordedChecksum(built) !== inst.status?.externalProperties?.parameterChecksum)
      return update(this.env, inst);
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
