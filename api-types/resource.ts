import type { TObject } from '@sinclair/typebox';
import type { KubeObject } from './meta';

/** One column of `kubectl get`, declared beside the type. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description: string;
  /** 0 = always shown; 1 = only with `-o wide`. */
  priority: number;
  cell: (obj: KubeObject) => string | number | boolean | null;
}

/**
 * How one field of a Kubernetes protobuf message maps to JSON: its JSON name and wire type. `time`
 * and `microTime` are metav1.Time/MicroTime messages, `fieldsV1` a metav1.FieldsV1 (JSON in bytes).
 */
export type ProtoField =
  | {
      name: string;
      type: 'string' | 'bytes' | 'bool' | 'int32' | 'int64' | 'time' | 'microTime' | 'fieldsV1';
      repeated?: boolean;
      /** A Go non-pointer number with `omitempty`: always on the wire, left out of JSON when 0. */
      omitZero?: boolean;
    }
  | { name: string; type: 'message'; message: ProtoMessage; repeated?: boolean }
  | { name: string; type: 'map'; value: 'string' | 'bytes' };

/** A protobuf message by field number. */
export type ProtoMessage = Record<number, ProtoField>;

/**
 * Everything the generic API machinery needs to serve one kind: names for discovery and URLs,
 * the structural schema that validates requests and feeds OpenAPI, table columns and the
 * extra field selectors the kind supports.
 */
export interface ResourceDefinition {
  group: string; // '' for the core group
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Subresources served besides the main resource (e.g. 'status', 'reference'). */
  subresources: string[];
  schema: TObject;
  /** Columns after NAME; AGE is appended by the server. */
  printerColumns: PrinterColumn[];
  /** Field selectors beyond metadata.name/metadata.namespace, each reading one string from the object. */
  selectableFields: Record<string, (obj: KubeObject) => string | undefined>;
  /**
   * The kind's protobuf message, for kinds Go clients send as application/vnd.kubernetes.protobuf
   * (kubectl's typed clients do for built-in kinds); without it such bodies are refused (415).
   */
  protobuf?: ProtoMessage;
}

/**
 * The part of a ResourceDefinition that names where a resource is served and stored: what the kube
 * client, the informers and etcd storage need. Every kind has one descriptor, its ResourceDefinition;
 * a ResourceType is any of them (or a kind we only call, such as Namespaces of a real cluster).
 */
export type ResourceType = Pick<ResourceDefinition, 'group' | 'version' | 'kind' | 'plural' | 'namespaced'>;

/** `group/version`, or just the version for the core group. */
export const apiVersionOf = (t: { group: string; version: string }) =>
  t.group ? `${t.group}/${t.version}` : t.version;

export const servicecatalogGroup = 'servicecatalog.k8s.io';
export const servicecatalogVersion = 'v1beta1';

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
