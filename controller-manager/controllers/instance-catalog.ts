import { namespaceResource, type Namespace } from '../../api-types/core/namespace';
import { serviceBindingResource, serviceInstanceResource, type ServiceBinding } from '../../api-types';
import type { KubeClient } from '../../pkg/kube/client';
import type { KubernetesContext, MaintenanceInfo, OSBClient } from '../../pkg/osb';
import type { SharedInformer } from '../../pkg/kube/informers';
import type { ControllerContext } from '../context';
import type { RateLimiterOptions } from '../../pkg/controller/queue';
import { brokerClientKey, type Broker } from './broker';
import { AuthCredentialsError } from './osb-clients';
import { reasons, type Instance, type InstanceStatus, type PropertiesState } from './instance-status';
import { buildParameters, ParametersError, type BuiltParameters } from './parameters';
import {
  planOfClass,
  refName,
  scopeOf,
  type CatalogScope,
  type Entry,
  type Style,
} from '../../pkg/servicecatalog/references';
import { stringOf as str } from '../../pkg/json';

/** What the instance controller's steps share: the context, caches, and its own bookkeeping. */
export interface InstanceEnv {
  ctx: ControllerContext;
  /** Backoff of retries and polls (base doubling up to max). */
  limiter: RateLimiterOptions;
  instances: SharedInformer<Instance>;
  bindings: SharedInformer<ServiceBinding>;
  namespaces: SharedInformer<Namespace>;
  classes: Record<'cluster' | 'namespaced', SharedInformer<Entry>>;
  plans: Record<'cluster' | 'namespaced', SharedInformer<Entry>>;
  brokers: Record<'cluster' | 'namespaced', SharedInformer<Broker>>;
  /** Writes status (conflicts retried), records Events for changed conditions, returns the stored object. */
  write(inst: Instance, mutate: (status: InstanceStatus) => void): Promise<Instance>;
  /** Keeps the latest written object so later steps of the same reconcile build on it. */
  remember(inst: Instance): void;
  /** When the next poll of an operation may happen, and how many polls it has had. */
  polls: Map<string, { op: string; attempt: number; notBefore: number }>;
  now(): number;
}

type Spec = Record<string, unknown>;

const specOf = (inst: Instance): Spec => inst.spec ?? {};
/** The name in one of the instance's references (spec.clusterServicePlanRef...), '' if none. */
export const instanceRef = (inst: Instance, field: string): string => refName(specOf(inst), field);
const which = (scope: CatalogScope) => (scope.namespaced ? 'namespaced' : 'cluster');

const kinds = (scope: CatalogScope) => ({ cls: scope.class.kind, plan: scope.plan.kind });

/** A step could not go on; `retry` unless the user has to change something first. */
export interface Problem {
  reason: string;
  message: string;
  /** Nothing will change by itself: report as Failed and wait for a new generation. */
  terminal?: boolean;
}

export const isProblem = (v: unknown): v is Problem =>
  typeof v === 'object' && v !== null && 'reason' in v && 'message' in v && !('scope' in v);

const missingClass = (scope: CatalogScope, name: string): Problem => ({
  reason: reasons.nonexistentClass,
  message: `The instance references a ${scope.class.kind} that does not exist. References a non-existent ${scope.class.kind} (K8S: "${name}")`,
});

function findClass(env: InstanceEnv, inst: Instance, scope: CatalogScope, style: Style): Entry | Problem {
  const spec = specOf(inst);
  const { cls } = kinds(scope);
  const ns = scope.namespaced ? inst.metadata.namespace : undefined;
  const informer = env.classes[which(scope)];
  const value = str(spec[scope.classField(style)]);
  const say = (s: string): Problem => ({
    reason: reasons.nonexistentClass,
    message: `The instance references a ${cls} that does not exist. ${s}`,
  });
  if (style === 'Name') {
    const found = informer.get(ns, value);
    return found ?? say(`References a non-existent ${cls} (K8S: "${value}")`);
  }
  const key = style === 'ExternalName' ? 'externalName' : 'externalID';
  const matches = informer.list(ns).filter((c) => c.spec?.[key] === value);
  if (matches.length === 1) return matches[0];
  return say(
    `References a non-existent ${cls} (${style}: "${value}") or there is more than one (found: ${matches.length})`,
  );
}

