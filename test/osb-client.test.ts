import { Registry } from 'prom-client';
import { request } from 'undici';
import { generateServingCert, type ServingCert } from '../pkg/tls/certs';
import {
  DEFAULT_IDS,
  startScriptedBroker,
  type JournalEntry,
  type ScriptedBroker,
} from '../brokers/scripted';
import {
  OSBClient,
  OSBError,
  OSBMetrics,
  isAsyncRequired,
  isConcurrencyError,
  isConflict,
  isGone,
  isMaintenanceInfoConflict,
  isNotFound,
  isRequiresApp,
  isTimeout,
  isUnauthorized,
  needsOrphanMitigation,
  parseRetryAfter,
  type BindRequest,
  type BrokerAuth,
  type OSBClientOptions,
  type ProvisionRequest,
} from '../pkg/osb';

const DB = DEFAULT_IDS.database;
const Q = DEFAULT_IDS.queue;
const AUTH: BrokerAuth = { basic: { username: 'platform', password: 's3cret:with:colons' } };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const user = {
  username: 'alice',
  uid: 'u-42',
  groups: ['dev', 'system:authenticated'],
  extra: { scopes: ['a', 'b'] },
};

const context = (name = 'db') => ({
  platform: 'kubernetes' as const,
  namespace: 'team-a',
  clusterid: 'cluster-1',
  instance_name: name,
});

const serviceOf = (planId: string): string =>
  Object.values(DEFAULT_IDS).find((s) => (Object.values(s) as string[]).includes(planId))?.serviceId ??
  DB.serviceId;

const provisionRequest = (
  planId: string = DB.small,
  extra: Partial<ProvisionRequest> = {},
): ProvisionRequest => ({
  service_id: serviceOf(planId),
  plan_id: planId,
  organization_guid: 'cluster-1',
  space_guid: 'ns-uid-1',
  context: context(),
  ...extra,
});

const bindRequest = (planId: string = DB.small, extra: Partial<BindRequest> = {}): BindRequest => ({
  service_id: serviceOf(planId),
  plan_id: planId,
  context: { platform: 'kubernetes', namespace: 'team-a', clusterid: 'cluster-1' },
  bind_resource: { app_guid: 'ns-uid-1' },
  ...extra,
});

const sync = { acceptsIncomplete: false };
const async = { acceptsIncomplete: true };

async function rejection(p: Promise<unknown>): Promise<OSBError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof OSBError) return e;
    throw e;
  }
  throw new Error('expected an OSBError');
}

let broker: ScriptedBroker;
let registry: Registry;
let client: OSBClient;
/** Set by tests that provoke violations on purpose; otherwise every test ends with none. */
let violationsExpected = false;
const clients: OSBClient[] = [];

function newClient(opts: Partial<OSBClientOptions> = {}): OSBClient {
  const c = new OSBClient({
    name: 'test-broker',
    url: broker.url,
    auth: AUTH,
    timeoutMs: 5000,
    metrics: new OSBMetrics(registry),
    ...opts,
  });
  clients.push(c);
  return c;
}

const last = (): JournalEntry => broker.journal[broker.journal.length - 1];

beforeAll(async () => {
  broker = await startScriptedBroker({ auth: AUTH });
});

afterAll(async () => {
  await broker.stop();
});

beforeEach(() => {
  broker.reset();
  violationsExpected = false;
  registry = new Registry();
  client = newClient();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  if (!violationsExpected) expect(broker.violations()).toEqual([]);
});

describe('catalog', () => {
  test('returns the catalog with every plan field typed', async () => {
    const r = await client.getCatalog();
    expect(r).toMatchObject({ kind: 'sync', status: 200 });
    const [db, queue] = r.body.services;
    expect(db).toMatchObject({
      name: 'scripted-database',
      bindable: true,
      instances_retrievable: true,
      plan_updateable: true,
    });
    const large = db.plans.find((p) => p.id === DB.large);
    expect(large?.maintenance_info).toEqual({ version: '1.2.0', description: 'Pretend OS image update.' });
    expect(large?.binding_rotatable).toBe(true);
    expect(db.plans[0].schemas?.service_instance?.create?.parameters).toMatchObject({ type: 'object' });
    expect(queue.plans[0].maximum_polling_duration).toBe(600);
    expect(queue.plans[1].bindable).toBe(false);
    expect(last().headers['x-broker-api-originating-identity']).toBeUndefined();
  });

  test('unknown fields are ignored; a catalog not matching the spec is a malformed body', async () => {
    broker.script('catalog', { body: { services: [], 'x-vendor': { a: 1 } }, times: 1 });
    expect((await client.getCatalog()).body.services).toEqual([]);

    broker.script('catalog', { body: { services: [{ id: 'x', name: 'n', plans: [] }] } });
    const e = await rejection(client.getCatalog());
    expect(e).toMatchObject({ httpStatus: 200, malformedBody: true, method: 'GetCatalog' });
    expect(e.description).toMatch(/description/);
    expect(e.description).toMatch(/bindable/);
  });
});

