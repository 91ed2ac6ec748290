import { defaultAdmissionPlugins } from '../apiserver/admission';
import type { JournalEntry, ScriptRule } from '../brokers/scripted';
import type { ControllerManager } from '../controller-manager/manager';
import { KubeClient } from '../pkg/kube/client';
import { eventually } from './harness';
import { condition, startManager, type ControllerEnv } from './harness/controllers';
import { Fixture, gaps, startSuite, testCatalog, type Instance } from './instance-fixture';

/**
 * Orphan mitigation per the spec's table, the broker errors that must not cause it, the
 * controller's own refusal of plan changes (ServicePlanChangeValidator is off in this suite, so
 * the controller is what refuses), and a controller killed mid-provision.
 */

let suite: ControllerEnv;

beforeAll(async () => {
  suite = await startSuite({
    admissionPlugins: defaultAdmissionPlugins.filter((n) => n !== 'ServicePlanChangeValidator'),
  });
}, 60_000);

afterAll(async () => {
  await suite?.stop();
});

afterEach(() => {
  for (const b of suite.brokers) expect(b.violations()).toEqual([]);
});

/** What the broker saw for one instance, in order: `PUT 500`, `DELETE 200`, `GET 200`... */
const calls = (f: Fixture, inst: Instance) =>
  f.broker.journal
    .filter((e) => e.instanceId === inst.spec?.externalID)
    .map((e) => `${e.method} ${e.status}`);

describe('orphan mitigation', () => {
  it('P8, O1: after a 500 it sends DELETE until 200 (backoff, no originating identity, visible in status), then provisions again', async () => {
    const f = await Fixture.create(suite, 'om500');
    // the broker did create the instance before failing: an orphan
    f.broker.script('provision', { status: 500, sideEffect: true, times: 1 });
    f.broker.script('deprovision', { status: 500, times: 2 });
    await f.instance('db');
    const mitigating = await f.waitFor('db', (i) => i.status?.orphanMitigationInProgress === true);
    expect(condition(mitigating, 'OrphanMitigation')).toMatchObject({
      status: 'True',
      reason: 'StartingInstanceOrphanMitigation',
    });
    // the first DELETE may have failed already by the time we look
    expect(condition(mitigating, 'Ready')!.reason).toMatch(
      /^(StartingInstanceOrphanMitigation|OrphanMitigationFailed)$/,
    );
    expect(mitigating.status?.currentOperation).toBe('Provision');

    const inst = await f.waitReady('db');
    expect(calls(f, inst)).toEqual(['PUT 500', 'DELETE 500', 'DELETE 500', 'DELETE 200', 'PUT 201']);
    const dels = f.requests('deprovision', inst);
    for (const d of dels) {
      expect(d.query).toEqual({
        accepts_incomplete: 'true',
        service_id: f.ids.db,
        plan_id: f.ids.plans.small,
      });
      expect(d.headers).not.toHaveProperty('x-broker-api-originating-identity');
    }
    const [g1, g2] = gaps(dels);
    expect(g2).toBeGreaterThan(g1);
    expect(condition(inst, 'OrphanMitigation')).toMatchObject({
      status: 'False',
      reason: 'OrphanMitigationSuccessful',
    });
    expect(f.broker.instances().filter((i) => i.id === inst.spec!.externalID)).toHaveLength(1);
    await f.waitEvent('db', 'StartingInstanceOrphanMitigation', 'Warning');
    await f.waitEvent('db', 'OrphanMitigationFailed', 'Warning');
    await f.waitEvent('db', 'OrphanMitigationSuccessful', 'Normal');
  });

  it.each<[string, ScriptRule]>([
    ['another 2xx (204)', { status: 204, body: {}, sideEffect: true }],
    ['a malformed 201', { status: 201, malformed: true }],
    ['a malformed 202', { status: 202, malformed: true }],
  ])('P8: %s is orphan-mitigated', async (what, rule) => {
    const prefix = `om${what.replace(/[^a-z0-9]/g, '')}`.slice(0, 20);
    const f = await Fixture.create(suite, prefix);
    f.broker.script('provision', { ...rule, times: 1 });
    await f.instance('db');
    const inst = await f.waitReady('db');
    const seen = calls(f, inst);
    expect(seen[0]).toBe(`PUT ${rule.status}`);
    expect(seen.slice(-2)).toEqual(['DELETE 200', 'PUT 201']);
    expect(f.broker.instances().filter((i) => i.id === inst.spec!.externalID)).toHaveLength(1);
  });

  it('P8: a client timeout is orphan-mitigated; the instance ends up provisioned once', async () => {
    const f = await Fixture.create(suite, 'omtimeout');
    f.broker.script('provision', { delayMs: 2500, times: 1 });
    await f.instance('db');
    const inst = await f.waitReady('db');
    await eventually(async () => f.requests('provision', inst).every((e) => e.status !== undefined), 10_000);
    const puts = f.requests('provision', inst);
    const [del] = f.requests('deprovision', inst);
    expect(del.seq).toBeGreaterThan(puts[0].seq);
    expect(del.seq).toBeLessThan(puts[1].seq);
    expect(puts.map((p) => p.status).sort()).toEqual([200, 201]);
    expect(f.broker.instances().filter((i) => i.id === inst.spec!.externalID)).toHaveLength(1);
  });
});

