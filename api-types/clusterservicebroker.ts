import { Type, type Static } from '@sinclair/typebox';
import { kindSchema, type KubeObject } from './meta';
import { servicecatalogGroup, servicecatalogVersion, type ResourceDefinition } from './resource';
import {
  basicAuthDescription,
  bearerAuthDescription,
  brokerPrinterColumns,
  commonServiceBrokerSpecProperties,
  CommonServiceBrokerStatusSchema,
  objectReference,
} from './common';

export const ClusterServiceBrokerAuthInfoSchema = Type.Object(
  {
    basic: Type.Optional(
      Type.Object(
        { secretRef: Type.Optional(objectReference('The secret with the credentials; namespace and name.')) },
        { description: basicAuthDescription },
      ),
    ),
    bearer: Type.Optional(
      Type.Object(
        { secretRef: Type.Optional(objectReference('The secret with the token; namespace and name.')) },
        { description: bearerAuthDescription },
      ),
    ),
  },
  { description: 'How to authenticate to the broker: exactly one of basic or bearer.' },
);
export type ClusterServiceBrokerAuthInfo = Static<typeof ClusterServiceBrokerAuthInfoSchema>;

export const ClusterServiceBrokerSpecSchema = Type.Object(
  { ...commonServiceBrokerSpecProperties, authInfo: Type.Optional(ClusterServiceBrokerAuthInfoSchema) },
  { description: 'Where the broker is and how to talk to it.' },
);
export type ClusterServiceBrokerSpec = Static<typeof ClusterServiceBrokerSpecSchema>;

export const ClusterServiceBrokerStatusSchema = CommonServiceBrokerStatusSchema;
export type ClusterServiceBrokerStatus = Static<typeof ClusterServiceBrokerStatusSchema>;

export const ClusterServiceBrokerSchema = kindSchema(
  'A service broker whose services are offered to the whole cluster as ClusterServiceClasses.',
  {
    spec: Type.Optional(ClusterServiceBrokerSpecSchema),
    status: Type.Optional(ClusterServiceBrokerStatusSchema),
  },
);
export type ClusterServiceBroker = Static<typeof ClusterServiceBrokerSchema> & KubeObject;

export const clusterServiceBrokerResource: ResourceDefinition = {
  group: servicecatalogGroup,
  version: servicecatalogVersion,
  kind: 'ClusterServiceBroker',
  listKind: 'ClusterServiceBrokerList',
  plural: 'clusterservicebrokers',
  singular: 'clusterservicebroker',
  namespaced: false,
  shortNames: ['csb'],
  categories: ['svcat'],
  subresources: ['status'],
  schema: ClusterServiceBrokerSchema,
  printerColumns: brokerPrinterColumns,
  selectableFields: {},
};