function findPlan(
  env: InstanceEnv,
  inst: Instance,
  scope: CatalogScope,
  style: Style,
  cls: Entry,
): Entry | Problem {
  const spec = specOf(inst);
  const { cls: classKind, plan: planKind } = kinds(scope);
  const ns = scope.namespaced ? inst.metadata.namespace : undefined;
  const informer = env.plans[which(scope)];
  const value = str(spec[scope.planField(style)]);
  const className = cls.metadata.name ?? '';
  const belongs = (p: Entry) => planOfClass(scope, p, cls);
  const say = (s: string): Problem => ({
    reason: reasons.nonexistentPlan,
    message: `The instance references a ${planKind} that does not exist. ${s}`,
  });
  const on = `on ${classKind} (K8S: "${className}" ExternalName: "${str(cls.spec?.externalName)}")`;
  if (!value) return say(`No ${planKind} is named ${on}`);
  if (style === 'Name') {
    const found = informer.get(ns, value);
    if (found && belongs(found)) return found;
    return say(`References a non-existent ${planKind} (K8S: "${value}") ${on}`);
  }
  const key = style === 'ExternalName' ? 'externalName' : 'externalID';
  const matches = informer.list(ns).filter((p) => belongs(p) && p.spec?.[key] === value);
  if (matches.length === 1) return matches[0];
  return say(
    `References a non-existent ${planKind} (${style}: "${value}") ${on} or there is more than one (found: ${matches.length})`,
  );
}

/**
 * The class and plan the spec names, with the references recorded through the `reference`
 * subresource when they were not (a plan change has the API server clear the plan reference).
 * Returns the instance as stored after the write, or why the names do not resolve.
 */
export async function resolveReferences(env: InstanceEnv, inst: Instance): Promise<Instance | Problem> {
  const found = scopeOf(inst);
  if (!found)
    return { reason: reasons.nonexistentClass, message: 'The instance names no class', terminal: true };
  const { scope, style } = found;
  const spec = specOf(inst);
  const classRefField = scope.classRefField;
  const planRefField = scope.planRefField;
  if (refName(spec, classRefField) && refName(spec, planRefField)) return inst;
  const ns = scope.namespaced ? inst.metadata.namespace : undefined;
  let cls: Entry | Problem;
  const existingClass = refName(spec, classRefField);
  if (existingClass) {
    cls = env.classes[which(scope)].get(ns, existingClass) ?? missingClass(scope, existingClass);
  } else {
    cls = findClass(env, inst, scope, style);
  }
  if (isProblem(cls)) return cls;
  const plan = findPlan(env, inst, scope, style, cls);
  if (isProblem(plan)) return plan;
  const next: Instance = structuredClone(inst);
  const nextSpec = (next.spec ??= {}) as Spec;
  nextSpec[classRefField] = { name: cls.metadata.name };
  nextSpec[planRefField] = { name: plan.metadata.name };
  const written = await writeReferences(env.ctx.client, next);
  env.remember(written);
  return written;
}

/** PUT .../serviceinstances/<name>/reference: the one way to record resolved references. */
function writeReferences(client: KubeClient, inst: Instance): Promise<Instance> {
  return client.updateSubresource(serviceInstanceResource, inst, 'reference');
}

/** Everything a broker call about an instance (or one of its bindings) needs. */
export interface CatalogInfo<Cls extends Entry = Entry, Plan extends Entry = Entry> {
  scope: CatalogScope;
  cls: Cls;
  /** The plan the spec resolves to (undefined only where a step can do without, i.e. deletion). */
  plan?: Plan;
  broker: Broker;
  client: OSBClient;
}

