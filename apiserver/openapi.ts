import { createHash } from 'node:crypto';
import { ListMeta, ManagedFieldsEntry, ObjectMeta, OwnerReference } from '../api-types/meta';
import type { ResourceDefinition } from '../api-types/resource';
import { isObject } from '../pkg/json';

/**
 * OpenAPI v2 (swagger) and v3 documents generated from the same TypeBox schemas that validate requests.
 * kubectl reads them for `explain`, for client-side validation and to learn (from the `fieldValidation`
 * query parameter of PATCH operations) that the server validates fields itself; kube-aggregator merges
 * the v2 document into kube-apiserver's and proxies the v3 documents per group-version.
 */

export interface GroupVersion {
  group: string;
  version: string;
}

type Json = Record<string, unknown>;

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const OBJECT_META = `${META}.ObjectMeta`;
const LIST_META = `${META}.ListMeta`;
const STATUS = `${META}.Status`;
const DELETE_OPTIONS = `${META}.DeleteOptions`;
const PATCH = `${META}.Patch`;
const WATCH_EVENT = `${META}.WatchEvent`;

/** metav1 schemas that meta.ts declares; any subschema equal to one of them is served as a $ref to it. */
const SHARED_TYPEBOX: Array<[string, object]> = [
  [OBJECT_META, ObjectMeta],
  [LIST_META, ListMeta],
  [`${META}.OwnerReference`, OwnerReference],
  [`${META}.ManagedFieldsEntry`, ManagedFieldsEntry],
];

const OBJECT_META_DESCRIPTION =
  "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_META_DESCRIPTION =
  'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';
const API_VERSION_PROP = {
  type: 'string',
  description:
    'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.',
};
const KIND_PROP = {
  type: 'string',
  description:
    'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. In CamelCase.',
};

/** The metav1 types meta.ts has no schema for (they are never validated), in the intermediate form below. */
function metaDefinitions(): Record<string, Json> {
  return {
    [`${META}.StatusCause`]: {
      type: 'object',
      description:
        'StatusCause provides more information about an api.Status failure, including cases when multiple errors are encountered.',
      properties: {
        field: {
          type: 'string',
          description:
            'The field of the resource that has caused this error, as named by its JSON serialization.',
        },
        message: { type: 'string', description: 'A human-readable description of the cause of the error.' },
        reason: { type: 'string', description: 'A machine-readable description of the cause of the error.' },
      },
    },
    [`${META}.StatusDetails`]: {
      type: 'object',
      description:
        'StatusDetails is a set of additional properties that MAY be set by the server to provide additional information about a response.',
      properties: {
        causes: {
          type: 'array',
          items: ref(`${META}.StatusCause`),
          description: 'The Causes array includes more details associated with the StatusReason failure.',
        },
        group: {
          type: 'string',
          description: 'The group attribute of the resource associated with the status StatusReason.',
        },
        kind: {
          type: 'string',
          description: 'The kind attribute of the resource associated with the status StatusReason.',
        },
        name: {
          type: 'string',
          description: 'The name attribute of the resource associated with the status StatusReason.',
        },
        retryAfterSeconds: {
          type: 'integer',
          format: 'int32',
          description: 'If specified, the time in seconds before the operation should be retried.',
        },
        uid: { type: 'string', description: 'UID of the resource.' },
      },
    },
    [STATUS]: {
      type: 'object',
      description: "Status is a return value for calls that don't return other objects.",
      properties: {
        apiVersion: API_VERSION_PROP,
        code: {
          type: 'integer',
          format: 'int32',
          description: 'Suggested HTTP return code for this status, 0 if not set.',
        },
        details: ref(`${META}.StatusDetails`, 'Extended data associated with the reason.'),
        kind: KIND_PROP,
        message: {
          type: 'string',
          description: 'A human-readable description of the status of this operation.',
        },
        metadata: ref(LIST_META, LIST_META_DESCRIPTION),
        reason: {
          type: 'string',
          description: 'A machine-readable description of why this operation is in the "Failure" status.',
        },
        status: { type: 'string', description: 'Status of the operation. One of: "Success" or "Failure".' },
      },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'Status', version: 'v1' }],
    },
    [`${META}.Preconditions`]: {
      type: 'object',
      description:
        'Preconditions must be fulfilled before an operation (update, delete, etc.) is carried out.',
      properties: {
        resourceVersion: { type: 'string', description: 'Specifies the target ResourceVersion' },
        uid: { type: 'string', description: 'Specifies the target UID.' },
      },
    },
    [DELETE_OPTIONS]: {
      type: 'object',
      description: 'DeleteOptions may be provided when deleting an API object.',
      properties: {
        apiVersion: API_VERSION_PROP,
        dryRun: { type: 'array', items: { type: 'string' }, description: DESCRIPTIONS.dryRun },
        gracePeriodSeconds: {
          type: 'integer',
          format: 'int64',
          description: DESCRIPTIONS.gracePeriodSeconds,
        },
        kind: KIND_PROP,
        orphanDependents: { type: 'boolean', description: DESCRIPTIONS.orphanDependents },
        preconditions: ref(`${META}.Preconditions`, 'Must be fulfilled before a deletion is carried out.'),
        propagationPolicy: { type: 'string', description: DESCRIPTIONS.propagationPolicy },
      },
    },
    [PATCH]: {
      type: 'object',
      description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
    },
    [WATCH_EVENT]: {
      type: 'object',
      description: 'Event represents a single event to a watched resource.',
      required: ['type', 'object'],
      properties: {
        object: {
          type: 'object',
          description:
            'Object is: * If Type is Added or Modified: the new state of the object. * If Type is Deleted: the state of the object immediately before deletion. * If Type is Error: *Status is recommended; other types may make sense depending on context.',
        },
        type: { type: 'string' },
      },
    },
  };
}

