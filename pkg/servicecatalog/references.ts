import type { ResourceDefinition } from '../../api-types/resource';
import type { KubeObject } from '../../api-types/meta';
import type { PlanReference } from '../../api-types/serviceinstance';
import { clusterServiceBrokerResource } from '../../api-types/clusterservicebroker';
import { serviceBrokerResource } from '../../api-types/servicebroker';
import { clusterServiceClassResource } from '../../api-types/clusterserviceclass';
import { serviceClassResource } from '../../api-types/serviceclass';
import { clusterServicePlanResource } from '../../api-types/clusterserviceplan';
import { servicePlanResource } from '../../api-types/serviceplan';
import { stringOf as str } from '../json';
import { restrictionProperties } from './restrictions';

/**
 * How an instance names its class and plan, and how those names resolve: the rules the API
 * server's admission, the instance controller and a CLI share. Lookups go through a CatalogReader,
 * so they work over the API server's storage, a controller's caches or HTTP alike.
 */

/**
 * The three ways of naming: each class field pairs with the plan field of the same style, as the
 * validation of ServiceInstance requires.
 */
export type Style = 'ExternalName' | 'ExternalID' | 'Name';
export const styles: readonly Style[] = ['ExternalName', 'ExternalID', 'Name'];

/** ClusterServiceBroker → ClusterServiceClass/Plan, or ServiceBroker → ServiceClass/Plan. */
export interface CatalogScope {
  namespaced: boolean;
  broker: ResourceDefinition;
  class: ResourceDefinition;
  plan: ResourceDefinition;
  /** spec field of classes and plans naming their broker. */
  brokerNameField: 'clusterServiceBrokerName' | 'serviceBrokerName';
  /** spec field of plans (and instances) naming the class. */
  classRefField: 'clusterServiceClassRef' | 'serviceClassRef';
  /** spec field of instances naming the plan. */
  planRefField: 'clusterServicePlanRef' | 'servicePlanRef';
  /** Field selector on plans naming their class. */
  planClassField: 'spec.clusterServiceClassRef.name' | 'spec.serviceClassRef.name';
  /** The instance spec field naming the class or plan in a style, e.g. classField('ExternalName'). */
  classField(style: Style): keyof PlanReference;
  planField(style: Style): keyof PlanReference;
  /** Properties catalog restrictions may name. */
  classRestrictionProperties: readonly string[];
  planRestrictionProperties: readonly string[];
}

export const clusterScope: CatalogScope = {
  namespaced: false,
  broker: clusterServiceBrokerResource,
  class: clusterServiceClassResource,
  plan: clusterServicePlanResource,
  brokerNameField: 'clusterServiceBrokerName',
  classRefField: 'clusterServiceClassRef',
  planRefField: 'clusterServicePlanRef',
  planClassField: 'spec.clusterServiceClassRef.name',
  classField: (s) => `clusterServiceClass${s}`,
  planField: (s) => `clusterServicePlan${s}`,
  classRestrictionProperties: restrictionProperties.ClusterServiceClass,
  planRestrictionProperties: restrictionProperties.ClusterServicePlan,
};

export const namespacedScope: CatalogScope = {
  namespaced: true,
  broker: serviceBrokerResource,
  class: serviceClassResource,
  plan: servicePlanResource,
  brokerNameField: 'serviceBrokerName',
  classRefField: 'serviceClassRef',
  planRefField: 'servicePlanRef',
  planClassField: 'spec.serviceClassRef.name',
  classField: (s) => `serviceClass${s}`,
  planField: (s) => `servicePlan${s}`,
  classRestrictionProperties: restrictionProperties.ServiceClass,
  planRestrictionProperties: restrictionProperties.ServicePlan,
};

/** Cluster-scoped first: an instance naming both is read as naming the cluster-scoped class. */
export const scopes: readonly CatalogScope[] = [clusterScope, namespacedScope];

/** A class or plan object as read from the API. */
export type Entry = KubeObject & {
  spec?: Record<string, unknown>;
  status?: { removedFromBrokerCatalog?: boolean };
};

