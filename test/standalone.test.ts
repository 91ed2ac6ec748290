import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { KubeObject, Status } from '../api-types/meta';
import { eventually, kubectl, startEnv, type Env, type KubectlResult, type Response } from './harness';

/**
 * Standalone mode (--standalone): the core kinds kubectl and client libraries need, served from the
 * same etcd by the same machinery, and the namespace lifecycle controller. Real kubectl, a real
 * @kubernetes/client-node informer, real etcd.
 */

const SC = '/apis/servicecatalog.k8s.io/v1beta1';
const namespaces = (name?: string, sub?: string) =>
  `/api/v1/namespaces${name ? `/${name}` : ''}${sub ? `/${sub}` : ''}`;
const core = (ns: string, resource: string, name?: string) =>
  `/api/v1/namespaces/${ns}/${resource}${name ? `/${name}` : ''}`;
const leases = (ns: string, name?: string) =>
  `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases${name ? `/${name}` : ''}`;
const instances = (ns: string, name?: string) =>
  `${SC}/namespaces/${ns}/serviceinstances${name ? `/${name}` : ''}`;

const MERGE = 'application/merge-patch+json';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

interface List<T = KubeObject> {
  kind: string;
  metadata: { resourceVersion?: string };
  items: T[];
}

let env: Env;
let kc: string;
let seq = 0;
/** A name no other test uses, so tests sharing one server never collide. */
const unique = (prefix: string) => `${prefix}-${++seq}`;

beforeAll(async () => {
  env = await startEnv({ standalone: true, namespaceResyncMs: 200 });
  kc = env.kubeconfig();
});

afterAll(async () => {
  await env?.stop();
});

/** Runs kubectl and returns its stdout; fails with everything kubectl printed unless it exits 0. */
async function ok(args: string[], stdin?: string): Promise<string> {
  const r: KubectlResult = await kubectl(kc, args, stdin);
  if (r.code !== 0) {
    throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r.stdout;
}

function expectStatus(res: Response<unknown>, code: number, reason: string): Status {
  expect({ code: res.status, body: res.body }).toMatchObject({
    code,
    body: { kind: 'Status', code, reason },
  });
  return res.body as Status;
}

/** Creates a namespace through the API and returns it. */
async function createNamespace(name: string): Promise<KubeObject> {
  const res = await env.client.post(namespaces(), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
  });
  expect(res.status).toBe(201);
  return res.body;
}

const instance = (ns: string, name: string): KubeObject => ({
  apiVersion: 'servicecatalog.k8s.io/v1beta1',
  kind: 'ServiceInstance',
  metadata: { name, namespace: ns },
  spec: { clusterServiceClassExternalName: 'db', clusterServicePlanExternalName: 'small' },
});

/** Lines of a kubectl table split into cells on runs of two or more spaces. */
const rows = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s{2,}/));

describe('discovery', () => {
  test('kubectl api-resources lists the core kinds with kube short names', async () => {
    const out = await ok(['api-resources', '--no-headers']);
    const byName = new Map(rows(out).map((r) => [r[0], r]));
    expect(byName.get('namespaces')).toEqual(['namespaces', 'ns', 'v1', 'false', 'Namespace']);
    expect(byName.get('secrets')).toEqual(['secrets', 'v1', 'true', 'Secret']);
    expect(byName.get('configmaps')).toEqual(['configmaps', 'cm', 'v1', 'true', 'ConfigMap']);
    expect(byName.get('events')).toEqual(['events', 'ev', 'v1', 'true', 'Event']);
    expect(byName.get('leases')).toEqual(['leases', 'coordination.k8s.io/v1', 'true', 'Lease']);
    expect(byName.get('serviceinstances')?.[0]).toBe('serviceinstances');
  });

  test('the system namespaces exist and are Active', async () => {
    const out = await ok(['get', 'namespaces']);
    const table = rows(out);
    expect(table[0]).toEqual(['NAME', 'STATUS', 'AGE']);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      expect(table.find((r) => r[0] === ns)?.[1]).toBe('Active');
    }
  });
});

