import yaml from 'js-yaml';
import type { KubeObject, ListMeta } from '../../api-types/meta';
import { since, type PrinterColumn, type ResourceDefinition } from '../../api-types/resource';
import { badRequest, notAcceptable } from '../../pkg/apierrors';

/** What the client asked for in Accept. */
export type Representation =
  | { as: 'object'; yaml: boolean }
  | { as: 'Table'; version: 'v1' | 'v1beta1' }
  | { as: 'PartialObjectMetadata'; version: 'v1' | 'v1beta1' };

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(accept: string): MediaRange[] {
  return accept
    .split(',')
    .map((part) => {
      const [type, ...params] = part.split(';').map((s) => s.trim());
      const p: Record<string, string> = {};
      for (const kv of params) {
        const i = kv.indexOf('=');
        if (i > 0) p[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
      }
      return { type: type.toLowerCase(), params: p };
    })
    .filter((m) => m.type !== '' && m.params.q !== '0');
}

/**
 * Picks the first media range we can serve, in the client's order. Protobuf is never served, so
 * kubectl's "protobuf, json" falls through to JSON; Table and PartialObjectMetadata are honoured
 * as kube-apiserver does for meta.k8s.io v1 and v1beta1.
 */
export function negotiate(accept: string | undefined): Representation {
  if (!accept) return { as: 'object', yaml: false };
  for (const m of parseAccept(accept)) {
    if (m.type === 'application/yaml') return { as: 'object', yaml: true };
    if (m.type !== 'application/json' && m.type !== '*/*' && m.type !== 'application/*') continue;
    const as = m.params.as;
    if (!as) return { as: 'object', yaml: false };
    const version = m.params.v;
    if (m.params.g !== 'meta.k8s.io' || (version !== 'v1' && version !== 'v1beta1')) continue;
    if (as === 'Table') return { as: 'Table', version };
    if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') {
      return { as: 'PartialObjectMetadata', version };
    }
  }
  throw notAcceptable(accept);
}

const jsonMemo = new WeakMap<object, string>();

/**
 * JSON of a stored object. Objects from storage and the watch cache are never mutated, so the
 * text is computed once and shared by every response and watcher that sends the object.
 */
export function objectJson(obj: object): string {
  let s = jsonMemo.get(obj);
  if (s === undefined) {
    s = JSON.stringify(obj);
    jsonMemo.set(obj, s);
  }
  return s;
}

export function listJson(apiVersion: string, kind: string, meta: ListMeta, items: KubeObject[]): string {
  return `{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":${JSON.stringify(meta)},"items":[${items.map(objectJson).join(',')}]}`;
}

export function toYaml(json: string): string {
  return yaml.dump(JSON.parse(json), { noRefs: true, lineWidth: -1 });
}

export function partialObjectMetadata(obj: KubeObject, version: string): object {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata };
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function parseIncludeObject(v: string | undefined): IncludeObject {
  if (v === undefined || v === '') return 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw badRequest(
    `includeObject: Unsupported value: "${v}": supported values: "None", "Metadata", "Object"`,
  );
}

const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'string',
  description: 'Time since the object was created.',
  priority: 0,
  cell: () => null,
};

/** A meta.k8s.io Table of objects with NAME, the kind's declared columns, and AGE. */
export function toTable(
  def: ResourceDefinition,
  objects: KubeObject[],
  version: string,
  includeObject: IncludeObject,
  listMeta: ListMeta = {},
): object {
  const now = Date.now();
  // like kube's printers: -o wide columns (priority 1) come after AGE
  const columns = [
    ...def.printerColumns.filter((c) => c.priority === 0),
    ageColumn,
    ...def.printerColumns.filter((c) => c.priority !== 0),
  ];
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: listMeta,
    columnDefinitions: [
      {
        name: 'Name',
        type: 'string',
        format: 'name',
        description: 'Name must be unique within a namespace.',
        priority: 0,
      },
      ...columns.map((c) => ({
        name: c.name,
        type: c.type === 'date' ? 'string' : c.type,
        format: c.format ?? (c.type === 'date' ? 'date' : ''),
        description: c.description,
        priority: c.priority,
      })),
    ],
    rows: objects.map((obj) => ({
      cells: [
        obj.metadata.name,
        ...columns.map((c) =>
          c === ageColumn ? since(obj.metadata.creationTimestamp, now) : (c.cell(obj) ?? ''),
        ),
      ],
      object:
        includeObject === 'None'
          ? undefined
          : includeObject === 'Object'
            ? obj
            : partialObjectMetadata(obj, version),
    })),
  };
}
