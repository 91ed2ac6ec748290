import type { KubeObject, StatusCause } from '../../api-types/meta';
import { field } from '../../pkg/apierrors';
import type { Strategy } from './strategy';
import { catalogName, immutable, specObject, unset, type Obj } from './validation';
import { type ClusterServiceClass, type ServiceClass } from '../../api-types';

/**
 * Classes and plans are written by the controller from broker catalogs; these rules keep what it
 * writes (or a user edits) consistent: the identifiers are present and the broker's id of the
 * service or plan never changes.
 */

type Scope = 'cluster' | 'namespaced';

export const brokerNameField = (scope: Scope) =>
  scope === 'cluster' ? 'clusterServiceBrokerName' : 'serviceBrokerName';

/** The spec fields classes and plans share. */
export function validateCatalogEntrySpec(spec: Obj, scope: Scope): StatusCause[] {
  const causes: StatusCause[] = [];
  const broker = brokerNameField(scope);
  if (unset(spec, broker)) causes.push(field.required(`spec.${broker}`, `${broker} is required`));
  causes.push(...catalogName('spec.externalName', spec.externalName, 'externalName'));
  causes.push(...catalogName('spec.externalID', spec.externalID, 'externalID'));
  if (unset(spec, 'description')) causes.push(field.required('spec.description', 'description is required'));
  return causes;
}

function classStrategy(scope: Scope): Strategy<ClusterServiceClass | ServiceClass> {
  const validate = (obj: KubeObject) => {
    const spec = specObject(obj);
    return spec ? validateCatalogEntrySpec(spec, scope) : [];
  };
  return {
    prepareForCreate: () => undefined,
    prepareForUpdate: () => undefined,
    validate,
    validateUpdate(obj, old) {
      const spec = specObject(obj) ?? {};
      const prev = specObject(old) ?? {};
      const broker = brokerNameField(scope);
      return [
        ...validate(obj),
        ...immutable('spec.externalID', spec.externalID, prev.externalID),
        ...immutable(`spec.${broker}`, spec[broker], prev[broker]),
      ];
    },
  };
}

export const clusterServiceClassStrategy = classStrategy('cluster');
export const serviceClassStrategy = classStrategy('namespaced');
