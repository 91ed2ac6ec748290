import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import {
  clusterServiceBrokerResource,
  clusterServicePlanResource,
  serviceBindingResource,
  serviceInstanceResource,
  type ServiceBinding,
  type ServiceInstance,
} from '../api-types';
import { namespaceResource, secretResource } from '../api-types/core';
import type { KubeObject } from '../api-types/meta';
import { startScriptedBroker, type ScriptedBroker } from '../brokers/scripted';
import { InformerFactory, type SharedInformer } from '../controller-manager/framework/informers';
import { freePort, startEtcd, waitFor, type EtcdProcess } from '../hack/lib/etcd';
import { kubeconfig } from '../hack/lib/kubeconfig';
import { KubeClient } from '../pkg/kube/client';
import { createLogger } from '../pkg/logging';
import type { Catalog } from '../pkg/osb';
import { log, ms, printTable, rssMB, type Row } from './lib';

/**
 * The instance and binding controllers at scale: the API server and the controller-manager as
 * child processes (so the controller-manager's RSS is its own), a scripted broker answering every
 * call at once and synchronously, 1,000 instances with one binding each. Figures: create all ->
 * every instance and binding Ready and every Secret written; the controller-manager's memory with
 * them all; delete all -> all gone.
 */

const count = 1000;
const concurrency = 32;
const namespace = 'bench-lifecycle';
const timeoutMs = 300_000;
const targetMs = 30_000;
const targetRssMB = 150;

const catalog: Catalog = {
  services: [
    {
      id: 'lifecycle-svc',
      name: 'lifecycle-svc',
      description: 'Provisioned and bound at once.',
      bindable: true,
      plans: [{ id: 'lifecycle-plan', name: 'instant', description: 'Synchronous everything.' }],
    },
  ],
};

interface Child {
  pid: number;
  logPath: string;
  alive(): boolean;
  stop(): Promise<void>;
}

