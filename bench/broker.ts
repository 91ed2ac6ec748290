import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import {
  clusterServiceBrokerResource,
  clusterServiceClassResource,
  clusterServicePlanResource,
  type BrokerCondition,
  type ClusterServiceBroker,
} from '../api-types';
import type { KubeObject } from '../api-types/meta';
import { startScriptedBroker, type ScriptedBroker } from '../brokers/scripted';
import {
  startClusterServiceBrokerController,
  startServiceBrokerController,
} from '../controller-manager/controllers/broker';
import { keyOf, type SharedInformer } from '../controller-manager/framework/informers';
import { ControllerManager } from '../controller-manager/manager';
import { freePort, startEtcd, waitFor, type EtcdProcess } from '../hack/lib/etcd';
import { kubeconfig } from '../hack/lib/kubeconfig';
import { KubeClient, type ResourceType } from '../pkg/kube/client';
import { createLogger } from '../pkg/logging';
import { createRegistry } from '../pkg/metrics';
import type { Catalog, ServicePlan } from '../pkg/osb';
import { log, ms, percentile, type Row } from './lib';

/**
 * The broker controller against a real API server (a child process, standalone, so Secrets and
 * Events exist) with the controller-manager in this process and scripted brokers on loopback:
 * how long a large catalog takes to become classes and plans, and how long 100 brokers take to
 * be created and deleted.
 */

const bigOfferings = 24;
const bigRuns = 5;
const manyBrokers = 100;
const createConcurrency = 32;

const schema = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  type: 'object',
  properties: { size: { type: 'string', enum: ['s', 'm', 'l'] }, replicas: { type: 'integer', minimum: 1 } },
};

function plan(id: string, name: string): ServicePlan {
  return {
    id,
    name,
    description: `The ${name} plan.`,
    free: false,
    metadata: { bullets: ['one', 'two'], costs: [{ amount: { usd: 10 }, unit: 'MONTHLY' }] },
    maintenance_info: { version: '1.0.0' },
    schemas: {
      service_instance: { create: { parameters: schema }, update: { parameters: schema } },
      service_binding: { create: { parameters: schema } },
    },
  };
}

/** `offerings` offerings of one plan each, the first with a second plan; ids prefixed with `p`. */
function catalog(p: string, offerings: number): Catalog {
  return {
    services: Array.from({ length: offerings }, (_, i) => ({
      id: `${p}-svc-${i}`,
      name: `${p}-svc-${i}`,
      description: `Offering ${i}.`,
      bindable: true,
      tags: ['bench'],
      metadata: { displayName: `Offering ${i}` },
      plans:
        i === 0
          ? [plan(`${p}-plan-${i}-a`, 'a'), plan(`${p}-plan-${i}-b`, 'b')]
          : [plan(`${p}-plan-${i}-a`, 'a')],
    })),
  };
}

async function startApiServer(dir: string, etcd: EtcdProcess) {
  const root = resolve(__dirname, '..', '..');
  const port = await freePort();
  const certDir = join(dir, 'certs');
  const logPath = join(dir, 'apiserver.log');
  const out = openSync(logPath, 'a');
  const token = randomBytes(16).toString('hex');
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(tokenFile, `${token},controller-manager,controller-manager,"system:masters"\n`);
  const proc = spawn(
    process.execPath,
    [
      join(root, 'dist', 'apiserver', 'cmd', 'main.js'),
      `--etcd-servers=${etcd.endpoint}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${certDir}`,
      '--standalone',
      `--token-auth-file=${tokenFile}`,
    ],
    { stdio: ['ignore', out, out], env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } },
  );
  let exited: number | null | undefined;
  proc.once('exit', (code) => (exited = code));
  let client: KubeClient | undefined;
  await waitFor(
    'the API server',
    async () => {
      if (exited !== undefined)
        throw new Error(`API server exited (${exited}): ${readFileSync(logPath, 'utf8').slice(-2000)}`);
      const kc = new KubeConfig();
      kc.loadFromString(
        kubeconfig(`https://127.0.0.1:${port}`, readFileSync(join(certDir, 'ca.crt'), 'utf8'), { token }),
      );
      client ??= new KubeClient(kc);
      await client.list(clusterServiceBrokerResource);
      return true;
    },
    60_000,
  ).catch((e) => {
    proc.kill('SIGTERM');
    throw e;
  });
  return {
    client: client!,
    stop: () =>
      new Promise<void>((res) => {
        if (exited !== undefined) return res();
        proc.once('exit', () => res());
        proc.kill('SIGTERM');
      }),
  };
}