/** What of it cannot be had: an object missing (by the name looked for), or the broker's client. */
type CatalogMiss =
  { missing: 'class' | 'plan' | 'broker'; name: string } | { missing: 'client'; name: string; error: Error };

export const isCatalogMiss = (v: CatalogInfo<Entry, Entry> | CatalogMiss): v is CatalogMiss => 'missing' in v;

/**
 * The class and plan an instance's references name (in `scope`), from the shared caches, the
 * broker the class names, and its OSB client: what the instance and binding controllers look up
 * before calling a broker. Each controller says in its own words what is missing.
 */
export async function lookupCatalog<Cls extends Entry = Entry, Plan extends Entry = Entry>(
  ctx: ControllerContext,
  inst: Instance,
  scope: CatalogScope,
  planRequired: boolean,
): Promise<CatalogInfo<Cls, Plan> | CatalogMiss> {
  const spec = specOf(inst);
  const ns = scope.namespaced ? inst.metadata.namespace : undefined;
  const className = refName(spec, scope.classRefField);
  const cls = className ? ctx.informers.for<Cls>(scope.class).get(ns, className) : undefined;
  if (!cls) return { missing: 'class', name: className };
  const planName = refName(spec, scope.planRefField);
  const plan = planName ? ctx.informers.for<Plan>(scope.plan).get(ns, planName) : undefined;
  if (!plan && planRequired) return { missing: 'plan', name: planName };
  const brokerName = str(cls.spec?.[scope.brokerNameField]);
  const broker = ctx.informers.for<Broker>(scope.broker).get(ns, brokerName);
  if (!broker) return { missing: 'broker', name: brokerName };
  try {
    const key = scope.namespaced ? `${ns}/${brokerName}` : brokerName;
    const client = await ctx.brokerClients.get(brokerClientKey(scope.broker.kind, key), broker);
    return { scope, cls, plan, broker, client };
  } catch (e) {
    return { missing: 'client', name: brokerName, error: e as Error };
  }
}

/**
 * The class, plan, broker and OSB client of an instance whose references are resolved. For
 * deletion the plan may be gone (the plan id is in status); everything else is required.
 */
export async function catalogOf(
  env: InstanceEnv,
  inst: Instance,
  opts: { planRequired: boolean },
): Promise<CatalogInfo | Problem> {
  const found = scopeOf(inst);
  if (!found)
    return { reason: reasons.nonexistentClass, message: 'The instance names no class', terminal: true };
  const { scope } = found;
  const cat = await lookupCatalog(env.ctx, inst, scope, opts.planRequired);
  if (!isCatalogMiss(cat)) return cat;
  switch (cat.missing) {
    case 'class':
      return missingClass(scope, cat.name);
    case 'plan':
      return {
        reason: reasons.nonexistentPlan,
        message: `The instance references a ${scope.plan.kind} that does not exist. References a non-existent ${scope.plan.kind} (K8S: "${cat.name}")`,
      };
    case 'broker':
      return {
        reason: reasons.nonexistentBroker,
        message: `The instance references a non-existent broker ${scope.broker.kind} "${cat.name}"`,
      };
    case 'client':
      if (cat.error instanceof AuthCredentialsError) {
        return {
          reason: reasons.errorAuthCredentials,
          message: `Error getting broker auth credentials: ${cat.error.message}`,
        };
      }
      return {
        reason: reasons.nonexistentBroker,
        message: `Error creating client for broker ${scope.broker.kind} "${cat.name}": ${cat.error.message}`,
      };
  }
}

/** The plan fields of a properties state, in the instance's scope. */
export function planProperties(scope: CatalogScope, plan: Entry): PropertiesState {
  return scope.namespaced
    ? {
        servicePlanExternalName: str(plan.spec?.externalName),
        servicePlanExternalID: str(plan.spec?.externalID),
      }
    : {
        clusterServicePlanExternalName: str(plan.spec?.externalName),
        clusterServicePlanExternalID: str(plan.spec?.externalID),
      };
}

