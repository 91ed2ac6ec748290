import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { freeForm, kindSchema } from '../api-types/meta';
import type { ResourceDefinition } from '../api-types/resource';
import {
  buildOpenAPIv2,
  buildOpenAPIv3,
  openAPIHash,
  openAPIv3Discovery,
  openAPIv3Path,
} from '../apiserver/openapi';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function resource(
  over: Partial<ResourceDefinition> & Pick<ResourceDefinition, 'kind' | 'plural'>,
): ResourceDefinition {
  return {
    group: 'servicecatalog.k8s.io',
    version: 'v1beta1',
    listKind: `${over.kind}List`,
    singular: over.kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    categories: [],
    subresources: [],
    schema: kindSchema(`${over.kind} is a test kind.`, {}),
    printerColumns: [],
    selectableFields: {},
    ...over,
  };
}

const instance = resource({
  kind: 'ServiceInstance',
  plural: 'serviceinstances',
  subresources: ['status', 'reference'],
  schema: kindSchema('ServiceInstance represents a provisioned instance of a ServiceClass.', {
    spec: Type.Object(
      {
        clusterServiceClassExternalName: Type.Optional(
          Type.String({ description: 'External name of the class.' }),
        ),
        updateRequests: Type.Optional(Type.Integer({ format: 'int64' })),
        parameters: Type.Optional(freeForm('Parameters for the broker.')),
        userInfo: Type.Optional(
          Type.Object({
            username: Type.String(),
            extra: Type.Optional(Type.Record(Type.String(), Type.String())),
          }),
        ),
        mode: Type.Optional(
          Type.Union([Type.Literal('Fast'), Type.Literal('Slow')], { description: 'How fast.' }),
        ),
        port: Type.Optional(Type.Union([Type.Integer(), Type.String()])),
        deletedAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
        items: Type.Optional(Type.Array(Type.Object({ name: Type.String() }))),
      },
      { description: 'Spec of the instance.' },
    ),
    status: Type.Optional(
      Type.Object({ conditions: Type.Array(Type.Object({ type: Type.String(), status: Type.String() })) }),
    ),
  }),
});
const broker = resource({
  kind: 'ClusterServiceBroker',
  plural: 'clusterservicebrokers',
  namespaced: false,
  subresources: ['status'],
});
const pod = resource({ group: '', version: 'v1', kind: 'Pod', plural: 'pods', subresources: ['status'] });
const resources = [instance, broker, pod];

const v2 = buildOpenAPIv2(resources, 'v1.0.0') as Json;
const v3 = buildOpenAPIv3(
  resources,
  { group: 'servicecatalog.k8s.io', version: 'v1beta1' },
  'v1.0.0',
) as Json;
const v3core = buildOpenAPIv3(resources, { group: '', version: 'v1' }, 'v1.0.0') as Json;

const SI = 'io.k8s.servicecatalog.v1beta1.ServiceInstance';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const NS = '/apis/servicecatalog.k8s.io/v1beta1/namespaces/{namespace}/serviceinstances';

/** Every node of a JSON tree, with its path. */
function* walk(x: unknown, path = '$'): Generator<[string, Json]> {
  if (typeof x !== 'object' || x === null) return;
  yield [path, x];
  for (const [k, v] of Object.entries(x)) yield* walk(v, `${path}.${k}`);
}

function paramNames(op: Json): string[] {
  return (op.parameters as Json[]).map((p) => p.name);
}

