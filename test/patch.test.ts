import {
  MAX_JSON_PATCH_OPERATIONS,
  applyPatch,
  patchTypeFromContentType,
  type PatchType,
} from '../apiserver/rest/patch';
import { statusErrorOf } from './harness/status-error';

/** Freezes deeply so that any mutation of the inputs throws (test files are strict mode). */
function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    Object.values(v).forEach(deepFreeze);
    Object.freeze(v);
  }
  return v;
}

/** Applies to frozen inputs, checks they are unchanged and that the result shares nothing with them. */
function apply(type: PatchType, original: unknown, patch: unknown): unknown {
  const before = JSON.stringify([original, patch]);
  const result = applyPatch(type, deepFreeze(original), deepFreeze(patch));
  expect(JSON.stringify([original, patch])).toBe(before);
  return result;
}

const pod = () => ({
  metadata: { name: 'a', labels: { app: 'web' }, finalizers: ['x', 'y', 'z'] },
  spec: { list: [1, 2, 3], nested: { a: 1, b: { c: 2 } }, s: 'str', n: null as null | number },
});

describe('patchTypeFromContentType', () => {
  test.each([
    ['application/json-patch+json', 'json'],
    ['application/merge-patch+json', 'merge'],
    ['application/strategic-merge-patch+json', 'strategic'],
    ['application/merge-patch+json; charset=utf-8', 'merge'],
    ['  Application/JSON-Patch+JSON ;charset=UTF-8', 'json'],
    ['application/json', undefined],
    ['application/apply-patch+yaml', undefined],
    ['', undefined],
    ['toString', undefined],
  ])('%j is %j', (ct, type) => {
    expect(patchTypeFromContentType(ct)).toBe(type);
  });
});

