import {
  clusterServiceBrokerResource,
  clusterServiceClassResource,
  clusterServicePlanResource,
  type ClusterServiceBroker,
} from '../api-types';
import type { KubeObject } from '../api-types/meta';
import {
  startClusterServiceBrokerController,
  startServiceBrokerController,
} from '../controller-manager/controllers/broker';
import { inProcessControllerManager } from '../hack/lib/controller-manager';
import { waitFor } from '../pkg/wait';
import { keyOf, type SharedInformer } from '../pkg/kube/informers';
import { createLogger } from '../pkg/logging';
import { createRegistry } from '../pkg/metrics';
import type { Catalog, ServicePlan } from '../pkg/osb';
import { log, ms, percentile, startBenchStack, throughput, whenever, type Row } from './lib';

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

type Broker = ClusterServiceBroker & KubeObject;

const isReady = (b: Broker | undefined) => {
  const c = b?.status?.conditions?.find((x) => x.type === 'Ready');
  return c?.status === 'True' && b?.status?.reconciledGeneration === b?.metadata.generation;
};

export async function brokerBench(): Promise<Row[]> {
  const rows: Row[] = [];
  const stack = await startBenchStack('broker');
  const { client } = stack;
  const manager = inProcessControllerManager({
    client,
    controllers: [startClusterServiceBrokerController, startServiceBrokerController],
    log: createLogger('bench-controller-manager', process.env.LOG_LEVEL ?? 'warn'),
    metrics: createRegistry(),
    exit: (code, reason) => log(`controller-manager would exit ${code}: ${reason}`),
  });
  try {
    await manager.start();
    await waitFor('the controllers', async () => manager.controllersRunning, 60_000);
    // what the controllers see is what the bench measures
    const brokerInf = manager.informers.for<Broker>(clusterServiceBrokerResource);
    const classInf = manager.informers.for<KubeObject>(clusterServiceClassResource);
    const planInf = manager.informers.for<KubeObject>(clusterServicePlanResource);
    const watched = [brokerInf, classInf, planInf] as unknown as SharedInformer<KubeObject>[];
    const ownedBy = (i: SharedInformer<KubeObject>, broker: string) =>
      i
        .list()
        .filter((o) => (o.spec as { clusterServiceBrokerName?: string })?.clusterServiceBrokerName === broker)
        .length;

    // 1. one broker with 24 offerings and 25 plans: create → Ready, and delete → gone
    const big = await stack.startBroker(catalog('big', bigOfferings));
    const readyMs: number[] = [];
    const goneMs: number[] = [];
    for (let run = 0; run < bigRuns; run++) {
      const name = `big-${run}`;
      let t0 = performance.now();
      await client.create<Broker>(clusterServiceBrokerResource, {
        metadata: { name },
        spec: { url: big.url },
      });
      await whenever(watched, () => isReady(brokerInf.get(undefined, name)), `${name} Ready`, 30_000);
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
        `${name} gone`,
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
      urls.set(name, (await stack.startBroker(catalog(name, 2))).url);
    }
    const keys = new Set(names);
    const allReady = () => [...keys].every((k) => isReady(brokerInf.get(undefined, k)));
    let t0 = performance.now();
    const ready = whenever(watched, allReady, 'create all', 60_000);
    await throughput(createConcurrency, names.length, async (i) => {
      await client.create<Broker>(clusterServiceBrokerResource, {
        metadata: { name: names[i] },
        spec: { url: urls.get(names[i]) },
      });
    });
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
    const gone = whenever(watched, allGone, 'delete all', 60_000);
    await throughput(createConcurrency, names.length, (i) =>
      client.delete(clusterServiceBrokerResource, undefined, names[i]),
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
    await manager.shutdown();
    await stack.stop();
  }
  return rows;
}