describe('instances', () => {
  test('synchronous provision: 201, then 200 for the same request, 409 for a different one', async () => {
    const req = provisionRequest(DB.small, { parameters: { size: 's' } });
    const first = await client.provision('i-1', req, { ...async, originatingIdentity: user });
    expect(first).toMatchObject({ kind: 'sync', status: 201, dashboardUrl: `${broker.url}/dashboard/i-1` });
    expect(first.requestId).toMatch(UUID_V4);

    const again = await client.provision('i-1', req, async);
    expect(again).toMatchObject({ kind: 'exists', status: 200, dashboardUrl: `${broker.url}/dashboard/i-1` });

    const e = await rejection(client.provision('i-1', { ...req, parameters: { size: 'm' } }, async));
    expect(isConflict(e)).toBe(true);
    expect(needsOrphanMitigation(e)).toBe(false);

    expect(broker.instances()).toHaveLength(1);
    expect(broker.instance('i-1')).toMatchObject({
      planId: DB.small,
      state: 'provisioned',
      parameters: { size: 's' },
    });
    expect(broker.requests('provision', { instanceId: 'i-1' }).map((r) => r.status)).toEqual([201, 200, 409]);
  });

  test('asynchronous provision: 202 with operation, dashboard URL and Retry-After, then polls', async () => {
    broker.script('provision', {
      planId: Q.async,
      async: { operation: 'task 10', inProgressPolls: 2, retryAfter: 5, description: 'Created.' },
      retryAfter: 3,
    });
    const r = await client.provision('q-1', provisionRequest(Q.async), async);
    expect(r).toMatchObject({
      kind: 'async',
      status: 202,
      operation: 'task 10',
      dashboardUrl: `${broker.url}/dashboard/q-1`,
      retryAfterSeconds: 3,
    });
    const poll = () =>
      client.pollInstanceLastOperation('q-1', {
        serviceId: Q.serviceId,
        planId: Q.async,
        operation: 'task 10',
      });
    expect(await poll()).toMatchObject({ kind: 'state', state: 'in progress', retryAfterSeconds: 5 });
    expect(isNotFound(await rejection(client.getInstance('q-1')))).toBe(true);
    expect(await poll()).toMatchObject({ kind: 'state', state: 'in progress' });
    const done = await poll();
    expect(done).toMatchObject({ kind: 'state', status: 200, state: 'succeeded', description: 'Created.' });
    expect(done.retryAfterSeconds).toBeUndefined();
    // brokers SHOULD NOT forget the outcome at once
    expect(await poll()).toMatchObject({ state: 'succeeded' });

    const got = await client.getInstance('q-1', { serviceId: Q.serviceId, planId: Q.async });
    expect(got).toMatchObject({ kind: 'found', body: { service_id: Q.serviceId, plan_id: Q.async } });
  });

  test('asynchronous provision that fails: state failed with description, nothing left behind', async () => {
    broker.script('provision', {
      planId: Q.async,
      async: { inProgressPolls: 0, outcome: 'failed', description: 'No capacity.' },
    });
    const r = await client.provision('q-2', provisionRequest(Q.async), async);
    expect(r.kind).toBe('async');
    const operation = r.kind === 'async' ? r.operation : undefined;
    expect(operation).toMatch(/^provision-/);
    const done = await client.pollInstanceLastOperation('q-2', {
      serviceId: Q.serviceId,
      planId: Q.async,
      operation,
    });
    expect(done).toMatchObject({ state: 'failed', description: 'No capacity.' });
    expect(broker.instance('q-2')).toBeUndefined();
  });

  test('update: synchronous 200, asynchronous 202 polled with the old plan', async () => {
    await client.provision('i-2', provisionRequest(DB.small), async);
    const r = await client.update(
      'i-2',
      { service_id: DB.serviceId, parameters: { size: 'm' }, previous_values: { plan_id: DB.small } },
      { ...async, originatingIdentity: user },
    );
    expect(r).toMatchObject({ kind: 'sync', status: 200, body: {} });
    expect(r.kind === 'sync' && r.dashboardUrl).toBeFalsy();
    expect(broker.instance('i-2')?.parameters).toEqual({ size: 'm' });

    broker.script('update', { async: { operation: 'upd', inProgressPolls: 1 }, times: 1 });
    const u = await client.update(
      'i-2',
      {
        service_id: DB.serviceId,
        plan_id: DB.large,
        maintenance_info: { version: '1.2.0' },
        context: context(),
      },
      async,
    );
    expect(u).toMatchObject({ kind: 'async', status: 202, operation: 'upd' });
    // being updated: fetching answers ConcurrencyError
    expect(isConcurrencyError(await rejection(client.getInstance('i-2')))).toBe(true);
    const poll = () =>
      client.pollInstanceLastOperation('i-2', {
        serviceId: DB.serviceId,
        planId: DB.small,
        operation: 'upd',
      });
    expect(await poll()).toMatchObject({ state: 'in progress' });
    expect(await poll()).toMatchObject({ state: 'succeeded' });
    expect(broker.instance('i-2')).toMatchObject({ planId: DB.large, maintenanceInfo: { version: '1.2.0' } });
  });

  test('update failures carry instance_usable and update_repeatable', async () => {
    await client.provision('i-3', provisionRequest(), async);
    broker.script('update', {
      status: 422,
      description: 'Quota exceeded.',
      instanceUsable: false,
      updateRepeatable: false,
    });
    const e = await rejection(
      client.update('i-3', { service_id: DB.serviceId, parameters: { size: 'm' } }, async),
    );
    expect(e).toMatchObject({
      httpStatus: 422,
      description: 'Quota exceeded.',
      instanceUsable: false,
      updateRepeatable: false,
      malformedBody: false,
    });
    expect(e.error).toBeUndefined();
    expect(needsOrphanMitigation(e)).toBe(false);
    expect(broker.instance('i-3')?.parameters).toBeUndefined();

    broker.script('update', {
      async: { inProgressPolls: 0, outcome: 'failed', instanceUsable: true, updateRepeatable: false },
    });
    const u = await client.update('i-3', { service_id: DB.serviceId, parameters: { size: 'm' } }, async);
    const operation = u.kind === 'async' ? u.operation : undefined;
    const done = await client.pollInstanceLastOperation('i-3', {
      serviceId: DB.serviceId,
      planId: DB.small,
      operation,
    });
    expect(done).toMatchObject({ state: 'failed', instanceUsable: true, updateRepeatable: false });
  });

  test('deprovision: 200, then 410 Gone; asynchronous deprovision ending in 410', async () => {
    await client.provision('i-4', provisionRequest(), async);
    const opts = { serviceId: DB.serviceId, planId: DB.small, acceptsIncomplete: true };
    expect(await client.deprovision('i-4', opts)).toMatchObject({ kind: 'sync', status: 200 });
    expect(await client.deprovision('i-4', opts)).toMatchObject({ kind: 'gone', status: 410 });
    expect(broker.instances()).toEqual([]);
    const q = broker.requests('deprovision')[0].query;
    expect(q).toEqual({ accepts_incomplete: 'true', service_id: DB.serviceId, plan_id: DB.small });

    await client.provision('q-3', provisionRequest(Q.async), async);
    await client.pollInstanceLastOperation('q-3', {
      serviceId: Q.serviceId,
      planId: Q.async,
      operation: 'provision-1',
    });
    await client.pollInstanceLastOperation('q-3', {
      serviceId: Q.serviceId,
      planId: Q.async,
      operation: 'provision-1',
    });
    broker.script('deprovision', {
      planId: Q.async,
      async: { operation: 'bye', inProgressPolls: 1, outcome: 'gone' },
    });
    const d = await client.deprovision('q-3', {
      serviceId: Q.serviceId,
      planId: Q.async,
      acceptsIncomplete: true,
    });
    expect(d).toMatchObject({ kind: 'async', status: 202, operation: 'bye' });
    const poll = () =>
      client.pollInstanceLastOperation('q-3', { serviceId: Q.serviceId, planId: Q.async, operation: 'bye' });
    expect(await poll()).toMatchObject({ kind: 'state', state: 'in progress' });
    expect(await poll()).toMatchObject({ kind: 'gone', status: 410 });
    expect(broker.instance('q-3')).toBeUndefined();
  });

  test('fetching an unknown instance is 404', async () => {
    const e = await rejection(client.getInstance('nope', { serviceId: DB.serviceId }));
    expect(isNotFound(e)).toBe(true);
    expect(e.method).toBe('GetInstance');
  });
});

