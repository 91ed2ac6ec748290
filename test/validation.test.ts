import type { KubeObject, Status } from '../api-types/meta';
import {
  classProperties,
  parseRestriction,
  parseRestrictions,
  planProperties,
  restrictionProperties,
} from '../pkg/servicecatalog/restrictions';
import { kubectl, startEnv, type Env, type Response } from './harness';

/**
 * Validation, defaulting and the reference subresource of the servicecatalog kinds, checked the
 * way a client meets them: over HTTPS against a real server on a real etcd. Admission plugins are
 * off so that only the registry strategies decide.
 */

let env: Env;

beforeAll(async () => {
  env = await startEnv({ admissionPlugins: [] });
});

afterAll(async () => {
  await env?.stop();
});

const api = '/apis/servicecatalog.k8s.io/v1beta1';
const NS = 'default';
const FINALIZER = 'kubernetes-incubator/service-catalog';
const ANONYMOUS = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SHA = 'a'.repeat(64);

interface KindInfo {
  kind: string;
  plural: string;
  namespaced: boolean;
}
const kinds: Record<string, KindInfo> = {
  ClusterServiceBroker: { kind: 'ClusterServiceBroker', plural: 'clusterservicebrokers', namespaced: false },
  ServiceBroker: { kind: 'ServiceBroker', plural: 'servicebrokers', namespaced: true },
  ClusterServiceClass: { kind: 'ClusterServiceClass', plural: 'clusterserviceclasses', namespaced: false },
  ServiceClass: { kind: 'ServiceClass', plural: 'serviceclasses', namespaced: true },
  ClusterServicePlan: { kind: 'ClusterServicePlan', plural: 'clusterserviceplans', namespaced: false },
  ServicePlan: { kind: 'ServicePlan', plural: 'serviceplans', namespaced: true },
  ServiceInstance: { kind: 'ServiceInstance', plural: 'serviceinstances', namespaced: true },
  ServiceBinding: { kind: 'ServiceBinding', plural: 'servicebindings', namespaced: true },
};

let counter = 0;
const uniqueName = (prefix: string) => `${prefix}-${++counter}`;

function url(kind: string, name?: string, subresource?: string): string {
  const k = kinds[kind];
  let p = `${api}${k.namespaced ? `/namespaces/${NS}` : ''}/${k.plural}`;
  if (name) p += `/${name}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

function manifest(
  kind: string,
  name: string,
  spec: unknown,
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'servicecatalog.k8s.io/v1beta1',
    kind,
    metadata: { name },
    spec,
    ...extra,
  };
}

async function create(
  kind: string,
  spec: unknown,
  extra: Record<string, unknown> = {},
): Promise<Response<KubeObject>> {
  const name = uniqueName(kind.toLowerCase());
  return env.client.post(url(kind), manifest(kind, name, spec, extra));
}

/** Creates an object that must be valid and returns what the server stored. */
async function created(kind: string, spec: unknown): Promise<KubeObject> {
  const res = await create(kind, spec);
  if (res.status !== 201) throw new Error(`create ${kind} gave ${res.status}: ${res.text}`);
  return res.body;
}

/** Reads, changes and writes back an object (PUT), returning the response. */
async function update(
  obj: KubeObject,
  change: (o: KubeObject) => void,
  subresource?: string,
): Promise<Response<KubeObject>> {
  const current = await env.client.get(url(obj.kind!, obj.metadata.name, undefined));
  expect(current.status).toBe(200);
  const next = structuredClone(current.body);
  change(next);
  return env.client.put(url(obj.kind!, obj.metadata.name, subresource), next);
}

function causes(res: Response): string[] {
  const status = res.body as Status;
  return (status.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`).sort();
}

/** A 422 Invalid carrying exactly these causes ("<field>: <message>"), each also in the message. */
function expectInvalid(res: Response, expected: string[]): void {
  const status = res.body as Status;
  expect({ code: res.status, reason: status.reason }).toEqual({ code: 422, reason: 'Invalid' });
  expect(causes(res)).toEqual([...expected].sort());
  for (const e of expected) expect(status.message).toContain(e);
}

