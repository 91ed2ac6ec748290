import type { KubeObject, Status } from '../api-types/meta';
import { Client, eventually, startEnv, type Env, type Response } from './harness';
import { FINALIZER as CATALOG_FINALIZER } from '../pkg/servicecatalog/constants';

/** REST semantics a kube client relies on, against a real etcd and the real API server. */

const GROUP = 'servicecatalog.k8s.io';
const GV = `${GROUP}/v1beta1`;
const API = `/apis/${GV}`;

const brokers = (name?: string) => `${API}/clusterservicebrokers${name ? `/${name}` : ''}`;
const instances = (ns?: string, name?: string) =>
  `${API}${ns ? `/namespaces/${ns}` : ''}/serviceinstances${name ? `/${name}` : ''}`;

const clusterClasses = (name?: string) => `${API}/clusterserviceclasses${name ? `/${name}` : ''}`;
const classes = (ns?: string, name?: string) =>
  `${API}${ns ? `/namespaces/${ns}` : ''}/serviceclasses${name ? `/${name}` : ''}`;

const TABLE_V1 = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const MERGE = 'application/merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';
const STRATEGIC = 'application/strategic-merge-patch+json';

interface List<T = KubeObject> {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

interface TableColumn {
  name: string;
  priority: number;
  type: string;
}
interface Table {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion?: string };
  columnDefinitions: TableColumn[];
  rows: Array<{ cells: unknown[]; object?: KubeObject }>;
}

let seq = 0;
/** A name no other test uses, so tests sharing one server never collide. */
const unique = (prefix: string) => `${prefix}-${++seq}`;

const broker = (name: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: GV,
  kind: 'ClusterServiceBroker',
  ...extra,
  metadata: { name, ...extra.metadata },
  spec: extra.spec ?? { url: `https://${name}.example.com` },
});

const instance = (ns: string, name: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: GV,
  kind: 'ServiceInstance',
  ...extra,
  metadata: { name, namespace: ns, ...extra.metadata },
  spec: extra.spec ?? { clusterServiceClassExternalName: 'db', clusterServicePlanExternalName: 'small' },
});

const classSpec = (name: string, brokerField: string) => ({
  [brokerField]: 'some-broker',
  externalName: name,
  externalID: `id-${name}`,
  description: 'A class.',
});

const clusterClass = (name: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: GV,
  kind: 'ClusterServiceClass',
  metadata: { name, ...extra.metadata },
  spec: classSpec(name, 'clusterServiceBrokerName'),
});

const serviceClass = (ns: string, name: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: GV,
  kind: 'ServiceClass',
  metadata: { name, namespace: ns, ...extra.metadata },
  spec: classSpec(name, 'serviceBrokerName'),
});

/** Asserts a Status answer and returns it. */
function expectStatus(res: Response<unknown>, code: number, reason: string): Status {
  expect({ code: res.status, body: res.body }).toMatchObject({
    code,
    body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason },
  });
  return res.body as Status;
}

const causeFields = (s: Status) => (s.details?.causes ?? []).map((c) => c.field);

const warnings = (res: Response<unknown>): string[] => {
  const h = res.headers['warning'];
  return h === undefined ? [] : ([] as string[]).concat(h);
};

const names = (list: List) => list.items.map((i) => i.metadata.name!).sort();

let env: Env;
let client: Client;

beforeAll(async () => {
  env = await startEnv();
  client = env.client;
});

afterAll(async () => {
  await env?.stop();
});

async function createBroker(name: string, extra: Partial<KubeObject> = {}): Promise<KubeObject> {
  const res = await client.post(brokers(), broker(name, extra));
  expect(res.status).toBe(201);
  return res.body;
}

async function createInstance(
  ns: string,
  name: string,
  extra: Partial<KubeObject> = {},
): Promise<KubeObject> {
  const res = await client.post(instances(ns), instance(ns, name, extra));
  expect(res.status).toBe(201);
  return res.body;
}

async function createClusterClass(name: string, extra: Partial<KubeObject> = {}): Promise<KubeObject> {
  const res = await client.post(clusterClasses(), clusterClass(name, extra));
  expect(res.status).toBe(201);
  return res.body;
}

async function createClass(ns: string, name: string, extra: Partial<KubeObject> = {}): Promise<KubeObject> {
  const res = await client.post(classes(ns), serviceClass(ns, name, extra));
  expect(res.status).toBe(201);
  return res.body;
}

async function list<T = KubeObject>(path: string, headers?: Record<string, string>): Promise<List<T>> {
  const res = await client.get<List<T>>(path, headers);
  expect(res.status).toBe(200);
  return res.body;
}

