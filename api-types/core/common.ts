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

/** Time since `ts`, shaped like kube's duration.HumanDuration; '<unknown>' when absent or unparsable. */
export function since(ts: string | undefined, now = Date.now()): string {
  const t = ts ? Date.parse(ts) : NaN;
  if (Number.isNaN(t)) return '<unknown>';
  const s = Math.trunc((now - t) / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  if (d < 365 * 8) return d % 365 === 0 ? `${Math.floor(d / 365)}y` : `${Math.floor(d / 365)}y${d % 365}d`;
  return `${Math.floor(d / 365)}y`;
}
