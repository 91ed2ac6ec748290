import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { request, Agent } from 'undici';
import { startEtcd, waitFor } from './lib/etcd';
import { kubeconfig, writeAdminTokenFile } from './lib/kubeconfig';

/** `make run`: etcd and the API server on loopback, until Ctrl-C. */
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
  const stop = async () => {
    apiserver.kill('SIGTERM');
    await new Promise((r) => apiserver.once('exit', r));
    await etcd.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  apiserver.once('exit', (code) => {
    process.stderr.write(`catalog-apiserver exited (${code})\n`);
    void etcd.stop().then(() => process.exit(1));
  });

  const server = `https://127.0.0.1:${port}`;
  await waitFor('the API server', async () => {
    const ca = readFileSync(join(certDir, 'ca.crt'), 'utf8');
    const res = await request(`${server}/readyz`, { dispatcher: new Agent({ connect: { ca } }) });
    await res.body.dump();
    return res.statusCode === 200;
  }, 30_000);
  const kc = join(runDir, 'kubeconfig');
  writeFileSync(kc, kubeconfig(server, readFileSync(join(certDir, 'ca.crt'), 'utf8')));
  process.stdout.write(
    [
      '',
      'Service Catalog is running:',
      `  etcd        ${etcd.endpoint} (data in .run/etcd)`,
      `  API server  ${server}`,
      '',
      'Point kubectl at it:',
      `  export KUBECONFIG=${kc}`,
      '  kubectl api-resources --api-group=servicecatalog.k8s.io',
      '  kubectl get clusterservicebrokers',
      '  kubectl get namespaces,secrets,configmaps,events  # standalone mode',
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch((e) => {
  process.stderr.write(`make run: ${(e as Error).message}\n`);
  process.exit(1);
});