export const planIdOf = (state: PropertiesState | undefined): string | undefined =>
  state?.clusterServicePlanExternalID || state?.servicePlanExternalID || undefined;

/** A plan of the class by its OSB id (to find the plan an instance is moving away from). */
export function planByExternalId(env: InstanceEnv, scope: CatalogScope, cls: Entry, id: string | undefined) {
  if (!id) return undefined;
  const ns = scope.namespaced ? cls.metadata.namespace : undefined;
  return env.plans[which(scope)]
    .list(ns)
    .find((p) => p.spec?.externalID === id && planOfClass(scope, p, cls));
}

/** The plan's maintenance_info as the broker wants it back (only the version counts). */
export function planMaintenance(plan: Entry | undefined): MaintenanceInfo | undefined {
  const m = plan?.spec?.maintenanceInfo as { version?: unknown; description?: unknown } | undefined;
  if (typeof m?.version !== 'string' || m.version === '') return undefined;
  return typeof m.description === 'string'
    ? { version: m.version, description: m.description }
    : { version: m.version };
}

/** How long the plan allows an asynchronous operation (OSB maximum_polling_duration), if it says. */
export function maximumPollingMs(plan: Entry | undefined): number | undefined {
  const v = plan?.spec?.maximumPollingDuration;
  return typeof v === 'number' && v > 0 ? v * 1000 : undefined;
}

/** The Kubernetes context object of provision and update (profile.md: all four REQUIRED). */
export function kubernetesContext(env: InstanceEnv, inst: Instance): KubernetesContext {
  return {
    platform: 'kubernetes',
    namespace: inst.metadata.namespace ?? '',
    clusterid: env.ctx.clusterId,
    instance_name: inst.metadata.name ?? '',
  };
}

/** The namespace's UID (sent as space_guid), or why it cannot be had. */
export async function namespaceUid(env: InstanceEnv, inst: Instance): Promise<string | Problem> {
  const name = inst.metadata.namespace ?? '';
  const ns =
    env.namespaces.get(undefined, name) ??
    (await env.ctx.client.get<Namespace>(namespaceResource, undefined, name));
  if (!ns?.metadata.uid) {
    return { reason: reasons.errorFindingNamespace, message: `Failed to get namespace "${name}": not found` };
  }
  return ns.metadata.uid;
}

/** The instance's parameters (parametersFrom Secrets as they are now), or what is wrong with them. */
export async function instanceParameters(
  env: InstanceEnv,
  inst: Instance,
): Promise<BuiltParameters | Problem> {
  try {
    return await buildParameters(env.ctx.client, inst.metadata.namespace ?? '', inst.spec ?? {});
  } catch (e) {
    if (!(e instanceof ParametersError)) throw e;
    return { reason: reasons.errorWithParameters, message: e.message };
  }
}

/** Whether moving off `current` (the plan the instance is on) is allowed: the plan's say first, then the class's. */
export function planUpdatable(cls: Entry, current: Entry | undefined): boolean {
  const own = current?.spec?.planUpdatable;
  if (typeof own === 'boolean') return own;
  return cls.spec?.planUpdatable === true;
}

/**
 * Bindings of the instance (by spec.instanceRef), from the server rather than the cache: one made
 * a moment before the deletion must not be missed (the broker MUST see bindings go first).
 */
export async function bindingsOf(env: InstanceEnv, inst: Instance): Promise<ServiceBinding[]> {
  const { items } = await env.ctx.client.list<ServiceBinding>(
    serviceBindingResource,
    inst.metadata.namespace,
    {
      fieldSelector: `spec.instanceRef.name=${inst.metadata.name}`,
    },
  );
  return items;
}
