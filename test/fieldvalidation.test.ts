import { Type } from '@sinclair/typebox';
import { freeForm, kindSchema } from '../api-types/meta';
import { StatusError } from '../pkg/apierrors';
import {
  checkUnknownFields,
  parseFieldValidation,
  pruneUnknownFields,
} from '../apiserver/rest/fieldvalidation';

const Widget = kindSchema('A widget.', {
  spec: Type.Optional(
    Type.Object({
      size: Type.Optional(Type.Integer({ format: 'int64' })),
      mode: Type.Optional(Type.Union([Type.Literal('Fast'), Type.Literal('Slow')])),
      tags: Type.Optional(Type.Record(Type.String(), Type.String())),
      parameters: Type.Optional(freeForm('Anything the broker takes.')),
      parts: Type.Optional(Type.Array(Type.Object({ name: Type.String() }))),
      owner: Type.Optional(Type.Union([Type.Object({ name: Type.String() }), Type.Null()])),
      target: Type.Optional(
        Type.Union([Type.Object({ url: Type.String() }), Type.Object({ service: Type.String() })]),
      ),
      anything: Type.Optional(Type.Unknown()),
    }),
  ),
  status: Type.Optional(Type.Object({ ready: Type.Optional(Type.Boolean()) })),
});

function widget(spec: object, extra: object = {}) {
  return {
    apiVersion: 'example.k8s.io/v1',
    kind: 'Widget',
    metadata: { name: 'w', labels: { 'app.kubernetes.io/name': 'x' }, annotations: { a: 'b' } },
    spec,
    ...extra,
  };
}

describe('pruneUnknownFields', () => {
  it('keeps a fully known object untouched', () => {
    const obj = widget({
      size: 3,
      mode: 'Fast',
      tags: { any: 'key' },
      parts: [{ name: 'a' }],
      owner: null,
      target: { url: 'http://x' },
    });
    const before = JSON.parse(JSON.stringify(obj));
    expect(pruneUnknownFields(obj, Widget)).toEqual([]);
    expect(obj).toEqual(before);
  });

  it('removes unknown fields in place and reports them sorted, in kube wording', () => {
    const obj = widget({ size: 1, foo: 1, parts: [{ name: 'a' }, { name: 'b', bar: true }] }, { extra: 'x' });
    const removed = pruneUnknownFields(obj, Widget);
    expect(removed).toEqual(['extra', 'spec.foo', 'spec.parts[1].bar']);
    expect(obj).not.toHaveProperty('extra');
    expect(obj.spec).toEqual({ size: 1, parts: [{ name: 'a' }, { name: 'b' }] });
  });

  it('never treats apiVersion, kind, metadata or map keys as unknown, but prunes inside metadata', () => {
    const obj = widget({}, { metadata: { name: 'w', labels: { x: 'y' }, bogus: 1 } });
    expect(pruneUnknownFields(obj, Widget)).toEqual(['metadata.bogus']);
    expect(obj.metadata).toEqual({ name: 'w', labels: { x: 'y' } });

    const bare = { apiVersion: 'v1', kind: 'Thing', metadata: { anything: 1 }, other: 2 };
    expect(pruneUnknownFields(bare, Type.Object({}))).toEqual(['other']);
    expect(bare).toEqual({ apiVersion: 'v1', kind: 'Thing', metadata: { anything: 1 } });
  });

  it('leaves free-form (x-kubernetes-preserve-unknown-fields) and untyped subtrees alone', () => {
    const obj = widget({ parameters: { deep: { nested: [1, { x: 2 }] } }, anything: { whatever: true } });
    expect(pruneUnknownFields(obj, Widget)).toEqual([]);
    expect(obj.spec).toEqual({
      parameters: { deep: { nested: [1, { x: 2 }] } },
      anything: { whatever: true },
    });
  });

  it('keeps a field known in any branch of a union, and skips null', () => {
    const obj = widget({ target: { service: 's', url: 'u', nope: 1 }, owner: { name: 'n', x: 1 } });
    expect(pruneUnknownFields(obj, Widget)).toEqual(['spec.owner.x', 'spec.target.nope']);
    expect(obj.spec).toEqual({ target: { service: 's', url: 'u' }, owner: { name: 'n' } });
  });

  it('prunes map values and intersections by their schemas', () => {
    const schema = Type.Object({
      byName: Type.Record(Type.String(), Type.Object({ a: Type.String() })),
      both: Type.Intersect([Type.Object({ a: Type.String() }), Type.Object({ b: Type.String() })]),
    });
    const obj = { byName: { x: { a: '1', z: 2 } }, both: { a: '1', b: '2', c: '3' } };
    expect(pruneUnknownFields(obj, schema)).toEqual(['both.c', 'byName.x.z']);
  });

  it('follows $ref into recursive schemas', () => {
    const Node = Type.Recursive((This) => Type.Object({ name: Type.String(), children: Type.Array(This) }));
    const obj = { name: 'a', children: [{ name: 'b', children: [{ name: 'c', children: [], x: 1 }] }] };
    expect(pruneUnknownFields(obj, Node)).toEqual(['children[0].children[0].x']);
  });

  it('does not touch values of the wrong type (validation reports them)', () => {
    const obj = widget({ parts: 'not-a-list', size: { a: 1 } });
    expect(pruneUnknownFields(obj, Widget)).toEqual([]);
    expect(obj.spec).toEqual({ parts: 'not-a-list', size: { a: 1 } });
  });
});

