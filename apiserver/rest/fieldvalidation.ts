import { badRequest, field, invalid } from '../../pkg/apierrors';
import { isObject } from '../../pkg/json';

/**
 * Server-side field validation as kube-apiserver does it for CRDs: unknown fields are pruned from the
 * request object against its structural schema, then, per the request's `fieldValidation`, silently
 * dropped (Ignore), reported as warnings (Warn) or refused (Strict).
 */

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** The options kind kube-apiserver names when the parameter is invalid, one per writing verb. */
export type WriteOptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions';

const MODES: readonly FieldValidation[] = ['Ignore', 'Warn', 'Strict'];

/**
 * Reads the `fieldValidation` query parameter; absent or empty means Warn, the server default since 1.27.
 * With `optionsKind` an unsupported value is refused exactly as kube-apiserver does (422 on the
 * CreateOptions/UpdateOptions/PatchOptions of the request); without it, as a 400 BadRequest.
 */
export function parseFieldValidation(q: string | undefined, optionsKind?: WriteOptionsKind): FieldValidation {
  if (q === undefined || q === '') return 'Warn';
  if ((MODES as readonly string[]).includes(q)) return q as FieldValidation;
  if (optionsKind) {
    throw invalid(optionsKind, { group: 'meta.k8s.io', resource: optionsKind.toLowerCase(), name: '' }, [
      field.notSupported('fieldValidation', q, ['', 'Ignore', 'Strict', 'Warn']),
    ]);
  }
  throw badRequest(
    `fieldValidation parameter unsupported: ${JSON.stringify(q)}: supported values: "Ignore", "Strict", "Warn"`,
  );
}

/**
 * What to do with the fields `pruneUnknownFields` removed: the warnings to send (one `Warning` header
 * each) for Warn, none for Ignore; for Strict a 400 listing every one, worded as kube-apiserver does.
 */
export function checkUnknownFields(mode: FieldValidation, unknown: string[]): string[] {
  if (mode === 'Ignore' || unknown.length === 0) return [];
  const messages = unknown.map((p) => `unknown field ${JSON.stringify(p.replace(/^\./, ''))}`);
  if (mode === 'Strict') throw badRequest(`strict decoding error: ${messages.join(', ')}`);
  return messages;
}

type Json = Record<string, unknown>;

const META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

/** Schemas indexed by `$id` per root, so `$ref`s (TypeBox Ref/Recursive) resolve without a walk per request. */
const idIndexes = new WeakMap<object, Map<string, Json>>();

function idIndex(root: object): Map<string, Json> {
  let index = idIndexes.get(root);
  if (!index) {
    index = new Map();
    const seen = new Set<unknown>();
    const walk = (s: unknown): void => {
      if (typeof s !== 'object' || s === null || seen.has(s)) return;
      seen.add(s);
      if (isObject(s) && typeof s.$id === 'string' && !index!.has(s.$id)) index!.set(s.$id, s);
      for (const v of Object.values(s)) walk(v);
    };
    walk(root);
    idIndexes.set(root, index);
  }
  return index;
}

class Pruner {
  readonly unknown: string[] = [];

  constructor(private readonly ids: Map<string, Json>) {}

  /**
   * The alternatives a value may match: unions and intersections are flattened, so a field is known
   * when any alternative declares it. A node that only combines others is not itself an alternative.
   */
  private alternatives(s: unknown, out: Json[] = [], seen = new Set<unknown>()): Json[] {
    if (!isObject(s) || seen.has(s)) return out;
    seen.add(s);
    if (typeof s.$ref === 'string') {
      const target = this.ids.get(s.$ref);
      // An unresolvable reference leaves the value alone rather than pruning what may be valid.
      if (target) this.alternatives(target, out, seen);
      else out.push({ 'x-kubernetes-preserve-unknown-fields': true });
      return out;
    }
    const junctors = ['anyOf', 'oneOf', 'allOf'].filter((k) => Array.isArray(s[k]));
    for (const k of junctors) for (const b of s[k] as unknown[]) this.alternatives(b, out, seen);
    if (junctors.length === 0 || hasStructure(s)) out.push(s);
    return out;
  }

  prune(value: unknown, schemas: unknown[], path: string, root = false): void {
    if (value === null || typeof value !== 'object') return;
    const alts = schemas.flatMap((s) => this.alternatives(s));
    if (Array.isArray(value)) this.pruneArray(value, alts, path);
    else this.pruneObject(value as Json, alts, path, root);
  }