function child(args: string[], logPath: string, nodeFlags: string[] = []): Child {
  const out = openSync(logPath, 'a');
  const proc = spawn(process.execPath, [...nodeFlags, ...args], {
    stdio: ['ignore', out, out],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  let exited: number | null | undefined;
  proc.once('exit', (code) => (exited = code));
  return {
    pid: proc.pid!,
    logPath,
    alive: () => exited === undefined,
    stop: () =>
      new Promise<void>((res) => {
        if (exited !== undefined) return res();
        proc.once('exit', () => res());
        proc.kill('SIGTERM');
      }),
  };
}

const tail = (path: string) => readFileSync(path, 'utf8').slice(-2000);

/** Resolves when `done()` holds, checked on every change the informers see (no polling). */
function whenever(informers: SharedInformer<KubeObject>[], done: () => boolean, what: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let finished = false;
    const timer = setTimeout(() => {
      finished = true;
      reject(new Error(`${what}: not done within ${timeoutMs} ms`));
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

const isReady = (o: { status?: { conditions?: Array<{ type?: string; status?: string }> } } | undefined) =>
  o?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** The controller-manager's V8 heap in use, from its /metrics. */
async function heapMB(port: number, certDir: string): Promise<number> {
  const dispatcher = new Agent({ connect: { ca: readFileSync(join(certDir, 'ca.crt'), 'utf8') } });
  try {
    const res = await request(`https://127.0.0.1:${port}/metrics`, { dispatcher });
    const text = await res.body.text();
    return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1]) / 1e6;
  } finally {
    await dispatcher.close();
  }
}

/** V8 settings that trade a little CPU for a smaller heap: what a memory-tight deployment would set (NODE_OPTIONS). */
const smallHeapFlags = ['--optimize-for-size', '--max-semi-space-size=1'];

/**
 * The scenario twice: the controller-manager as it starts by default, then with smallHeapFlags,
 * since its RSS is mostly V8 heap headroom and the code of its libraries, not what it holds.
 */
export async function lifecycleBench(): Promise<Row[]> {
  const rows = await lifecycle([]);
  rows.push(...(await lifecycle(smallHeapFlags)));
  rows.push({
    scenario: `  [small V8 heap]: the controller-manager run as node ${smallHeapFlags.join(' ')}`,
    figure: '',
  });
  return rows;
}

async function lifecycle(nodeFlags: string[]): Promise<Row[]> {
  const label = nodeFlags.length ? ' [small V8 heap]' : '';
  const root = resolve(__dirname, '..', '..');
  const dir = mkdtempSync(join(tmpdir(), 'catalog-bench-lifecycle-'));
  const rows: Row[] = [];
  let etcd: EtcdProcess | undefined;
  let apiserver: Child | undefined;
  let cm: Child | undefined;
  let broker: ScriptedBroker | undefined;
  let informers: InformerFactory | undefined;
  try {
    etcd = await startEtcd(join(dir, 'etcd'));
    const port = await freePort();
    const certDir = join(dir, 'certs');
    const token = randomBytes(16).toString('hex');
    const tokenFile = join(dir, 'tokens.csv');
    writeFileSync(tokenFile, `${token},admin,admin,"system:masters"\n`);
    apiserver = child(
      [
        join(root, 'dist', 'apiserver', 'cmd', 'main.js'),
        `--etcd-servers=${etcd.endpoint}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${certDir}`,
        '--standalone',
        `--token-auth-file=${tokenFile}`,
      ],
      join(dir, 'apiserver.log'),
    );
    const kubeconfigPath = join(dir, 'kubeconfig');
    let client: KubeClient | undefined;
    await waitFor(
      'the API server',
      async () => {
        if (!apiserver!.alive()) throw new Error(`API server exited: ${tail(apiserver!.logPath)}`);
        const text = kubeconfig(`https://127.0.0.1:${port}`, readFileSync(join(certDir, 'ca.crt'), 'utf8'), {
          token,
        });
        writeFileSync(kubeconfigPath, text);
        const kc = new KubeConfig();
        kc.loadFromString(text);
        client ??= new KubeClient(kc);
        await client.list(clusterServiceBrokerResource);
        return true;
      },
      60_000,
    );
    const api = client!;

    broker = await startScriptedBroker({ catalog });
    const cmPort = await freePort();
    const cmCertDir = join(dir, 'cm-certs');
    cm = child(
      [
        join(root, 'dist', 'controller-manager', 'cmd', 'main.js'),
        `--kubeconfig=${kubeconfigPath}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${cmPort}`,
        `--cert-dir=${cmCertDir}`,
        '--leader-elect=false',
      ],
      join(dir, 'controller-manager.log'),
      nodeFlags,
    );
    await waitFor(
      'the controller-manager',
      async () => {
        if (!cm!.alive()) throw new Error(`controller-manager exited: ${tail(cm!.logPath)}`);
        const dispatcher = new Agent({ connect: { ca: readFileSync(join(cmCertDir, 'ca.crt'), 'utf8') } });
        try {
          const res = await request(`https://127.0.0.1:${cmPort}/readyz`, { dispatcher });
          await res.body.dump();
          return res.statusCode === 200;
        } finally {
          await dispatcher.close();
        }
      },
      60_000,
    );
    const idle = rssMB(cm.pid);
    await api.create(namespaceResource, { metadata: { name: namespace } });
    await api.create(clusterServiceBrokerResource, {
      metadata: { name: 'lifecycle' },
      spec: { url: broker.url },
    });

    // the bench watches what the controllers write, in its own process
    informers = new InformerFactory(api, createLogger('bench-informers', 'warn'));
    const instances = informers.for<ServiceInstance>(serviceInstanceResource);
    const bindings = informers.for<ServiceBinding>(serviceBindingResource);
    const secrets = informers.for<KubeObject>(secretResource);
    const plans = informers.for<KubeObject>(clusterServicePlanResource);
    await informers.start(5 * 60_000);
    const watched = [instances, bindings, secrets, plans] as unknown as SharedInformer<KubeObject>[];
    await whenever(watched, () => plans.list().length === 1, 'the catalog');

    const names = Array.from({ length: count }, (_, i) => `lc-${String(i).padStart(4, '0')}`);
    const mine = (o: KubeObject) => o.metadata.namespace === namespace;
    const allUp = () =>
      instances.list(namespace).filter(isReady).length === count &&
      bindings.list(namespace).filter(isReady).length === count &&
      secrets.list(namespace).length >= count;

    let t0 = performance.now();
    const up = whenever(watched, allUp, 'create');
    await forEachLimit(names, concurrency, async (name) => {
      await api.create(serviceInstanceResource, {
        metadata: { name, namespace },
        spec: { clusterServiceClassExternalName: 'lifecycle-svc', clusterServicePlanExternalName: 'instant' },
      });
      await api.create(serviceBindingResource, {
        metadata: { name, namespace },
        spec: { instanceRef: { name } },
      });
    });
    const created = performance.now() - t0;
    await up;
    const upMs = performance.now() - t0;
    log(
      `${count} instances + ${count} bindings Ready, Secrets written: ${ms(upMs)} (creates took ${ms(created)})${label}`,
    );
    const boundAtBroker = broker.bindings().length;
    if (boundAtBroker !== count) throw new Error(`the broker holds ${boundAtBroker} bindings, not ${count}`);
    rows.push({
      scenario: `${count} instances + ${count} bindings: create all -> all Ready, all Secrets written${label}`,
      figure: ms(upMs),
      target: `<= ${targetMs / 1000} s`,
      met: upMs <= targetMs,
    });

    const mem = rssMB(cm.pid);
    const heap = await heapMB(cmPort, cmCertDir);
    rows.push({
      scenario: `controller-manager memory with ${count} instances + ${count} bindings${label}`,
      figure: `${mem.rss.toFixed(0)} MB RSS (peak ${mem.peak.toFixed(0)} MB, V8 heap used ${heap.toFixed(0)} MB; ${idle.rss.toFixed(0)} MB idle)`,
      target: `RSS <= ${targetRssMB} MB`,
      met: mem.rss <= targetRssMB,
    });

    const allGone = () =>
      !instances.list().some(mine) && !bindings.list().some(mine) && !secrets.list().some(mine);
    t0 = performance.now();
    const gone = whenever(watched, allGone, 'delete');
    // bindings first: an instance is deprovisioned only once its bindings are gone
    await forEachLimit(names, concurrency, async (name) => {
      await api.delete(serviceBindingResource, namespace, name);
      await api.delete(serviceInstanceResource, namespace, name);
    });
    await gone;
    const goneMs = performance.now() - t0;
    log(`${count} instances + ${count} bindings deleted: ${ms(goneMs)}`);
    rows.push({
      scenario: `${count} instances + ${count} bindings: delete all -> all gone (unbound, deprovisioned)${label}`,
      figure: ms(goneMs),
      target: `<= ${targetMs / 1000} s`,
      met: goneMs <= targetMs,
    });
    if (broker.bindings().length || broker.instances().length) {
      throw new Error(
        `the broker still holds ${broker.bindings().length} bindings and ${broker.instances().length} instances`,
      );
    }
    const violations = broker.violations();
    if (violations.length)
      throw new Error(`the broker saw ${violations.length} bad requests: ${violations[0].message}`);
    if (!cm.alive()) throw new Error(`the controller-manager exited: ${tail(cm.logPath)}`);
  } finally {
    await informers?.stop();
    await cm?.stop();
    await broker?.stop();
    await apiserver?.stop();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (require.main === module) {
  lifecycleBench()
    .then((rows) => process.stdout.write(`${printTable(rows)}\n`))
    .catch((e) => {
      process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    });
}
