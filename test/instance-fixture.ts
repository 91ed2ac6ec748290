import { createHash } from 'node:crypto';
import { clusterServicePlanResource, serviceInstanceResource, type ServiceInstance } from '../api-types';
import type { JournalEntry, ScriptedBroker, ScriptedBrokerOptions } from '../brokers/scripted';
import {
  startClusterServiceBrokerController,
  startServiceBrokerController,
} from '../controller-manager/controllers/broker';
import { serviceInstanceController } from '../controller-manager/controllers/instance';
import type { Catalog } from '../pkg/osb';
import { eventually, type EnvOptions } from './harness';
import { BrokerFixture, condition, ControllerEnv, draft04, plan } from './harness/controllers';

/**
 * The instance controller tests' world: the broker controllers and the instance controller with
 * short backoffs, and per test a broker with a catalog whose ids carry the test's prefix.
 */

const API_TIMEOUT_MS = 1500;
/** Retries and polls back off 100 ms, 200 ms, 400 ms, 800 ms, 800 ms... */
const LIMITER = { baseDelayMs: 100, maxDelayMs: 800, qps: 1000, burst: 1000 };

export type Instance = ServiceInstance;

export interface Ids {
  db: string;
  queue: string;
  plans: { small: string; large: string; fixed: string; async: string; short: string };
}

function ids(p: string): Ids {
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

export function startSuite(env: EnvOptions = {}): Promise<ControllerEnv> {
  return ControllerEnv.start({
    controllers: [
      startClusterServiceBrokerController,
      startServiceBrokerController,
      serviceInstanceController({ limiter: LIMITER }),
    ],
    options: { osbApiRequestTimeoutMs: API_TIMEOUT_MS, operationPollingMaximumBackoffMs: LIMITER.maxDelayMs },
    env,
  });
}

/** One test's world: a registered, Ready broker with its own catalog, and a namespace. */
export class Fixture extends BrokerFixture<Instance> {
  protected readonly kind = serviceInstanceResource;
  readonly ids = ids(this.prefix);

  static async create(
    suite: ControllerEnv,
    prefix: string,
    opts: ScriptedBrokerOptions & { register?: boolean } = {},
  ): Promise<Fixture> {
    const { register = true, ...brokerOpts } = opts;
    const f = new Fixture(
      suite,
      prefix,
      await suite.startBroker({ catalog: testCatalog(prefix), ...brokerOpts }),
    );
    await f.setUp(brokerOpts.auth);
    if (register) await f.register();
    return f;
  }

  /** Registers the broker as ClusterServiceBroker <prefix> and waits for its plans. */
  override async register(): Promise<void> {
    await super.register();
    await eventually(
      async () => (await this.suite.catalogEntries(clusterServicePlanResource, this.prefix)).length === 5,
      20_000,
    );
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

  async waitReady(name: string, timeoutMs?: number): Promise<Instance> {
    return this.waitFor(
      name,
      (i) =>
        condition(i, 'Ready')?.status === 'True' &&
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
    return this.waitFor(name, (i) => condition(i, type)?.reason === reason, timeoutMs);
  }

  /** Merge-patches the spec. */
  async patchSpec(name: string, spec: Record<string, unknown>): Promise<Instance> {
    return this.api.patch<Instance>(serviceInstanceResource, this.namespace, name, { spec });
  }

  async bump(name: string): Promise<Instance> {
    const i = (await this.get(name))!;
    return this.patchSpec(name, { updateRequests: (i.spec?.updateRequests ?? 0) + 1 });
  }

  /** Journal entries of an endpoint for the instance. */
  requests(endpoint: Parameters<ScriptedBroker['requests']>[0], inst: Instance): JournalEntry[] {
    return this.broker.requests(endpoint, { instanceId: inst.spec?.externalID });
  }
}

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