describe('json patch', () => {
  test.each<[string, unknown, unknown[], unknown]>([
    ['add a key', { a: 1 }, [{ op: 'add', path: '/b', value: 2 }], { a: 1, b: 2 }],
    ['add replaces an existing key', { a: 1 }, [{ op: 'add', path: '/a', value: [1] }], { a: [1] }],
    ['add null', {}, [{ op: 'add', path: '/a', value: null }], { a: null }],
    ['add inserts in an array', { a: [1, 3] }, [{ op: 'add', path: '/a/1', value: 2 }], { a: [1, 2, 3] }],
    ['add at the array end index', { a: [1] }, [{ op: 'add', path: '/a/1', value: 2 }], { a: [1, 2] }],
    ['add with - appends', { a: [1] }, [{ op: 'add', path: '/a/-', value: 2 }], { a: [1, 2] }],
    ['add at the root replaces the document', { a: 1 }, [{ op: 'add', path: '', value: { b: 2 } }], { b: 2 }],
    ['add to an empty key', {}, [{ op: 'add', path: '/', value: 1 }], { '': 1 }],
    ['~1 and ~0 escapes', {}, [{ op: 'add', path: '/a~1b~0c~01', value: 1 }], { 'a/b~c~1': 1 }],
    ['remove a key', { a: 1, b: 2 }, [{ op: 'remove', path: '/a' }], { b: 2 }],
    ['remove an array element', { a: [1, 2, 3] }, [{ op: 'remove', path: '/a/1' }], { a: [1, 3] }],
    ['replace a key', { a: 1, b: 2 }, [{ op: 'replace', path: '/a', value: 'x' }], { a: 'x', b: 2 }],
    ['replace an array element', { a: [1, 2] }, [{ op: 'replace', path: '/a/0', value: 9 }], { a: [9, 2] }],
    ['replace the root', { a: 1 }, [{ op: 'replace', path: '', value: [] }], []],
    [
      'move a key',
      { a: { b: 1 }, c: {} },
      [{ op: 'move', from: '/a/b', path: '/c/d' }],
      { a: {}, c: { d: 1 } },
    ],
    [
      'move within an array',
      { a: [1, 2, 3] },
      [{ op: 'move', from: '/a/0', path: '/a/-' }],
      { a: [2, 3, 1] },
    ],
    ['move to itself', { a: 1 }, [{ op: 'move', from: '/a', path: '/a' }], { a: 1 }],
    [
      'move to a sibling with a common prefix',
      { a: 1 },
      [{ op: 'move', from: '/a', path: '/ab' }],
      { ab: 1 },
    ],
    [
      'copy a value',
      { a: { b: [1] } },
      [{ op: 'copy', from: '/a', path: '/c' }],
      { a: { b: [1] }, c: { b: [1] } },
    ],
    ['copy into an array', { a: [1, 2] }, [{ op: 'copy', from: '/a/1', path: '/a/0' }], { a: [2, 1, 2] }],
    [
      'test passes, then replace',
      { a: { x: [1, { y: 2 }] } },
      [
        { op: 'test', path: '/a', value: { x: [1, { y: 2 }] } },
        { op: 'replace', path: '/a/x/1/y', value: 3 },
      ],
      { a: { x: [1, { y: 3 }] } },
    ],
    [
      'test ignores key order',
      { a: { x: 1, y: 2 } },
      [{ op: 'test', path: '/a', value: { y: 2, x: 1 } }],
      {
        a: { x: 1, y: 2 },
      },
    ],
    ['test null', { a: null }, [{ op: 'test', path: '/a', value: null }], { a: null }],
    ['test the root', [1], [{ op: 'test', path: '', value: [1] }], [1]],
    [
      'operations apply in order',
      { a: 1 },
      [
        { op: 'copy', from: '/a', path: '/b' },
        { op: 'remove', path: '/a' },
        { op: 'add', path: '/c', value: [] },
        { op: 'add', path: '/c/-', value: 'x' },
      ],
      { b: 1, c: ['x'] },
    ],
    ['extra fields are ignored', { a: 1 }, [{ op: 'remove', path: '/a', value: 1, extra: true }], {}],
    ['no operations', { a: 1 }, [], { a: 1 }],
  ])('%s', (_name, original, ops, expected) => {
    expect(apply('json', original, ops)).toEqual(expected);
  });

  test('copied values are independent', () => {
    const result = apply('json', { a: { b: 1 } }, [
      { op: 'copy', from: '/a', path: '/c' },
      { op: 'replace', path: '/c/b', value: 2 },
    ]);
    expect(result).toEqual({ a: { b: 1 }, c: { b: 2 } });
  });

  test.each<[string, unknown, number, string, string]>([
    // Malformed bodies: 400.
    [
      'not an array',
      { op: 'add' },
      400,
      'BadRequest',
      'a JSON patch must be an array of operations, got object',
    ],
    ['null body', null, 400, 'BadRequest', 'a JSON patch must be an array of operations, got null'],
    [
      'operation not an object',
      [1],
      400,
      'BadRequest',
      'invalid JSON patch operation #0: must be an object, got number',
    ],
    [
      'missing op',
      [{ path: '/a' }],
      400,
      'BadRequest',
      'invalid JSON patch operation #0: "op" must be a string',
    ],
    [
      'unknown op',
      [{ op: 'merge', path: '/a' }],
      400,
      'BadRequest',
      'invalid JSON patch operation #0: unknown op "merge"',
    ],
    [
      'missing path',
      [{ op: 'remove' }],
      400,
      'BadRequest',
      'invalid JSON patch operation #0: "path" must be a string',
    ],
    [
      'path not a pointer',
      [{ op: 'remove', path: 'a' }],
      400,
      'BadRequest',
      'invalid JSON patch operation #0: "path" is not a valid JSON pointer: "a"',
    ],
    [
      'bad ~ escape',
      [{ op: 'remove', path: '/a~2' }],
      400,
      'BadRequest',
      'invalid JSON patch operation #0: "path" is not a valid JSON pointer: "/a~2"',
    ],
    [
      'trailing ~',
      [{ op: 'remove', path: '/a~' }],
      400,
      'BadRequest',
      'invalid JSON patch operation #0: "path" is not a valid JSON pointer: "/a~"',
    ],
    [
      'add without value',
      [{ op: 'add', path: '/a' }],
      400,
      'BadRequest',
      'invalid JSON patch operation #0: "value" is required for add',
    ],
    [
      'replace without value',
      [{ op: 'replace', path: '/a' }],
      400,
      'BadRequest',
      'invalid JSON patch operation #0: "value" is required for replace',
    ],
    [
      'test without value',
      [{ op: 'test', path: '/a' }],
      400,
      'BadRequest',
      'invalid JSON patch operation #0: "value" is required for test',
    ],
    [
      'move without from',
      [{ op: 'move', path: '/a' }],
      400,
      'BadRequest',
      'invalid JSON patch operation #0: "from" must be a string',
    ],
    [
      'copy with a bad from',
      [{ op: 'copy', from: 'a', path: '/a' }],
      400,
      'BadRequest',
      'invalid JSON patch operation #0: "from" is not a valid JSON pointer: "a"',
    ],
    [
      'malformed after a failing op',
      [
        { op: 'remove', path: '/missing' },
        { op: 'nope', path: '' },
      ],
      400,
      'BadRequest',
      'invalid JSON patch operation #1: unknown op "nope"',
    ],
    // Operations that do not apply: 422.
    [
      'replace a missing key',
      [{ op: 'replace', path: '/spec/foo', value: 1 }],
      422,
      'Invalid',
      'jsonpatch replace operation does not apply: doc is missing key: /spec/foo',
    ],
    [
      'remove a missing key',
      [{ op: 'remove', path: '/spec/foo' }],
      422,
      'Invalid',
      'jsonpatch remove operation does not apply: doc is missing key: /spec/foo',
    ],
    [
      'remove an inherited key',
      [{ op: 'remove', path: '/spec/toString' }],
      422,
      'Invalid',
      'jsonpatch remove operation does not apply: doc is missing key: /spec/toString',
    ],
    [
      'add under a missing parent',
      [{ op: 'add', path: '/spec/x/y', value: 1 }],
      422,
      'Invalid',
      'jsonpatch add operation does not apply: doc is missing path: /spec/x/y',
    ],
    [
      'add under a scalar',
      [{ op: 'add', path: '/spec/s/y', value: 1 }],
      422,
      'Invalid',
      'jsonpatch add operation does not apply: doc is missing path: /spec/s/y',
    ],
    [
      'add under null',
      [{ op: 'add', path: '/spec/n/y', value: 1 }],
      422,
      'Invalid',
      'jsonpatch add operation does not apply: doc is missing path: /spec/n/y',
    ],
    [
      'add past the array end',
      [{ op: 'add', path: '/spec/list/4', value: 1 }],
      422,
      'Invalid',
      'jsonpatch add operation does not apply: index out of range: /spec/list/4',
    ],
    [
      'add at a negative index',
      [{ op: 'add', path: '/spec/list/-1', value: 1 }],
      422,
      'Invalid',
      'jsonpatch add operation does not apply: index out of range: /spec/list/-1',
    ],
    [
      'add at a leading-zero index',
      [{ op: 'add', path: '/spec/list/01', value: 1 }],
      422,
      'Invalid',
      'jsonpatch add operation does not apply: index out of range: /spec/list/01',
    ],
    [
      'remove past the array end',
      [{ op: 'remove', path: '/spec/list/3' }],
      422,
      'Invalid',
      'jsonpatch remove operation does not apply: index out of range: /spec/list/3',
    ],
    [
      'remove -',
      [{ op: 'remove', path: '/spec/list/-' }],
      422,
      'Invalid',
      'jsonpatch remove operation does not apply: index out of range: /spec/list/-',
    ],
    [
      'replace past the array end',
      [{ op: 'replace', path: '/spec/list/3', value: 1 }],
      422,
      'Invalid',
      'jsonpatch replace operation does not apply: index out of range: /spec/list/3',
    ],
    [
      'index into an array with a name',
      [{ op: 'replace', path: '/spec/list/x/y', value: 1 }],
      422,
      'Invalid',
      'jsonpatch replace operation does not apply: doc is missing path: /spec/list/x/y',
    ],
    [
      'remove the root',
      [{ op: 'remove', path: '' }],
      422,
      'Invalid',
      'jsonpatch remove operation does not apply: cannot remove the whole document',
    ],
    [
      'move from a missing key',
      [{ op: 'move', from: '/nope', path: '/a' }],
      422,
      'Invalid',
      'jsonpatch move operation does not apply: doc is missing key: /nope',
    ],
    [
      'move to itself when missing',
      [{ op: 'move', from: '/nope', path: '/nope' }],
      422,
      'Invalid',
      'jsonpatch move operation does not apply: doc is missing key: /nope',
    ],
    [
      'move into its own child',
      [{ op: 'move', from: '/spec', path: '/spec/nested/x' }],
      422,
      'Invalid',
      'jsonpatch move operation does not apply: cannot move /spec into its own child /spec/nested/x',
    ],
    [
      'move to a missing parent',
      [{ op: 'move', from: '/spec/s', path: '/x/y' }],
      422,
      'Invalid',
      'jsonpatch move operation does not apply: doc is missing path: /x/y',
    ],
    [
      'copy from a missing key',
      [{ op: 'copy', from: '/nope', path: '/a' }],
      422,
      'Invalid',
      'jsonpatch copy operation does not apply: doc is missing key: /nope',
    ],
    [
      'test a different value',
      [{ op: 'test', path: '/spec/s', value: 'other' }],
      422,
      'Invalid',
      'jsonpatch test operation does not apply: test failed: value at /spec/s differs',
    ],
    [
      'test a different type',
      [{ op: 'test', path: '/spec/list', value: { 0: 1, 1: 2, 2: 3 } }],
      422,
      'Invalid',
      'jsonpatch test operation does not apply: test failed: value at /spec/list differs',
    ],
    [
      'test a missing key',
      [{ op: 'test', path: '/spec/nope', value: null }],
      422,
      'Invalid',
      'jsonpatch test operation does not apply: doc is missing key: /spec/nope',
    ],
    [
      'fail after a successful op',
      [
        { op: 'remove', path: '/spec' },
        { op: 'remove', path: '/spec' },
      ],
      422,
      'Invalid',
      'jsonpatch remove operation does not apply: doc is missing key: /spec',
    ],
  ])('%s', (_name, body, code, reason, message) => {
    const err = statusErrorOf(() => apply('json', pod(), body));
    expect([err.code, err.reason, err.message]).toEqual([code, reason, message]);
  });

  test(`more than ${MAX_JSON_PATCH_OPERATIONS} operations is 413 like kube`, () => {
    const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({
      op: 'test',
      path: '',
      value: {},
    }));
    const err = statusErrorOf(() => applyPatch('json', {}, ops));
    expect([err.code, err.reason, err.message]).toEqual([
      413,
      'RequestEntityTooLarge',
      `Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001`,
    ]);
    expect(applyPatch('json', {}, ops.slice(1))).toEqual({});
  });
});

