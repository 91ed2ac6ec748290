import { Agent, request } from 'undici';
import { configMapResource, leaseResource, type ConfigMap, type Lease } from '../api-types/core';
import type { ControllerOptions } from '../controller-manager/context';
import type { ControllerStarter } from '../controller-manager/controllers';
import { Controller } from '../pkg/controller/controller';
import { keyOf } from '../pkg/kube/informers';
import { LeaderElector, type LeaderElectionTimings } from '../controller-manager/framework/leader-election';
import { ControllerManager } from '../controller-manager/manager';
import { managerDefaults } from '../hack/lib/controller-manager';
import { KubeClient } from '../pkg/kube/client';
import { createLogger } from '../pkg/logging';
import { createRegistry } from '../pkg/metrics';
import { eventually, startEnv, testCert, type Env } from './harness';
import { type ResourceType } from '../api-types/resource';

const log = createLogger('test-leader-election', 'silent');
const timings: LeaderElectionTimings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 200 };
const namespace = 'kube-system';
const microTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

let env: Env;
let client: KubeClient;

beforeAll(async () => {
  env = await startEnv({ standalone: true });
  client = KubeClient.load(env.kubeconfig());
});
afterAll(async () => {
  await env?.stop();
});

const getLease = async (name: string) => (await client.get<Lease>(leaseResource, namespace, name))!;

describe('LeaderElector', () => {
  const electors: LeaderElector[] = [];
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
  });

  function candidate(identity: string, lease: string) {
    const record = { started: 0, stopped: 0 };
    const e = new LeaderElector({
      client,
      namespace,
      name: lease,
      identity,
      ...timings,
      log,
      onStartedLeading: () => record.started++,
      onStoppedLeading: () => record.stopped++,
    });
    electors.push(e);
    return Object.assign(e, { record });
  }

  it('elects one candidate; a standby takes over a lease left to expire after about a lease duration', async () => {
    const a = candidate('a', 'abrupt');
    const b = candidate('b', 'abrupt');
    void a.run();
    await eventually(async () => a.isLeader());
    void b.run();
    await eventually(async () => b.leader === 'a');
    expect(b.isLeader()).toBe(false);
    expect(a.record.started).toBe(1);
    expect(b.record.started).toBe(0);

    const first = await getLease('abrupt');
    expect(first.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 3, leaseTransitions: 0 });
    expect(first.spec?.acquireTime).toMatch(microTime);
    expect(first.spec?.renewTime).toMatch(microTime);
    // the leader renews every retry period, keeping its acquireTime
    const renewed = await eventually(async () => {
      const l = await getLease('abrupt');
      return l.spec?.renewTime !== first.spec?.renewTime && l;
    });
    expect(renewed.spec?.acquireTime).toBe(first.spec?.acquireTime);
    expect(a.healthy()).toBe(true);
    expect(b.healthy()).toBe(true);

    // a crash: no release, the lease stays a's until b has seen it unchanged for a lease duration
    const t0 = Date.now();
    await a.stop();
    await eventually(async () => b.isLeader(), 10_000);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(timings.leaseDurationMs - 2 * timings.retryPeriodMs);
    expect(elapsed).toBeLessThan(timings.leaseDurationMs + 1500);
    expect(b.record.started).toBe(1);
    expect(a.record.stopped).toBe(0);
    expect((await getLease('abrupt')).spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('hands the lease over at once on release', async () => {
    const a = candidate('a', 'graceful');
    const b = candidate('b', 'graceful');
    void a.run();
    await eventually(async () => a.isLeader());
    void b.run();
    await eventually(async () => b.leader === 'a');

    const t0 = Date.now();
    expect(await a.release()).toBe(true);
    expect(a.isLeader()).toBe(false);
    await eventually(async () => b.isLeader(), 10_000);
    expect(Date.now() - t0).toBeLessThan(timings.leaseDurationMs / 2);
    expect((await getLease('graceful')).spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(a.record.stopped).toBe(0);
  });

  it('a released lease shows no holder', async () => {
    const a = candidate('a', 'released');
    void a.run();
    await eventually(async () => a.isLeader());
    await a.release();
    expect((await getLease('released')).spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
  });

  it('gives leadership up when it cannot renew for the renew deadline', async () => {
    const a = candidate('a', 'stolen');
    void a.run();
    await eventually(async () => a.isLeader());
    const lease = await getLease('stolen');
    const t0 = Date.now();
    await client.update<Lease>(leaseResource, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: 'intruder', leaseDurationSeconds: 60 },
    });
    await eventually(async () => a.record.stopped === 1, 10_000);
    expect(a.isLeader()).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(timings.renewDeadlineMs - timings.retryPeriodMs);
    expect(a.leader).toBe('intruder');
  });

  it('refuses timings where a renewal could outlast the lease', () => {
    expect(
      () =>
        new LeaderElector({
          client,
          namespace,
          name: 'bad',
          identity: 'x',
          log,
          leaseDurationMs: 1000,
          renewDeadlineMs: 2000,
          retryPeriodMs: 100,
          onStartedLeading: () => undefined,
          onStoppedLeading: () => undefined,
        }),
    ).toThrow(/lease duration must be greater than the renew deadline/);
  });
});

