import { Type, type Static } from '@sinclair/typebox';
import { kindSchema, type KubeObject } from './meta';
import { servicecatalogGroup, servicecatalogVersion, type ResourceDefinition } from './resource';
import {
  basicAuthDescription,
  bearerAuthDescription,
  brokerPrinterColumns,
  commonServiceBrokerSpecProperties,
  CommonServiceBrokerStatusSchema,
  localObjectReference,
} from './common';

export const ServiceBrokerAuthInfoSchema = Type.Object(
  {
    basic: Type.Optional(
      Type.Object(
        {
          secretRef: Type.Optional(
            localObjectReference("The secret with the credentials, in the broker's namespace."),
          ),
        },
        { description: basicAuthDescription },
      ),
    ),
    bearer: Type.Optional(
      Type.Object(
        {
          secretRef: Type.Optional(
            localObjectReference("The secret with the token, in the broker's namespace."),
          ),
        },
        { description: bearerAuthDescription },
      ),
    ),
  },
  { description: 'How to authenticate to the broker: exactly one of basic or bearer.' },
);
export type ServiceBrokerAuthInfo = Static<typeof ServiceBrokerAuthInfoSchema>;

export const ServiceBrokerSpecSchema = Type.Object(
  { ...commonServiceBrokerSpecProperties, authInfo: Type.Optional(ServiceBrokerAuthInfoSchema) },
  { description: 'Where the broker is and how to talk to it.' },
);
export type ServiceBrokerSpec = Static<typeof ServiceBrokerSpecSchema>;

export const ServiceBrokerStatusSchema = CommonServiceBrokerStatusSchema;
export type ServiceBrokerStatus = Static<typeof ServiceBrokerStatusSchema>;

export const ServiceBrokerSchema = kindSchema(
  'A service broker whose services are offered only in its own namespace, as ServiceClasses.',
  {
    spec: Type.Optional(ServiceBrokerSpecSchema),
    status: Type.Optional(ServiceBrokerStatusSchema),
  },
);
export type ServiceBroker = Static<typeof ServiceBrokerSchema> & KubeObject;

export const serviceBrokerResource: ResourceDefinition = {
  group: servicecatalogGroup,
  version: servicecatalogVersion,
  kind: 'ServiceBroker',
  listKind: 'ServiceBrokerList',
  plural: 'servicebrokers',
  singular: 'servicebroker',
  namespaced: true,
  shortNames: ['sb'],
  categories: ['svcat'],
  subresources: ['status'],
  schema: ServiceBrokerSchema,
  printerColumns: brokerPrinterColumns,
  selectableFields: {},
};
