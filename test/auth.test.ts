/**
 * Authentication and authorization, end to end over real TLS: a real etcd, API servers configured
 * from their flags, clients with real certificates and tokens. The cluster that delegated
 * authentication and authorization talk to is the one fixture (test/fixtures/kube-auth-stub.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { servicecatalogResources } from '../api-types';
import type { KubeObject, Status } from '../api-types/meta';
import { buildAuth } from '../apiserver/auth/config';
import type { AuthenticationRequest, Authenticator } from '../apiserver/auth/types';
import { UnionAuthenticator } from '../apiserver/auth/union';
import { RequestHeaderAuthenticator } from '../apiserver/auth/requestheader';
import { generateCA, generateClientCert, type CertificateAuthority } from '../pkg/tls/certs';
import { parseOptions } from '../apiserver/cmd/options';
import { servicecatalogStrategies } from '../apiserver/strategy';
import { startServer, type CatalogAPIServer, type ServerConfig } from '../apiserver/server';
import { startEtcd, type EtcdProcess } from '../hack/lib/etcd';
import { createLogger } from '../pkg/logging';
import { createRegistry } from '../pkg/metrics';
import { Storage } from '../pkg/storage';
import { eventually, testCert } from './harness';
import { startKubeAuthStub, type KubeAuthStub } from './fixtures/kube-auth-stub';

const GROUP = 'servicecatalog.k8s.io';
const instances = (ns: string) => `/apis/${GROUP}/v1beta1/namespaces/${ns}/serviceinstances`;

interface Identity {
  cert?: { cert: string; key: string };
  token?: string;
  headers?: Record<string, string | string[]>;
}

interface Answer<T = unknown> {
  status: number;
  body: T;
}

const silent = createLogger('test-auth', 'silent');
let dir: string;
let etcd: EtcdProcess;
let storage: Storage;
const servers: CatalogAPIServer[] = [];
const agents: Agent[] = [];

// CAs and certificates: the front proxy's CA, a rogue CA with the very same name, the client CA
let frontProxyCA: CertificateAuthority;
let rogueCA: CertificateAuthority;
let clientCA: CertificateAuthority;
let proxy: { cert: string; key: string };
let proxyWrongCN: { cert: string; key: string };
let rogueProxy: { cert: string; key: string };
let alice: { cert: string; key: string };
let expired: { cert: string; key: string };
let files: { frontProxyCA: string; clientCA: string; tokens: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'catalog-auth-'));
  etcd = await startEtcd(join(dir, 'etcd'));
  storage = new Storage([etcd.endpoint], '/registry');
  frontProxyCA = generateCA('front-proxy-ca');
  rogueCA = generateCA('front-proxy-ca');
  clientCA = generateCA('client-ca');
  proxy = generateClientCert(frontProxyCA, 'front-proxy-client');
  proxyWrongCN = generateClientCert(frontProxyCA, 'some-other-proxy');
  rogueProxy = generateClientCert(rogueCA, 'front-proxy-client');
  alice = generateClientCert(clientCA, 'alice', ['devs', 'ops']);
  const hourAgo = Date.now() - 3600_000;
  expired = generateClientCert(clientCA, 'old-alice', ['devs'], {
    notBefore: new Date(hourAgo - 3600_000),
    notAfter: new Date(hourAgo),
  });
  files = {
    frontProxyCA: join(dir, 'front-proxy-ca.crt'),
    clientCA: join(dir, 'client-ca.crt'),
    tokens: join(dir, 'tokens.csv'),
  };
  writeFileSync(files.frontProxyCA, frontProxyCA.cert);
  writeFileSync(files.clientCA, clientCA.cert);
  writeFileSync(
    files.tokens,
    [
      'bob-token,bob,bob-uid,"team-b,readers"',
      'root-token,root,root-uid,system:masters',
      'erin-token,erin,erin-uid',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await Promise.all(agents.map((a) => a.close()));
  storage?.close();
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function baseConfig(): ServerConfig {
  return {
    storage,
    resources: servicecatalogResources,
    strategies: servicecatalogStrategies,
    admissionPlugins: [],
    watchCache: false,
    maxRequestBodyBytes: 3 * 1024 * 1024,
    tls: testCert(),
    bindAddress: '127.0.0.1',
    port: 0,
    logger: silent,
    metrics: createRegistry(),
    version: '0.1.0',
  };
}

/** An API server whose authentication and authorization come from these flags, as main.ts builds them. */
async function serve(flags: string[]): Promise<string> {
  const opts = parseOptions(flags)!;
  const auth = await buildAuth(opts.auth, silent);
  const server = await startServer({ ...baseConfig(), ...auth });
  servers.push(server);
  return `https://127.0.0.1:${server.port}`;
}

