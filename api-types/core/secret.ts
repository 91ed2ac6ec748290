import { Type, type Static } from '@sinclair/typebox';
import { fieldColumn, selectString } from '../common';
import { kindSchema, type KubeObject } from '../meta';
import type { ResourceDefinition } from '../resource';
import { secretProto } from './protobuf';
import { bytesMap, coreGroup, coreVersion, mapSize, stringMap } from './common';

/** The secret types Kubernetes knows, with the keys each requires (see validation in the strategy). */
export const secretTypes = {
  opaque: 'Opaque',
  serviceAccountToken: 'kubernetes.io/service-account-token',
  dockercfg: 'kubernetes.io/dockercfg',
  dockerConfigJson: 'kubernetes.io/dockerconfigjson',
  basicAuth: 'kubernetes.io/basic-auth',
  sshAuth: 'kubernetes.io/ssh-auth',
  tls: 'kubernetes.io/tls',
  bootstrapToken: 'bootstrap.kubernetes.io/token',
} as const;

export const SecretSchema = kindSchema(
  'Secret holds secret data of a certain type. The total bytes of the values in the Data field must be less than MaxSecretSize bytes.',
  {
    data: Type.Optional(
      bytesMap(
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here.",
      ),
    ),
    stringData: Type.Optional(
      stringMap(
        'stringData allows specifying non-binary secret data in string form. It is provided as a write-only input field for convenience. All keys and values are merged into the data field on write, overwriting any existing values. The stringData field is never output when reading from the API.',
      ),
    ),
    type: Type.Optional(
      Type.String({
        description:
          'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types',
      }),
    ),
    immutable: Type.Optional(
      Type.Boolean({
        description:
          'Immutable, if set to true, ensures that data stored in the Secret cannot be updated (only object metadata can be modified). If not set to true, the field can be modified at any time. Defaulted to nil.',
      }),
    ),
  },
);
export type Secret = Static<typeof SecretSchema> & KubeObject;

/** The value of one key as text: from data (base64), else from stringData. */
export function secretValue(secret: Secret, key: string): string | undefined {
  const data = secret.data?.[key];
  if (typeof data === 'string') return Buffer.from(data, 'base64').toString('utf8');
  const plain = secret.stringData?.[key];
  return typeof plain === 'string' ? plain : undefined;
}

export const secretResource: ResourceDefinition = {
  group: coreGroup,
  version: coreVersion,
  kind: 'Secret',
  listKind: 'SecretList',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  shortNames: [],
  categories: [],
  subresources: [],
  schema: SecretSchema,
  printerColumns: [
    fieldColumn('TYPE', ['type'], 'Used to facilitate programmatic handling of secret data.'),
    {
      name: 'DATA',
      type: 'integer',
      description: 'Number of keys in the secret data.',
      priority: 0,
      cell: (obj) => mapSize(obj, ['data']),
    },
  ],
  selectableFields: { type: selectString(['type']) },
  protobuf: secretProto,
};