/** A $ref in the intermediate form; rendered per OpenAPI version by `render`. */
function ref(name: string, description?: string): Json {
  return description ? { $ref: name, description } : { $ref: name };
}

// ---------------------------------------------------------------------------------------------
// Schema conversion: TypeBox (JSON Schema 2019-09 with symbols) → structural OpenAPI schema.
// The intermediate form is OpenAPI v3 with bare definition names in $ref; `render` finishes it
// for one version.

const COPIED = [
  'description',
  'format',
  'default',
  'minimum',
  'maximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
];

class SchemaConverter {
  private readonly ids = new Map<string, Json>();
  private readonly shared = new Map<string, { name: string; description?: unknown }>();
  private readonly expanding = new Set<string>();

  constructor(roots: unknown[]) {
    for (const r of roots) this.collectIds(r, new Set());
    for (const [name, schema] of SHARED_TYPEBOX) {
      this.shared.set(JSON.stringify(schema), { name, description: (schema as Json).description });
    }
  }

  private collectIds(s: unknown, seen: Set<unknown>): void {
    if (typeof s !== 'object' || s === null || seen.has(s)) return;
    seen.add(s);
    if (isObject(s) && typeof s.$id === 'string' && !this.ids.has(s.$id)) this.ids.set(s.$id, s);
    for (const v of Object.values(s)) this.collectIds(v, seen);
  }