describe('merge patch', () => {
  test.each<[string, unknown, unknown, unknown]>([
    ['sets and adds keys', { a: 1 }, { a: 2, b: 3 }, { a: 2, b: 3 }],
    ['null deletes', { a: 1, b: 2 }, { a: null, c: null }, { b: 2 }],
    [
      'merges nested objects',
      { a: { b: 1, c: 2 } },
      { a: { c: 3, d: { e: null, f: 4 } } },
      { a: { b: 1, c: 3, d: { f: 4 } } },
    ],
    ['replaces lists whole', { a: [1, 2, 3] }, { a: [4] }, { a: [4] }],
    ['keeps nulls inside lists', { a: [] }, { a: [null, { b: null }] }, { a: [null, { b: null }] }],
    ['object replaces a scalar', { a: 1 }, { a: { b: 1, c: null } }, { a: { b: 1 } }],
    ['scalar replaces an object', { a: { b: 1 } }, { a: 'x' }, { a: 'x' }],
    ['empty patch is a no-op', { a: 1 }, {}, { a: 1 }],
    ['a non-object target is replaced (RFC 7386)', [1], [2], [2]],
    ['a non-object target takes an object patch', 'x', { a: null, b: 1 }, { b: 1 }],
    ['$-keys are plain data', { a: 1 }, { $patch: 'delete' }, { a: 1, $patch: 'delete' }],
  ])('%s', (_name, original, patch, expected) => {
    expect(apply('merge', original, patch)).toEqual(expected);
  });

  test.each([
    ['array', [1]],
    ['null', null],
    ['string', 'x'],
    ['number', 1],
  ])('a %s patch of an object is 400', (kind, patch) => {
    const err = statusErrorOf(() => apply('merge', pod(), patch));
    expect([err.code, err.reason, err.message]).toEqual([
      400,
      'BadRequest',
      `a merge patch must be a JSON object, got ${kind}`,
    ]);
  });
});