/** One request as `who`, on a connection of its own (so its client certificate is the one presented). */
async function call<T = KubeObject>(
  base: string,
  who: Identity,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer<T>> {
  const agent = new Agent({ connect: { ca: testCert().ca, ...(who.cert ?? {}) } });
  agents.push(agent);
  const headers: Record<string, string | string[]> = {
    'content-type': 'application/json',
    ...(who.headers ?? {}),
  };
  if (who.token) headers.authorization = `Bearer ${who.token}`;
  const res = await request(`${base}${path}`, {
    method: method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: agent,
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text (health)
  }
  return { status: res.statusCode, body: parsed as T };
}

let seq = 0;
function instance(ns: string): KubeObject {
  return {
    apiVersion: `${GROUP}/v1beta1`,
    kind: 'ServiceInstance',
    metadata: { name: `si-${++seq}`, namespace: ns },
    spec: { clusterServiceClassExternalName: 'db', clusterServicePlanExternalName: 'small' },
  };
}

/** The user the server saw, from spec.userInfo of a ServiceInstance it created for the request. */
async function whoAmI(base: string, who: Identity): Promise<unknown> {
  const res = await call(base, who, 'POST', instances('whoami'), instance('whoami'));
  if (res.status !== 201) return { status: res.status, body: res.body };
  return (res.body.spec as { userInfo?: unknown }).userInfo;
}

function expectStatus(res: Answer, code: number, reason: string, message?: string): void {
  const s = res.body as Status;
  expect({ status: res.status, kind: s.kind, code: s.code, reason: s.reason }).toEqual({
    status: code,
    kind: 'Status',
    code,
    reason,
  });
  if (message !== undefined) expect(s.message).toBe(message);
}

const unauthorized = (res: Answer) => expectStatus(res, 401, 'Unauthorized', 'Unauthorized');

describe('front proxy (requestheader) and client certificates', () => {
  let base: string;
  beforeAll(async () => {
    base = await serve([
      `--requestheader-client-ca-file=${files.frontProxyCA}`,
      '--requestheader-allowed-names=front-proxy-client',
      `--client-ca-file=${files.clientCA}`,
      `--token-auth-file=${files.tokens}`,
      '--anonymous-auth=false',
    ]);
  });

  test('a spoofed X-Remote-User without a client certificate is not that user', async () => {
    const spoof = { 'x-remote-user': 'admin', 'x-remote-group': 'system:masters' };
    unauthorized(await call(base, { headers: spoof }, 'GET', instances('ns1')));
    expect(await whoAmI(base, { headers: spoof, token: 'bob-token' })).toEqual({
      username: 'bob',
      uid: 'bob-uid',
      groups: ['team-b', 'readers', 'system:authenticated'],
    });
  });

  test('a front-proxy certificate from another CA (same CA name) is not trusted', async () => {
    const spoof = { 'x-remote-user': 'admin', 'x-remote-group': 'system:masters' };
    unauthorized(await call(base, { cert: rogueProxy, headers: spoof }, 'GET', instances('ns1')));
    expect(await whoAmI(base, { cert: rogueProxy, headers: spoof, token: 'bob-token' })).toMatchObject({
      username: 'bob',
    });
  });

  test('a front-proxy certificate whose CN is not in --requestheader-allowed-names is not trusted', async () => {
    const spoof = { 'x-remote-user': 'admin' };
    unauthorized(await call(base, { cert: proxyWrongCN, headers: spoof }, 'GET', instances('ns1')));
    expect(await whoAmI(base, { cert: proxyWrongCN, headers: spoof, token: 'bob-token' })).toMatchObject({
      username: 'bob',
    });
  });

  test('a trusted front proxy speaks for the named user, groups and extra', async () => {
    const userInfo = await whoAmI(base, {
      cert: proxy,
      headers: {
        'X-Remote-User': 'carol',
        'X-Remote-Group': ['devs', 'system:serviceaccounts'],
        'X-Remote-Extra-Scopes': ['read', 'write'],
        'X-Remote-Extra-Acme.com%2Fteam': 'blue',
      },
    });
    expect(userInfo).toEqual({
      username: 'carol',
      groups: ['devs', 'system:serviceaccounts', 'system:authenticated'],
      extra: { scopes: ['read', 'write'], 'acme.com/team': ['blue'] },
    });
  });

  test('the aggregator with no group header is still system:authenticated', async () => {
    expect(
      await whoAmI(base, { cert: proxy, headers: { 'x-remote-user': 'system:kube-aggregator' } }),
    ).toEqual({
      username: 'system:kube-aggregator',
      groups: ['system:authenticated'],
    });
  });

  test('client certificates: CN is the user, O the groups; an expired one is refused', async () => {
    expect(await whoAmI(base, { cert: alice })).toEqual({
      username: 'alice',
      groups: ['devs', 'ops', 'system:authenticated'],
    });
    unauthorized(await call(base, { cert: expired }, 'GET', instances('ns1')));
  });

  test('a front-proxy certificate without identity headers falls through to the token', async () => {
    expect(await whoAmI(base, { cert: proxy, token: 'erin-token' })).toEqual({
      username: 'erin',
      uid: 'erin-uid',
      groups: ['system:authenticated'],
    });
  });

  test('token file users; an unknown token is 401', async () => {
    expect(await whoAmI(base, { token: 'bob-token' })).toMatchObject({ username: 'bob', uid: 'bob-uid' });
    unauthorized(await call(base, { token: 'nobody-token' }, 'GET', instances('ns1')));
  });

  test('always-allow paths need no credentials', async () => {
    for (const path of ['/healthz', '/livez', '/readyz']) {
      expect((await call(base, {}, 'GET', path)).status).toBe(200);
    }
    unauthorized(await call(base, {}, 'GET', '/version'));
  });
});

describe('the identity headers are gone once authentication has read them', () => {
  test('trusted or not, nothing after authentication sees X-Remote-*', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const probe: Authenticator = {
      async authenticate(req: AuthenticationRequest) {
        const raw = (req.rawHeaders ?? []).filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase());
        seen.push({ ...req.headers, raw });
        return undefined;
      },
    };
    const requestHeader = new RequestHeaderAuthenticator({
      clientCA: frontProxyCA.cert,
      allowedNames: [],
      usernameHeaders: ['X-Remote-User'],
      uidHeaders: [],
      groupHeaders: ['X-Remote-Group'],
      extraHeaderPrefixes: ['X-Remote-Extra-'],
    });
    const server = await startServer({
      ...baseConfig(),
      clientCAs: frontProxyCA.cert,
      authenticator: new UnionAuthenticator([requestHeader, probe], { anonymous: true }),
    });
    servers.push(server);
    const base = `https://127.0.0.1:${server.port}`;
    const headers = {
      'x-remote-user': 'mallory',
      'x-remote-group': 'system:masters',
      'x-remote-extra-a': 'b',
      'x-other': 'kept',
    };
    // no certificate: the headers are the client's own, ignored, and removed
    expect((await call(base, { headers }, 'GET', instances('ns1'))).status).toBe(200);
    // a trusted front proxy that names no user: nobody, headers removed too
    expect(
      (
        await call(
          base,
          { cert: proxy, headers: { 'x-remote-group': 'g', 'x-other': 'kept' } },
          'GET',
          instances('ns1'),
        )
      ).status,
    ).toBe(200);
    expect(seen).toHaveLength(2);
    for (const h of seen) {
      expect(Object.keys(h).filter((k) => k.startsWith('x-remote-'))).toEqual([]);
      expect((h.raw as string[]).filter((k) => k.startsWith('x-remote-'))).toEqual([]);
      expect(h['x-other']).toBe('kept');
    }
  });
});

