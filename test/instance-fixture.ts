import { createHash } from 'node:crypto';
import type { Registry } from 'prom-client';
import {
  clusterServiceBrokerResource,
  clusterServicePlanResource,
  serviceInstanceResource,
  type ServiceInstance,
  type ServiceInstanceCondition,
} from '../api-types';
import {
  eventResource,
  namespaceResource,
  secretResource,
  type Event,
  type Namespace,
} from '../api-types/core';
import type { KubeObject } from '../api-types/meta';
import {
  startScriptedBroker,
  type JournalEntry,
  type ScriptedBroker,
  type ScriptedBrokerOptions,
} from '../brokers/scripted';
import {
  startClusterServiceBrokerController,
  startServiceBrokerController,
} from '../controller-manager/controllers/broker';
import type { ControllerStarter } from '../controller-manager/controllers';
import { serviceInstanceController } from '../controller-manager/controllers/instance';
import type { ControllerOptions } from '../controller-manager/context';
import { ControllerManager } from '../controller-manager/manager';
import { KubeClient } from '../pkg/kube/client';
import { createLogger } from '../pkg/logging';
import { createRegistry } from '../pkg/metrics';
import type { Catalog, ServicePlan } from '../pkg/osb';
import { eventually, startEnv, type Env, type EnvOptions } from './harness';

/**
 * What the instance controller tests share: a standalone API server, a controller-manager
 * running the broker controllers and the instance controller with short backoffs, and per test a
 * scripted broker and namespace of its own, with a catalog whose ids carry the test's prefix.
 */

export const draft04 = 'http://json-schema.org/draft-04/schema#';
export const API_TIMEOUT_MS = 1500;
/** Retries and polls back off 100 ms, 200 ms, 400 ms, 800 ms, 800 ms... */
export const LIMITER = { baseDelayMs: 100, maxDelayMs: 800, qps: 1000, burst: 1000 };

export type Instance = ServiceInstance;
type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

export interface Ids {
  db: string;
  queue: string;
  plans: { small: string; large: string; fixed: string; async: string; short: string };
}

export function ids(p: string): Ids {
  return {
    db: `${p}-db`,
    queue: `${p}-queue`,
    plans: {
      small: `${p}-small`,
      large: `${p}-large`,
      fixed: `${p}-fixed`,
      async: `${p}-async`,
      short: `${p}-short`,
    },
  };
}

const plan = (id: string, name: string, extra: Partial<ServicePlan> = {}): ServicePlan => ({
  id,
  name,
  description: `plan ${name}`,
  ...extra,
});

const sizeSchema = {
  $schema: draft04,
  type: 'object',
  properties: { size: { type: 'string', enum: ['s', 'm', 'l'] }, name: { type: 'string' } },
};

/**
 * db (class plan_updateable true): small (create/update schemas), large (maintenance_info 1.2.0),
 * fixed (plan_updateable false: the plan overrides the class). queue (class plan_updateable
 * false): async (maximum_polling_duration 600), short (maximum_polling_duration 1, plan_updateable
 * true: the plan overrides the class).
 */
export function testCatalog(p: string, opts: { largeMaintenance?: string | null } = {}): Catalog {
  const i = ids(p);
  const maintenance = opts.largeMaintenance === undefined ? '1.2.0' : opts.largeMaintenance;
  return {
    services: [
      {
        id: i.db,
        name: `${p}-db`,
        description: 'database',
        bindable: true,
        plan_updateable: true,
        instances_retrievable: true,
        plans: [
          plan(i.plans.small, 'small', {
            schemas: {
              service_instance: {
                create: { parameters: { ...sizeSchema, required: ['size'] } },
                update: { parameters: sizeSchema },
              },
            },
          }),
          plan(i.plans.large, 'large', maintenance ? { maintenance_info: { version: maintenance } } : {}),
          plan(i.plans.fixed, 'fixed', { plan_updateable: false }),
        ],
      },
      {
        id: i.queue,
        name: `${p}-queue`,
        description: 'queue',
        bindable: true,
        plans: [
          plan(i.plans.async, 'async', { maximum_polling_duration: 600 }),
          plan(i.plans.short, 'short', { maximum_polling_duration: 1, plan_updateable: true }),
        ],
      },
    ],
  };
}

export interface Suite {
  env: Env;
  api: KubeClient;
  manager: ControllerManager;
  metrics: Registry;
  brokers: ScriptedBroker[];
  /** A controller-manager (not started) like the suite's, on its own client and registry. */
  newManager(client?: KubeClient, options?: Partial<ControllerOptions>): ControllerManager;
  stop(): Promise<void>;
}

