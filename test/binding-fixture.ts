import type { Registry } from 'prom-client';
import {
  clusterServiceBrokerResource,
  serviceBrokerResource,
  serviceBindingResource,
  serviceInstanceResource,
  type ServiceBinding,
  type ServiceInstance,
} from '../api-types';
import {
  eventResource,
  namespaceResource,
  secretResource,
  type Event,
  type Namespace,
  type Secret,
} from '../api-types/core';
import type { KubeObject } from '../api-types/meta';
import { startScriptedBroker, type ScriptedBroker, type ScriptedBrokerOptions } from '../brokers/scripted';
import { serviceBindingController } from '../controller-manager/controllers/binding';
import {
  startClusterServiceBrokerController,
  startServiceBrokerController,
} from '../controller-manager/controllers/broker';
import { escapedName } from '../controller-manager/controllers/catalog';
import { ControllerManager } from '../controller-manager/manager';
import { KubeClient } from '../pkg/kube/client';
import { createLogger } from '../pkg/logging';
import { createRegistry } from '../pkg/metrics';
import { OSBClient, type Catalog, type ServicePlan } from '../pkg/osb';
import { eventually, startEnv, type Env, type WatchEvent } from './harness';

/**
 * What the binding controller tests share: a standalone API server, a controller-manager running
 * the broker controllers and the binding controller (short backoffs), and per test a scripted
 * broker of its own with a catalog whose ids carry the test's prefix, so no scripted rule or
 * request of one test ever reaches another. Instances are provisioned at the broker directly and
 * made Ready by hand: the instance controller is not what is tested here.
 */

export const GROUP = 'servicecatalog.k8s.io/v1beta1';
export const API_TIMEOUT_MS = 1000;

const draft04 = 'http://json-schema.org/draft-04/schema#';

/** The plans of a test catalog, by role. */
export type PlanKey = 'small' | 'rotating' | 'nobind' | 'async' | 'legacy' | 'drain';

export interface Ids {
  db: string;
  queue: string;
  legacy: string;
  plans: Record<PlanKey, string>;
}

function ids(p: string): Ids {
  return {
    db: `${p}-db`,
    queue: `${p}-queue`,
    legacy: `${p}-legacy`,
    plans: {
      small: `${p}-db-small`,
      rotating: `${p}-db-rotating`,
      nobind: `${p}-db-nobind`,
      drain: `${p}-db-drain`,
      async: `${p}-queue-async`,
      legacy: `${p}-legacy-plan`,
    },
  };
}

const plan = (id: string, name: string, extra: Partial<ServicePlan> = {}): ServicePlan => ({
  id,
  name,
  description: `plan ${name}`,
  ...extra,
});

/**
 * db: sync, bindings retrievable, requires syslog_drain; plans small (binding schema), rotating
 * (binding_rotatable), nobind (plan says not bindable), drain. queue: async binds and unbinds,
 * retrievable. legacy: the class says not bindable but its plan says bindable; not retrievable.
 */
export function testCatalog(p: string): Catalog {
  const i = ids(p);
  return {
    services: [
      {
        id: i.db,
        name: `${p}-db`,
        description: 'database',
        bindable: true,
        bindings_retrievable: true,
        requires: ['syslog_drain'],
        plans: [
          plan(i.plans.small, 'small', {
            schemas: {
              service_binding: {
                create: {
                  parameters: {
                    $schema: draft04,
                    type: 'object',
                    properties: { readOnly: { type: 'boolean' }, role: { type: 'string' } },
                    additionalProperties: false,
                  },
                },
              },
            },
          }),
          plan(i.plans.rotating, 'rotating', { binding_rotatable: true }),
          plan(i.plans.nobind, 'nobind', { bindable: false }),
          plan(i.plans.drain, 'drain'),
        ],
      },
      {
        id: i.queue,
        name: `${p}-queue`,
        description: 'queue',
        bindable: true,
        bindings_retrievable: true,
        plans: [plan(i.plans.async, 'async', { maximum_polling_duration: 600 })],
      },
      {
        id: i.legacy,
        name: `${p}-legacy`,
        description: 'legacy',
        bindable: false,
        plans: [plan(i.plans.legacy, 'legacy', { bindable: true })],
      },
    ],
  };
}

