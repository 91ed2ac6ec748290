import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  clusterServiceBrokerResource,
  clusterServicePlanResource,
  serviceBindingResource,
  serviceInstanceResource,
  type ServiceBinding,
  type ServiceInstance,
} from '../api-types';
import { namespaceResource, secretResource, type Secret } from '../api-types/core';
import type { KubeObject } from '../api-types/meta';
import { IDS } from '../brokers/sql';
import { assertAlive, startSqlBrokerProcess, waitListening } from '../hack/lib/stack';
import type { KubeClient } from '../pkg/kube/client';
import { InformerFactory, type SharedInformer } from '../pkg/kube/informers';
import { createLogger } from '../pkg/logging';
import { OSBClient } from '../pkg/osb';
import {
  log,
  ms,
  percentile,
  printTable,
  rssMB,
  startBenchStack,
  throughput,
  whenever,
  type Row,
} from './lib';

/**
 * The SQL broker through the catalog: the API server, the controller-manager and the broker as
 * child processes, the real PostgreSQL. 50 instances of shared-small and 5 of dedicated, each with
 * a binding: created at once -> every instance and binding Ready and every Secret written (and
 * each Secret's uri connecting), then deleted -> all gone (and the databases with them). Beside
 * it, the same provisions and binds sent to the broker directly: what the catalog adds.
 */

const POSTGRES_URL = process.env.POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const MARIADB_URL = process.env.MARIADB_URL || 'mysql://root@127.0.0.1:3306';
const namespace = 'bench-sql';
const concurrency = 10;
const timeoutMs = 300_000;
const serviceId = IDS.postgresql.serviceId;

const isReady = (o: { status?: { conditions?: Array<{ type?: string; status?: string }> } } | undefined) =>
  o?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

interface Scenario {
  plan: 'shared-small' | 'dedicated';
  count: number;
}

const scenarios: Scenario[] = [
  { plan: 'shared-small', count: 50 },
  { plan: 'dedicated', count: 5 },
];

export async function sqlBench(): Promise<Row[]> {
  const rows: Row[] = [];
  const stack = await startBenchStack('sql');
  const dataDir = mkdtempSync(join(tmpdir(), 'catalog-bench-sql-data-'));
  // the postgres user runs the dedicated servers below it
  chmodSync(dataDir, 0o711);
  const stateName = `bench_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  let informers: InformerFactory | undefined;
  const broker = await startSqlBrokerProcess({
    username: 'catalog',
    password,
    postgresUrl: POSTGRES_URL,
    mariadbUrl: MARIADB_URL,
    dataDir,
    stateName,
    log: join(dataDir, 'broker.log'),
  });
  try {
    await waitListening(broker);
    const { client: api } = stack;
    await stack.startControllerManager([]);
    await api.create(namespaceResource, { metadata: { name: namespace } });
    await api.create(secretResource, {
      metadata: { name: 'sql-broker-auth', namespace },
      stringData: { username: 'catalog', password },
    });
    await api.create(clusterServiceBrokerResource, {
      metadata: { name: 'sql' },
      spec: { url: broker.url, authInfo: { basic: { secretRef: { namespace, name: 'sql-broker-auth' } } } },
    });
    informers = new InformerFactory(api, createLogger('bench-informers', 'warn'));
    const instances = informers.for<ServiceInstance>(serviceInstanceResource);
    const bindings = informers.for<ServiceBinding>(serviceBindingResource);
    const secrets = informers.for<Secret>(secretResource);
    const plans = informers.for<KubeObject>(clusterServicePlanResource);
    await informers.start(5 * 60_000);
    const watched = [instances, bindings, secrets, plans] as unknown as SharedInformer<KubeObject>[];
    await whenever(watched, () => plans.list().length === 6, 'the catalog', timeoutMs);

    for (const s of scenarios)
      rows.push(...(await throughCatalog(api, s, { instances, bindings, secrets }, watched)));
    rows.push(...(await direct(broker.url, password)));
    const mem = rssMB(broker.pid);
    rows.push({
      scenario: 'SQL broker memory at the end',
      figure: `${mem.rss.toFixed(0)} MB RSS (peak ${mem.peak.toFixed(0)} MB)`,
    });
    assertAlive(broker);
  } finally {
    await informers?.stop();
    await stack.stop();
    await broker.stop();
    await dropState(stateName);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

async function throughCatalog(
  api: KubeClient,
  s: Scenario,
  inf: {
    instances: SharedInformer<ServiceInstance>;
    bindings: SharedInformer<ServiceBinding>;
    secrets: SharedInformer<Secret>;
  },
  watched: SharedInformer<KubeObject>[],
): Promise<Row[]> {
  const label = `${s.count} PostgreSQL ${s.plan} instances + ${s.count} bindings`;
  const names = Array.from({ length: s.count }, (_, i) => `${s.plan}-${String(i).padStart(2, '0')}`);
  const mine = (o: KubeObject) => o.metadata.namespace === namespace && names.includes(o.metadata.name ?? '');
  // when each Secret appeared, from its binding's creation
  const created = new Map<string, number>();
  const secretAt = new Map<string, number>();
  inf.secrets.onChange((sec) => {
    const name = sec.metadata.name ?? '';
    if (sec.metadata.namespace === namespace && created.has(name) && !secretAt.has(name)) {
      secretAt.set(name, performance.now() - created.get(name)!);
    }
  });
  const allUp = () =>
    inf.instances.list(namespace).filter((o) => mine(o) && isReady(o)).length === s.count &&
    inf.bindings.list(namespace).filter((o) => mine(o) && isReady(o)).length === s.count &&
    inf.secrets.list(namespace).filter(mine).length === s.count;

  let t0 = performance.now();
  const up = whenever(watched, allUp, `${label}: create`, timeoutMs);
  await throughput(concurrency, s.count, async (i) => {
    const name = names[i];
    await api.create(serviceInstanceResource, {
      metadata: { name, namespace },
      spec: { clusterServiceClassExternalName: 'postgresql', clusterServicePlanExternalName: s.plan },
    });
    created.set(name, performance.now());
    await api.create(serviceBindingResource, {
      metadata: { name, namespace },
      spec: { instanceRef: { name } },
    });
  });
  await up;
  const upMs = performance.now() - t0;
  log(`${label}: all Ready, Secrets written: ${ms(upMs)}`);

  // every Secret's uri connects: the databases are real
  const uris = inf.secrets
    .list(namespace)
    .filter(mine)
    .map((sec) => Buffer.from(sec.data!.uri, 'base64').toString('utf8'));
  for (const uri of uris) {
    const c = new pg.Client({ connectionString: uri });
    await c.connect();
    await c.query('SELECT 1');
    await c.end();
  }
  const databases = uris.map((u) => decodeURIComponent(new URL(u).pathname.slice(1)));

  const perSecret = [...secretAt.values()];
  const rows: Row[] = [
    {
      scenario: `${label}: create all -> all Ready, all Secrets written`,
      figure: `${ms(upMs)} (${(s.count / (upMs / 1000)).toFixed(1)} instances/s)`,
    },
    {
      scenario: `  each: instance created -> its binding's Secret written`,
      figure: `p50 ${ms(percentile(perSecret, 50))}  p90 ${ms(percentile(perSecret, 90))}  max ${ms(percentile(perSecret, 100))}`,
    },
  ];

  t0 = performance.now();
  const gone = whenever(
    watched,
    () =>
      !inf.instances.list(namespace).some(mine) &&
      !inf.bindings.list(namespace).some(mine) &&
      !inf.secrets.list(namespace).some(mine),
    `${label}: delete`,
    timeoutMs,
  );
  await throughput(concurrency, s.count, async (i) => {
    await api.delete(serviceBindingResource, namespace, names[i]);
    await api.delete(serviceInstanceResource, namespace, names[i]);
  });
  await gone;
  const goneMs = performance.now() - t0;
  log(`${label}: all deleted: ${ms(goneMs)}`);
  rows.push({ scenario: `${label}: delete all -> all gone (unbound, deprovisioned)`, figure: ms(goneMs) });
  if (s.plan === 'shared-small') await assertDropped(databases);
  else {
    for (const uri of uris) {
      const c = new pg.Client({ connectionString: uri, connectionTimeoutMillis: 2000 });
      const refused = await c.connect().then(
        () => c.end().then(() => false),
        () => true,
      );
      if (!refused) throw new Error(`a dedicated server still answers at ${new URL(uri).port}`);
    }
  }
  return rows;
}

