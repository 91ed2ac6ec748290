/**
 * The admission plugins that need the world outside the catalog's own kinds: NamespaceLifecycle
 * (namespaces served by this server standalone, a cluster's otherwise) and BrokerAuthSarCheck (the
 * server's authorizer: a policy file standalone, SubjectAccessReview in a cluster).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject, Status } from '../api-types/meta';
import { ClusterNamespaces } from '../apiserver/admission/namespace-source';
import { loadKubeConfig } from '../apiserver/auth/cluster';
import { buildAuth } from '../apiserver/auth/config';
import { parseOptions } from '../apiserver/cmd/options';
import { createLogger } from '../pkg/logging';
import { startKubeAuthStub, type KubeAuthStub } from './fixtures/kube-auth-stub';
import { eventually, kubectl, startEnv, type Env, type Response } from './harness';

const SC = '/apis/servicecatalog.k8s.io/v1beta1';
const instances = (ns: string) => `${SC}/namespaces/${ns}/serviceinstances`;
const serviceBrokers = (ns: string) => `${SC}/namespaces/${ns}/servicebrokers`;
const clusterBrokers = `${SC}/clusterservicebrokers`;
const core = (ns: string, resource: string, name = '') =>
  `/api/v1/namespaces/${ns}/${resource}${name ? `/${name}` : ''}`;
const silent = createLogger('test-admission-cluster', 'silent');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'catalog-admission-cluster-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const instance = (ns: string, name: string): KubeObject => ({
  apiVersion: 'servicecatalog.k8s.io/v1beta1',
  kind: 'ServiceInstance',
  metadata: { name, namespace: ns },
  spec: { clusterServiceClassExternalName: 'db', clusterServicePlanExternalName: 'small' },
});

const instanceYaml = (ns: string, name: string) =>
  [
    'apiVersion: servicecatalog.k8s.io/v1beta1',
    'kind: ServiceInstance',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${ns}`,
    'spec:',
    '  clusterServiceClassExternalName: db',
    '  clusterServicePlanExternalName: small',
    '',
  ].join('\n');

function expectStatus(res: Response<unknown>, code: number, reason: string, message?: string): Status {
  expect({ code: res.status, body: res.body }).toMatchObject({
    code,
    body: { kind: 'Status', status: 'Failure', code, reason, ...(message ? { message } : {}) },
  });
  return res.body as Status;
}

/** kube-apiserver's answer for a namespace that does not exist. */
function expectNamespaceNotFound(res: Response<unknown>, ns: string): void {
  const status = expectStatus(res, 404, 'NotFound', `namespaces "${ns}" not found`);
  expect(status.details).toEqual({ name: ns, kind: 'namespaces' });
}