describe('namespaces', () => {
  test('kubectl create namespace: Active, the kubernetes finalizer, its name label', async () => {
    const name = unique('created');
    expect(await ok(['create', 'namespace', name])).toContain(`namespace/${name} created`);
    const ns = JSON.parse(await ok(['get', 'ns', name, '-o', 'json'])) as KubeObject;
    expect(ns).toMatchObject({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
    expect(ns.metadata.namespace).toBeUndefined();
  });

  test('a namespace URL names the namespace itself, with status and finalize subresources', async () => {
    const name = unique('urls');
    await createNamespace(name);
    const got = await env.client.get(namespaces(name));
    expect(got.status).toBe(200);
    expect(got.body.metadata.name).toBe(name);
    expect((await env.client.get(namespaces(name, 'status'))).body.status).toEqual({ phase: 'Active' });
    // a namespace update never changes spec.finalizers; /finalize does
    const updated = await env.client.put(namespaces(name), { ...got.body, spec: { finalizers: [] } });
    expect(updated.body.spec).toEqual({ finalizers: ['kubernetes'] });
    const finalized = await env.client.put(namespaces(name, 'finalize'), {
      ...updated.body,
      spec: { finalizers: ['example.com/keep'] },
    });
    expect(finalized.status).toBe(200);
    expect(finalized.body.spec).toEqual({ finalizers: ['example.com/keep'] });
    // an unqualified finalizer that kube does not define is refused
    const bad = await env.client.put(namespaces(name, 'finalize'), {
      ...finalized.body,
      spec: { finalizers: ['mine'] },
    });
    expect(expectStatus(bad, 422, 'Invalid').details?.causes?.[0]?.field).toBe('spec.finalizers[0]');
    expect((await env.client.get(namespaces('no-such-ns'))).status).toBe(404);
  });

  test('names must be DNS labels and phases follow deletion', async () => {
    expectStatus(await env.client.post(namespaces(), { metadata: { name: 'a.b' } }), 422, 'Invalid');
    const name = unique('phase');
    const ns = await createNamespace(name);
    const res = await env.client.put(namespaces(name, 'status'), { ...ns, status: { phase: 'Terminating' } });
    expectStatus(res, 422, 'Invalid');
  });

  test('kubectl get ns --field-selector status.phase', async () => {
    const name = unique('selected');
    await createNamespace(name);
    const out = await ok(['get', 'ns', '--field-selector', 'status.phase=Active', '-o', 'name']);
    expect(out).toContain(`namespace/${name}`);
    expect(
      await ok(['get', 'ns', '--field-selector', 'status.phase=Terminating', '-o', 'name']),
    ).not.toContain(name);
  });
});

describe('secrets', () => {
  test('kubectl create secret generic: data base64, type Opaque, kubectl get columns', async () => {
    const ns = unique('secrets');
    await createNamespace(ns);
    await ok([
      'create',
      'secret',
      'generic',
      's',
      '--from-literal=a=b',
      '--from-literal=user=admin',
      '-n',
      ns,
    ]);
    const secret = JSON.parse(await ok(['get', 'secret', 's', '-n', ns, '-o', 'json'])) as KubeObject;
    expect(secret).toMatchObject({ type: 'Opaque', data: { a: b64('b'), user: b64('admin') } });
    const table = rows(await ok(['get', 'secrets', '-n', ns]));
    expect(table[0]).toEqual(['NAME', 'TYPE', 'DATA', 'AGE']);
    expect(table[1].slice(0, 3)).toEqual(['s', 'Opaque', '2']);
  });

  test('stringData is merged into data and never stored', async () => {
    const ns = unique('stringdata');
    await createNamespace(ns);
    const created = await env.client.post(core(ns, 'secrets'), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      data: { keep: b64('kept'), over: b64('old') },
      stringData: { over: 'new', password: 'pä55' },
    });
    expect(created.status).toBe(201);
    expect(created.body.stringData).toBeUndefined();
    expect(created.body.data).toEqual({ keep: b64('kept'), over: b64('new'), password: b64('pä55') });
    // what etcd holds, not only what the API answers
    const stored = await env.storage
      .resource({ group: '', plural: 'secrets', namespaced: true })
      .get(ns, 'creds');
    expect(stored?.stringData).toBeUndefined();
    expect(stored?.data).toEqual(created.body.data);
    // on update and patch as well
    const patched = await env.client.patch(
      core(ns, 'secrets', 'creds'),
      { stringData: { keep: 'changed' } },
      MERGE,
    );
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({ keep: b64('changed') });
    expect(patched.body.stringData).toBeUndefined();
  });

  test('type is immutable, immutable secrets refuse data changes, typed secrets need their keys', async () => {
    const ns = unique('immutable');
    await createNamespace(ns);
    const created = await env.client.post(core(ns, 'secrets'), {
      metadata: { name: 'frozen' },
      data: { a: b64('1') },
      immutable: true,
    });
    expect(created.status).toBe(201);
    const changed = await env.client.patch(core(ns, 'secrets', 'frozen'), { data: { a: b64('2') } }, MERGE);
    expect(expectStatus(changed, 422, 'Invalid').details?.causes?.map((c) => c.field)).toEqual(['data']);
    const thawed = await env.client.patch(core(ns, 'secrets', 'frozen'), { immutable: false }, MERGE);
    expect(expectStatus(thawed, 422, 'Invalid').details?.causes?.map((c) => c.field)).toEqual(['immutable']);
    // metadata may still change
    expect(
      (await env.client.patch(core(ns, 'secrets', 'frozen'), { metadata: { labels: { a: 'b' } } }, MERGE))
        .status,
    ).toBe(200);
    const retyped = await env.client.patch(
      core(ns, 'secrets', 'frozen'),
      { type: 'kubernetes.io/tls' },
      MERGE,
    );
    expect(expectStatus(retyped, 422, 'Invalid').details?.causes?.map((c) => c.field)).toContain('type');

    const tls = await env.client.post(core(ns, 'secrets'), {
      metadata: { name: 'tls' },
      type: 'kubernetes.io/tls',
      data: {},
    });
    expect(expectStatus(tls, 422, 'Invalid').details?.causes?.map((c) => c.field)).toEqual([
      'data[tls.crt]',
      'data[tls.key]',
    ]);
    const badKey = await env.client.post(core(ns, 'secrets'), {
      metadata: { name: 'bad' },
      stringData: { 'a b': 'x' },
    });
    expect(expectStatus(badKey, 422, 'Invalid').details?.causes?.map((c) => c.field)).toEqual(['data[a b]']);
  });

  test('field selector on type', async () => {
    const ns = unique('types');
    await createNamespace(ns);
    await env.client.post(core(ns, 'secrets'), { metadata: { name: 'plain' }, stringData: { a: 'b' } });
    await env.client.post(core(ns, 'secrets'), {
      metadata: { name: 'basic' },
      type: 'kubernetes.io/basic-auth',
      stringData: { username: 'u', password: 'p' },
    });
    const out = await ok([
      'get',
      'secrets',
      '-n',
      ns,
      '--field-selector',
      'type=kubernetes.io/basic-auth',
      '-o',
      'name',
    ]);
    expect(out.trim()).toBe('secret/basic');
  });
});

describe('configmaps', () => {
  test('kubectl create configmap and get; immutable refuses data changes', async () => {
    const ns = unique('configmaps');
    await createNamespace(ns);
    await ok(['create', 'configmap', 'settings', '--from-literal=k=v', '--from-literal=x=y', '-n', ns]);
    const table = rows(await ok(['get', 'cm', '-n', ns]));
    expect(table[0]).toEqual(['NAME', 'DATA', 'AGE']);
    expect(table[1].slice(0, 2)).toEqual(['settings', '2']);
    const cm = JSON.parse(await ok(['get', 'configmap', 'settings', '-n', ns, '-o', 'json'])) as KubeObject;
    expect(cm.data).toEqual({ k: 'v', x: 'y' });

    const created = await env.client.post(core(ns, 'configmaps'), {
      metadata: { name: 'frozen' },
      data: { a: '1' },
      binaryData: { b: b64('\u0000\u0001') },
      immutable: true,
    });
    expect(created.status).toBe(201);
    const changed = await env.client.patch(
      core(ns, 'configmaps', 'frozen'),
      { binaryData: { b: b64('2') } },
      MERGE,
    );
    expect(expectStatus(changed, 422, 'Invalid').details?.causes?.map((c) => c.field)).toEqual([
      'binaryData',
    ]);
    const dup = await env.client.post(core(ns, 'configmaps'), {
      metadata: { name: 'dup' },
      data: { a: '1' },
      binaryData: { a: b64('1') },
    });
    expectStatus(dup, 422, 'Invalid');
  });
});

describe('protobuf request bodies', () => {
  test('kubectl sends built-in kinds as protobuf: binary data arrives intact', async () => {
    const ns = unique('proto');
    await createNamespace(ns);
    const dir = mkdtempSync(join(tmpdir(), 'standalone-'));
    try {
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      writeFileSync(join(dir, 'blob.bin'), bytes);
      writeFileSync(join(dir, 'text.txt'), 'héllo\n');
      await ok(['create', 'configmap', 'files', `--from-file=${dir}`, '-n', ns]);
      const cm = (await env.client.get(core(ns, 'configmaps', 'files'))).body;
      expect(cm.binaryData).toEqual({ 'blob.bin': bytes.toString('base64') });
      expect(cm.data).toEqual({ 'text.txt': 'héllo\n' });
      await ok(['create', 'secret', 'generic', 'files', `--from-file=${join(dir, 'blob.bin')}`, '-n', ns]);
      expect((await env.client.get(core(ns, 'secrets', 'files'))).body.data).toEqual({
        'blob.bin': bytes.toString('base64'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a kind without a protobuf message refuses protobuf (415); garbage is a 400', async () => {
    const ns = unique('protobad');
    await createNamespace(ns);
    const k8sPrefix = Buffer.from([0x6b, 0x38, 0x73, 0x00]).toString('latin1');
    const res = await env.client.req('POST', instances(ns), `${k8sPrefix}\u0012\u0000`, {
      'content-type': 'application/vnd.kubernetes.protobuf',
    });
    expectStatus(res, 415, 'UnsupportedMediaType');
    const garbage = await env.client.req('POST', core(ns, 'secrets'), 'not protobuf', {
      'content-type': 'application/vnd.kubernetes.protobuf',
    });
    expectStatus(garbage, 400, 'BadRequest');
  });
});

describe('events', () => {
  test('kubectl get events and kubectl describe of a servicecatalog object show an event made for it', async () => {
    const ns = unique('events');
    await createNamespace(ns);
    const inst = await env.client.post(instances(ns), instance(ns, 'db'));
    expect(inst.status).toBe(201);
    const event = await env.client.post(core(ns, 'events'), {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'db.provisioned' },
      involvedObject: {
        apiVersion: 'servicecatalog.k8s.io/v1beta1',
        kind: 'ServiceInstance',
        namespace: ns,
        name: 'db',
        uid: inst.body.metadata.uid,
        resourceVersion: inst.body.metadata.resourceVersion,
      },
      reason: 'ProvisionedSuccessfully',
      message: 'The instance was provisioned successfully',
      source: { component: 'service-catalog-controller-manager' },
      type: 'Normal',
    });
    expect(event.status).toBe(201);
    // count and both timestamps are defaulted
    expect(event.body).toMatchObject({ count: 1 });
    expect(event.body.firstTimestamp).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/));
    expect(event.body.lastTimestamp).toBe(event.body.firstTimestamp);

    // kube's columns, between the NAME and AGE every table of this server has
    const table = rows(await ok(['get', 'events', '-n', ns]));
    expect(table[0]).toEqual(['NAME', 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE', 'AGE']);
    expect(table[1].slice(0, 6)).toEqual([
      'db.provisioned',
      expect.stringMatching(/^\d+s$/),
      'Normal',
      'ProvisionedSuccessfully',
      'serviceinstance/db',
      'The instance was provisioned successfully',
    ]);

    const described = await ok(['describe', 'serviceinstance', 'db', '-n', ns]);
    const events = described.slice(described.indexOf('Events:'));
    expect(events).toMatch(/Type\s+Reason\s+Age\s+From\s+Message/);
    expect(events).toMatch(
      /Normal\s+ProvisionedSuccessfully\s+\S+\s+service-catalog-controller-manager\s+The instance was provisioned successfully/,
    );
  });

  test('every kube event field selector works, from etcd and from the watch cache', async () => {
    const ns = unique('evsel');
    await createNamespace(ns);
    const mk = (name: string, kind: string, reason: string, type: string) =>
      env.client.post(core(ns, 'events'), {
        metadata: { name },
        involvedObject: {
          kind,
          name: `${name}-obj`,
          namespace: ns,
          uid: `uid-${name}`,
          apiVersion: 'v1',
          fieldPath: 'spec',
        },
        reason,
        type,
        reportingComponent: 'tester',
      });
    expect((await mk('one', 'Secret', 'Made', 'Normal')).status).toBe(201);
    expect((await mk('two', 'ConfigMap', 'Broke', 'Warning')).status).toBe(201);
    const selectors: Array<[string, string[]]> = [
      ['involvedObject.kind=ConfigMap', ['two']],
      [`involvedObject.namespace=${ns}`, ['one', 'two']],
      ['involvedObject.name=one-obj', ['one']],
      ['involvedObject.uid=uid-two', ['two']],
      ['involvedObject.apiVersion=v1', ['one', 'two']],
      ['involvedObject.resourceVersion=', ['one', 'two']],
      ['involvedObject.fieldPath=spec', ['one', 'two']],
      ['reason=Made', ['one']],
      ['reportingComponent=tester', ['one', 'two']],
      ['source=tester', ['one', 'two']],
      ['type=Warning', ['two']],
    ];
    for (const [sel, want] of selectors) {
      for (const rv of ['', '&resourceVersion=0']) {
        const res = await env.client.get<List>(
          `${core(ns, 'events')}?fieldSelector=${encodeURIComponent(sel)}${rv}`,
        );
        expect({ sel, rv, names: res.body.items?.map((i) => i.metadata.name).sort() }).toEqual({
          sel,
          rv,
          names: want,
        });
      }
    }
  });

  test('an event for another namespace is refused', async () => {
    const ns = unique('evns');
    await createNamespace(ns);
    const res = await env.client.post(core(ns, 'events'), {
      metadata: { name: 'stray' },
      involvedObject: { kind: 'Secret', name: 'x', namespace: 'elsewhere' },
    });
    expect(expectStatus(res, 422, 'Invalid').details?.causes?.[0]?.field).toBe('involvedObject.namespace');
  });
});

describe('a @kubernetes/client-node informer', () => {
  /**
   * client-node is an ES module, which jest's CommonJS runtime cannot load, so the informer runs in
   * a real node process and reports what it sees as JSON lines.
   */
  const script = `
import { KubeConfig, CoreV1Api, makeInformer } from '@kubernetes/client-node';
const kc = new KubeConfig();
kc.loadFromFile(process.env.KC);
const api = kc.makeApiClient(CoreV1Api);
const ns = process.env.NS;
const informer = makeInformer(kc, '/api/v1/namespaces/' + ns + '/secrets', () => api.listNamespacedSecret({ namespace: ns }));
const say = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
for (const type of ['add', 'update', 'delete']) {
  informer.on(type, (obj) => say({ type, name: obj.metadata.name, data: obj.data, rv: obj.metadata.resourceVersion }));
}
informer.on('error', (err) => say({ type: 'error', message: String(err && err.message ? err.message : err) }));
await informer.start();
say({ type: 'started', cached: informer.list(ns).map((o) => o.metadata.name) });
`;

  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill();
  });

  test('lists, then sees ADD, UPDATE and DELETE of secrets', async () => {
    const ns = unique('informer');
    await createNamespace(ns);
    await env.client.post(core(ns, 'secrets'), { metadata: { name: 'before' }, stringData: { a: '1' } });

    const seen: Array<{
      type: string;
      name?: string;
      data?: Record<string, string>;
      cached?: string[];
      message?: string;
    }> = [];
    let stderr = '';
    child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: resolve(__dirname, '..'),
      env: { ...process.env, KC: kc, NS: ns },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        seen.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const saw = (pred: (e: (typeof seen)[number]) => boolean) =>
      eventually(async () => {
        if (child!.exitCode !== null) throw new Error(`informer exited ${child!.exitCode}: ${stderr}`);
        return seen.find(pred);
      }, 20_000).catch((e: Error) => {
        throw new Error(`${e.message}\nseen: ${JSON.stringify(seen)}\nstderr: ${stderr}`);
      });

    const started = await saw((e) => e.type === 'started');
    expect(started.cached).toEqual(['before']);
    expect(seen.find((e) => e.type === 'add' && e.name === 'before')).toBeDefined();

    await env.client.post(core(ns, 'secrets'), { metadata: { name: 'live' }, stringData: { k: 'v1' } });
    expect((await saw((e) => e.type === 'add' && e.name === 'live')).data).toEqual({ k: b64('v1') });
    await env.client.patch(core(ns, 'secrets', 'live'), { stringData: { k: 'v2' } }, MERGE);
    expect((await saw((e) => e.type === 'update' && e.name === 'live')).data).toEqual({ k: b64('v2') });
    await env.client.delete(core(ns, 'secrets', 'live'));
    await saw((e) => e.type === 'delete' && e.name === 'live');
    expect(seen.filter((e) => e.type === 'error')).toEqual([]);
  });
});

describe('leases', () => {
  test('create, get, update, list, delete; MicroTimes as kube writes them', async () => {
    const ns = unique('leases');
    await createNamespace(ns);
    const created = await env.client.post(leases(ns), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'leader' },
      spec: {
        holderIdentity: 'pod-a',
        leaseDurationSeconds: 15,
        acquireTime: '2024-05-01T10:00:00.123Z',
        renewTime: '2024-05-01T12:00:00.123456+02:00',
        leaseTransitions: 0,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.spec).toEqual({
      holderIdentity: 'pod-a',
      leaseDurationSeconds: 15,
      acquireTime: '2024-05-01T10:00:00.123000Z',
      renewTime: '2024-05-01T10:00:00.123456Z',
      leaseTransitions: 0,
    });
    const got = await env.client.get(leases(ns, 'leader'));
    expect(got.body).toEqual(created.body);

    const renewed = await env.client.put(leases(ns, 'leader'), {
      ...got.body,
      spec: {
        ...(got.body.spec as object),
        holderIdentity: 'pod-b',
        leaseTransitions: 1,
        renewTime: '2024-05-01T10:00:05.000001Z',
      },
    });
    expect(renewed.status).toBe(200);
    expect(renewed.body.spec).toMatchObject({ holderIdentity: 'pod-b', leaseTransitions: 1 });
    // a stale write loses
    const stale = await env.client.put(leases(ns, 'leader'), {
      ...got.body,
      spec: { holderIdentity: 'pod-c' },
    });
    expectStatus(stale, 409, 'Conflict');

    const table = rows(await ok(['get', 'leases', '-n', ns]));
    expect(table[0]).toEqual(['NAME', 'HOLDER', 'AGE']);
    expect(table[1].slice(0, 2)).toEqual(['leader', 'pod-b']);

    const bad = await env.client.post(leases(ns), {
      metadata: { name: 'bad' },
      spec: { leaseDurationSeconds: 0, preferredHolder: 'x' },
    });
    expect(expectStatus(bad, 422, 'Invalid').details?.causes?.map((c) => c.field)).toEqual([
      'spec.leaseDurationSeconds',
      'spec.preferredHolder',
    ]);

    expect((await env.client.delete(leases(ns, 'leader'))).status).toBe(200);
    expect((await env.client.get(leases(ns, 'leader'))).status).toBe(404);
    expect((await env.client.get<List>(leases(ns))).body.items).toEqual([]);
  });
});

describe('namespace deletion', () => {
  test('content goes, objects with finalizers wait for them, then the namespace goes', async () => {
    const ns = unique('doomed');
    await ok(['create', 'namespace', ns]);
    const inst = await env.client.post(instances(ns), instance(ns, 'db'));
    expect(inst.status).toBe(201);
    expect(inst.body.metadata.finalizers).toEqual(['kubernetes-incubator/service-catalog']);
    expect(
      (await env.client.post(core(ns, 'secrets'), { metadata: { name: 's' }, stringData: { a: 'b' } }))
        .status,
    ).toBe(201);
    expect(
      (await env.client.post(core(ns, 'configmaps'), { metadata: { name: 'c' }, data: { a: 'b' } })).status,
    ).toBe(201);
    // a namespace of the same name prefix must not be touched
    const neighbour = `${ns}x`;
    await createNamespace(neighbour);
    expect((await env.client.post(core(neighbour, 'secrets'), { metadata: { name: 's' } })).status).toBe(201);

    await ok(['delete', 'namespace', ns, '--wait=false']);
    const terminating = await env.client.get(namespaces(ns));
    expect(terminating.body.status).toMatchObject({ phase: 'Terminating' });
    expect(terminating.body.metadata.deletionTimestamp).toBeDefined();

    await eventually(async () => (await env.client.get(core(ns, 'secrets', 's'))).status === 404);
    await eventually(async () => (await env.client.get(core(ns, 'configmaps', 'c'))).status === 404);
    const deleting = await eventually(async () => {
      const res = await env.client.get(instances(ns, 'db'));
      return res.status === 200 && res.body.metadata.deletionTimestamp ? res.body : undefined;
    });
    expect(deleting.metadata.finalizers).toEqual(['kubernetes-incubator/service-catalog']);

    // the namespace waits, and says why
    const waiting = await eventually(async () => {
      const res = await env.client.get(namespaces(ns));
      const conditions = (
        res.body.status as { conditions?: Array<{ type: string; status: string; message?: string }> }
      ).conditions;
      return conditions?.find((c) => c.type === 'NamespaceContentRemaining' && c.status === 'True')
        ? res.body
        : undefined;
    });
    expect(waiting.status).toMatchObject({ phase: 'Terminating' });
    expect(waiting.spec).toEqual({ finalizers: ['kubernetes'] });
    expect(rows(await ok(['get', 'ns', ns, '--no-headers']))[0].slice(0, 2)).toEqual([ns, 'Terminating']);

    const released = await env.client.patch(instances(ns, 'db'), { metadata: { finalizers: [] } }, MERGE);
    expect(released.status).toBe(200);
    await eventually(async () => (await env.client.get(instances(ns, 'db'))).status === 404);
    await eventually(async () => (await env.client.get(namespaces(ns))).status === 404);
    expect((await kubectl(kc, ['get', 'ns', ns])).code).not.toBe(0);

    // the neighbour is untouched
    expect((await env.client.get(namespaces(neighbour))).body.status).toEqual({ phase: 'Active' });
    expect((await env.client.get(core(neighbour, 'secrets', 's'))).status).toBe(200);
  });

  test('an empty namespace goes at once, and a namespace without our finalizer needs no controller', async () => {
    const ns = unique('empty');
    await createNamespace(ns);
    const watch = await env.client.watch(`${namespaces()}?watch=true&fieldSelector=metadata.name=${ns}`);
    try {
      expect((await env.client.delete(namespaces(ns))).status).toBe(200);
      await watch.until((evs) => evs.some((e) => e.type === 'DELETED'));
      const phases = watch.events.map((e) => [
        e.type,
        (e.object.status as { phase?: string } | undefined)?.phase,
      ]);
      expect(phases[0]).toEqual(['ADDED', 'Active']);
      expect(phases).toContainEqual(['MODIFIED', 'Terminating']);
    } finally {
      watch.close();
    }

    const bare = unique('bare');
    const created = await createNamespace(bare);
    const finalized = await env.client.put(namespaces(bare, 'finalize'), {
      ...created,
      spec: { finalizers: [] },
    });
    expect(finalized.body.spec).toEqual({ finalizers: [] });
    const deleted = await env.client.delete(namespaces(bare));
    expect(deleted.status).toBe(200);
    expect((await env.client.get(namespaces(bare))).status).toBe(404);
  });
});

describe('namespace deletion across a restart', () => {
  // last in this file: the restarted server listens on another port, so kubectl's kubeconfig is rewritten
  test('a namespace being deleted when the server stops is finished by the next one', async () => {
    const ns = unique('restart');
    await createNamespace(ns);
    expect((await env.client.post(instances(ns), instance(ns, 'db'))).status).toBe(201);
    expect((await env.client.delete(namespaces(ns))).status).toBe(200);
    await eventually(
      async () => (await env.client.get(instances(ns, 'db'))).body.metadata?.deletionTimestamp,
    );

    await env.restartServer();
    kc = env.kubeconfig();
    expect((await env.client.get(namespaces(ns))).body.status).toMatchObject({ phase: 'Terminating' });
    expect(
      (await env.client.patch(instances(ns, 'db'), { metadata: { finalizers: [] } }, MERGE)).status,
    ).toBe(200);
    await eventually(async () => (await env.client.get(namespaces(ns))).status === 404);
  });
});

describe('standalone without a watch cache', () => {
  let plain: Env;
  beforeAll(async () => {
    plain = await startEnv({ standalone: true, watchCache: false, namespaceResyncMs: 100 });
  });
  afterAll(async () => {
    await plain?.stop();
  });

  test('the namespace controller polls: content goes, then the namespace', async () => {
    const c = plain.client;
    expect((await c.post(namespaces(), { metadata: { name: 'polled' } })).status).toBe(201);
    expect(
      (await c.post(core('polled', 'secrets'), { metadata: { name: 's' }, stringData: { a: 'b' } })).status,
    ).toBe(201);
    expect(
      (await c.post(leases('polled'), { metadata: { name: 'l' }, spec: { holderIdentity: 'x' } })).status,
    ).toBe(201);
    expect((await c.delete(namespaces('polled'))).status).toBe(200);
    await eventually(async () => (await c.get(namespaces('polled'))).status === 404);
    expect((await c.get(core('polled', 'secrets', 's'))).status).toBe(404);
    expect((await c.get(leases('polled', 'l'))).status).toBe(404);
  });
});
