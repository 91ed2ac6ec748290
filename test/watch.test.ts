import type { KubeObject } from '../api-types/meta';
import { Storage, type StorageError, type StorageEvent } from '../pkg/storage';
import {
  Client,
  eventually,
  startEnv,
  type Env,
  type Response,
  type WatchEvent,
  type WatchStream,
} from './harness';

const group = '/apis/servicecatalog.k8s.io/v1beta1';
const brokersPath = `${group}/clusterservicebrokers`;
const classesPath = `${group}/clusterserviceclasses`;
const instancesPath = (ns?: string) =>
  ns ? `${group}/namespaces/${ns}/serviceinstances` : `${group}/serviceinstances`;
const mergePatch = 'application/merge-patch+json';
const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io';

let seq = 0;
/** A name no other test uses, so each test can pick its own events out of a shared store. */
const unique = (prefix: string) => `${prefix}-${(++seq).toString(36)}-${Date.now().toString(36)}`;

function broker(name: string, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'servicecatalog.k8s.io/v1beta1',
    kind: 'ClusterServiceBroker',
    metadata: { name, labels },
    spec: { url: `https://${name}.brokers.example.com`, relistBehavior: 'Manual' },
  };
}

function serviceClass(name: string, externalName: string): KubeObject {
  return {
    apiVersion: 'servicecatalog.k8s.io/v1beta1',
    kind: 'ClusterServiceClass',
    metadata: { name },
    spec: {
      clusterServiceBrokerName: 'broker',
      externalName,
      externalID: `${name}-id`,
      description: 'a service',
      bindable: true,
      planUpdatable: true,
    },
  };
}

function instance(namespace: string, name: string): KubeObject {
  return {
    apiVersion: 'servicecatalog.k8s.io/v1beta1',
    kind: 'ServiceInstance',
    metadata: { name, namespace },
    spec: { clusterServiceClassExternalName: 'db', clusterServicePlanExternalName: 'small' },
  };
}

async function expectStatus<T>(p: Promise<Response<T>>, code: number): Promise<T> {
  const res = await p;
  if (res.status !== code) throw new Error(`expected HTTP ${code}, got ${res.status}: ${res.text}`);
  return res.body;
}

const rvOf = (o: KubeObject) => Number(o.metadata.resourceVersion);
const nameOf = (e: WatchEvent) => e.object.metadata?.name ?? '';
const isChange = (e: WatchEvent) => e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED';
/** The change events about objects whose name starts with prefix. */
const changesOf = (events: WatchEvent[], prefix: string) =>
  events.filter((e) => isChange(e) && nameOf(e).startsWith(prefix));
const summary = (events: WatchEvent[]) =>
  events.map((e) => [e.type, nameOf(e), Number(e.object.metadata?.resourceVersion)]);

async function listRV(client: Client, path: string): Promise<string> {
  const list = await expectStatus(client.get<{ metadata: { resourceVersion: string } }>(path), 200);
  return list.metadata.resourceVersion;
}

function expectStrictlyIncreasing(events: WatchEvent[]) {
  const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
  for (const rv of rvs) expect(Number.isInteger(rv) && rv > 0).toBe(true);
  for (let i = 1; i < rvs.length; i++) {
    if (rvs[i] <= rvs[i - 1])
      throw new Error(`resourceVersions not increasing at ${i}: ${JSON.stringify(summary(events))}`);
  }
}

/**
 * A bookmark promises the client every change up to its resourceVersion: nothing at or below it may
 * come after it, and it never goes below what was already delivered.
 */
function expectBookmarksHonest(events: WatchEvent[], startRV: number) {
  let delivered = startRV;
  events.forEach((e, i) => {
    const rv = Number(e.object.metadata.resourceVersion);
    if (e.type !== 'BOOKMARK') {
      delivered = Math.max(delivered, rv);
      return;
    }
    expect(rv).toBeGreaterThanOrEqual(delivered);
    const late = events
      .slice(i + 1)
      .filter((later) => isChange(later) && Number(later.object.metadata.resourceVersion) <= rv);
    expect(summary(late)).toEqual([]);
  });
}

/** Folds change events into the state they describe: name → resourceVersion. */
function replay(events: WatchEvent[]): Map<string, string> {
  const state = new Map<string, string>();
  for (const e of events) {
    if (e.type === 'DELETED') state.delete(nameOf(e));
    else state.set(nameOf(e), String(e.object.metadata.resourceVersion));
  }
  return state;
}

async function currentState(client: Client, path: string, prefix: string): Promise<Map<string, string>> {
  const list = await expectStatus(client.get<{ items: KubeObject[] }>(path), 200);
  return new Map(
    list.items
      .filter((o) => o.metadata.name!.startsWith(prefix))
      .map((o) => [o.metadata.name!, String(o.metadata.resourceVersion)] as [string, string]),
  );
}