/** kube-apiserver's answer for a create in a namespace being deleted. */
function expectTerminating(res: Response<unknown>, target: string, name: string, ns: string): void {
  const status = expectStatus(
    res,
    403,
    'Forbidden',
    `${target} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
  );
  expect(status.details?.causes).toEqual([
    {
      reason: 'NamespaceTerminating',
      message: `namespace ${ns} is being terminated`,
      field: 'metadata.namespace',
    },
  ]);
}

describe('NamespaceLifecycle, standalone: the namespaces this server serves', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv({ standalone: true, namespaceResyncMs: 100 });
  });
  afterAll(() => env?.stop());

  const createNamespace = async (name: string) =>
    expect((await env.client.post('/api/v1/namespaces', { metadata: { name } })).status).toBe(201);

  test('default and kube-system exist from the start', async () => {
    for (const ns of ['default', 'kube-system']) {
      expect((await env.client.get(`/api/v1/namespaces/${ns}`)).status).toBe(200);
    }
    expect((await env.client.post(instances('default'), instance('default', 'in-default'))).status).toBe(201);
  });

  test('a create in a namespace that does not exist is 404, the namespace not found', async () => {
    expectNamespaceNotFound(await env.client.post(instances('nowhere'), instance('nowhere', 'i')), 'nowhere');
    expectNamespaceNotFound(
      await env.client.post(core('nowhere', 'secrets'), { metadata: { name: 's' } }),
      'nowhere',
    );
    // so is a dry run, and nothing was written
    expectNamespaceNotFound(
      await env.client.post(`${instances('nowhere')}?dryRun=All`, instance('nowhere', 'i')),
      'nowhere',
    );
    expect((await env.client.get(instances('nowhere'))).body).toMatchObject({ items: [] });
  });

  test('kubectl reports it as kube-apiserver would', async () => {
    const r = await kubectl(env.kubeconfig(), ['create', '-f', '-'], instanceYaml('nowhere', 'i'));
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(
      'Error from server (NotFound): error when creating "STDIN": namespaces "nowhere" not found',
    );
  });

  test('a namespace just created is usable at once (a cache miss is looked up in etcd)', async () => {
    for (let i = 0; i < 5; i++) {
      const ns = `fresh-${i}`;
      await createNamespace(ns);
      expect((await env.client.post(instances(ns), instance(ns, 'i'))).status).toBe(201);
    }
  });

  test('a namespace being deleted takes no new content but its content can still change', async () => {
    const ns = 'doomed';
    await createNamespace(ns);
    // a finalizer nobody removes keeps the namespace Terminating
    expect(
      (
        await env.client.post(core(ns, 'configmaps'), {
          metadata: { name: 'held', finalizers: ['example.com/hold'] },
        })
      ).status,
    ).toBe(201);
    const del = await env.client.delete(`/api/v1/namespaces/${ns}`);
    expect(del.status).toBe(200);
    expect(del.body.status).toMatchObject({ phase: 'Terminating' });

    // at once, though the cache may not have seen the deletion yet
    expectTerminating(
      await env.client.post(instances(ns), instance(ns, 'late')),
      'serviceinstances.servicecatalog.k8s.io',
      'late',
      ns,
    );
    expectTerminating(
      await env.client.post(core(ns, 'secrets'), { metadata: { name: 'late' } }),
      'secrets',
      'late',
      ns,
    );
    const r = await kubectl(env.kubeconfig(), ['create', '-f', '-'], instanceYaml(ns, 'late'));
    expect(r.stderr.trim()).toBe(
      `Error from server (Forbidden): error when creating "STDIN": serviceinstances.servicecatalog.k8s.io "late" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
    );

    // updates are allowed: releasing the finalizer lets the namespace go, and then it is not found
    const released = await env.client.patch(
      core(ns, 'configmaps', 'held'),
      { metadata: { finalizers: null } },
      'application/merge-patch+json',
    );
    expect(released.status).toBe(200);
    await eventually(async () => (await env.client.get(`/api/v1/namespaces/${ns}`)).status === 404);
    expectNamespaceNotFound(await env.client.post(instances(ns), instance(ns, 'later')), ns);
  });

  test('default, kube-system and kube-public cannot be deleted', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public']) {
      const status = expectStatus(
        await env.client.delete(`/api/v1/namespaces/${ns}`),
        403,
        'Forbidden',
        `namespaces "${ns}" is forbidden: this namespace may not be deleted`,
      );
      expect(status.details).toEqual({ name: ns, kind: 'namespaces' });
      const still = await env.client.get(`/api/v1/namespaces/${ns}`);
      expect(still.body.metadata.deletionTimestamp).toBeUndefined();
    }
  });
});

describe('NamespaceLifecycle in a cluster: its namespaces through an informer', () => {
  let stub: KubeAuthStub;
  let namespaces: ClusterNamespaces;
  let env: Env;
  beforeAll(async () => {
    stub = await startKubeAuthStub({
      tokens: {},
      grants: [],
      namespaces: { default: 'Active', team: 'Active', leaving: 'Active', doomed: 'Terminating' },
    });
    namespaces = new ClusterNamespaces(loadKubeConfig(stub.kubeconfigPath)!, silent);
    env = await startEnv({ namespaces });
  });
  afterAll(async () => {
    await env?.stop();
    await namespaces?.stop();
    await stub?.stop();
  });

  test('an Active namespace takes content, from the cache', async () => {
    expect(await namespaces.waitForReady(10_000)).toBe(true);
    const gets = stub.calls.namespace;
    expect((await env.client.post(instances('team'), instance('team', 'i'))).status).toBe(201);
    expect(stub.calls.namespace).toBe(gets);
  });

  test('a namespace the cluster does not have is 404 after one live GET', async () => {
    const gets = stub.calls.namespace;
    expectNamespaceNotFound(await env.client.post(instances('nowhere'), instance('nowhere', 'i')), 'nowhere');
    expect(stub.calls.namespace).toBe(gets + 1);
  });

  test('a namespace being deleted is 403', async () => {
    expectTerminating(
      await env.client.post(instances('doomed'), instance('doomed', 'i')),
      'serviceinstances.servicecatalog.k8s.io',
      'i',
      'doomed',
    );
  });

  test('a namespace the informer has not seen yet is found by the live GET', async () => {
    stub.setNamespace('unseen', 'Active', { quiet: true });
    const gets = stub.calls.namespace;
    expect((await env.client.post(instances('unseen'), instance('unseen', 'i'))).status).toBe(201);
    expect(stub.calls.namespace).toBe(gets + 1);
  });

  test('the informer follows the cluster: deletion starts, then the namespace goes', async () => {
    stub.setNamespace('leaving', 'Terminating');
    await eventually(
      async () => (await env.client.post(instances('leaving'), instance('leaving', 'i'))).status === 403,
    );
    stub.setNamespace('leaving', undefined);
    await eventually(
      async () => (await env.client.post(instances('leaving'), instance('leaving', 'i'))).status === 404,
    );
    stub.setNamespace('arrived', 'Active');
    await eventually(async () => (await namespaces.cached('arrived')) !== undefined);
    const gets = stub.calls.namespace;
    expect((await env.client.post(instances('arrived'), instance('arrived', 'i'))).status).toBe(201);
    expect(stub.calls.namespace).toBe(gets);
  });

  test('cluster-scoped kinds are not checked', async () => {
    const broker = { metadata: { name: 'cluster-wide' }, spec: { url: 'https://broker.example' } };
    expect((await env.client.post(clusterBrokers, broker)).status).toBe(201);
  });
});