/** The baseline: the same provisions and binds (and deletes) sent to the broker directly. */
async function direct(url: string, password: string): Promise<Row[]> {
  const count = 50;
  const planId = IDS.postgresql.plans['shared-small'];
  const client = new OSBClient({
    name: 'sql',
    url,
    auth: { basic: { username: 'catalog', password } },
    timeoutMs: 60_000,
  });
  const ids = Array.from({ length: count }, (_, i) => `bench-direct-${randomBytes(4).toString('hex')}-${i}`);
  try {
    let t0 = performance.now();
    await throughput(concurrency, count, async (i) => {
      await client.provision(
        ids[i],
        { service_id: serviceId, plan_id: planId, organization_guid: 'bench', space_guid: 'bench' } as never,
        { acceptsIncomplete: true },
      );
      await client.bind(
        ids[i],
        'b',
        { service_id: serviceId, plan_id: planId },
        {
          acceptsIncomplete: true,
        },
      );
    });
    const upMs = performance.now() - t0;
    t0 = performance.now();
    await throughput(concurrency, count, async (i) => {
      const opts = { serviceId, planId, acceptsIncomplete: true };
      await client.unbind(ids[i], 'b', opts);
      await client.deprovision(ids[i], opts);
    });
    const goneMs = performance.now() - t0;
    log(`baseline, ${count} provisions + binds straight to the broker: ${ms(upMs)}, deletes ${ms(goneMs)}`);
    return [
      {
        scenario: `  baseline: ${count} shared-small provisions + binds straight to the broker (no catalog)`,
        figure: `${ms(upMs)}; unbinds + deprovisions ${ms(goneMs)}`,
      },
    ];
  } finally {
    await client.close();
  }
}

async function assertDropped(databases: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: POSTGRES_URL });
  await c.connect();
  try {
    const { rows } = await c.query('SELECT datname FROM pg_database WHERE datname = ANY($1)', [databases]);
    if (rows.length) throw new Error(`${rows.length} databases were not dropped`);
  } finally {
    await c.end();
  }
}

async function dropState(stateName: string): Promise<void> {
  const c = new pg.Client({ connectionString: POSTGRES_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(stateName)} CASCADE`);
  await c.end();
  const m = await mysql.createConnection(MARIADB_URL);
  await m.query('DROP DATABASE IF EXISTS ??', [stateName]);
  await m.end();
}

if (require.main === module) {
  sqlBench()
    .then((rows) => process.stdout.write(`${printTable(rows)}\n`))
    .catch((e) => {
      process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    });
}