/**
 * Deletes a broker for good. Brokers carry the catalog's finalizer, so the delete only marks the
 * object (MODIFIED, with deletionTimestamp) and dropping the finalizer removes it (DELETED).
 * Answers the resourceVersion of the marking.
 */
async function destroy(client: Client, path: string): Promise<number> {
  const marked = await expectStatus(client.delete(path), 200);
  expect(marked.metadata.deletionTimestamp).toBeDefined();
  await expectStatus(client.patch(path, { metadata: { finalizers: null } }, mergePatch), 200);
  return rvOf(marked);
}

/** What each object went through, as the writers saw it. */
interface Writes {
  /** Per object: the types of its changes, in order. */
  types: Map<string, string[]>;
  /** The resourceVersions returned by creates, updates and deletion marks. */
  rvs: Map<string, number[]>;
  count: number;
}

/**
 * Creates n brokers named prefix-i, in parallel chains over the given clients: every object is
 * created, the first `updated` are patched twice, the last `deleted` are deleted for good.
 */
async function churn(
  clients: Client[],
  prefix: string,
  n: number,
  updated: number,
  deleted: number,
): Promise<Writes> {
  const writes: Writes = { types: new Map(), rvs: new Map(), count: 0 };
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const c = clients[i % clients.length];
      const name = `${prefix}-${i}`;
      const types: string[] = [];
      const rvs: number[] = [];
      const created = await expectStatus(c.post(brokersPath, broker(name, { round: '0' })), 201);
      types.push('ADDED');
      rvs.push(rvOf(created));
      if (i < updated) {
        for (const round of ['1', '2']) {
          const patched = await expectStatus(
            c.patch(`${brokersPath}/${name}`, { metadata: { labels: { round } } }, mergePatch),
            200,
          );
          types.push('MODIFIED');
          rvs.push(rvOf(patched));
        }
      }
      if (i >= n - deleted) {
        rvs.push(await destroy(c, `${brokersPath}/${name}`));
        types.push('MODIFIED', 'DELETED');
      }
      writes.types.set(name, types);
      writes.rvs.set(name, rvs);
      writes.count += types.length;
    }),
  );
  return writes;
}

/** Checks a watch's events about prefix-* against what the writers did. */
function expectMatchesWrites(events: WatchEvent[], writes: Writes) {
  expect(events).toHaveLength(writes.count);
  expectStrictlyIncreasing(events);
  for (const [name, types] of writes.types) {
    const mine = events.filter((e) => nameOf(e) === name);
    expect([name, mine.map((e) => e.type)]).toEqual([name, types]);
    const rvs = mine.map((e) => Number(e.object.metadata.resourceVersion));
    const written = writes.rvs.get(name)!;
    expect([name, rvs.slice(0, written.length)]).toEqual([name, written]);
    // a deletion happens after the object's last write
    if (rvs.length > written.length) expect(rvs[rvs.length - 1]).toBeGreaterThan(written[written.length - 1]);
  }
}

/** Writes a sentinel and waits for it: the watch has delivered everything before it, so counts are final. */
async function settle(client: Client, watches: WatchStream[], prefix: string): Promise<WatchEvent[][]> {
  const name = `${prefix}-sentinel`;
  await expectStatus(client.post(brokersPath, broker(name)), 201);
  return Promise.all(
    watches.map(async (w) => {
      await w.until((evs) => evs.some((e) => nameOf(e) === name));
      return changesOf(w.events, prefix).filter((e) => nameOf(e) !== name);
    }),
  );
}

const modes = [
  { mode: 'with the watch cache', watchCache: true },
  { mode: 'without the watch cache', watchCache: false },
];