describe('strategic merge patch', () => {
  test.each<[string, unknown, unknown, unknown]>([
    [
      'merges like a merge patch',
      { a: { b: 1, c: 2 }, d: 1 },
      { a: { c: null, e: 3 }, d: null },
      { a: { b: 1, e: 3 } },
    ],
    [
      'replaces lists whole',
      { a: [1, 2], b: [{ n: 1 }] },
      { a: [3], b: [{ n: 2 }] },
      { a: [3], b: [{ n: 2 }] },
    ],
    ['scalar replaces an object', { a: { b: 1 } }, { a: 1 }, { a: 1 }],
    ['object replaces a scalar', { a: 1 }, { a: { b: 1 } }, { a: { b: 1 } }],
    [
      '$patch: replace replaces the map',
      { a: { b: 1, c: 2 } },
      { a: { $patch: 'replace', c: 3 } },
      { a: { c: 3 } },
    ],
    ['$patch: replace on a missing map', {}, { a: { $patch: 'replace', c: 3, d: null } }, { a: { c: 3 } }],
    ['$patch: replace at the top', { a: 1, b: 2 }, { $patch: 'replace', b: 3 }, { b: 3 }],
    [
      '$patch: replace processes nested directives',
      { a: { b: 1 } },
      { a: { $patch: 'replace', x: { $patch: 'delete' }, y: 1 } },
      { a: { y: 1 } },
    ],
    ['$patch: delete removes the map', { a: { b: 1 }, c: 1 }, { a: { $patch: 'delete' } }, { c: 1 }],
    ['$patch: delete ignores the rest of the map', { a: { b: 1 } }, { a: { $patch: 'delete', b: 2 } }, {}],
    ['$patch: delete of a missing map', { c: 1 }, { a: { b: { $patch: 'delete' } } }, { c: 1, a: {} }],
    [
      '$retainKeys drops unlisted keys',
      { a: { x: 1, y: 2, z: 3 } },
      { a: { $retainKeys: ['x', 'w'], w: 4 } },
      { a: { x: 1, w: 4 } },
    ],
    [
      '$retainKeys allows nulls of unlisted keys',
      { a: { x: 1, y: 2 } },
      { a: { $retainKeys: ['x'], y: null } },
      { a: { x: 1 } },
    ],
    ['$retainKeys: [] empties the map', { a: { x: 1 } }, { a: { $retainKeys: [] } }, { a: {} }],
    [
      '$setElementOrder is dropped',
      { a: [1, 2] },
      { '$setElementOrder/a': [2, 1], a: [2, 1] },
      { a: [2, 1] },
    ],
    [
      '$setElementOrder of a missing or mismatched list is dropped',
      { a: [1, 2] },
      { '$setElementOrder/b': [9], '$setElementOrder/a': [3] },
      { a: [1, 2] },
    ],
    [
      '$deleteFromPrimitiveList removes values',
      { f: ['x', 'y', 'z', 'x'] },
      { '$deleteFromPrimitiveList/f': ['x', 'nope'] },
      { f: ['y', 'z'] },
    ],
    [
      '$deleteFromPrimitiveList applies after the list is set',
      { f: ['x'] },
      { '$deleteFromPrimitiveList/f': ['b'], f: ['a', 'b'] },
      { f: ['a'] },
    ],
    [
      '$deleteFromPrimitiveList compares numbers and objects by value',
      { f: [1, '1', { a: 1 }] },
      { '$deleteFromPrimitiveList/f': [1, { a: 1 }] },
      { f: ['1'] },
    ],
    [
      '$deleteFromPrimitiveList on a missing list',
      { a: 1 },
      { '$deleteFromPrimitiveList/f': ['x'] },
      { a: 1 },
    ],
    [
      '$deleteFromPrimitiveList on a non-list',
      { f: 'x' },
      { '$deleteFromPrimitiveList/f': ['x'] },
      { f: 'x' },
    ],
    [
      'nested directives',
      { spec: { m: { a: 1, b: 2 }, l: ['p', 'q'] } },
      { spec: { m: { $retainKeys: ['a'] }, '$deleteFromPrimitiveList/l': ['p'] } },
      { spec: { m: { a: 1 }, l: ['q'] } },
    ],
    [
      '$-keys inside list elements are data',
      { a: [] },
      { a: [{ $x: 1, b: { $patch: 'delete' } }] },
      { a: [{ $x: 1, b: { $patch: 'delete' } }] },
    ],
  ])('%s', (_name, original, patch, expected) => {
    expect(apply('strategic', original, patch)).toEqual(expected);
  });

  test('other $-keys are data, so free-form parameters and schemas keep $schema and $ref', () => {
    const schema = { $schema: 'http://json-schema.org/draft-04/schema#', $ref: '#/definitions/a' };
    expect(apply('strategic', { spec: {} }, { spec: { parameters: schema } })).toEqual({
      spec: { parameters: schema },
    });
  });

  test.each<[string, unknown, string]>([
    ['array body', [1], 'a strategic merge patch must be a JSON object, got array'],
    ['null body', null, 'a strategic merge patch must be a JSON object, got null'],
    ['unknown $patch in a map', { spec: { $patch: 'merge' } }, 'unknown patch type: "merge" in map at /spec'],
    ['non-string $patch', { $patch: 1 }, 'unknown patch type: 1 in map at /'],
    [
      '$patch: delete of the whole object',
      { $patch: 'delete' },
      'invalid patch: $patch: delete cannot delete the whole object',
    ],
    [
      '$patch in a list element',
      { spec: { list: [{ $patch: 'delete', name: 'a' }] } },
      'invalid patch: $patch is not supported in the elements of the list /spec/list',
    ],
    [
      '$patch: replace in a list element',
      { list: [1, { $patch: 'replace' }] },
      'invalid patch: $patch is not supported in the elements of the list /list',
    ],
    [
      '$retainKeys not a list',
      { spec: { $retainKeys: 'a' } },
      'invalid patch: /spec/$retainKeys must be a list of strings',
    ],
    [
      '$retainKeys with a non-string',
      { spec: { $retainKeys: [1] } },
      'invalid patch: /spec/$retainKeys must be a list of strings',
    ],
    [
      '$retainKeys missing a patched key',
      { spec: { $retainKeys: ['a'], b: 1 } },
      'invalid patch: /spec/$retainKeys does not list "b", which the patch sets',
    ],
    [
      '$setElementOrder not a list',
      { '$setElementOrder/a': {} },
      'invalid patch: /$setElementOrder/a must be a list, got object',
    ],
    [
      '$deleteFromPrimitiveList not a list',
      { spec: { '$deleteFromPrimitiveList/l': 'x' } },
      'invalid patch: /spec/$deleteFromPrimitiveList/l must be a list, got string',
    ],
  ])('%s is 400', (_name, patch, message) => {
    const err = statusErrorOf(() => apply('strategic', pod(), patch));
    expect([err.code, err.reason, err.message]).toEqual([400, 'BadRequest', message]);
  });
});