  /** `self` names the shared definition being converted, so it is not replaced by a $ref to itself. */
  convert(s: unknown, self?: string): Json {
    if (!isObject(s)) return {};
    if (s.type === 'object' && isObject(s.properties)) {
      const shared = this.shared.get(JSON.stringify(s));
      if (shared && shared.name !== self) {
        // The definition carries its own description; a reference only repeats one the field overrides.
        const description = typeof s.description === 'string' && s.description !== shared.description;
        return ref(shared.name, description ? (s.description as string) : undefined);
      }
    }
    if (typeof s.$ref === 'string') return this.convertRef(s);
    // A schema with an $id may be the target of a $ref inside itself (TypeBox Recursive).
    const id = typeof s.$id === 'string' && !this.expanding.has(s.$id) ? s.$id : undefined;
    if (id) this.expanding.add(id);
    try {
      if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) return this.convertUnion(s);
      if (Array.isArray(s.allOf)) return this.convertIntersection(s);
      return this.convertPlain(s);
    } finally {
      if (id) this.expanding.delete(id);
    }
  }

  private convertRef(s: Json): Json {
    const id = s.$ref as string;
    const target = this.ids.get(id);
    // A recursive or unresolvable reference cannot be inlined: serve it as free-form.
    if (!target || this.expanding.has(id))
      return withDescription({ 'x-kubernetes-preserve-unknown-fields': true }, s);
    return withDescription(this.convert(target), s);
  }

  private convertPlain(s: Json): Json {
    const out: Json = {};
    let nullable = false;
    if (typeof s.type === 'string') {
      if (s.type === 'null') nullable = true;
      else out.type = s.type;
    } else if (Array.isArray(s.type)) {
      const types = s.type.filter((t) => t !== 'null');
      nullable = types.length < s.type.length;
      if (types.length === 1) out.type = types[0];
    }
    for (const k of COPIED) if (s[k] !== undefined) out[k] = s[k];
    // OpenAPI 2.0 and 3.0 spell exclusive bounds as booleans beside minimum/maximum.
    if (typeof s.exclusiveMinimum === 'number')
      Object.assign(out, { minimum: s.exclusiveMinimum, exclusiveMinimum: true });
    if (typeof s.exclusiveMaximum === 'number')
      Object.assign(out, { maximum: s.exclusiveMaximum, exclusiveMaximum: true });
    if (s.const !== undefined) {
      if (s.const === null) nullable = true;
      else out.enum = [s.const];
    }
    if (Array.isArray(s.enum)) {
      nullable ||= s.enum.includes(null);
      out.enum = s.enum.filter((v) => v !== null);
    }
    if (Array.isArray(out.enum) && out.type === undefined) out.type = commonType(out.enum);

    if (isObject(s.properties)) {
      const props: Json = {};
      for (const [k, v] of Object.entries(s.properties)) props[k] = this.convert(v);
      if (Object.keys(props).length > 0) out.properties = props;
      if (Array.isArray(s.required)) {
        const required = s.required.filter((r): r is string => typeof r === 'string' && r in props);
        if (required.length > 0) out.required = required;
      }
    }
    if (isObject(s.additionalProperties)) {
      out.additionalProperties = this.convert(s.additionalProperties);
    } else if (isObject(s.patternProperties)) {
      // TypeBox records: JSON keys are strings whatever the key pattern, so the value schema is what matters.
      const values = Object.values(s.patternProperties);
      if (values.length > 0)
        out.additionalProperties = values.length === 1 ? this.convert(values[0]) : this.merge(values);
    } else if (s.additionalProperties === true) {
      out['x-kubernetes-preserve-unknown-fields'] = true;
    }
    if (out.type === undefined && (out.properties || out.additionalProperties)) out.type = 'object';

    if (Array.isArray(s.items))
      out.items = s.items.length === 1 ? this.convert(s.items[0]) : this.merge(s.items);
    else if (isObject(s.items)) out.items = this.convert(s.items);
    if (out.type === undefined && out.items) out.type = 'array';

    for (const [k, v] of Object.entries(s)) if (k.startsWith('x-') && v !== undefined) out[k] = v;
    if (nullable) out.nullable = true;
    return out;
  }

  /** TypeBox unions: literals become an enum, `T | null` a nullable T, objects one object knowing every branch's fields. */
  private convertUnion(s: Json): Json {
    const branches = flattenUnion(s);
    const nonNull = branches.filter((b) => !isNullSchema(b));
    const nullable = nonNull.length < branches.length;
    const own = this.convertPlain({ ...s, anyOf: undefined, oneOf: undefined, type: undefined });
    let out: Json;
    if (nonNull.length === 0) {
      out = {};
    } else if (nonNull.every((b) => b.const !== undefined || Array.isArray(b.enum))) {
      const values = nonNull.flatMap((b) => (b.const !== undefined ? [b.const] : (b.enum as unknown[])));
      out = { type: commonType(values), enum: [...new Set(values)] };
      if (out.type === undefined) delete out.type;
    } else if (nonNull.length === 1) {
      out = this.convert(nonNull[0]);
    } else if (isIntOrString(nonNull)) {
      out = { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
    } else {
      out = this.merge(nonNull);
    }
    out = { ...out, ...own };
    if (nullable) out.nullable = true;
    return out;
  }

  private convertIntersection(s: Json): Json {
    const own = this.convertPlain({ ...s, allOf: undefined });
    const merged = this.merge(s.allOf as unknown[], true);
    const out = { ...merged, ...own };
    const props = { ...(merged.properties as Json), ...(own.properties as Json) };
    if (Object.keys(props).length) out.properties = props;
    return out;
  }

  /**
   * One schema for several: a field known in any of them is known (matching pruning); a field is
   * required only when every branch requires it (or any, for an intersection). Mixed kinds of values
   * become an untyped schema, which kubectl accepts as anything.
   */
  private merge(schemas: unknown[], intersection = false): Json {
    const converted = schemas.map((x) => this.convert(x));
    const types = new Set(converted.map((c) => c.type));
    if (types.size !== 1 || converted.some((c) => c.$ref)) {
      const same = converted[0].$ref !== undefined && converted.every((c) => c.$ref === converted[0].$ref);
      return same ? converted[0] : {};
    }
    const type = converted[0].type;
    if (type === undefined) return {};
    if (type === 'array') {
      const items = converted.map((c) => c.items).filter(isObject);
      return {
        type,
        ...(items.length ? { items: items.length === 1 ? items[0] : this.mergeConverted(items) } : {}),
      };
    }
    if (type !== 'object') {
      const enums = converted.map((c) => c.enum);
      if (enums.every(Array.isArray)) return { type, enum: [...new Set(enums.flat())] };
      return { type };
    }
    return this.mergeObjects(converted, intersection);
  }

  private mergeConverted(items: Json[]): Json {
    const types = new Set(items.map((c) => c.type));
    if (types.size !== 1 || items.some((c) => c.$ref)) return {};
    if (items[0].type === 'object') return this.mergeObjects(items, false);
    return { type: items[0].type };
  }

  private mergeObjects(converted: Json[], intersection: boolean): Json {
    const out: Json = { type: 'object' };
    const props: Json = {};
    for (const c of converted)
      for (const [k, v] of Object.entries((c.properties as Json) ?? {})) props[k] ??= v;
    if (Object.keys(props).length) out.properties = props;
    const reqs = converted.map((c) => (Array.isArray(c.required) ? (c.required as string[]) : []));
    const required = intersection
      ? [...new Set(reqs.flat())]
      : reqs[0].filter((r) => reqs.every((list) => list.includes(r)));
    if (required.length) out.required = required;
    const additional = converted.find((c) => isObject(c.additionalProperties));
    if (additional) out.additionalProperties = additional.additionalProperties;
    if (converted.some((c) => c['x-kubernetes-preserve-unknown-fields'] === true)) {
      out['x-kubernetes-preserve-unknown-fields'] = true;
    }
    return out;
  }
}