describe('delegated to the cluster: TokenReview and SubjectAccessReview', () => {
  let stub: KubeAuthStub;
  let base: string;
  beforeAll(async () => {
    stub = await startKubeAuthStub({
      tokens: {
        'dave-token': { username: 'dave', uid: 'dave-uid', groups: ['qa'], extra: { scopes: ['s1'] } },
      },
      grants: [
        { user: 'dave', verb: 'list', resource: 'serviceinstances', namespace: 'team-d' },
        { user: 'dave', verb: 'get', path: '/apis' },
      ],
      denyReason: 'no RBAC policy matched',
    });
    base = await serve([
      `--authentication-kubeconfig=${stub.kubeconfigPath}`,
      `--authorization-kubeconfig=${stub.kubeconfigPath}`,
      '--authentication-token-webhook-cache-ttl=3s',
      '--authorization-webhook-cache-authorized-ttl=3s',
      '--authorization-webhook-cache-unauthorized-ttl=3s',
      '--anonymous-auth=false',
    ]);
  });
  afterAll(() => stub.stop());

  test('the ConfigMap was looked up (and absent: no client CA, no front proxy)', () => {
    expect(stub.calls.configmap).toBe(1);
  });

  test('a token the cluster knows is its user; the answer is cached for the TTL', async () => {
    const before = { ...stub.calls };
    expect((await call(base, { token: 'dave-token' }, 'GET', instances('team-d'))).status).toBe(200);
    expect(stub.calls.tokenreviews).toBe(before.tokenreviews + 1);
    expect(stub.calls.subjectaccessreviews).toBe(before.subjectaccessreviews + 1);
    expect(stub.lastSubjectAccessReview).toEqual({
      user: 'dave',
      uid: 'dave-uid',
      groups: ['qa', 'system:authenticated'],
      extra: { scopes: ['s1'] },
      resourceAttributes: {
        namespace: 'team-d',
        verb: 'list',
        group: GROUP,
        version: 'v1beta1',
        resource: 'serviceinstances',
        subresource: '',
        name: '',
      },
    });
    expect((await call(base, { token: 'dave-token' }, 'GET', instances('team-d'))).status).toBe(200);
    expect(stub.calls.tokenreviews).toBe(before.tokenreviews + 1);
    expect(stub.calls.subjectaccessreviews).toBe(before.subjectaccessreviews + 1);
    expect(stub.calls.unauthorized).toBe(0);
    // once the TTL has passed the cluster is asked again
    await eventually(async () => {
      await call(base, { token: 'dave-token' }, 'GET', instances('team-d'));
      return (
        stub.calls.tokenreviews > before.tokenreviews + 1 &&
        stub.calls.subjectaccessreviews > before.subjectaccessreviews + 1
      );
    }, 15_000);
  });

  test('a token the cluster does not know is 401', async () => {
    unauthorized(await call(base, { token: 'forged-token' }, 'GET', instances('team-d')));
  });

  test('denied: 403 naming user, verb and resource, with the cluster’s reason; denials are cached', async () => {
    const res = await call(base, { token: 'dave-token' }, 'POST', instances('team-d'), instance('team-d'));
    expectStatus(
      res,
      403,
      'Forbidden',
      `serviceinstances.${GROUP} is forbidden: User "dave" cannot create resource "serviceinstances" in API group "${GROUP}" in the namespace "team-d": no RBAC policy matched`,
    );
    const reviews = stub.calls.subjectaccessreviews;
    expect(
      (await call(base, { token: 'dave-token' }, 'POST', instances('team-d'), instance('team-d'))).status,
    ).toBe(403);
    expect(stub.calls.subjectaccessreviews).toBe(reviews);
    const other = await call(base, { token: 'dave-token' }, 'GET', instances('team-e'));
    expectStatus(
      other,
      403,
      'Forbidden',
      `serviceinstances.${GROUP} is forbidden: User "dave" cannot list resource "serviceinstances" in API group "${GROUP}" in the namespace "team-e": no RBAC policy matched`,
    );
  });

  test('non-resource paths are reviewed by path and verb', async () => {
    expect((await call(base, { token: 'dave-token' }, 'GET', '/apis')).status).toBe(200);
    expect(stub.lastSubjectAccessReview?.nonResourceAttributes).toEqual({ path: '/apis', verb: 'get' });
    expectStatus(
      await call(base, { token: 'dave-token' }, 'GET', '/version'),
      403,
      'Forbidden',
      'forbidden: User "dave" cannot get path "/version": no RBAC policy matched',
    );
  });
});