/** Reads classes and plans: by name, or by field selector. */
export interface CatalogReader {
  get(resource: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined>;
  list(resource: string, namespace: string | undefined, fieldSelector: string): Promise<KubeObject[]>;
}

/** The name in a reference field (`spec.clusterServicePlanRef.name`...) of a spec, '' if none. */
export function refName(spec: Record<string, unknown> | undefined, field: string): string {
  return str((spec?.[field] as { name?: unknown } | undefined)?.name);
}

/**
 * The scope and style an instance names its class in: the first set class field (cluster-scoped
 * first), else a resolved class reference (by Kubernetes name).
 */
export function scopeOf(obj: KubeObject | undefined): { scope: CatalogScope; style: Style } | undefined {
  const specified = specifiedClass(planReference(obj));
  if (specified) return { scope: specified.scope, style: specified.style };
  const spec = planReference(obj) as Record<string, unknown>;
  for (const scope of scopes) if (refName(spec, scope.classRefField)) return { scope, style: 'Name' };
  return undefined;
}

/** Whether a plan is one of the class's: its class reference and its broker both match. */
export function planOfClass(scope: CatalogScope, plan: Entry, cls: Entry): boolean {
  return (
    refName(plan.spec, scope.classRefField) === (cls.metadata.name ?? '') &&
    plan.spec?.[scope.brokerNameField] === cls.spec?.[scope.brokerNameField]
  );
}

/** An instance's spec as a plan reference; anything that is not an object reads as empty. */
export function planReference(obj: KubeObject | undefined): PlanReference {
  const spec = obj?.spec;
  return spec !== null && typeof spec === 'object' ? spec : {};
}

/** The class as the instance names it: the first set field, cluster-scoped fields first. */
export function specifiedClass(
  ref: PlanReference,
): { scope: CatalogScope; style: Style; value: string } | undefined {
  for (const scope of scopes) {
    for (const style of styles) {
      const value = str(ref[scope.classField(style)]);
      if (value) return { scope, style, value };
    }
  }
  return undefined;
}

/** Whether any plan field, of either scope, is set. */
export function planSpecified(ref: PlanReference): boolean {
  return scopes.some((scope) => styles.some((style) => str(ref[scope.planField(style)]) !== ''));
}

/** The six plan fields of two references differ. */
export function planChanged(a: PlanReference, b: PlanReference): boolean {
  return scopes.some((scope) =>
    styles.some((style) => str(a[scope.planField(style)]) !== str(b[scope.planField(style)])),
  );
}

/** The plan as named, for messages: `clusterServicePlanExternalName "small"`. */
export function describePlan(ref: PlanReference): string {
  for (const scope of scopes) {
    for (const style of styles) {
      const value = str(ref[scope.planField(style)]);
      if (value) return `${scope.planField(style)} "${value}"`;
    }
  }
  return 'no plan';
}

/** Field selector values escape `\`, `,` and `=`. */
const escapeSelectorValue = (s: string) => s.replace(/[\\,=]/g, (c) => `\\${c}`);

const selectorField: Record<Style, string> = {
  ExternalName: 'spec.externalName',
  ExternalID: 'spec.externalID',
  Name: 'metadata.name',
};

export type ClassLookup =
  | { found: KubeObject }
  | { missing: true; description: string }
  | { ambiguous: KubeObject[]; description: string };

/**
 * Finds the class an instance names: by Kubernetes name with a get, otherwise by a field selector
 * on spec.externalName / spec.externalID, which must match exactly one class.
 */
export async function lookUpClass(
  objects: CatalogReader,
  scope: CatalogScope,
  style: Style,
  value: string,
  namespace: string | undefined,
): Promise<ClassLookup> {
  const ns = scope.namespaced ? namespace : undefined;
  const where = scope.namespaced ? ` in namespace "${namespace ?? ''}"` : '';
  if (style === 'Name') {
    const found = await objects.get(scope.class.plural, ns, value);
    return found ? { found } : { missing: true, description: `${scope.class.kind} "${value}"${where}` };
  }
  const description = `${scope.class.kind} with ${selectorField[style]} "${value}"${where}`;
  const matches = await objects.list(
    scope.class.plural,
    ns,
    `${selectorField[style]}=${escapeSelectorValue(value)}`,
  );
  if (matches.length === 1) return { found: matches[0] };
  if (matches.length === 0) return { missing: true, description };
  return { ambiguous: matches, description };
}

/** The plans of a class, removed ones included. */
export async function plansOfClass(
  objects: CatalogReader,
  scope: CatalogScope,
  className: string,
  namespace: string | undefined,
): Promise<KubeObject[]> {
  return objects.list(
    scope.plan.plural,
    scope.namespaced ? namespace : undefined,
    `${scope.planClassField}=${escapeSelectorValue(className)}`,
  );
}

/** spec.<key> of a class or plan as a string. */
export function specString(obj: KubeObject, key: string): string {
  const spec = obj.spec;
  return spec !== null && typeof spec === 'object' ? str((spec as Record<string, unknown>)[key]) : '';
}

/** The value a plan has in a style: its external name, external id or Kubernetes name. */
export function planValue(plan: KubeObject, style: Style): string {
  if (style === 'Name') return plan.metadata.name ?? '';
  return specString(plan, style === 'ExternalName' ? 'externalName' : 'externalID');
}

export function removedFromBrokerCatalog(obj: KubeObject): boolean {
  const status = obj.status;
  return (
    status !== null &&
    typeof status === 'object' &&
    (status as Record<string, unknown>).removedFromBrokerCatalog === true
  );
}

/** `ClusterServiceClass (K8S: "abc" ExternalName: "mysql")`, as the original named classes in messages. */
export function describeClass(scope: CatalogScope, cls: KubeObject): string {
  return `${scope.class.kind} (K8S: "${cls.metadata.name ?? ''}" ExternalName: "${specString(cls, 'externalName')}")`;
}
