#!/usr/bin/env node
import { servicecatalogResources } from '../../api-types';
import { coreResources } from '../../api-types/core';
import { version } from '../../package.json';
import { runProcess } from '../../pkg/cmd';
import { createLogger } from '../../pkg/logging';
import { createRegistry } from '../../pkg/metrics';
import { Storage } from '../../pkg/storage';
import { admissionPlugins } from '../admission';
import { ClusterNamespaces } from '../admission/namespace-source';
import { buildAuth } from '../auth/config';
import { loadKubeConfig } from '../auth/cluster';
import { startNamespaceController } from '../namespace-controller';
import { coreStrategies, servicecatalogStrategies } from '../strategy';
import { startServer } from '../server';
import { flagSpecs, parseOptions, type Options } from './options';

async function run(opts: Options) {
  const log = createLogger('catalog-apiserver');
  const auth = await buildAuth(opts.auth, log);
  const storage = new Storage(opts.etcdServers, opts.etcdPrefix);
  // standalone, the server's own namespaces are the ones objects live in
  const cluster = opts.standalone ? undefined : loadKubeConfig(opts.kubeconfig);
  const lifecycle = opts.admissionPlugins.includes('NamespaceLifecycle');
  const namespaces = cluster && lifecycle ? new ClusterNamespaces(cluster, log) : undefined;
  if (!opts.standalone && !cluster && lifecycle) {
    log.warn('no --kubeconfig and not in a cluster: NamespaceLifecycle has no namespaces to check against');
  }
  const metrics = createRegistry();
  const server = await startServer({
    ...auth,
    storage,
    resources: opts.standalone ? [...servicecatalogResources, ...coreResources] : servicecatalogResources,
    strategies: { ...servicecatalogStrategies, ...coreStrategies },
    admissionPlugins: opts.admissionPlugins.map((name) => admissionPlugins[name]),
    namespaces,
    watchCache: opts.watchCache,
    maxRequestBodyBytes: opts.maxRequestBodyBytes,
    tls: opts.serving.tls(),
    bindAddress: opts.serving.bindAddress,
    port: opts.serving.securePort,
    logger: log,
    metrics,
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    defaultWatchTimeoutSeconds: opts.minRequestTimeoutSeconds,
    version,
  });
  const namespaceController = opts.standalone
    ? startNamespaceController({ stores: server.stores.values(), logger: log, metrics })
    : undefined;
  return {
    log,
    async stop() {
      await namespaceController?.stop();
      await server.stop();
      await namespaces?.stop();
      storage.close();
    },
  };
}

runProcess({
  name: 'catalog-apiserver',
  version,
  summary: 'Serves servicecatalog.k8s.io/v1beta1 from etcd, as a Kubernetes aggregated API.',
  flags: flagSpecs,
  parse: parseOptions,
  run,
});
