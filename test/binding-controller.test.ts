import type { ServiceBinding } from '../api-types';
import type { JournalEntry, ScriptRule } from '../brokers/scripted';
import { API_TIMEOUT_MS, Fixture, identityOf, startSuite } from './binding-fixture';
import { eventually } from './harness';
import { condition, controllerSuite } from './harness/controllers';

/**
 * The ServiceBinding controller against the scripted broker over HTTP, one test (or more) per row
 * of the platform checklist (platform-survey.md §1.3) that concerns bindings: H1-H6, B1-B8, LB,
 * GB, UB1, UB2, O1. Secret transforms, parameters, rotation (B9, B10) and abandon are in
 * binding-secrets.test.ts.
 */

const suite = controllerSuite(startSuite);

describe('bind and unbind (H1, H3, H4, H6, B2, B3, UB1)', () => {
  it('sends a complete bind, writes the Secret, and unbinds on delete', async () => {
    const f = await Fixture.create(suite, 'happy');
    await f.instance('db', 'small');
    await f.createSecret('params', { p: JSON.stringify({ readOnly: true }) });
    // H6: fields the spec does not define are ignored
    f.broker.script('bind', {
      times: 1,
      status: 201,
      body: {
        credentials: { username: 'u', password: 'p', port: 5432, nested: { a: [1, 2] }, flag: true },
        vendor_extension: { anything: 1 },
      },
      headers: { 'x-vendor': 'yes' },
    });
    const created = await f.binding('b', 'db', {
      parameters: { role: 'reader' },
      parametersFrom: [{ secretKeyRef: { name: 'params', key: 'p' } }],
    });
    const b = await f.waitReady('b');
    expect(condition(b, 'Ready')).toMatchObject({
      reason: 'InjectedBindResult',
      message: 'Injected bind result',
    });
    expect(b.status).toMatchObject({
      reconciledGeneration: b.metadata.generation,
      unbindStatus: 'Required',
      externalID: created.spec!.externalID,
      externalProperties: {
        parameters: { role: 'reader', readOnly: '<redacted>' },
        serviceClassExternalID: f.ids.db,
        servicePlanExternalID: f.ids.plans.small,
      },
    });
    expect(b.status?.externalProperties?.parameterChecksum).toMatch(/^[0-9a-f]{64}$/);
    expect(b.status?.currentOperation).toBeUndefined();
    expect(b.status?.inProgressProperties).toBeUndefined();

    // B3: one key per top-level credential; strings raw, anything else JSON
    expect(await f.secret('b')).toEqual({
      username: 'u',
      password: 'p',
      port: '5432',
      nested: '{"a":[1,2]}',
      flag: 'true',
    });
    const secret = (await f.rawSecret('b'))!;
    expect(secret.type).toBe('Opaque');
    expect(secret.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'servicecatalog.k8s.io/v1beta1',
        kind: 'ServiceBinding',
        name: 'b',
        uid: b.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);

    // B2, H1, H3, H4
    const [put] = f.binds(b.spec!.externalID);
    expect(put.method).toBe('PUT');
    expect(put.path).toBe(
      `/v2/service_instances/${f.instanceId('db')}/service_bindings/${created.spec!.externalID}`,
    );
    expect(put.query).toEqual({ accepts_incomplete: 'true' });
    expect(put.headers['x-broker-api-version']).toBe('2.17');
    expect(put.headers['content-type']).toBe('application/json');
    expect(put.body).toEqual({
      service_id: f.ids.db,
      plan_id: f.ids.plans.small,
      context: {
        platform: 'kubernetes',
        namespace: f.namespace,
        clusterid: await suite.clusterId(),
        instance_name: 'db',
      },
      bind_resource: { app_guid: f.namespaceUID },
      app_guid: f.namespaceUID,
      parameters: { role: 'reader', readOnly: true },
    });
    expect(identityOf(put.headers)).toEqual({
      platform: 'kubernetes',
      username: created.spec!.userInfo!.username,
      uid: created.spec!.userInfo!.uid ?? '',
      groups: created.spec!.userInfo!.groups ?? [],
      extra: created.spec!.userInfo!.extra ?? {},
    });
    // the sync plan's bindings need no GET
    expect(f.broker.requests('getBinding')).toHaveLength(0);
    await f.waitEvent('b', 'InjectedBindResult');

    // UB1: the Secret goes, then DELETE with service_id and plan_id
    await f.delete('b');
    await f.waitGone('b');
    expect(await f.rawSecret('b')).toBeUndefined();
    const [del] = f.unbinds(created.spec!.externalID);
    expect(del.method).toBe('DELETE');
    expect(del.query).toEqual({
      accepts_incomplete: 'true',
      service_id: f.ids.db,
      plan_id: f.ids.plans.small,
    });
    expect(del.status).toBe(200);
    expect(identityOf(del.headers)?.username).toBe(created.spec!.userInfo!.username);
    expect(f.broker.binding(f.instanceId('db'), created.spec!.externalID!)).toBeUndefined();
    await f.waitEvent('b', 'UnboundSuccessfully');

    // H1 and H4 on every request: the version, and a request identity of its own
    const all = f.broker.journal.filter((e) => e.endpoint !== 'catalog' && e.endpoint !== 'provision');
    expect(all.every((e) => e.headers['x-broker-api-version'] === '2.17')).toBe(true);
    const ids = all.map((e) => e.headers['x-broker-api-request-identity']);
    expect(ids.every((i) => typeof i === 'string' && i.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(f.broker.violations()).toEqual([]);
  });

  it('stores a 200 (already bound) answer like a 201', async () => {
    const f = await Fixture.create(suite, 'ok200');
    await f.instance('db', 'drain');
    f.broker.script('bind', { times: 1, status: 200, body: { credentials: { token: 't' } } });
    await f.binding('b', 'db');
    await f.waitReady('b');
    expect(await f.secret('b')).toEqual({ token: 't' });
    expect(f.broker.violations()).toEqual([]);
  });
});

describe('namespaced brokers', () => {
  it('binds an instance of a ServicePlan through its ServiceBroker', async () => {
    const f = await Fixture.create(suite, 'nsbroker');
    await f.namespacedBroker();
    await f.instance('db', 'async', { namespaced: true });
    const created = await f.binding('b', 'db');
    await f.waitReady('b');
    expect(await f.secret('b')).toEqual(
      f.broker.binding(f.instanceId('db'), created.spec!.externalID!)!.credentials,
    );
    await f.delete('b');
    await f.waitGone('b');
    expect(f.unbinds(created.spec!.externalID)).toHaveLength(1);
    expect(f.broker.violations()).toEqual([]);
  });
});

describe('authentication (H2)', () => {
  it('sends basic auth on every call and surfaces a 401 without orphan mitigation', async () => {
    const auth = { basic: { username: 'platform', password: 's3cret' } };
    const f = await Fixture.create(suite, 'auth', { auth });
    await f.instance('db', 'drain');
    f.broker.script('bind', { times: 1, status: 401, description: 'bad credentials' });
    const watch = await f.watch();
    await f.binding('b', 'db');
    await f.waitReady('b');
    watch.close();
    expect(
      watch.states('b').some((s) => condition(s, 'Ready')?.reason === 'BrokerAuthenticationFailed'),
    ).toBe(true);
    expect(f.binds()).toHaveLength(2);
    expect(f.unbinds()).toHaveLength(0);
    const expected = `Basic ${Buffer.from('platform:s3cret').toString('base64')}`;
    expect(f.broker.journal.every((e) => e.headers.authorization === expected)).toBe(true);
    expect(f.broker.violations()).toEqual([]);
  });
});

describe('bindable (B1, C5)', () => {
  it('never calls the broker for a plan that is not bindable', async () => {
    const f = await Fixture.create(suite, 'nobind');
    await f.instance('q', 'nobind');
    await f.binding('b', 'q');
    const b = await f.waitReason('b', 'ErrorNonbindableServiceClass');
    expect(condition(b, 'Ready')?.status).toBe('False');
    await f.instance('db', 'drain');
    await f.barrier('db');
    expect(f.broker.requests('bind', { instanceId: f.instanceId('q') })).toHaveLength(0);
    // deleting it calls nothing either: nothing was ever bound
    await f.delete('b');
    await f.waitGone('b');
    expect(f.unbinds()).toHaveLength(0);
    expect(f.broker.violations()).toEqual([]);
  });

  it('binds a bindable plan of a class that is not bindable, synchronously when bindings are not retrievable', async () => {
    const f = await Fixture.create(suite, 'legacy');
    await f.instance('l', 'legacy');
    await f.binding('b', 'l');
    await f.waitReady('b');
    const [put] = f.binds();
    // not bindings_retrievable: a bind must be synchronous, so accepts_incomplete is not sent
    expect(put.query).toEqual({});
    expect(f.broker.violations()).toEqual([]);
  });
});

describe('asynchronous binds (B4, LB, GB)', () => {
  it('polls with the operation and Retry-After, then fetches the binding', async () => {
    const f = await Fixture.create(suite, 'async');
    await f.instance('q', 'async');
    f.broker.script('bind', {
      planId: f.ids.plans.async,
      async: { operation: 'bind op/1 ü', inProgressPolls: 2, retryAfter: 1 },
    });
    // GB: 404 means "not yet"
    f.broker.script('getBinding', { times: 1, status: 404 });
    const watch = await f.watch();
    const created = await f.binding('b', 'q');
    await f.waitFor('b', (b) => b.status?.asyncOpInProgress === true);
    await eventually(async () =>
      (await suite.gauge('servicecatalog_async_operations_in_flight', { kind: 'ServiceBinding' })) === 1
        ? true
        : undefined,
    );
    const b = await f.waitReady('b');
    watch.close();
    expect(
      watch
        .states('b')
        .some(
          (s) => condition(s, 'Ready')?.reason === 'Binding' && s.status?.lastOperation === 'bind op/1 ü',
        ),
    ).toBe(true);
    expect(b.status?.asyncOpInProgress).toBeUndefined();
    expect(b.status?.lastOperation).toBeUndefined();
    expect(await f.secret('b')).toEqual(
      f.broker.binding(f.instanceId('q'), created.spec!.externalID!)!.credentials,
    );
    expect(await suite.gauge('servicecatalog_async_operations_in_flight', { kind: 'ServiceBinding' })).toBe(
      0,
    );

    const [put] = f.binds();
    expect(put.query).toEqual({ accepts_incomplete: 'true' });
    expect(put.status).toBe(202);
    // in progress, in progress, succeeded; after the GET's 404 the operation is polled once more
    const polls = f.broker.requests('bindingLastOperation');
    expect(polls).toHaveLength(4);
    for (const p of polls) {
      expect(p.query).toEqual({
        service_id: f.ids.queue,
        plan_id: f.ids.plans.async,
        operation: 'bind op/1 ü',
      });
      // percent-encoded on the wire
      expect(p.url).toContain('operation=bind%20op%2F1%20%C3%BC');
      expect(identityOf(p.headers)).toBeUndefined();
    }
    // L2 for bindings: each "in progress" answer said Retry-After: 1
    for (const i of [1, 2]) {
      expect(polls[i].time.getTime() - polls[i - 1].time.getTime()).toBeGreaterThanOrEqual(950);
    }
    const gets = f.broker.requests('getBinding');
    expect(gets.map((g) => g.status)).toEqual([404, 200]);
    expect(gets[1].query).toEqual({ service_id: f.ids.queue, plan_id: f.ids.plans.async });

    // an asynchronous unbind whose last poll answers 410 Gone: gone
    f.broker.script('unbind', { planId: f.ids.plans.async, async: { outcome: 'gone', inProgressPolls: 1 } });
    await f.delete('b');
    await f.waitGone('b');
    const unbindPolls = f.broker
      .requests('bindingLastOperation')
      .slice(polls.length)
      .map((p) => p.status);
    expect(unbindPolls).toEqual([200, 410]);
    expect(f.broker.violations()).toEqual([]);
  });

  it('polls without Retry-After on the backoff, quickly', async () => {
    const f = await Fixture.create(suite, 'asyncfast');
    await f.instance('q', 'async');
    f.broker.script('bind', { planId: f.ids.plans.async, async: { inProgressPolls: 3 } });
    await f.binding('b', 'q');
    await f.waitReady('b');
    const polls = f.broker.requests('bindingLastOperation');
    expect(polls).toHaveLength(4);
    // no Retry-After: 20 ms, 40 ms, 80 ms... apart, far below a second
    expect(polls[3].time.getTime() - polls[0].time.getTime()).toBeLessThan(900);
    expect(f.broker.violations()).toEqual([]);
  });
});

type Expect = 'orphan' | 'terminal' | 'retry';

/** B5, B6, O1 and the rest of the spec's orphan mitigation table for bind answers. */
const bindAnswers: Array<[string, string, ScriptRule, Expect]> = [
  ['5xx', 'b500', { status: 500, sideEffect: true }, 'orphan'],
  ['503 without a side effect', 'b503', { status: 503 }, 'orphan'],
  ['another 2xx (204)', 'b204', { status: 204, body: {} }, 'orphan'],
  ['a malformed 201', 'bmal201', { status: 201, malformed: true }, 'orphan'],
  ['a client timeout', 'btimeout', { delayMs: API_TIMEOUT_MS + 400, sideEffect: true }, 'orphan'],
  ['a malformed 200', 'bmal200', { status: 200, malformed: true }, 'terminal'],
  ['400', 'b400', { status: 400, description: 'no such thing' }, 'terminal'],
  ['409', 'b409', { status: 409 }, 'terminal'],
  ['422 RequiresApp', 'breqapp', { status: 422, error: 'RequiresApp' }, 'terminal'],
  ['422 ConcurrencyError', 'bconc', { status: 422, error: 'ConcurrencyError' }, 'retry'],
  [
    '422 AsyncRequired (retrievable: sent again)',
    'basyncreq',
    { status: 422, error: 'AsyncRequired' },
    'retry',
  ],
  ['408', 'b408', { status: 408 }, 'retry'],
];

describe('bind failures and orphan mitigation (B5, B6, O1)', () => {
  it.each(bindAnswers)('bind answered with %s', async (_what, prefix, rule, expected) => {
    const f = await Fixture.create(suite, prefix);
    await f.instance('db', 'drain');
    f.broker.script('bind', { ...rule, times: 1 });
    // the first DELETE of orphan mitigation fails: it is sent again
    f.broker.script('unbind', { times: 1, status: 500 });
    const watch = await f.watch();
    const created = await f.binding('b', 'db');
    const id = created.spec!.externalID!;

    if (expected === 'retry') {
      const b = await f.waitReady('b');
      expect(f.binds(b.spec!.externalID)).toHaveLength(2);
      expect(f.unbinds()).toHaveLength(0);
      // every attempt carried the same binding id and body
      expect(new Set(f.binds(b.spec!.externalID).map((e) => JSON.stringify([e.path, e.body]))).size).toBe(1);
    } else if (expected === 'terminal') {
      const b = await f.waitFor('b', (x) => condition(x, 'Failed')?.status === 'True');
      expect(condition(b, 'Ready')).toMatchObject({ status: 'False', reason: 'BindCallFailed' });
      expect(condition(b, 'Failed')?.reason).toBe('ServiceBindingReturnedFailure');
      expect(b.status?.reconciledGeneration).toBe(b.metadata.generation);
      expect(b.status?.currentOperation).toBeUndefined();
      await f.barrier('db');
      // never retried, never orphan-mitigated
      expect(f.binds(b.spec!.externalID)).toHaveLength(1);
      expect(f.unbinds(id)).toHaveLength(0);
      await f.waitEvent('b', 'ServiceBindingReturnedFailure');
    } else {
      const b = await f.waitReason('b', 'OrphanMitigationSuccessful', 20_000);
      expect(condition(b, 'Failed')).toMatchObject({ status: 'True', reason: 'BindCallFailed' });
      expect(b.status).toMatchObject({
        unbindStatus: 'Succeeded',
        reconciledGeneration: b.metadata.generation,
      });
      expect(b.status?.orphanMitigationInProgress).toBeUndefined();
      const states = watch.states('b');
      // visible while it lasts
      expect(states.some((s) => s.status?.orphanMitigationInProgress === true)).toBe(true);
      expect(
        states.some((s) => condition(s, 'Ready')?.reason === 'ServiceBindingNeedsOrphanMitigation'),
      ).toBe(true);
      expect(states.some((s) => condition(s, 'Ready')?.reason === 'OrphanMitigationFailed')).toBe(true);
      const dels = f.unbinds(id);
      expect(dels.map((d) => d.status)).toEqual([500, expect.any(Number)]);
      expect([200, 410]).toContain(dels[1].status);
      for (const d of dels) {
        expect(d.query).toMatchObject({ service_id: f.ids.db, plan_id: f.ids.plans.drain });
        // O1: the platform's own doing, on nobody's behalf
        expect(identityOf(d.headers)).toBeUndefined();
      }
      await f.barrier('db');
      expect(f.binds(b.spec!.externalID)).toHaveLength(1);
      expect(f.unbinds(id)).toHaveLength(2);
      await f.waitEvent('b', 'ServiceBindingNeedsOrphanMitigation');
      // nothing left to unbind on delete
      await f.delete('b');
      await f.waitGone('b');
      expect(f.unbinds(id)).toHaveLength(2);
    }
    watch.close();
    if (expected === 'terminal' && rule.status === 409) {
      // the broker holds a binding under this id: deleting ours unbinds it
      await f.delete('b');
      await f.waitGone('b');
      expect(f.unbinds(id).length).toBeGreaterThanOrEqual(1);
    }
    expect(f.broker.violations()).toEqual([]);
  });

  it('orphan-mitigates an asynchronous bind that failed (LB)', async () => {
    const f = await Fixture.create(suite, 'asyncfail');
    await f.instance('q', 'async');
    f.broker.script('bind', {
      planId: f.ids.plans.async,
      times: 1,
      async: { outcome: 'failed', description: 'out of capacity', inProgressPolls: 0 },
    });
    const created = await f.binding('b', 'q');
    const b = await f.waitReason('b', 'OrphanMitigationSuccessful');
    expect(condition(b, 'Failed')?.message).toContain('out of capacity');
    const dels = f.unbinds(created.spec!.externalID);
    expect(dels.length).toBeGreaterThanOrEqual(1);
    expect(f.broker.requests('getBinding')).toHaveLength(0);
    expect(f.broker.violations()).toEqual([]);
  });

  it('takes AsyncRequired as terminal when the bindings are not retrievable (no credentials could be fetched)', async () => {
    const f = await Fixture.create(suite, 'asyncreqlegacy');
    await f.instance('l', 'legacy');
    f.broker.script('bind', { status: 422, error: 'AsyncRequired', times: 1 });
    await f.binding('b', 'l');
    const b = await f.waitFor('b', (x) => condition(x, 'Failed')?.status === 'True');
    expect(condition(b, 'Failed')?.message).toContain('bindings_retrievable');
    await f.barrier('l');
    expect(f.binds(b.spec!.externalID)).toHaveLength(1);
    expect(f.binds(b.spec!.externalID)[0].query).toEqual({});
    expect(f.unbinds()).toHaveLength(0);
    expect(f.broker.violations()).toEqual([]);
  });
});

describe('binding responses (B7, B8)', () => {
  it('accepts syslog_drain_url for a service that requires syslog_drain', async () => {
    const f = await Fixture.create(suite, 'drainok');
    await f.instance('db', 'drain');
    f.broker.script('bind', {
      times: 1,
      status: 201,
      body: { credentials: { a: 'b' }, syslog_drain_url: 'syslog://logs.example.com:514' },
    });
    await f.binding('b', 'db');
    await f.waitReady('b');
    expect(await f.secret('b')).toEqual({ a: 'b' });
  });

  it('treats route_service_url without route_forwarding as invalid: a 201 is orphan-mitigated', async () => {
    const f = await Fixture.create(suite, 'routebad');
    await f.instance('db', 'drain');
    f.broker.script('bind', {
      times: 1,
      status: 201,
      body: { credentials: { a: 'b' }, route_service_url: 'https://proxy.example.com' },
    });
    const created = await f.binding('b', 'db');
    const b = await f.waitReason('b', 'OrphanMitigationSuccessful');
    expect(condition(b, 'Failed')?.message).toContain('route_forwarding');
    expect(f.unbinds(created.spec!.externalID)).toHaveLength(1);
    expect(await f.rawSecret('b')).toBeUndefined();
  });

  it('treats volume_mounts without volume_mount as invalid: a 200 is a failure without orphan mitigation', async () => {
    const f = await Fixture.create(suite, 'volbad');
    await f.instance('db', 'drain');
    f.broker.script('bind', {
      times: 1,
      status: 200,
      body: {
        credentials: {},
        volume_mounts: [
          {
            driver: 'd',
            container_dir: '/data',
            mode: 'r',
            device_type: 'shared',
            device: { volume_id: 'v' },
          },
        ],
      },
    });
    const created = await f.binding('b', 'db');
    const b = await f.waitFor('b', (x) => condition(x, 'Failed')?.status === 'True');
    expect(condition(b, 'Failed')?.message).toContain('volume_mount');
    await f.barrier('db');
    expect(f.unbinds(created.spec!.externalID)).toHaveLength(0);
  });

  it('stores endpoints, expires_at and renew_before in status', async () => {
    const f = await Fixture.create(suite, 'meta');
    await f.instance('db', 'drain');
    f.broker.script('bind', {
      times: 1,
      status: 201,
      body: {
        credentials: { a: 'b' },
        endpoints: [
          { host: 'db.example.com', ports: ['5432', '9000-9010'], protocol: 'tcp' },
          { host: '10.0.0.1', ports: ['53'] },
        ],
        metadata: { expires_at: '2030-01-02T03:04:05.678Z', renew_before: '2029-12-31T00:00:00.0Z' },
      },
    });
    await f.binding('b', 'db');
    const b = await f.waitReady('b');
    expect(b.status).toMatchObject({
      endpoints: [
        { host: 'db.example.com', ports: ['5432', '9000-9010'], protocol: 'tcp' },
        { host: '10.0.0.1', ports: ['53'] },
      ],
      expiresAt: '2030-01-02T03:04:05Z',
      renewBefore: '2029-12-31T00:00:00Z',
    });
    expect(f.broker.violations()).toEqual([]);
  });
});

describe('unbind (UB2)', () => {
  it('keeps the binding until the broker answers 200 or 410, retrying failed unbinds', async () => {
    const f = await Fixture.create(suite, 'unbindretry');
    await f.instance('db', 'drain');
    const created = await f.binding('b', 'db');
    await f.waitReady('b');
    // the latest rule first: ConcurrencyError, then 500, then the default 200
    f.broker.script('unbind', { times: 1, status: 500 });
    f.broker.script('unbind', { times: 1, status: 422, error: 'ConcurrencyError' });
    const watch = await f.watch();
    await f.delete('b');
    await f.waitGone('b');
    watch.close();
    expect(f.unbinds(created.spec!.externalID).map((d) => d.status)).toEqual([422, 500, 200]);
    const states = watch.states('b');
    expect(
      states.some(
        (s) =>
          condition(s, 'Ready')?.reason === 'UnbindCallFailed' && condition(s, 'Ready')?.status === 'Unknown',
      ),
    ).toBe(true);
    // the binding stayed (finalizer) until the unbind succeeded
    expect(
      states
        .filter((s) => condition(s, 'Ready')?.reason === 'UnbindCallFailed')
        .every((s) => s.metadata.finalizers?.length),
    ).toBe(true);
    await f.waitEvent('b', 'UnbindCallFailed');
    expect(f.broker.violations()).toEqual([]);
  });

  it('takes 410 Gone as unbound', async () => {
    const f = await Fixture.create(suite, 'unbind410');
    await f.instance('db', 'drain');
    const created = await f.binding('b', 'db');
    await f.waitReady('b');
    f.broker.script('unbind', { times: 1, status: 410, body: {} });
    await f.delete('b');
    await f.waitGone('b');
    expect(f.unbinds(created.spec!.externalID).map((d) => d.status)).toEqual([410]);
  });
});

describe('crash safety', () => {
  it('records the operation before calling the broker', async () => {
    const f = await Fixture.create(suite, 'record');
    await f.instance('db', 'drain');
    f.broker.script('bind', { times: 1, delayMs: 600 });
    const created = await f.binding('b', 'db');
    // while the broker is still answering, status already says what is being sent
    await eventually(async () => f.broker.requests('bind').some((e) => e.status === undefined) || undefined);
    const b = (await f.get('b'))!;
    expect(f.broker.requests('bind')[0].status).toBeUndefined();
    expect(b.status).toMatchObject({
      currentOperation: 'Bind',
      unbindStatus: 'Required',
      inProgressProperties: { servicePlanExternalID: f.ids.plans.drain },
    });
    expect(b.status?.operationStartTime).toBeDefined();
    expect(condition(b, 'Ready')?.reason).toBe('BindingRequestInFlight');
    await f.waitReady('b');
    expect(f.binds().map((e) => e.bindingId)).toEqual([created.spec!.externalID]);
  });
});

describe('metrics', () => {
  it('counts bindings by condition', async () => {
    // a Ready binding and a Failed one of its own, whatever other tests left behind
    const f = await Fixture.create(suite, 'metrics');
    await f.instance('db', 'drain');
    await f.instance('l', 'legacy');
    await f.binding('ok', 'db');
    await f.waitReady('ok');
    f.broker.script('bind', { status: 422, error: 'AsyncRequired', times: 1 });
    await f.binding('failed', 'l');
    await f.waitFor('failed', (x) => condition(x, 'Failed')?.status === 'True');
    await eventually(async () => {
      const { items } = await suite.api.list<ServiceBinding>(
        (await import('../api-types')).serviceBindingResource,
      );
      const readyTrue = items.filter((b) => condition(b, 'Ready')?.status === 'True').length;
      const failedTrue = items.filter((b) => condition(b, 'Failed')?.status === 'True').length;
      const g = await suite.gauge('servicecatalog_service_bindings', { condition: 'Ready', status: 'True' });
      const h = await suite.gauge('servicecatalog_service_bindings', { condition: 'Failed', status: 'True' });
      return readyTrue > 0 && failedTrue > 0 && g === readyTrue && h === failedTrue ? true : undefined;
    });
  });
});

export type { JournalEntry };
