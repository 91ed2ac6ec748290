import { Type, type Static } from '@sinclair/typebox';
import { kindSchema, type KubeObject } from './meta';
import { servicecatalogGroup, servicecatalogVersion, type ResourceDefinition } from './resource';
import {
  clusterObjectReference,
  commonServicePlanSpecProperties,
  fieldColumn,
  selectString,
  CommonServicePlanStatusSchema,
} from './common';

export const ClusterServicePlanSpecSchema = Type.Object(
  {
    ...commonServicePlanSpecProperties,
    clusterServiceBrokerName: Type.Optional(
      Type.String({ description: 'Name of the ClusterServiceBroker offering this plan.' }),
    ),
    clusterServiceClassRef: Type.Optional(
      clusterObjectReference('The ClusterServiceClass this plan belongs to.'),
    ),
  },
  { description: 'A plan of a cluster-scoped broker catalog.' },
);
export type ClusterServicePlanSpec = Static<typeof ClusterServicePlanSpecSchema>;

export const ClusterServicePlanStatusSchema = CommonServicePlanStatusSchema;
export type ClusterServicePlanStatus = Static<typeof ClusterServicePlanStatusSchema>;

export const ClusterServicePlanSchema = kindSchema(
  'A tier (size, price, quality) of a ClusterServiceClass. Written by the controller.',
  {
    spec: Type.Optional(ClusterServicePlanSpecSchema),
    status: Type.Optional(ClusterServicePlanStatusSchema),
  },
);
export type ClusterServicePlan = Static<typeof ClusterServicePlanSchema> & KubeObject;

export const clusterServicePlanResource: ResourceDefinition = {
  group: servicecatalogGroup,
  version: servicecatalogVersion,
  kind: 'ClusterServicePlan',
  listKind: 'ClusterServicePlanList',
  plural: 'clusterserviceplans',
  singular: 'clusterserviceplan',
  namespaced: false,
  shortNames: ['csp'],
  categories: ['svcat'],
  subresources: ['status'],
  schema: ClusterServicePlanSchema,
  printerColumns: [
    fieldColumn('EXTERNAL-NAME', ['spec', 'externalName'], 'Name the broker gives the plan.'),
    fieldColumn('BROKER', ['spec', 'clusterServiceBrokerName'], 'Broker offering the plan.'),
    fieldColumn(
      'CLASS',
      ['spec', 'clusterServiceClassRef', 'name'],
      'Name of the class the plan belongs to.',
    ),
    fieldColumn('EXTERNAL-ID', ['spec', 'externalID'], 'OSB id of the plan.', 1),
  ],
  selectableFields: {
    'spec.externalName': selectString(['spec', 'externalName']),
    'spec.externalID': selectString(['spec', 'externalID']),
    'spec.clusterServiceBrokerName': selectString(['spec', 'clusterServiceBrokerName']),
    'spec.clusterServiceClassRef.name': selectString(['spec', 'clusterServiceClassRef', 'name']),
  },
};