const serviceOf = (i: Ids, key: PlanKey) => (key === 'async' ? i.queue : key === 'legacy' ? i.legacy : i.db);

export interface Suite {
  env: Env;
  api: KubeClient;
  manager: ControllerManager;
  metrics: Registry;
  brokers: ScriptedBroker[];
  /** A new controller-manager in place of the running one, as after a crash or a new leader. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function newManager(env: Env, metrics: Registry): ControllerManager {
  return new ControllerManager({
    client: KubeClient.load(env.kubeconfig()),
    options: {
      resyncIntervalMs: 5 * 60_000,
      brokerRelistIntervalMs: 15 * 60_000,
      concurrentSyncs: 5,
      reconciliationRetryDurationMs: 7 * 24 * 3600_000,
      osbApiRequestTimeoutMs: API_TIMEOUT_MS,
      operationPollingMaximumBackoffMs: 2000,
      cascadingDeletion: false,
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
    controllers: [
      startClusterServiceBrokerController,
      startServiceBrokerController,
      // retries 20 ms, 40 ms, ... 320 ms: failures come back quickly
      serviceBindingController({ limiter: { baseDelayMs: 20, maxDelayMs: 320, qps: 1000, burst: 1000 } }),
    ],
    log: createLogger('test-binding-controller', 'silent'),
    metrics,
    exit: (code, reason) => {
      throw new Error(`controller-manager exit ${code}: ${reason}`);
    },
  });
}

export async function startSuite(): Promise<Suite> {
  const env = await startEnv({ standalone: true });
  const api = KubeClient.load(env.kubeconfig());
  const metrics = createRegistry();
  const start = async (registry: Registry) => {
    const m = newManager(env, registry);
    await m.start();
    await eventually(async () => m.controllersRunning, 30_000);
    return m;
  };
  const brokers: ScriptedBroker[] = [];
  const suite: Suite = {
    env,
    api,
    manager: await start(metrics),
    metrics,
    brokers,
    async restart() {
      await suite.manager.shutdown();
      // a new process has a registry of its own
      suite.metrics = createRegistry();
      suite.manager = await start(suite.metrics);
    },
    async stop() {
      await suite.manager.shutdown();
      await Promise.all(brokers.map((b) => b.stop()));
      await env.stop();
    },
  };
  return suite;
}

/** One test's world: a broker with its catalog, registered and Ready, and a namespace. */
export class Fixture {
  readonly ids: Ids;
  namespaceUID = '';
  auth?: ScriptedBrokerOptions['auth'];
  private osb?: OSBClient;

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
    opts: Omit<ScriptedBrokerOptions, 'catalog'> = {},
  ): Promise<Fixture> {
    const i = ids(prefix);
    const broker = await startScriptedBroker({
      catalog: testCatalog(prefix),
      scripts: [
        ['bind', { planId: i.plans.async, async: { inProgressPolls: 1 } }],
        ['unbind', { planId: i.plans.async, async: { inProgressPolls: 1 } }],
      ],
      ...opts,
    });
    suite.brokers.push(broker);
    const f = new Fixture(suite, prefix, broker, `ns-${prefix}`);
    f.auth = opts.auth;
    const ns = await suite.api.create<Namespace>(namespaceResource, { metadata: { name: f.namespace } });
    f.namespaceUID = ns.metadata.uid!;
    let authInfo: Record<string, unknown> | undefined;
    if (opts.auth && 'basic' in opts.auth) {
      await f.createSecret('broker-auth', opts.auth.basic);
      authInfo = { basic: { secretRef: { namespace: f.namespace, name: 'broker-auth' } } };
    }
    await suite.api.create(clusterServiceBrokerResource, {
      metadata: { name: prefix },
      spec: { url: broker.url, ...(authInfo ? { authInfo } : {}) },
    });
    await eventually(async () => {
      const b = await suite.api.get<KubeObjectWithStatus>(clusterServiceBrokerResource, undefined, prefix);
      return b?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 20_000);
    return f;
  }

  /** Provisions at the broker (synchronously) and makes a Ready ServiceInstance for it. */
  /** A ServiceBroker (namespaced) for the same broker in the fixture's namespace, Ready. */
  async namespacedBroker(): Promise<void> {
    await this.api.create(serviceBrokerResource, {
      metadata: { name: this.prefix, namespace: this.namespace },
      spec: { url: this.broker.url },
    });
    await eventually(async () => {
      const b = await this.api.get<KubeObjectWithStatus>(serviceBrokerResource, this.namespace, this.prefix);
      return b?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 20_000);
  }

  async instance(
    name: string,
    key: PlanKey,
    opts: { ready?: boolean; namespaced?: boolean } = {},
  ): Promise<ServiceInstance> {
    const serviceId = serviceOf(this.ids, key);
    const planId = this.ids.plans[key];
    const externalID = `${this.prefix}-${name}-iid`;
    this.osb ??= new OSBClient({ name: 'test', url: this.broker.url, timeoutMs: 5000, auth: this.auth });
    const res = await this.osb.provision(
      externalID,
      {
        service_id: serviceId,
        plan_id: planId,
        organization_guid: 'test-cluster',
        space_guid: this.namespaceUID,
        context: {
          platform: 'kubernetes',
          namespace: this.namespace,
          clusterid: 'test-cluster',
          instance_name: name,
        },
      },
      { acceptsIncomplete: true },
    );
    expect(res.kind).toBe('sync');
    const created = await this.api.create<ServiceInstance>(serviceInstanceResource, {
      metadata: { name, namespace: this.namespace },
      spec: opts.namespaced
        ? { serviceClassExternalName: serviceId, servicePlanExternalName: key, externalID }
        : { clusterServiceClassExternalName: serviceId, clusterServicePlanExternalName: key, externalID },
    });
    const path = `/apis/${GROUP}/namespaces/${this.namespace}/serviceinstances/${name}`;
    const refs = await this.suite.env.client.put<ServiceInstance>(`${path}/reference`, {
      ...created,
      spec: {
        ...created.spec,
        ...(opts.namespaced
          ? {
              serviceClassRef: { name: escapedName(serviceId) },
              servicePlanRef: { name: escapedName(planId) },
            }
          : {
              clusterServiceClassRef: { name: escapedName(serviceId) },
              clusterServicePlanRef: { name: escapedName(planId) },
            }),
      },
    });
    expect(refs.status).toBe(200);
    if (opts.ready === false) return refs.body;
    return this.makeReady(refs.body);
  }

  async makeReady(instance: ServiceInstance): Promise<ServiceInstance> {
    const path = `/apis/${GROUP}/namespaces/${this.namespace}/serviceinstances/${instance.metadata.name}/status`;
    const current = (await this.api.get<ServiceInstance>(
      serviceInstanceResource,
      this.namespace,
      instance.metadata.name!,
    ))!;
    const res = await this.suite.env.client.put<ServiceInstance>(path, {
      ...current,
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'ProvisionedSuccessfully',
            message: 'The instance was provisioned successfully',
            lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
          },
        ],
        provisionStatus: 'Provisioned',
        deprovisionStatus: 'Required',
        reconciledGeneration: current.metadata.generation,
        observedGeneration: current.metadata.generation,
      },
    });
    expect(res.status).toBe(200);
    return res.body;
  }

  async binding(name: string, instance: string, spec: Record<string, unknown> = {}): Promise<ServiceBinding> {
    return this.api.create<ServiceBinding>(serviceBindingResource, {
      metadata: { name, namespace: this.namespace },
      spec: { instanceRef: { name: instance }, ...spec },
    });
  }

  get(name: string): Promise<ServiceBinding | undefined> {
    return this.api.get<ServiceBinding>(serviceBindingResource, this.namespace, name);
  }

  /** The binding once `pred` holds for it. */
  waitFor(name: string, pred: (b: ServiceBinding) => unknown, timeoutMs = 15_000): Promise<ServiceBinding> {
    return eventually(async () => {
      const b = await this.get(name);
      return b && pred(b) ? b : undefined;
    }, timeoutMs);
  }

  /** The binding once its Ready condition has this reason. */
  waitReason(name: string, reason: string, timeoutMs?: number): Promise<ServiceBinding> {
    return this.waitFor(name, (b) => ready(b)?.reason === reason, timeoutMs);
  }

  waitReady(name: string, timeoutMs?: number): Promise<ServiceBinding> {
    return this.waitFor(name, (b) => ready(b)?.status === 'True', timeoutMs);
  }

  async waitGone(name: string, timeoutMs = 15_000): Promise<void> {
    await eventually(async () => !(await this.get(name)), timeoutMs);
  }

  async delete(name: string): Promise<void> {
    await this.api.delete(serviceBindingResource, this.namespace, name);
  }

  /** The Secret's data, decoded. */
  async secret(name: string): Promise<Record<string, string> | undefined> {
    const s = await this.api.get<Secret>(secretResource, this.namespace, name);
    if (!s) return undefined;
    return Object.fromEntries(
      Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
  }

  rawSecret(name: string): Promise<Secret | undefined> {
    return this.api.get<Secret>(secretResource, this.namespace, name);
  }

  async createSecret(
    name: string,
    data: Record<string, string>,
    extra: Partial<Secret> = {},
  ): Promise<Secret> {
    return this.api.create<Secret>(secretResource, {
      metadata: { name, namespace: this.namespace, ...extra.metadata },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    });
  }

  async events(name: string): Promise<Event[]> {
    const { items } = await this.api.list<Event>(eventResource, this.namespace, {
      fieldSelector: `involvedObject.name=${name}`,
    });
    return items;
  }

  /** Waits until an Event with this reason was recorded about the binding. */
  waitEvent(name: string, reason: string): Promise<Event> {
    return eventually(async () => (await this.events(name)).find((e) => e.reason === reason));
  }

  /** Every state the bindings of the namespace go through, from a watch opened now. */
  async watch(): Promise<{ states: (name: string) => ServiceBinding[]; close: () => void }> {
    const stream = await this.suite.env.client.watch(
      `/apis/${GROUP}/namespaces/${this.namespace}/servicebindings?watch=true`,
    );
    return {
      states: (name) =>
        (stream.events as WatchEvent<ServiceBinding>[])
          .filter((e) => e.object?.metadata?.name === name && e.type !== 'BOOKMARK')
          .map((e) => e.object),
      close: () => stream.close(),
    };
  }

  instanceId(name: string): string {
    return `${this.prefix}-${name}-iid`;
  }

  async close(): Promise<void> {
    await this.osb?.close();
  }
}

type KubeObjectWithStatus = KubeObject & {
  status?: { conditions?: Array<{ type: string; status: string }> };
};

export const ready = (b: ServiceBinding | undefined) =>
  b?.status?.conditions?.find((c) => c.type === 'Ready');
export const failed = (b: ServiceBinding | undefined) =>
  b?.status?.conditions?.find((c) => c.type === 'Failed');

/** The decoded X-Broker-API-Originating-Identity of a journal entry, if any. */
export function identityOf(headers: Record<string, string>): Record<string, unknown> | undefined {
  const raw = headers['x-broker-api-originating-identity'];
  if (!raw) return undefined;
  const [platform, value] = raw.split(' ');
  return { platform, ...(JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as object) };
}
