import type { CommonServiceClassSpec, CommonServicePlanSpec } from '../../api-types/common';
import type { KubeObject } from '../../api-types/meta';
import type { ServiceBinding } from '../../api-types/servicebinding';
import { serviceInstanceResource, type ServiceInstance } from '../../api-types/serviceinstance';
import type { OSBClient } from '../../pkg/osb';
import type { ControllerContext } from '../context';
import type { SharedInformer } from '../framework/informers';
import { brokerClientKey, brokerClients, type Broker } from './broker';
import { clusterScope, namespacedScope, type CatalogScope } from './catalog';
import { reasons } from './binding-status';
import { AuthCredentialsError } from './osb-clients';

type ClassObj = KubeObject & { spec?: CommonServiceClassSpec & Record<string, unknown> };
type PlanObj = KubeObject & { spec?: CommonServicePlanSpec & Record<string, unknown> };

/** Everything a call to the broker about one binding needs, resolved from the instance it names. */
export interface Target {
  instance: ServiceInstance;
  /** OSB instance_id. */
  instanceId: string;
  scope: CatalogScope;
  cls: ClassObj;
  plan: PlanObj;
  /** OSB service_id and plan_id of the instance's current class and plan. */
  serviceId: string;
  planId: string;
  /** The plan's bindable, or the class's when the plan does not say. */
  bindable: boolean;
  /** bindings_retrievable: binds may be asynchronous only then (credentials come from GET). */
  retrievable: boolean;
  /** binding_rotatable: the plan's alone. */
  rotatable: boolean;
  /** The service's `requires` (syslog_drain, route_forwarding, volume_mount). */
  requires: string[];
  /** maximum_polling_duration, in milliseconds. */
  maxPollingMs?: number;
  client: OSBClient;
}

/** Why a binding cannot be acted on yet, as a Ready condition. */
export interface Unresolved {
  reason: string;
  message: string;
}

const scopes = [clusterScope, namespacedScope];

/** Reads instances, classes, plans and brokers from the shared informers. */
export class TargetResolver {
  readonly instances: SharedInformer<ServiceInstance>;
  private readonly classes = new Map<CatalogScope, SharedInformer<ClassObj>>();
  private readonly plans = new Map<CatalogScope, SharedInformer<PlanObj>>();
  private readonly brokers = new Map<CatalogScope, SharedInformer<Broker>>();

  constructor(private readonly ctx: ControllerContext) {
    this.instances = ctx.informers.for<ServiceInstance>(serviceInstanceResource);
    for (const scope of scopes) {
      this.classes.set(scope, ctx.informers.for<ClassObj>(scope.class));
      this.plans.set(scope, ctx.informers.for<PlanObj>(scope.plan));
      this.brokers.set(scope, ctx.informers.for<Broker>(scope.broker));
    }
  }

  /** The informers this resolver reads, to wait for before working. */
  informers(): Array<SharedInformer<KubeObject>> {
    return [
      this.instances,
      ...this.classes.values(),
      ...this.plans.values(),
      ...this.brokers.values(),
    ] as unknown as Array<SharedInformer<KubeObject>>;
  }

  instanceOf(b: ServiceBinding): ServiceInstance | undefined {
    const name = b.spec?.instanceRef?.name;
    return name ? this.instances.get(b.metadata.namespace, name) : undefined;
  }

  async resolve(b: ServiceBinding): Promise<Target | Unresolved> {
    const namespace = b.metadata.namespace!;
    const instanceName = b.spec?.instanceRef?.name ?? '';
    const instance = this.instanceOf(b);
    if (!instance) {
      return {
        reason: reasons.nonexistentInstance,
        message: `The binding references a ServiceInstance that does not exist: "${namespace}/${instanceName}"`,
      };
    }
    const spec = instance.spec ?? {};
    const scope = spec.clusterServiceClassRef?.name
      ? clusterScope
      : spec.serviceClassRef?.name
        ? namespacedScope
        : undefined;
    const className = scope ? spec[scope.classRefField]?.name : undefined;
    const planName = scope ? spec[scope.planRefField]?.name : undefined;
    if (!scope || !className || !planName) {
      return {
        reason: reasons.instanceRefsUnresolved,
        message: `The class and plan of ServiceInstance "${namespace}/${instanceName}" have not been resolved yet`,
      };
    }
    const ns = scope.namespaced ? namespace : undefined;
    const cls = this.classes.get(scope)!.get(ns, className);
    const plan = this.plans.get(scope)!.get(ns, planName);
    if (!cls || !plan) {
      const [kind, name] = !cls ? [scope.class.kind, className] : [scope.plan.kind, planName];
      return {
        reason: reasons.instanceRefsUnresolved,
        message: `The ${kind} "${name}" of ServiceInstance "${namespace}/${instanceName}" does not exist`,
      };
    }
    const brokerName = String(cls.spec?.[scope.brokerNameField] ?? '');
    const broker = this.brokers.get(scope)!.get(ns, brokerName);
    if (!broker) {
      return {
        reason: reasons.nonexistentBroker,
        message: `The ${scope.broker.kind} "${brokerName}" of ${scope.class.kind} "${className}" does not exist`,
      };
    }
    let client: OSBClient;
    const key = scope.namespaced ? `${namespace}/${brokerName}` : brokerName;
    try {
      client = await brokerClients(this.ctx).get(brokerClientKey(scope.broker.kind, key), broker);
    } catch (e) {
      return {
        reason: e instanceof AuthCredentialsError ? reasons.authCredentials : reasons.nonexistentBroker,
        message: `Cannot call ${scope.broker.kind} "${brokerName}": ${(e as Error).message}`,
      };
    }
    const maxPolling = plan.spec?.maximumPollingDuration;
    return {
      instance,
      instanceId: spec.externalID ?? '',
      scope,
      cls,
      plan,
      serviceId: cls.spec?.externalID ?? '',
      planId: plan.spec?.externalID ?? '',
      bindable: plan.spec?.bindable ?? cls.spec?.bindable ?? false,
      retrievable: cls.spec?.bindingRetrievable === true,
      rotatable: plan.spec?.bindingRotatable === true,
      requires: cls.spec?.requires ?? [],
      maxPollingMs: typeof maxPolling === 'number' && maxPolling > 0 ? maxPolling * 1000 : undefined,
      client,
    };
  }
}

export const isTarget = (r: Target | Unresolved): r is Target => 'client' in r;