describe('no orphan mitigation', () => {
  it.each<[string, ScriptRule, string]>([
    ['408', { status: 408 }, 'ready'],
    ['412', { status: 412, error: 'PreconditionFailed' }, 'ready'],
    ['401', { status: 401 }, 'ready'],
    ['422 ConcurrencyError', { status: 422, error: 'ConcurrencyError' }, 'ready'],
    ['422 AsyncRequired', { status: 422, error: 'AsyncRequired' }, 'ready'],
    ['a malformed 200', { status: 200, malformed: true }, 'ready'],
    ['a first 409', { status: 409 }, 'ClusterServiceBrokerReturnedFailure'],
    ['422 RequiresApp', { status: 422, error: 'RequiresApp' }, 'ClusterServiceBrokerReturnedFailure'],
  ])('P5-P7, P9, H2: %s', async (what, rule, outcome) => {
    const prefix = `no${what.replace(/[^a-zA-Z0-9]/g, '').toLowerCase()}`.slice(0, 20);
    const f = await Fixture.create(suite, prefix);
    f.broker.script('provision', { ...rule, times: 1 });
    await f.instance('db');
    let inst: Instance;
    if (outcome === 'ready') {
      inst = await f.waitReady('db');
      expect(f.requests('provision', inst)).toHaveLength(2);
      // every attempt asks for asynchronous operation
      for (const p of f.requests('provision', inst)) expect(p.query).toEqual({ accepts_incomplete: 'true' });
    } else {
      inst = await f.waitReason('db', 'Failed', outcome);
      expect(inst.status).toMatchObject({ currentOperation: '', deprovisionStatus: 'NotRequired' });
      expect(f.requests('provision', inst)).toHaveLength(1);
    }
    expect(f.requests('deprovision', inst)).toHaveLength(0);
    if (rule.error === 'ConcurrencyError')
      await f.waitEvent('db', 'ErrorAsyncOperationInProgress', 'Warning');
  });

  it('P6: MaintenanceInfoConflict has the catalog fetched again, then the provision is retried with the new maintenance_info', async () => {
    const f = await Fixture.create(suite, 'p6mic', { register: false });
    // the first catalog is stale: the broker runs 1.2.0 on `large`
    f.broker.script('catalog', { body: testCatalog('p6mic', { largeMaintenance: '1.1.0' }), times: 1 });
    await f.register();
    await f.instance('db', { clusterServicePlanExternalName: 'large', parameters: null });
    const inst = await f.waitReady('db');
    const puts = f.requests('provision', inst);
    // refused until the fresh catalog is in (the retry may come before it)
    const last = puts.pop()!;
    expect(last.status).toBe(201);
    expect(last.body).toMatchObject({ maintenance_info: { version: '1.2.0' } });
    expect(puts.length).toBeGreaterThanOrEqual(1);
    for (const p of puts) {
      expect(p.status).toBe(422);
      expect(p.body).toMatchObject({ maintenance_info: { version: '1.1.0' } });
    }
    expect(f.broker.requests('catalog').length).toBeGreaterThanOrEqual(2);
    expect(inst.status?.maintenanceInfo).toEqual({ version: '1.2.0' });
    expect(f.requests('deprovision', inst)).toHaveLength(0);
  });

  it('P5: a re-sent provision answered 409 asks last_operation instead of failing', async () => {
    const f = await Fixture.create(suite, 'resend409');
    // the first attempt did create the instance although the broker said ConcurrencyError
    f.broker.script('provision', { status: 409, times: 1 });
    f.broker.script('provision', { status: 422, error: 'ConcurrencyError', sideEffect: true, times: 1 });
    await f.instance('db');
    const inst = await f.waitReady('db');
    expect(calls(f, inst)).toEqual(['PUT 422', 'PUT 409', 'GET 200']);
    expect(f.requests('lastOperation', inst)[0].query).toEqual({
      service_id: f.ids.db,
      plan_id: f.ids.plans.small,
    });
  });
});

