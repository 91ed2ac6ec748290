#!/usr/bin/env node
import { version } from '../../package.json';
import { runProcess } from '../../pkg/cmd';
import { KubeClient } from '../../pkg/kube/client';
import { createLogger } from '../../pkg/logging';
import { createRegistry } from '../../pkg/metrics';
import { startControllerManager } from '../manager';
import { flagSpecs, parseOptions, type Options } from './options';

async function run(opts: Options) {
  const log = createLogger('catalog-controller-manager');
  const manager = await startControllerManager({
    client: KubeClient.load(opts.kubeconfig),
    options: opts.controller,
    leaderElection: opts.leaderElection,
    clusterIdConfigMap: opts.clusterIdConfigMap,
    server: {
      bindAddress: opts.serving.bindAddress,
      port: opts.serving.securePort,
      tls: opts.serving.tls(),
    },
    log,
    metrics: createRegistry(),
    exit: (code, reason) => {
      log.fatal({ reason }, 'exiting');
      setImmediate(() => process.exit(code));
    },
  });
  return { log, stop: () => manager.shutdown() };
}

runProcess({
  name: 'catalog-controller-manager',
  version,
  summary:
    'Runs the Service Catalog controllers: brokers, classes and plans, instances and bindings, against an Open Service Broker.',
  flags: flagSpecs,
  parse: parseOptions,
  run,
});