describe('create', () => {
  it('answers 201 with the server-set metadata', async () => {
    const name = unique('create');
    const res = await client.post(brokers(), broker(name, { metadata: { name, labels: { a: 'b' } } }));
    expect(res.status).toBe(201);
    const meta = res.body.metadata;
    expect(res.body).toMatchObject({
      apiVersion: GV,
      kind: 'ClusterServiceBroker',
      spec: { url: `https://${name}.example.com` },
    });
    expect(meta).toMatchObject({ name, labels: { a: 'b' }, generation: 1 });
    expect(meta.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(meta.creationTimestamp!))).toBe(false);
    expect(meta.resourceVersion).toMatch(/^[1-9]\d*$/);
    expect(meta.namespace).toBeUndefined();

    const got = await client.get(brokers(name));
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
  });

  it('ignores server-owned metadata the client sent', async () => {
    const name = unique('create-owned');
    const res = await client.post(
      brokers(),
      broker(name, {
        metadata: {
          name,
          uid: 'mine',
          generation: 7,
          creationTimestamp: '2001-01-01T00:00:00Z',
          deletionTimestamp: '2001-01-01T00:00:00Z',
        },
      }),
    );
    expect(res.status).toBe(201);
    expect(res.body.metadata.uid).not.toBe('mine');
    expect(res.body.metadata.generation).toBe(1);
    expect(res.body.metadata.creationTimestamp).not.toBe('2001-01-01T00:00:00Z');
    expect(res.body.metadata.deletionTimestamp).toBeUndefined();
  });

  it('drops status on create for kinds with a status subresource', async () => {
    const name = unique('create-status');
    const res = await client.post(brokers(), broker(name, { status: { reconciledGeneration: 4 } }));
    expect(res.status).toBe(201);
    expect(res.body.status ?? {}).toEqual({});
    expect((await client.get(brokers(name))).body.status ?? {}).toEqual({});

    // a kind whose strategy sets an initial status: the client's is still ignored
    const ns = unique('ns');
    const plain = await createInstance(ns, 'plain');
    const si = await client.post(
      instances(ns),
      instance(ns, 'si', { status: { provisionStatus: 'Provisioned', lastOperation: 'op' } }),
    );
    expect(si.status).toBe(201);
    expect(si.body.status).toEqual(plain.status);
  });

  it('generates a name from generateName', async () => {
    const res = await client.post(brokers(), { ...broker(''), metadata: { generateName: 'gen-' } });
    expect(res.status).toBe(201);
    expect(res.body.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(res.body.metadata.generateName).toBe('gen-');
    expect((await client.get(brokers(res.body.metadata.name))).status).toBe(200);
  });

  it('stores nothing with dryRun=All', async () => {
    const name = unique('create-dry');
    const res = await client.post(`${brokers()}?dryRun=All`, broker(name));
    expect(res.status).toBe(201);
    expect(res.body.metadata.name).toBe(name);
    expectStatus(await client.get(brokers(name)), 404, 'NotFound');
  });

  it('reports a taken name with dryRun=All, as the real create would', async () => {
    const name = unique('create-dry-dup');
    const v1 = await createBroker(name);
    expectStatus(await client.post(`${brokers()}?dryRun=All`, broker(name)), 409, 'AlreadyExists');
    expect((await client.get(brokers(name))).body).toEqual(v1);
  });

  it('refuses an unsupported dryRun value', async () => {
    expectStatus(await client.post(`${brokers()}?dryRun=Some`, broker(unique('dry-bad'))), 400, 'BadRequest');
  });

  it('answers 409 AlreadyExists with details for a taken name', async () => {
    const name = unique('create-dup');
    await createBroker(name);
    const s = expectStatus(await client.post(brokers(), broker(name)), 409, 'AlreadyExists');
    expect(s.message).toBe(`clusterservicebrokers.${GROUP} "${name}" already exists`);
    expect(s.details).toMatchObject({ name, group: GROUP, kind: 'clusterservicebrokers' });
  });

  it('answers 422 naming metadata.name when the name is missing', async () => {
    const body = broker('');
    delete body.metadata.name;
    const s = expectStatus(await client.post(brokers(), body), 422, 'Invalid');
    expect(causeFields(s)).toContain('metadata.name');
    expect(s.details?.causes?.find((c) => c.field === 'metadata.name')?.reason).toBe('FieldValueRequired');
    expect(s.details).toMatchObject({ group: GROUP, kind: 'ClusterServiceBroker' });
  });

  it.each(['Bad_Name', 'UPPER', '-leading', 'trailing-', 'a'.repeat(254)])(
    'answers 422 for the invalid name %s',
    async (name) => {
      const s = expectStatus(await client.post(brokers(), broker(name)), 422, 'Invalid');
      expect(causeFields(s)).toEqual(['metadata.name']);
    },
  );

  it('answers 400 for a wrong apiVersion or kind', async () => {
    const name = unique('create-gvk');
    let s = expectStatus(
      await client.post(brokers(), { ...broker(name), apiVersion: 'servicecatalog.k8s.io/v1' }),
      400,
      'BadRequest',
    );
    expect(s.message).toContain('servicecatalog.k8s.io/v1');
    s = expectStatus(
      await client.post(brokers(), { ...broker(name), kind: 'ServiceBroker' }),
      400,
      'BadRequest',
    );
    expect(s.message).toContain('ServiceBroker');
    expectStatus(await client.get(brokers(name)), 404, 'NotFound');
  });

  it('answers 400 when the namespace in the body differs from the URL', async () => {
    const s = expectStatus(
      await client.post(instances('ns-a'), instance('ns-b', unique('si'))),
      400,
      'BadRequest',
    );
    expect(s.message).toContain('does not match the namespace');
  });

  it('fills the namespace from the URL when the body has none', async () => {
    const ns = unique('ns');
    const body = instance(ns, 'si');
    delete body.metadata.namespace;
    const res = await client.post(instances(ns), body);
    expect(res.status).toBe(201);
    expect(res.body.metadata.namespace).toBe(ns);
  });

  it('refuses to create a namespaced kind through the all-namespaces path', async () => {
    const name = unique('si-nons');
    expectStatus(await client.post(instances(), instance('default', name)), 405, 'MethodNotAllowed');
    expectStatus(await client.get(instances('default', name)), 404, 'NotFound');
    // an item path without its namespace names nothing
    await createInstance('default', name);
    expectStatus(await client.get(instances(undefined, name)), 404, 'NotFound');
    expectStatus(await client.delete(instances(undefined, name)), 404, 'NotFound');
    expect((await client.get(instances('default', name))).status).toBe(200);
  });

  it('answers 400 for malformed JSON', async () => {
    expectStatus(await client.post(brokers(), '{"metadata": {"name": "x"'), 400, 'BadRequest');
    expectStatus(await client.post(brokers(), '[1, 2]'), 400, 'BadRequest');
  });

  it('accepts a YAML body and answers YAML when asked', async () => {
    const name = unique('yaml');
    const body = `apiVersion: ${GV}\nkind: ClusterServiceBroker\nmetadata:\n  name: ${name}\nspec:\n  url: https://yaml.example.com\n`;
    const res = await client.post(brokers(), body, { 'content-type': 'application/yaml' });
    expect(res.status).toBe(201);
    expect(res.body.spec).toMatchObject({ url: 'https://yaml.example.com' });

    const asYaml = await client.get(brokers(name), { accept: 'application/yaml' });
    expect(asYaml.status).toBe(200);
    expect(asYaml.headers['content-type']).toMatch(/^application\/yaml/);
    expect(asYaml.text).toContain(`name: ${name}`);
    expect(asYaml.text).toContain('url: https://yaml.example.com');
  });

  it('answers 400 for malformed YAML', async () => {
    expectStatus(
      await client.post(brokers(), 'metadata: [\n  name: x', { 'content-type': 'application/yaml' }),
      400,
      'BadRequest',
    );
  });

  it('answers 415 for an unsupported content type', async () => {
    const s = expectStatus(
      await client.post(brokers(), 'name=x', { 'content-type': 'text/plain' }),
      415,
      'UnsupportedMediaType',
    );
    expect(s.message).toContain('text/plain');
  });

  it('answers 422 naming spec.url when it has the wrong type', async () => {
    const name = unique('create-type');
    const s = expectStatus(await client.post(brokers(), broker(name, { spec: { url: 5 } })), 422, 'Invalid');
    expect(causeFields(s)).toEqual(['spec.url']);
    expect(s.details?.causes?.[0].reason).toBe('FieldValueInvalid');
  });

  it('reports every invalid field at once', async () => {
    const name = unique('create-many');
    const s = expectStatus(
      await client.post(
        brokers(),
        broker(name, { spec: { url: 5, relistBehavior: 'Sometimes', insecureSkipTLSVerify: 'yes' } }),
      ),
      422,
      'Invalid',
    );
    expect(causeFields(s).sort()).toEqual(['spec.insecureSkipTLSVerify', 'spec.relistBehavior', 'spec.url']);
  });
});

