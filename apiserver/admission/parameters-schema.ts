import type { KubeObject } from '../../api-types/meta';
import { servicecatalogGroup } from '../../api-types/resource';
import { changedParameters, parameterSchemaCauses } from '../../pkg/servicecatalog/parameters-schema';
import { invalid } from '../../pkg/apierrors';
import { namespaceOf } from './types';
import {
  lookUpClass,
  planReference,
  planValue,
  plansOfClass,
  scopes,
  specifiedClass,
} from '../../pkg/servicecatalog/references';
import type { AdmissionPlugin, ObjectReader } from './types';
import { stringOf as str } from '../../pkg/json';

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
    const ref = str(spec[scope.planRefField]?.name);
    if (ref) return objects.get(scope.plan.plural, scope.namespaced ? namespace : undefined, ref);
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