describe('plan changes the controller refuses', () => {
  it('U2, C5: refuses before calling the broker when the current plan (or else its class) is not plan_updateable', async () => {
    const f = await Fixture.create(suite, 'u2');
    await f.instance('fixed', { clusterServicePlanExternalName: 'fixed', parameters: null });
    await f.waitReady('fixed');
    await f.patchSpec('fixed', { clusterServicePlanExternalName: 'large' });
    const refused = await f.waitReason('fixed', 'Failed', 'PlanNotUpdatable');
    expect(condition(refused, 'Failed')!.message).toContain('is not plan_updateable');
    expect(f.requests('update', refused)).toHaveLength(0);

    // queue: the class says no; its plan `async` leaves it to the class, `short` says yes
    const queue = { clusterServiceClassExternalName: 'u2-queue' };
    await f.instance('a', { ...queue, clusterServicePlanExternalName: 'async' });
    await f.instance('s', { ...queue, clusterServicePlanExternalName: 'short' });
    await f.waitReady('a');
    await f.waitReady('s');
    await f.patchSpec('a', { clusterServicePlanExternalName: 'short' });
    await f.patchSpec('s', { clusterServicePlanExternalName: 'async' });
    const a = await f.waitReason('a', 'Failed', 'PlanNotUpdatable');
    expect(f.requests('update', a)).toHaveLength(0);
    const s = await f.waitFor(
      's',
      (i) => i.status?.externalProperties?.clusterServicePlanExternalID === f.ids.plans.async,
    );
    expect(f.requests('update', s).map((e) => e.body)).toMatchObject([{ plan_id: f.ids.plans.async }]);
  });
});