describe('bindings', () => {
  test('synchronous bind returns credentials; fetch, rebind and unbind', async () => {
    await client.provision('i-5', provisionRequest(), async);
    const b = await client.bind('i-5', 'b-1', bindRequest(), { ...async, originatingIdentity: user });
    expect(b).toMatchObject({ kind: 'sync', status: 201 });
    const creds = b.kind === 'sync' ? b.body.credentials : undefined;
    expect(creds).toEqual({
      username: expect.any(String),
      password: expect.any(String),
      uri: expect.any(String),
    });

    expect(await client.bind('i-5', 'b-1', bindRequest(), async)).toMatchObject({
      kind: 'exists',
      status: 200,
      body: { credentials: creds },
    });
    const got = await client.getBinding('i-5', 'b-1', { serviceId: DB.serviceId, planId: DB.small });
    expect(got).toMatchObject({ kind: 'found', status: 200, body: { credentials: creds } });

    const opts = { serviceId: DB.serviceId, planId: DB.small, acceptsIncomplete: true };
    expect(await client.unbind('i-5', 'b-1', opts)).toMatchObject({ kind: 'sync', status: 200 });
    expect(await client.unbind('i-5', 'b-1', opts)).toMatchObject({ kind: 'gone', status: 410 });
    expect(isNotFound(await rejection(client.getBinding('i-5', 'b-1')))).toBe(true);
  });

  test('asynchronous bind and unbind are polled on the binding last_operation', async () => {
    await client.provision('q-4', provisionRequest(Q.async), async);
    const iopts = { serviceId: Q.serviceId, planId: Q.async, operation: 'provision-1' };
    await client.pollInstanceLastOperation('q-4', iopts);
    expect(await client.pollInstanceLastOperation('q-4', iopts)).toMatchObject({ state: 'succeeded' });

    const b = await client.bind('q-4', 'b-2', bindRequest(Q.async), async);
    expect(b).toMatchObject({ kind: 'async', status: 202, operation: 'bind-2' });
    const poll = (operation: string) =>
      client.pollBindingLastOperation('q-4', 'b-2', { serviceId: Q.serviceId, planId: Q.async, operation });
    expect(await poll('bind-2')).toMatchObject({ kind: 'state', state: 'in progress' });
    expect(await poll('bind-2')).toMatchObject({ kind: 'state', state: 'succeeded' });
    const got = await client.getBinding('q-4', 'b-2', { serviceId: Q.serviceId, planId: Q.async });
    expect(got.body.credentials).toMatchObject({ username: expect.any(String) });

    const u = await client.unbind('q-4', 'b-2', {
      serviceId: Q.serviceId,
      planId: Q.async,
      acceptsIncomplete: true,
    });
    expect(u).toMatchObject({ kind: 'async', status: 202, operation: 'unbind-3' });
    await poll('unbind-3');
    expect(await poll('unbind-3')).toMatchObject({ state: 'succeeded' });
    expect(broker.bindings()).toEqual([]);
  });

  test('a 202 to bind that carries credentials is malformed', async () => {
    await client.provision('i-6', provisionRequest(), async);
    broker.script('bind', { status: 202, body: { operation: 'x', credentials: { password: 'leak' } } });
    const e = await rejection(client.bind('i-6', 'b-3', bindRequest(), async));
    expect(e).toMatchObject({ httpStatus: 202, malformedBody: true });
    expect(needsOrphanMitigation(e)).toBe(true);
  });
});