function expectCreated(res: Response): void {
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${res.text}`);
}

const DNS_SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

// ---------------------------------------------------------------------------------------------
// Brokers

describe('brokers', () => {
  const URL = 'https://broker.example.com';

  test.each<[string, string, Record<string, unknown>, string[]]>([
    [
      'url is required',
      'ClusterServiceBroker',
      {},
      ['spec.url: Required value: brokers must have a remote url to contact'],
    ],
    [
      'url is required (namespaced)',
      'ServiceBroker',
      { url: '' },
      ['spec.url: Required value: brokers must have a remote url to contact'],
    ],
    [
      'url must be http(s)',
      'ClusterServiceBroker',
      { url: 'ftp://broker.example.com' },
      [
        'spec.url: Invalid value: "ftp://broker.example.com": must be an absolute http or https URL, e.g. https://broker.example.com',
      ],
    ],
    [
      'url must be absolute',
      'ServiceBroker',
      { url: 'broker.example.com/osb' },
      [
        'spec.url: Invalid value: "broker.example.com/osb": must be an absolute http or https URL, e.g. https://broker.example.com',
      ],
    ],
    [
      'caBundle excludes insecureSkipTLSVerify',
      'ClusterServiceBroker',
      { url: URL, insecureSkipTLSVerify: true, caBundle: 'Y2E=' },
      ['spec.caBundle: Invalid value: "Y2E=": caBundle cannot be used when insecureSkipTLSVerify is true'],
    ],
    [
      'relistRequests is not negative',
      'ClusterServiceBroker',
      { url: URL, relistRequests: -1 },
      ['spec.relistRequests: Invalid value: -1: must be greater than or equal to 0'],
    ],
    [
      'relistDuration is positive',
      'ClusterServiceBroker',
      { url: URL, relistDuration: '0s' },
      ['spec.relistDuration: Invalid value: "0s": relistDuration must be greater than zero'],
    ],
    [
      'relistDuration is positive (negative)',
      'ServiceBroker',
      { url: URL, relistBehavior: 'Duration', relistDuration: '-1m30s' },
      ['spec.relistDuration: Invalid value: "-1m30s": relistDuration must be greater than zero'],
    ],
    [
      'relistBehavior is Duration or Manual',
      'ClusterServiceBroker',
      { url: URL, relistBehavior: 'Hourly' },
      ['spec.relistBehavior: Unsupported value: "Hourly": supported values: "", "Duration", "Manual"'],
    ],
    [
      'authInfo needs basic or bearer',
      'ClusterServiceBroker',
      { url: URL, authInfo: {} },
      ['spec.authInfo: Required value: auth config is required: exactly one of basic or bearer'],
    ],
    [
      'authInfo takes only one of basic and bearer',
      'ServiceBroker',
      { url: URL, authInfo: { basic: { secretRef: { name: 'a' } }, bearer: { secretRef: { name: 'b' } } } },
      ['spec.authInfo.bearer: Forbidden: exactly one of basic or bearer may be set, and basic is set'],
    ],
    [
      'basic needs a secretRef',
      'ClusterServiceBroker',
      { url: URL, authInfo: { basic: {} } },
      ['spec.authInfo.basic.secretRef: Required value: a basic auth secret is required'],
    ],
    [
      'bearer needs a secretRef',
      'ServiceBroker',
      { url: URL, authInfo: { bearer: {} } },
      ['spec.authInfo.bearer.secretRef: Required value: a bearer token secret is required'],
    ],
    [
      'cluster secretRef needs name and namespace',
      'ClusterServiceBroker',
      { url: URL, authInfo: { basic: { secretRef: {} } } },
      [
        'spec.authInfo.basic.secretRef.name: Required value: the name of the secret is required',
        'spec.authInfo.basic.secretRef.namespace: Required value: the namespace of the secret is required',
      ],
    ],
    [
      'namespaced secretRef needs a name only',
      'ServiceBroker',
      { url: URL, authInfo: { bearer: { secretRef: {} } } },
      ['spec.authInfo.bearer.secretRef.name: Required value: the name of the secret is required'],
    ],
    [
      'secretRef names must be valid',
      'ClusterServiceBroker',
      { url: URL, authInfo: { bearer: { secretRef: { namespace: 'Brokers', name: 'Token_Secret' } } } },
      [
        `spec.authInfo.bearer.secretRef.name: Invalid value: "Token_Secret": ${DNS_SUBDOMAIN}`,
        "spec.authInfo.bearer.secretRef.namespace: Invalid value: \"Brokers\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      ],
    ],
    [
      'catalog restrictions must parse',
      'ClusterServiceBroker',
      {
        url: URL,
        catalogRestrictions: {
          serviceClass: ['spec.externalName > mysql', 'name==my db'],
          servicePlan: ['name in (a, b'],
        },
      },
      [
        'spec.catalogRestrictions.serviceClass[0]: Invalid value: "spec.externalName > mysql": expected an operator (=, ==, !=, in, notin), a comma or the end after "spec.externalName", found ">"',
        'spec.catalogRestrictions.serviceClass[1]: Invalid value: "name==my db": expected "," or the end, found "db"',
        'spec.catalogRestrictions.servicePlan[0]: Invalid value: "name in (a, b": expected "," or ")" in the set of "name in", found the end',
      ],
    ],
    [
      'catalog restrictions use the properties of their kind',
      'ClusterServiceBroker',
      {
        url: URL,
        catalogRestrictions: {
          serviceClass: ['name=a', 'spec.free=true'],
          servicePlan: ['spec.free=true,spec.serviceClass.name=x'],
        },
      },
      [
        'spec.catalogRestrictions.serviceClass[1]: Invalid value: "spec.free=true": Invalid property: spec.free (supported: name, spec.externalName, spec.externalID)',
        'spec.catalogRestrictions.servicePlan[0]: Invalid value: "spec.free=true,spec.serviceClass.name=x": Invalid property: spec.serviceClass.name (supported: name, spec.externalName, spec.externalID, spec.free, spec.clusterServiceClass.name)',
      ],
    ],
    [
      'catalog restriction values follow the label value rules',
      'ServiceBroker',
      { url: URL, catalogRestrictions: { serviceClass: ['spec.externalName notin (-bad-)'] } },
      [
        `spec.catalogRestrictions.serviceClass[0]: Invalid value: "spec.externalName notin (-bad-)": invalid value "-bad-" for "spec.externalName": a value must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      ],
    ],
    [
      'every error is reported at once',
      'ClusterServiceBroker',
      {
        insecureSkipTLSVerify: true,
        caBundle: 'Y2E=',
        relistRequests: -2,
        authInfo: { basic: {} },
        catalogRestrictions: { serviceClass: ['colour=blue'] },
      },
      [
        'spec.url: Required value: brokers must have a remote url to contact',
        'spec.authInfo.basic.secretRef: Required value: a basic auth secret is required',
        'spec.caBundle: Invalid value: "Y2E=": caBundle cannot be used when insecureSkipTLSVerify is true',
        'spec.relistRequests: Invalid value: -2: must be greater than or equal to 0',
        'spec.catalogRestrictions.serviceClass[0]: Invalid value: "colour=blue": Invalid property: colour (supported: name, spec.externalName, spec.externalID)',
      ],
    ],
  ])('%s', async (_, kind, spec, expected) => {
    expectInvalid(await create(kind, spec), expected);
  });

  test.each<[string, string, Record<string, unknown>]>([
    ['a minimal cluster broker', 'ClusterServiceBroker', { url: URL }],
    [
      'a cluster broker with bearer auth and restrictions',
      'ClusterServiceBroker',
      {
        url: 'http://broker.brokers.svc:8080/osb',
        authInfo: { bearer: { secretRef: { namespace: 'brokers', name: 'token' } } },
        catalogRestrictions: {
          serviceClass: ['spec.externalName in (FooService, BarService)', 'name!=AABBB-CCDD'],
          servicePlan: [
            'spec.externalName==Demo',
            'spec.free=true',
            'spec.clusterServiceClass.name notin (x)',
          ],
        },
      },
    ],
    [
      'a namespaced broker with basic auth and a plan restriction on its class',
      'ServiceBroker',
      {
        url: URL,
        authInfo: { basic: { secretRef: { name: 'creds' } } },
        catalogRestrictions: { servicePlan: ['spec.serviceClass.name=db'] },
      },
    ],
    [
      'relistDuration with Manual is accepted and ignored',
      'ServiceBroker',
      { url: URL, relistBehavior: 'Manual', relistDuration: '5m' },
    ],
    ['caBundle alone', 'ClusterServiceBroker', { url: URL, caBundle: 'Y2E=', insecureSkipTLSVerify: false }],
  ])('accepts %s', async (_, kind, spec) => {
    expectCreated(await create(kind, spec));
  });

  test.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    [
      'relistBehavior defaults to Duration every 15m',
      {},
      { relistBehavior: 'Duration', relistDuration: '15m0s' },
    ],
    [
      "'' also means Duration",
      { relistBehavior: '' },
      { relistBehavior: 'Duration', relistDuration: '15m0s' },
    ],
    [
      'a given relistDuration stays',
      { relistDuration: '1h' },
      { relistBehavior: 'Duration', relistDuration: '1h' },
    ],
    ['Manual gets no relistDuration', { relistBehavior: 'Manual' }, { relistBehavior: 'Manual' }],
  ])('defaults: %s', async (_, extra, expected) => {
    for (const kind of ['ClusterServiceBroker', 'ServiceBroker']) {
      const obj = await created(kind, { url: URL, ...extra });
      const spec = obj.spec as Record<string, unknown>;
      expect({ relistBehavior: spec.relistBehavior, relistDuration: spec.relistDuration }).toEqual({
        relistDuration: undefined,
        ...expected,
      });
      expect(obj.metadata.finalizers).toEqual([FINALIZER]);
    }
  });

  test('the finalizer joins the finalizers a user set', async () => {
    const withOwn = manifest('ClusterServiceBroker', uniqueName('csb'), { url: URL });
    withOwn.metadata.finalizers = ['example.com/mine'];
    const own = await env.client.post(url('ClusterServiceBroker'), withOwn);
    expectCreated(own);
    expect(own.body.metadata.finalizers).toEqual(['example.com/mine', FINALIZER]);
  });

  test('relistRequests never decreases; an absent or 0 value keeps the stored one', async () => {
    const broker = await created('ClusterServiceBroker', { url: URL, relistRequests: 3 });
    expectInvalid(await update(broker, (o) => ((o.spec as Record<string, unknown>).relistRequests = 2)), [
      'spec.relistRequests: Invalid value: 2: relistRequests must not decrease (it was 3)',
    ]);
    for (const value of [undefined, 0]) {
      const res = await update(broker, (o) => ((o.spec as Record<string, unknown>).relistRequests = value));
      expect(res.status).toBe(200);
      expect((res.body.spec as Record<string, unknown>).relistRequests).toBe(3);
    }
    const bumped = await update(broker, (o) => ((o.spec as Record<string, unknown>).relistRequests = 4));
    expect(bumped.status).toBe(200);
    expect((bumped.body.spec as Record<string, unknown>).relistRequests).toBe(4);
    expect(bumped.body.metadata.generation).toBe(2);
  });

  test('updates are validated like creates, and defaults apply again', async () => {
    const broker = await created('ServiceBroker', { url: URL, relistBehavior: 'Manual' });
    expectInvalid(
      await update(broker, (o) => {
        const spec = o.spec as Record<string, unknown>;
        spec.url = 'mailto:ops@example.com';
        spec.catalogRestrictions = { servicePlan: ['spec.free in ()'] };
      }),
      [
        'spec.url: Invalid value: "mailto:ops@example.com": must be an absolute http or https URL, e.g. https://broker.example.com',
        'spec.catalogRestrictions.servicePlan[0]: Invalid value: "spec.free in ()": for "in" and "notin" the set of values cannot be empty ("spec.free in ()")',
      ],
    );
    const res = await update(broker, (o) => delete (o.spec as Record<string, unknown>).relistBehavior);
    expect(res.status).toBe(200);
    expect(res.body.spec).toMatchObject({ relistBehavior: 'Duration', relistDuration: '15m0s' });
  });
});

