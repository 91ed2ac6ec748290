import { clusterServiceBrokerStrategy, serviceBrokerStrategy } from './broker';
import { serviceBindingStrategy } from './binding';
import { clusterServiceClassStrategy, serviceClassStrategy } from './class';
import { configMapStrategy, eventStrategy, leaseStrategy, namespaceStrategy, secretStrategy } from './core';
import { serviceInstanceStrategy } from './instance';
import { clusterServicePlanStrategy, servicePlanStrategy } from './plan';
import type { Strategy } from './strategy';

/** The strategy of each servicecatalog kind, by kind; kinds not listed use the generic strategy. */
export const servicecatalogStrategies: Record<string, Strategy> = {
  ClusterServiceBroker: clusterServiceBrokerStrategy,
  ServiceBroker: serviceBrokerStrategy,
  ClusterServiceClass: clusterServiceClassStrategy,
  ServiceClass: serviceClassStrategy,
  ClusterServicePlan: clusterServicePlanStrategy,
  ServicePlan: servicePlanStrategy,
  ServiceInstance: serviceInstanceStrategy,
  ServiceBinding: serviceBindingStrategy,
};

/**
 * The strategy of each Kubernetes kind served in standalone mode (--standalone), by kind; merged
 * with servicecatalogStrategies where the server is started.
 */
export const coreStrategies: Record<string, Strategy> = {
  Namespace: namespaceStrategy,
  Secret: secretStrategy,
  ConfigMap: configMapStrategy,
  Event: eventStrategy,
  Lease: leaseStrategy,
};