describe('parseFieldValidation', () => {
  it('defaults to Warn and accepts the three directives', () => {
    expect(parseFieldValidation(undefined)).toBe('Warn');
    expect(parseFieldValidation('')).toBe('Warn');
    expect(parseFieldValidation('Ignore')).toBe('Ignore');
    expect(parseFieldValidation('Warn')).toBe('Warn');
    expect(parseFieldValidation('Strict')).toBe('Strict');
  });

  it('refuses anything else with a 400', () => {
    expect.assertions(4);
    expect(() => parseFieldValidation('strict')).toThrow(StatusError);
    try {
      parseFieldValidation('Bogus');
    } catch (e) {
      const status = (e as StatusError).toStatus();
      expect(status.code).toBe(400);
      expect(status.reason).toBe('BadRequest');
      expect(status.message).toMatch(/^fieldValidation parameter unsupported: "Bogus"/);
    }
  });

  it('refuses like kube-apiserver (422 on the options kind) when told the verb', () => {
    expect.assertions(3);
    try {
      parseFieldValidation('Bogus', 'PatchOptions');
    } catch (e) {
      const status = (e as StatusError).toStatus();
      expect(status.code).toBe(422);
      expect(status.reason).toBe('Invalid');
      expect(status.message).toBe(
        'PatchOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Bogus": supported values: "", "Ignore", "Strict", "Warn"',
      );
    }
  });
});

describe('checkUnknownFields', () => {
  const unknown = ['spec.bar', 'spec.foo'];

  it('ignores', () => {
    expect(checkUnknownFields('Ignore', unknown)).toEqual([]);
  });

  it('warns once per field', () => {
    expect(checkUnknownFields('Warn', unknown)).toEqual([
      'unknown field "spec.bar"',
      'unknown field "spec.foo"',
    ]);
    expect(checkUnknownFields('Warn', [])).toEqual([]);
  });

  it('fails strictly with every field in one BadRequest', () => {
    expect.assertions(3);
    expect(checkUnknownFields('Strict', [])).toEqual([]);
    try {
      checkUnknownFields('Strict', unknown);
    } catch (e) {
      expect((e as StatusError).toStatus()).toMatchObject({
        code: 400,
        reason: 'BadRequest',
        status: 'Failure',
      });
      expect((e as StatusError).message).toBe(
        'strict decoding error: unknown field "spec.bar", unknown field "spec.foo"',
      );
    }
  });

  it('works end to end with the pruner', () => {
    const obj = widget({ foo: 1 });
    expect(checkUnknownFields('Warn', pruneUnknownFields(obj, Widget))).toEqual(['unknown field "spec.foo"']);
  });
});

describe('nulls from Go clients', () => {
  it('drops null values of fields that are not nullable, without reporting them as unknown', () => {
    const obj = widget({ mode: null, owner: null });
    expect(pruneUnknownFields(obj, Widget)).toEqual([]);
    expect(obj.spec).toEqual({ owner: null });
  });
});
