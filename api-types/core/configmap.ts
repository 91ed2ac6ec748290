import { Type, type Static } from '@sinclair/typebox';
import { kindSchema, type KubeObject } from '../meta';
import type { ResourceDefinition } from '../resource';
import { configMapProto } from './protobuf';
import { bytesMap, coreGroup, coreVersion, mapSize, stringMap } from './common';

export const ConfigMapSchema = kindSchema('ConfigMap holds configuration data for pods to consume.', {
  data: Type.Optional(
    stringMap(
      "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field.",
    ),
  ),
  binaryData: Type.Optional(
    bytesMap(
      "BinaryData contains the binary data. Each key must consist of alphanumeric characters, '-', '_' or '.'. BinaryData can contain byte sequences that are not in the UTF-8 range. The keys stored in BinaryData must not overlap with the ones in the Data field.",
    ),
  ),
  immutable: Type.Optional(
    Type.Boolean({
      description:
        'Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated (only object metadata can be modified). If not set to true, the field can be modified at any time. Defaulted to nil.',
    }),
  ),
});
export type ConfigMap = Static<typeof ConfigMapSchema> & KubeObject;

export const configMapResource: ResourceDefinition = {
  group: coreGroup,
  version: coreVersion,
  kind: 'ConfigMap',
  listKind: 'ConfigMapList',
  plural: 'configmaps',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  categories: [],
  subresources: [],
  schema: ConfigMapSchema,
  printerColumns: [
    {
      name: 'DATA',
      type: 'integer',
      description: 'Number of keys in data and binaryData.',
      priority: 0,
      cell: (obj) => mapSize(obj, ['data']) + mapSize(obj, ['binaryData']),
    },
  ],
  selectableFields: {},
  protobuf: configMapProto,
};
