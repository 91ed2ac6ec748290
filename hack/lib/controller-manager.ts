import type { Registry } from 'prom-client';
import { parseOptions } from '../../controller-manager/cmd/options';
import type { ControllerOptions } from '../../controller-manager/context';
import type { ControllerStarter } from '../../controller-manager/controllers';
import { ControllerManager } from '../../controller-manager/manager';
import type { KubeClient } from '../../pkg/kube/client';
import type { Logger } from '../../pkg/logging';

/** The controller-manager's own flag defaults, without leader election (one manager at a time). */
export const managerDefaults = parseOptions(['--leader-elect=false'])!;

/**
 * A controller-manager in this process (not started), for the tests and benches that look into
 * its informers and metrics: the flag defaults with `options` over them, running `controllers`.
 */
export function inProcessControllerManager(c: {
  client: KubeClient;
  controllers: ControllerStarter[];
  options?: Partial<ControllerOptions>;
  log: Logger;
  metrics: Registry;
  exit: (code: number, reason: string) => void;
}): ControllerManager {
  return new ControllerManager({
    ...c,
    options: { ...managerDefaults.controller, ...c.options },
    leaderElection: managerDefaults.leaderElection,
    clusterIdConfigMap: managerDefaults.clusterIdConfigMap,
  });
}