function newManager(
  metrics: Registry,
  client: KubeClient,
  overrides: Partial<ControllerOptions> = {},
): ControllerManager {
  const controllers: ControllerStarter[] = [
    startClusterServiceBrokerController,
    startServiceBrokerController,
    serviceInstanceController({ limiter: LIMITER }),
  ];
  return new ControllerManager({
    client,
    options: {
      resyncIntervalMs: 5 * 60_000,
      brokerRelistIntervalMs: 15 * 60_000,
      concurrentSyncs: 5,
      reconciliationRetryDurationMs: 7 * 24 * 3600_000,
      osbApiRequestTimeoutMs: API_TIMEOUT_MS,
      operationPollingMaximumBackoffMs: LIMITER.maxDelayMs,
      cascadingDeletion: false,
      ...overrides,
    },
    leaderElection: {
      enabled: false,
      resourceName: 'service-catalog-controller-manager',
      resourceNamespace: 'kube-system',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2000,
    },
    clusterIdConfigMap: { namespace: 'default', name: 'cluster-info' },
    controllers,
    log: createLogger('test-instance-controller', 'silent'),
    metrics,
    exit: (code, reason) => {
      throw new Error(`controller-manager exit ${code}: ${reason}`);
    },
  });
}

export async function startSuite(envOptions: EnvOptions = {}): Promise<Suite> {
  const env = await startEnv({ standalone: true, ...envOptions });
  const api = KubeClient.load(env.kubeconfig());
  const metrics = createRegistry();
  const manager = newManager(metrics, KubeClient.load(env.kubeconfig()));
  await manager.start();
  await eventually(async () => manager.controllersRunning, 30_000);
  const brokers: ScriptedBroker[] = [];
  const suite: Suite = {
    env,
    api,
    manager,
    metrics,
    brokers,
    newManager: (client = KubeClient.load(env.kubeconfig()), options = {}) =>
      newManager(createRegistry(), client, options),
    async stop() {
      await suite.manager.shutdown();
      await Promise.all(brokers.map((b) => b.stop()));
      await env.stop();
    },
  };
  return suite;
}

/** One test's world: a registered, Ready broker with its own catalog, and a namespace. */
export class Fixture {
  readonly ids: Ids;
  namespaceUID = '';

  constructor(
    readonly suite: Suite,
    readonly prefix: string,
    readonly broker: ScriptedBroker,
    readonly namespace: string,
  ) {
    this.ids = ids(prefix);
  }

  get api(): KubeClient {
    return this.suite.api;
  }

  static async create(
    suite: Suite,
    prefix: string,
    opts: ScriptedBrokerOptions & { register?: boolean } = {},
  ): Promise<Fixture> {
    const { register = true, ...brokerOpts } = opts;
    const broker = await startScriptedBroker({ catalog: testCatalog(prefix), ...brokerOpts });
    suite.brokers.push(broker);
    const f = new Fixture(suite, prefix, broker, `ns-${prefix}`);
    const ns = await suite.api.create<Namespace>(namespaceResource, { metadata: { name: f.namespace } });
    f.namespaceUID = ns.metadata.uid!;
    if (brokerOpts.auth && 'basic' in brokerOpts.auth) {
      await f.secret('broker-auth', brokerOpts.auth.basic);
      f.authInfo = { authInfo: { basic: { secretRef: { namespace: f.namespace, name: 'broker-auth' } } } };
    }
    if (register) await f.register();
    return f;
  }

  /** Registers the broker as ClusterServiceBroker <prefix> and waits for its plans. */
  async register(): Promise<void> {
    await this.api.create(clusterServiceBrokerResource, {
      metadata: { name: this.prefix },
      spec: { url: this.broker.url, ...this.authInfo },
    });
    await this.brokerReady();
    await eventually(async () => (await this.plans()).length === 5, 20_000);
  }

  authInfo: Record<string, unknown> = {};

  async brokerReady(): Promise<void> {
    await eventually(async () => {
      const b = await this.api.get<Obj>(clusterServiceBrokerResource, undefined, this.prefix);
      const c = (b?.status?.conditions as ServiceInstanceCondition[] | undefined)?.find(
        (x) => x.type === 'Ready',
      );
      return c?.status === 'True' && b?.status?.reconciledGeneration === b?.metadata.generation;
    }, 20_000);
  }

