import { jsonEqual, isObject } from '../../pkg/json';
import { StatusError, badRequest } from '../../pkg/apierrors';

/** The three patch types of kube-apiserver (apply patch is not served). */
export type PatchType = 'json' | 'merge' | 'strategic';

const PATCH_MEDIA_TYPES: Readonly<Record<string, PatchType>> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
};

/** The patch type of a Content-Type header; parameters such as charset are ignored. */
export function patchTypeFromContentType(ct: string): PatchType | undefined {
  const mediaType = ct.split(';')[0].trim().toLowerCase();
  return Object.hasOwn(PATCH_MEDIA_TYPES, mediaType) ? PATCH_MEDIA_TYPES[mediaType] : undefined;
}

/** kube-apiserver's cap on the operations of one JSON patch (maxJSONPatchOperations). */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

/**
 * Applies an already-parsed patch body to a JSON document and returns the patched document. Neither
 * `original` nor `patch` is mutated, and the result shares no objects with them.
 */
export function applyPatch(type: PatchType, original: unknown, patch: unknown): unknown {
  const doc = cloneJson(original);
  const body = cloneJson(patch);
  switch (type) {
    case 'json':
      return applyJsonPatch(doc, body);
    case 'merge':
      return applyMergePatch(doc, body);
    case 'strategic':
      return applyStrategicMergePatch(doc, body);
  }
}

// ---------------------------------------------------------------------------------------------------
// JSON values. Keys are own properties only and "__proto__" is written as data, so a patch cannot
// reach or replace Object.prototype.

type JsonObject = Record<string, unknown>;

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function setProp(obj: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

function cloneJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cloneJson);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, child] of Object.entries(v)) setProp(out, k, cloneJson(child));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// JSON patch (RFC 6902) with JSON pointers (RFC 6901).

type OpName = 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
const OP_NAMES: readonly string[] = ['add', 'remove', 'replace', 'move', 'copy', 'test'];

interface Operation {
  op: OpName;
  path: string;
  tokens: string[];
  from?: string;
  fromTokens?: string[];
  value?: unknown;
}

/** RFC 6901: "" is the whole document, otherwise "/"-separated tokens with ~1 = "/" and ~0 = "~". */
function parsePointer(p: string): string[] | undefined {
  if (p === '') return [];
  if (!p.startsWith('/')) return undefined;
  const tokens = p.slice(1).split('/');
  if (tokens.some((t) => /~([^01]|$)/.test(t))) return undefined;
  return tokens.map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function decodeOperation(raw: unknown, index: number): Operation {
  const bad = (detail: string) => badRequest(`invalid JSON patch operation #${index}: ${detail}`);
  if (!isObject(raw)) throw bad(`must be an object, got ${describe(raw)}`);
  const { op, path, from } = raw;
  if (typeof op !== 'string') throw bad('"op" must be a string');
  if (!OP_NAMES.includes(op)) throw bad(`unknown op "${op}"`);
  const pointer = (name: string, p: unknown) => {
    if (typeof p !== 'string') throw bad(`"${name}" must be a string`);
    const tokens = parsePointer(p);
    if (!tokens) throw bad(`"${name}" is not a valid JSON pointer: ${JSON.stringify(p)}`);
    return { p, tokens };
  };
  const target = pointer('path', path);
  const operation: Operation = { op: op as OpName, path: target.p, tokens: target.tokens };
  if (op === 'add' || op === 'replace' || op === 'test') {
    if (!Object.hasOwn(raw, 'value')) throw bad(`"value" is required for ${op}`);
    operation.value = raw.value;
  }
  if (op === 'move' || op === 'copy') {
    const source = pointer('from', from);
    operation.from = source.p;
    operation.fromTokens = source.tokens;
  }
  return operation;
}

/** RFC 6901 array index: "0" or digits without a leading zero. */
function arrayIndex(token: string): number | undefined {
  return /^(0|[1-9][0-9]*)$/.test(token) ? Number(token) : undefined;
}

function child(container: unknown, token: string): { value: unknown } | undefined {
  if (Array.isArray(container)) {
    const i = arrayIndex(token);
    return i !== undefined && i < container.length ? { value: container[i] } : undefined;
  }
  if (isObject(container) && Object.hasOwn(container, token)) return { value: container[token] };
  return undefined;
}

type Fail = (detail: string) => StatusError;

/** The container holding the last token of `tokens` (which must be non-empty). */
function parentOf(doc: unknown, tokens: string[], path: string, fail: Fail): JsonObject | unknown[] {
  let current = doc;
  for (const token of tokens.slice(0, -1)) {
    const next = child(current, token);
    if (!next) throw fail(`doc is missing path: ${path}`);
    current = next.value;
  }
  if (!Array.isArray(current) && !isObject(current)) throw fail(`doc is missing path: ${path}`);
  return current;
}

function getAt(doc: unknown, tokens: string[], path: string, fail: Fail): unknown {
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, path, fail);
  const found = child(parent, tokens[tokens.length - 1]);
  if (!found)
    throw fail(Array.isArray(parent) ? `index out of range: ${path}` : `doc is missing key: ${path}`);
  return found.value;
}