describe('inputs are never mutated and never shared', () => {
  test.each<[PatchType, unknown]>([
    [
      'json',
      [
        { op: 'add', path: '/spec/nested/b/d', value: { e: [1] } },
        { op: 'remove', path: '/metadata/finalizers/0' },
        { op: 'move', from: '/spec/list', path: '/spec/moved' },
      ],
    ],
    [
      'merge',
      { metadata: { labels: { app: null, x: 'y' } }, spec: { nested: { b: { c: 3 } }, extra: { e: [1] } } },
    ],
    [
      'strategic',
      {
        metadata: { '$deleteFromPrimitiveList/finalizers': ['y'] },
        spec: { nested: { $retainKeys: ['b'], b: { $patch: 'replace', d: 1 } }, extra: { e: [1] } },
      },
    ],
  ])('%s', (type, patch) => {
    const original = pod();
    const result = apply(type, original, patch) as ReturnType<typeof pod> & {
      spec: { extra?: { e: number[] } };
    };
    // Mutating the result reaches neither the original nor the patch.
    const snapshot = JSON.stringify([original, patch]);
    result.metadata.labels.app = 'changed';
    result.spec.nested.b = { c: -1 };
    result.spec.extra?.e.push(2);
    expect(JSON.stringify([original, patch])).toBe(snapshot);
  });

  test.each<[PatchType, unknown]>([
    ['json', [{ op: 'add', path: '/__proto__', value: { polluted: true } }]],
    ['merge', JSON.parse('{"__proto__": {"polluted": true}}')],
    ['strategic', JSON.parse('{"__proto__": {"polluted": true}}')],
  ])('%s: "__proto__" is an ordinary key', (type, patch) => {
    const result = applyPatch(type, {}, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(result)).toBe('{"__proto__":{"polluted":true}}');
  });
});
