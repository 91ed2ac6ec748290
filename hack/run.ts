import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { clusterServiceBrokerResource } from '../api-types';
import { namespaceResource, secretResource } from '../api-types/core';
import { isAlreadyExists, KubeClient } from '../pkg/kube/client';
import { startEtcd, type EtcdProcess } from './lib/etcd';
import {
  startAPIServerProcess,
  startControllerManagerProcess,
  startScriptedBrokerProcess,
  startSqlBrokerProcess,
  waitListening,
  waitReady,
  type StackProcess,
} from './lib/stack';

/**
 * `make run`: etcd, the API server, the controller-manager, the SQL broker and the scripted broker
 * on loopback, both brokers registered, until Ctrl-C. Every process runs in a process group of its
 * own: Ctrl-C reaches only this one, which stops the others in order, the controller-manager
 * first (it gives up its leader Lease while the API server still answers, so the next run's
 * controllers start at once) and etcd last.
 */

const SQL_BROKER_USER = 'catalog';
const AUTH_NAMESPACE = 'catalog';
const AUTH_SECRET = 'sql-broker-auth';

// stopped in reverse order of start; the API server last, so the others can still write on the way out
const children: StackProcess[] = [];
let etcd: EtcdProcess | undefined;
let stopping = false;

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const child of [...children].reverse()) await child.stop();
  await etcd?.stop();
  process.exit(code);
}