/** Returns the new document: adding at "" replaces the whole document. */
function addAt(doc: unknown, tokens: string[], path: string, value: unknown, fail: Fail): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, path, fail);
  const last = tokens[tokens.length - 1];
  if (!Array.isArray(parent)) {
    setProp(parent, last, value);
    return doc;
  }
  const i = last === '-' ? parent.length : arrayIndex(last);
  if (i === undefined || i > parent.length) throw fail(`index out of range: ${path}`);
  parent.splice(i, 0, value);
  return doc;
}

function removeAt(doc: unknown, tokens: string[], path: string, fail: Fail): unknown {
  if (tokens.length === 0) throw fail('cannot remove the whole document');
  const value = getAt(doc, tokens, path, fail);
  const parent = parentOf(doc, tokens, path, fail);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete parent[last];
  return value;
}

function applyOperation(doc: unknown, o: Operation): unknown {
  const fail: Fail = (detail) =>
    new StatusError(422, 'Invalid', `jsonpatch ${o.op} operation does not apply: ${detail}`);
  switch (o.op) {
    case 'add':
      return addAt(doc, o.tokens, o.path, o.value, fail);
    case 'remove':
      removeAt(doc, o.tokens, o.path, fail);
      return doc;
    case 'replace': {
      getAt(doc, o.tokens, o.path, fail); // the target must exist
      if (o.tokens.length === 0) return o.value;
      const parent = parentOf(doc, o.tokens, o.path, fail);
      const last = o.tokens[o.tokens.length - 1];
      if (Array.isArray(parent)) parent[Number(last)] = o.value;
      else setProp(parent, last, o.value); // in place: keeps the key order
      return doc;
    }
    case 'move': {
      const from = o.from as string;
      if (o.path === from) {
        getAt(doc, o.tokens, o.path, fail);
        return doc;
      }
      if (o.path.startsWith(`${from}/`)) throw fail(`cannot move ${from} into its own child ${o.path}`);
      const value = removeAt(doc, o.fromTokens as string[], from, fail);
      return addAt(doc, o.tokens, o.path, value, fail);
    }
    case 'copy': {
      const value = getAt(doc, o.fromTokens as string[], o.from as string, fail);
      return addAt(doc, o.tokens, o.path, cloneJson(value), fail);
    }
    case 'test':
      if (!jsonEqual(getAt(doc, o.tokens, o.path, fail), o.value))
        throw fail(`test failed: value at ${o.path} differs`);
      return doc;
  }
}