describe('errors', () => {
  test('400 carries the error code and description', async () => {
    broker.script('provision', {
      status: 400,
      error: 'InvalidParameters',
      description: 'size must be s or m',
    });
    const e = await rejection(client.provision('i-7', provisionRequest(), async));
    expect(e).toMatchObject({
      httpStatus: 400,
      error: 'InvalidParameters',
      description: 'size must be s or m',
    });
    expect(e.message).toContain('InvalidParameters');
    expect(needsOrphanMitigation(e)).toBe(false);
    expect(broker.instances()).toEqual([]);
  });

  test('401 without or with wrong credentials', async () => {
    const anonymous = newClient({ auth: undefined });
    expect(isUnauthorized(await rejection(anonymous.getCatalog()))).toBe(true);
    const wrong = newClient({ auth: { basic: { username: 'platform', password: 'nope' } } });
    const e = await rejection(wrong.provision('i-8', provisionRequest(), async));
    expect(e.httpStatus).toBe(401);
    expect(needsOrphanMitigation(e)).toBe(false);
  });

  test('410 on an endpoint where it is not success is an error', async () => {
    broker.script('update', { status: 410 });
    const e = await rejection(client.update('gone', { service_id: DB.serviceId }, async));
    expect(isGone(e)).toBe(true);
  });

  test('422 AsyncRequired from a broker that needs accepts_incomplete', async () => {
    violationsExpected = true;
    const e = await rejection(client.provision('q-5', provisionRequest(Q.async), sync));
    expect(isAsyncRequired(e)).toBe(true);
    expect(e.description).toMatch(/asynchronous/);
    expect(broker.requests('provision')[0].query.accepts_incomplete).toBeUndefined();
    expect(broker.violations().map((v) => v.message)).toEqual([
      'accepts_incomplete=true is required: the plan is scripted asynchronous',
    ]);
  });

  test('422 ConcurrencyError, RequiresApp and MaintenanceInfoConflict', async () => {
    await client.provision('i-9', provisionRequest(), async);
    broker.script('deprovision', { status: 422, error: 'ConcurrencyError', times: 1 });
    const c = await rejection(
      client.deprovision('i-9', { serviceId: DB.serviceId, planId: DB.small, acceptsIncomplete: true }),
    );
    expect(isConcurrencyError(c)).toBe(true);
    expect(isAsyncRequired(c)).toBe(false);

    broker.script('bind', { status: 422, error: 'RequiresApp', description: 'Bind an app.' });
    const r = await rejection(client.bind('i-9', 'b-4', bindRequest(), async));
    expect(isRequiresApp(r)).toBe(true);
    expect(needsOrphanMitigation(r)).toBe(false);

    const m = await rejection(
      client.provision('i-10', provisionRequest(DB.large, { maintenance_info: { version: '1.1.0' } }), async),
    );
    expect(isMaintenanceInfoConflict(m)).toBe(true);
    expect(broker.instance('i-10')).toBeUndefined();
  });

  test('5xx, with Retry-After as seconds and as an HTTP-date', async () => {
    broker.script('provision', { status: 500, times: 1 });
    const e500 = await rejection(client.provision('i-11', provisionRequest(), async));
    expect(e500).toMatchObject({ httpStatus: 500, malformedBody: false, timedOut: false });
    expect(e500.retryAfterSeconds).toBeUndefined();
    expect(needsOrphanMitigation(e500)).toBe(true);
    expect(broker.instance('i-11')).toBeUndefined();

    broker.script('update', { status: 503, retryAfter: 30, times: 1 });
    await client.provision('i-11', provisionRequest(), async);
    const e503 = await rejection(client.update('i-11', { service_id: DB.serviceId }, async));
    expect(e503).toMatchObject({ httpStatus: 503, retryAfterSeconds: 30 });
    expect(needsOrphanMitigation(e503)).toBe(false);

    broker.script('lastOperation', { retryAfter: new Date(Date.now() + 120_000).toUTCString() });
    const r = await client.pollInstanceLastOperation('i-11', { serviceId: DB.serviceId, planId: DB.small });
    expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(118);
    expect(r.retryAfterSeconds).toBeLessThanOrEqual(121);
  });

  test('malformed success bodies: 201 and 202 (orphan mitigation) versus 200 (none)', async () => {
    broker.script('provision', { malformed: true, times: 1 });
    const e201 = await rejection(client.provision('i-12', provisionRequest(), async));
    expect(e201).toMatchObject({
      httpStatus: 201,
      malformedBody: true,
      description: 'response body is not JSON',
    });
    expect(needsOrphanMitigation(e201)).toBe(true);
    // the broker did the work: orphan mitigation finds something to delete
    expect(broker.instance('i-12')).toBeDefined();
    expect(
      await client.deprovision('i-12', {
        serviceId: DB.serviceId,
        planId: DB.small,
        acceptsIncomplete: true,
      }),
    ).toMatchObject({
      kind: 'sync',
    });

    broker.script('provision', { status: 200, malformed: true, times: 1 });
    const e200 = await rejection(client.provision('i-13', provisionRequest(), async));
    expect(e200).toMatchObject({ httpStatus: 200, malformedBody: true });
    expect(needsOrphanMitigation(e200)).toBe(false);

    broker.script('provision', { planId: Q.async, async: true, malformed: true, times: 1 });
    const e202 = await rejection(client.provision('q-6', provisionRequest(Q.async), async));
    expect(e202).toMatchObject({ httpStatus: 202, malformedBody: true });
    expect(needsOrphanMitigation(e202)).toBe(true);

    broker.script('provision', { body: { dashboard_url: 42 }, times: 1 });
    const typed = await rejection(client.provision('i-14', provisionRequest(), async));
    expect(typed).toMatchObject({ httpStatus: 201, malformedBody: true });
    expect(typed.description).toMatch(/dashboard_url/);

    broker.script('lastOperation', { body: { state: 'done' }, times: 1 });
    const lo = await rejection(client.pollInstanceLastOperation('i-13'));
    expect(lo).toMatchObject({ httpStatus: 200, malformedBody: true, method: 'PollLastOperation' });

    broker.script('deprovision', { body: 'ok', times: 1 });
    const del = await rejection(
      client.deprovision('i-13', { serviceId: DB.serviceId, planId: DB.small, acceptsIncomplete: true }),
    );
    expect(del).toMatchObject({ httpStatus: 200, malformedBody: true });
  });

  test('a 2xx the endpoint does not define is a failure', async () => {
    broker.script('provision', { status: 204, body: {} });
    const e = await rejection(client.provision('i-15', provisionRequest(), async));
    expect(e).toMatchObject({ httpStatus: 204, malformedBody: false });
    expect(needsOrphanMitigation(e)).toBe(true);
  });

  test('a broker slower than the timeout', async () => {
    const impatient = newClient({ timeoutMs: 200 });
    broker.script('provision', { delayMs: 2000, sideEffect: false });
    const e = await rejection(impatient.provision('i-16', provisionRequest(), async));
    expect(isTimeout(e)).toBe(true);
    expect(e).toMatchObject({ timedOut: true, method: 'ProvisionInstance' });
    expect(e.httpStatus).toBeUndefined();
    expect(needsOrphanMitigation(e)).toBe(true);
    const count = await registry.getSingleMetric('servicecatalog_osb_request_count')?.get();
    expect(count?.values).toContainEqual({
      labels: { broker: 'test-broker', method: 'ProvisionInstance', status: 'timeout' },
      value: 1,
    });
  });

  test('a broker that is not there', async () => {
    const probe = await startScriptedBroker();
    const url = probe.url;
    await probe.stop();
    const e = await rejection(newClient({ url }).getCatalog());
    expect(e).toMatchObject({ timedOut: false, malformedBody: false });
    expect(e.httpStatus).toBeUndefined();
    expect(e.cause).toBeDefined();
    const count = await registry.getSingleMetric('servicecatalog_osb_request_count')?.get();
    expect(count?.values).toContainEqual({
      labels: { broker: 'test-broker', method: 'GetCatalog', status: 'error' },
      value: 1,
    });
  });
});

