import { Type, type Static } from '@sinclair/typebox';
import { freeForm, kindSchema, type KubeObject } from './meta';
import { servicecatalogGroup, servicecatalogVersion, type ResourceDefinition } from './resource';
import {
  bytes,
  conditionSchema,
  fieldColumn,
  int64,
  localObjectReference,
  objectReference,
  parametersField,
  parametersFromField,
  selectString,
  statusPrinterColumn,
  stringEnum,
  stringList,
  timestamp,
  UserInfoSchema,
} from './common';

export const SecretTransformSchema = Type.Object(
  {
    renameKey: Type.Optional(
      Type.Object(
        {
          from: Type.Optional(Type.String({ description: 'Credential key to rename.' })),
          to: Type.Optional(Type.String({ description: 'Key to store it under instead.' })),
        },
        { description: 'Store a credential under another key.' },
      ),
    ),
    addKey: Type.Optional(
      Type.Object(
        {
          key: Type.Optional(Type.String({ description: 'Key to add to the secret.' })),
          value: Type.Optional(bytes('Bytes to store, base64 encoded; ignored when stringValue is set.')),
          stringValue: Type.Optional(Type.String({ description: 'Text to store; wins over value.' })),
          jsonPathExpression: Type.Optional(
            Type.String({
              description:
                'JSONPath into the credentials, e.g. "{.db.host}", whose result is stored; wins over both.',
            }),
          ),
        },
        { description: 'Add one entry to the secret. Not for sensitive values: use addKeysFrom for those.' },
      ),
    ),
    addKeysFrom: Type.Optional(
      Type.Object(
        { secretRef: Type.Optional(objectReference('Secret whose entries are merged in.')) },
        { description: 'Merge every entry of another secret into the secret.' },
      ),
    ),
    removeKey: Type.Optional(
      Type.Object(
        { key: Type.Optional(Type.String({ description: 'Credential key to drop.' })) },
        { description: 'Leave one credential out of the secret.' },
      ),
    ),
  },
  {
    description:
      'One change applied to the broker credentials before they are written; set exactly one member.',
  },
);
export type SecretTransform = Static<typeof SecretTransformSchema>;

export const ServiceBindingSpecSchema = Type.Object(
  {
    instanceRef: Type.Optional(
      localObjectReference('The ServiceInstance (same namespace) to bind to. Immutable.'),
    ),
    parameters: Type.Optional(parametersField('bind')),
    parametersFrom: Type.Optional(parametersFromField()),
    secretName: Type.Optional(
      Type.String({
        description: 'Secret (same namespace) that receives the credentials; defaults to the binding name.',
      }),
    ),
    secretTransforms: Type.Optional(
      Type.Array(SecretTransformSchema, { description: 'Changes applied, in order, to the credentials.' }),
    ),
    externalID: Type.Optional(
      Type.String({ description: 'OSB binding_id; generated (a UUID) when empty on create. Immutable.' }),
    ),
    userInfo: Type.Optional(UserInfoSchema),
  },
  { description: 'Which instance to bind and where to put the credentials. Cannot change after create.' },
);
export type ServiceBindingSpec = Static<typeof ServiceBindingSpecSchema>;

export const bindingConditionTypes = ['Ready', 'Failed'] as const;
export const ServiceBindingConditionSchema = conditionSchema(
  bindingConditionTypes,
  'An observation about the binding.',
);
export type ServiceBindingCondition = Static<typeof ServiceBindingConditionSchema>;

export const bindingOperationValues = ['', 'Bind', 'Unbind'] as const;
export type ServiceBindingOperation = (typeof bindingOperationValues)[number];
export const unbindStatusValues = ['', 'NotRequired', 'Required', 'Succeeded', 'Failed'] as const;
export type ServiceBindingUnbindStatus = (typeof unbindStatusValues)[number];
export const endpointProtocolValues = ['tcp', 'udp', 'all'] as const;

function bindingPropertiesState(description: string) {
  return Type.Object(
    {
      parameters: Type.Optional(
        freeForm('Parameters in this state; values taken from secrets are shown as "<redacted>".'),
      ),
      parameterChecksum: Type.Optional(
        Type.String({ description: 'SHA-256 (64 hex digits) of the complete parameters, secrets included.' }),
      ),
      userInfo: Type.Optional(UserInfoSchema),
      serviceClassExternalID: Type.Optional(
        Type.String({ description: 'OSB service_id the bind was sent with (our addition).' }),
      ),
      servicePlanExternalID: Type.Optional(
        Type.String({
          description:
            'OSB plan_id the bind was sent with; unbind sends it back even after the instance changed plans (our addition).',
        }),
      ),
    },
    { description },
  );
}
export const ServiceBindingPropertiesStateSchema = bindingPropertiesState(
  'Parameters and user of a binding at some point.',
);
export type ServiceBindingPropertiesState = Static<typeof ServiceBindingPropertiesStateSchema>;

export const BindingEndpointSchema = Type.Object(
  {
    host: Type.Optional(Type.String({ description: 'Host name or IP address the application connects to.' })),
    ports: Type.Optional(stringList('Ports or port ranges, e.g. "443" or "9000-9010".')),
    protocol: Type.Optional(
      stringEnum(endpointProtocolValues, { description: 'tcp, udp or all; tcp when unset.' }),
    ),
  },
  {
    description:
      'A network endpoint the application needs to reach (OSB 2.17 binding endpoints; our addition).',
  },
);
export type BindingEndpoint = Static<typeof BindingEndpointSchema>;

