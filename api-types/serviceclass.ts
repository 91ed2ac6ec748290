import { Type, type Static } from '@sinclair/typebox';
import { kindSchema, type KubeObject } from './meta';
import { servicecatalogGroup, servicecatalogVersion, type ResourceDefinition } from './resource';
import {
  commonServiceClassSpecProperties,
  fieldColumn,
  selectString,
  CommonServiceClassStatusSchema,
} from './common';

export const ServiceClassSpecSchema = Type.Object(
  {
    ...commonServiceClassSpecProperties,
    serviceBrokerName: Type.Optional(
      Type.String({
        description: 'Name of the ServiceBroker (same namespace) offering this class. Immutable.',
      }),
    ),
  },
  { description: 'A service of a namespaced broker catalog.' },
);
export type ServiceClassSpec = Static<typeof ServiceClassSpecSchema>;

export const ServiceClassStatusSchema = CommonServiceClassStatusSchema;
export type ServiceClassStatus = Static<typeof ServiceClassStatusSchema>;

export const ServiceClassSchema = kindSchema(
  'A service offered by a ServiceBroker, available in its namespace. Written by the controller.',
  {
    spec: Type.Optional(ServiceClassSpecSchema),
    status: Type.Optional(ServiceClassStatusSchema),
  },
);
export type ServiceClass = Static<typeof ServiceClassSchema> & KubeObject;

export const serviceClassResource: ResourceDefinition = {
  group: servicecatalogGroup,
  version: servicecatalogVersion,
  kind: 'ServiceClass',
  listKind: 'ServiceClassList',
  plural: 'serviceclasses',
  singular: 'serviceclass',
  namespaced: true,
  shortNames: ['sc'],
  categories: ['svcat'],
  subresources: ['status'],
  schema: ServiceClassSchema,
  printerColumns: [
    fieldColumn('EXTERNAL-NAME', ['spec', 'externalName'], 'Name the broker gives the service.'),
    fieldColumn('BROKER', ['spec', 'serviceBrokerName'], 'Broker offering the service.'),
    fieldColumn('EXTERNAL-ID', ['spec', 'externalID'], 'OSB id of the service.', 1),
  ],
  selectableFields: {
    'spec.externalName': selectString(['spec', 'externalName']),
    'spec.externalID': selectString(['spec', 'externalID']),
    'spec.serviceBrokerName': selectString(['spec', 'serviceBrokerName']),
  },
};
