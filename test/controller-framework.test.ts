import { createServer, connect, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { clusterServiceBrokerResource, type ClusterServiceBroker } from '../api-types';
import { configMapResource, eventResource, type ConfigMap, type Event } from '../api-types/core';
import type { KubeObject } from '../api-types/meta';
import { clusterIdKey, getOrCreateClusterId } from '../controller-manager/cluster-id';
import { Controller, controllerMetrics } from '../pkg/controller/controller';
import { Recorder } from '../controller-manager/framework/events';
import { InformerFactory, keyOf } from '../pkg/kube/informers';
import { WorkQueue, type RateLimiterOptions } from '../pkg/controller/queue';
import { updateStatus } from '../controller-manager/framework/status';
import { kubeconfig } from '../hack/lib/kubeconfig';
import { KubeClient } from '../pkg/kube/client';
import { createLogger } from '../pkg/logging';
import { createRegistry } from '../pkg/metrics';
import { eventually, startEnv, type Env } from './harness';

const log = createLogger('test-controller-framework', 'silent');

function clientFor(server: string, ca: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig(server, ca));
  return new KubeClient(kc);
}

/** Time from now until the queue hands out its next key (and that key, marked done). */
async function timeToNext(q: WorkQueue): Promise<{ key: string | undefined; ms: number }> {
  const t0 = Date.now();
  const key = await q.get();
  const ms = Date.now() - t0;
  if (key !== undefined) q.done(key);
  return { key, ms };
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  const fast: RateLimiterOptions = { baseDelayMs: 50, maxDelayMs: 400, qps: 1000, burst: 1000 };

  it('queues a key once however often it is added', async () => {
    const q = new WorkQueue(fast);
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.length).toBe(0);
    q.shutDown();
  });

  it('never hands one key to two workers; a key added while processed comes back after done', async () => {
    const q = new WorkQueue(fast);
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0);
    let second: string | undefined;
    const next = q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done('a');
    await next;
    expect(second).toBe('a');
    q.done('a');
    q.shutDown();
  });

  it('keeps one key out of concurrent reconciles across workers', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const firstCall = deferred();
    const release = deferred();
    const c = new Controller(
      'test',
      async () => {
        calls++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (calls === 1) {
          firstCall.resolve();
          await release.promise;
        }
        inFlight--;
      },
      { workers: 5, limiter: fast, log, metrics: controllerMetrics(createRegistry()) },
    );
    c.run();
    c.enqueue('ns/x');
    await firstCall.promise;
    for (let i = 0; i < 10; i++) c.enqueue('ns/x');
    release.resolve();
    await eventually(async () => calls === 2 && inFlight === 0, 5000);
    expect(maxInFlight).toBe(1);
    await c.stop();
  });

  it('backs off exponentially per item from the base delay up to the cap', async () => {
    const q = new WorkQueue(fast);
    const expected = [50, 100, 200, 400, 400];
    for (const [i, delay] of expected.entries()) {
      q.addRateLimited('k');
      expect(q.failureCount('k')).toBe(i + 1);
      const { key, ms } = await timeToNext(q);
      expect(key).toBe('k');
      expect(ms).toBeGreaterThanOrEqual(delay - 2);
      // uncapped, the fourth and fifth retries would wait 800 and 1600 ms
      if (i >= 3) expect(ms).toBeLessThan(780);
    }
    q.forget('k');
    expect(q.failureCount('k')).toBe(0);
    q.addRateLimited('k');
    const { ms } = await timeToNext(q);
    expect(ms).toBeGreaterThanOrEqual(48);
    expect(ms).toBeLessThan(380);
    q.shutDown();
  });

  it('limits retries of all items together with a token bucket', async () => {
    const q = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 1, qps: 20, burst: 2 });
    const t0 = Date.now();
    q.addRateLimited('a');
    q.addRateLimited('b');
    q.addRateLimited('c');
    const seen: Array<[string | undefined, number]> = [];
    for (let i = 0; i < 3; i++) {
      const key = await q.get();
      seen.push([key, Date.now() - t0]);
      q.done(key!);
    }
    expect(seen.map(([k]) => k).sort()).toEqual(['a', 'b', 'c']);
    // the burst covers two; the third waits for a token at 20 per second
    expect(seen[2][1]).toBeGreaterThanOrEqual(45);
    q.shutDown();
  });

  it('keeps the earliest of several delayed adds of one key', async () => {
    const q = new WorkQueue(fast);
    q.addAfter('late-then-early', 10_000);
    q.addAfter('late-then-early', 30);
    const first = await timeToNext(q);
    expect(first.key).toBe('late-then-early');
    expect(first.ms).toBeLessThan(5000);

    q.addAfter('early-then-late', 30);
    q.addAfter('early-then-late', 10_000);
    const second = await timeToNext(q);
    expect(second.key).toBe('early-then-late');
    expect(second.ms).toBeLessThan(5000);
    q.shutDown();
    expect(await q.get()).toBeUndefined();
  });
});

