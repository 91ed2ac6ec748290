import { servicecatalogGroup } from '../../api-types/resource';
import { invalid } from '../../pkg/apierrors';
import { planOfInstance } from './parameters-schema';
import { namespaceOf } from './types';
import type { AdmissionPlugin } from './types';
import { parameterSchemaCauses } from '../../pkg/servicecatalog/parameters-schema';

/**
 * ServiceBindingParametersSchema: refuses (422) a ServiceBinding whose spec.parameters break the
 * serviceBindingCreateParameterSchema of its instance's plan, when this server holds the instance
 * and the plan. Bindings cannot change after create, so only creates are checked. As for
 * instances, parametersFrom is not read: rules about the whole object that Secret keys could
 * satisfy are left to the controller, which checks the merged parameters before any broker call.
 */
export const serviceBindingParametersSchema: AdmissionPlugin = {
  name: 'ServiceBindingParametersSchema',
  async validate(attrs, objects) {
    if (attrs.resource !== 'servicebindings' || attrs.subresource || attrs.operation !== 'CREATE') return;
    const obj = attrs.object;
    if (!obj) return;
    const spec = (obj.spec ?? {}) as {
      instanceRef?: { name?: unknown };
      parameters?: unknown;
      parametersFrom?: unknown[];
    };
    const instanceName = spec.instanceRef?.name;
    if (typeof instanceName !== 'string' || instanceName === '') return;
    const namespace = namespaceOf(attrs);
    const instance = await objects.get('serviceinstances', namespace, instanceName);
    if (!instance) return;
    const plan = await planOfInstance(objects, instance);
    if (!plan) return;
    const schema = (plan.spec as Record<string, unknown> | undefined)?.serviceBindingCreateParameterSchema;
    const partial = Array.isArray(spec.parametersFrom) && spec.parametersFrom.length > 0;
    const causes = parameterSchemaCauses(schema, spec.parameters ?? {}, { partial });
    if (causes.length === 0) return;
    throw invalid(
      'ServiceBinding',
      { group: servicecatalogGroup, resource: attrs.resource, name: attrs.name ?? obj.metadata.name },
      causes,
    );
  },
};
