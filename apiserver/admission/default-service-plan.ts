import { namespaceOf, refuse } from './types';
import {
  describeClass,
  lookUpClass,
  planReference,
  planSpecified,
  planValue,
  plansOfClass,
  removedFromBrokerCatalog,
  specifiedClass,
} from '../../pkg/servicecatalog/references';
import type { AdmissionPlugin } from './types';

const quoteAll = (values: string[]) =>
  [...values]
    .sort()
    .map((v) => `"${v}"`)
    .join(', ');

/**
 * DefaultServicePlan: a ServiceInstance that names its class but no plan gets the class's only
 * plan, written in the style the class was named in (external name, external id or Kubernetes
 * name, cluster-scoped or namespaced). A class with no plan, or with several, is refused, since the
 * controller could not provision it anyway.
 *
 * Runs on create, and on an update that drops the plan the stored instance had (the original ran
 * on every update, which would also refuse e.g. a finalizer removal once the class is gone).
 * Plans removed from the broker catalog are not candidates: nothing new can be provisioned on them.
 */
export const defaultServicePlan: AdmissionPlugin = {
  name: 'DefaultServicePlan',
  async admit(attrs, objects) {
    if (attrs.resource !== 'serviceinstances' || attrs.subresource || !attrs.object) return;
    const ref = planReference(attrs.object);
    if (planSpecified(ref)) return;
    if (attrs.operation === 'UPDATE') {
      if (!planSpecified(planReference(attrs.oldObject))) return;
    } else if (attrs.operation !== 'CREATE') return;
    // no class at all is the validation's to report, with field paths
    const cls = specifiedClass(ref);
    if (!cls) return;
    const { scope, style, value } = cls;
    const namespace = namespaceOf(attrs);

    const lookup = await lookUpClass(objects, scope, style, value, namespace);
    if ('missing' in lookup) {
      throw refuse(
        attrs,
        `${lookup.description} does not exist, can not figure out the default ${scope.plan.kind}`,
      );
    }
    if ('ambiguous' in lookup) {
      const names = quoteAll(lookup.ambiguous.map((c) => c.metadata.name ?? ''));
      throw refuse(
        attrs,
        `${lookup.description} is ambiguous: ${lookup.ambiguous.length} ${scope.class.kind}es match (${names}); ` +
          `name the class with ${scope.classField('Name')}`,
      );
    }

    const plans = await plansOfClass(objects, scope, lookup.found.metadata.name ?? '', namespace);
    const available = plans.filter((p) => !removedFromBrokerCatalog(p));
    const planField = scope.planField(style);
    if (available.length === 1) {
      (attrs.object.spec as Record<string, unknown>)[planField] = planValue(available[0], style);
      return;
    }
    if (available.length === 0) {
      const removed = plans.length
        ? ` (removed from the broker catalog: ${quoteAll(plans.map((p) => planValue(p, style)))})`
        : '';
      throw refuse(
        attrs,
        `no ${scope.plan.kind}s found at all for ${describeClass(scope, lookup.found)}${removed}, can not figure out the default ${scope.plan.kind}`,
      );
    }
    throw refuse(
      attrs,
      `${describeClass(scope, lookup.found)} has more than one plan, ${planField} must be specified; ` +
        `available plans: ${quoteAll(available.map((p) => planValue(p, style)))}`,
    );
  },
};