describe('Retry-After parsing', () => {
  const now = Date.parse('2024-05-01T10:00:00Z');
  test.each<[string | undefined, number | undefined]>([
    ['7', 7],
    [' 12 ', 12],
    ['0', 0],
    ['Wed, 01 May 2024 10:01:30 GMT', 90],
    ['Wed, 01 May 2024 09:00:00 GMT', 0],
    ['Wednesday, 01-May-24 10:00:10 GMT', 10],
    ['Wed May  1 10:00:05 2024', 5],
    ['-1', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['2024-05-01T10:01:00Z', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %j', (header, seconds) => {
    expect(parseRetryAfter(header, now)).toBe(seconds);
  });
});

describe('headers', () => {
  test('version, a fresh request identity per request, originating identity only when given', async () => {
    await client.getCatalog();
    await client.provision('i-17', provisionRequest(), { ...async, originatingIdentity: user });
    await client.pollInstanceLastOperation('i-17', { serviceId: DB.serviceId, planId: DB.small });
    const [catalog, provision, poll] = broker.journal;
    const ids = broker.journal.map((e) => e.headers['x-broker-api-request-identity']);
    for (const e of broker.journal) {
      expect(e.headers['x-broker-api-version']).toBe('2.17');
      expect(e.headers.authorization).toBe(
        `Basic ${Buffer.from('platform:s3cret:with:colons').toString('base64')}`,
      );
      expect(e.headers.accept).toBe('application/json');
    }
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(3);

    expect(catalog.headers['x-broker-api-originating-identity']).toBeUndefined();
    expect(poll.headers['x-broker-api-originating-identity']).toBeUndefined();
    const header = provision.headers['x-broker-api-originating-identity'];
    const [platform, value] = header.split(' ');
    expect(platform).toBe('kubernetes');
    expect(JSON.parse(Buffer.from(value, 'base64').toString('utf8'))).toEqual(user);
    expect(provision.originatingIdentity).toEqual({ platform: 'kubernetes', value: user });
    expect(provision.headers['content-type']).toBe('application/json');
    expect(provision.body).toEqual(provisionRequest());
    expect(catalog.headers['content-type']).toBeUndefined();
  });

  test('bearer authentication', async () => {
    const bearerBroker = await startScriptedBroker({ auth: { bearer: { token: 'tok-123' } } });
    try {
      const good = newClient({ url: bearerBroker.url, auth: { bearer: { token: 'tok-123' } } });
      expect((await good.getCatalog()).status).toBe(200);
      expect(bearerBroker.journal[0].headers.authorization).toBe('Bearer tok-123');
      const bad = newClient({ url: bearerBroker.url, auth: { bearer: { token: 'tok-999' } } });
      expect(isUnauthorized(await rejection(bad.getCatalog()))).toBe(true);
      const basic = newClient({ url: bearerBroker.url });
      expect(isUnauthorized(await rejection(basic.getCatalog()))).toBe(true);
      expect(bearerBroker.violations()).toEqual([]);
    } finally {
      await bearerBroker.stop();
    }
  });

  test('ids in paths and query parameters are percent-encoded', async () => {
    const iid = 'inst ance/ü?#%&+';
    const bid = 'bind/ing 1+=';
    const operation = 'op &=+/ é?#';
    broker.script('provision', { planId: Q.async, async: { operation, inProgressPolls: 0 } });
    const r = await client.provision(iid, provisionRequest(Q.async), async);
    expect(r).toMatchObject({ kind: 'async', operation });
    await client.pollInstanceLastOperation(iid, { serviceId: Q.serviceId, planId: Q.async, operation });
    await client.bind(iid, bid, bindRequest(Q.async), async);
    await client.pollBindingLastOperation(iid, bid, {
      serviceId: Q.serviceId,
      planId: Q.async,
      operation: 'bind-1',
    });

    const [provision, poll, bind, bpoll] = broker.journal;
    const enc = encodeURIComponent;
    expect(provision.path).toBe(`/v2/service_instances/${enc(iid)}`);
    expect(provision.url).toBe(`/v2/service_instances/${enc(iid)}?accepts_incomplete=true`);
    expect(provision.instanceId).toBe(iid);
    expect(poll.url).toBe(
      `/v2/service_instances/${enc(iid)}/last_operation?service_id=${Q.serviceId}&plan_id=${Q.async}&operation=${enc(operation)}`,
    );
    expect(poll.query.operation).toBe(operation);
    expect(poll.status).toBe(200);
    expect(bind.path).toBe(`/v2/service_instances/${enc(iid)}/service_bindings/${enc(bid)}`);
    expect(bind.bindingId).toBe(bid);
    expect(bpoll.path).toBe(`/v2/service_instances/${enc(iid)}/service_bindings/${enc(bid)}/last_operation`);

    const del = { serviceId: Q.serviceId, planId: Q.async, acceptsIncomplete: true };
    broker.script('unbind', { planId: Q.async, async: { operation: 'u', inProgressPolls: 0 } });
    expect(await client.unbind(iid, bid, del)).toMatchObject({ kind: 'async', operation: 'u' });
    await client.pollBindingLastOperation(iid, bid, {
      serviceId: Q.serviceId,
      planId: Q.async,
      operation: 'u',
    });
    expect(await client.unbind(iid, bid, del)).toMatchObject({ kind: 'gone' });
  });

  test('sequential requests of one client reuse kept-alive connections', async () => {
    for (let i = 0; i < 3; i++) {
      await client.provision(`i-22-${i}`, provisionRequest(), async);
      await client.deprovision(`i-22-${i}`, {
        serviceId: DB.serviceId,
        planId: DB.small,
        acceptsIncomplete: true,
      });
    }
    const ports = broker.journal.map((e) => e.remotePort);
    expect(ports).toEqual(Array(6).fill(expect.any(Number)));
    expect(new Set(ports).size).toBeLessThan(ports.length);
  });

  test('a URL path prefix is kept', async () => {
    const prefixed = newClient({ url: `${broker.url}/osb/` });
    await rejection(prefixed.getCatalog());
    expect(last().path).toBe('/osb/v2/catalog');
    expect(last().status).toBe(404);
  });
});

describe('metrics', () => {
  test('requests are counted by broker, method and status, and timed', async () => {
    await client.getCatalog();
    await client.provision('i-18', provisionRequest(), async);
    await rejection(
      client.provision('i-18', provisionRequest(DB.small, { parameters: { size: 'm' } }), async),
    );
    // a second OSBMetrics on the same registry shares the metrics
    const other = newClient({ name: 'other-broker', metrics: new OSBMetrics(registry) });
    await other.getCatalog();

    const count = await registry.getSingleMetric('servicecatalog_osb_request_count')?.get();
    expect(count?.values).toEqual(
      expect.arrayContaining([
        { labels: { broker: 'test-broker', method: 'GetCatalog', status: '200' }, value: 1 },
        { labels: { broker: 'test-broker', method: 'ProvisionInstance', status: '201' }, value: 1 },
        { labels: { broker: 'test-broker', method: 'ProvisionInstance', status: '409' }, value: 1 },
        { labels: { broker: 'other-broker', method: 'GetCatalog', status: '200' }, value: 1 },
      ]),
    );
    const text = await registry.metrics();
    expect(text).toMatch(
      /servicecatalog_osb_request_duration_seconds_count\{broker="test-broker",method="ProvisionInstance"\} 2/,
    );
  });
});

describe('TLS', () => {
  let cert: ServingCert;
  let otherCA: ServingCert;
  let tlsBroker: ScriptedBroker;

  beforeAll(async () => {
    cert = generateServingCert(['127.0.0.1', 'localhost']);
    otherCA = generateServingCert(['127.0.0.1', 'localhost']);
    tlsBroker = await startScriptedBroker({ tls: { cert: cert.cert, key: cert.key } });
  });

  afterAll(async () => {
    await tlsBroker.stop();
  });

  test('the broker CA in caBundle is trusted', async () => {
    expect(tlsBroker.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const c = newClient({ url: tlsBroker.url, auth: undefined, caBundle: cert.ca });
    expect((await c.getCatalog()).status).toBe(200);
    const again = await c.provision('t-1', provisionRequest(), async);
    expect(again.kind).toBe('sync');
    expect(tlsBroker.violations()).toEqual([]);
  });

  test('another CA, or none, is not', async () => {
    for (const caBundle of [otherCA.ca, undefined]) {
      const c = newClient({ url: tlsBroker.url, auth: undefined, caBundle });
      const e = await rejection(c.getCatalog());
      expect(e).toMatchObject({ timedOut: false });
      expect(e.httpStatus).toBeUndefined();
      expect(String((e.cause as Error).message)).toMatch(/certificate/i);
    }
  });

  test('insecureSkipTLSVerify skips verification', async () => {
    const c = newClient({ url: tlsBroker.url, auth: undefined, insecureSkipTLSVerify: true });
    expect((await c.getCatalog()).status).toBe(200);
  });
});

describe('the scripted broker is strict', () => {
  beforeEach(() => {
    violationsExpected = true;
  });

  test('a sloppy provision is refused with every violation listed', async () => {
    const sloppy = {
      service_id: DB.serviceId,
      plan_id: 'no-such-plan',
      context: { platform: 'cloudfoundry' },
    };
    const e = await rejection(
      client.provision('i-19', sloppy as unknown as ProvisionRequest, {
        ...async,
        originatingIdentity: user,
      }),
    );
    expect(e).toMatchObject({ httpStatus: 400, error: 'BadRequest' });
    expect(broker.violations().map((v) => [v.message, v.refused])).toEqual([
      ['plan_id no-such-plan is not in the catalog', true],
      ['organization_guid is required (deprecated, still REQUIRED)', true],
      ['space_guid is required (deprecated, still REQUIRED)', true],
      ['X-Broker-API-Originating-Identity platform must equal context.platform', true],
      ['context.platform must be "kubernetes", not "cloudfoundry"', false],
      ['context.namespace must be a non-empty string', false],
      ['context.clusterid must be a non-empty string', false],
      ['context.instance_name must be a non-empty string', false],
    ]);
    expect(broker.instances()).toEqual([]);
  });

  test('what the spec leaves optional is served: no request identity, context or originating identity', async () => {
    const auth = `Basic ${Buffer.from('platform:s3cret:with:colons').toString('base64')}`;
    const res = await request(`${broker.url}/v2/service_instances/plain-1`, {
      method: 'PUT',
      headers: { authorization: auth, 'x-broker-api-version': '2.17', 'content-type': 'application/json' },
      body: JSON.stringify({
        service_id: DB.serviceId,
        plan_id: DB.small,
        organization_guid: 'org',
        space_guid: 'space',
      }),
    });
    await res.body.dump();
    expect(res.statusCode).toBe(201);
    expect(broker.instance('plain-1')).toBeDefined();
    // what the Kubernetes profile asks of our platform is still told
    expect(broker.violations().map((v) => [v.message, v.refused])).toEqual([
      ['missing X-Broker-API-Request-Identity header', false],
      ['context is required', false],
    ]);
  });

  test('missing or old API version is 412', async () => {
    const auth = `Basic ${Buffer.from('platform:s3cret:with:colons').toString('base64')}`;
    const get = (headers: Record<string, string>) =>
      request(`${broker.url}/v2/catalog`, { headers: { authorization: auth, ...headers } }).then(
        async (r) => ({
          status: r.statusCode,
          body: (await r.body.json()) as { error?: string },
        }),
      );
    expect(await get({ 'x-broker-api-request-identity': 'r1' })).toEqual({
      status: 412,
      body: expect.objectContaining({ error: 'PreconditionFailed' }),
    });
    expect(
      (await get({ 'x-broker-api-version': '2.12', 'x-broker-api-request-identity': 'r2' })).status,
    ).toBe(412);
    expect(
      (await get({ 'x-broker-api-version': '2.13', 'x-broker-api-request-identity': 'r3' })).status,
    ).toBe(200);
    expect(broker.violations().map((v) => v.message)).toEqual([
      'missing X-Broker-API-Version header',
      'X-Broker-API-Version 2.12 is older than 2.13',
    ]);
  });

  test('deletes need service_id and plan_id; polls must echo the operation; bindings go before the instance', async () => {
    await client.provision('q-7', provisionRequest(Q.async), async);
    await rejection(client.pollInstanceLastOperation('q-7', { serviceId: Q.serviceId, planId: Q.async }));
    await rejection(client.deprovision('q-7', { serviceId: '', planId: '', acceptsIncomplete: true }));
    await client.provision('i-20', provisionRequest(), async);
    await client.bind('i-20', 'b-5', bindRequest(), async);
    await rejection(
      client.deprovision('i-20', { serviceId: DB.serviceId, planId: DB.small, acceptsIncomplete: true }),
    );
    expect(broker.violations().map((v) => `${v.endpoint}: ${v.message}`)).toEqual([
      'lastOperation: operation query parameter must echo the broker\'s operation "provision-1"',
      'deprovision: service_id query parameter is required',
      'deprovision: plan_id query parameter is required',
      'deprovision: deprovision while the instance still has bindings (they MUST be deleted first)',
    ]);
  });

  test('binding a non-bindable plan, changing a non-updateable plan, rotating a non-rotatable binding', async () => {
    await client.provision('q-8', provisionRequest(Q.notBindable), async);
    await rejection(client.bind('q-8', 'b-6', bindRequest(Q.notBindable), async));
    await rejection(client.update('q-8', { service_id: Q.serviceId, plan_id: Q.async }, async));
    await client.provision('i-21', provisionRequest(), async);
    await client.bind('i-21', 'b-7', bindRequest(), async);
    await rejection(
      client.bind('i-21', 'b-8', bindRequest(DB.small, { predecessor_binding_id: 'b-7' }), async),
    );
    expect(broker.violations().map((v) => v.message)).toEqual([
      `plan ${Q.notBindable} is not bindable`,
      `plan change requested but plan ${Q.notBindable} is not plan_updateable`,
      `plan ${DB.small} is not binding_rotatable`,
    ]);
  });
});