describe('front-proxy and client CA settings from the cluster’s ConfigMap', () => {
  let stub: KubeAuthStub;
  let base: string;
  beforeAll(async () => {
    stub = await startKubeAuthStub({
      tokens: {},
      grants: [],
      authenticationConfigMap: {
        'client-ca-file': clientCA.cert,
        'requestheader-client-ca-file': frontProxyCA.cert,
        'requestheader-allowed-names': '["front-proxy-client"]',
        'requestheader-username-headers': '["X-Remote-User"]',
        'requestheader-group-headers': '["X-Remote-Group"]',
        'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
      },
    });
    // only the kubeconfig: the rest is looked up, and with no authorization cluster every
    // authenticated user is allowed
    base = await serve([`--authentication-kubeconfig=${stub.kubeconfigPath}`, '--anonymous-auth=false']);
  });
  afterAll(() => stub.stop());

  test('the aggregator’s front-proxy requests and client certificates are recognised', async () => {
    expect(stub.calls.configmap).toBe(1);
    expect(
      await whoAmI(base, { cert: proxy, headers: { 'X-Remote-User': 'gina', 'X-Remote-Group': 'g1' } }),
    ).toEqual({
      username: 'gina',
      groups: ['g1', 'system:authenticated'],
    });
    expect(await whoAmI(base, { cert: alice })).toMatchObject({
      username: 'alice',
      groups: ['devs', 'ops', 'system:authenticated'],
    });
    unauthorized(
      await call(base, { cert: proxyWrongCN, headers: { 'X-Remote-User': 'gina' } }, 'GET', instances('ns1')),
    );
    unauthorized(await call(base, { headers: { 'X-Remote-User': 'gina' } }, 'GET', instances('ns1')));
  });

  test('discovery as system:kube-aggregator, which sends no group', async () => {
    expect(
      (
        await call(
          base,
          { cert: proxy, headers: { 'X-Remote-User': 'system:kube-aggregator' } },
          'GET',
          `/apis/${GROUP}/v1beta1`,
        )
      ).status,
    ).toBe(200);
  });
});