/** A client that fails every call once killed, as a process that died would make none. */
function killable(client: KubeClient): { client: KubeClient; kill(): void } {
  let dead = false;
  const proxy = new Proxy(client, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (dead) return Promise.reject(new Error('killed'));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { client: proxy, kill: () => (dead = true) };
}

describe('controller-managers of their own', () => {
  let spare: ControllerManager | undefined;

  beforeAll(async () => {
    // only the managers of these tests act
    await suite.manager.shutdown();
  });

  afterAll(async () => {
    await spare?.shutdown();
    // the suite's own manager again, for stop()
    await suite.restartManager();
  });

  /** Registers the fixture's broker with a first controller-manager, which dies while the broker holds the PUT. */
  async function crashDuringProvision(f: Fixture, name: string, spec: Record<string, unknown> = {}) {
    const first = killable(KubeClient.load(suite.env.kubeconfig()));
    const m1 = await startManager(suite.newManager(first.client, { osbApiRequestTimeoutMs: 30_000 }));
    await f.register();
    const created = await f.instance(name, spec);
    // the PUT is at the broker, unanswered
    const [put] = await eventually(async () => {
      const puts = f.broker.requests('provision', { instanceId: created.spec!.externalID });
      return puts.length === 1 && puts[0].status === undefined ? puts : undefined;
    });
    first.kill();
    const stopping = m1.shutdown().catch(() => undefined);
    // what the dead controller left: the operation it had started
    const left = (await f.get(name))!;
    expect(left.status).toMatchObject({ currentOperation: 'Provision', deprovisionStatus: 'Required' });
    expect(left.status?.inProgressProperties?.clusterServicePlanExternalID).toBeDefined();
    spare = suite.newManager(undefined, { osbApiRequestTimeoutMs: 30_000 });
    await spare.start();
    return { put, stopping };
  }

  it('gives up after --reconciliation-retry-duration: Failed for good, orphan-mitigated, no more attempts', async () => {
    const f = await Fixture.create(suite, 'giveup', { register: false });
    const m = suite.newManager(undefined, { reconciliationRetryDurationMs: 1500 });
    try {
      await startManager(m);
      await f.register();
      f.broker.script('provision', { status: 503 });
      await f.instance('db');
      const inst = await f.waitFor(
        'db',
        (i) =>
          condition(i, 'Failed')?.reason === 'ErrorReconciliationRetryTimeout' && !i.status?.currentOperation,
        20_000,
      );
      expect(condition(inst, 'Failed')).toMatchObject({
        status: 'True',
        message: 'Stopping reconciliation retries because too much time has elapsed',
      });
      expect(inst.status).toMatchObject({
        provisionStatus: 'NotProvisioned',
        deprovisionStatus: 'Succeeded',
      });
      const seen = calls(f, inst);
      // every 503 was mitigated, and so was the last attempt
      expect(seen.filter((c) => c === 'PUT 503').length).toBeGreaterThanOrEqual(2);
      seen.forEach((c, i) => c === 'PUT 503' && expect(seen[i + 1]).toBe('DELETE 410'));
      expect(seen.at(-1)).toBe('DELETE 410');
    } finally {
      await m.shutdown();
    }
  });

  it('re-sends the same provision and ends with one instance, provisioned once (sync)', async () => {
    const f = await Fixture.create(suite, 'crash', { register: false });
    f.broker.script('provision', { delayMs: 2000, times: 1 });
    const { put, stopping } = await crashDuringProvision(f, 'db');
    const inst = await f.waitReady('db', 20_000);
    await stopping;
    const puts: JournalEntry[] = await eventually(async () => {
      const all = f.requests('provision', inst);
      return all.every((p) => p.status !== undefined) ? all : undefined;
    }, 10_000);
    expect(puts.length).toBe(2);
    // the same request, for the same instance id
    expect(puts[1].body).toEqual(put.body);
    // 201 once; the other answer says "exists, identical"
    expect(puts.map((p) => p.status).sort()).toEqual([200, 201]);
    expect(f.requests('deprovision', inst)).toHaveLength(0);
    expect(f.broker.instances().filter((i) => i.id === inst.spec!.externalID)).toHaveLength(1);
    await spare!.shutdown();
    spare = undefined;
  });

  it('re-sends the same provision and polls the operation the broker already has (async)', async () => {
    const f = await Fixture.create(suite, 'crashasync', { register: false });
    f.broker.script('provision', { planId: f.ids.plans.async, async: { inProgressPolls: 1 } });
    f.broker.script('provision', {
      planId: f.ids.plans.async,
      delayMs: 2000,
      async: { inProgressPolls: 1 },
      times: 1,
    });
    await crashDuringProvision(f, 'q', {
      clusterServiceClassExternalName: 'crashasync-queue',
      clusterServicePlanExternalName: 'async',
    });
    const inst = await f.waitReady('q', 20_000);
    const puts = await eventually(async () => {
      const all = f.requests('provision', inst);
      return all.every((p) => p.status !== undefined) ? all : undefined;
    }, 10_000);
    // the re-sent PUT started the operation; the held one, answered later, found it (202) or done (200)
    expect(puts).toHaveLength(2);
    expect(puts[1].status).toBe(202);
    expect([200, 202]).toContain(puts[0].status);
    expect(f.requests('lastOperation', inst).every((p) => p.query.operation === 'provision-1')).toBe(true);
    expect(f.broker.instances().filter((i) => i.id === inst.spec!.externalID)).toHaveLength(1);
    expect(f.requests('deprovision', inst)).toHaveLength(0);
    await spare!.shutdown();
    spare = undefined;
  });
});