  async plans(): Promise<Obj[]> {
    const { items } = await this.api.list<Obj>(clusterServicePlanResource, undefined, {
      fieldSelector: `spec.clusterServiceBrokerName=${this.prefix}`,
    });
    return items;
  }

  async plan(id: string): Promise<Obj | undefined> {
    return (await this.plans()).find((p) => p.spec?.externalID === id);
  }

  async secret(name: string, data: Record<string, string>): Promise<void> {
    await this.api.create(secretResource, {
      metadata: { name, namespace: this.namespace },
      stringData: data,
    });
  }

  /** A ServiceInstance on the db class by external names (the plan `small` unless given). */
  async instance(name: string, spec: Record<string, unknown> = {}): Promise<Instance> {
    return this.api.create<Instance>(serviceInstanceResource, {
      metadata: { name, namespace: this.namespace },
      spec: {
        clusterServiceClassExternalName: `${this.prefix}-db`,
        clusterServicePlanExternalName: 'small',
        parameters: { size: 's' },
        ...spec,
      },
    });
  }

  async get(name: string): Promise<Instance | undefined> {
    return this.api.get<Instance>(serviceInstanceResource, this.namespace, name);
  }

  /** Waits until the instance satisfies `pred`; returns it. */
  async waitFor(name: string, pred: (i: Instance) => boolean, timeoutMs = 15_000): Promise<Instance> {
    let last: Instance | undefined;
    try {
      return await eventually(async () => {
        last = await this.get(name);
        return last && pred(last) ? last : undefined;
      }, timeoutMs);
    } catch (e) {
      throw new Error(`${(e as Error).message}; last status: ${JSON.stringify(last?.status)}`);
    }
  }

  async waitReady(name: string, timeoutMs?: number): Promise<Instance> {
    return this.waitFor(
      name,
      (i) =>
        cond(i, 'Ready')?.status === 'True' &&
        !i.status?.currentOperation &&
        i.status?.observedGeneration === i.metadata.generation,
      timeoutMs,
    );
  }

  async waitReason(
    name: string,
    type: 'Ready' | 'Failed' | 'OrphanMitigation',
    reason: string,
    timeoutMs?: number,
  ) {
    return this.waitFor(name, (i) => cond(i, type)?.reason === reason, timeoutMs);
  }

  async waitGone(name: string, timeoutMs = 15_000): Promise<void> {
    await eventually(async () => !(await this.get(name)), timeoutMs);
  }

  /** Merge-patches the spec (retrying conflicts). */
  async patchSpec(name: string, spec: Record<string, unknown>): Promise<Instance> {
    return this.api.patch<Instance>(serviceInstanceResource, this.namespace, name, { spec });
  }

  async bump(name: string): Promise<Instance> {
    const i = (await this.get(name))!;
    return this.patchSpec(name, { updateRequests: (i.spec?.updateRequests ?? 0) + 1 });
  }

  async events(name: string): Promise<Event[]> {
    const { items } = await this.api.list<Event>(eventResource, this.namespace, {
      fieldSelector: `involvedObject.name=${name}`,
    });
    return items;
  }

  async waitEvent(name: string, reason: string, type?: 'Normal' | 'Warning'): Promise<Event> {
    return eventually(async () =>
      (await this.events(name)).find((e) => e.reason === reason && (!type || e.type === type)),
    );
  }

  /** Journal entries of an endpoint for the instance. */
  requests(endpoint: Parameters<ScriptedBroker['requests']>[0], inst: Instance): JournalEntry[] {
    return this.broker.requests(endpoint, { instanceId: inst.spec?.externalID });
  }
}

export const cond = (i: Instance | undefined, type: string) =>
  i?.status?.conditions?.find((c) => c.type === type);

/** SHA-256 of JSON with sorted keys, as status.*Properties.parameterChecksum. */
export function checksum(params: Record<string, unknown>): string {
  const canon = (v: unknown): string =>
    Array.isArray(v)
      ? `[${v.map(canon).join(',')}]`
      : v !== null && typeof v === 'object'
        ? `{${Object.keys(v)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`)
            .join(',')}}`
        : JSON.stringify(v);
  return createHash('sha256').update(canon(params)).digest('hex');
}

/** Gaps in ms between successive journal entries. */
export const gaps = (entries: JournalEntry[]) =>
  entries.slice(1).map((e, i) => e.time.getTime() - entries[i].time.getTime());

/** The decoded X-Broker-API-Originating-Identity of a request. */
export const identity = (e: JournalEntry) => e.originatingIdentity;