describe('standalone authorization: policy file, and the default', () => {
  let base: string;
  beforeAll(async () => {
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      [
        '- users: [erin]',
        '  verbs: [get, list, watch]',
        '  resources: [serviceinstances]',
        '  apiGroups: [servicecatalog.k8s.io]',
        '  namespaces: [team-a]',
        '- groups: [team-b]',
        '  verbs: ["*"]',
        '  resources: [serviceinstances, serviceinstances/status]',
        '  namespaces: [team-b]',
        '- groups: [system:authenticated]',
        '  verbs: [get]',
        '  nonResourcePaths: [/api, /apis, /apis/*, /version]',
        '',
      ].join('\n'),
    );
    base = await serve([
      `--token-auth-file=${files.tokens}`,
      `--authorization-policy-file=${policy}`,
      '--authorization-always-allow-paths=/healthz,/version',
    ]);
  });

  test('allows what a rule names and nothing else', async () => {
    const erin = { token: 'erin-token' };
    expect((await call(base, erin, 'GET', instances('team-a'))).status).toBe(200);
    expectStatus(
      await call(base, erin, 'POST', instances('team-a'), instance('team-a')),
      403,
      'Forbidden',
      `serviceinstances.${GROUP} is forbidden: User "erin" cannot create resource "serviceinstances" in API group "${GROUP}" in the namespace "team-a"`,
    );
    expect((await call(base, erin, 'GET', instances('team-b'))).status).toBe(403);
    expect((await call(base, erin, 'GET', `/apis/${GROUP}/v1beta1/serviceinstances`)).status).toBe(403);
    expect((await call(base, erin, 'GET', `/apis/${GROUP}/v1beta1`)).status).toBe(200);
    expectStatus(
      await call(base, erin, 'GET', '/openapi/v2'),
      403,
      'Forbidden',
      'forbidden: User "erin" cannot get path "/openapi/v2"',
    );

    const bob = { token: 'bob-token' };
    expect((await call(base, bob, 'POST', instances('team-b'), instance('team-b'))).status).toBe(201);
    expect((await call(base, bob, 'POST', instances('team-a'), instance('team-a'))).status).toBe(403);
    // system:masters may do anything
    expect(
      (await call(base, { token: 'root-token' }, 'POST', instances('team-a'), instance('team-a'))).status,
    ).toBe(201);
  });

  test('anonymous (on by default, as in kube) is a user like any other: 403 naming system:anonymous', async () => {
    expectStatus(
      await call(base, {}, 'GET', instances('team-a')),
      403,
      'Forbidden',
      `serviceinstances.${GROUP} is forbidden: User "system:anonymous" cannot list resource "serviceinstances" in API group "${GROUP}" in the namespace "team-a"`,
    );
  });

  test('--authorization-always-allow-paths replaces the default list', async () => {
    expect((await call(base, {}, 'GET', '/version')).status).toBe(200);
    expect((await call(base, {}, 'GET', '/healthz')).status).toBe(200);
    expect((await call(base, {}, 'GET', '/readyz')).status).toBe(403);
  });

  test('without a policy file or cluster: authenticated users may do anything, anonymous nothing', async () => {
    const open = await serve([`--token-auth-file=${files.tokens}`]);
    expect(
      (await call(open, { token: 'erin-token' }, 'POST', instances('anywhere'), instance('anywhere'))).status,
    ).toBe(201);
    expect((await call(open, {}, 'GET', instances('anywhere'))).status).toBe(403);
  });

  test('a policy file that is not one is refused at start-up', async () => {
    const bad = join(dir, 'bad-policy.yaml');
    writeFileSync(bad, '- users: [x]\n  verbs: [get]\n  resource: [typo]\n');
    await expect(
      buildAuth(parseOptions([`--authorization-policy-file=${bad}`])!.auth, silent),
    ).rejects.toThrow(/not a list of policy rules/);
  });
});