describe.each([
  ['v2', v2, '#/definitions/', (d: Json) => d.definitions as Json],
  ['v3', v3, '#/components/schemas/', (d: Json) => d.components.schemas as Json],
])('OpenAPI %s', (flavor, doc, prefix, defsOf) => {
  const defs = defsOf(doc);

  it('serves the collection, item, subresource and all-namespaces paths', () => {
    const paths = Object.keys(doc.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        NS,
        `${NS}/{name}`,
        `${NS}/{name}/status`,
        `${NS}/{name}/reference`,
        '/apis/servicecatalog.k8s.io/v1beta1/serviceinstances',
        '/apis/servicecatalog.k8s.io/v1beta1/clusterservicebrokers',
        '/apis/servicecatalog.k8s.io/v1beta1/clusterservicebrokers/{name}',
        '/apis/servicecatalog.k8s.io/v1beta1/clusterservicebrokers/{name}/status',
      ]),
    );
    expect(paths).not.toContain(
      '/apis/servicecatalog.k8s.io/v1beta1/namespaces/{namespace}/clusterservicebrokers',
    );
    expect(doc.paths[NS].parameters.map((p: Json) => p.name)).toEqual(['namespace']);
    expect(doc.paths[`${NS}/{name}`].parameters.map((p: Json) => p.name)).toEqual(['name', 'namespace']);
  });

  it('names operations and actions as kube-apiserver does', () => {
    const ids = (p: string) =>
      Object.values(doc.paths[p] as Json).flatMap((o: Json) => (o.operationId ? [o.operationId] : []));
    expect(ids(NS)).toEqual([
      'listServicecatalogV1beta1NamespacedServiceInstance',
      'createServicecatalogV1beta1NamespacedServiceInstance',
      'deleteServicecatalogV1beta1CollectionNamespacedServiceInstance',
    ]);
    expect(ids(`${NS}/{name}/status`)).toEqual([
      'readServicecatalogV1beta1NamespacedServiceInstanceStatus',
      'replaceServicecatalogV1beta1NamespacedServiceInstanceStatus',
      'patchServicecatalogV1beta1NamespacedServiceInstanceStatus',
    ]);
    expect(ids('/apis/servicecatalog.k8s.io/v1beta1/serviceinstances')).toEqual([
      'listServicecatalogV1beta1ServiceInstanceForAllNamespaces',
    ]);
    expect(ids('/apis/servicecatalog.k8s.io/v1beta1/clusterservicebrokers/{name}')).toEqual([
      'readServicecatalogV1beta1ClusterServiceBroker',
      'replaceServicecatalogV1beta1ClusterServiceBroker',
      'patchServicecatalogV1beta1ClusterServiceBroker',
      'deleteServicecatalogV1beta1ClusterServiceBroker',
    ]);
    const item = doc.paths[`${NS}/{name}`];
    expect(
      Object.fromEntries(
        Object.entries(item as Json).flatMap(([m, o]) =>
          o['x-kubernetes-action'] ? [[m, o['x-kubernetes-action']]] : [],
        ),
      ),
    ).toEqual({
      get: 'get',
      put: 'put',
      patch: 'patch',
      delete: 'delete',
    });
    expect(doc.paths[NS].delete['x-kubernetes-action']).toBe('deletecollection');
    expect(doc.paths[NS].get.tags).toEqual(['servicecatalog_v1beta1']);
  });

  it('declares fieldValidation on every write and the kube query parameters', () => {
    let writes = 0;
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const method of ['post', 'put', 'patch']) {
        if (!item[method]) continue;
        writes++;
        const fv = (item[method].parameters as Json[]).find((p) => p.name === 'fieldValidation');
        expect({ path, method, in: fv?.in }).toEqual({ path, method, in: 'query' });
        expect(paramNames(item[method])).toEqual(
          expect.arrayContaining(['dryRun', 'fieldManager', 'pretty']),
        );
      }
    }
    // create, put and patch of the item, put and patch of each subresource
    const count = (r: ResourceDefinition) => 3 + 2 * r.subresources.length;
    expect(writes).toBe(count(instance) + count(broker) + (flavor === 'v2' ? count(pod) : 0));
    expect(paramNames(doc.paths[NS].get)).toEqual(
      expect.arrayContaining([
        'labelSelector',
        'fieldSelector',
        'limit',
        'continue',
        'resourceVersion',
        'resourceVersionMatch',
        'timeoutSeconds',
        'watch',
        'allowWatchBookmarks',
      ]),
    );
    expect(paramNames(doc.paths[`${NS}/{name}`].delete)).toEqual(
      expect.arrayContaining(['gracePeriodSeconds', 'propagationPolicy', 'orphanDependents', 'dryRun']),
    );
  });

  it('accepts the three patch types and answers with the kind, the list and Status', () => {
    const item = doc.paths[`${NS}/{name}`];
    const patchTypes = [
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
    ];
    const list = doc.paths[NS].get.responses['200'];
    if (flavor === 'v2') {
      expect(item.patch.consumes).toEqual(patchTypes);
      expect(item.get.responses['200'].schema.$ref).toBe(prefix + SI);
      expect(list.schema.$ref).toBe(`${prefix}${SI}List`);
      expect(item.delete.responses['200'].schema.$ref).toBe(
        `${prefix}io.k8s.apimachinery.pkg.apis.meta.v1.Status`,
      );
      expect(item.put.parameters[0]).toMatchObject({
        in: 'body',
        required: true,
        schema: { $ref: prefix + SI },
      });
    } else {
      expect(Object.keys(item.patch.requestBody.content)).toEqual(patchTypes);
      expect(item.get.responses['200'].content['application/json'].schema.$ref).toBe(prefix + SI);
      expect(list.content['application/json'].schema.$ref).toBe(`${prefix}${SI}List`);
      expect(item.put.requestBody).toMatchObject({
        required: true,
        content: { '*/*': { schema: { $ref: prefix + SI } } },
      });
    }
  });

  it('tags operations with one GVK object and definitions with a GVK list', () => {
    expect(doc.paths[`${NS}/{name}/status`].patch['x-kubernetes-group-version-kind']).toEqual({
      group: 'servicecatalog.k8s.io',
      kind: 'ServiceInstance',
      version: 'v1beta1',
    });
    expect(defs[SI]['x-kubernetes-group-version-kind']).toEqual([
      { group: 'servicecatalog.k8s.io', kind: 'ServiceInstance', version: 'v1beta1' },
    ]);
    expect(defs[`${SI}List`]['x-kubernetes-group-version-kind']).toEqual([
      { group: 'servicecatalog.k8s.io', kind: 'ServiceInstanceList', version: 'v1beta1' },
    ]);
    expect(
      defs['io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions']['x-kubernetes-group-version-kind'],
    ).toEqual(
      expect.arrayContaining([{ group: 'servicecatalog.k8s.io', kind: 'DeleteOptions', version: 'v1beta1' }]),
    );
  });

  it('references the shared metav1 definitions', () => {
    const meta = defs[SI].properties.metadata;
    const $ref = flavor === 'v2' ? meta.$ref : meta.allOf[0].$ref;
    expect($ref).toBe(prefix + OBJECT_META);
    expect(meta.description).toEqual(expect.any(String));
    expect(defs[OBJECT_META].properties.ownerReferences.items.$ref).toBe(
      `${prefix}io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference`,
    );
    for (const name of ['ListMeta', 'Status', 'WatchEvent', 'DeleteOptions', 'Patch', 'ManagedFieldsEntry']) {
      expect(defs).toHaveProperty([`io.k8s.apimachinery.pkg.apis.meta.v1.${name}`]);
    }
    for (const [path, node] of walk(doc)) {
      if (typeof node.$ref !== 'string') continue;
      expect({ path, ref: node.$ref.startsWith(prefix) && node.$ref.slice(prefix.length) in defs }).toEqual({
        path,
        ref: true,
      });
    }
  });

  it('converts TypeBox specifics to plain structural schemas', () => {
    const spec = defs[SI].properties.spec;
    expect(spec.type).toBe('object');
    expect(spec.description).toBe('Spec of the instance.');
    expect(spec.required).toBeUndefined();
    expect(spec.properties.mode).toEqual({
      type: 'string',
      enum: ['Fast', 'Slow'],
      description: 'How fast.',
    });
    expect(spec.properties.updateRequests).toEqual({ type: 'integer', format: 'int64' });
    expect(spec.properties.userInfo.properties.extra).toEqual({
      type: 'object',
      additionalProperties: { type: 'string' },
    });
    expect(spec.properties.userInfo.required).toEqual(['username']);
    expect(spec.properties.items).toEqual({
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
    });
    expect(spec.properties.parameters).toMatchObject({
      'x-kubernetes-preserve-unknown-fields': true,
      type: 'object',
    });
    expect(spec.properties.parameters.properties).toBeUndefined();
    expect(defs[SI].required).toEqual(['spec']);
    if (flavor === 'v2') {
      expect(spec.properties.port).toEqual({ 'x-kubernetes-int-or-string': true });
      expect(spec.properties.deletedAt).toEqual({ format: 'date-time' });
    } else {
      expect(spec.properties.port['x-kubernetes-int-or-string']).toBe(true);
      expect(spec.properties.deletedAt).toEqual({ type: 'string', format: 'date-time', nullable: true });
    }
    for (const [path, node] of walk(doc)) {
      expect({ path, symbols: Object.getOwnPropertySymbols(node).length }).toEqual({ path, symbols: 0 });
      expect(path).not.toMatch(/\.(\$id|const|patternProperties)$/);
      expect(Object.values(node)).not.toContain(undefined);
    }
  });

  it('round-trips through JSON unchanged', () => {
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });
});

