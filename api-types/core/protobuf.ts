import type { ProtoMessage } from '../resource';

/**
 * Protobuf field numbers of the kinds served in standalone mode (k8s.io/api and apimachinery
 * generated.proto), so that bodies kubectl's typed clients send as application/vnd.kubernetes.protobuf
 * decode to the same JSON objects.
 */

const ownerReference: ProtoMessage = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};

const managedFieldsEntry: ProtoMessage = {
  1: { name: 'manager', type: 'string' },
  2: { name: 'operation', type: 'string' },
  3: { name: 'apiVersion', type: 'string' },
  4: { name: 'time', type: 'time' },
  6: { name: 'fieldsType', type: 'string' },
  7: { name: 'fieldsV1', type: 'fieldsV1' },
  8: { name: 'subresource', type: 'string' },
};

export const objectMetaProto: ProtoMessage = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  4: { name: 'selfLink', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int64', omitZero: true },
  8: { name: 'creationTimestamp', type: 'time' },
  9: { name: 'deletionTimestamp', type: 'time' },
  10: { name: 'deletionGracePeriodSeconds', type: 'int64' },
  11: { name: 'labels', type: 'map', value: 'string' },
  12: { name: 'annotations', type: 'map', value: 'string' },
  13: { name: 'ownerReferences', type: 'message', message: ownerReference, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
  17: { name: 'managedFields', type: 'message', message: managedFieldsEntry, repeated: true },
};

const metadata = { name: 'metadata', type: 'message', message: objectMetaProto } as const;

export const namespaceProto: ProtoMessage = {
  1: metadata,
  2: {
    name: 'spec',
    type: 'message',
    message: { 1: { name: 'finalizers', type: 'string', repeated: true } },
  },
  3: {
    name: 'status',
    type: 'message',
    message: {
      1: { name: 'phase', type: 'string' },
      2: {
        name: 'conditions',
        type: 'message',
        repeated: true,
        message: {
          1: { name: 'type', type: 'string' },
          2: { name: 'status', type: 'string' },
          4: { name: 'lastTransitionTime', type: 'time' },
          5: { name: 'reason', type: 'string' },
          6: { name: 'message', type: 'string' },
        },
      },
    },
  },
};

export const secretProto: ProtoMessage = {
  1: metadata,
  2: { name: 'data', type: 'map', value: 'bytes' },
  3: { name: 'type', type: 'string' },
  4: { name: 'stringData', type: 'map', value: 'string' },
  5: { name: 'immutable', type: 'bool' },
};

export const configMapProto: ProtoMessage = {
  1: metadata,
  2: { name: 'data', type: 'map', value: 'string' },
  3: { name: 'binaryData', type: 'map', value: 'bytes' },
  4: { name: 'immutable', type: 'bool' },
};

const objectReference: ProtoMessage = {
  1: { name: 'kind', type: 'string' },
  2: { name: 'namespace', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'fieldPath', type: 'string' },
};

export const eventProto: ProtoMessage = {
  1: metadata,
  2: { name: 'involvedObject', type: 'message', message: objectReference },
  3: { name: 'reason', type: 'string' },
  4: { name: 'message', type: 'string' },
  5: {
    name: 'source',
    type: 'message',
    message: { 1: { name: 'component', type: 'string' }, 2: { name: 'host', type: 'string' } },
  },
  6: { name: 'firstTimestamp', type: 'time' },
  7: { name: 'lastTimestamp', type: 'time' },
  8: { name: 'count', type: 'int32', omitZero: true },
  9: { name: 'type', type: 'string' },
  10: { name: 'eventTime', type: 'microTime' },
  11: {
    name: 'series',
    type: 'message',
    message: {
      1: { name: 'count', type: 'int32', omitZero: true },
      2: { name: 'lastObservedTime', type: 'microTime' },
    },
  },
  12: { name: 'action', type: 'string' },
  13: { name: 'related', type: 'message', message: objectReference },
  14: { name: 'reportingComponent', type: 'string' },
  15: { name: 'reportingInstance', type: 'string' },
};

export const leaseProto: ProtoMessage = {
  1: metadata,
  2: {
    name: 'spec',
    type: 'message',
    message: {
      1: { name: 'holderIdentity', type: 'string' },
      2: { name: 'leaseDurationSeconds', type: 'int32' },
      3: { name: 'acquireTime', type: 'microTime' },
      4: { name: 'renewTime', type: 'microTime' },
      5: { name: 'leaseTransitions', type: 'int32' },
      6: { name: 'strategy', type: 'string' },
      7: { name: 'preferredHolder', type: 'string' },
    },
  },
};