function withDescription(out: Json, s: Json): Json {
  return typeof s.description === 'string' ? { ...out, description: s.description } : out;
}

function flattenUnion(s: Json): Json[] {
  const branches = (Array.isArray(s.anyOf) ? s.anyOf : (s.oneOf as unknown[])).filter(isObject);
  return branches.flatMap((b) => (Array.isArray(b.anyOf) || Array.isArray(b.oneOf) ? flattenUnion(b) : [b]));
}

function isNullSchema(s: Json): boolean {
  return s.type === 'null' || (s.const === null && s.type === undefined);
}

function isIntOrString(branches: Json[]): boolean {
  const types = new Set(branches.map((b) => b.type));
  return (
    types.size === 2 &&
    types.has('string') &&
    (types.has('integer') || types.has('number')) &&
    branches.every((b) => b.const === undefined && b.enum === undefined)
  );
}

function commonType(values: unknown[]): string | undefined {
  const types = new Set(
    values.map((v) => (typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v)),
  );
  if (types.size === 2 && types.has('integer') && types.has('number')) return 'number';
  if (types.size !== 1) return undefined;
  const [t] = types;
  return ['string', 'integer', 'number', 'boolean'].includes(t) ? t : undefined;
}

// ---------------------------------------------------------------------------------------------
// Rendering the intermediate form for one OpenAPI version.

type Flavor = 'v2' | 'v3';

function refPrefix(flavor: Flavor): string {
  return flavor === 'v2' ? '#/definitions/' : '#/components/schemas/';
}

function render(s: Json, flavor: Flavor): Json {
  return renderRefs(flavor === 'v2' ? toV2(s) : s, flavor);
}

function renderRefs(s: Json, flavor: Flavor): Json {
  if (typeof s.$ref === 'string') {
    const $ref = refPrefix(flavor) + s.$ref;
    if (typeof s.description !== 'string') return { $ref };
    // OpenAPI 3.0 ignores siblings of $ref; kube wraps the reference in allOf to keep the field's description.
    return flavor === 'v2'
      ? { $ref, description: s.description }
      : { allOf: [{ $ref }], description: s.description };
  }
  const out: Json = { ...s };
  if (isObject(s.properties)) {
    const props: Json = {};
    for (const [k, v] of Object.entries(s.properties)) props[k] = renderRefs(v as Json, flavor);
    out.properties = props;
  }
  if (isObject(s.items)) out.items = renderRefs(s.items, flavor);
  if (isObject(s.additionalProperties)) out.additionalProperties = renderRefs(s.additionalProperties, flavor);
  return out;
}

/**
 * What kube-apiserver does to publish a structural schema in swagger 2.0 (apiextensions'
 * ToStructuralOpenAPIV2): no junctors, no nullable; a nullable or free-form node loses its type,
 * properties and items, because kubectl's v2 validation would otherwise reject null or unknown fields.
 */
