import type { KubeObject } from '../../api-types/meta';
import { field } from '../../pkg/apierrors';
import { validateCatalogEntrySpec } from './class';
import type { Strategy } from './strategy';
import { catalogName, child, immutable, specObject } from './validation';
import { type ClusterServicePlan, type ServicePlan } from '../../api-types';

type Scope = 'cluster' | 'namespaced';

function planStrategy(scope: Scope): Strategy<ClusterServicePlan | ServicePlan> {
  const classRef = scope === 'cluster' ? 'clusterServiceClassRef' : 'serviceClassRef';
  const validate = (obj: KubeObject) => {
    const spec = specObject(obj);
    if (!spec) return [];
    const causes = validateCatalogEntrySpec(spec, scope);
    const ref = spec[classRef];
    if (ref === undefined || ref === null) {
      causes.push(field.required(`spec.${classRef}.name`, 'an owning service class is required'));
    } else if (child(spec, classRef)) {
      causes.push(
        ...catalogName(`spec.${classRef}.name`, child(spec, classRef)!.name, 'an owning service class'),
      );
    }
    return causes;
  };
  return {
    prepareForCreate: () => undefined,
    prepareForUpdate: () => undefined,
    validate,
    validateUpdate: (obj, old) => [
      ...validate(obj),
      ...immutable('spec.externalID', specObject(obj)?.externalID, specObject(old)?.externalID),
    ],
  };
}

export const clusterServicePlanStrategy = planStrategy('cluster');
export const servicePlanStrategy = planStrategy('namespaced');
