import type { ResourceDefinition } from '../resource';
import { configMapResource } from './configmap';
import { eventResource } from './event';
import { leaseResource } from './lease';
import { namespaceResource } from './namespace';
import { secretResource } from './secret';

export * from './common';
export * from './namespace';
export * from './secret';
export * from './configmap';
export * from './event';
export * from './lease';

/**
 * The Kubernetes kinds served besides servicecatalog in standalone mode (--standalone), so that
 * kubectl, describe and client libraries work with no cluster: core/v1 and coordination.k8s.io/v1.
 */
export const coreResources: ResourceDefinition[] = [
  namespaceResource,
  secretResource,
  configMapResource,
  eventResource,
  leaseResource,
];
