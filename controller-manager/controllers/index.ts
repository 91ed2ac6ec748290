import type { ControllerContext } from '../context';
import { startServiceBindingController } from './binding';
import { startClusterServiceBrokerController, startServiceBrokerController } from './broker';
import { startServiceInstanceController } from './instance';
import { type RunningController } from '../../pkg/controller/controller';

/**
 * Starts one controller: registers its informer handlers, starts its workers, and returns how to
 * stop it. Called only while this process holds the leader lease, after the shared informers
 * have synced.
 */
export type ControllerStarter = (ctx: ControllerContext) => RunningController | Promise<RunningController>;

/** Every controller the manager runs, in start order. Each controller adds itself here. */
export const controllers: ControllerStarter[] = [
  startClusterServiceBrokerController,
  startServiceBrokerController,
  startServiceInstanceController,
  startServiceBindingController,
];