function toV2(s: Json): Json {
  if (typeof s.$ref === 'string') return s;
  const out: Json = { ...s };
  delete out.anyOf;
  delete out.oneOf;
  delete out.allOf;
  delete out.not;
  if (isObject(s.properties) && Array.isArray(s.required)) {
    const props = s.properties;
    const required = s.required.filter(
      (r) => !(isObject(props[r as string]) && (props[r as string] as Json).nullable),
    );
    if (required.length) out.required = required;
    else delete out.required;
  }
  if (out.nullable || out['x-kubernetes-preserve-unknown-fields'] === true) {
    if (out.nullable) delete out.type;
    delete out.nullable;
    delete out.items;
    delete out.properties;
    delete out.required;
  }
  if (out.type === 'array' && out.items === undefined) delete out.type;
  if (isObject(out.properties)) {
    const props: Json = {};
    for (const [k, v] of Object.entries(out.properties)) props[k] = isObject(v) ? toV2(v) : v;
    out.properties = props;
  }
  if (isObject(out.items)) out.items = toV2(out.items);
  if (isObject(out.additionalProperties)) out.additionalProperties = toV2(out.additionalProperties);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Names, as kube-apiserver spells them.

/** `servicecatalog.k8s.io`/`v1beta1` → `io.k8s.servicecatalog.v1beta1`; the core group → `io.k8s.api.core.v1`. */
export function definitionPrefix(gv: GroupVersion): string {
  if (gv.group === '') return `io.k8s.api.core.${gv.version}`;
  return `${gv.group.split('.').reverse().join('.')}.${gv.version}`;
}

export function definitionName(r: ResourceDefinition, list = false): string {
  return `${definitionPrefix(r)}.${list ? r.listKind : r.kind}`;
}

/** k8s.io/apiserver ToValidOperationID: drops non-identifier characters, capitalising the letter after each. */
function toValidOperationID(s: string, capitalizeFirst: boolean): string {
  let out = '';
  let capitalize = capitalizeFirst;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (/[A-Za-z_]/.test(c) || (i !== 0 && /[0-9]/.test(c))) {
      out += capitalize ? c.toUpperCase() : c;
      capitalize = false;
    } else {
      capitalize = true;
    }
  }
  return out;
}

function groupName(gv: GroupVersion): string {
  return gv.group === '' ? 'core' : gv.group.replace(/\.k8s\.io$/, '');
}

/** `listServicecatalogV1beta1NamespacedServiceInstance`, `readCoreV1NamespacedPodStatus`. */
function operationId(verb: string, gv: GroupVersion, rest: string): string {
  return verb + toValidOperationID(groupName(gv), true) + toValidOperationID(gv.version, true) + rest;
}

function tag(gv: GroupVersion): string {
  return `${toValidOperationID(groupName(gv), false)}_${toValidOperationID(gv.version, false)}`;
}

