import { Type, type Static } from '@sinclair/typebox';
import { fieldColumn, selectString, stringEnum, stringList, timestamp } from '../common';
import { kindSchema, type KubeObject } from '../meta';
import type { ResourceDefinition } from '../resource';
import { namespaceProto } from './protobuf';
import { coreGroup, coreVersion } from './common';

export const namespacePhaseValues = ['Active', 'Terminating'] as const;
export type NamespacePhase = (typeof namespacePhaseValues)[number];

/** The finalizer the namespace controller holds until every object in the namespace is gone. */
export const kubernetesFinalizer = 'kubernetes';

export const NamespaceSpecSchema = Type.Object(
  {
    finalizers: Type.Optional(
      stringList(
        'Finalizers is an opaque list of values that must be empty to permanently remove object from storage.',
      ),
    ),
  },
  { description: 'NamespaceSpec describes the attributes on a Namespace.' },
);
export type NamespaceSpec = Static<typeof NamespaceSpecSchema>;

export const NamespaceConditionSchema = Type.Object(
  {
    type: Type.String({ description: 'Type of namespace controller condition.' }),
    status: Type.String({ description: 'Status of the condition, one of True, False, Unknown.' }),
    lastTransitionTime: Type.Optional(
      timestamp('Last time the condition transitioned from one status to another.'),
    ),
    reason: Type.Optional(
      Type.String({ description: "Unique, one-word, CamelCase reason for the condition's last transition." }),
    ),
    message: Type.Optional(
      Type.String({ description: 'Human-readable message indicating details about last transition.' }),
    ),
  },
  { description: "NamespaceCondition contains details about state of namespace's status." },
);
export type NamespaceCondition = Static<typeof NamespaceConditionSchema>;

export const NamespaceStatusSchema = Type.Object(
  {
    phase: Type.Optional(
      stringEnum(namespacePhaseValues, {
        description:
          'Phase is the current lifecycle phase of the namespace: Active, or Terminating while it is being deleted.',
      }),
    ),
    conditions: Type.Optional(
      Type.Array(NamespaceConditionSchema, {
        description: "Represents the latest available observations of a namespace's current state.",
      }),
    ),
  },
  { description: 'NamespaceStatus is information about the current status of a Namespace.' },
);
export type NamespaceStatus = Static<typeof NamespaceStatusSchema>;

export const NamespaceSchema = kindSchema(
  'Namespace provides a scope for Names. Use of multiple namespaces is optional.',
  {
    spec: Type.Optional(NamespaceSpecSchema),
    status: Type.Optional(NamespaceStatusSchema),
  },
);
export type Namespace = Static<typeof NamespaceSchema> & KubeObject;

export const namespaceResource: ResourceDefinition = {
  group: coreGroup,
  version: coreVersion,
  kind: 'Namespace',
  listKind: 'NamespaceList',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  categories: [],
  subresources: ['status', 'finalize'],
  schema: NamespaceSchema,
  printerColumns: [fieldColumn('STATUS', ['status', 'phase'], 'The status of the namespace')],
  selectableFields: { 'status.phase': selectString(['status', 'phase']) },
  protobuf: namespaceProto,
};