describe('against the API server', () => {
  let env: Env;
  let client: KubeClient;

  beforeAll(async () => {
    env = await startEnv({ standalone: true });
    client = KubeClient.load(env.kubeconfig());
  });
  afterAll(async () => {
    await env?.stop();
  });

  describe('informers', () => {
    it('list, then see creates, updates and deletes made through the API', async () => {
      await client.create<ConfigMap>(configMapResource, {
        metadata: { name: 'before', namespace: 'default' },
        data: { a: '1' },
      });
      const factory = new InformerFactory(client, log);
      const informer = factory.for<ConfigMap>(configMapResource);
      const seen: KubeObject[] = [];
      informer.onChange((o) => seen.push(o));
      expect(factory.synced).toBe(false);
      await factory.start(60_000);
      expect(factory.synced).toBe(true);
      expect(factory.unsynced()).toEqual([]);
      const before = informer.get('default', 'before');
      expect(before?.data).toEqual({ a: '1' });
      // list items get their kind, for events and references
      expect(before).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });

      const created = await client.create<ConfigMap>(configMapResource, {
        metadata: { name: 'during', namespace: 'default' },
        data: { b: '1' },
      });
      await eventually(async () => informer.get('default', 'during'));
      await client.update<ConfigMap>(configMapResource, { ...created, data: { b: '2' } });
      await eventually(async () => informer.get('default', 'during')?.data?.b === '2');
      await client.delete(configMapResource, 'default', 'during');
      await eventually(async () => informer.get('default', 'during') === undefined);
      expect(
        seen.filter((o) => o.metadata.name === 'during').map((o) => (o.data as Record<string, string>).b),
      ).toEqual(['1', '2', '2']);

      // a handler added once synced is first given what is cached
      const late: string[] = [];
      informer.onChange((o) => late.push(keyOf(o)));
      await eventually(async () => late.includes('default/before'));
      await factory.stop();
    });

    it('hands every cached object to the handlers again each resync period', async () => {
      await client.create<ConfigMap>(configMapResource, {
        metadata: { name: 'resync', namespace: 'default' },
      });
      const factory = new InformerFactory(client, log);
      const informer = factory.for<ConfigMap>(configMapResource);
      let count = 0;
      informer.onChange((o) => {
        if (o.metadata.name === 'resync') count++;
      });
      await factory.start(100);
      await eventually(async () => count >= 4, 5000);
      await factory.stop();
    });
  });

  describe('event recorder', () => {
    const recorder = () => new Recorder({ client, log });
    const eventsAbout = async (name: string, namespace = 'default') =>
      (await client.list<Event>(eventResource, namespace, { fieldSelector: `involvedObject.name=${name}` }))
        .items;

    it('writes an Event in the object namespace and counts repeats on it', async () => {
      const cm = await client.create<ConfigMap>(configMapResource, {
        metadata: { name: 'evented', namespace: 'default' },
      });
      const r = recorder();
      r.event(cm, 'Normal', 'Synced', 'all good');
      r.event(cm, 'Normal', 'Synced', 'all good');
      r.event(cm, 'Warning', 'Failed', 'not so good');
      await r.flush();
      const events = await eventsAbout('evented');
      expect(events).toHaveLength(2);
      const synced = events.find((e) => e.reason === 'Synced')!;
      expect(synced).toMatchObject({
        type: 'Normal',
        message: 'all good',
        count: 2,
        source: { component: 'service-catalog-controller-manager' },
        reportingComponent: 'service-catalog-controller-manager',
        involvedObject: {
          kind: 'ConfigMap',
          apiVersion: 'v1',
          name: 'evented',
          namespace: 'default',
          uid: cm.metadata.uid,
          resourceVersion: cm.metadata.resourceVersion,
        },
      });
      expect(synced.metadata.name).toMatch(/^evented\.[0-9a-f]+$/);
      expect(Date.parse(synced.lastTimestamp!)).toBeGreaterThanOrEqual(Date.parse(synced.firstTimestamp!));
      expect(events.find((e) => e.reason === 'Failed')).toMatchObject({ type: 'Warning', count: 1 });
    });

    it('puts events about cluster-scoped objects in "default"', async () => {
      const r = recorder();
      const broker = {
        apiVersion: 'servicecatalog.k8s.io/v1beta1',
        kind: 'ClusterServiceBroker',
        metadata: { name: 'cluster-scoped-broker', uid: '0b9e3a3c-5d7e-4a53-9d6c-2b8f4c1e2a10' },
      };
      r.event(broker, 'Warning', 'ErrorFetchingCatalog', 'connection refused');
      await r.flush();
      const [event, ...more] = await eventsAbout('cluster-scoped-broker');
      expect(more).toHaveLength(0);
      expect(event.metadata.namespace).toBe('default');
      expect(event.involvedObject).toMatchObject({
        kind: 'ClusterServiceBroker',
        name: 'cluster-scoped-broker',
      });
      expect(event.involvedObject?.namespace).toBeUndefined();
    });

    it('combines many distinct messages for one object and reason into one Event', async () => {
      const cm = await client.create<ConfigMap>(configMapResource, {
        metadata: { name: 'noisy', namespace: 'default' },
      });
      const r = recorder();
      for (let i = 1; i <= 12; i++) r.event(cm, 'Warning', 'Flapping', `attempt ${i}`);
      await r.flush();
      const events = await eventsAbout('noisy');
      expect(events).toHaveLength(10);
      const combined = events.filter((e) => e.message!.startsWith('(combined from similar events): '));
      expect(combined).toHaveLength(1);
      expect(combined[0]).toMatchObject({ count: 3, message: '(combined from similar events): attempt 12' });
    });
  });

  describe('status updates', () => {
    it('re-reads and re-applies the mutation on a conflict, keeping the concurrent write', async () => {
      const created = await client.create<ClusterServiceBroker>(clusterServiceBrokerResource, {
        metadata: { name: 'status-conflict' },
        spec: { url: 'http://broker.example' },
      });
      // another writer changes status after we read the object
      await client.updateStatus<ClusterServiceBroker>(clusterServiceBrokerResource, {
        ...created,
        status: { ...created.status, reconciledGeneration: 1 },
      });
      let calls = 0;
      const stored = await updateStatus(client, clusterServiceBrokerResource, created, (b) => {
        calls++;
        b.status = { ...b.status, lastCatalogRetrievalTime: '2024-01-02T03:04:05Z' };
      });
      expect(calls).toBe(2);
      expect(stored.status).toMatchObject({
        reconciledGeneration: 1,
        lastCatalogRetrievalTime: '2024-01-02T03:04:05Z',
      });
      const read = await client.get<ClusterServiceBroker>(
        clusterServiceBrokerResource,
        undefined,
        'status-conflict',
      );
      expect(read?.status).toMatchObject({
        reconciledGeneration: 1,
        lastCatalogRetrievalTime: '2024-01-02T03:04:05Z',
      });

      // a mutation that changes nothing writes nothing
      const again = await updateStatus(client, clusterServiceBrokerResource, read!, (b) => {
        b.status = { ...b.status, reconciledGeneration: 1 };
      });
      expect(again.metadata.resourceVersion).toBe(read!.metadata.resourceVersion);
    });
  });

  describe('cluster ID', () => {
    it('is created once, as a UUID, and stays the same', async () => {
      const ids = await Promise.all(
        [1, 2, 3, 4].map(() => getOrCreateClusterId(client, 'default', 'cluster-info')),
      );
      expect(new Set(ids).size).toBe(1);
      expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(await getOrCreateClusterId(client, 'default', 'cluster-info')).toBe(ids[0]);
      const cm = await client.get<ConfigMap>(configMapResource, 'default', 'cluster-info');
      expect(cm?.data).toEqual({ [clusterIdKey]: ids[0] });
    });

    it('adds the key to an existing ConfigMap without it, keeping its other keys', async () => {
      await client.create<ConfigMap>(configMapResource, {
        metadata: { name: 'partial-info', namespace: 'default' },
        data: { other: 'x' },
      });
      const id = await getOrCreateClusterId(client, 'default', 'partial-info');
      const cm = await client.get<ConfigMap>(configMapResource, 'default', 'partial-info');
      expect(cm?.data).toEqual({ other: 'x', [clusterIdKey]: id });
    });
  });
});

