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
import { assertAlive, type ServingProcess } from '../hack/lib/stack';
import { InformerFactory, type SharedInformer } from '../pkg/kube/informers';
import { createLogger } from '../pkg/logging';
import type { Catalog } from '../pkg/osb';
import {
  heapUsedMB,
  log,
  ms,
  printTable,
  rssMB,
  startBenchStack,
  throughput,
  whenever,
  type Row,
} from './lib';

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

const isReady = (o: { status?: { conditions?: Array<{ type?: string; status?: string }> } } | undefined) =>
  o?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** The V8 heap in use (MB) of a process serving /metrics. */
async function heapOf(p: ServingProcess): Promise<number> {
  const dispatcher = new Agent({ connect: { ca: p.ca() } });
  try {
    const res = await request(`${p.url}/metrics`, { dispatcher });
    return heapUsedMB(await res.body.text());
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
  const rows: Row[] = [];
  const stack = await startBenchStack('lifecycle');
  let informers: InformerFactory | undefined;
  try {
    const { client: api } = stack;
    const broker = await stack.startBroker(catalog);
    const cm = await stack.startControllerManager(nodeFlags);
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
    await whenever(watched, () => plans.list().length === 1, 'the catalog', timeoutMs);

    const names = Array.from({ length: count }, (_, i) => `lc-${String(i).padStart(4, '0')}`);
    const mine = (o: KubeObject) => o.metadata.namespace === namespace;
    const allUp = () =>
      instances.list(namespace).filter(isReady).length === count &&
      bindings.list(namespace).filter(isReady).length === count &&
      secrets.list(namespace).length >= count;

    let t0 = performance.now();
    const up = whenever(watched, allUp, 'create', timeoutMs);
    await throughput(concurrency, count, async (i) => {
      const name = names[i];
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
    const heap = await heapOf(cm);
    rows.push({
      scenario: `controller-manager memory with ${count} instances + ${count} bindings${label}`,
      figure: `${mem.rss.toFixed(0)} MB RSS (peak ${mem.peak.toFixed(0)} MB, V8 heap used ${heap.toFixed(0)} MB; ${idle.rss.toFixed(0)} MB idle)`,
      target: `RSS <= ${targetRssMB} MB`,
      met: mem.rss <= targetRssMB,
    });

    const allGone = () =>
      !instances.list().some(mine) && !bindings.list().some(mine) && !secrets.list().some(mine);
    t0 = performance.now();
    const gone = whenever(watched, allGone, 'delete', timeoutMs);
    // bindings first: an instance is deprovisioned only once its bindings are gone
    await throughput(concurrency, count, async (i) => {
      await api.delete(serviceBindingResource, namespace, names[i]);
      await api.delete(serviceInstanceResource, namespace, names[i]);
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
    assertAlive(cm);
  } finally {
    await informers?.stop();
    await stack.stop();
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