describe('request body limit', () => {
  let small: Env;
  beforeAll(async () => {
    small = await startEnv({ maxRequestBodyBytes: 1024 });
  });
  afterAll(async () => {
    await small?.stop();
  });

  it('answers 413 for a body over the limit and accepts one under it', async () => {
    const big = broker('big', { metadata: { name: 'big', annotations: { pad: 'x'.repeat(2048) } } });
    expectStatus(await small.client.post(brokers(), big), 413, 'RequestEntityTooLarge');
    expectStatus(await small.client.get(brokers('big')), 404, 'NotFound');
    expect((await small.client.post(brokers(), broker('fits'))).status).toBe(201);
  });
});

describe('get', () => {
  it('answers 404 with a NotFound Status', async () => {
    const res = await client.get(brokers('x'));
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `clusterservicebrokers.${GROUP} "x" not found`,
      reason: 'NotFound',
      details: { name: 'x', group: GROUP, kind: 'clusterservicebrokers' },
      code: 404,
    });
  });

  it('serves resourceVersion=0 from the cache', async () => {
    const name = unique('get-rv0');
    const created = await createBroker(name);
    const got = await eventually(async () => {
      const res = await client.get(`${brokers(name)}?resourceVersion=0`);
      return res.status === 200 && res;
    });
    expect(got.body).toEqual(created);
    expectStatus(await client.get(`${brokers('absent')}?resourceVersion=0`), 404, 'NotFound');
  });

  it('serves a resourceVersion at least as new as asked', async () => {
    const name = unique('get-rv');
    const created = await createBroker(name);
    const res = await client.get(`${brokers(name)}?resourceVersion=${created.metadata.resourceVersion}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created);
  });

  it('answers 404 for paths that name no resource', async () => {
    expectStatus(await client.get(`${API}/widgets`), 404, 'NotFound');
    expectStatus(await client.get(`/apis/${GROUP}/v9/clusterservicebrokers`), 404, 'NotFound');
    expectStatus(await client.get(`${API}/namespaces/default/clusterservicebrokers`), 404, 'NotFound');
    expectStatus(await client.get(`${brokers('x')}/bogus`), 404, 'NotFound');
  });

  it('answers 405 for POST on an item', async () => {
    const name = unique('get-405');
    await createBroker(name);
    expectStatus(await client.post(brokers(name), broker(name)), 405, 'MethodNotAllowed');
    expectStatus(await client.req('DELETE', `${brokers(name)}/status`), 405, 'MethodNotAllowed');
  });

  it('answers 406 when only protobuf is acceptable, JSON when JSON is also acceptable', async () => {
    const name = unique('get-406');
    await createBroker(name);
    expectStatus(
      await client.get(brokers(name), { accept: 'application/vnd.kubernetes.protobuf' }),
      406,
      'NotAcceptable',
    );
    const res = await client.get(brokers(name), {
      accept: 'application/vnd.kubernetes.protobuf, application/json',
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.metadata.name).toBe(name);
  });
});

describe('update', () => {
  it('answers 409 Conflict for a stale resourceVersion', async () => {
    const name = unique('upd-stale');
    const v1 = await createBroker(name);
    const v2 = await client.put(brokers(name), { ...v1, metadata: { ...v1.metadata, labels: { n: '2' } } });
    expect(v2.status).toBe(200);
    const s = expectStatus(
      await client.put(brokers(name), { ...v1, metadata: { ...v1.metadata, labels: { n: '3' } } }),
      409,
      'Conflict',
    );
    expect(s.message).toContain(`clusterservicebrokers.${GROUP} "${name}"`);
    expect(s.details).toMatchObject({ name, group: GROUP, kind: 'clusterservicebrokers' });
    expect((await client.get(brokers(name))).body.metadata.labels).toEqual({ n: '2' });
  });

  it('answers 404 for an object that does not exist', async () => {
    const name = unique('upd-absent');
    expectStatus(await client.put(brokers(name), broker(name)), 404, 'NotFound');
  });

  it('ignores status changes made through the main resource', async () => {
    const name = unique('upd-status');
    const v1 = await createBroker(name);
    const res = await client.put(brokers(name), { ...v1, status: { reconciledGeneration: 9 } });
    expect(res.status).toBe(200);
    expect(res.body.status ?? {}).toEqual({});
    expect((await client.get(brokers(name))).body.status ?? {}).toEqual({});
  });

  it('bumps generation on a spec change only', async () => {
    const name = unique('upd-gen');
    const v1 = await createBroker(name);
    const meta = await client.put(brokers(name), {
      ...v1,
      metadata: { ...v1.metadata, annotations: { x: 'y' } },
    });
    expect(meta.status).toBe(200);
    expect(meta.body.metadata.generation).toBe(1);
    expect(meta.body.metadata.resourceVersion).not.toBe(v1.metadata.resourceVersion);

    const spec = await client.put(brokers(name), {
      ...meta.body,
      spec: { url: 'https://changed.example.com' },
    });
    expect(spec.status).toBe(200);
    expect(spec.body.metadata.generation).toBe(2);
    expect(spec.body.spec).toMatchObject({ url: 'https://changed.example.com' });
  });

  it('keeps server-owned metadata on update', async () => {
    const name = unique('upd-owned');
    const v1 = await createBroker(name);
    const res = await client.put(brokers(name), {
      ...v1,
      metadata: { ...v1.metadata, generation: 40, creationTimestamp: '2001-01-01T00:00:00Z' },
    });
    expect(res.status).toBe(200);
    expect(res.body.metadata).toMatchObject({
      uid: v1.metadata.uid,
      generation: 1,
      creationTimestamp: v1.metadata.creationTimestamp,
    });
  });

  it('answers 409 for a uid that is not the object’s', async () => {
    const name = unique('upd-uid');
    const v1 = await createBroker(name);
    expectStatus(
      await client.put(brokers(name), { ...v1, metadata: { ...v1.metadata, uid: 'other' } }),
      409,
      'Conflict',
    );
  });

  it('changes only status through PUT /status', async () => {
    const name = unique('upd-substatus');
    const v1 = await createBroker(name);
    const res = await client.put(`${brokers(name)}/status`, {
      ...v1,
      metadata: { ...v1.metadata, labels: { sneaky: 'yes' } },
      spec: { url: 'https://sneaky.example.com' },
      status: { reconciledGeneration: 1 },
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toEqual({ reconciledGeneration: 1 });
    expect(res.body.spec).toEqual(v1.spec);
    expect(res.body.metadata.labels).toBeUndefined();
    expect(res.body.metadata.generation).toBe(1);

    const got = await client.get(`${brokers(name)}/status`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
  });

  it('changes only status through a merge PATCH of /status', async () => {
    const ns = unique('ns');
    const v1 = await createInstance(ns, 'si');
    const res = await client.patch(
      `${instances(ns, 'si')}/status`,
      { spec: { clusterServicePlanExternalName: 'large' }, status: { provisionStatus: 'Provisioned' } },
      MERGE,
    );
    expect(res.status).toBe(200);
    expect(res.body.status).toEqual({ ...(v1.status as object), provisionStatus: 'Provisioned' });
    expect(res.body.spec).toEqual(v1.spec);
    expect(res.body.metadata.generation).toBe(1);
  });

  it('validates status writes against the schema', async () => {
    const name = unique('upd-badstatus');
    await createBroker(name);
    const s = expectStatus(
      await client.patch(`${brokers(name)}/status`, { status: { reconciledGeneration: 'x' } }, MERGE),
      422,
      'Invalid',
    );
    expect(causeFields(s)).toEqual(['status.reconciledGeneration']);
  });

  it('answers 400 when the body names another object', async () => {
    const name = unique('upd-name');
    const v1 = await createBroker(name);
    const s = expectStatus(
      await client.put(brokers(name), { ...v1, metadata: { ...v1.metadata, name: 'other' } }),
      400,
      'BadRequest',
    );
    expect(s.message).toContain('does not match the name on the URL');
  });
});

describe('patch', () => {
  it('applies a JSON patch', async () => {
    const name = unique('p-json');
    await createBroker(name, { metadata: { name, labels: { a: '1' } } });
    const res = await client.patch(
      brokers(name),
      [
        { op: 'test', path: '/metadata/labels/a', value: '1' },
        { op: 'add', path: '/metadata/labels/b', value: '2' },
        { op: 'replace', path: '/spec/url', value: 'https://json.example.com' },
      ],
      JSON_PATCH,
    );
    expect(res.status).toBe(200);
    expect(res.body.metadata.labels).toEqual({ a: '1', b: '2' });
    expect(res.body.spec).toMatchObject({ url: 'https://json.example.com' });
    expect(res.body.metadata.generation).toBe(2);
  });

  it('applies a merge patch', async () => {
    const name = unique('p-merge');
    await createBroker(name, { metadata: { name, labels: { a: '1', b: '2' } } });
    const res = await client.patch(
      brokers(name),
      { metadata: { labels: { a: null, c: '3' } }, spec: { relistBehavior: 'Manual' } },
      MERGE,
    );
    expect(res.status).toBe(200);
    expect(res.body.metadata.labels).toEqual({ b: '2', c: '3' });
    expect(res.body.spec).toMatchObject({ url: `https://${name}.example.com`, relistBehavior: 'Manual' });
  });

  it('applies a strategic merge patch', async () => {
    const name = unique('p-smp');
    await createBroker(name, { metadata: { name, labels: { a: '1' } } });
    const res = await client.patch(
      brokers(name),
      { metadata: { labels: { b: '2' } }, spec: { insecureSkipTLSVerify: true } },
      STRATEGIC,
    );
    expect(res.status).toBe(200);
    expect(res.body.metadata.labels).toEqual({ a: '1', b: '2' });
    expect(res.body.spec).toMatchObject({ insecureSkipTLSVerify: true });
  });

  it('answers 422 when a JSON patch test fails, and changes nothing', async () => {
    const name = unique('p-test');
    const v1 = await createBroker(name, { metadata: { name, labels: { a: '1' } } });
    const s = expectStatus(
      await client.patch(
        brokers(name),
        [
          { op: 'add', path: '/metadata/labels/b', value: '2' },
          { op: 'test', path: '/metadata/labels/a', value: 'nope' },
        ],
        JSON_PATCH,
      ),
      422,
      'Invalid',
    );
    expect(s.message).toContain('test');
    expect((await client.get(brokers(name))).body).toEqual(v1);
  });

  it('answers 422 when the patched object is invalid', async () => {
    const name = unique('p-invalid');
    await createBroker(name);
    const s = expectStatus(await client.patch(brokers(name), { spec: { url: 5 } }, MERGE), 422, 'Invalid');
    expect(causeFields(s)).toEqual(['spec.url']);
  });

  it('answers 400 for a malformed patch body', async () => {
    const name = unique('p-malformed');
    await createBroker(name);
    expectStatus(await client.patch(brokers(name), '{"spec": ', MERGE), 400, 'BadRequest');
    expectStatus(await client.patch(brokers(name), { op: 'add' }, JSON_PATCH), 400, 'BadRequest');
    expectStatus(
      await client.patch(brokers(name), [{ op: 'frobnicate', path: '/spec' }], JSON_PATCH),
      400,
      'BadRequest',
    );
    expectStatus(await client.patch(brokers(name), '"just a string"', MERGE), 400, 'BadRequest');
  });

  it('answers 415 for a content type that is not a patch type', async () => {
    const name = unique('p-415');
    await createBroker(name);
    expectStatus(
      await client.patch(brokers(name), { spec: {} }, 'application/json'),
      415,
      'UnsupportedMediaType',
    );
    expectStatus(await client.patch(brokers(name), 'x: y', 'text/plain'), 415, 'UnsupportedMediaType');
  });

  it('answers 409 for a patch carrying a stale resourceVersion', async () => {
    const name = unique('p-stale');
    const v1 = await createBroker(name);
    await client.patch(brokers(name), { metadata: { labels: { n: '1' } } }, MERGE);
    const stale = { metadata: { resourceVersion: v1.metadata.resourceVersion, labels: { n: '2' } } };
    expectStatus(await client.patch(brokers(name), stale, MERGE), 409, 'Conflict');
    expect((await client.get(brokers(name))).body.metadata.labels).toEqual({ n: '1' });
  });

  it('answers 404 for an object that does not exist', async () => {
    expectStatus(await client.patch(brokers(unique('p-absent')), { spec: {} }, MERGE), 404, 'NotFound');
  });
});