describe('OpenAPI v2 specifics', () => {
  it('is swagger 2.0 with neither anyOf, oneOf, allOf nor nullable', () => {
    expect(v2.swagger).toBe('2.0');
    for (const [path] of walk(v2)) expect(path).not.toMatch(/\.(anyOf|oneOf|allOf|nullable)$/);
  });

  it('covers every group, core under /api/v1', () => {
    expect(v2.paths['/api/v1/namespaces/{namespace}/pods'].get.operationId).toBe('listCoreV1NamespacedPod');
    expect(v2.paths['/api/v1/pods'].get.operationId).toBe('listCoreV1PodForAllNamespaces');
    expect(v2.paths['/api/v1/namespaces/{namespace}/pods/{name}/status'].patch.tags).toEqual(['core_v1']);
    expect(v2.definitions['io.k8s.api.core.v1.Pod']['x-kubernetes-group-version-kind']).toEqual([
      { group: '', kind: 'Pod', version: 'v1' },
    ]);
  });
});

describe('schema conversion', () => {
  it('merges intersections and cuts recursion to free-form', () => {
    const Node = Type.Recursive((This) => Type.Object({ name: Type.String(), children: Type.Array(This) }));
    const r = resource({
      kind: 'Tree',
      plural: 'trees',
      schema: kindSchema('A tree.', {
        spec: Type.Intersect([
          Type.Object({ a: Type.String() }),
          Type.Object({ b: Type.Optional(Type.Number()) }),
        ]),
        root: Type.Optional(Node),
        either: Type.Optional(
          Type.Union([Type.Object({ a: Type.String() }), Type.String()], { description: 'e' }),
        ),
      }),
    });
    const defs = (buildOpenAPIv2([r], 'v1') as Json).definitions;
    const tree = defs['io.k8s.servicecatalog.v1beta1.Tree'].properties;
    expect(tree.spec).toEqual({
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'number' } },
      required: ['a'],
    });
    expect(tree.either).toEqual({ description: 'e' });
    expect(tree.root.properties.children).toEqual({
      type: 'array',
      items: { 'x-kubernetes-preserve-unknown-fields': true },
    });
  });
});

