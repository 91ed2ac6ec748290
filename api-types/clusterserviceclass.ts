import { Type, type Static } from '@sinclair/typebox';
import { kindSchema, type KubeObject } from './meta';
import { servicecatalogGroup, servicecatalogVersion, type ResourceDefinition } from './resource';
import {
  commonServiceClassSpecProperties,
  fieldColumn,
  selectString,
  CommonServiceClassStatusSchema,
} from './common';

export const ClusterServiceClassSpecSchema = Type.Object(
  {
    ...commonServiceClassSpecProperties,
    clusterServiceBrokerName: Type.Optional(
      Type.String({ description: 'Name of the ClusterServiceBroker offering this class. Immutable.' }),
    ),
  },
  { description: 'A service of a cluster-scoped broker catalog.' },
);
export type ClusterServiceClassSpec = Static<typeof ClusterServiceClassSpecSchema>;

export const ClusterServiceClassStatusSchema = CommonServiceClassStatusSchema;
export type ClusterServiceClassStatus = Static<typeof ClusterServiceClassStatusSchema>;

export const ClusterServiceClassSchema = kindSchema(
  'A service offered by a ClusterServiceBroker, available to every namespace. Written by the controller.',
  {
    spec: Type.Optional(ClusterServiceClassSpecSchema),
    status: Type.Optional(ClusterServiceClassStatusSchema),
  },
);
export type ClusterServiceClass = Static<typeof ClusterServiceClassSchema> & KubeObject;

export const clusterServiceClassResource: ResourceDefinition = {
  group: servicecatalogGroup,
  version: servicecatalogVersion,
  kind: 'ClusterServiceClass',
  listKind: 'ClusterServiceClassList',
  plural: 'clusterserviceclasses',
  singular: 'clusterserviceclass',
  namespaced: false,
  shortNames: ['csc'],
  categories: ['svcat'],
  subresources: ['status'],
  schema: ClusterServiceClassSchema,
  printerColumns: [
    fieldColumn('EXTERNAL-NAME', ['spec', 'externalName'], 'Name the broker gives the service.'),
    fieldColumn('BROKER', ['spec', 'clusterServiceBrokerName'], 'Broker offering the service.'),
    fieldColumn('EXTERNAL-ID', ['spec', 'externalID'], 'OSB id of the service.', 1),
  ],
  selectableFields: {
    'spec.externalName': selectString(['spec', 'externalName']),
    'spec.externalID': selectString(['spec', 'externalID']),
    'spec.clusterServiceBrokerName': selectString(['spec', 'clusterServiceBrokerName']),
  },
};
