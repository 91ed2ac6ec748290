import type { ResourceDefinition } from './resource';
import { clusterServiceBrokerResource } from './clusterservicebroker';
import { serviceBrokerResource } from './servicebroker';
import { clusterServiceClassResource } from './clusterserviceclass';
import { serviceClassResource } from './serviceclass';
import { clusterServicePlanResource } from './clusterserviceplan';
import { servicePlanResource } from './serviceplan';
import { serviceInstanceResource } from './serviceinstance';
import { serviceBindingResource } from './servicebinding';

export type { PrinterColumn, ResourceDefinition } from './resource';
export { servicecatalogGroup, servicecatalogVersion } from './resource';
export * from './common';
export * from './clusterservicebroker';
export * from './servicebroker';
export * from './clusterserviceclass';
export * from './serviceclass';
export * from './clusterserviceplan';
export * from './serviceplan';
export * from './serviceinstance';
export * from './servicebinding';

/** Every kind of servicecatalog.k8s.io/v1beta1, in discovery order. */
export const servicecatalogResources: ResourceDefinition[] = [
  clusterServiceBrokerResource,
  serviceBrokerResource,
  clusterServiceClassResource,
  serviceClassResource,
  clusterServicePlanResource,
  servicePlanResource,
  serviceInstanceResource,
  serviceBindingResource,
];