describe('OpenAPI v3 specifics', () => {
  it('holds only its group-version', () => {
    expect(v3.openapi).toBe('3.0.0');
    expect(Object.keys(v3.paths).every((p) => p.startsWith('/apis/servicecatalog.k8s.io/v1beta1/'))).toBe(
      true,
    );
    expect(v3.components.schemas).not.toHaveProperty(['io.k8s.api.core.v1.Pod']);
    expect(Object.keys(v3core.paths).every((p) => p.startsWith('/api/v1/'))).toBe(true);
    expect(v3core.components.schemas).toHaveProperty(['io.k8s.api.core.v1.PodList']);
  });

  it('is discovered with the uppercase SHA-512 of the served bytes', () => {
    const body = JSON.stringify(v3);
    const hash = createHash('sha512').update(body).digest('hex').toUpperCase();
    expect(openAPIHash(body)).toBe(hash);
    expect(openAPIv3Path({ group: '', version: 'v1' })).toBe('api/v1');
    expect(
      openAPIv3Discovery([
        { group: 'servicecatalog.k8s.io', version: 'v1beta1', document: v3 },
        { group: '', version: 'v1', document: JSON.stringify(v3core) },
      ]),
    ).toEqual({
      paths: {
        'apis/servicecatalog.k8s.io/v1beta1': {
          serverRelativeURL: `/openapi/v3/apis/servicecatalog.k8s.io/v1beta1?hash=${hash}`,
        },
        'api/v1': { serverRelativeURL: `/openapi/v3/api/v1?hash=${openAPIHash(JSON.stringify(v3core))}` },
      },
    });
  });

  it('is deterministic', () => {
    const again = buildOpenAPIv3(resources, { group: 'servicecatalog.k8s.io', version: 'v1beta1' }, 'v1.0.0');
    expect(JSON.stringify(again)).toBe(JSON.stringify(v3));
  });
});
