import type { Registry } from 'prom-client';
import type { KubeObject } from '../api-types/meta';
import type { KubeClient } from '../pkg/kube/client';
import type { Logger } from '../pkg/logging';
import type { InformerFactory } from '../pkg/kube/informers';
import type { RateLimiterOptions } from '../pkg/controller/queue';
import type { ControllerMetrics } from '../pkg/controller/controller';
import type { BrokerClients } from './controllers/osb-clients';
import { type ResourceType } from '../api-types/resource';

/** Records Kubernetes Events about an object (aggregated like kube's recorder). */
export interface EventRecorder {
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** The controller-manager's flags, already parsed (durations in milliseconds). */
export interface ControllerOptions {
  resyncIntervalMs: number;
  brokerRelistIntervalMs: number;
  concurrentSyncs: number;
  reconciliationRetryDurationMs: number;
  osbApiRequestTimeoutMs: number;
  operationPollingMaximumBackoffMs: number;
  cascadingDeletion: boolean;
}

/** Everything a controller gets at start: clients, shared informers, events, identity, options. */
export interface ControllerContext {
  client: KubeClient;
  informers: InformerFactory;
  recorder: EventRecorder;
  /** This cluster's ID (ConfigMap cluster-info, key id), sent to brokers as context.clusterid. */
  clusterId: string;
  options: ControllerOptions;
  limiter: RateLimiterOptions;
  log: Logger;
  metrics: Registry;
  controllerMetrics: ControllerMetrics;
  /**
   * The OSB client of every broker: the broker controllers build and refresh them as brokers and
   * their Secrets change; the instance and binding controllers call brokers through them.
   */
  brokerClients: BrokerClients;
  /** Writes status through /status, re-reading and re-applying `mutate` on conflicts. */
  updateStatus<T extends KubeObject>(type: ResourceType, obj: T, mutate: (latest: T) => void): Promise<T>;
}