  private pruneObject(obj: Json, schemas: Json[], path: string, root: boolean): void {
    const alts = schemas.filter((s) => allowsType(s, 'object'));
    // No alternative describes an object: that is a type error for validation to report, not pruning's.
    if (alts.length === 0) return;
    const open = alts.some(keepsUnknown);
    const embedded = root || alts.some((s) => s['x-kubernetes-embedded-resource'] === true);
    for (const key of Object.keys(obj)) {
      const sub: unknown[] = [];
      let declared = false;
      for (const s of alts) {
        const known = fieldSchema(s, key);
        if (known !== undefined) {
          declared = true;
          sub.push(known);
        }
      }
      const child = path ? `${path}.${key}` : key;
      if (declared && obj[key] === null && !sub.some(allowsNull)) {
        // Go clients send null for empty fields; kube drops nulls of fields that are not nullable
        delete obj[key];
      } else if (declared) {
        // Another alternative keeping anything it does not declare could accept the value as it is.
        const alsoOpen = alts.some((s) => keepsUnknown(s) && fieldSchema(s, key) === undefined);
        if (!alsoOpen) this.prune(obj[key], sub, child);
      } else if (embedded && META_FIELDS.has(key)) {
        continue;
      } else if (!open) {
        delete obj[key];
        this.unknown.push(child);
      }
    }
  }

  private pruneArray(arr: unknown[], schemas: Json[], path: string): void {
    const alts = schemas.filter((s) => allowsType(s, 'array'));
    if (alts.length === 0 || alts.some((s) => s.items === undefined)) return;
    arr.forEach((item, i) => {
      const sub = alts
        .map((s): unknown => (Array.isArray(s.items) ? s.items[i] : s.items))
        .filter((x) => x !== undefined);
      if (sub.length === alts.length) this.prune(item, sub, `${path}[${i}]`);
    });
  }
}

function allowsNull(s: unknown): boolean {
  if (!isObject(s)) return true;
  if (s.nullable === true || s.type === 'null' || (Array.isArray(s.type) && s.type.includes('null')))
    return true;
  return [s.anyOf, s.oneOf].some((alts) => Array.isArray(alts) && alts.some(allowsNull));
}

function hasStructure(s: Json): boolean {
  return (
    s.type !== undefined ||
    s.properties !== undefined ||
    s.patternProperties !== undefined ||
    s.additionalProperties !== undefined ||
    s.items !== undefined ||
    s['x-kubernetes-preserve-unknown-fields'] === true
  );
}

function allowsType(s: Json, type: 'object' | 'array'): boolean {
  if (s.type === undefined) return true;
  return Array.isArray(s.type) ? s.type.includes(type) : s.type === type;
}

/** Fields this schema does not declare are kept: free-form objects, open maps, schemas with no structure. */
function keepsUnknown(s: Json): boolean {
  if (s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true) return true;
  return (
    s.type === undefined &&
    s.properties === undefined &&
    s.patternProperties === undefined &&
    s.additionalProperties === undefined
  );
}

/** The schema of `key` in objects described by `s`, or undefined when `s` does not declare it. */
function fieldSchema(s: Json, key: string): unknown {
  if (isObject(s.properties) && Object.prototype.hasOwnProperty.call(s.properties, key))
    return s.properties[key];
  if (isObject(s.patternProperties)) {
    for (const [pattern, sub] of Object.entries(s.patternProperties)) {
      if (matches(pattern, key)) return sub;
    }
  }
  if (isObject(s.additionalProperties)) return s.additionalProperties;
  return undefined;
}

const patterns = new Map<string, RegExp | null>();

function matches(pattern: string, key: string): boolean {
  let re = patterns.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      re = null;
    }
    patterns.set(pattern, re);
  }
  // A pattern JavaScript cannot compile is taken to match: keeping a field beats dropping valid data.
  return re === null || re.test(key);
}

/**
 * Removes, in place, every field of `obj` that `schema` does not declare, and returns their paths
 * sorted, in kube-apiserver's wording (`spec.foo`, `spec.items[0].bar`). apiVersion, kind and
 * metadata of the top-level object (and of `x-kubernetes-embedded-resource` objects) are always
 * known; metadata itself is pruned against the schema's `metadata` property when it declares one.
 */
export function pruneUnknownFields(obj: unknown, schema: object): string[] {
  const pruner = new Pruner(idIndex(schema));
  pruner.prune(obj, [schema], '', true);
  return pruner.unknown.sort();
}