/** The path of the v3 document of a group-version, relative to /openapi/v3/: `apis/<g>/<v>` or `api/v1`. */
export function openAPIv3Path(gv: GroupVersion): string {
  return gv.group === '' ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`;
}

// ---------------------------------------------------------------------------------------------
// Paths and operations, version-neutral first.

const DESCRIPTIONS = {
  pretty:
    "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).",
  dryRun:
    'When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed',
  fieldManager:
    'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.',
  fieldValidation:
    'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.',
  labelSelector:
    'A selector to restrict the list of returned objects by their labels. Defaults to everything.',
  fieldSelector:
    'A selector to restrict the list of returned objects by their fields. Defaults to everything.',
  limit:
    'limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.',
  continue:
    'The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue).',
  resourceVersion:
    'resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details. Defaults to unset',
  resourceVersionMatch:
    'resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set. Defaults to unset',
  timeoutSeconds:
    'Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.',
  watch:
    'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.',
  allowWatchBookmarks:
    'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server\'s discretion.',
  gracePeriodSeconds:
    'The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately.',
  orphanDependents:
    'Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the "orphan" finalizer will be added to/removed from the object\'s finalizers list. Either this field or PropagationPolicy may be set, but not both.',
  propagationPolicy:
    "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.",
  namespace: 'object name and auth scope, such as for teams and projects',
};

type ParamType = 'string' | 'boolean' | 'integer';

interface Param {
  name: string;
  in: 'query' | 'path';
  type: ParamType;
  description: string;
  required?: boolean;
}

const query = (name: keyof typeof DESCRIPTIONS, type: ParamType = 'string'): Param => ({
  name,
  in: 'query',
  type,
  description: DESCRIPTIONS[name],
});

const PRETTY = query('pretty');
const WRITE_PARAMS = [query('dryRun'), query('fieldManager'), query('fieldValidation'), PRETTY];
const LIST_PARAMS = [
  query('allowWatchBookmarks', 'boolean'),
  query('continue'),
  query('fieldSelector'),
  query('labelSelector'),
  query('limit', 'integer'),
  PRETTY,
  query('resourceVersion'),
  query('resourceVersionMatch'),
  query('timeoutSeconds', 'integer'),
  query('watch', 'boolean'),
];
const DELETE_PARAMS = [
  query('dryRun'),
  query('gracePeriodSeconds', 'integer'),
  query('orphanDependents', 'boolean'),
  PRETTY,
  query('propagationPolicy'),
];
const DELETE_COLLECTION_PARAMS = [
  query('continue'),
  query('dryRun'),
  query('fieldSelector'),
  query('gracePeriodSeconds', 'integer'),
  query('labelSelector'),
  query('limit', 'integer'),
  query('orphanDependents', 'boolean'),
  PRETTY,
  query('propagationPolicy'),
  query('resourceVersion'),
  query('resourceVersionMatch'),
  query('timeoutSeconds', 'integer'),
];

const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];
const PRODUCES = ['application/json', 'application/yaml'];
const PRODUCES_LIST = [...PRODUCES, 'application/json;stream=watch'];

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  operationId: string;
  description: string;
  action: 'get' | 'list' | 'post' | 'put' | 'patch' | 'delete' | 'deletecollection';
  params: Param[];
  body?: { ref: string; required: boolean; contentTypes: string[] };
  responses: Array<{ code: string; description: string; ref?: string }>;
  produces: string[];
  tag: string;
  gvk: { group: string; kind: string; version: string };
}

interface PathItem {
  path: string;
  params: Param[];
  operations: Operation[];
}

function responses(ref: string, ...codes: Array<'200' | '201' | '202'>) {
  const text = { '200': 'OK', '201': 'Created', '202': 'Accepted' };
  return [
    ...codes.map((code) => ({ code, description: text[code], ref })),
    { code: '401', description: 'Unauthorized' },
  ];
}

function resourcePaths(r: ResourceDefinition): PathItem[] {
  const gv = { group: r.group, version: r.version };
  const prefix = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const kindRef = definitionName(r);
  const listRef = definitionName(r, true);
  const gvk = { group: r.group, kind: r.kind, version: r.version };
  const scope = r.namespaced ? 'Namespaced' : '';
  const nameParam: Param = {
    name: 'name',
    in: 'path',
    type: 'string',
    description: `name of the ${r.kind}`,
    required: true,
  };
  const nsParam: Param = {
    name: 'namespace',
    in: 'path',
    type: 'string',
    description: DESCRIPTIONS.namespace,
    required: true,
  };
  const scopeParams = r.namespaced ? [nsParam] : [];
  const base = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.plural}` : `${prefix}/${r.plural}`;
  const op = (o: Omit<Operation, 'tag' | 'gvk' | 'produces'> & { produces?: string[] }): Operation => ({
    produces: PRODUCES,
    ...o,
    tag: tag(gv),
    gvk,
  });
  const writeBody = { ref: kindRef, required: true, contentTypes: ['*/*'] };
  const patchBody = { ref: PATCH, required: true, contentTypes: PATCH_TYPES };
  const deleteBody = { ref: DELETE_OPTIONS, required: false, contentTypes: ['*/*'] };

  const paths: PathItem[] = [
    {
      path: base,
      params: scopeParams,
      operations: [
        op({
          method: 'get',
          operationId: operationId('list', gv, `${scope}${r.kind}`),
          description: `list or watch objects of kind ${r.kind}`,
          action: 'list',
          params: LIST_PARAMS,
          responses: responses(listRef, '200'),
          produces: PRODUCES_LIST,
        }),
        op({
          method: 'post',
          operationId: operationId('create', gv, `${scope}${r.kind}`),
          description: `create a ${r.kind}`,
          action: 'post',
          params: WRITE_PARAMS,
          body: writeBody,
          responses: responses(kindRef, '200', '201', '202'),
        }),
        op({
          method: 'delete',
          operationId: operationId('delete', gv, `Collection${scope}${r.kind}`),
          description: `delete collection of ${r.kind}`,
          action: 'deletecollection',
          params: DELETE_COLLECTION_PARAMS,
          body: deleteBody,
          responses: responses(STATUS, '200'),
        }),
      ],
    },
    {
      path: `${base}/{name}`,
      params: [nameParam, ...scopeParams],
      operations: [
        op({
          method: 'get',
          operationId: operationId('read', gv, `${scope}${r.kind}`),
          description: `read the specified ${r.kind}`,
          action: 'get',
          params: [PRETTY],
          responses: responses(kindRef, '200'),
        }),
        op({
          method: 'put',
          operationId: operationId('replace', gv, `${scope}${r.kind}`),
          description: `replace the specified ${r.kind}`,
          action: 'put',
          params: WRITE_PARAMS,
          body: writeBody,
          responses: responses(kindRef, '200', '201'),
        }),
        op({
          method: 'patch',
          operationId: operationId('patch', gv, `${scope}${r.kind}`),
          description: `partially update the specified ${r.kind}`,
          action: 'patch',
          params: WRITE_PARAMS,
          body: patchBody,
          responses: responses(kindRef, '200', '201'),
        }),
        op({
          method: 'delete',
          operationId: operationId('delete', gv, `${scope}${r.kind}`),
          description: `delete a ${r.kind}`,
          action: 'delete',
          params: DELETE_PARAMS,
          body: deleteBody,
          responses: responses(STATUS, '200', '202'),
        }),
      ],
    },
  ];

  for (const sub of r.subresources) {
    const suffix = `${scope}${r.kind}${sub.charAt(0).toUpperCase()}${sub.slice(1)}`;
    paths.push({
      path: `${base}/{name}/${sub}`,
      params: [nameParam, ...scopeParams],
      operations: [
        op({
          method: 'get',
          operationId: operationId('read', gv, suffix),
          description: `read ${sub} of the specified ${r.kind}`,
          action: 'get',
          params: [PRETTY],
          responses: responses(kindRef, '200'),
        }),
        op({
          method: 'put',
          operationId: operationId('replace', gv, suffix),
          description: `replace ${sub} of the specified ${r.kind}`,
          action: 'put',
          params: WRITE_PARAMS,
          body: writeBody,
          responses: responses(kindRef, '200', '201'),
        }),
        op({
          method: 'patch',
          operationId: operationId('patch', gv, suffix),
          description: `partially update ${sub} of the specified ${r.kind}`,
          action: 'patch',
          params: WRITE_PARAMS,
          body: patchBody,
          responses: responses(kindRef, '200', '201'),
        }),
      ],
    });
  }

  if (r.namespaced) {
    paths.push({
      path: `${prefix}/${r.plural}`,
      params: [],
      operations: [
        op({
          method: 'get',
          operationId: operationId('list', gv, `${r.kind}ForAllNamespaces`),
          description: `list or watch objects of kind ${r.kind}`,
          action: 'list',
          params: LIST_PARAMS,
          responses: responses(listRef, '200'),
          produces: PRODUCES_LIST,
        }),
      ],
    });
  }
  return paths;
}

