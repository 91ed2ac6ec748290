import { chmodSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { clusterServiceBrokerResource } from '../api-types';
import { isAlreadyExists, KubeClient } from '../pkg/kube/client';
import { startEtcd, type EtcdProcess } from './lib/etcd';
import {
  startAPIServerProcess,
  startControllerManagerProcess,
  startScriptedBrokerProcess,
  waitListening,
  waitReady,
  type StackProcess,
} from './lib/stack';

/**
 * `make run`: etcd, the API server, the controller-manager and the scripted broker on loopback,
 * with the broker registered, until Ctrl-C.
 */

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

async function main(): Promise<void> {
  const root = resolve(__dirname, '..', '..');
  const runDir = join(root, '.run');
  mkdirSync(runDir, { recursive: true });
  etcd = await startEtcd(join(runDir, 'etcd'));
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  const apiserver = supervise(
    await startAPIServerProcess({
      etcd: etcd.endpoint,
      dir: runDir,
      port: Number(process.env.PORT ?? 8443),
      // with no cluster to ask, the admin token (the kubeconfig written below) may do anything
      extraArgs: ['--standalone'],
    }),
  );
  await waitReady(apiserver, 30_000);
  const kc = apiserver.writeKubeconfig(join(runDir, 'kubeconfig'));

  const broker = supervise(
    await startScriptedBrokerProcess({
      port: process.env.BROKER_PORT ? Number(process.env.BROKER_PORT) : undefined,
    }),
  );
  const controllerManager = supervise(
    await startControllerManagerProcess({
      kubeconfig: kc,
      dir: runDir,
      port: Number(process.env.CM_PORT ?? 8444),
    }),
  );
  await waitListening(broker, 30_000);
  await waitReady(controllerManager, 60_000);
  await registerBroker(kc, 'scripted', broker.url);
  const bin = linkSvcat(root, runDir);
  process.stdout.write(
    [
      '',
      'Service Catalog is running:',
      `  etcd                ${etcd.endpoint} (data in .run/etcd)`,
      `  API server          ${apiserver.url}`,
      `  controller-manager  ${controllerManager.url} (/healthz, /readyz, /metrics)`,
      `  scripted broker     ${broker.url} (ClusterServiceBroker "scripted")`,
      '',
      'Point kubectl at it:',
      `  export KUBECONFIG=${kc}`,
      '  kubectl api-resources --api-group=servicecatalog.k8s.io',
      '  kubectl get clusterservicebrokers',
      "  kubectl get clusterserviceclasses,clusterserviceplans  # the scripted broker's catalog",
      '  kubectl get namespaces,secrets,configmaps,events  # standalone mode',
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

/** Creates (or points at `url` again, as ports change between runs) a ClusterServiceBroker. */
async function registerBroker(kubeconfigPath: string, name: string, url: string): Promise<void> {
  const client = KubeClient.load(kubeconfigPath);
  try {
    await client.create(clusterServiceBrokerResource, { metadata: { name }, spec: { url } });
  } catch (e) {
    if (!isAlreadyExists(e)) throw new Error(`registering broker ${name}: ${(e as Error).message}`);
    await client.patch(clusterServiceBrokerResource, undefined, name, { spec: { url } });
  }
}

main().catch((e) => {
  // a child that exited has said so already
  if (!stopping) process.stderr.write(`make run: ${(e as Error).message}\n`);
  void stop(1);
});
