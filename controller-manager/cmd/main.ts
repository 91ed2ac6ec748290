#!/usr/bin/env node
import { loadOrGenerateServingCert } from '../../apiserver/certs';
import { FlagError, usage } from '../../pkg/flags';
import { KubeClient } from '../../pkg/kube/client';
import { createLogger } from '../../pkg/logging';
import { createRegistry } from '../../pkg/metrics';
import { startControllerManager } from '../manager';
import { flagSpecs, parseOptions, type Options } from './options';

async function run(opts: Options): Promise<void> {
  const log = createLogger('catalog-controller-manager');
  const manager = await startControllerManager({
    client: KubeClient.load(opts.kubeconfig),
    options: opts.controller,
    leaderElection: opts.leaderElection,
    clusterIdConfigMap: opts.clusterIdConfigMap,
    server: {
      bindAddress: opts.bindAddress,
      port: opts.securePort,
      tls: opts.tls ?? loadOrGenerateServingCert(opts.certDir, opts.serviceHosts),
    },
    log,
    metrics: createRegistry(),
    exit: (code, reason) => {
      log.fatal({ reason }, 'exiting');
      setImmediate(() => process.exit(code));
    },
  });
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    manager
      .shutdown()
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
      `catalog-controller-manager: ${(e as Error).message}\n${e instanceof FlagError ? 'Run with --help for usage.\n' : ''}`,
    );
    process.exit(2);
  }
  if (!opts) {
    process.stdout.write(
      `${usage(
        'catalog-controller-manager',
        'Runs the Service Catalog controllers: brokers, classes and plans, instances and bindings, against an Open Service Broker.',
        flagSpecs,
      )}\n`,
    );
    return;
  }
  run(opts).catch((e) => {
    process.stderr.write(`catalog-controller-manager: ${(e as Error).message}\n`);
    process.exit(1);
  });
}

main();
