import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, type EtcdProcess } from '../hack/lib/etcd';
import { waitFor } from '../pkg/wait';
import { adminToken } from '../hack/lib/kubeconfig';
import { assertAlive, startAPIServerProcess, waitReady, type APIServerProcess } from '../hack/lib/stack';
import {
  Api,
  base,
  createInstances,
  etcdPuts,
  getLatency,
  instanceName,
  listLatency,
  namespace,
  watchFanout,
  type Latency,
} from './api';
import { authOverhead } from './auth';
import { brokerBench } from './broker';
import { lifecycleBench } from './lifecycle';
import { sqlBench } from './sql';
import { heapUsedMB, log, ms, printTable, rssMB, type Row } from './lib';

/**
 * `make bench`: etcd and the API server (a child process, so its RSS is its own) on loopback,
 * then the API scenarios. Figures are printed beside their targets; a missed target is reported,
 * never a failure.
 */

const total = 10_000;
const concurrency = [1, 8, 32];
// API creates per concurrency, adding up to `total`; the first fills the namespace to 1,000 for the small LIST
const creates: Record<number, number> = { 1: 1000, 8: 3000, 32: total - 4000 };
const rawPuts: Record<number, number> = { 1: 2000, 8: 6000, 32: 15000 };
const getRuns = 5000;
const watchers = 100;
const watchUpdates = 200;
const failures: string[] = [];

/** RSS of the server process, with its V8 heap in use (from /metrics) to tell live data from garbage not yet collected. */
async function memory(api: Api, pid: number): Promise<{ rss: number; text: string }> {
  const { rss, peak } = rssMB(pid);
  const heap = heapUsedMB((await api.call('GET', '/metrics')).toString('utf8'));
  return {
    rss,
    text: `${rss.toFixed(0)} MB RSS (peak ${peak.toFixed(0)} MB, V8 heap used ${heap.toFixed(0)} MB)`,
  };
}

