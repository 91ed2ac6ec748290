#!/usr/bin/env node
import { servicecatalogResources } from '../../api-types';
import { coreResources } from '../../api-types/core';
import { version } from '../../package.json';
import { FlagError, usage } from '../../pkg/flags';
import { createLogger } from '../../pkg/logging';
import { createRegistry } from '../../pkg/metrics';
import { Storage } from '../../pkg/storage';
import { admissionPlugins } from '../admission';
import { ClusterNamespaces } from '../admission/namespace-source';
import { buildAuth } from '../auth/config';
import { loadKubeConfig } from '../auth/cluster';
import { loadOrGenerateServingCert } from '../certs';
import { startNamespaceController } from '../namespace-controller';
import { coreStrategies, servicecatalogStrategies } from '../registry';
import { startServer } from '../server';
import { flagSpecs, parseOptions, type Options } from './options';

async function run(opts: Options): Promise<void> {
  const log = createLogger('catalog-apiserver');
  const tls = opts.tls ?? loadOrGenerateServingCert(opts.certDir, opts.serviceHosts);
  const auth = await buildAuth(opts.auth, log);
  const storage = new Storage(opts.etcdServers, opts.etcdPrefix);
  // standalone, the server's own namespaces are the ones objects live in
  const cluster = opts.standalone ? undefined : loadKubeConfig(opts.kubeconfig);
  const lifecycle = opts.admissionPlugins.includes('NamespaceLifecycle');
  const namespaces = cluster && lifecycle ? new ClusterNamespaces(cluster, log) : undefined;
  if (!opts.standalone && !cluster && lifecycle) {
    log.warn('no --kubeconfig and not in a cluster: NamespaceLifecycle has no namespaces to check against');
  }
  const server = await startServer({
    ...auth,
    storage,
    resources: opts.standalone ? [...servicecatalogResources, ...coreResources] : servicecatalogResources,
    strategies: { ...servicecatalogStrategies, ...coreStrategies },
    admissionPlugins: opts.admissionPlugins.map((name) => admissionPlugins[name]),
    namespaces,
    watchCache: opts.watchCache,
    maxRequestBodyBytes: opts.maxRequestBodyBytes,
    tls,
    bindAddress: opts.bindAddress,
    port: opts.securePort,
    logger: log,
    metrics: createRegistry(),
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    defaultWatchTimeoutSeconds: opts.minRequestTimeoutSeconds,
    version,
  });
  const namespaceController = opts.standalone
    ? startNamespaceController({ registries: server.registries.values(), logger: log })
    : undefined;
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    Promise.resolve(namespaceController?.stop())
      .then(() => server.stop())
      .then(() => namespaces?.stop())
      .then(() => storage.close())
      .then(() => process.exit(0))
      .catch((err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

function main(): void {
  let opts: Options | undefined;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(
      `catalog-apiserver: ${(e as Error).message}\n${e instanceof FlagError ? 'Run with --help for usage.\n' : ''}`,
    );
    process.exit(2);
  }
  if (!opts) {
    process.stdout.write(
      `${usage('catalog-apiserver', 'Serves servicecatalog.k8s.io/v1beta1 from etcd, as a Kubernetes aggregated API.', flagSpecs)}\n`,
    );
    return;
  }
  run(opts).catch((e) => {
    process.stderr.write(`catalog-apiserver: ${(e as Error).message}\n`);
    process.exit(1);
  });
}

main();