type Broker = ClusterServiceBroker & KubeObject;

const isReady = (b: Broker | undefined) => {
  const c = (b?.status?.conditions as BrokerCondition[] | undefined)?.find((x) => x.type === 'Ready');
  return c?.status === 'True' && b?.status?.reconciledGeneration === b?.metadata.generation;
};

/** Resolves when `done()` holds, checked on every change the informer sees (no polling). */
function whenever(
  informers: SharedInformer<KubeObject>[],
  done: () => boolean,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let finished = false;
    const timer = setTimeout(() => {
      finished = true;
      reject(new Error(`not done within ${timeoutMs} ms`));
    }, timeoutMs);
    const check = () => {
      if (finished || !done()) return;
      finished = true;
      clearTimeout(timer);
      resolvePromise();
    };
    for (const inf of informers) inf.onChange(check);
    check();
  });
}

async function forEachLimit<T>(items: T[], limit: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i]);
    }),
  );
}

export async function brokerBench(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-bench-broker-'));
  const rows: Row[] = [];
  const scripted: ScriptedBroker[] = [];
  let etcd: EtcdProcess | undefined;
  let server: Awaited<ReturnType<typeof startApiServer>> | undefined;
  let manager: ControllerManager | undefined;
  try {
    etcd = await startEtcd(join(dir, 'etcd'));
    server = await startApiServer(dir, etcd);
    const { client } = server;
    manager = new ControllerManager({
      client,
      options: {
        resyncIntervalMs: 5 * 60_000,
        brokerRelistIntervalMs: 15 * 60_000,
        concurrentSyncs: 5,
        reconciliationRetryDurationMs: 7 * 24 * 3600_000,
        osbApiRequestTimeoutMs: 60_000,
        operationPollingMaximumBackoffMs: 20 * 60_000,
        cascadingDeletion: false,
      },
      leaderElection: {
        enabled: false,
        resourceName: 'service-catalog-controller-manager',
        resourceNamespace: 'kube-system',
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2000,
      },
      clusterIdConfigMap: { namespace: 'default', name: 'cluster-info' },
      controllers: [startClusterServiceBrokerController, startServiceBrokerController],
      log: createLogger('bench-controller-manager', process.env.LOG_LEVEL ?? 'warn'),
      metrics: createRegistry(),
      exit: (code, reason) => log(`controller-manager would exit ${code}: ${reason}`),
    });
    await manager.start();
    await waitFor('the controllers', async () => manager!.controllersRunning, 60_000);
    const inf = <T extends KubeObject>(t: ResourceType) => manager!.informers.for<T>(t);
    const brokerInf = inf<Broker>(clusterServiceBrokerResource);
    const classInf = inf(clusterServiceClassResource);
    const planInf = inf(clusterServicePlanResource);
    const watched = [brokerInf, classInf, planInf] as unknown as SharedInformer<KubeObject>[];
    const ownedBy = (i: SharedInformer<KubeObject>, broker: string) =>
      i
        .list()
        .filter((o) => (o.spec as { clusterServiceBrokerName?: string })?.clusterServiceBrokerName === broker)
        .length;

    // 1. one broker with 24 offerings and 25 plans: create → Ready, and delete → gone
    const big = await startScriptedBroker({ catalog: catalog('big', bigOfferings) });
    scripted.push(big);
    const readyMs: number[] = [];
    const goneMs: number[] = [];
    for (let run = 0; run < bigRuns; run++) {
      const name = `big-${run}`;
      let t0 = performance.now();
      await client.create<Broker>(clusterServiceBrokerResource, {
        metadata: { name },
        spec: { url: big.url },
      });
      await whenever(watched, () => isReady(brokerInf.get(undefined, name)), 30_000);
      readyMs.push(performance.now() - t0);
      const classes = ownedBy(watched[1], name);
      const plans = ownedBy(watched[2], name);
      if (classes !== bigOfferings || plans !== bigOfferings + 1) {
        throw new Error(`broker ${name} is Ready with ${classes} classes and ${plans} plans`);
      }
      t0 = performance.now();
      await client.delete(clusterServiceBrokerResource, undefined, name);
      await whenever(
        watched,
        () =>
          !brokerInf.get(undefined, name) &&
          ownedBy(watched[1], name) === 0 &&
          ownedBy(watched[2], name) === 0,
        30_000,
      );
      goneMs.push(performance.now() - t0);
    }
    log(`24/25 broker Ready: ${readyMs.map(ms).join(', ')}`);
    const warm = readyMs.slice(1);
    rows.push({
      scenario: `broker with ${bigOfferings} offerings / ${bigOfferings + 1} plans: create -> Ready (first run, cold)`,
      figure: ms(readyMs[0]),
      target: '<= 1000 ms',
      met: readyMs[0] <= 1000,
    });
    rows.push({
      scenario: `  same, next ${warm.length} runs`,
      figure: `p50 ${ms(percentile(warm, 50))}  max ${ms(Math.max(...warm))}`,
      target: '<= 1000 ms',
      met: Math.max(...warm) <= 1000,
    });
    rows.push({
      scenario: `  its delete -> broker, classes and plans gone (n=${goneMs.length})`,
      figure: `p50 ${ms(percentile(goneMs, 50))}  max ${ms(Math.max(...goneMs))}`,
    });

    // 2. 100 brokers (2 offerings, 3 plans each), each its own scripted broker: create all → all Ready; delete all → all gone
    const names = Array.from({ length: manyBrokers }, (_, i) => `many-${String(i).padStart(3, '0')}`);
    const urls = new Map<string, string>();
    for (const name of names) {
      const b = await startScriptedBroker({ catalog: catalog(name, 2) });
      scripted.push(b);
      urls.set(name, b.url);
    }
    const keys = new Set(names);
    const allReady = () => [...keys].every((k) => isReady(brokerInf.get(undefined, k)));
    let t0 = performance.now();
    const ready = whenever(watched, allReady, 60_000);
    await forEachLimit(names, createConcurrency, (name) =>
      client.create<Broker>(clusterServiceBrokerResource, {
        metadata: { name },
        spec: { url: urls.get(name) },
      }),
    );
    await ready;
    const createAll = performance.now() - t0;
    const classes = classInf
      .list()
      .filter((c) => keys.has(String((c.spec as Record<string, unknown>)?.clusterServiceBrokerName))).length;
    const plans = planInf
      .list()
      .filter((c) => keys.has(String((c.spec as Record<string, unknown>)?.clusterServiceBrokerName))).length;
    log(`${manyBrokers} brokers Ready in ${ms(createAll)} (${classes} classes, ${plans} plans)`);
    rows.push({
      scenario: `${manyBrokers} brokers (${classes} classes, ${plans} plans): create all -> all Ready`,
      figure: ms(createAll),
      target: '<= 5000 ms',
      met: createAll <= 5000,
    });

    const ours = (o: KubeObject) =>
      keys.has(String((o.spec as Record<string, unknown>)?.clusterServiceBrokerName));
    const allGone = () =>
      brokerInf.list().every((b) => !keys.has(keyOf(b))) &&
      !classInf.list().some(ours) &&
      !planInf.list().some(ours);
    t0 = performance.now();
    const gone = whenever(watched, allGone, 60_000);
    await forEachLimit(names, createConcurrency, (name) =>
      client.delete(clusterServiceBrokerResource, undefined, name),
    );
    await gone;
    const deleteAll = performance.now() - t0;
    log(`${manyBrokers} brokers deleted in ${ms(deleteAll)}`);
    rows.push({
      scenario: `${manyBrokers} brokers: delete all -> brokers, classes and plans gone`,
      figure: ms(deleteAll),
      target: '<= 5000 ms',
      met: deleteAll <= 5000,
    });
  } finally {
    await manager?.shutdown();
    await Promise.all(scripted.map((b) => b.stop()));
    await server?.stop();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
