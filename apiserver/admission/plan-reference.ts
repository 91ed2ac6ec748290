import type { KubeObject } from '../../api-types/meta';
import { servicecatalogGroup } from '../../api-types/resource';
import type { PlanReference } from '../../api-types/serviceinstance';
import { forbidden } from '../rest/errors';
import type { AdmissionAttributes, ObjectReader } from './types';

/**
 * How an instance names its class and plan, shared by the plugins that look the class up. The
 * three styles pair a class field with the plan field of the same style, as the validation of
 * ServiceInstance requires.
 */
export type Style = 'ExternalName' | 'ExternalID' | 'Name';
const styles: Style[] = ['ExternalName', 'ExternalID', 'Name'];

export interface Scope {
  cluster: boolean;
  classKind: 'ClusterServiceClass' | 'ServiceClass';
  planKind: 'ClusterServicePlan' | 'ServicePlan';
  classResource: 'clusterserviceclasses' | 'serviceclasses';
  planResource: 'clusterserviceplans' | 'serviceplans';
  /** Field selector on plans naming their class. */
  planClassField: 'spec.clusterServiceClassRef.name' | 'spec.serviceClassRef.name';
  /** The spec field of the class or plan in a style, e.g. classField('ExternalName'). */
  classField(style: Style): keyof PlanReference;
  planField(style: Style): keyof PlanReference;
}

const clusterScope: Scope = {
  cluster: true,
  classKind: 'ClusterServiceClass',
  planKind: 'ClusterServicePlan',
  classResource: 'clusterserviceclasses',
  planResource: 'clusterserviceplans',
  planClassField: 'spec.clusterServiceClassRef.name',
  classField: (s) => `clusterServiceClass${s}`,
  planField: (s) => `clusterServicePlan${s}`,
};

const namespacedScope: Scope = {
  cluster: false,
  classKind: 'ServiceClass',
  planKind: 'ServicePlan',
  classResource: 'serviceclasses',
  planResource: 'serviceplans',
  planClassField: 'spec.serviceClassRef.name',
  classField: (s) => `serviceClass${s}`,
  planField: (s) => `servicePlan${s}`,
};

export const scopes = [clusterScope, namespacedScope];

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** An instance's spec as a plan reference; anything that is not an object reads as empty. */
export function planReference(obj: KubeObject | undefined): PlanReference {
  const spec = obj?.spec;
  return spec !== null && typeof spec === 'object' ? (spec as PlanReference) : {};
}

/** The class as the instance names it: the first set field, cluster-scoped fields first. */
export function specifiedClass(
  ref: PlanReference,
): { scope: Scope; style: Style; value: string } | undefined {
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
  objects: ObjectReader,
  scope: Scope,
  style: Style,
  value: string,
  namespace: string | undefined,
): Promise<ClassLookup> {
  const ns = scope.cluster ? undefined : namespace;
  const where = scope.cluster ? '' : ` in namespace "${namespace ?? ''}"`;
  if (style === 'Name') {
    const found = await objects.get(scope.classResource, ns, value);
    return found ? { found } : { missing: true, description: `${scope.classKind} "${value}"${where}` };
  }
  const description = `${scope.classKind} with ${selectorField[style]} "${value}"${where}`;
  const matches = await objects.list(
    scope.classResource,
    ns,
    `${selectorField[style]}=${escapeSelectorValue(value)}`,
  );
  if (matches.length === 1) return { found: matches[0] };
  if (matches.length === 0) return { missing: true, description };
  return { ambiguous: matches, description };
}

/** The plans of a class, removed ones included. */
export async function plansOfClass(
  objects: ObjectReader,
  scope: Scope,
  className: string,
  namespace: string | undefined,
): Promise<KubeObject[]> {
  return objects.list(
    scope.planResource,
    scope.cluster ? undefined : namespace,
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
export function describeClass(scope: Scope, cls: KubeObject): string {
  return `${scope.classKind} (K8S: "${cls.metadata.name ?? ''}" ExternalName: "${specString(cls, 'externalName')}")`;
}

/** A 403 about the object being written, worded `<resource> "<name>" is forbidden: <message>`. */
export function refuse(attrs: AdmissionAttributes, message: string) {
  return forbidden(
    { group: servicecatalogGroup, resource: attrs.resource, name: attrs.name ?? attrs.object?.metadata.name },
    message,
  );
}

/** The namespace the object lives in. */
export function namespaceOf(attrs: AdmissionAttributes): string | undefined {
  return attrs.object?.metadata.namespace ?? attrs.oldObject?.metadata.namespace ?? attrs.namespace;
}