function applyJsonPatch(doc: unknown, body: unknown): unknown {
  if (!Array.isArray(body))
    throw badRequest(`a JSON patch must be an array of operations, got ${describe(body)}`);
  if (body.length > MAX_JSON_PATCH_OPERATIONS) {
    // kube answers 413 here (errors.NewRequestEntityTooLargeError), with this wording.
    throw new StatusError(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${body.length}`,
    );
  }
  // Decode everything first: a malformed operation is a 400 even if an earlier one would fail to apply.
  return body.map(decodeOperation).reduce(applyOperation, doc);
}

// ---------------------------------------------------------------------------------------------------
// JSON merge patch (RFC 7386).

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result = isObject(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else setProp(result, k, mergePatch(Object.hasOwn(result, k) ? result[k] : undefined, v));
  }
  return result;
}

function applyMergePatch(doc: unknown, body: unknown): unknown {
  // RFC 7386 would let a non-object replace the document; kube refuses it for an object resource.
  if (isObject(doc) && !isObject(body))
    throw badRequest(`a merge patch must be a JSON object, got ${describe(body)}`);
  return mergePatch(doc, body);
}

// ---------------------------------------------------------------------------------------------------
// Strategic merge patch for kinds without patchMergeKey/patchStrategy tags: a merge patch (lists are
// replaced whole) that understands kube's directives.

const PATCH_DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

const pointerOf = (path: string[]) => `/${path.join('/')}`;

/** Merges `patch` into `original` (mutated) and returns it, or undefined when `$patch: delete` removes it. */
function strategicMerge(original: JsonObject, patch: JsonObject, path: string[]): JsonObject | undefined {
  if (Object.hasOwn(patch, PATCH_DIRECTIVE)) {
    const directive = patch[PATCH_DIRECTIVE];
    if (directive === 'delete') return undefined;
    if (directive !== 'replace') {
      throw badRequest(`unknown patch type: ${JSON.stringify(directive)} in map at ${pointerOf(path)}`);
    }
    delete patch[PATCH_DIRECTIVE];
    return strategicMerge({}, patch, path);
  }
  if (Object.hasOwn(patch, RETAIN_KEYS)) retainKeys(original, patch, path);

  const deletions: Array<[string, unknown[]]> = [];
  for (const [k, v] of Object.entries(patch)) {
    const at = pointerOf([...path, k]);
    if (k === RETAIN_KEYS) continue;
    if (k.startsWith(SET_ELEMENT_ORDER) || k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      if (!Array.isArray(v)) throw badRequest(`invalid patch: ${at} must be a list, got ${describe(v)}`);
      // Without merge keys every list is replaced whole, so there is no element order to set.
      if (k.startsWith(DELETE_FROM_PRIMITIVE_LIST))
        deletions.push([k.slice(DELETE_FROM_PRIMITIVE_LIST.length), v]);
      continue;
    }
    // other `$` keys are data, as in kube: free-form parameters and schemas carry `$schema` and `$ref`
    if (v === null) {
      delete original[k];
    } else if (isObject(v)) {
      const current = Object.hasOwn(original, k) ? original[k] : undefined;
      const merged = strategicMerge(isObject(current) ? current : {}, v, [...path, k]);
      if (merged === undefined) delete original[k];
      else setProp(original, k, merged);
    } else {
      if (Array.isArray(v) && v.some((e) => isObject(e) && Object.hasOwn(e, PATCH_DIRECTIVE))) {
        throw badRequest(
          `invalid patch: ${PATCH_DIRECTIVE} is not supported in the elements of the list ${at}`,
        );
      }
      setProp(original, k, v);
    }
  }
  // After the loop, so a list set by this same patch is filtered too (JSON key order must not matter).
  for (const [k, remove] of deletions) {
    const list = Object.hasOwn(original, k) ? original[k] : undefined;
    if (!Array.isArray(list)) continue;
    const kept = list.filter((e) => !remove.some((r) => jsonEqual(e, r)));
    setProp(original, k, kept);
  }
  return original;
}

/** `$retainKeys`: keys of the original map not listed are cleared; the patch may only set listed keys. */
function retainKeys(original: JsonObject, patch: JsonObject, path: string[]): void {
  const keep = patch[RETAIN_KEYS];
  const at = pointerOf([...path, RETAIN_KEYS]);
  if (!Array.isArray(keep) || !keep.every((k) => typeof k === 'string')) {
    throw badRequest(`invalid patch: ${at} must be a list of strings`);
  }
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith('$')) continue;
    if (!keep.includes(k))
      throw badRequest(`invalid patch: ${at} does not list ${JSON.stringify(k)}, which the patch sets`);
  }
  for (const k of Object.keys(original)) if (!keep.includes(k)) delete original[k];
}

function applyStrategicMergePatch(doc: unknown, body: unknown): unknown {
  if (!isObject(body))
    throw badRequest(`a strategic merge patch must be a JSON object, got ${describe(body)}`);
  const merged = strategicMerge(isObject(doc) ? doc : {}, body, []);
  if (merged === undefined)
    throw badRequest(`invalid patch: ${PATCH_DIRECTIVE}: delete cannot delete the whole object`);
  return merged;
}