const latencyRow = (scenario: string, l: Latency, target?: { p50: number }): Row => ({
  scenario: `${scenario} (n=${l.n})`,
  figure: `p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}`,
  target: target ? `p50 <= ${target.p50} ms` : undefined,
  met: target ? l.p50 <= target.p50 : undefined,
});

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadavg()[0];
  const dir = mkdtempSync(join(tmpdir(), 'catalog-bench-'));
  const rows: Row[] = [];
  let etcd: EtcdProcess | undefined;
  let server: APIServerProcess | undefined;
  try {
    etcd = await startEtcd(join(dir, 'etcd'));
    server = await startAPIServerProcess({ etcd: etcd.endpoint, dir, log: join(dir, 'apiserver.log') });
    await waitReady(server);
    // the bench is a client like any other: it authenticates (a static token) and is authorized
    const api = new Api(server.url, server.ca(), 32, { authorization: `Bearer ${adminToken}` });
    log(`etcd ${etcd.endpoint}, API server ${api.origin} (pid ${server.pid}), data in ${dir}`);
    rows.push({ scenario: 'API server memory at start', figure: (await memory(api, server.pid)).text });

    // 3. create throughput, API and raw etcd; the API creates are the first instances of the namespace
    const apiRate: Record<number, number> = {};
    const rawRate: Record<number, number> = {};
    let created = 0;
    for (const c of concurrency) {
      rawRate[c] = await etcdPuts(etcd.endpoint, c, rawPuts[c]);
      log(`raw etcd put, ${c} clients: ${rawRate[c].toFixed(0)}/s`);
      apiRate[c] = await createInstances(api, created, created + creates[c], c);
      created += creates[c];
      log(`API create, ${c} clients: ${apiRate[c].toFixed(0)}/s (${created} instances)`);
      if (created === 1000) {
        // 1. GET of one instance
        const consistent = await getLatency(api, instanceName(0), getRuns);
        rows.push(latencyRow('GET instance, from etcd (no resourceVersion)', consistent, { p50: 1 }));
        const cached = await getLatency(api, instanceName(0), getRuns, '0');
        rows.push(latencyRow('GET instance, watch cache (resourceVersion=0)', cached, { p50: 1 }));
        log('GET done');
        // 2. LIST of 1,000
        await lists(api, rows, 1000);
      }
    }
    for (const c of concurrency) {
      const ratio = apiRate[c] / rawRate[c];
      rows.push({
        scenario: `create, ${c} client${c > 1 ? 's' : ''} (API ${creates[c]} / etcd ${rawPuts[c]})`,
        figure: `API ${apiRate[c].toFixed(0)}/s  raw etcd put ${rawRate[c].toFixed(0)}/s  API/raw ${(ratio * 100).toFixed(0)}%`,
        target: c === 32 ? 'API/raw >= 70%' : undefined,
        met: c === 32 ? ratio >= 0.7 : undefined,
      });
    }

    // 5. RSS with 10,000 instances, before and after listing them
    const before = await memory(api, server.pid);
    rows.push({
      scenario: `API server memory, ${total} instances`,
      figure: before.text,
      target: 'RSS <= 250 MB',
      met: before.rss <= 250,
    });

    // 2. LIST of 10,000
    await lists(api, rows, total);
    const after = await memory(api, server.pid);
    rows.push({
      scenario: `API server memory, after LISTing them`,
      figure: after.text,
      target: 'RSS <= 250 MB',
      met: after.rss <= 250,
    });

    // 4. watch fan-out
    const fanout = await watchFanout(api, watchers, watchUpdates, instanceName(1));
    rows.push(
      latencyRow(
        `watch fan-out, ${watchers} watchers x ${watchUpdates} updates, write sent -> event received`,
        fanout,
      ),
    );
    rows.push({ scenario: 'API server memory at the end', figure: (await memory(api, server.pid)).text });
    rows.push(...(await authOverhead(etcd.endpoint, dir, getRuns)));
    assertAlive(server);
    await api.close();
  } finally {
    await server?.stop();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  // the broker controller, on an etcd and API server of its own
  rows.push(...(await brokerBench()));
  // the instance and binding controllers, the controller-manager in a process of its own
  rows.push(...(await lifecycleBench()));
  // the SQL broker through the catalog, against the real PostgreSQL
  rows.push(...(await sqlBench()));
  const seconds = (performance.now() - started) / 1000;
  rows.push({ scenario: 'total bench duration', figure: `${seconds.toFixed(0)} s` });
  // other work on the machine skews every figure: the load average says how much there was
  const machine = `${cpus().length} CPUs, load ${loadAtStart.toFixed(1)} at start / ${loadavg()[0].toFixed(1)} at end; node ${process.version}`;
  process.stdout.write(
    `\nService Catalog API benchmark (namespace "${namespace}"; ${machine})\n\n${printTable(rows)}\n`,
  );
  if (failures.length > 0) {
    process.stdout.write(
      `\nFailed requests (a broken server, not a missed target):\n${failures.map((f) => `  - ${f}`).join('\n')}\n`,
    );
    process.exitCode = 1;
  }
}

/** LIST of the namespace holding `count` instances: JSON and Table, from the watch cache and from etcd. */
async function lists(api: Api, rows: Row[], count: number): Promise<void> {
  const label = count.toLocaleString('en-US');
  for (const table of [false, true]) {
    for (const cache of [true, false]) {
      const runs = count >= 10_000 && !cache ? 5 : 20;
      const scenario = `LIST ${label}, ${table ? 'Table' : 'JSON'}, ${cache ? 'watch cache (resourceVersion=0)' : 'from etcd'}`;
      const goal = count === 10_000 && cache ? 150 : undefined;
      const target = goal ? `p50 <= ${goal} ms` : undefined;
      try {
        const l = await listLatency(api, runs, { table, cache, expect: count });
        rows.push({
          scenario: `${scenario} (n=${runs})`,
          figure: `p50 ${ms(l.p50)}  p99 ${ms(l.p99)}  (${(l.bytes / 1e6).toFixed(2)} MB)`,
          target,
          met: goal ? l.p50 <= goal : undefined,
        });
        log(`${scenario}: p50 ${ms(l.p50)}`);
      } catch (e) {
        // a server that cannot answer is broken: report it with the figures and fail at the end
        const t0 = performance.now();
        await waitFor(
          'the API server to read from etcd again',
          () => api.call('GET', `${base}/${instanceName(0)}`).then(() => true),
          60_000,
        );
        const outage = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
        failures.push(`${scenario}: ${(e as Error).message}; reads from etcd failed for ${outage} after it`);
        rows.push({ scenario, figure: 'FAILED (see below)', target, met: goal ? false : undefined });
      }
    }
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
