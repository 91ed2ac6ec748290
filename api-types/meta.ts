import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Schemas of the metav1 pieces every kind shares; served in OpenAPI and used to validate requests. */

export const OwnerReference = Type.Object(
  {
    apiVersion: Type.String(),
    kind: Type.String(),
    name: Type.String(),
    uid: Type.String(),
    controller: Type.Optional(Type.Boolean()),
    blockOwnerDeletion: Type.Optional(Type.Boolean()),
  },
  { description: 'OwnerReference contains enough information to let you identify an owning object.' },
);

export const ManagedFieldsEntry = Type.Object(
  {
    manager: Type.Optional(Type.String()),
    operation: Type.Optional(Type.String()),
    apiVersion: Type.Optional(Type.String()),
    time: Type.Optional(Type.String({ format: 'date-time' })),
    fieldsType: Type.Optional(Type.String()),
    fieldsV1: Type.Optional(Type.Object({}, { 'x-kubernetes-preserve-unknown-fields': true })),
    subresource: Type.Optional(Type.String()),
  },
  { description: 'ManagedFieldsEntry records which manager last touched which fields.' },
);

const StringMap = Type.Record(Type.String(), Type.String());

export const ObjectMeta = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'Name must be unique within a namespace.' })),
    generateName: Type.Optional(
      Type.String({ description: 'Prefix the server uses to generate a unique name when name is empty.' }),
    ),
    namespace: Type.Optional(Type.String({ description: 'Namespace of a namespaced object.' })),
    uid: Type.Optional(
      Type.String({ description: 'Unique id of this object over time, set by the server.' }),
    ),
    resourceVersion: Type.Optional(
      Type.String({
        description: 'Opaque version of this object, used for optimistic concurrency and watch.',
      }),
    ),
    generation: Type.Optional(
      Type.Integer({ format: 'int64', description: 'Sequence number of a specific generation of the spec.' }),
    ),
    creationTimestamp: Type.Optional(Type.String({ format: 'date-time' })),
    deletionTimestamp: Type.Optional(Type.String({ format: 'date-time' })),
    deletionGracePeriodSeconds: Type.Optional(Type.Integer({ format: 'int64' })),
    labels: Type.Optional(StringMap),
    annotations: Type.Optional(StringMap),
    finalizers: Type.Optional(Type.Array(Type.String())),
    ownerReferences: Type.Optional(Type.Array(OwnerReference)),
    managedFields: Type.Optional(Type.Array(ManagedFieldsEntry)),
    selfLink: Type.Optional(Type.String()),
  },
  { description: 'Standard object metadata.' },
);
export type ObjectMeta = Static<typeof ObjectMeta>;

export const ListMeta = Type.Object({
  resourceVersion: Type.Optional(Type.String()),
  continue: Type.Optional(Type.String()),
  remainingItemCount: Type.Optional(Type.Integer()),
  selfLink: Type.Optional(Type.String()),
});
export type ListMeta = Static<typeof ListMeta>;

/** Any object the API server stores: typed kinds narrow spec and status. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [key: string]: unknown;
}

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  apiVersion: 'v1';
  kind: 'Status';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** Builds the schema of a top-level kind: apiVersion, kind, metadata, then its own properties. */
export function kindSchema<P extends Record<string, TSchema>>(description: string, properties: P) {
  return Type.Object(
    {
      apiVersion: Type.Optional(
        Type.String({ description: 'APIVersion defines the versioned schema of this object.' }),
      ),
      kind: Type.Optional(Type.String({ description: 'Kind is the REST resource this object represents.' })),
      metadata: Type.Optional(ObjectMeta),
      ...properties,
    },
    { description },
  );
}

/** A free-form JSON object (parameters, externalMetadata, schemas): kept as sent, never pruned. */
export function freeForm(description: string) {
  return Type.Object({}, { description, 'x-kubernetes-preserve-unknown-fields': true });
}
