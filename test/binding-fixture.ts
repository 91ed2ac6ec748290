import {
  serviceBrokerResource,
  serviceBindingResource,
  serviceInstanceResource,
  type ServiceBinding,
  type ServiceInstance,
} from '../api-types';
import { secretResource, type Secret } from '../api-types/core';
import type { JournalEntry, ScriptedBrokerOptions } from '../brokers/scripted';
import { serviceBindingController } from '../controller-manager/controllers/binding';
import {
  startClusterServiceBrokerController,
  startServiceBrokerController,
} from '../controller-manager/controllers/broker';
import { escapedName } from '../controller-manager/controllers/catalog';
import { OSBClient, type Catalog } from '../pkg/osb';
import type { WatchEvent } from './harness';
import { BrokerFixture, condition, ControllerEnv, draft04, GROUP, plan } from './harness/controllers';

/**
 * The binding controller tests' world: the broker controllers and the binding controller (short
 * backoffs), and per test a broker with a catalog whose ids carry the test's prefix, so no
 * scripted rule or request of one test ever reaches another. Instances are provisioned at the
 * broker directly and made Ready by hand: the instance controller is not what is tested here.
 */

export const API_TIMEOUT_MS = 1000;

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

/**
 * db: sync, bindings retrievable, requires syslog_drain; plans small (binding schema), rotating
 * (binding_rotatable), nobind (plan says not bindable), drain. queue: async binds and unbinds,
 * retrievable. legacy: the class says not bindable but its plan says bindable; not retrievable.
 */
function testCatalog(p: string): Catalog {
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

export function startSuite(): Promise<ControllerEnv> {
  return ControllerEnv.start({
    controllers: [
      startClusterServiceBrokerController,
      startServiceBrokerController,
      // retries 20 ms, 40 ms, ... 320 ms: failures come back quickly
      serviceBindingController({ limiter: { baseDelayMs: 20, maxDelayMs: 320, qps: 1000, burst: 1000 } }),
    ],
    options: { osbApiRequestTimeoutMs: API_TIMEOUT_MS, operationPollingMaximumBackoffMs: 2000 },
  });
}

/** One test's world: a broker with its catalog, registered and Ready, and a namespace. */
export class Fixture extends BrokerFixture<ServiceBinding> {
  protected readonly kind = serviceBindingResource;
  readonly ids = ids(this.prefix);
  auth?: ScriptedBrokerOptions['auth'];

  static async create(
    suite: ControllerEnv,
    prefix: string,
    opts: Omit<ScriptedBrokerOptions, 'catalog'> = {},
  ): Promise<Fixture> {
    const i = ids(prefix);
    const broker = await suite.startBroker({
      catalog: testCatalog(prefix),
      scripts: [
        ['bind', { planId: i.plans.async, async: { inProgressPolls: 1 } }],
        ['unbind', { planId: i.plans.async, async: { inProgressPolls: 1 } }],
      ],
      ...opts,
    });
    const f = new Fixture(suite, prefix, broker);
    f.auth = opts.auth;
    await f.setUp(opts.auth);
    await f.register();
    return f;
  }

  /** A ServiceBroker (namespaced) for the same broker in the fixture's namespace, Ready. */
  async namespacedBroker(): Promise<void> {
    await this.api.create(serviceBrokerResource, {
      metadata: { name: this.prefix, namespace: this.namespace },
      spec: { url: this.broker.url },
    });
    await this.suite.brokerReady(serviceBrokerResource, this.prefix, this.namespace, 20_000);
  }

  /** Provisions at the broker (synchronously) and makes a Ready ServiceInstance for it. */
  async instance(
    name: string,
    key: PlanKey,
    opts: { ready?: boolean; namespaced?: boolean } = {},
  ): Promise<ServiceInstance> {
    const serviceId = serviceOf(this.ids, key);
    const planId = this.ids.plans[key];
    const externalID = this.instanceId(name);
    const osb = new OSBClient({ name: 'test', url: this.broker.url, timeoutMs: 5000, auth: this.auth });
    try {
      const res = await osb.provision(
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
    } finally {
      await osb.close();
    }
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

  /** The binding once its Ready condition has this reason. */
  waitReason(name: string, reason: string, timeoutMs?: number): Promise<ServiceBinding> {
    return this.waitFor(name, (b) => condition(b, 'Ready')?.reason === reason, timeoutMs);
  }

  waitReady(name: string, timeoutMs?: number): Promise<ServiceBinding> {
    return this.waitFor(name, (b) => condition(b, 'Ready')?.status === 'True', timeoutMs);
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

  /** The bind requests the broker had (for one binding id, when given). */
  binds(bindingId?: string): JournalEntry[] {
    return this.broker.requests('bind', bindingId ? { bindingId } : {});
  }

  unbinds(bindingId?: string): JournalEntry[] {
    return this.broker.requests('unbind', bindingId ? { bindingId } : {});
  }

  /**
   * Makes a binding and waits until it is Ready: the queue hands out work in order and retries
   * come back within milliseconds here, so a retry of anything that settled before would have
   * happened by then.
   */
  async barrier(instance: string): Promise<void> {
    const name = `probe-${Math.random().toString(36).slice(2, 8)}`;
    await this.binding(name, instance);
    await this.waitReady(name);
  }
}

/** The decoded X-Broker-API-Originating-Identity of a journal entry, if any. */
export function identityOf(headers: Record<string, string>): Record<string, unknown> | undefined {
  const raw = headers['x-broker-api-originating-identity'];
  if (!raw) return undefined;
  const [platform, value] = raw.split(' ');
  return { platform, ...(JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as object) };
}