const clusterBroker = (name: string, secret?: { namespace: string; name: string }) => ({
  apiVersion: 'servicecatalog.k8s.io/v1beta1',
  kind: 'ClusterServiceBroker',
  metadata: { name },
  spec: { url: 'https://broker.example', ...(secret ? { authInfo: { basic: { secretRef: secret } } } : {}) },
});

const serviceBroker = (ns: string, name: string, secret: string) => ({
  apiVersion: 'servicecatalog.k8s.io/v1beta1',
  kind: 'ServiceBroker',
  metadata: { name, namespace: ns },
  spec: { url: 'https://broker.example', authInfo: { bearer: { secretRef: { name: secret } } } },
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function expectSecretDenied(
  res: Response<unknown>,
  resource: string,
  broker: string,
  user: string,
  ns: string,
  secret: string,
  why = '',
) {
  expectStatus(
    res,
    403,
    'Forbidden',
    `${resource}.servicecatalog.k8s.io "${broker}" is forbidden: broker forbidden access to auth secret (${secret}): Reason: User "${user}" cannot get resource "secrets" in API group "" in the namespace "${ns}"${why}`,
  );
}

describe('BrokerAuthSarCheck, standalone: the policy file decides', () => {
  let env: Env;
  beforeAll(async () => {
    const tokens = join(dir, 'tokens.csv');
    writeFileSync(
      tokens,
      ['admin-token,admin,admin,"system:masters"', 'alice-token,alice,alice', 'bob-token,bob,bob', ''].join(
        '\n',
      ),
    );
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      [
        '- users: [alice, bob]',
        '  verbs: [get, create, update, patch]',
        '  resources: [clusterservicebrokers, servicebrokers]',
        '  apiGroups: [servicecatalog.k8s.io]',
        '- users: [alice]',
        '  verbs: [get]',
        '  resources: [secrets]',
        '  apiGroups: [""]',
        '  namespaces: [creds, team]',
        '',
      ].join('\n'),
    );
    const auth = await buildAuth(
      parseOptions([`--token-auth-file=${tokens}`, `--authorization-policy-file=${policy}`])!.auth,
      silent,
    );
    env = await startEnv({
      standalone: true,
      authenticator: auth.authenticator,
      authorizer: auth.authorizer,
    });
    expect(
      (await env.client.post('/api/v1/namespaces', { metadata: { name: 'team' } }, bearer('admin-token')))
        .status,
    ).toBe(201);
  });
  afterAll(() => env?.stop());

  test('a ClusterServiceBroker: its creator must be allowed to get the secret where the reference says', async () => {
    const secret = { namespace: 'creds', name: 'broker-auth' };
    expect(
      (await env.client.post(clusterBrokers, clusterBroker('alices', secret), bearer('alice-token'))).status,
    ).toBe(201);
    expectSecretDenied(
      await env.client.post(clusterBrokers, clusterBroker('bobs', secret), bearer('bob-token')),
      'clusterservicebrokers',
      'bobs',
      'bob',
      'creds',
      'broker-auth',
    );
    // system:masters may do anything
    expect(
      (await env.client.post(clusterBrokers, clusterBroker('admins', secret), bearer('admin-token'))).status,
    ).toBe(201);
  });

  test('updates are checked too; a broker without credentials is not', async () => {
    const created = await env.client.post(clusterBrokers, clusterBroker('plain'), bearer('bob-token'));
    expect(created.status).toBe(201);
    const withAuth = {
      ...created.body,
      spec: {
        ...(created.body.spec as object),
        authInfo: { bearer: { secretRef: { namespace: 'creds', name: 'tok' } } },
      },
    };
    expectSecretDenied(
      await env.client.put(`${clusterBrokers}/plain`, withAuth, bearer('bob-token')),
      'clusterservicebrokers',
      'plain',
      'bob',
      'creds',
      'tok',
    );
    expect((await env.client.put(`${clusterBrokers}/plain`, withAuth, bearer('alice-token'))).status).toBe(
      200,
    );
  });

  test("a ServiceBroker: the secret is in the broker's namespace", async () => {
    expect(
      (
        await env.client.post(
          serviceBrokers('team'),
          serviceBroker('team', 'b1', 'tok'),
          bearer('alice-token'),
        )
      ).status,
    ).toBe(201);
    expectSecretDenied(
      await env.client.post(serviceBrokers('team'), serviceBroker('team', 'b2', 'tok'), bearer('bob-token')),
      'servicebrokers',
      'b2',
      'bob',
      'team',
      'tok',
    );
  });
});

describe('BrokerAuthSarCheck in a cluster: a SubjectAccessReview decides', () => {
  let stub: KubeAuthStub;
  let namespaces: ClusterNamespaces;
  let env: Env;
  beforeAll(async () => {
    stub = await startKubeAuthStub({
      tokens: {
        'alice-token': { username: 'alice', uid: 'alice-uid', groups: ['dev'] },
        'bob-token': { username: 'bob', groups: ['dev'] },
      },
      grants: [
        { user: 'alice', verb: 'create', resource: 'clusterservicebrokers' },
        { user: 'bob', verb: 'create', resource: 'clusterservicebrokers' },
        { user: 'alice', verb: 'create', resource: 'servicebrokers', namespace: 'team' },
        { user: 'alice', verb: 'get', resource: 'secrets', namespace: 'creds' },
        { user: 'alice', verb: 'get', resource: 'secrets', namespace: 'team' },
      ],
      denyReason: 'no RBAC policy matched',
      namespaces: { team: 'Active', creds: 'Active' },
    });
    const opts = parseOptions([`--kubeconfig=${stub.kubeconfigPath}`])!;
    const auth = await buildAuth(opts.auth, silent);
    namespaces = new ClusterNamespaces(loadKubeConfig(opts.kubeconfig)!, silent);
    env = await startEnv({ authenticator: auth.authenticator, authorizer: auth.authorizer, namespaces });
  });
  afterAll(async () => {
    await env?.stop();
    await namespaces?.stop();
    await stub?.stop();
  });

  const secretReview = (user: string, groups: string[], namespace: string, name: string, uid?: string) => ({
    user,
    ...(uid ? { uid } : {}),
    groups,
    resourceAttributes: {
      namespace,
      verb: 'get',
      group: '',
      version: 'v1',
      resource: 'secrets',
      subresource: '',
      name,
    },
  });

  test('allowed: the review asked for get on the secret the ClusterServiceBroker names', async () => {
    const res = await env.client.post(
      clusterBrokers,
      clusterBroker('alices', { namespace: 'creds', name: 'alice-auth' }),
      bearer('alice-token'),
    );
    expect(res.status).toBe(201);
    expect(stub.lastSubjectAccessReview).toEqual(
      secretReview('alice', ['dev', 'system:authenticated'], 'creds', 'alice-auth', 'alice-uid'),
    );
  });

  test('denied: 403 naming the user, the secret and the reason the cluster gave', async () => {
    expectSecretDenied(
      await env.client.post(
        clusterBrokers,
        clusterBroker('bobs', { namespace: 'creds', name: 'bob-auth' }),
        bearer('bob-token'),
      ),
      'clusterservicebrokers',
      'bobs',
      'bob',
      'creds',
      'bob-auth',
      ': no RBAC policy matched',
    );
    expect(stub.lastSubjectAccessReview).toEqual(
      secretReview('bob', ['dev', 'system:authenticated'], 'creds', 'bob-auth'),
    );
  });

  test("a ServiceBroker's secret is looked for in its namespace", async () => {
    const res = await env.client.post(
      serviceBrokers('team'),
      serviceBroker('team', 'nsb', 'nsb-token'),
      bearer('alice-token'),
    );
    expect(res.status).toBe(201);
    expect(stub.lastSubjectAccessReview).toEqual(
      secretReview('alice', ['dev', 'system:authenticated'], 'team', 'nsb-token', 'alice-uid'),
    );
  });
});
