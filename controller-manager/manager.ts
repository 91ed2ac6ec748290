import { Gauge, type Registry } from 'prom-client';
import { servicecatalogResources } from '../api-types';
import { configMapResource, namespaceResource, secretResource, type Secret } from '../api-types/core';
import type { KubeClient } from '../pkg/kube/client';
import type { Logger } from '../pkg/logging';
import { InformerFactory } from '../pkg/kube/informers';
import { ClusterIdSource } from './cluster-id';
import type { ControllerContext, ControllerOptions } from './context';
import { controllers as registeredControllers, type ControllerStarter } from './controllers';
import { controllerMetrics, type RunningController } from '../pkg/controller/controller';
import { Recorder } from './framework/events';
import { defaultIdentity, LeaderElector, type LeaderElectionTimings } from './framework/leader-election';
import { defaultRateLimiter, type RateLimiterOptions } from '../pkg/controller/queue';
import { updateStatus } from './framework/status';
import { startHealthServer, type HealthCheck, type HealthServer } from './server';
import { type ResourceType } from '../api-types/resource';
import { BrokerClients } from './controllers/osb-clients';
import { OSBMetrics } from '../pkg/osb';

export interface LeaderElectionOptions extends LeaderElectionTimings {
  enabled: boolean;
  resourceName: string;
  resourceNamespace: string;
  /** Defaults to <hostname>_<uuid>. */
  identity?: string;
}

interface ManagerConfig {
  client: KubeClient;
  options: ControllerOptions;
  leaderElection: LeaderElectionOptions;
  clusterIdConfigMap: { namespace: string; name: string };
  /** The HTTPS health and metrics endpoint; none when absent. */
  server?: { bindAddress: string; port: number; tls: { cert: string; key: string } };
  /** Controllers to run while leading; the registry in controllers/index.ts by default. */
  controllers?: ControllerStarter[];
  /** Kinds whose informers start with the process, so a standby is warm when it takes over. */
  informerTypes?: ResourceType[];
  log: Logger;
  metrics: Registry;
  /**
   * Called when the process must end: leadership lost or a controller failed to start (code 1).
   * Exits the process by default, so that the supervisor restarts it as a fresh candidate.
   */
  exit?: (code: number, reason: string) => void;
}

/** What the controllers read: every servicecatalog kind, and the core kinds they touch. */
const defaultInformerTypes: ResourceType[] = [
  ...servicecatalogResources,
  secretResource,
  namespaceResource,
  configMapResource,
];

/** client-go's default overall retry bucket (10 qps, burst 100) on top of per-item backoff. */
const bucket = { qps: defaultRateLimiter.qps, burst: defaultRateLimiter.burst };

/**
 * The controller-manager: shared informers and the cluster ID from the start (a standby keeps its
 * caches warm), controllers only while this process holds the leader lease. Losing the lease stops
 * every controller at once and ends the process; shutdown() stops controllers (letting reconciles
 * in flight finish) and hands the lease back so a standby takes over at once.
 */
export class ControllerManager {
  readonly ctx: ControllerContext;
  readonly informers: InformerFactory;
  readonly recorder: Recorder;
  readonly elector?: LeaderElector;
  server?: HealthServer;
  private readonly clusterId: ClusterIdSource;
  private readonly starters: ControllerStarter[];
  private readonly exit: (code: number, reason: string) => void;
  private readonly leaderGauge: Gauge<'name'>;
  private running: RunningController[] = [];
  private leading = false;
  private controllersStarted = false;
  private stopping?: Promise<void>;
  private ready?: Promise<unknown>;

  constructor(private readonly cfg: ManagerConfig) {
    const { client, log, metrics, options } = cfg;
    this.starters = cfg.controllers ?? registeredControllers;
    this.exit =
      cfg.exit ??
      ((code) => {
        // let the last log lines out first
        setImmediate(() => process.exit(code));
      });
    this.informers = new InformerFactory(client, log);
    this.recorder = new Recorder({ client, log, metrics });
    this.clusterId = new ClusterIdSource(
      client,
      cfg.clusterIdConfigMap.namespace,
      cfg.clusterIdConfigMap.name,
      log,
    );
    const limiter: RateLimiterOptions = {
      baseDelayMs: 1000,
      maxDelayMs: options.operationPollingMaximumBackoffMs,
      ...bucket,
    };
    const clusterId = this.clusterId;
    const secrets = this.informers.for<Secret>(secretResource);
    this.ctx = {
      client,
      informers: this.informers,
      recorder: this.recorder,
      get clusterId() {
        return clusterId.id;
      },
      options,
      limiter,
      log,
      metrics,
      controllerMetrics: controllerMetrics(metrics),
      updateStatus: (type, obj, mutate) => updateStatus(client, type, obj, mutate),
      brokerClients: new BrokerClients({
        timeoutMs: options.osbApiRequestTimeoutMs,
        metrics: new OSBMetrics(metrics),
        // the cache when it is filled (it is watched anyway, to notice Secrets appearing)
        readSecret: (namespace, name) =>
          secrets.synced ? secrets.get(namespace, name) : client.get<Secret>(secretResource, namespace, name),
      }),
    };
    const le = cfg.leaderElection;
    this.leaderGauge = new Gauge({
      name: 'leader_election_master_status',
      help: 'Whether this process holds the leader lease (1) or not (0).',
      labelNames: ['name'],
      registers: [metrics],
    });
    this.leaderGauge.set({ name: le.resourceName }, 0);
    if (le.enabled) {
      this.elector = new LeaderElector({
        client,
        namespace: le.resourceNamespace,
        name: le.resourceName,
        identity: le.identity ?? defaultIdentity(),
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        log: log.child({ component: 'leader-election' }),
        onStartedLeading: () => void this.lead(),
        onStoppedLeading: () => this.lose(),
      });
    }
  }

