import type { KubeObject, StatusCause } from '../../api-types/meta';
import { servicecatalogGroup } from '../../api-types/resource';
import { jsonEqual } from '../../pkg/json';
import {
  parametersSchemaViolations,
  type ParameterViolation,
} from '../../controller-manager/controllers/catalog';
import { invalid } from '../rest/errors';
import {
  lookUpClass,
  namespaceOf,
  planReference,
  planValue,
  plansOfClass,
  scopes,
  specifiedClass,
} from './plan-reference';
import type { AdmissionPlugin, ObjectReader } from './types';

/**
 * Keywords about the top-level parameters object that other sources may satisfy: keys from
 * parametersFrom Secrets (which admission cannot read), or keys an update leaves unchanged.
 */
const satisfiableElsewhere = new Set([
  'required',
  'dependencies',
  'dependentRequired',
  'dependentSchemas',
  'minProperties',
  'anyOf',
  'oneOf',
  'allOf',
  'if',
  'then',
  'else',
  'not',
]);

/** The violations that stand when only part of the parameters is at hand. */
export function partialViolations(violations: readonly ParameterViolation[]): ParameterViolation[] {
  return violations.filter((v) => !(v.topLevel && satisfiableElsewhere.has(v.keyword)));
}

export interface SchemaCheckOptions {
  /**
   * Some parameters are not in front of us (parametersFrom, or an update sending only what
   * changed): rules about the whole object that the missing part could satisfy are not applied.
   */
  partial: boolean;
  /** Field path of the parameters in the object, for the causes: `spec.parameters`. */
  path?: string;
}

/**
 * The 422 causes for parameters that break a plan's parameter schema; empty when they conform or
 * the schema is not trusted (flagged by the catalog checks: external $ref, over 64 kB, ...).
 * Shared by the instance and binding admission checks and usable by controllers.
 */
export function parameterSchemaCauses(
  schema: unknown,
  parameters: unknown,
  opts: SchemaCheckOptions,
): StatusCause[] {
  if (schema === undefined || schema === null) return [];
  const violations = parametersSchemaViolations(schema, parameters ?? {});
  if (!violations) return [];
  const path = opts.path ?? 'spec.parameters';
  return (opts.partial ? partialViolations(violations) : violations).map((v) => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${v.message} (the plan's parameter schema)`,
    field: `${path}${v.field.slice('parameters'.length)}`,
  }));
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * The plan an instance is on or moving to, when this server holds it: the resolved reference
 * (spec.clusterServicePlanRef / servicePlanRef) when set, otherwise the plan its spec names.
 */
export async function planOfInstance(
  objects: ObjectReader,
  instance: KubeObject,
): Promise<KubeObject | undefined> {
  const spec = (instance.spec ?? {}) as Record<string, { name?: unknown } | undefined>;
  const namespace = instance.metadata.namespace;
  for (const scope of scopes) {
    const ref = str(spec[scope.cluster ? 'clusterServicePlanRef' : 'servicePlanRef']?.name);
    if (ref) return objects.get(scope.planResource, scope.cluster ? undefined : namespace, ref);
  }
  const ref = planReference(instance);
  const cls = specifiedClass(ref);
  if (!cls) return undefined;
  const value = str(ref[cls.scope.planField(cls.style)]);
  if (!value) return undefined;
  const lookup = await lookUpClass(objects, cls.scope, cls.style, cls.value, namespace);
  if (!('found' in lookup)) return undefined;
  const className = lookup.found.metadata.name ?? '';
  const plans = await plansOfClass(objects, cls.scope, className, namespace);
  const matches = plans.filter((p) => planValue(p, cls.style) === value);
  return matches.length === 1 ? matches[0] : undefined;
}

const schemaOf = (plan: KubeObject, key: string): unknown =>
  (plan.spec as Record<string, unknown> | undefined)?.[key];

/** The top-level parameters whose values an update changes (what the controller sends the broker). */
export function changedParameters(next: unknown, prev: unknown): Record<string, unknown> {
  const n = isObject(next) ? next : {};
  const p = isObject(prev) ? prev : {};
  return Object.fromEntries(Object.entries(n).filter(([k, v]) => !jsonEqual(v, p[k])));
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * ServiceInstanceParametersSchema: refuses (422) spec.parameters that break the parameter schema
 * of the instance's plan, when this server holds the plan: instanceCreateParameterSchema on
 * create, instanceUpdateParameterSchema for the parameters an update changes. parametersFrom is
 * not read (Secrets are not ours to see), so rules about the whole object that Secret keys could
 * satisfy are left to the controller, which checks the merged parameters before any broker call.
 */
export const serviceInstanceParametersSchema: AdmissionPlugin = {
  name: 'ServiceInstanceParametersSchema',
  async validate(attrs, objects) {
    if (attrs.resource !== 'serviceinstances' || attrs.subresource || !attrs.object) return;
    if (attrs.operation !== 'CREATE' && attrs.operation !== 'UPDATE') return;
    const obj = attrs.object;
    if (obj.metadata.deletionTimestamp) return;
    const spec = (obj.spec ?? {}) as { parameters?: unknown; parametersFrom?: unknown[] };
    const fromSecrets = Array.isArray(spec.parametersFrom) && spec.parametersFrom.length > 0;
    let parameters: unknown;
    let schemaKey: string;
    let partial = fromSecrets;
    if (attrs.operation === 'CREATE') {
      parameters = spec.parameters ?? {};
      schemaKey = 'instanceCreateParameterSchema';
    } else {
      const prev = (attrs.oldObject?.spec ?? {}) as { parameters?: unknown };
      const changed = changedParameters(spec.parameters, prev.parameters);
      if (Object.keys(changed).length === 0) return;
      parameters = changed;
      partial = true;
      schemaKey = 'instanceUpdateParameterSchema';
    }
    const plan = await planOfInstance(objects, {
      ...obj,
      metadata: { ...obj.metadata, namespace: namespaceOf(attrs) },
    });
    if (!plan) return;
    const causes = parameterSchemaCauses(schemaOf(plan, schemaKey), parameters, { partial });
    if (causes.length === 0) return;
    throw invalid(
      'ServiceInstance',
      { group: servicecatalogGroup, resource: attrs.resource, name: attrs.name ?? obj.metadata.name },
      causes,
    );
  },
};
