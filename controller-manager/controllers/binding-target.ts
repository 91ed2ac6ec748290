import type { CommonServiceClassSpec, CommonServicePlanSpec } from '../../api-types/common';
import type { KubeObject } from '../../api-types/meta';
import type { ServiceBinding } from '../../api-types/servicebinding';
import { serviceInstanceResource, type ServiceInstance } from '../../api-types/serviceinstance';
import type { OSBClient } from '../../pkg/osb';
import type { SharedInformer } from '../../pkg/kube/informers';
import type { ControllerContext } from '../context';
import { reasons } from './binding-status';
import { isCatalogMiss, lookupCatalog, maximumPollingMs } from './instance-catalog';
import { AuthCredentialsError } from './osb-clients';
import {
  type CatalogScope,
  clusterScope,
  type Entry,
  namespacedScope,
} from '../../pkg/servicecatalog/references';

type ClassObj = Entry & { spec?: CommonServiceClassSpec & Record<string, unknown> };
type PlanObj = Entry & { spec?: CommonServicePlanSpec & Record<string, unknown> };

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

  constructor(private readonly ctx: ControllerContext) {
    this.instances = ctx.informers.for<ServiceInstance>(serviceInstanceResource);
  }

  /** The informers this resolver reads, to wait for before working. */
  informers(): Array<SharedInformer<KubeObject>> {
    const catalog = (['class', 'plan', 'broker'] as const).flatMap((kind) =>
      scopes.map((scope) => this.ctx.informers.for(scope[kind])),
    );
    return [this.instances as unknown as SharedInformer<KubeObject>, ...catalog];
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
    const found = await lookupCatalog<ClassObj, PlanObj>(this.ctx, instance, scope, true);
    if (isCatalogMiss(found)) {
      switch (found.missing) {
        case 'class':
        case 'plan':
          return {
            reason: reasons.instanceRefsUnresolved,
            message: `The ${scope[found.missing].kind} "${found.name}" of ServiceInstance "${namespace}/${instanceName}" does not exist`,
          };
        case 'broker':
          return {
            reason: reasons.nonexistentBroker,
            message: `The ${scope.broker.kind} "${found.name}" of ${scope.class.kind} "${className}" does not exist`,
          };
        case 'client':
          return {
            reason:
              found.error instanceof AuthCredentialsError
                ? reasons.authCredentials
                : reasons.nonexistentBroker,
            message: `Cannot call ${scope.broker.kind} "${found.name}": ${found.error.message}`,
          };
      }
    }
    const { cls, client } = found;
    const plan = found.plan!;
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
      maxPollingMs: maximumPollingMs(plan),
      client,
    };
  }
}

export const isTarget = (r: Target | Unresolved): r is Target => 'client' in r;
