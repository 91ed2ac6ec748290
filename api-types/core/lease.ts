import { Type, type Static } from '@sinclair/typebox';
import { fieldColumn } from '../common';
import { kindSchema, type KubeObject } from '../meta';
import type { ResourceDefinition } from '../resource';
import { leaseProto } from './protobuf';
import { int32, microTime } from './common';

export const coordinationGroup = 'coordination.k8s.io';
export const coordinationVersion = 'v1';

export const LeaseSpecSchema = Type.Object(
  {
    holderIdentity: Type.Optional(
      Type.String({
        description:
          'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.',
      }),
    ),
    leaseDurationSeconds: Type.Optional(
      int32(
        'leaseDurationSeconds is a duration that candidates for a lease need to wait to force acquire it. This is measured against the time of last observed renewTime.',
      ),
    ),
    acquireTime: Type.Optional(microTime('acquireTime is a time when the current lease was acquired.')),
    renewTime: Type.Optional(
      microTime('renewTime is a time when the current holder of a lease has last updated the lease.'),
    ),
    leaseTransitions: Type.Optional(
      int32('leaseTransitions is the number of transitions of a lease between holders.'),
    ),
    strategy: Type.Optional(
      Type.String({
        description:
          'Strategy indicates the strategy for picking the leader for coordinated leader election. If the field is not specified, there is no active coordination for this lease. (Alpha) Using this field requires the CoordinatedLeaderElection feature gate to be enabled.',
      }),
    ),
    preferredHolder: Type.Optional(
      Type.String({
        description:
          'PreferredHolder signals to a lease holder that the lease has a more optimal holder and should be given up. This field can only be set if Strategy is also set.',
      }),
    ),
  },
  { description: 'LeaseSpec is a specification of a Lease.' },
);
export type LeaseSpec = Static<typeof LeaseSpecSchema>;

export const LeaseSchema = kindSchema('Lease defines a lease concept.', {
  spec: Type.Optional(LeaseSpecSchema),
});
export type Lease = Static<typeof LeaseSchema> & KubeObject;

export const leaseResource: ResourceDefinition = {
  group: coordinationGroup,
  version: coordinationVersion,
  kind: 'Lease',
  listKind: 'LeaseList',
  plural: 'leases',
  singular: 'lease',
  namespaced: true,
  shortNames: [],
  categories: [],
  subresources: [],
  schema: LeaseSchema,
  printerColumns: [
    fieldColumn('HOLDER', ['spec', 'holderIdentity'], 'The identity of the holder of the lease.'),
  ],
  selectableFields: {},
  protobuf: leaseProto,
};