export const rotationPhaseValues = ['Bind', 'Unbind'] as const;
export type ServiceBindingRotationPhase = (typeof rotationPhaseValues)[number];

export const ServiceBindingRotationSchema = Type.Object(
  {
    phase: Type.Optional(
      stringEnum(rotationPhaseValues, {
        description:
          'Bind: the successor binding is being created; Unbind: the binding in bindingID (the predecessor, or a successor whose creation failed) is being deleted at the broker.',
      }),
    ),
    bindingID: Type.Optional(
      Type.String({
        description:
          'OSB binding_id this phase works on; recorded before the broker is called, so a restarted controller resends the same id.',
      }),
    ),
    startTime: Type.Optional(timestamp('When this phase started.')),
    asyncOpInProgress: Type.Optional(
      Type.Boolean({ description: 'True while the broker carries out this phase asynchronously.' }),
    ),
    lastOperation: Type.Optional(
      Type.String({ description: 'Operation key the broker returned for this phase, sent back on polls.' }),
    ),
    orphanMitigation: Type.Optional(
      Type.Boolean({
        description:
          'True when the binding in bindingID is a successor whose creation failed and is being removed.',
      }),
    ),
  },
  {
    description:
      'A binding rotation in progress (OSB 2.17 binding_rotatable plans, once renewBefore has passed; our addition).',
  },
);
export type ServiceBindingRotation = Static<typeof ServiceBindingRotationSchema>;

export const ServiceBindingStatusSchema = Type.Object(
  {
    conditions: Type.Optional(
      Type.Array(ServiceBindingConditionSchema, {
        description: 'Observations about the binding, latest last.',
      }),
    ),
    asyncOpInProgress: Type.Optional(
      Type.Boolean({
        description: 'True while the broker is still carrying out an asynchronous operation (alpha).',
      }),
    ),
    lastOperation: Type.Optional(
      Type.String({
        description: 'Operation key the broker returned for the asynchronous operation (alpha).',
      }),
    ),
    currentOperation: Type.Optional(
      stringEnum(bindingOperationValues, {
        description: 'Operation in progress: Bind or Unbind; empty when idle.',
      }),
    ),
    reconciledGeneration: Type.Optional(
      int64('metadata.generation the controller last processed, successfully or not.'),
    ),
    operationStartTime: Type.Optional(timestamp('When the operation in progress started.')),
    inProgressProperties: Type.Optional(
      bindingPropertiesState('State being sent to the broker by a Bind in progress; unset during Unbind.'),
    ),
    externalProperties: Type.Optional(bindingPropertiesState('State the broker last accepted.')),
    orphanMitigationInProgress: Type.Optional(
      Type.Boolean({ description: 'True while a failed bind is being cleaned up at the broker.' }),
    ),
    unbindStatus: Type.Optional(
      stringEnum(unbindStatusValues, {
        description:
          'Whether an unbind request is needed before deletion: NotRequired, Required, Succeeded or Failed.',
      }),
    ),
    endpoints: Type.Optional(
      Type.Array(BindingEndpointSchema, {
        description: 'Network endpoints the broker reported for the binding (OSB 2.17; our addition).',
      }),
    ),
    expiresAt: Type.Optional(
      timestamp('When the credentials stop working, as reported by the broker (OSB 2.17; our addition).'),
    ),
    renewBefore: Type.Optional(
      timestamp(
        'When the credentials should be renewed, as reported by the broker (OSB 2.17; our addition).',
      ),
    ),
    externalID: Type.Optional(
      Type.String({
        description:
          'OSB binding_id whose credentials the secret holds: spec.externalID until the binding is first rotated, then the latest successor (our addition).',
      }),
    ),
    rotation: Type.Optional(ServiceBindingRotationSchema),
    lastRotationTime: Type.Optional(
      timestamp('When the credentials were last replaced by a rotation (our addition).'),
    ),
  },
  { description: 'Observed state of the binding.' },
);
export type ServiceBindingStatus = Static<typeof ServiceBindingStatusSchema>;

export const ServiceBindingSchema = kindSchema(
  'A request for credentials to a ServiceInstance, written into a secret for applications to use.',
  {
    spec: Type.Optional(ServiceBindingSpecSchema),
    status: Type.Optional(ServiceBindingStatusSchema),
  },
);
export type ServiceBinding = Static<typeof ServiceBindingSchema> & KubeObject;

export const serviceBindingResource: ResourceDefinition = {
  group: servicecatalogGroup,
  version: servicecatalogVersion,
  kind: 'ServiceBinding',
  listKind: 'ServiceBindingList',
  plural: 'servicebindings',
  singular: 'servicebinding',
  namespaced: true,
  shortNames: ['sbd'],
  categories: ['all', 'svcat'],
  subresources: ['status'],
  schema: ServiceBindingSchema,
  printerColumns: [
    fieldColumn('SERVICE-INSTANCE', ['spec', 'instanceRef', 'name'], 'Instance the binding is for.'),
    fieldColumn('SECRET-NAME', ['spec', 'secretName'], 'Secret holding the credentials.'),
    statusPrinterColumn,
    fieldColumn('EXTERNAL-ID', ['spec', 'externalID'], 'OSB binding_id.', 1),
  ],
  selectableFields: {
    'spec.externalID': selectString(['spec', 'externalID']),
    'spec.instanceRef.name': selectString(['spec', 'instanceRef', 'name']),
  },
};