/** A TCP proxy that can cut every connection and refuse new ones, as a network failure would. */
class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  private server?: Server;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    this.server = createServer((downstream) => {
      if (this.cut) return downstream.destroy();
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const s of [downstream, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      downstream.on('close', () => upstream.destroy());
      upstream.on('close', () => downstream.destroy());
      downstream.pipe(upstream).pipe(downstream);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  disconnect(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
  }

  reconnect(): void {
    this.cut = false;
  }

  async stop(): Promise<void> {
    this.disconnect();
    await new Promise((r) => this.server?.close(r));
  }
}

describe('informer after its history was compacted', () => {
  let env: Env;
  let proxy: CuttableProxy;

  beforeAll(async () => {
    // without the watch cache, watches read etcd's history, which compaction removes
    env = await startEnv({ standalone: true, watchCache: false });
    proxy = new CuttableProxy(env.server.port);
    await proxy.start();
  });
  afterAll(async () => {
    await proxy?.stop();
    await env?.stop();
  });

  /** LISTs of configmaps the API server has answered. */
  async function configMapLists(): Promise<number> {
    const { text } = await env.client.get('/metrics');
    return text
      .split('\n')
      .filter(
        (l) =>
          l.startsWith('apiserver_request_total{') &&
          l.includes('verb="list"') &&
          l.includes('resource="configmaps"'),
      )
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  }

  it('relists on 410 Gone and catches up on what it missed', async () => {
    const direct = KubeClient.load(env.kubeconfig());
    await direct.create<ConfigMap>(configMapResource, { metadata: { name: 'kept', namespace: 'default' } });
    await direct.create<ConfigMap>(configMapResource, {
      metadata: { name: 'removed', namespace: 'default' },
    });

    const viaProxy = clientFor(`https://127.0.0.1:${proxy.port}`, env.cert.ca);
    const factory = new InformerFactory(viaProxy, log);
    const informer = factory.for<ConfigMap>(configMapResource);
    const deleted: string[] = [];
    informer.onChange((o) => {
      if (!informer.get(o.metadata.namespace, o.metadata.name!)) deleted.push(o.metadata.name!);
    });
    await factory.start(60_000);
    expect(informer.get('default', 'removed')).toBeDefined();

    // while the informer is cut off, changes happen and etcd forgets their history
    const listsBefore = await configMapLists();
    expect(listsBefore).toBeGreaterThan(0);
    proxy.disconnect();
    await direct.create<ConfigMap>(configMapResource, { metadata: { name: 'added', namespace: 'default' } });
    await direct.delete(configMapResource, 'default', 'removed');
    await env.storage.compact(await env.storage.currentRevision());
    proxy.reconnect();

    await eventually(
      async () =>
        informer.get('default', 'added') !== undefined && informer.get('default', 'removed') === undefined,
      20_000,
    );
    expect(informer.get('default', 'kept')).toBeDefined();
    expect(deleted).toContain('removed');
    // it caught up by listing again: watching on from where it was is no longer possible
    expect(await configMapLists()).toBeGreaterThan(listsBefore);
    await factory.stop();
  });
});