// a last resort when this process ends without stop(): in groups of their own, nothing else would end them
process.on('exit', () => {
  for (const p of [...children.map((c) => c.process), etcd?.process]) {
    if (p && p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  }
});

/** Ends everything when the process ends by itself. */
function supervise<P extends StackProcess>(p: P): P {
  children.push(p);
  p.process.once('exit', (code) => {
    if (stopping) return;
    process.stderr.write(`${p.name} exited (${code})\n`);
    void stop(1);
  });
  return p;
}

/** The SQL broker's password: made once, kept in .run, so the registered Secret stays right across runs. */
function sqlBrokerPassword(runDir: string): string {
  const file = join(runDir, 'sql-broker-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(18).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

async function main(): Promise<void> {
  const root = resolve(__dirname, '..', '..');
  const runDir = join(root, '.run');
  mkdirSync(runDir, { recursive: true });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void stop(0));
  etcd = await startEtcd(join(runDir, 'etcd'), { detached: true });
  const apiserver = supervise(
    await startAPIServerProcess({
      etcd: etcd.endpoint,
      dir: runDir,
      port: Number(process.env.PORT ?? 8443),
      // with no cluster to ask, the admin token (the kubeconfig written below) may do anything
      extraArgs: ['--standalone'],
      detached: true,
    }),
  );
  await waitReady(apiserver, 30_000);
  const kc = apiserver.writeKubeconfig(join(runDir, 'kubeconfig'));

  const broker = supervise(
    await startScriptedBrokerProcess({
      port: process.env.BROKER_PORT ? Number(process.env.BROKER_PORT) : undefined,
      detached: true,
    }),
  );
  const sqlDataDir = join(runDir, 'sql-broker');
  mkdirSync(sqlDataDir, { recursive: true });
  // the system users postgres and mysql run the dedicated servers below it
  chmodSync(sqlDataDir, 0o711);
  const password = sqlBrokerPassword(runDir);
  const sqlBroker = supervise(
    await startSqlBrokerProcess({
      port: process.env.SQL_BROKER_PORT ? Number(process.env.SQL_BROKER_PORT) : undefined,
      username: SQL_BROKER_USER,
      password,
      postgresUrl: process.env.POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
      mariadbUrl: process.env.MARIADB_URL || 'mysql://root@127.0.0.1:3306',
      dataDir: sqlDataDir,
      detached: true,
    }),
  );
  const controllerManager = supervise(
    await startControllerManagerProcess({
      kubeconfig: kc,
      dir: runDir,
      port: Number(process.env.CM_PORT ?? 8444),
      detached: true,
    }),
  );
  await waitListening(broker, 30_000);
  await waitListening(sqlBroker, 30_000);
  await waitReady(controllerManager, 60_000);
  const client = KubeClient.load(kc);
  await registerBroker(client, 'scripted', { url: broker.url });
  await registerSqlBroker(client, sqlBroker.url, password);
  const bin = linkSvcat(root, runDir);
  process.stdout.write(
    [
      '',
      'Service Catalog is running:',
      `  etcd                ${etcd.endpoint} (data in .run/etcd)`,
      `  API server          ${apiserver.url}`,
      `  controller-manager  ${controllerManager.url} (/healthz, /readyz, /metrics)`,
      `  SQL broker          ${sqlBroker.url} (ClusterServiceBroker "sql"; credentials in Secret ${AUTH_NAMESPACE}/${AUTH_SECRET})`,
      `  scripted broker     ${broker.url} (ClusterServiceBroker "scripted")`,
      '',
      'Point kubectl at it:',
      `  export KUBECONFIG=${kc}`,
      '  kubectl get clusterservicebrokers,clusterserviceclasses,clusterserviceplans',
      '',
      "Provision a PostgreSQL database, bind it, connect with what the binding's Secret holds:",
      `  kubectl create -f - <<<'{"apiVersion":"servicecatalog.k8s.io/v1beta1","kind":"ServiceInstance","metadata":{"name":"mydb"},"spec":{"clusterServiceClassExternalName":"postgresql","clusterServicePlanExternalName":"shared-small"}}'`,
      `  kubectl create -f - <<<'{"apiVersion":"servicecatalog.k8s.io/v1beta1","kind":"ServiceBinding","metadata":{"name":"mydb"},"spec":{"instanceRef":{"name":"mydb"}}}'`,
      `  kubectl wait --for=condition=Ready servicebinding/mydb && psql "$(kubectl get secret mydb -o jsonpath='{.data.uri}' | base64 -d)" -c 'select 1'`,
      '',
      'Or svcat (also as kubectl svcat):',
      `  export PATH=${bin}:$PATH`,
      '  svcat marketplace',
      '  svcat provision db --class scripted-database --plan small -p size=s --wait',
      '  svcat bind db --wait && kubectl get secret db -o yaml',
      '  kubectl svcat get instances',
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

/** .run/bin/svcat and .run/bin/kubectl-svcat, the built CLI, as npm install -g would link them. */
function linkSvcat(root: string, runDir: string): string {
  const bin = join(runDir, 'bin');
  const main = join(root, 'dist', 'svcat', 'cmd', 'main.js');
  mkdirSync(bin, { recursive: true });
  chmodSync(main, 0o755);
  for (const name of ['svcat', 'kubectl-svcat']) {
    rmSync(join(bin, name), { force: true });
    symlinkSync(main, join(bin, name));
  }
  return bin;
}

/** Creates (or updates, as ports change between runs) a ClusterServiceBroker. */
async function registerBroker(
  client: KubeClient,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  try {
    await client.create(clusterServiceBrokerResource, { metadata: { name }, spec });
  } catch (e) {
    if (!isAlreadyExists(e)) throw new Error(`registering broker ${name}: ${(e as Error).message}`);
    await client.patch(clusterServiceBrokerResource, undefined, name, { spec });
  }
}

/** The SQL broker with its basic-auth Secret, as a cluster administrator registers a broker. */
async function registerSqlBroker(client: KubeClient, url: string, password: string): Promise<void> {
  await client.create(namespaceResource, { metadata: { name: AUTH_NAMESPACE } }).catch((e: unknown) => {
    if (!isAlreadyExists(e)) throw e;
  });
  const data = {
    username: Buffer.from(SQL_BROKER_USER).toString('base64'),
    password: Buffer.from(password).toString('base64'),
  };
  try {
    await client.create(secretResource, { metadata: { name: AUTH_SECRET, namespace: AUTH_NAMESPACE }, data });
  } catch (e) {
    if (!isAlreadyExists(e)) throw new Error(`writing Secret ${AUTH_SECRET}: ${(e as Error).message}`);
    await client.patch(secretResource, AUTH_NAMESPACE, AUTH_SECRET, { data });
  }
  await registerBroker(client, 'sql', {
    url,
    authInfo: { basic: { secretRef: { namespace: AUTH_NAMESPACE, name: AUTH_SECRET } } },
  });
}

main().catch((e) => {
  // a child that exited has said so already
  if (!stopping) process.stderr.write(`make run: ${(e as Error).message}\n`);
  void stop(1);
});
