import type { KubeObject } from '../../api-types/meta';
import { namespaceOf, refuse } from './types';
import {
  describeClass,
  describePlan,
  lookUpClass,
  planChanged,
  planReference,
  planSpecified,
  specifiedClass,
  specString,
} from '../../pkg/servicecatalog/references';
import { planOfInstance } from './parameters-schema';
import type { AdmissionPlugin } from './types';

function resolvedClassName(obj: KubeObject | undefined, cluster: boolean): string | undefined {
  const spec = obj?.spec as Record<string, { name?: unknown } | undefined> | undefined;
  const name = spec?.[cluster ? 'clusterServiceClassRef' : 'serviceClassRef']?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/**
 * ServicePlanChangeValidator: refuses to move a ServiceInstance to another plan when its current
 * plan is not planUpdatable, or, when the plan leaves it unset, its class is not (OSB
 * plan_updateable: a plan's value overrides the offering's; false when the broker left both
 * out). The class is the one the controller resolved (spec.clusterServiceClassRef /
 * spec.serviceClassRef) or, before that, the one the class fields name; a class that cannot be
 * found lets the change through, as the original did, since the controller will report it.
 */
export const servicePlanChangeValidator: AdmissionPlugin = {
  name: 'ServicePlanChangeValidator',
  async validate(attrs, objects) {
    if (attrs.resource !== 'serviceinstances' || attrs.operation !== 'UPDATE' || attrs.subresource) return;
    if (!attrs.object || !attrs.oldObject) return;
    const next = planReference(attrs.object);
    const prev = planReference(attrs.oldObject);
    // dropping the plan is not a move to another one; validation or DefaultServicePlan see to it
    if (!planSpecified(next) || !planChanged(next, prev)) return;
    const cls = specifiedClass(next);
    if (!cls) return;
    const namespace = namespaceOf(attrs);

    let found: KubeObject | undefined;
    // the stored reference first: it is the controller's, while the sent one is the client's
    const resolved =
      resolvedClassName(attrs.oldObject, !cls.scope.namespaced) ??
      resolvedClassName(attrs.object, !cls.scope.namespaced);
    if (resolved) {
      found = await objects.get(
        cls.scope.class.plural,
        cls.scope.namespaced ? namespace : undefined,
        resolved,
      );
    } else {
      const lookup = await lookUpClass(objects, cls.scope, cls.style, cls.value, namespace);
      if ('found' in lookup) found = lookup.found;
    }
    // the plan the instance is on decides when it says (OSB: plan_updateable on a plan overrides
    // the offering's); otherwise its class
    const current = await planOfInstance(objects, attrs.oldObject);
    const planSays = (current?.spec as { planUpdatable?: unknown } | undefined)?.planUpdatable;
    if (typeof planSays === 'boolean' && current) {
      if (planSays) return;
      throw refuse(
        attrs,
        `The ${cls.scope.plan.kind} (K8S: "${current.metadata.name ?? ''}" ExternalName: "${specString(current, 'externalName')}") ` +
          `does not allow plan changes: cannot change ${describePlan(prev)} to ${describePlan(next)}`,
      );
    }
    if (!found) return;
    if ((found.spec as { planUpdatable?: unknown } | undefined)?.planUpdatable === true) return;
    throw refuse(
      attrs,
      `The ${describeClass(cls.scope, found)} does not allow plan changes: ` +
        `cannot change ${describePlan(prev)} to ${describePlan(next)}`,
    );
  },
};
