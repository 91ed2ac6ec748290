import { Type } from '@sinclair/typebox';
import { readValue } from '../common';
import type { KubeObject } from '../meta';

/** Schema pieces and helpers shared by the core/v1 and coordination.k8s.io/v1 kinds of standalone mode. */

export const coreGroup = '';
export const coreVersion = 'v1';

/**
 * A metav1.MicroTime: RFC 3339 with microseconds. Kubernetes writes it in UTC with exactly six
 * fractional digits; the strategies normalise what clients send to that form.
 */
export function microTime(description: string) {
  return Type.String({ format: 'date-time', description });
}

/** A 32-bit signed integer (Go int32). */
export function int32(description: string) {
  return Type.Integer({ format: 'int32', description });
}

/** map[string]string. */
export function stringMap(description: string) {
  return Type.Record(Type.String(), Type.String(), { description });
}

/** map[string][]byte: every value base64. */
export function bytesMap(description: string) {
  return Type.Record(Type.String(), Type.String({ format: 'byte' }), { description });
}

/** The full core/v1 ObjectReference (events point at their object with it). */
export function coreObjectReference(description: string) {
  return Type.Object(
    {
      kind: Type.Optional(Type.String({ description: 'Kind of the referent.' })),
      namespace: Type.Optional(Type.String({ description: 'Namespace of the referent.' })),
      name: Type.Optional(Type.String({ description: 'Name of the referent.' })),
      uid: Type.Optional(Type.String({ description: 'UID of the referent.' })),
      apiVersion: Type.Optional(Type.String({ description: 'API version of the referent.' })),
      resourceVersion: Type.Optional(
        Type.String({ description: 'Specific resourceVersion to which this reference is made, if any.' }),
      ),
      fieldPath: Type.Optional(
        Type.String({
          description:
            'If referring to a piece of an object instead of an entire object, a JSON path to that piece, e.g. spec.containers{name}.',
        }),
      ),
    },
    { description, 'x-kubernetes-map-type': 'atomic' },
  );
}

/** Number of keys of the map at `path` (0 when absent), for DATA columns. */
export function mapSize(obj: KubeObject, path: readonly string[]): number {
  const v = readValue(obj, path);
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.keys(v).length : 0;
}
