import { Type, type Static } from '@sinclair/typebox';
import { kindSchema, type KubeObject } from './meta';
import { servicecatalogGroup, servicecatalogVersion, type ResourceDefinition } from './resource';
import {
  commonServicePlanSpecProperties,
  fieldColumn,
  localObjectReference,
  selectString,
  CommonServicePlanStatusSchema,
} from './common';

export const ServicePlanSpecSchema = Type.Object(
  {
    ...commonServicePlanSpecProperties,
    serviceBrokerName: Type.Optional(
      Type.String({ description: 'Name of the ServiceBroker (same namespace) offering this plan.' }),
    ),
    serviceClassRef: Type.Optional(
      localObjectReference('The ServiceClass (same namespace) this plan belongs to.'),
    ),
  },
  { description: 'A plan of a namespaced broker catalog.' },
);
export type ServicePlanSpec = Static<typeof ServicePlanSpecSchema>;

export const ServicePlanStatusSchema = CommonServicePlanStatusSchema;
export type ServicePlanStatus = Static<typeof ServicePlanStatusSchema>;

export const ServicePlanSchema = kindSchema(
  'A tier (size, price, quality) of a ServiceClass. Written by the controller.',
  {
    spec: Type.Optional(ServicePlanSpecSchema),
    status: Type.Optional(ServicePlanStatusSchema),
  },
);
export type ServicePlan = Static<typeof ServicePlanSchema> & KubeObject;

export const servicePlanResource: ResourceDefinition = {
  group: servicecatalogGroup,
  version: servicecatalogVersion,
  kind: 'ServicePlan',
  listKind: 'ServicePlanList',
  plural: 'serviceplans',
  singular: 'serviceplan',
  namespaced: true,
  shortNames: ['sp'],
  categories: ['svcat'],
  subresources: ['status'],
  schema: ServicePlanSchema,
  printerColumns: [
    fieldColumn('EXTERNAL-NAME', ['spec', 'externalName'], 'Name the broker gives the plan.'),
    fieldColumn('BROKER', ['spec', 'serviceBrokerName'], 'Broker offering the plan.'),
    fieldColumn('CLASS', ['spec', 'serviceClassRef', 'name'], 'Name of the class the plan belongs to.'),
    fieldColumn('EXTERNAL-ID', ['spec', 'externalID'], 'OSB id of the plan.', 1),
  ],
  selectableFields: {
    'spec.externalName': selectString(['spec', 'externalName']),
    'spec.externalID': selectString(['spec', 'externalID']),
    'spec.serviceBrokerName': selectString(['spec', 'serviceBrokerName']),
    'spec.serviceClassRef.name': selectString(['spec', 'serviceClassRef', 'name']),
  },
};