  /** True while this process runs the controllers. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** Whether the controllers have been started (and not stopped). */
  get controllersRunning(): boolean {
    return this.controllersStarted;
  }

  /** Starts the health server, informers and cluster ID, then campaigns (or leads at once without leader election). */
  async start(): Promise<void> {
    const { cfg } = this;
    if (cfg.server) {
      this.server = await startHealthServer({
        ...cfg.server,
        metrics: cfg.metrics,
        log: cfg.log,
        livez: this.livez(),
        readyz: this.readyz(),
      });
    }
    for (const t of cfg.informerTypes ?? defaultInformerTypes) this.informers.for(t);
    this.ready = Promise.all([this.informers.start(cfg.options.resyncIntervalMs), this.clusterId.start()]);
    this.ready.catch(() => undefined);
    if (this.elector) void this.elector.run();
    else void this.lead();
  }

  private livez(): HealthCheck[] {
    return [
      { name: 'ping', check: () => undefined },
      {
        name: 'leaderElection',
        check: () =>
          this.elector?.isLeader() && !this.elector.healthy()
            ? 'the leader lease has not been renewed in time'
            : undefined,
      },
    ];
  }

  private readyz(): HealthCheck[] {
    return [
      { name: 'shutdown', check: () => (this.stopping ? 'shutting down' : undefined) },
      {
        name: 'informer-sync',
        check: () => {
          const waiting = this.informers.unsynced();
          return waiting.length ? `waiting for caches: ${waiting.join(', ')}` : undefined;
        },
      },
      { name: 'cluster-id', check: () => (this.clusterId.known ? undefined : 'cluster ID not read yet') },
      {
        name: 'leader-election',
        check: () => {
          const e = this.elector;
          if (!e || e.healthy()) return undefined;
          return e.isLeader()
            ? 'the leader lease has not been renewed in time'
            : 'standby cannot read the leader lease';
        },
      },
    ];
  }

  private async lead(): Promise<void> {
    if (this.stopping) return;
    this.leading = true;
    this.leaderGauge.set({ name: this.cfg.leaderElection.resourceName }, 1);
    const log = this.cfg.log;
    try {
      // like kube's controllers, none starts before the caches are filled
      await this.ready;
      for (const start of this.starters) {
        if (!this.leading) return;
        const controller = await start(this.ctx);
        this.running.push(controller);
        // leadership lost while this one was starting: lose() has stopped the others already
        if (!this.leading) {
          void controller.stop();
          return;
        }
        log.info({ controller: controller.name }, 'started controller');
      }
      this.controllersStarted = true;
      // informers the controllers asked for beyond the default set
      await this.informers.start(this.cfg.options.resyncIntervalMs);
    } catch (err) {
      if (this.stopping) return;
      log.error({ err }, 'starting controllers failed');
      this.leading = false;
      // settles, never rejects
      void this.stopAll();
      this.exit(1, 'starting controllers failed');
    }
  }

  /** Every controller stops taking work now; reconciles in flight are abandoned with the process. */
  private stopAll(): Promise<unknown> {
    const stopping = this.running.map((c) => c.stop());
    this.running = [];
    this.controllersStarted = false;
    // brokers' clients are built again by the broker controllers if we lead again
    return Promise.allSettled(stopping).then(() => this.ctx.brokerClients.close());
  }

  private lose(): void {
    if (this.stopping) return;
    this.leading = false;
    this.leaderGauge.set({ name: this.cfg.leaderElection.resourceName }, 0);
    void this.stopAll();
    this.cfg.log.error('leader lease lost; stopping');
    this.exit(1, 'leader lease lost');
  }

  /** Stops controllers (waiting for reconciles in flight), releases the lease, stops the rest. */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      const log = this.cfg.log;
      this.leading = false;
      await this.stopAll();
      if (this.elector) await this.elector.release();
      this.leaderGauge.set({ name: this.cfg.leaderElection.resourceName }, 0);
      await this.recorder.stop();
      this.clusterId.stop();
      await this.informers.stop();
      await this.server?.stop();
      log.info('controller-manager stopped');
    })();
    return this.stopping;
  }
}

export async function startControllerManager(cfg: ManagerConfig): Promise<ControllerManager> {
  const manager = new ControllerManager(cfg);
  await manager.start();
  return manager;
}