describe.each(modes)('watch $mode', ({ watchCache }) => {
  let env: Env;
  const open: WatchStream[] = [];
  const watch = async (path: string, headers?: Record<string, string>, client: Client = env.client) => {
    const w = await client.watch(path, headers);
    open.push(w);
    return w;
  };

  beforeAll(async () => {
    env = await startEnv({ watchCache, bookmarkIntervalMs: 200 });
  });
  afterEach(() => {
    for (const w of open.splice(0)) w.close();
  });
  afterAll(async () => {
    await env?.stop();
  });

  test('?watch=true and the legacy /watch/ paths, for a collection and for one object', async () => {
    const p = unique('paths');
    const ns = unique('ns');
    const first = await expectStatus(env.client.post(brokersPath, broker(`${p}-a`)), 201);
    const inst = await expectStatus(env.client.post(instancesPath(ns), instance(ns, `${p}-i`)), 201);
    const rv = first.metadata.resourceVersion!;
    const instRV = inst.metadata.resourceVersion!;

    const query = await watch(`${brokersPath}?watch=true&resourceVersion=${rv}`);
    const legacy = await watch(`${group}/watch/clusterservicebrokers?resourceVersion=${rv}`);
    const single = await watch(`${group}/watch/clusterservicebrokers/${p}-a?resourceVersion=${rv}`);
    const singleByQuery = await watch(`${brokersPath}/${p}-a?watch=1&resourceVersion=${rv}`);
    const nsSingle = await watch(
      `${group}/watch/namespaces/${ns}/serviceinstances/${p}-i?resourceVersion=${instRV}`,
    );
    for (const w of [query, legacy, single, singleByQuery, nsSingle]) {
      expect(w.status).toBe(200);
      expect(String(w.headers['content-type'])).toMatch(/^application\/json/);
    }

    const second = await expectStatus(env.client.post(brokersPath, broker(`${p}-b`)), 201);
    const updated = await expectStatus(
      env.client.patch(`${brokersPath}/${p}-a`, { metadata: { labels: { x: 'y' } } }, mergePatch),
      200,
    );
    const instUpdated = await expectStatus(
      env.client.patch(`${instancesPath(ns)}/${p}-i`, { metadata: { labels: { x: 'y' } } }, mergePatch),
      200,
    );
    await expectStatus(env.client.post(instancesPath(ns), instance(ns, `${p}-other`)), 201);

    const expected = [
      ['ADDED', `${p}-b`, rvOf(second)],
      ['MODIFIED', `${p}-a`, rvOf(updated)],
    ];
    for (const w of [query, legacy]) {
      await w.until((evs) => changesOf(evs, p).length >= 2);
      expect(summary(changesOf(w.events, p))).toEqual(expected);
    }
    for (const w of [single, singleByQuery]) {
      await w.until((evs) => evs.length >= 1);
      expect(summary(w.events)).toEqual([['MODIFIED', `${p}-a`, rvOf(updated)]]);
    }
    await nsSingle.until((evs) => evs.length >= 1);
    expect(summary(nsSingle.events)).toEqual([['MODIFIED', `${p}-i`, rvOf(instUpdated)]]);

    // nothing else arrives on the single-object watches: a later write to the watched object comes next
    const last = await expectStatus(
      env.client.patch(`${brokersPath}/${p}-a`, { metadata: { labels: { x: 'z' } } }, mergePatch),
      200,
    );
    for (const w of [single, singleByQuery]) {
      await w.until((evs) => evs.length >= 2);
      expect(summary(w.events)).toEqual([
        ['MODIFIED', `${p}-a`, rvOf(updated)],
        ['MODIFIED', `${p}-a`, rvOf(last)],
      ]);
    }
  });

  test('a watch from a list resourceVersion sees every later change exactly once, in order', async () => {
    const p = unique('churn');
    const clients = Array.from({ length: 4 }, () => new Client(env.base, env.cert.ca));
    try {
      const rv = await listRV(env.client, brokersPath);
      const live = await watch(`${brokersPath}?watch=true&resourceVersion=${rv}`);
      const writes = await churn(clients, p, 20, 10, 5);
      expect(writes.count).toBe(20 + 10 * 2 + 5 * 2);
      // a second watch from the same resourceVersion opened after the writes replays them all
      const late = await watch(`${brokersPath}?watch=true&resourceVersion=${rv}`);

      const settled = await settle(env.client, [live, late], p);
      for (const [i, w] of [live, late].entries()) {
        const events = settled[i];
        expectMatchesWrites(events, writes);
        expect(replay(events)).toEqual(
          await currentState(env.client, brokersPath, p).then((s) => {
            s.delete(`${p}-sentinel`);
            return s;
          }),
        );
        expectStrictlyIncreasing(w.events);
      }
      expect(summary(changesOf(late.events, p))).toEqual(summary(changesOf(live.events, p)));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  test('resourceVersion unset or "0": ADDED for every existing object, then the changes', async () => {
    const p = unique('initial');
    const created: KubeObject[] = [];
    for (const suffix of ['a', 'b', 'c']) {
      created.push(
        await expectStatus(env.client.post(brokersPath, broker(`${p}-${suffix}`, { set: p })), 201),
      );
    }
    const unset = await watch(`${brokersPath}?watch=true&labelSelector=set%3D${p}`);
    const zero = await watch(`${brokersPath}?watch=true&resourceVersion=0&labelSelector=set%3D${p}`);
    const initial = created.map((o) => ['ADDED', o.metadata.name, rvOf(o)]);
    for (const w of [unset, zero]) {
      await w.until((evs) => evs.length >= 3);
      expect(summary(w.events.slice(0, 3)).sort()).toEqual(initial.sort());
    }

    const added = await expectStatus(env.client.post(brokersPath, broker(`${p}-d`, { set: p })), 201);
    const modified = await expectStatus(
      env.client.patch(`${brokersPath}/${p}-a`, { metadata: { labels: { more: 'x' } } }, mergePatch),
      200,
    );
    const marked = await destroy(env.client, `${brokersPath}/${p}-b`);
    const sentinel = await expectStatus(env.client.post(brokersPath, broker(`${p}-z`, { set: p })), 201);
    for (const w of [unset, zero]) {
      await w.until((evs) => evs.some((e) => nameOf(e) === `${p}-z`));
      const changes = w.events.slice(3);
      expect(summary(changes.slice(0, 3))).toEqual([
        ['ADDED', `${p}-d`, rvOf(added)],
        ['MODIFIED', `${p}-a`, rvOf(modified)],
        ['MODIFIED', `${p}-b`, marked],
      ]);
      expect(summary(changes.slice(4))).toEqual([['ADDED', `${p}-z`, rvOf(sentinel)]]);
      expect([changes[3].type, nameOf(changes[3])]).toEqual(['DELETED', `${p}-b`]);
      expectStrictlyIncreasing(changes);
      expect(rvOf(changes[0].object)).toBeGreaterThan(Math.max(...created.map(rvOf)));
    }
  });

  test('label selector: leaving the selection is DELETED, entering it is ADDED', async () => {
    const p = unique('label');
    const rv = await listRV(env.client, brokersPath);
    const gold = await watch(
      `${brokersPath}?watch=true&resourceVersion=${rv}&labelSelector=tier%3Dgold,set%3D${p}`,
    );
    const all = await watch(`${brokersPath}?watch=true&resourceVersion=${rv}&labelSelector=set%3D${p}`);

    const created = await expectStatus(
      env.client.post(brokersPath, broker(`${p}-x`, { tier: 'gold', set: p })),
      201,
    );
    await expectStatus(env.client.post(brokersPath, broker(`${p}-y`, { tier: 'silver', set: p })), 201);
    const left = await expectStatus(
      env.client.patch(`${brokersPath}/${p}-x`, { metadata: { labels: { tier: 'silver' } } }, mergePatch),
      200,
    );
    const stillOut = await expectStatus(
      env.client.patch(`${brokersPath}/${p}-x`, { metadata: { labels: { other: '1' } } }, mergePatch),
      200,
    );
    const entered = await expectStatus(
      env.client.patch(`${brokersPath}/${p}-y`, { metadata: { labels: { tier: 'gold' } } }, mergePatch),
      200,
    );
    const marked = await destroy(env.client, `${brokersPath}/${p}-y`);
    // a last write the gold watcher selects: once it arrives, nothing before it can still be on its way
    const sentinel = await expectStatus(
      env.client.post(brokersPath, broker(`${p}-z`, { tier: 'gold', set: p })),
      201,
    );

    await gold.until((evs) => evs.some((e) => nameOf(e) === `${p}-z`));
    await all.until((evs) => evs.some((e) => nameOf(e) === `${p}-z`));
    const events = gold.events;
    expect(summary(events.slice(0, 4))).toEqual([
      ['ADDED', `${p}-x`, rvOf(created)],
      ['DELETED', `${p}-x`, rvOf(left)],
      ['ADDED', `${p}-y`, rvOf(entered)],
      ['MODIFIED', `${p}-y`, marked],
    ]);
    // the object that left is sent as the watcher last saw it (it still matches), at the new resourceVersion
    expect(events[1].object.metadata.labels?.tier).toBe('gold');
    expect([events[4].type, nameOf(events[4])]).toEqual(['DELETED', `${p}-y`]);
    expect(summary(events.slice(5))).toEqual([['ADDED', `${p}-z`, rvOf(sentinel)]]);
    expectStrictlyIncreasing(events);
    // stillOut never reached the gold watcher; the watcher of the whole set saw it
    expect(summary(all.events).map((e) => e[2])).toContain(rvOf(stillOut));
    expect(summary(all.events).map((e) => e[0])).toEqual([
      'ADDED',
      'ADDED',
      'MODIFIED',
      'MODIFIED',
      'MODIFIED',
      'MODIFIED',
      'DELETED',
      'ADDED',
    ]);
    expectStrictlyIncreasing(all.events);
  });

  test('field selector: leaving and entering the selection, from a resourceVersion and from "now"', async () => {
    const p = unique('field');
    const ext = `${p}-ext`;
    const rv = await listRV(env.client, classesPath);
    const fromRV = await watch(
      `${classesPath}?watch=true&resourceVersion=${rv}&fieldSelector=spec.externalName%3D${ext}`,
    );
    const pre = await expectStatus(env.client.post(classesPath, serviceClass(`${p}-pre`, ext)), 201);
    const fromNow = await watch(`${classesPath}?watch=true&fieldSelector=spec.externalName%3D${ext}`);
    await fromNow.until((evs) => evs.length >= 1);
    expect(summary(fromNow.events)).toEqual([['ADDED', `${p}-pre`, rvOf(pre)]]);

    const a = await expectStatus(env.client.post(classesPath, serviceClass(`${p}-a`, ext)), 201);
    await expectStatus(env.client.post(classesPath, serviceClass(`${p}-other`, `${ext}-not`)), 201);
    const out = await expectStatus(
      env.client.patch(`${classesPath}/${p}-a`, { spec: { externalName: `${ext}-renamed` } }, mergePatch),
      200,
    );
    const back = await expectStatus(
      env.client.patch(`${classesPath}/${p}-a`, { spec: { externalName: ext } }, mergePatch),
      200,
    );
    const into = await expectStatus(
      env.client.patch(`${classesPath}/${p}-other`, { spec: { externalName: ext } }, mergePatch),
      200,
    );
    const tail = [
      ['ADDED', `${p}-a`, rvOf(a)],
      ['DELETED', `${p}-a`, rvOf(out)],
      ['ADDED', `${p}-a`, rvOf(back)],
      ['ADDED', `${p}-other`, rvOf(into)],
    ];
    await fromRV.until((evs) => evs.length >= 5);
    expect(summary(fromRV.events)).toEqual([['ADDED', `${p}-pre`, rvOf(pre)], ...tail]);
    expect(fromRV.events[2].object).toMatchObject({ spec: { externalName: ext } });
    await fromNow.until((evs) => evs.length >= 5);
    expect(summary(fromNow.events)).toEqual([['ADDED', `${p}-pre`, rvOf(pre)], ...tail]);
  });

  test('a namespaced watch sees only its namespace; the all-namespaces watch sees both', async () => {
    const p = unique('nsw');
    const [nsA, nsB] = [unique('nsa'), unique('nsb')];
    const rv = await listRV(env.client, instancesPath());
    const inA = await watch(`${instancesPath(nsA)}?watch=true&resourceVersion=${rv}`);
    const legacyA = await watch(`${group}/watch/namespaces/${nsA}/serviceinstances?resourceVersion=${rv}`);
    const everywhere = await watch(`${instancesPath()}?watch=true&resourceVersion=${rv}`);
    const a1 = await expectStatus(env.client.post(instancesPath(nsA), instance(nsA, `${p}-1`)), 201);
    const b1 = await expectStatus(env.client.post(instancesPath(nsB), instance(nsB, `${p}-1`)), 201);
    const a2 = await expectStatus(env.client.post(instancesPath(nsA), instance(nsA, `${p}-2`)), 201);
    const b2 = await expectStatus(
      env.client.patch(`${instancesPath(nsB)}/${p}-1`, { metadata: { labels: { a: 'b' } } }, mergePatch),
      200,
    );

    await everywhere.until((evs) => changesOf(evs, p).length >= 4);
    expect(
      changesOf(everywhere.events, p).map((e) => [e.type, e.object.metadata.namespace, rvOf(e.object)]),
    ).toEqual([
      ['ADDED', nsA, rvOf(a1)],
      ['ADDED', nsB, rvOf(b1)],
      ['ADDED', nsA, rvOf(a2)],
      ['MODIFIED', nsB, rvOf(b2)],
    ]);
    // a sentinel in nsA after the nsB writes: once it arrives, nothing from nsB can still be on its way
    const a3 = await expectStatus(env.client.post(instancesPath(nsA), instance(nsA, `${p}-3`)), 201);
    for (const w of [inA, legacyA]) {
      await w.until((evs) => evs.some((e) => nameOf(e) === `${p}-3`));
      expect(w.events.map((e) => [e.type, e.object.metadata.namespace, nameOf(e), rvOf(e.object)])).toEqual([
        ['ADDED', nsA, `${p}-1`, rvOf(a1)],
        ['ADDED', nsA, `${p}-2`, rvOf(a2)],
        ['ADDED', nsA, `${p}-3`, rvOf(a3)],
      ]);
    }
  });

  test('allowWatchBookmarks: BOOKMARK events that never run ahead of or behind the delivered changes', async () => {
    const p = unique('bm');
    const rv = await listRV(env.client, brokersPath);
    const withBookmarks = await watch(
      `${brokersPath}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`,
    );
    const without = await watch(`${brokersPath}?watch=true&resourceVersion=${rv}`);
    const bookmarks = (evs: WatchEvent[]) => evs.filter((e) => e.type === 'BOOKMARK');

    // before any change, a bookmark carries at least the resourceVersion the watch started from
    await withBookmarks.until((evs) => bookmarks(evs).length >= 1);
    const a = await expectStatus(env.client.post(brokersPath, broker(`${p}-a`)), 201);
    const b = await expectStatus(
      env.client.patch(`${brokersPath}/${p}-a`, { metadata: { labels: { b: '1' } } }, mergePatch),
      200,
    );
    await withBookmarks.until((evs) => {
      const i = evs.findIndex((e) => nameOf(e) === `${p}-a` && e.type === 'MODIFIED');
      return i >= 0 && bookmarks(evs.slice(i + 1)).length >= 2;
    });
    await without.until((evs) => changesOf(evs, p).length >= 2);

    const events = withBookmarks.events;
    expectBookmarksHonest(events, Number(rv));
    for (const bm of bookmarks(events)) {
      expect(bm.object).toMatchObject({
        kind: 'ClusterServiceBroker',
        apiVersion: 'servicecatalog.k8s.io/v1beta1',
      });
      expect(Number(bm.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));
    }
    const after = events.slice(events.findIndex((e) => nameOf(e) === `${p}-a` && e.type === 'MODIFIED') + 1);
    expect(Number(bookmarks(after)[0].object.metadata.resourceVersion)).toBeGreaterThanOrEqual(rvOf(b));
    expect(summary(changesOf(events, p))).toEqual([
      ['ADDED', `${p}-a`, rvOf(a)],
      ['MODIFIED', `${p}-a`, rvOf(b)],
    ]);
    // several bookmark intervals have passed by now: a watch that did not ask for bookmarks gets none
    expect(bookmarks(without.events)).toEqual([]);
  });

  test('timeoutSeconds=1 ends the stream cleanly', async () => {
    const p = unique('timeout');
    const started = Date.now();
    const w = await watch(`${brokersPath}?watch=true&timeoutSeconds=1&allowWatchBookmarks=true`);
    expect(w.status).toBe(200);
    const a = await expectStatus(env.client.post(brokersPath, broker(`${p}-a`)), 201);
    await w.until(() => w.ended);
    expect(w.error).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(summary(changesOf(w.events, p))).toEqual([['ADDED', `${p}-a`, rvOf(a)]]);
    expect(w.events.filter((e) => e.type === 'ERROR')).toEqual([]);
    expectBookmarksHonest(w.events, 0);
  });

  test('a Table watch sends one-row Tables', async () => {
    const p = unique('table');
    const rv = await listRV(env.client, brokersPath);
    const w = await watch(`${brokersPath}?watch=true&resourceVersion=${rv}`, { accept: tableAccept });
    expect(w.status).toBe(200);
    const a = await expectStatus(env.client.post(brokersPath, broker(`${p}-a`)), 201);
    await destroy(env.client, `${brokersPath}/${p}-a`);
    await w.until((evs) => evs.length >= 3);

    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    type Table = {
      kind: string;
      apiVersion: string;
      metadata: { resourceVersion?: string };
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[]; object: KubeObject }[];
    };
    for (const e of w.events) {
      const t = e.object as unknown as Table;
      expect([t.kind, t.apiVersion]).toEqual(['Table', 'meta.k8s.io/v1']);
      expect(t.rows).toHaveLength(1);
      expect(t.rows[0].cells[0]).toBe(`${p}-a`);
      expect(t.rows[0].cells).toHaveLength(t.columnDefinitions.length);
      expect(t.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: `${p}-a` } });
      expect(t.metadata.resourceVersion).toBe(t.rows[0].object.metadata.resourceVersion);
    }
    const rows = w.events.map((e) => (e.object as unknown as Table).rows[0].object);
    expect(rvOf(rows[0])).toBe(rvOf(a));
    expect(rows.map(rvOf)).toEqual([...rows.map(rvOf)].sort((x, y) => x - y));
    expect(new Set(rows.map(rvOf)).size).toBe(3);
  });

  test('50 concurrent watchers all receive the same event', async () => {
    const p = unique('fanout');
    const rv = await listRV(env.client, brokersPath);
    const watchers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        watch(
          i % 2
            ? `${brokersPath}?watch=true&resourceVersion=${rv}`
            : `${group}/watch/clusterservicebrokers?resourceVersion=${rv}`,
        ),
      ),
    );
    const a = await expectStatus(env.client.post(brokersPath, broker(`${p}-a`)), 201);
    await Promise.all(watchers.map((w) => w.until((evs) => changesOf(evs, p).length >= 1)));
    for (const w of watchers) {
      expect(summary(changesOf(w.events, p))).toEqual([['ADDED', `${p}-a`, rvOf(a)]]);
      expect(w.events[0]).toEqual(watchers[0].events[0]);
    }

    // clients going away release their watches on the server
    for (const w of watchers) w.close();
    const cache = [...env.server.stores.values()].find(
      (r) => r.def.plural === 'clusterservicebrokers',
    )!.cache;
    await eventually(async () => {
      const metrics = await env.client.get<string>('/metrics');
      const open = Number(/^apiserver_registered_watchers (\d+)$/m.exec(metrics.text)?.[1]);
      return open === 0 && (cache?.watcherCount ?? 0) === 0;
    });
  });

  test('a watch with an invalid selector is refused with 400, not left hanging', async () => {
    for (const q of ['labelSelector=a%20in%20(', 'fieldSelector=spec.nope%3Dx']) {
      const res = await env.client.get<{ kind: string; code: number; reason: string }>(
        `${brokersPath}?watch=true&${q}`,
      );
      expect([res.status, res.body.kind, res.body.code, res.body.reason]).toEqual([
        400,
        'Status',
        400,
        'BadRequest',
      ]);
    }
  });

  test('after a restart, a watch from an older resourceVersion still gets every change exactly once', async () => {
    const p = unique('restart');
    const rv = await listRV(env.client, brokersPath);
    const before = await churn([env.client], `${p}-old`, 6, 3, 2);
    await env.restartServer();
    const after = await churn([env.client], `${p}-new`, 6, 3, 2);
    const rvAfterRestart = await listRV(env.client, brokersPath);

    const w = await watch(`${brokersPath}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    const [events] = await settle(env.client, [w], p);
    expectMatchesWrites(
      events.filter((e) => nameOf(e).startsWith(`${p}-old`)),
      before,
    );
    expectMatchesWrites(
      events.filter((e) => nameOf(e).startsWith(`${p}-new`)),
      after,
    );
    expectStrictlyIncreasing(events);
    expect(events).toHaveLength(before.count + after.count);
    expectBookmarksHonest(w.events, Number(rv));

    // a watch from a resourceVersion taken after the restart (inside the new cache's window) gets the rest
    const later = await expectStatus(env.client.post(brokersPath, broker(`${p}-later`)), 201);
    const w2 = await watch(`${brokersPath}?watch=true&resourceVersion=${rvAfterRestart}`);
    await w2.until((evs) => evs.some((e) => nameOf(e) === `${p}-later`));
    expect(summary(changesOf(w2.events, p))).toEqual([
      ['ADDED', `${p}-sentinel`, rvOf(w.events.find((e) => nameOf(e) === `${p}-sentinel`)!.object)],
      ['ADDED', `${p}-later`, rvOf(later)],
    ]);
  });

  test('a watch from a compacted resourceVersion gets an ERROR event with 410 Expired; so does an Exact list', async () => {
    const p = unique('compact');
    const rv = await listRV(env.client, brokersPath);
    await churn([env.client], p, 3, 1, 1);
    // a restart starts a fresh watch cache, so the cache cannot answer for rv either
    await env.restartServer();
    const latest = await env.storage.currentRevision();
    await env.storage.compact(latest);

    const w = await watch(`${brokersPath}?watch=true&resourceVersion=${rv}`);
    expect(w.status).toBe(200);
    await w.until(() => w.ended);
    expect(w.error).toBeUndefined();
    expect(w.events).toHaveLength(1);
    expect(w.events[0].type).toBe('ERROR');
    expect(w.events[0].object).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code: 410,
      reason: 'Expired',
    });

    const legacy = await watch(`${group}/watch/clusterservicebrokers?resourceVersion=${rv}`);
    await legacy.until(() => legacy.ended);
    expect(legacy.events.map((e) => [e.type, (e.object as unknown as { code: number }).code])).toEqual([
      ['ERROR', 410],
    ]);

    const list = await env.client.get<{ kind: string; code: number; reason: string }>(
      `${brokersPath}?resourceVersion=${rv}&resourceVersionMatch=Exact`,
    );
    expect([list.status, list.body.kind, list.body.code, list.body.reason]).toEqual([
      410,
      'Status',
      410,
      'Expired',
    ]);
    // the compaction revision itself is still readable, and watchable
    const exact = await env.client.get(`${brokersPath}?resourceVersion=${latest}&resourceVersionMatch=Exact`);
    expect(exact.status).toBe(200);
    const fromLatest = await watch(`${brokersPath}?watch=true&resourceVersion=${latest}`);
    const x = await expectStatus(env.client.post(brokersPath, broker(`${p}-x`)), 201);
    await fromLatest.until((evs) => changesOf(evs, p).length >= 1);
    expect(summary(changesOf(fromLatest.events, p))).toEqual([['ADDED', `${p}-x`, rvOf(x)]]);
  });

  test('a compacted resourceVersion is served from the watch cache while the cache still holds it', async () => {
    const p = unique('compact-cached');
    const rv = await listRV(env.client, brokersPath);
    const a = await expectStatus(env.client.post(brokersPath, broker(`${p}-a`)), 201);
    const b = await expectStatus(env.client.post(brokersPath, broker(`${p}-b`)), 201);
    const latest = await env.storage.currentRevision();
    // etcd keeps the compaction revision itself: a watch needs rv+1 and older to be gone for a 410
    expect(Number(rv) + 1).toBeLessThan(latest);
    await env.storage.compact(latest);

    const w = await watch(`${brokersPath}?watch=true&resourceVersion=${rv}`);
    if (watchCache) {
      // kube's watch cache behaves the same: compaction of etcd does not shrink the cache's window
      await w.until((evs) => changesOf(evs, p).length >= 2);
      expect(summary(changesOf(w.events, p))).toEqual([
        ['ADDED', `${p}-a`, rvOf(a)],
        ['ADDED', `${p}-b`, rvOf(b)],
      ]);
    } else {
      await w.until(() => w.ended);
      expect(w.events.map((e) => [e.type, (e.object as unknown as { code: number }).code])).toEqual([
        ['ERROR', 410],
      ]);
    }
  });
});

describe.each(modes)('graceful stop $mode', ({ watchCache }) => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv({ watchCache, bookmarkIntervalMs: 200 });
  });
  afterAll(async () => {
    await env?.stop();
  });

  test('stopping the server ends every open watch', async () => {
    const p = unique('stop');
    const rv = await listRV(env.client, brokersPath);
    const ns = unique('ns');
    const watchers = await Promise.all([
      env.client.watch(`${brokersPath}?watch=true&resourceVersion=${rv}`),
      env.client.watch(`${brokersPath}?watch=true`),
      env.client.watch(`${group}/watch/clusterservicebrokers/${p}-a?resourceVersion=${rv}`),
      env.client.watch(`${brokersPath}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`),
      env.client.watch(`${instancesPath(ns)}?watch=true`, { accept: tableAccept }),
    ]);
    const a = await expectStatus(env.client.post(brokersPath, broker(`${p}-a`)), 201);
    await Promise.all(watchers.slice(0, 4).map((w) => w.until((evs) => changesOf(evs, p).length >= 1)));

    await env.server.stop();
    await Promise.all(watchers.map((w) => w.until(() => w.ended)));
    for (const w of watchers.slice(0, 4)) {
      expect(summary(changesOf(w.events, p))).toEqual([['ADDED', `${p}-a`, rvOf(a)]]);
      expect(w.events.filter((e) => e.type === 'ERROR')).toEqual([]);
    }
    // a stopped server may be restarted on the same etcd, and serves watches again
    await env.restartServer();
    const again = await env.client.watch(
      `${brokersPath}?watch=true&resourceVersion=${a.metadata.resourceVersion}`,
    );
    const b = await expectStatus(env.client.post(brokersPath, broker(`${p}-b`)), 201);
    await again.until((evs) => changesOf(evs, p).length >= 1);
    expect(summary(changesOf(again.events, p))).toEqual([['ADDED', `${p}-b`, rvOf(b)]]);
    again.close();
  });
});

describe('storage watch', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv({ watchCache: false });
  });
  afterAll(async () => {
    await env?.stop();
  });

  test('a watch etcd itself cancels (compacted start) can be stopped without breaking the connection', async () => {
    // its own connection, so that holding back the compaction pre-check touches nothing else
    const storage = new Storage([env.etcd.endpoint], '/registry');
    try {
      const store = storage.resource({ group: 'test', plural: 'cancelled', namespaced: false });
      const other = storage.resource({ group: 'test', plural: 'bystander', namespaced: false });
      for (let i = 0; i < 3; i++) await store.create(undefined, `o${i}`, { metadata: { name: `o${i}` } });
      const seen: StorageEvent[] = [];
      const bystander = await other.watch(
        await storage.currentRevision(),
        (evs) => seen.push(...evs),
        () => undefined,
      );
      await storage.compact(await storage.currentRevision());

      // the store refuses a compacted start before asking etcd; a compaction can still land between
      // that check and the watch, which this reproduces by letting the check pass
      const kv = (storage as unknown as { client: { kv: { range: (...a: unknown[]) => Promise<unknown> } } })
        .client.kv;
      const range = kv.range;
      kv.range = () => ((kv.range = range), Promise.resolve({}));
      let handle: { stop(): Promise<void> } | undefined;
      const err = await new Promise<StorageError>((resolve, reject) => {
        store.watch(1, () => undefined, resolve).then((h) => (handle = h), reject);
      });
      kv.range = range;
      expect(err).toBeDefined();
      await eventually(async () => handle);
      await handle!.stop();

      // the connection's other watches still deliver
      const created = await other.create(undefined, 'after', { metadata: { name: 'after' } });
      await eventually(async () => seen.length > 0);
      expect(seen.map((e) => [e.type, e.key, e.revision])).toEqual([['ADDED', 'after', rvOf(created)]]);
      await bystander.stop();
    } finally {
      storage.close();
    }
  });
});
