import { Type, type Static } from '@sinclair/typebox';
import { freeForm, kindSchema, type KubeObject } from './meta';
import { servicecatalogGroup, servicecatalogVersion, type ResourceDefinition } from './resource';
import {
  clusterObjectReference,
  conditionSchema,
  fieldColumn,
  int64,
  localObjectReference,
  maintenanceInfo,
  parametersField,
  parametersFromField,
  selectString,
  statusPrinterColumn,
  stringEnum,
  timestamp,
  UserInfoSchema,
} from './common';

/**
 * How the user names the class and plan. One style per instance: cluster-scoped or namespaced,
 * and by external name, external id or Kubernetes name. In JSON these sit directly in spec.
 */
export const planReferenceProperties = {
  clusterServiceClassExternalName: Type.Optional(
    Type.String({ description: 'External name of the ClusterServiceClass to provision. Immutable.' }),
  ),
  clusterServicePlanExternalName: Type.Optional(
    Type.String({ description: 'External name of the ClusterServicePlan; change it to switch plans.' }),
  ),
  clusterServiceClassExternalID: Type.Optional(
    Type.String({ description: 'Broker id of the ClusterServiceClass to provision. Immutable.' }),
  ),
  clusterServicePlanExternalID: Type.Optional(
    Type.String({ description: 'Broker id of the ClusterServicePlan; change it to switch plans.' }),
  ),
  clusterServiceClassName: Type.Optional(
    Type.String({ description: 'Kubernetes name of the ClusterServiceClass to provision. Immutable.' }),
  ),
  clusterServicePlanName: Type.Optional(
    Type.String({ description: 'Kubernetes name of the ClusterServicePlan; change it to switch plans.' }),
  ),
  serviceClassExternalName: Type.Optional(
    Type.String({
      description: 'External name of the ServiceClass (same namespace) to provision. Immutable.',
    }),
  ),
  servicePlanExternalName: Type.Optional(
    Type.String({
      description: 'External name of the ServicePlan (same namespace); change it to switch plans.',
    }),
  ),
  serviceClassExternalID: Type.Optional(
    Type.String({ description: 'Broker id of the ServiceClass (same namespace) to provision. Immutable.' }),
  ),
  servicePlanExternalID: Type.Optional(
    Type.String({ description: 'Broker id of the ServicePlan (same namespace); change it to switch plans.' }),
  ),
  serviceClassName: Type.Optional(
    Type.String({
      description: 'Kubernetes name of the ServiceClass (same namespace) to provision. Immutable.',
    }),
  ),
  servicePlanName: Type.Optional(
    Type.String({
      description: 'Kubernetes name of the ServicePlan (same namespace); change it to switch plans.',
    }),
  ),
};
export const PlanReferenceSchema = Type.Object(planReferenceProperties, {
  description: 'The class and plan as the user named them.',
});
export type PlanReference = Static<typeof PlanReferenceSchema>;

export const ServiceInstanceSpecSchema = Type.Object(
  {
    ...planReferenceProperties,
    clusterServiceClassRef: Type.Optional(
      clusterObjectReference(
        'The ClusterServiceClass resolved from the cluster-scoped fields; set by the controller.',
      ),
    ),
    clusterServicePlanRef: Type.Optional(
      clusterObjectReference(
        'The ClusterServicePlan resolved from the cluster-scoped fields; set by the controller.',
      ),
    ),
    serviceClassRef: Type.Optional(
      localObjectReference('The ServiceClass resolved from the namespaced fields; set by the controller.'),
    ),
    servicePlanRef: Type.Optional(
      localObjectReference('The ServicePlan resolved from the namespaced fields; set by the controller.'),
    ),
    parameters: Type.Optional(parametersField('provision and update')),
    parametersFrom: Type.Optional(parametersFromField()),
    externalID: Type.Optional(
      Type.String({ description: 'OSB instance_id; generated (a UUID) when empty on create. Immutable.' }),
    ),
    userInfo: Type.Optional(UserInfoSchema),
    updateRequests: Type.Optional(
      int64(
        'Counter a user increments to resend an update, e.g. after a parameters secret changed. Never decreases.',
      ),
    ),
    maintenanceInfo: Type.Optional(
      maintenanceInfo(
        'Maintenance level the instance should be brought to; a change triggers an update (OSB 2.17; our addition).',
      ),
    ),
  },
  { description: 'What to provision and with which parameters.' },
);
export type ServiceInstanceSpec = Static<typeof ServiceInstanceSpecSchema>;