// ---------------------------------------------------------------------------------------------
// Classes and plans

describe('classes and plans', () => {
  const classSpec = (extra: Record<string, unknown> = {}) => ({
    externalName: 'mysql',
    externalID: 'c-1',
    description: 'A database',
    ...extra,
  });

  test.each<[string, string, Record<string, unknown>, string[]]>([
    [
      'a cluster class needs its identifiers and broker',
      'ClusterServiceClass',
      {},
      [
        'spec.clusterServiceBrokerName: Required value: clusterServiceBrokerName is required',
        'spec.description: Required value: description is required',
        'spec.externalID: Required value: externalID is required',
        'spec.externalName: Required value: externalName is required',
      ],
    ],
    [
      'a namespaced class needs its broker',
      'ServiceClass',
      classSpec(),
      ['spec.serviceBrokerName: Required value: serviceBrokerName is required'],
    ],
    [
      'external names and ids are at most 63 characters',
      'ClusterServiceClass',
      classSpec({ clusterServiceBrokerName: 'b', externalName: 'n'.repeat(64), externalID: 'i'.repeat(64) }),
      [
        'spec.externalID: Too long: may not be longer than 63',
        'spec.externalName: Too long: may not be longer than 63',
      ],
    ],
    [
      'a cluster plan needs its class',
      'ClusterServicePlan',
      classSpec({ clusterServiceBrokerName: 'b' }),
      ['spec.clusterServiceClassRef.name: Required value: an owning service class is required'],
    ],
    [
      'a namespaced plan needs its broker and class name',
      'ServicePlan',
      classSpec({ serviceClassRef: {} }),
      [
        'spec.serviceBrokerName: Required value: serviceBrokerName is required',
        'spec.serviceClassRef.name: Required value: an owning service class is required',
      ],
    ],
  ])('%s', async (_, kind, spec, expected) => {
    expectInvalid(await create(kind, spec), expected);
  });

  test.each<[string, Record<string, unknown>]>([
    ['ClusterServiceClass', classSpec({ clusterServiceBrokerName: 'b' })],
    ['ServiceClass', classSpec({ serviceBrokerName: 'b' })],
    [
      'ClusterServicePlan',
      classSpec({ clusterServiceBrokerName: 'b', clusterServiceClassRef: { name: 'c-1' } }),
    ],
    ['ServicePlan', classSpec({ serviceBrokerName: 'b', serviceClassRef: { name: 'c-1' } })],
  ])('%s: externalID is immutable, the other fields may change', async (kind, spec) => {
    const obj = await created(kind, spec);
    expectInvalid(await update(obj, (o) => ((o.spec as Record<string, unknown>).externalID = 'c-2')), [
      'spec.externalID: Invalid value: "c-2": field is immutable',
    ]);
    const res = await update(obj, (o) => {
      const s = o.spec as Record<string, unknown>;
      s.externalName = 'mysql-renamed';
      s.description = 'Renamed';
    });
    expect(res.status).toBe(200);
    expect(res.body.spec).toMatchObject({ externalName: 'mysql-renamed', externalID: 'c-1' });
  });

  test('the broker of a class cannot change', async () => {
    const obj = await created('ClusterServiceClass', classSpec({ clusterServiceBrokerName: 'b' }));
    expectInvalid(
      await update(obj, (o) => ((o.spec as Record<string, unknown>).clusterServiceBrokerName = 'other')),
      ['spec.clusterServiceBrokerName: Invalid value: "other": field is immutable'],
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Instances

type Spec = Record<string, unknown>;
const specOf = (o: KubeObject) => o.spec as Spec;

describe('service instances', () => {
  const CLASS_REQUIRED = 'Required value: a class is required: set exactly one class field';
  const MIXED = 'instances can refer to cluster or namespaced classes and plans, but not both';

  test.each<[string, Spec, string[]]>([
    [
      'a class is required',
      {},
      [
        'clusterServiceClassExternalName',
        'clusterServiceClassExternalID',
        'clusterServiceClassName',
        'serviceClassExternalName',
        'serviceClassExternalID',
        'serviceClassName',
      ].map((f) => `spec.${f}: ${CLASS_REQUIRED}`),
    ],
    [
      'cluster and namespaced fields never mix',
      { clusterServiceClassExternalName: 'db', servicePlanExternalName: 'small' },
      [
        `spec.clusterServiceClassExternalName: Invalid value: "db": ${MIXED}`,
        `spec.servicePlanExternalName: Invalid value: "small": ${MIXED}`,
      ],
    ],
    [
      'exactly one class style',
      { serviceClassExternalName: 'db', serviceClassName: 'k8s-db' },
      [
        'spec.serviceClassExternalName: Invalid value: "db": exactly one of serviceClassExternalName, serviceClassExternalID or serviceClassName may be set',
        'spec.serviceClassName: Invalid value: "k8s-db": exactly one of serviceClassExternalName, serviceClassExternalID or serviceClassName may be set',
      ],
    ],
    [
      'a plan without a class',
      { clusterServicePlanName: 'small' },
      [
        'spec.clusterServiceClassExternalName: Required value: exactly one of clusterServiceClassExternalName, clusterServiceClassExternalID or clusterServiceClassName is required',
        'spec.clusterServiceClassExternalID: Required value: exactly one of clusterServiceClassExternalName, clusterServiceClassExternalID or clusterServiceClassName is required',
        'spec.clusterServiceClassName: Required value: exactly one of clusterServiceClassExternalName, clusterServiceClassExternalID or clusterServiceClassName is required',
      ],
    ],
    [
      'the plan style matches the class style',
      { clusterServiceClassExternalName: 'db', clusterServicePlanExternalID: 'p-1' },
      [
        'spec.clusterServicePlanExternalName: Required value: must specify clusterServicePlanExternalName with clusterServiceClassExternalName',
      ],
    ],
    [
      'one plan style at most',
      { serviceClassExternalID: 'c-1', servicePlanExternalID: 'p-1', servicePlanName: 'p' },
      [
        'spec.servicePlanExternalID: Invalid value: "p-1": exactly one of servicePlanExternalName, servicePlanExternalID or servicePlanName may be set',
        'spec.servicePlanName: Invalid value: "p": exactly one of servicePlanExternalName, servicePlanExternalID or servicePlanName may be set',
      ],
    ],
    [
      'class and plan names are at most 63 characters',
      { clusterServiceClassName: 'c'.repeat(64), clusterServicePlanName: 'p' },
      ['spec.clusterServiceClassName: Too long: may not be longer than 63'],
    ],
    [
      'parameters must be an object',
      { clusterServiceClassExternalName: 'db', parameters: 'size=10' },
      ['spec.parameters: Invalid value: "string": spec.parameters in body must be of type object: "string"'],
    ],
    [
      'parametersFrom entries name a secret and a key',
      {
        clusterServiceClassExternalName: 'db',
        parametersFrom: [
          {},
          { secretKeyRef: { name: 'creds' } },
          { secretKeyRef: { key: 'k' } },
          { secretKeyRef: { name: 's', key: 'k' } },
        ],
      },
      [
        'spec.parametersFrom[0].secretKeyRef: Required value: source must not be empty if present',
        'spec.parametersFrom[1].secretKeyRef.key: Required value: key is required',
        'spec.parametersFrom[2].secretKeyRef.name: Required value: name is required',
      ],
    ],
    [
      'updateRequests is not negative',
      { serviceClassName: 'db', updateRequests: -1 },
      ['spec.updateRequests: Invalid value: -1: must be greater than or equal to 0'],
    ],
  ])('%s', async (_, spec, expected) => {
    expectInvalid(await create('ServiceInstance', spec), expected);
  });

  test.each<[string, Spec]>([
    ['external names', { clusterServiceClassExternalName: 'db', clusterServicePlanExternalName: 'small' }],
    ['external ids', { clusterServiceClassExternalID: 'c-1', clusterServicePlanExternalID: 'p-1' }],
    ['k8s names', { clusterServiceClassName: 'c-1', clusterServicePlanName: 'p-1' }],
    ['namespaced external names', { serviceClassExternalName: 'db', servicePlanExternalName: 'small' }],
    ['namespaced ids, no plan (left to DefaultServicePlan)', { serviceClassExternalID: 'c-1' }],
    [
      'namespaced names and parameters',
      { serviceClassName: 'c', servicePlanName: 'p', parameters: { size: 10, tags: ['a'] } },
    ],
  ])('accepts %s', async (_, spec) => {
    expectCreated(await create('ServiceInstance', spec));
  });

  test('create defaults: externalID, userInfo, finalizer, no resolved refs, initial status', async () => {
    const res = await create(
      'ServiceInstance',
      {
        clusterServiceClassExternalName: 'db',
        clusterServicePlanExternalName: 'small',
        clusterServiceClassRef: { name: 'forged' },
        clusterServicePlanRef: { name: 'forged' },
        serviceClassRef: { name: 'forged' },
        servicePlanRef: { name: 'forged' },
        userInfo: { username: 'someone-else', groups: ['system:masters'] },
      },
      { status: { currentOperation: 'Provision', provisionStatus: 'Provisioned' } },
    );
    expectCreated(res);
    const spec = specOf(res.body);
    expect(spec.externalID).toMatch(UUID_V4);
    expect(spec.userInfo).toEqual(ANONYMOUS);
    for (const ref of [
      'clusterServiceClassRef',
      'clusterServicePlanRef',
      'serviceClassRef',
      'servicePlanRef',
    ]) {
      expect(spec[ref]).toBeUndefined();
    }
    expect(res.body.metadata.finalizers).toEqual([FINALIZER]);
    expect(res.body.status).toEqual({ conditions: [], deprovisionStatus: 'NotRequired' });
    // what a client sends as externalID is kept
    const given = await created('ServiceInstance', { serviceClassName: 'c', externalID: 'my-instance-id' });
    expect(specOf(given).externalID).toBe('my-instance-id');
  });

  test('class fields and externalID are immutable; all violations are reported together', async () => {
    const obj = await created('ServiceInstance', {
      clusterServiceClassExternalName: 'db',
      clusterServicePlanExternalName: 'small',
    });
    expectInvalid(
      await update(obj, (o) => {
        specOf(o).clusterServiceClassExternalName = 'cache';
        specOf(o).externalID = 'other';
        specOf(o).updateRequests = -5;
      }),
      [
        'spec.clusterServiceClassExternalName: Invalid value: "cache": field is immutable',
        'spec.externalID: Invalid value: "other": field is immutable',
        'spec.updateRequests: Invalid value: -5: must be greater than or equal to 0',
      ],
    );
    expectInvalid(
      await update(obj, (o) => {
        delete specOf(o).clusterServiceClassExternalName;
        specOf(o).clusterServiceClassName = 'db';
        specOf(o).clusterServicePlanName = 'small';
        delete specOf(o).clusterServicePlanExternalName;
      }),
      [
        'spec.clusterServiceClassExternalName: Invalid value: null: field is immutable',
        'spec.clusterServiceClassName: Invalid value: "db": field is immutable',
      ],
    );
  });

  test('updateRequests never decreases; absent or 0 keeps the stored value', async () => {
    const obj = await created('ServiceInstance', { serviceClassExternalName: 'db', updateRequests: 2 });
    expectInvalid(await update(obj, (o) => (specOf(o).updateRequests = 1)), [
      'spec.updateRequests: Invalid value: 1: updateRequests must not decrease (it was 2)',
    ]);
    for (const value of [undefined, 0]) {
      const res = await update(obj, (o) => (specOf(o).updateRequests = value));
      expect(res.status).toBe(200);
      expect(specOf(res.body).updateRequests).toBe(2);
    }
  });

  test('a client resending its manifest keeps externalID, and cannot set refs or userInfo', async () => {
    const obj = await created('ServiceInstance', {
      clusterServiceClassExternalName: 'db',
      clusterServicePlanExternalName: 'small',
    });
    const refs = { clusterServiceClassRef: { name: 'c-1' }, clusterServicePlanRef: { name: 'p-1' } };
    expect((await update(obj, (o) => Object.assign(specOf(o), refs), 'reference')).status).toBe(200);
    const current = await env.client.get(url('ServiceInstance', obj.metadata.name));
    const sent = manifest('ServiceInstance', obj.metadata.name!, {
      clusterServiceClassExternalName: 'db',
      clusterServicePlanExternalName: 'small',
      clusterServiceClassRef: { name: 'forged' },
      userInfo: { username: 'forged', groups: [] },
    });
    sent.metadata.labels = { team: 'a' };
    const res = await env.client.put(url('ServiceInstance', obj.metadata.name), sent);
    expect(res.status).toBe(200);
    expect(res.body.metadata.labels).toEqual({ team: 'a' });
    expect(specOf(res.body)).toEqual(specOf(current.body));
    expect(res.body.metadata.generation).toBe(1);
  });

  test.each([
    ['cluster', 'clusterService'],
    ['namespaced', 'service'],
  ])('a %s plan change clears the resolved plan ref and keeps the class ref', async (_, p) => {
    const obj = await created('ServiceInstance', {
      [`${p}ClassExternalName`]: 'db',
      [`${p}PlanExternalName`]: 'small',
    });
    const refs = { [`${p}ClassRef`]: { name: 'c-1' }, [`${p}PlanRef`]: { name: 'p-small' } };
    expect((await update(obj, (o) => Object.assign(specOf(o), refs), 'reference')).status).toBe(200);
    const res = await update(obj, (o) => (specOf(o)[`${p}PlanExternalName`] = 'large'));
    expect(res.status).toBe(200);
    const spec = specOf(res.body);
    expect(spec[`${p}ClassRef`]).toEqual({ name: 'c-1' });
    expect(spec[`${p}PlanRef`]).toBeUndefined();
    expect(spec[`${p}PlanExternalName`]).toBe('large');
    expect(res.body.metadata.generation).toBe(2);
  });

  test('userInfo records the user of the last spec change, not of metadata writes', async () => {
    const obj = await created('ServiceInstance', {
      serviceClassExternalName: 'db',
      servicePlanExternalName: 'small',
    });
    // as if another user had made the last spec change
    const alice = { username: 'alice', uid: 'u-1', groups: ['devs'], extra: { scopes: ['a'] } };
    const store = env.storage.resource({
      group: 'servicecatalog.k8s.io',
      plural: 'serviceinstances',
      namespaced: true,
    });
    await store.guaranteedUpdate(NS, obj.metadata.name!, (current) => {
      specOf(current).userInfo = alice;
      return current;
    });
    const labelled = await update(obj, (o) => (o.metadata.labels = { team: 'a' }));
    expect(labelled.status).toBe(200);
    expect(specOf(labelled.body).userInfo).toEqual(alice);
    const changed = await update(obj, (o) => (specOf(o).parameters = { size: 2 }));
    expect(changed.status).toBe(200);
    expect(specOf(changed.body).userInfo).toEqual(ANONYMOUS);
  });

  test('the reference subresource changes only the resolved refs', async () => {
    const obj = await created('ServiceInstance', {
      clusterServiceClassExternalName: 'db',
      clusterServicePlanExternalName: 'small',
    });
    const before = (await env.client.get(url('ServiceInstance', obj.metadata.name))).body;
    const res = await update(
      obj,
      (o) => {
        Object.assign(specOf(o), {
          clusterServiceClassRef: { name: 'c-1' },
          clusterServicePlanRef: { name: 'p-1' },
          clusterServicePlanExternalName: 'large',
          parameters: { injected: true },
          externalID: 'changed',
        });
        o.status = { conditions: [], deprovisionStatus: 'Required', provisionStatus: 'Provisioned' };
        o.metadata.labels = { injected: 'yes' };
      },
      'reference',
    );
    expect(res.status).toBe(200);
    const expected = structuredClone(before);
    Object.assign(specOf(expected), {
      clusterServiceClassRef: { name: 'c-1' },
      clusterServicePlanRef: { name: 'p-1' },
    });
    expect({
      spec: res.body.spec,
      status: res.body.status,
      labels: res.body.metadata.labels,
      generation: res.body.metadata.generation,
    }).toEqual({
      spec: expected.spec,
      status: expected.status,
      labels: undefined,
      generation: 1,
    });
    // a main-resource update cannot change them
    const main = await update(obj, (o) => (specOf(o).clusterServiceClassRef = { name: 'other' }));
    expect(main.status).toBe(200);
    expect(specOf(main.body).clusterServiceClassRef).toEqual({ name: 'c-1' });
  });

  test('reference writes need a class and a plan ref of one scope, and resolved refs stay', async () => {
    const obj = await created('ServiceInstance', {
      clusterServiceClassExternalName: 'db',
      clusterServicePlanExternalName: 'small',
    });
    expectInvalid(
      await update(obj, (o) => (specOf(o).clusterServiceClassRef = { name: 'c-1' }), 'reference'),
      [
        'spec.clusterServicePlanRef: Required value: clusterServicePlanRef or servicePlanRef is required when updating references',
        'spec.servicePlanRef: Required value: clusterServicePlanRef or servicePlanRef is required when updating references',
      ],
    );
    expectInvalid(
      await update(
        obj,
        (o) =>
          Object.assign(specOf(o), {
            clusterServiceClassRef: { name: 'c-1' },
            serviceClassRef: { name: 'c-1' },
            clusterServicePlanRef: { name: 'p-1' },
          }),
        'reference',
      ),
      [
        'spec.clusterServiceClassRef: Invalid value: {"name":"c-1"}: clusterServiceClassRef and serviceClassRef cannot both be set',
        'spec.serviceClassRef: Invalid value: {"name":"c-1"}: clusterServiceClassRef and serviceClassRef cannot both be set',
      ],
    );
    const refs = { clusterServiceClassRef: { name: 'c-1' }, clusterServicePlanRef: { name: 'p-1' } };
    expect((await update(obj, (o) => Object.assign(specOf(o), refs), 'reference')).status).toBe(200);
    expectInvalid(
      await update(obj, (o) => (specOf(o).clusterServiceClassRef = { name: 'c-2' }), 'reference'),
      ['spec.clusterServiceClassRef: Invalid value: {"name":"c-2"}: field is immutable'],
    );
  });

  test('no reference write while an operation is in progress', async () => {
    const obj = await created('ServiceInstance', {
      clusterServiceClassExternalName: 'db',
      clusterServicePlanExternalName: 'small',
    });
    const refs = { clusterServiceClassRef: { name: 'c-1' }, clusterServicePlanRef: { name: 'p-1' } };
    expect((await update(obj, (o) => Object.assign(specOf(o), refs), 'reference')).status).toBe(200);
    const status = await update(
      obj,
      (o) =>
        (o.status = {
          currentOperation: 'Provision',
          operationStartTime: '2024-01-01T00:00:00Z',
          inProgressProperties: {
            clusterServicePlanExternalName: 'small',
            clusterServicePlanExternalID: 'p-1',
          },
          deprovisionStatus: 'Required',
        }),
      'status',
    );
    expect(status.status).toBe(200);
    expectInvalid(await update(obj, () => undefined, 'reference'), [
      'status.currentOperation: Forbidden: cannot update references when currentOperation is present',
    ]);
  });

  describe('status', () => {
    async function withRefs(): Promise<KubeObject> {
      const obj = await created('ServiceInstance', {
        clusterServiceClassExternalName: 'db',
        clusterServicePlanExternalName: 'small',
      });
      const refs = { clusterServiceClassRef: { name: 'c-1' }, clusterServicePlanRef: { name: 'p-1' } };
      expect((await update(obj, (o) => Object.assign(specOf(o), refs), 'reference')).status).toBe(200);
      return obj;
    }
    const props = { clusterServicePlanExternalName: 'small', clusterServicePlanExternalID: 'p-1' };

    test.each<[string, Record<string, unknown>, string[]]>([
      [
        'an operation needs a start time and its properties, and forbids Ready=True',
        {
          currentOperation: 'Provision',
          deprovisionStatus: 'Required',
          conditions: [{ type: 'Ready', status: 'True' }],
        },
        [
          'status.conditions[0]: Forbidden: Ready cannot be True while an operation is in progress',
          'status.inProgressProperties: Required value: inProgressProperties is required when currentOperation is "Provision", "Update" or "Deprovision"',
          'status.operationStartTime: Required value: operationStartTime is required when currentOperation is present and no orphan mitigation in progress',
        ],
      ],
      [
        'no operation means no start time, async flag, operation key or in-progress properties',
        {
          deprovisionStatus: 'NotRequired',
          operationStartTime: '2024-01-01T00:00:00Z',
          asyncOpInProgress: true,
          lastOperation: 'op-1',
          inProgressProperties: props,
        },
        [
          'status.asyncOpInProgress: Forbidden: asyncOpInProgress cannot be true when there is no currentOperation',
          'status.inProgressProperties: Forbidden: inProgressProperties must not be present when there is no currentOperation',
          'status.lastOperation: Forbidden: lastOperation must not be present when currentOperation is not present',
          'status.operationStartTime: Forbidden: operationStartTime must not be present when currentOperation is not present',
        ],
      ],
      [
        'properties name the plan once, and a checksum goes with parameters',
        {
          deprovisionStatus: 'Required',
          externalProperties: {
            clusterServicePlanExternalName: 'small',
            servicePlanExternalName: 'small',
            parameters: { a: 1 },
            parameterChecksum: 'xyz',
          },
        },
        [
          'status.externalProperties.clusterServicePlanExternalID: Required value: clusterServicePlanExternalID or servicePlanExternalID is required',
          'status.externalProperties.clusterServicePlanExternalName: Invalid value: "small": clusterServicePlanExternalName and servicePlanExternalName cannot both be set',
          'status.externalProperties.parameterChecksum: Invalid value: "xyz": parameterChecksum must be exactly 64 hexadecimal digits (a SHA-256)',
          'status.externalProperties.servicePlanExternalID: Required value: clusterServicePlanExternalID or servicePlanExternalID is required',
          'status.externalProperties.servicePlanExternalName: Invalid value: "small": clusterServicePlanExternalName and servicePlanExternalName cannot both be set',
        ],
      ],
      [
        'parameters need a checksum and a checksum needs parameters',
        {
          deprovisionStatus: 'Required',
          externalProperties: { ...props, parameters: { a: 1 } },
          currentOperation: 'Update',
          operationStartTime: '2024-01-01T00:00:00Z',
          inProgressProperties: { ...props, parameterChecksum: SHA },
        },
        [
          'status.externalProperties.parameterChecksum: Required value: parameterChecksum must not be empty when there are parameters',
          'status.inProgressProperties.parameterChecksum: Forbidden: parameterChecksum must be empty when there are no parameters',
        ],
      ],
      [
        'deprovisionStatus must be set',
        { conditions: [] },
        [
          'status.deprovisionStatus: Unsupported value: "": supported values: "NotRequired", "Required", "Succeeded", "Failed"',
        ],
      ],
      [
        'reconciledGeneration is at most generation',
        { deprovisionStatus: 'Required', reconciledGeneration: 5 },
        [
          'status.reconciledGeneration: Invalid value: 5: reconciledGeneration must not be greater than generation',
        ],
      ],
      [
        'an operation is never in progress for an already reconciled generation',
        {
          deprovisionStatus: 'Required',
          reconciledGeneration: 1,
          currentOperation: 'Update',
          operationStartTime: '2024-01-01T00:00:00Z',
          inProgressProperties: props,
        },
        [
          'status.currentOperation: Forbidden: currentOperation must not be present when reconciledGeneration and generation are equal',
        ],
      ],
    ])('%s', async (_, status, expected) => {
      const obj = await withRefs();
      expectInvalid(await update(obj, (o) => (o.status = status), 'status'), expected);
    });

    test('an operation needs the resolved refs', async () => {
      const obj = await created('ServiceInstance', {
        serviceClassExternalName: 'db',
        servicePlanExternalName: 'small',
      });
      expectInvalid(
        await update(
          obj,
          (o) =>
            (o.status = {
              deprovisionStatus: 'Required',
              currentOperation: 'Provision',
              orphanMitigationInProgress: true,
              inProgressProperties: { servicePlanExternalName: 'small', servicePlanExternalID: 'p-1' },
            }),
          'status',
        ),
        [
          'spec.clusterServiceClassRef: Required value: clusterServiceClassRef or serviceClassRef is required when currentOperation is present',
          'spec.clusterServicePlanRef: Required value: clusterServicePlanRef or servicePlanRef is required when currentOperation is present',
          'spec.serviceClassRef: Required value: clusterServiceClassRef or serviceClassRef is required when currentOperation is present',
          'spec.servicePlanRef: Required value: clusterServicePlanRef or servicePlanRef is required when currentOperation is present',
        ],
      );
    });

    test('a valid status write changes the status only', async () => {
      const obj = await withRefs();
      const res = await update(
        obj,
        (o) => {
          o.status = {
            conditions: [{ type: 'Ready', status: 'False', reason: 'Provisioning' }],
            currentOperation: 'Provision',
            operationStartTime: '2024-01-01T00:00:00Z',
            asyncOpInProgress: true,
            lastOperation: 'op-1',
            inProgressProperties: { ...props, parameters: { a: 1 }, parameterChecksum: SHA },
            deprovisionStatus: 'Required',
            reconciledGeneration: 0,
          };
          specOf(o).clusterServicePlanExternalName = 'ignored';
        },
        'status',
      );
      expect(res.status).toBe(200);
      expect(specOf(res.body).clusterServicePlanExternalName).toBe('small');
      expect(res.body.status).toMatchObject({ currentOperation: 'Provision', deprovisionStatus: 'Required' });
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Bindings

describe('service bindings', () => {
  test.each<[string, Spec, string[]]>([
    [
      'instanceRef.name is required',
      {},
      ['spec.instanceRef.name: Required value: instanceRef.name is required'],
    ],
    [
      'instanceRef.name is required (empty)',
      { instanceRef: {} },
      ['spec.instanceRef.name: Required value: instanceRef.name is required'],
    ],
    [
      'instanceRef.name and secretName are DNS subdomains',
      { instanceRef: { name: 'My_DB' }, secretName: 'Creds!' },
      [
        `spec.instanceRef.name: Invalid value: "My_DB": ${DNS_SUBDOMAIN}`,
        `spec.secretName: Invalid value: "Creds!": ${DNS_SUBDOMAIN}`,
      ],
    ],
    [
      'parametersFrom entries name a secret and a key',
      { instanceRef: { name: 'db' }, parametersFrom: [{ secretKeyRef: {} }] },
      [
        'spec.parametersFrom[0].secretKeyRef.key: Required value: key is required',
        'spec.parametersFrom[0].secretKeyRef.name: Required value: name is required',
      ],
    ],
    [
      'each secret transform is exactly one operation with its fields',
      {
        instanceRef: { name: 'db' },
        secretTransforms: [
          {},
          { renameKey: { from: 'a', to: 'b' }, removeKey: { key: 'c' } },
          { renameKey: { from: 'a' } },
          { addKey: { stringValue: 'x' } },
          { addKeysFrom: { secretRef: { namespace: 'ns' } } },
          { removeKey: {} },
          { addKeysFrom: { secretRef: { name: 'more' } } },
        ],
      },
      [
        'spec.secretTransforms[0]: Required value: exactly one of renameKey, addKey, addKeysFrom or removeKey is required',
        'spec.secretTransforms[1].removeKey: Forbidden: exactly one of renameKey, addKey, addKeysFrom or removeKey may be set, and renameKey is set',
        'spec.secretTransforms[2].renameKey.to: Required value: to is required',
        'spec.secretTransforms[3].addKey.key: Required value: key is required',
        'spec.secretTransforms[4].addKeysFrom.secretRef.name: Required value: secretRef.name is required',
        'spec.secretTransforms[5].removeKey.key: Required value: key is required',
      ],
    ],
  ])('%s', async (_, spec, expected) => {
    expectInvalid(await create('ServiceBinding', spec), expected);
  });

  test('create defaults: secretName, externalID, userInfo, finalizer, initial status', async () => {
    const res = await create('ServiceBinding', {
      instanceRef: { name: 'db' },
      userInfo: { username: 'forged' },
    });
    expectCreated(res);
    const spec = specOf(res.body);
    expect(spec.secretName).toBe(res.body.metadata.name);
    expect(spec.externalID).toMatch(UUID_V4);
    expect(spec.userInfo).toEqual(ANONYMOUS);
    expect(res.body.metadata.finalizers).toEqual([FINALIZER]);
    expect(res.body.status).toEqual({ conditions: [], unbindStatus: 'NotRequired' });
    const named = await created('ServiceBinding', {
      instanceRef: { name: 'db' },
      secretName: 'db-creds',
      externalID: 'b-1',
    });
    expect(specOf(named)).toMatchObject({ secretName: 'db-creds', externalID: 'b-1' });
  });

  test('generateName gives the secret its generated name', async () => {
    const body = manifest('ServiceBinding', '', { instanceRef: { name: 'db' } });
    body.metadata = { generateName: 'bind-' };
    const res = await env.client.post(url('ServiceBinding'), body);
    expectCreated(res);
    expect(specOf(res.body).secretName).toBe(res.body.metadata.name);
  });

  test('the spec is immutable; every changed field is named', async () => {
    const obj = await created('ServiceBinding', { instanceRef: { name: 'db' }, parameters: { a: 1 } });
    expectInvalid(
      await update(obj, (o) => {
        specOf(o).instanceRef = { name: 'other' };
        specOf(o).secretName = 'other-secret';
        specOf(o).parameters = { a: 2 };
        specOf(o).secretTransforms = [{ removeKey: { key: 'password' } }];
        specOf(o).externalID = 'changed';
      }),
      [
        'spec.externalID: Invalid value: "changed": field is immutable',
        'spec.instanceRef: Invalid value: {"name":"other"}: field is immutable',
        'spec.parameters: Invalid value: {"a":2}: field is immutable',
        'spec.secretName: Invalid value: "other-secret": field is immutable',
        'spec.secretTransforms: Invalid value: [{"removeKey":{"key":"password"}}]: field is immutable',
      ],
    );
  });

  test('resending the original manifest (without server-set fields) is not a change', async () => {
    const obj = await created('ServiceBinding', { instanceRef: { name: 'db' }, parameters: { b: 2, a: 1 } });
    const sent = manifest('ServiceBinding', obj.metadata.name!, {
      instanceRef: { name: 'db' },
      parameters: { a: 1, b: 2 },
    });
    sent.metadata.labels = { app: 'web' };
    const res = await env.client.put(url('ServiceBinding', obj.metadata.name), sent);
    expect(res.status).toBe(200);
    expect(res.body.spec).toEqual(obj.spec);
    expect(res.body.metadata.labels).toEqual({ app: 'web' });
    expect(res.body.metadata.generation).toBe(1);
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    [
      'Bind needs its properties, a start time and no Ready=True',
      { unbindStatus: 'Required', currentOperation: 'Bind', conditions: [{ type: 'Ready', status: 'True' }] },
      [
        'status.conditions[0]: Forbidden: Ready cannot be True while an operation is in progress',
        'status.inProgressProperties: Required value: inProgressProperties is required when currentOperation is "Bind"',
        'status.operationStartTime: Required value: operationStartTime is required when currentOperation is present and no orphan mitigation in progress',
      ],
    ],
    [
      'Unbind has no in-progress properties; orphan mitigation needs no start time',
      {
        unbindStatus: 'Required',
        currentOperation: 'Unbind',
        orphanMitigationInProgress: true,
        inProgressProperties: {},
      },
      [
        'status.inProgressProperties: Forbidden: inProgressProperties must not be present when currentOperation is not "Bind"',
      ],
    ],
    [
      'idle means no start time or async flag; unbindStatus must be set',
      {
        operationStartTime: '2024-01-01T00:00:00Z',
        asyncOpInProgress: true,
        externalProperties: { parameterChecksum: SHA },
      },
      [
        'status.asyncOpInProgress: Forbidden: asyncOpInProgress cannot be true when there is no currentOperation',
        'status.externalProperties.parameterChecksum: Forbidden: parameterChecksum must be empty when there are no parameters',
        'status.operationStartTime: Forbidden: operationStartTime must not be present when currentOperation is not present',
        'status.unbindStatus: Unsupported value: "": supported values: "NotRequired", "Required", "Succeeded", "Failed"',
      ],
    ],
  ])('status: %s', async (_, status, expected) => {
    const obj = await created('ServiceBinding', { instanceRef: { name: 'db' } });
    expectInvalid(await update(obj, (o) => (o.status = status), 'status'), expected);
  });

  test('status: a valid Bind in progress is accepted', async () => {
    const obj = await created('ServiceBinding', { instanceRef: { name: 'db' } });
    const res = await update(
      obj,
      (o) =>
        (o.status = {
          unbindStatus: 'Required',
          currentOperation: 'Bind',
          operationStartTime: '2024-01-01T00:00:00Z',
          inProgressProperties: { parameters: { a: 1 }, parameterChecksum: SHA.toUpperCase() },
        }),
      'status',
    );
    expect(res.status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// kubectl

describe('kubectl', () => {
  test('kubectl create -f - of an invalid broker prints the field path and fails', async () => {
    const yaml = [
      'apiVersion: servicecatalog.k8s.io/v1beta1',
      'kind: ClusterServiceBroker',
      'metadata:',
      '  name: kubectl-invalid',
      'spec:',
      '  insecureSkipTLSVerify: true',
      '  caBundle: Y2E=',
      '',
    ].join('\n');
    const out = await kubectl(env.kubeconfig(), ['create', '-f', '-'], yaml);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('The ClusterServiceBroker "kubectl-invalid" is invalid');
    expect(out.stderr).toContain('spec.url: Required value: brokers must have a remote url to contact');
    expect(out.stderr).toContain(
      'spec.caBundle: Invalid value: "Y2E=": caBundle cannot be used when insecureSkipTLSVerify is true',
    );
    const get = await kubectl(env.kubeconfig(), ['get', 'clusterservicebrokers', 'kubectl-invalid']);
    expect(get.code).not.toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// The catalog restriction matcher the controller reuses

describe('catalog restriction predicates', () => {
  const cls = (name: string, externalName: string, externalID = 'id') =>
    classProperties({ metadata: { name }, spec: { externalName, externalID } });

  test.each<[string[], [string, string][], boolean[]]>([
    [[], [['a', 'A']], [true]],
    [
      ['spec.externalName=A'],
      [
        ['a', 'A'],
        ['b', 'B'],
      ],
      [true, false],
    ],
    [
      ['spec.externalName==A'],
      [
        ['a', 'A'],
        ['b', 'B'],
      ],
      [true, false],
    ],
    [
      ['spec.externalName!=A'],
      [
        ['a', 'A'],
        ['b', 'B'],
      ],
      [false, true],
    ],
    [
      ['spec.externalName in (A, C)'],
      [
        ['a', 'A'],
        ['b', 'B'],
        ['c', 'C'],
      ],
      [true, false, true],
    ],
    [
      ['spec.externalName notin (A,C)'],
      [
        ['a', 'A'],
        ['b', 'B'],
        ['c', 'C'],
      ],
      [false, true, false],
    ],
    [
      ['name!=a', 'spec.externalName in (A,B)'],
      [
        ['a', 'A'],
        ['b', 'B'],
        ['c', 'C'],
      ],
      [false, true, false],
    ],
    [
      ['name!=a,spec.externalName in (A,B)'],
      [
        ['a', 'A'],
        ['b', 'B'],
        ['c', 'C'],
      ],
      [false, true, false],
    ],
    [['spec.externalName in (a)'], [['a', 'A']], [false]],
  ])('%j', (restrictions, objects, expected) => {
    const p = parseRestrictions(restrictions, restrictionProperties.ClusterServiceClass);
    expect(objects.map(([name, ext]) => p.accepts(cls(name, ext)))).toEqual(expected);
  });

  test('plans expose spec.free and their class name', () => {
    const plan = planProperties({
      metadata: { name: 'p-1' },
      spec: { externalName: 'small', externalID: 'p-1', free: true, clusterServiceClassRef: { name: 'c-1' } },
    });
    expect(plan).toEqual({
      name: 'p-1',
      'spec.externalName': 'small',
      'spec.externalID': 'p-1',
      'spec.free': 'true',
      'spec.clusterServiceClass.name': 'c-1',
    });
    const p = parseRestrictions(
      ['spec.free=true', 'spec.clusterServiceClass.name in (c-1, c-2)'],
      restrictionProperties.ClusterServicePlan,
    );
    expect(p.accepts(plan)).toBe(true);
    expect(p.accepts({ ...plan, 'spec.free': 'false' })).toBe(false);
    const ns = planProperties({ metadata: { name: 'p' }, spec: { serviceClassRef: { name: 'c' } } });
    expect(ns).toMatchObject({ 'spec.free': 'false', 'spec.serviceClass.name': 'c' });
    expect(parseRestriction('!spec.serviceClass.name').accepts(ns)).toBe(false);
    expect(parseRestriction('spec.serviceClass.name').accepts(ns)).toBe(true);
  });

  test('predicates print in a canonical form', () => {
    expect(
      parseRestrictions(['name = a', ' spec.externalID notin ( x , y ) ', '!spec.free', 'name']).toString(),
    ).toBe('name=a,spec.externalID notin (x,y),!spec.free,name');
  });
});
