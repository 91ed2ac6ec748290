import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { request, Agent } from 'undici';
import { freePort, startEtcd, waitFor } from './lib/etcd';
import { kubeconfig, writeAdminTokenFile } from './lib/kubeconfig';

/** Set once processes are running, so that a failed start-up does not leave them behind. */
let stopAll: ((code: number) => Promise<void>) | undefined;

/**
 * `make run`: etcd, the API server, the controller-manager and the scripted broker on loopback,
 * with the broker registered, until Ctrl-C.
 */

async function main(): Promise<void> {
  const root = resolve(__dirname, '..', '..');
  const runDir = join(root, '.run');
  mkdirSync(runDir, { recursive: true });
  const port = Number(process.env.PORT ?? 8443);
  const etcd = await startEtcd(join(runDir, 'etcd'));
  const certDir = join(runDir, 'certs');
  const apiserver = spawn(
    process.execPath,
    [
      join(root, 'dist', 'apiserver', 'cmd', 'main.js'),
      `--etcd-servers=${etcd.endpoint}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${certDir}`,
      '--standalone',
      // kubectl's token (the kubeconfig written below); with no cluster to ask, authenticated users may do anything
      `--token-auth-file=${writeAdminTokenFile(runDir)}`,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  // stopped in reverse order of start; the API server last, so the others can still write on the way out
  const children: Array<{ name: string; proc: ChildProcess }> = [
    { name: 'catalog-apiserver', proc: apiserver },
  ];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const { proc } of [...children].reverse()) {
      if (proc.exitCode !== null || proc.signalCode !== null) continue;
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }
    await etcd.stop();
    process.exit(code);
  };
  stopAll = stop;
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  const supervise = (name: string, proc: ChildProcess) => {
    children.push({ name, proc });
    proc.once('exit', (code) => {
      if (stopping) return;
      process.stderr.write(`${name} exited (${code})\n`);
      void stop(1);
    });
  };
  apiserver.once('exit', (code) => {
    if (stopping) return;
    process.stderr.write(`catalog-apiserver exited (${code})\n`);
    void stop(1);
  });

  const server = `https://127.0.0.1:${port}`;
  await waitFor(
    'the API server',
    async () => {
      const ca = readFileSync(join(certDir, 'ca.crt'), 'utf8');
      const res = await request(`${server}/readyz`, { dispatcher: new Agent({ connect: { ca } }) });
      await res.body.dump();
      return res.statusCode === 200;
    },
    30_000,
  );
  const kc = join(runDir, 'kubeconfig');
  writeFileSync(kc, kubeconfig(server, readFileSync(join(certDir, 'ca.crt'), 'utf8')));

  const brokerPort = Number(process.env.BROKER_PORT ?? (await freePort()));
  const brokerURL = `http://127.0.0.1:${brokerPort}`;
  supervise(
    'scripted-broker',
    spawn(
      process.execPath,
      [join(root, 'dist', 'brokers', 'scripted', 'cli.js'), `--port=${brokerPort}`, '--catalog=default'],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    ),
  );
  const cmPort = Number(process.env.CM_PORT ?? 8444);
  const cmCertDir = join(runDir, 'cm-certs');
  supervise(
    'catalog-controller-manager',
    spawn(
      process.execPath,
      [
        join(root, 'dist', 'controller-manager', 'cmd', 'main.js'),
        `--kubeconfig=${kc}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${cmPort}`,
        `--cert-dir=${cmCertDir}`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    ),
  );
  const controllerManager = `https://127.0.0.1:${cmPort}`;
  // a connection is enough: any request would land in the broker's journal
  await waitFor('the scripted broker', () => listening(brokerPort), 30_000);
  await waitFor(
    'the controller-manager',
    async () => {
      const ca = readFileSync(join(cmCertDir, 'ca.crt'), 'utf8');
      const res = await request(`${controllerManager}/readyz`, {
        dispatcher: new Agent({ connect: { ca } }),
      });
      await res.body.dump();
      return res.statusCode === 200;
    },
    60_000,
  );
  await registerBroker(server, kc, 'scripted', brokerURL);
  process.stdout.write(
    [
      '',
      'Service Catalog is running:',
      `  etcd                ${etcd.endpoint} (data in .run/etcd)`,
      `  API server          ${server}`,
      `  controller-manager  ${controllerManager} (/healthz, /readyz, /metrics)`,
      `  scripted broker     ${brokerURL} (ClusterServiceBroker "scripted")`,
      '',
      'Point kubectl at it:',
      `  export KUBECONFIG=${kc}`,
      '  kubectl api-resources --api-group=servicecatalog.k8s.io',
      '  kubectl get clusterservicebrokers',
      "  kubectl get clusterserviceclasses,clusterserviceplans  # the scripted broker's catalog",
      '  kubectl get namespaces,secrets,configmaps,events  # standalone mode',
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Creates (or points at `url` again, as ports change between runs) a ClusterServiceBroker. */
async function registerBroker(
  server: string,
  kubeconfigPath: string,
  name: string,
  url: string,
): Promise<void> {
  const kc = yaml.load(readFileSync(kubeconfigPath, 'utf8')) as {
    users: Array<{ user: { token: string } }>;
    clusters: Array<{ cluster: { 'certificate-authority-data': string } }>;
  };
  const dispatcher = new Agent({
    connect: { ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString() },
  });
  const headers = { authorization: `Bearer ${kc.users[0].user.token}`, 'content-type': 'application/json' };
  const path = `${server}/apis/servicecatalog.k8s.io/v1beta1/clusterservicebrokers`;
  const body = {
    apiVersion: 'servicecatalog.k8s.io/v1beta1',
    kind: 'ClusterServiceBroker',
    metadata: { name },
    spec: { url },
  };
  const created = await request(path, { method: 'POST', headers, body: JSON.stringify(body), dispatcher });
  const answer = await created.body.text();
  if (created.statusCode === 409) {
    const existing = await request(`${path}/${name}`, { headers, dispatcher });
    const broker = (await existing.body.json()) as { spec: { url: string } };
    broker.spec.url = url;
    const updated = await request(`${path}/${name}`, {
      method: 'PUT',
      headers,
      body: JSON.stringify(broker),
      dispatcher,
    });
    if (updated.statusCode !== 200)
      throw new Error(`updating broker ${name}: ${updated.statusCode} ${await updated.body.text()}`);
    await updated.body.dump();
  } else if (created.statusCode !== 201) {
    throw new Error(`registering broker ${name}: ${created.statusCode} ${answer}`);
  }
  await dispatcher.close();
}

main().catch((e) => {
  process.stderr.write(`make run: ${(e as Error).message}\n`);
  if (stopAll) void stopAll(1);
  else process.exit(1);
});