describe('concurrent writers', () => {
  const N = 32;
  let clients: Client[];
  beforeAll(() => {
    clients = Array.from({ length: N }, () => new Client(env.base, env.cert.ca));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  it('loses no update when 32 clients read-modify-write with retry on 409', async () => {
    const name = unique('race-put');
    await createBroker(name);
    let conflicts = 0;
    await Promise.all(
      clients.map(async (c, i) => {
        for (let attempt = 0; ; attempt++) {
          if (attempt > 200) throw new Error(`client ${i} never got its update in`);
          const cur = await c.get(brokers(name));
          expect(cur.status).toBe(200);
          const next = {
            ...cur.body,
            metadata: {
              ...cur.body.metadata,
              labels: { ...cur.body.metadata.labels, [`client-${i}`]: 'yes' },
            },
          };
          const res = await c.put(brokers(name), next);
          if (res.status === 200) return;
          expectStatus(res, 409, 'Conflict');
          conflicts++;
        }
      }),
    );
    const final = await client.get(brokers(name));
    expect(Object.keys(final.body.metadata.labels ?? {}).sort()).toEqual(
      Array.from({ length: N }, (_, i) => `client-${i}`).sort(),
    );
    expect(final.body.metadata.generation).toBe(1);
    // the race is real: with 32 writers at least one must have lost a round
    expect(conflicts).toBeGreaterThan(0);
  });

  it('loses no label when 32 clients merge-patch at once', async () => {
    const name = unique('race-patch');
    await createBroker(name);
    const results = await Promise.all(
      clients.map((c, i) =>
        c.patch(brokers(name), { metadata: { labels: { [`client-${i}`]: 'yes' } } }, MERGE),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(N).fill(200));
    const final = await client.get(brokers(name));
    expect(Object.keys(final.body.metadata.labels ?? {}).sort()).toEqual(
      Array.from({ length: N }, (_, i) => `client-${i}`).sort(),
    );
  });
});

describe('delete', () => {
  // classes: a kind whose strategy adds no finalizer of its own
  it('removes an object without finalizers at once', async () => {
    const name = unique('del');
    await createClusterClass(name);
    const res = await client.delete(clusterClasses(name));
    expect(res.status).toBe(200);
    expectStatus(await client.get(clusterClasses(name)), 404, 'NotFound');
    expectStatus(await client.delete(clusterClasses(name)), 404, 'NotFound');
  });

  it('marks an object with finalizers and deletes it when the last finalizer goes', async () => {
    const name = unique('del-fin');
    await createClusterClass(name, { metadata: { name, finalizers: ['example.com/a', 'example.com/b'] } });
    const res = await client.delete(clusterClasses(name));
    expect(res.status).toBe(200);
    expect(res.body.metadata.deletionTimestamp).toBeDefined();

    const marked = await client.get(clusterClasses(name));
    expect(marked.status).toBe(200);
    expect(marked.body.metadata.deletionTimestamp).toBe(res.body.metadata.deletionTimestamp);
    expect(marked.body.metadata.generation).toBe(2);
    expect(marked.body.metadata.finalizers).toEqual(['example.com/a', 'example.com/b']);

    // a second delete changes nothing
    const again = await client.delete(clusterClasses(name));
    expect(again.status).toBe(200);
    expect((await client.get(clusterClasses(name))).body).toEqual(marked.body);

    const one = await client.patch(
      clusterClasses(name),
      [{ op: 'remove', path: '/metadata/finalizers/0' }],
      JSON_PATCH,
    );
    expect(one.status).toBe(200);
    expect((await client.get(clusterClasses(name))).body.metadata.finalizers).toEqual(['example.com/b']);

    const last = await client.patch(clusterClasses(name), { metadata: { finalizers: null } }, MERGE);
    expect(last.status).toBe(200);
    expectStatus(await client.get(clusterClasses(name)), 404, 'NotFound');
  });

  it('keeps a broker, whose strategy adds the catalog finalizer, until that finalizer goes', async () => {
    const name = unique('del-broker');
    const v1 = await createBroker(name);
    expect(v1.metadata.finalizers).toEqual([CATALOG_FINALIZER]);
    expect((await client.delete(brokers(name))).status).toBe(200);
    expect((await client.get(brokers(name))).body.metadata.deletionTimestamp).toBeDefined();
    expect((await client.patch(brokers(name), { metadata: { finalizers: [] } }, MERGE)).status).toBe(200);
    expectStatus(await client.get(brokers(name)), 404, 'NotFound');
  });

  it('answers 422 for a new finalizer on an object being deleted', async () => {
    const name = unique('del-addfin');
    await createClusterClass(name, { metadata: { name, finalizers: ['example.com/a'] } });
    expect((await client.delete(clusterClasses(name))).status).toBe(200);
    const s = expectStatus(
      await client.patch(
        clusterClasses(name),
        { metadata: { finalizers: ['example.com/a', 'example.com/new'] } },
        MERGE,
      ),
      422,
      'Invalid',
    );
    expect(causeFields(s)).toEqual(['metadata.finalizers']);
    expect((await client.get(clusterClasses(name))).body.metadata.finalizers).toEqual(['example.com/a']);
  });

  it('answers 409 when the uid precondition does not hold', async () => {
    const name = unique('del-pre');
    const v1 = await createClusterClass(name);
    const s = expectStatus(
      await client.delete(clusterClasses(name), {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        preconditions: { uid: 'not-it' },
      }),
      409,
      'Conflict',
    );
    expect(s.message).toContain('Precondition failed');
    expect((await client.get(clusterClasses(name))).status).toBe(200);
    const ok = await client.delete(clusterClasses(name), { preconditions: { uid: v1.metadata.uid } });
    expect(ok.status).toBe(200);
    expectStatus(await client.get(clusterClasses(name)), 404, 'NotFound');
  });

  it('answers 409 when the resourceVersion precondition does not hold', async () => {
    const name = unique('del-prerv');
    const v1 = await createClusterClass(name);
    await client.patch(clusterClasses(name), { metadata: { labels: { x: 'y' } } }, MERGE);
    expectStatus(
      await client.delete(clusterClasses(name), {
        preconditions: { resourceVersion: v1.metadata.resourceVersion },
      }),
      409,
      'Conflict',
    );
    expect((await client.get(clusterClasses(name))).status).toBe(200);
  });

  it('leaves the object with dryRun', async () => {
    const name = unique('del-dry');
    const v1 = await createClusterClass(name);
    expect((await client.delete(`${clusterClasses(name)}?dryRun=All`)).status).toBe(200);
    expect((await client.delete(clusterClasses(name), { dryRun: ['All'] })).status).toBe(200);
    expect((await client.get(clusterClasses(name))).body).toEqual(v1);
  });

  it('deletes only the matching objects of a collection', async () => {
    const ns = unique('ns');
    const other = unique('ns');
    for (const n of ['a', 'b'])
      await createClass(ns, n, { metadata: { name: n, labels: { doomed: 'yes' } } });
    await createClass(ns, 'c', { metadata: { name: 'c', labels: { doomed: 'no' } } });
    await createClass(other, 'a', { metadata: { name: 'a', labels: { doomed: 'yes' } } });

    const res = await client.delete<List>(`${classes(ns)}?labelSelector=doomed%3Dyes`);
    expect(res.status).toBe(200);
    expect(names(res.body)).toEqual(['a', 'b']);
    expect(names(await list(classes(ns)))).toEqual(['c']);
    expect(names(await list(classes(other)))).toEqual(['a']);
  });

  it('refuses deletecollection of a namespaced kind across all namespaces', async () => {
    const ns = unique('ns');
    await createClass(ns, 'keep');
    expectStatus(await client.delete(classes()), 405, 'MethodNotAllowed');
    expect(names(await list(classes(ns)))).toEqual(['keep']);
  });
});

describe('list', () => {
  const nsA = unique('list-a');
  const nsB = unique('list-b');
  const mark = unique('mark');

  beforeAll(async () => {
    await createInstance(nsA, 'one', {
      metadata: { name: 'one', labels: { suite: mark, env: 'prod', tier: 'web' } },
    });
    await createInstance(nsA, 'two', { metadata: { name: 'two', labels: { suite: mark, env: 'dev' } } });
    await createInstance(nsB, 'three', {
      metadata: { name: 'three', labels: { suite: mark, env: 'staging', tier: 'db' } },
    });
    await createInstance(nsB, 'four', { metadata: { name: 'four', labels: { suite: mark } } });
  });

  const select = async (selector: string, ns?: string) =>
    names(
      await list(
        `${instances(ns)}?labelSelector=${encodeURIComponent(`suite=${mark}${selector ? `,${selector}` : ''}`)}`,
      ),
    );

  it('lists across namespaces and within one', async () => {
    const all = await list(`${instances()}?labelSelector=suite%3D${mark}`);
    expect(all).toMatchObject({ kind: 'ServiceInstanceList', apiVersion: GV });
    expect(all.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(names(all)).toEqual(['four', 'one', 'three', 'two']);
    expect(names(await list(instances(nsA)))).toEqual(['one', 'two']);
    expect(names(await list(instances(nsB)))).toEqual(['four', 'three']);
    expect((await list(instances(unique('empty')))).items).toEqual([]);
  });

  it.each([
    ['env=prod', ['one']],
    ['env==prod', ['one']],
    ['env!=prod', ['four', 'three', 'two']],
    ['env in (prod,staging)', ['one', 'three']],
    ['env notin (prod,staging)', ['four', 'two']],
    ['tier', ['one', 'three']],
    ['!tier', ['four', 'two']],
    ['env,!tier', ['two']],
  ])('selects labels with %s', async (selector, expected) => {
    expect(await select(selector)).toEqual(expected);
  });

  it('combines a label selector with a namespace', async () => {
    expect(await select('env', nsA)).toEqual(['one', 'two']);
  });

  it.each(['env in (prod', 'env=a b', '!=x', 'Bad Key=1'])(
    'answers 400 for the bad label selector %j',
    async (selector) => {
      expectStatus(
        await client.get(`${instances()}?labelSelector=${encodeURIComponent(selector)}`),
        400,
        'BadRequest',
      );
    },
  );

  it('selects by metadata.name and metadata.namespace', async () => {
    expect(names(await list(`${instances()}?fieldSelector=metadata.name%3Done`))).toEqual(['one']);
    expect(names(await list(`${instances()}?fieldSelector=metadata.namespace%3D${nsB}`))).toEqual([
      'four',
      'three',
    ]);
    expect(names(await list(`${instances(nsA)}?fieldSelector=metadata.name!%3Done`))).toEqual(['two']);
    const broker = unique('fs');
    await createBroker(broker);
    expect(names(await list(`${brokers()}?fieldSelector=metadata.name%3D${broker}`))).toEqual([broker]);
  });

  it('answers 400 for an unknown field selector', async () => {
    const s = expectStatus(
      await client.get(`${instances()}?fieldSelector=spec.bogus%3Dx`),
      400,
      'BadRequest',
    );
    expect(s.message).toContain('spec.bogus');
  });

  it('serves resourceVersion=0 lists', async () => {
    const res = await eventually(async () => {
      const l = await list(`${instances(nsA)}?resourceVersion=0`);
      return l.items.length === 2 && l;
    });
    expect(names(res)).toEqual(['one', 'two']);
  });

  describe('paging', () => {
    const ns = unique('paged');
    beforeAll(async () => {
      for (let i = 0; i < 25; i++) await createInstance(ns, `obj-${String(i).padStart(2, '0')}`);
    });

    it('returns every object exactly once, at one resourceVersion', async () => {
      const first = await list(`${instances(ns)}?limit=7`);
      expect(first.items).toHaveLength(7);
      expect(first.metadata.continue).toBeTruthy();
      expect(first.metadata.remainingItemCount).toBe(18);
      const rv = first.metadata.resourceVersion;

      // written after the first page: must not show up in later pages of the same list
      await createInstance(ns, 'obj-99-late');
      await client.patch(instances(ns, 'obj-20'), { metadata: { labels: { changed: 'later' } } }, MERGE);
      await client.delete(instances(ns, 'obj-21'));

      const seen = [...first.items];
      let cont = first.metadata.continue;
      let pages = 1;
      while (cont) {
        const page = await list(`${instances(ns)}?limit=7&continue=${encodeURIComponent(cont)}`);
        expect(page.metadata.resourceVersion).toBe(rv);
        expect(page.items.length).toBeLessThanOrEqual(7);
        seen.push(...page.items);
        cont = page.metadata.continue;
        pages++;
        if (cont) expect(page.metadata.remainingItemCount).toBe(25 - seen.length);
      }
      expect(pages).toBe(4);
      const seenNames = seen.map((o) => o.metadata.name);
      expect(seenNames).toEqual(Array.from({ length: 25 }, (_, i) => `obj-${String(i).padStart(2, '0')}`));
      expect(seen.find((o) => o.metadata.name === 'obj-20')?.metadata.labels).toBeUndefined();
      expect(seen.every((o) => Number(o.metadata.resourceVersion) <= Number(rv))).toBe(true);
    });

    it('pages through a filtered list without remainingItemCount', async () => {
      const sel = `labelSelector=${encodeURIComponent('!absent')}`;
      const first = await list(`${instances(ns)}?limit=10&${sel}`);
      expect(first.items).toHaveLength(10);
      expect(first.metadata.remainingItemCount).toBeUndefined();
      const second = await list(
        `${instances(ns)}?limit=10&${sel}&continue=${encodeURIComponent(first.metadata.continue!)}`,
      );
      expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
      expect(names(second).some((n) => names(first).includes(n))).toBe(false);
    });

    it('answers a whole list when limit covers everything', async () => {
      const all = await list(`${instances(ns)}?limit=500`);
      expect(all.metadata.continue).toBeUndefined();
      expect(all.metadata.remainingItemCount).toBeUndefined();
    });
  });

  it.each(['garbage', Buffer.from('{"v":"meta.k8s.io/v1","rv":0,"start":"x"}').toString('base64url')])(
    'answers 400 for the invalid continue token %s',
    async (token) => {
      expectStatus(await client.get(`${instances()}?limit=1&continue=${token}`), 400, 'BadRequest');
    },
  );

  it('reads an old state with resourceVersionMatch=Exact', async () => {
    const name = unique('exact');
    const v1 = await createBroker(name, { metadata: { name, labels: { state: 'old' } } });
    await client.patch(brokers(name), { metadata: { labels: { state: 'new' } } }, MERGE);
    const old = await list(
      `${brokers()}?resourceVersion=${v1.metadata.resourceVersion}&resourceVersionMatch=Exact&fieldSelector=metadata.name%3D${name}`,
    );
    expect(old.metadata.resourceVersion).toBe(v1.metadata.resourceVersion);
    expect(old.items.map((o) => o.metadata.labels)).toEqual([{ state: 'old' }]);

    const before = await list(
      `${brokers()}?resourceVersion=${Number(v1.metadata.resourceVersion) - 1}&resourceVersionMatch=Exact&fieldSelector=metadata.name%3D${name}`,
    );
    expect(before.items).toEqual([]);

    const now = await list(
      `${brokers()}?resourceVersion=${v1.metadata.resourceVersion}&resourceVersionMatch=NotOlderThan&fieldSelector=metadata.name%3D${name}`,
    );
    expect(Number(now.metadata.resourceVersion)).toBeGreaterThan(Number(v1.metadata.resourceVersion));
    expect(now.items.map((o) => o.metadata.labels)).toEqual([{ state: 'new' }]);
  });

  it('answers 422 for resourceVersionMatch without resourceVersion', async () => {
    const s = expectStatus(await client.get(`${brokers()}?resourceVersionMatch=Exact`), 422, 'Invalid');
    expect(causeFields(s)).toContain('resourceVersionMatch');
    expectStatus(
      await client.get(`${brokers()}?resourceVersion=1&resourceVersionMatch=Sometimes`),
      422,
      'Invalid',
    );
    expectStatus(await client.get(`${brokers()}?limit=-1`), 422, 'Invalid');
  });

  it('answers 410 Expired for a continue token whose revision was compacted', async () => {
    const ns = unique('compact');
    for (let i = 0; i < 3; i++) await createInstance(ns, `c${i}`);
    const first = await list(`${instances(ns)}?limit=1`);
    expect(first.metadata.continue).toBeTruthy();
    await createInstance(ns, 'after');
    await env.storage.compact(await env.storage.currentRevision());
    const s = expectStatus(
      await client.get(`${instances(ns)}?limit=1&continue=${encodeURIComponent(first.metadata.continue!)}`),
      410,
      'Expired',
    );
    expect(s.message).toContain('continue');
    // a fresh list still works after compaction
    expect(names(await list(instances(ns)))).toEqual(['after', 'c0', 'c1', 'c2']);
  });
});

describe('tables and metadata-only representations', () => {
  const mark = unique('tbl');
  const tableOf = async (path: string, accept = TABLE_V1) => {
    const res = await client.get<Table>(path, { accept });
    expect(res.status).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    await createBroker(`${mark}-x`, {
      metadata: { name: `${mark}-x`, labels: { tbl: mark } },
      spec: { url: 'https://x.example.com', relistBehavior: 'Manual' },
    });
    await createBroker(`${mark}-y`, { metadata: { name: `${mark}-y`, labels: { tbl: mark } } });
  });

  it('serves a Table of a list: Name, the kind’s columns, Age, then the wide columns', async () => {
    const t = await tableOf(`${brokers()}?labelSelector=tbl%3D${mark}`);
    expect(t).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    expect(t.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(t.columnDefinitions.map((c) => c.name)).toEqual([
      'Name',
      'URL',
      'STATUS',
      'Age',
      'RELIST-BEHAVIOR',
    ]);
    expect(t.columnDefinitions.map((c) => c.priority)).toEqual([0, 0, 0, 0, 1]);
    expect(t.rows).toHaveLength(2);
    const row = t.rows.find((r) => r.cells[0] === `${mark}-x`)!;
    expect(row.cells).toHaveLength(5);
    expect(row.cells[1]).toBe('https://x.example.com');
    expect(row.cells[3]).toMatch(/^\d+s$/);
    expect(row.cells[4]).toBe('Manual');
    // the default includeObject is Metadata
    expect(row.object).toMatchObject({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { name: `${mark}-x` },
    });
    expect(row.object).not.toHaveProperty('spec');
  });

  it('serves a Table of one object', async () => {
    const t = await tableOf(brokers(`${mark}-y`));
    expect(t.kind).toBe('Table');
    expect(t.rows.map((r) => r.cells[0])).toEqual([`${mark}-y`]);
  });

  it('honours includeObject', async () => {
    const base = `${brokers()}?labelSelector=tbl%3D${mark}`;
    const full = await tableOf(`${base}&includeObject=Object`);
    expect(full.rows[0].object).toMatchObject({ kind: 'ClusterServiceBroker', apiVersion: GV, spec: {} });
    const none = await tableOf(`${base}&includeObject=None`);
    expect(none.rows.every((r) => r.object === undefined)).toBe(true);
    const meta = await tableOf(`${base}&includeObject=Metadata`);
    expect(meta.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata' });
    expectStatus(await client.get(`${base}&includeObject=All`, { accept: TABLE_V1 }), 400, 'BadRequest');
  });

  it('serves meta.k8s.io/v1beta1 Tables and falls back in Accept order', async () => {
    const t = await tableOf(brokers(`${mark}-x`), 'application/json;as=Table;v=v1beta1;g=meta.k8s.io');
    expect(t).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1beta1' });
    // what kubectl get sends
    const kubectl = await tableOf(
      brokers(`${mark}-x`),
      `${TABLE_V1},application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json`,
    );
    expect(kubectl.apiVersion).toBe('meta.k8s.io/v1');
  });

  it('serves a Table of a namespaced kind', async () => {
    const ns = unique('ns');
    await createInstance(ns, 'si');
    const t = await tableOf(instances(ns));
    const cols = t.columnDefinitions.map((c) => c.name);
    expect(cols[0]).toBe('Name');
    expect(cols).toContain('CLASS');
    // as kube's printers order them: every column after Age is a wide (priority 1) one
    const age = cols.indexOf('Age');
    expect(t.columnDefinitions.slice(0, age).every((c) => c.priority === 0)).toBe(true);
    expect(t.columnDefinitions.slice(age + 1).every((c) => c.priority === 1)).toBe(true);
    expect(t.rows[0].cells).toHaveLength(cols.length);
  });

  it('serves PartialObjectMetadataList and PartialObjectMetadata', async () => {
    const l = await list(`${brokers()}?labelSelector=tbl%3D${mark}`, {
      accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
    });
    expect(l).toMatchObject({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1' });
    expect(l.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(names(l)).toEqual([`${mark}-x`, `${mark}-y`]);
    for (const item of l.items) {
      expect(item).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1' });
      expect(item).not.toHaveProperty('spec');
    }
    const one = await client.get(brokers(`${mark}-x`), {
      accept: 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io',
    });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { name: `${mark}-x` },
    });
    expect(one.body).not.toHaveProperty('spec');
  });
});

describe('unknown fields', () => {
  const withUnknown = (name: string) => ({
    ...broker(name),
    spec: { url: 'https://u.example.com', bogus: 1 },
    extra: true,
  });
  const expectPruned = (obj: KubeObject) => {
    expect(obj.spec).toMatchObject({ url: 'https://u.example.com' });
    expect(obj.spec).not.toHaveProperty('bogus');
    expect(obj).not.toHaveProperty('extra');
  };

  it('warns by default, creates, and does not store the field', async () => {
    const name = unique('warn');
    const res = await client.post(brokers(), withUnknown(name));
    expect(res.status).toBe(201);
    // one Warning header per unknown field
    expect(warnings(res)).toEqual([
      '299 - "unknown field \\"extra\\""',
      '299 - "unknown field \\"spec.bogus\\""',
    ]);
    expectPruned(res.body);
    expectPruned((await client.get(brokers(name))).body);
  });

  it('warns on update and patch too', async () => {
    const name = unique('warn-upd');
    const v1 = await createBroker(name);
    const put = await client.put(brokers(name), { ...v1, spec: { url: 'https://a.example.com', nope: 1 } });
    expect(put.status).toBe(200);
    expect(warnings(put).join()).toContain('spec.nope');
    const patch = await client.patch(brokers(name), { spec: { nada: 1 } }, MERGE);
    expect(patch.status).toBe(200);
    expect(warnings(patch).join()).toContain('spec.nada');
    const got = (await client.get(brokers(name))).body;
    expect(got.spec).toMatchObject({ url: 'https://a.example.com' });
    expect(got.spec).not.toHaveProperty('nope');
    expect(got.spec).not.toHaveProperty('nada');
  });

  it('refuses with fieldValidation=Strict', async () => {
    const name = unique('strict');
    const s = expectStatus(
      await client.post(`${brokers()}?fieldValidation=Strict`, withUnknown(name)),
      400,
      'BadRequest',
    );
    expect(s.message).toContain('spec.bogus');
    expectStatus(await client.get(brokers(name)), 404, 'NotFound');
  });

  it('is silent with fieldValidation=Ignore', async () => {
    const name = unique('ignore');
    const res = await client.post(`${brokers()}?fieldValidation=Ignore`, withUnknown(name));
    expect(res.status).toBe(201);
    expect(warnings(res)).toEqual([]);
    expectPruned((await client.get(brokers(name))).body);
  });

  it('sends no warning for a fully known object', async () => {
    const res = await client.post(brokers(), broker(unique('clean')));
    expect(res.status).toBe(201);
    expect(warnings(res)).toEqual([]);
  });
});

describe('discovery, OpenAPI, health and metrics', () => {
  it('lists the group in /apis and /apis/<group>', async () => {
    const gv = { groupVersion: GV, version: 'v1beta1' };
    const apis = await client.get<{ kind: string; groups: Array<{ name: string }> }>('/apis');
    expect(apis.status).toBe(200);
    expect(apis.body.kind).toBe('APIGroupList');
    expect(apis.body.groups).toContainEqual({ name: GROUP, versions: [gv], preferredVersion: gv });

    const group = await client.get(`/apis/${GROUP}`);
    expect(group.status).toBe(200);
    expect(group.body).toMatchObject({
      kind: 'APIGroup',
      apiVersion: 'v1',
      name: GROUP,
      versions: [gv],
      preferredVersion: gv,
    });
  });

  it('describes every resource in /apis/<group>/<version>', async () => {
    interface APIResource {
      name: string;
      namespaced: boolean;
      kind: string;
      verbs: string[];
      shortNames?: string[];
      categories?: string[];
    }
    const res = await client.get<{ kind: string; groupVersion: string; resources: APIResource[] }>(API);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'APIResourceList', groupVersion: GV });
    const byName = new Map(res.body.resources.map((r) => [r.name, r]));
    expect(byName.get('clusterservicebrokers')).toMatchObject({
      namespaced: false,
      kind: 'ClusterServiceBroker',
      shortNames: ['csb'],
      categories: ['svcat'],
    });
    expect(byName.get('clusterservicebrokers')!.verbs.sort()).toEqual([
      'create',
      'delete',
      'deletecollection',
      'get',
      'list',
      'patch',
      'update',
      'watch',
    ]);
    expect(byName.get('clusterservicebrokers/status')).toMatchObject({
      namespaced: false,
      kind: 'ClusterServiceBroker',
    });
    expect(byName.get('clusterservicebrokers/status')!.verbs.sort()).toEqual(['get', 'patch', 'update']);
    expect(byName.get('serviceinstances')).toMatchObject({
      namespaced: true,
      kind: 'ServiceInstance',
      categories: ['all', 'svcat'],
    });
    expect(byName.get('serviceinstances/status')).toMatchObject({ namespaced: true });
    expect([...byName.keys()].filter((n) => !n.includes('/')).sort()).toEqual([
      'clusterservicebrokers',
      'clusterserviceclasses',
      'clusterserviceplans',
      'servicebindings',
      'servicebrokers',
      'serviceclasses',
      'serviceinstances',
      'serviceplans',
    ]);
  });

  it('serves /version', async () => {
    const res = await client.get('/version');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ major: '0', minor: '1', gitVersion: 'v0.1.0' });
  });

  it('serves OpenAPI v2 with group-version-kinds', async () => {
    type Def = {
      'x-kubernetes-group-version-kind'?: Array<{ group: string; version: string; kind: string }>;
    };
    const res = await client.get<{
      swagger: string;
      definitions: Record<string, Def>;
      paths: Record<string, unknown>;
    }>('/openapi/v2');
    expect(res.status).toBe(200);
    expect(res.body.swagger).toBe('2.0');
    const gvks = Object.values(res.body.definitions).flatMap(
      (d) => d['x-kubernetes-group-version-kind'] ?? [],
    );
    expect(gvks).toContainEqual({ group: GROUP, version: 'v1beta1', kind: 'ClusterServiceBroker' });
    expect(gvks).toContainEqual({ group: GROUP, version: 'v1beta1', kind: 'ServiceInstance' });
    expect(Object.keys(res.body.paths)).toContain(`${API}/clusterservicebrokers/{name}`);
  });

  it('serves OpenAPI v3 discovery and the group-version document', async () => {
    const disc = await client.get<{ paths: Record<string, { serverRelativeURL: string }> }>('/openapi/v3');
    expect(disc.status).toBe(200);
    const entry = disc.body.paths[`apis/${GV}`];
    expect(entry.serverRelativeURL).toMatch(new RegExp(`^/openapi/v3/apis/${GV}\\?hash=`));
    type Schema = { 'x-kubernetes-group-version-kind'?: Array<{ kind: string }> };
    const doc = await client.get<{ openapi: string; components: { schemas: Record<string, Schema> } }>(
      entry.serverRelativeURL,
    );
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    const kinds = Object.values(doc.body.components.schemas).flatMap((s) =>
      (s['x-kubernetes-group-version-kind'] ?? []).map((g) => g.kind),
    );
    expect(kinds).toContain('ClusterServiceBroker');
    expectStatus(await client.get(`/openapi/v3/apis/${GROUP}/v9`), 404, 'NotFound');
  });

  it.each(['/healthz', '/livez', '/readyz'])('answers ok on %s', async (path) => {
    const res = await client.get(path);
    expect(res.status).toBe(200);
    expect(res.text).toBe('ok');
  });

  it('exports request counters on /metrics', async () => {
    await client.get(brokers());
    const res = await client.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(
      /^apiserver_request_total\{verb="list",resource="clusterservicebrokers",code="200"\} \d+$/m,
    );
  });
});