export const instanceConditionTypes = ['Ready', 'Failed', 'OrphanMitigation'] as const;
export const ServiceInstanceConditionSchema = conditionSchema(
  instanceConditionTypes,
  'An observation about the instance.',
);
export type ServiceInstanceCondition = Static<typeof ServiceInstanceConditionSchema>;

export const instanceOperationValues = ['', 'Provision', 'Update', 'Deprovision'] as const;
export type ServiceInstanceOperation = (typeof instanceOperationValues)[number];
export const provisionStatusValues = ['', 'Provisioned', 'NotProvisioned'] as const;
export type ServiceInstanceProvisionStatus = (typeof provisionStatusValues)[number];
export const deprovisionStatusValues = ['', 'NotRequired', 'Required', 'Succeeded', 'Failed'] as const;
export type ServiceInstanceDeprovisionStatus = (typeof deprovisionStatusValues)[number];

function instancePropertiesState(description: string) {
  return Type.Object(
    {
      clusterServicePlanExternalName: Type.Optional(
        Type.String({ description: 'External name of the ClusterServicePlan in this state.' }),
      ),
      clusterServicePlanExternalID: Type.Optional(
        Type.String({ description: 'Broker id of the ClusterServicePlan in this state.' }),
      ),
      servicePlanExternalName: Type.Optional(
        Type.String({ description: 'External name of the ServicePlan in this state.' }),
      ),
      servicePlanExternalID: Type.Optional(
        Type.String({ description: 'Broker id of the ServicePlan in this state.' }),
      ),
      parameters: Type.Optional(
        freeForm('Parameters in this state; values taken from secrets are shown as "<redacted>".'),
      ),
      parameterChecksum: Type.Optional(
        Type.String({ description: 'SHA-256 (64 hex digits) of the complete parameters, secrets included.' }),
      ),
      userInfo: Type.Optional(UserInfoSchema),
      maintenanceInfo: Type.Optional(
        maintenanceInfo('Maintenance level sent to the broker in this state (OSB 2.17; our addition).'),
      ),
    },
    { description },
  );
}
export const ServiceInstancePropertiesStateSchema = instancePropertiesState(
  'Plan, parameters and user of an instance at some point.',
);
export type ServiceInstancePropertiesState = Static<typeof ServiceInstancePropertiesStateSchema>;

export const ServiceInstanceStatusSchema = Type.Object(
  {
    conditions: Type.Optional(
      Type.Array(ServiceInstanceConditionSchema, {
        description: 'Observations about the instance, latest last.',
      }),
    ),
    asyncOpInProgress: Type.Optional(
      Type.Boolean({ description: 'True while the broker is still carrying out an asynchronous operation.' }),
    ),
    orphanMitigationInProgress: Type.Optional(
      Type.Boolean({ description: 'True while a failed provision is being cleaned up at the broker.' }),
    ),
    lastOperation: Type.Optional(
      Type.String({
        description: 'Operation key the broker returned for the asynchronous operation, sent back on polls.',
      }),
    ),
    dashboardURL: Type.Optional(
      Type.String({ description: 'Web UI of the instance, as reported by the broker.' }),
    ),
    currentOperation: Type.Optional(
      stringEnum(instanceOperationValues, {
        description: 'Operation in progress: Provision, Update or Deprovision; empty when idle.',
      }),
    ),
    reconciledGeneration: Type.Optional(
      int64(
        'metadata.generation the controller last processed, successfully or not. Deprecated: see observedGeneration.',
      ),
    ),
    observedGeneration: Type.Optional(int64('metadata.generation the controller last acted upon.')),
    operationStartTime: Type.Optional(timestamp('When the operation in progress started.')),
    inProgressProperties: Type.Optional(
      instancePropertiesState('State being sent to the broker by the operation in progress.'),
    ),
    externalProperties: Type.Optional(instancePropertiesState('State the broker last accepted.')),
    provisionStatus: Type.Optional(
      stringEnum(provisionStatusValues, {
        description:
          'Provisioned once the broker provisioned the instance, NotProvisioned otherwise; empty at first.',
      }),
    ),
    deprovisionStatus: Type.Optional(
      stringEnum(deprovisionStatusValues, {
        description:
          'Whether a deprovision request is needed before deletion: NotRequired, Required, Succeeded or Failed.',
      }),
    ),
    defaultProvisionParameters: Type.Optional(
      freeForm('Defaults from the class and plan that were merged into the parameters.'),
    ),
    maintenanceInfo: Type.Optional(
      maintenanceInfo('Maintenance level the broker reports for the instance (OSB 2.17; our addition).'),
    ),
    upgradeAvailable: Type.Optional(
      Type.Boolean({
        description:
          "True when the instance's plan offers a newer maintenance level than status.maintenanceInfo; bump spec.updateRequests to upgrade (our addition).",
      }),
    ),
    instanceUsable: Type.Optional(
      Type.Boolean({
        description:
          'False when the broker said a failed update or deprovision left the instance unusable (OSB instance_usable); no new bindings until a later update repairs it. Absent means usable (our addition).',
      }),
    ),
  },
  { description: 'Observed state of the instance.' },
);
export type ServiceInstanceStatus = Static<typeof ServiceInstanceStatusSchema>;