describe('ControllerManager', () => {
  const controllerOptions: ControllerOptions = { ...managerDefaults.controller, concurrentSyncs: 2 };
  const ca = testCert().ca;
  const dispatcher = new Agent({ connect: { ca } });
  afterAll(async () => {
    await dispatcher.close();
  });

  async function get(m: ControllerManager, path: string) {
    const res = await request(`${m.server!.url}${path}`, { dispatcher });
    return { status: res.statusCode, text: await res.body.text() };
  }

  interface Instance {
    manager: ControllerManager;
    reconciled: string[];
    stops: number;
    starts: number;
    clusterIds: string[];
    exits: Array<{ code: number; reason: string }>;
  }

  function instance(lease: string, informerTypes: ResourceType[] = [configMapResource]): Instance {
    const state = {
      reconciled: [] as string[],
      stops: 0,
      starts: 0,
      clusterIds: [] as string[],
      exits: [] as Instance['exits'],
    };
    // a controller that reconciles every ConfigMap it is told about
    const starter: ControllerStarter = (ctx) => {
      state.starts++;
      state.clusterIds.push(ctx.clusterId);
      const c = new Controller('configmaps', async (key) => void state.reconciled.push(key), {
        workers: ctx.options.concurrentSyncs,
        limiter: ctx.limiter,
        log: ctx.log,
        metrics: ctx.controllerMetrics,
      });
      ctx.informers.for<ConfigMap>(configMapResource).onChange((o) => c.enqueue(keyOf(o)));
      c.run();
      return {
        name: c.name,
        stop: async () => {
          await c.stop();
          state.stops++;
        },
      };
    };
    const manager = new ControllerManager({
      client,
      options: controllerOptions,
      leaderElection: { enabled: true, ...timings, resourceName: lease, resourceNamespace: namespace },
      clusterIdConfigMap: managerDefaults.clusterIdConfigMap,
      server: { bindAddress: '127.0.0.1', port: 0, tls: testCert() },
      controllers: [starter],
      informerTypes,
      log,
      metrics: createRegistry(),
      exit: (code, reason) => state.exits.push({ code, reason }),
    });
    return Object.assign(state, { manager });
  }

  it('runs controllers only in the leader; losing the lease stops them and exits; shutdown hands over', async () => {
    await client.create<ConfigMap>(configMapResource, {
      metadata: { name: 'watched', namespace: 'default' },
    });
    const one = instance('managers');
    const two = instance('managers');
    try {
      await one.manager.start();
      await eventually(async () => one.manager.controllersRunning);
      await two.manager.start();
      await eventually(async () => two.manager.elector!.leader === one.manager.elector!.identity);
      await eventually(async () => one.reconciled.includes('default/watched'));
      expect(one.starts).toBe(1);
      expect(one.clusterIds[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(two.starts).toBe(0);
      expect(two.manager.isLeader).toBe(false);

      // both ready: a leader, and a standby with synced caches that can read the lease
      for (const m of [one.manager, two.manager]) {
        await eventually(async () => (await get(m, '/readyz')).status === 200);
        expect(await get(m, '/healthz')).toEqual({ status: 200, text: 'ok' });
        expect((await get(m, '/readyz?verbose')).text).toContain('[+]informer-sync ok');
      }
      expect((await get(one.manager, '/metrics')).text).toContain(
        'leader_election_master_status{name="managers"} 1',
      );
      expect((await get(two.manager, '/metrics')).text).toContain(
        'leader_election_master_status{name="managers"} 0',
      );
      expect((await get(one.manager, '/metrics')).text).toContain(
        'servicecatalog_reconcile_total{controller="configmaps",result="success"}',
      );

      // someone else takes the lease: the leader stops every controller and asks to exit
      const lease = await getLease('managers');
      await client.update<Lease>(leaseResource, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: 'intruder' },
      });
      await eventually(async () => one.exits.length > 0, 10_000);
      expect(one.exits).toEqual([{ code: 1, reason: 'leader lease lost' }]);
      expect(one.manager.isLeader).toBe(false);
      await eventually(async () => one.stops === 1);
      const reconciledByOne = one.reconciled.length;
      await client.create<ConfigMap>(configMapResource, {
        metadata: { name: 'after-loss', namespace: 'default' },
      });

      // the intruder never renews: the standby takes over and its controllers see everything
      await eventually(async () => two.manager.controllersRunning, 15_000);
      expect(two.starts).toBe(1);
      await eventually(
        async () =>
          two.reconciled.includes('default/watched') && two.reconciled.includes('default/after-loss'),
      );
      expect(one.reconciled.length).toBe(reconciledByOne);
      expect(two.clusterIds).toEqual(one.clusterIds);

      // graceful shutdown: controllers stopped, then the lease handed back
      await two.manager.shutdown();
      expect(two.stops).toBe(1);
      expect(two.exits).toEqual([]);
      expect((await getLease('managers')).spec?.holderIdentity).toBe('');
    } finally {
      await one.manager.shutdown();
      await two.manager.shutdown();
    }
  });

  it('is not ready, and starts no controller, while a cache cannot sync', async () => {
    const missing: ResourceType = {
      group: 'example.com',
      version: 'v1',
      kind: 'Widget',
      plural: 'widgets',
      namespaced: true,
    };
    const m = instance('unsynced', [configMapResource, missing]);
    try {
      await m.manager.start();
      await eventually(async () => m.manager.isLeader);
      const ready = await get(m.manager, '/readyz');
      expect(ready.status).toBe(500);
      expect(ready.text).toContain('[-]informer-sync failed: waiting for caches: widgets.example.com');
      expect(ready.text).toContain('readyz check failed');
      expect((await get(m.manager, '/livez')).status).toBe(200);
      expect(m.starts).toBe(0);
    } finally {
      await m.manager.shutdown();
    }
  });
});