function renderParam(p: Param, flavor: Flavor): Json {
  const out: Json = { name: p.name, in: p.in, description: p.description };
  if (p.required) out.required = true;
  if (flavor === 'v2') Object.assign(out, { type: p.type, uniqueItems: true });
  else out.schema = { type: p.type, uniqueItems: true };
  return out;
}

function renderOperation(o: Operation, flavor: Flavor): Json {
  const out: Json = { description: o.description, operationId: o.operationId, tags: [o.tag] };
  const params = o.params.map((p) => renderParam(p, flavor));
  const resp: Json = {};
  if (flavor === 'v2') {
    out.consumes = o.body ? o.body.contentTypes : ['*/*'];
    out.produces = o.produces;
    out.schemes = ['https'];
    if (o.body) {
      params.unshift({
        name: 'body',
        in: 'body',
        ...(o.body.required ? { required: true } : {}),
        schema: { $ref: refPrefix(flavor) + o.body.ref },
      });
    }
    for (const r of o.responses) {
      resp[r.code] = r.ref
        ? { description: r.description, schema: { $ref: refPrefix(flavor) + r.ref } }
        : { description: r.description };
    }
  } else {
    if (o.body) {
      const content: Json = {};
      for (const t of o.body.contentTypes) content[t] = { schema: { $ref: refPrefix(flavor) + o.body.ref } };
      out.requestBody = { content, ...(o.body.required ? { required: true } : {}) };
    }
    for (const r of o.responses) {
      if (!r.ref) {
        resp[r.code] = { description: r.description };
        continue;
      }
      const content: Json = {};
      for (const t of o.produces) content[t] = { schema: { $ref: refPrefix(flavor) + r.ref } };
      resp[r.code] = { description: r.description, content };
    }
  }
  out.parameters = params;
  out.responses = resp;
  out['x-kubernetes-action'] = o.action;
  // On operations kube writes one GVK object (kubectl's field validation probe reads it as a map);
  // on definitions a list.
  out['x-kubernetes-group-version-kind'] = o.gvk;
  return out;
}