export const ServiceInstanceSchema = kindSchema(
  'A request to provision a service from a broker, on a given class and plan.',
  {
    spec: Type.Optional(ServiceInstanceSpecSchema),
    status: Type.Optional(ServiceInstanceStatusSchema),
  },
);
export type ServiceInstance = Static<typeof ServiceInstanceSchema> & KubeObject;

function firstSet(...values: (string | undefined)[]): string {
  for (const v of values) if (typeof v === 'string' && v !== '') return v;
  return '';
}

function clusterClass(spec: PlanReference): string {
  return firstSet(
    spec.clusterServiceClassExternalName,
    spec.clusterServiceClassExternalID,
    spec.clusterServiceClassName,
  );
}
function namespacedClass(spec: PlanReference): string {
  return firstSet(spec.serviceClassExternalName, spec.serviceClassExternalID, spec.serviceClassName);
}

/**
 * CLASS cell: "ClusterServiceClass/<x>" or "ServiceClass/<x>", x being the first of external name,
 * external id, Kubernetes name the user set. Unlike the original (which printed "ServiceClass/"
 * when a cluster class had no plan yet), the scope is taken from the class fields alone.
 */
export function instanceClassDisplay(spec: PlanReference | undefined): string {
  if (!spec) return '';
  const cluster = clusterClass(spec);
  if (cluster) return `ClusterServiceClass/${cluster}`;
  const namespaced = namespacedClass(spec);
  return namespaced ? `ServiceClass/${namespaced}` : '';
}

/** PLAN cell: the plan value of the same style, without a kind prefix (as the original prints it). */
export function instancePlanDisplay(spec: PlanReference | undefined): string {
  if (!spec) return '';
  const cluster = firstSet(
    spec.clusterServicePlanExternalName,
    spec.clusterServicePlanExternalID,
    spec.clusterServicePlanName,
  );
  if (cluster || clusterClass(spec)) return cluster;
  return firstSet(spec.servicePlanExternalName, spec.servicePlanExternalID, spec.servicePlanName);
}

export const serviceInstanceResource: ResourceDefinition = {
  group: servicecatalogGroup,
  version: servicecatalogVersion,
  kind: 'ServiceInstance',
  listKind: 'ServiceInstanceList',
  plural: 'serviceinstances',
  singular: 'serviceinstance',
  namespaced: true,
  shortNames: ['si'],
  categories: ['all', 'svcat'],
  subresources: ['status', 'reference'],
  schema: ServiceInstanceSchema,
  printerColumns: [
    {
      name: 'CLASS',
      type: 'string',
      description: 'The class as the user named it, prefixed with its kind.',
      priority: 0,
      cell: (obj) => instanceClassDisplay((obj as ServiceInstance).spec),
    },
    {
      name: 'PLAN',
      type: 'string',
      description: 'The plan as the user named it.',
      priority: 0,
      cell: (obj) => instancePlanDisplay((obj as ServiceInstance).spec),
    },
    statusPrinterColumn,
    fieldColumn('DASHBOARD', ['status', 'dashboardURL'], 'Web UI of the instance.', 1),
    fieldColumn('EXTERNAL-ID', ['spec', 'externalID'], 'OSB instance_id.', 1),
  ],
  selectableFields: {
    'spec.externalID': selectString(['spec', 'externalID']),
    'spec.clusterServiceClassRef.name': selectString(['spec', 'clusterServiceClassRef', 'name']),
    'spec.clusterServicePlanRef.name': selectString(['spec', 'clusterServicePlanRef', 'name']),
    'spec.serviceClassRef.name': selectString(['spec', 'serviceClassRef', 'name']),
    'spec.servicePlanRef.name': selectString(['spec', 'servicePlanRef', 'name']),
  },
};