function renderPaths(resources: ResourceDefinition[], flavor: Flavor): Json {
  const items = resources
    .flatMap(resourcePaths)
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const out: Json = {};
  for (const item of items) {
    const rendered: Json = {};
    for (const o of item.operations) rendered[o.method] = renderOperation(o, flavor);
    if (item.params.length) rendered.parameters = item.params.map((p) => renderParam(p, flavor));
    out[item.path] = rendered;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Definitions.

function gvkList(gvs: GroupVersion[], kind: string) {
  return gvs.map((gv) => ({ group: gv.group, kind, version: gv.version }));
}

function uniqueGroupVersions(resources: ResourceDefinition[]): GroupVersion[] {
  const seen = new Map<string, GroupVersion>();
  for (const r of resources) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  return [...seen.values()];
}

/** Every definition, in the intermediate form (bare names in $ref). */
function definitions(resources: ResourceDefinition[]): Record<string, Json> {
  const converter = new SchemaConverter(resources.map((r) => r.schema));
  const defs: Record<string, Json> = {};
  for (const [name, schema] of SHARED_TYPEBOX) defs[name] = converter.convert(schema, name);
  Object.assign(defs, metaDefinitions());
  // DeleteOptions and WatchEvent are registered in every group-version, as kube-apiserver does.
  const gvs = [
    { group: '', version: 'v1' },
    ...uniqueGroupVersions(resources).filter((gv) => gv.group !== '' || gv.version !== 'v1'),
  ];
  defs[DELETE_OPTIONS]['x-kubernetes-group-version-kind'] = gvkList(gvs, 'DeleteOptions');
  defs[WATCH_EVENT]['x-kubernetes-group-version-kind'] = gvkList(gvs, 'WatchEvent');

  for (const r of resources) {
    const def = converter.convert(r.schema);
    const props = { ...((def.properties as Json) ?? {}) };
    const meta: unknown = r.schema.properties.metadata;
    const own = isObject(meta) && typeof meta.description === 'string' ? meta.description : undefined;
    // The server's ObjectMeta is the one metadata every kind has, whatever the kind's schema inlined.
    props.metadata = ref(OBJECT_META, own && own !== ObjectMeta.description ? own : OBJECT_META_DESCRIPTION);
    def.type = 'object';
    def.properties = props;
    def['x-kubernetes-group-version-kind'] = [{ group: r.group, kind: r.kind, version: r.version }];
    defs[definitionName(r)] = def;
    defs[definitionName(r, true)] = {
      type: 'object',
      description: `${r.listKind} is a list of ${r.kind} objects.`,
      required: ['items'],
      properties: {
        apiVersion: API_VERSION_PROP,
        items: { type: 'array', description: `List of ${r.plural}.`, items: ref(definitionName(r)) },
        kind: KIND_PROP,
        metadata: ref(LIST_META, LIST_META_DESCRIPTION),
      },
      'x-kubernetes-group-version-kind': [{ group: r.group, kind: r.listKind, version: r.version }],
    };
  }
  return defs;
}

function renderDefinitions(defs: Record<string, Json>, flavor: Flavor): Json {
  const out: Json = {};
  for (const name of Object.keys(defs).sort()) out[name] = render(defs[name], flavor);
  return out;
}

const SECURITY_SCHEME = {
  type: 'apiKey',
  description: 'Bearer Token authentication',
  name: 'authorization',
  in: 'header',
};

const TITLE = 'Kubernetes';

/** GET /openapi/v2: every resource of every group, swagger 2.0. */
export function buildOpenAPIv2(resources: ResourceDefinition[], version: string): object {
  return {
    swagger: '2.0',
    info: { title: TITLE, version },
    paths: renderPaths(resources, 'v2'),
    definitions: renderDefinitions(definitions(resources), 'v2'),
    securityDefinitions: { BearerToken: SECURITY_SCHEME },
    security: [{ BearerToken: [] }],
  };
}

/** GET /openapi/v3/apis/<group>/<version> (or /openapi/v3/api/v1): the resources of one group-version. */
export function buildOpenAPIv3(
  resources: ResourceDefinition[],
  groupVersion: GroupVersion,
  version: string,
): object {
  const mine = resources.filter((r) => r.group === groupVersion.group && r.version === groupVersion.version);
  return {
    openapi: '3.0.0',
    info: { title: TITLE, version },
    paths: renderPaths(mine, 'v3'),
    components: {
      schemas: renderDefinitions(definitions(mine), 'v3'),
      securitySchemes: { BearerToken: SECURITY_SCHEME },
    },
    security: [{ BearerToken: [] }],
  };
}

/** The ETag and `hash` query value kube-openapi uses: uppercase hex SHA-512 of the served bytes. */
export function openAPIHash(body: string | Buffer): string {
  return createHash('sha512').update(body).digest('hex').toUpperCase();
}

/**
 * GET /openapi/v3. Each document is hashed as given: pass the exact string the server sends, or the
 * object, which is then hashed as `JSON.stringify(document)` (so serve that string, unindented).
 */
export function openAPIv3Discovery(groupVersions: Array<GroupVersion & { document: object | string }>): {
  paths: Record<string, { serverRelativeURL: string }>;
} {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersions) {
    const body = typeof gv.document === 'string' ? gv.document : JSON.stringify(gv.document);
    const path = openAPIv3Path(gv);
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${openAPIHash(body)}` };
  }
  return { paths };
}
