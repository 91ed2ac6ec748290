import type { Registry } from 'prom-client';
import { clusterServiceBrokerResource } from '../../api-types';
import {
  configMapResource,
  eventResource,
  namespaceResource,
  secretResource,
  type ConfigMap,
  type Event,
  type Namespace,
} from '../../api-types/core';
import type { KubeObject } from '../../api-types/meta';
import { startScriptedBroker, type ScriptedBroker, type ScriptedBrokerOptions } from '../../brokers/scripted';
import type { ControllerOptions } from '../../controller-manager/context';
import type { ControllerStarter } from '../../controller-manager/controllers';
import type { ControllerManager } from '../../controller-manager/manager';
import { inProcessControllerManager } from '../../hack/lib/controller-manager';
import { KubeClient } from '../../pkg/kube/client';
import { createLogger } from '../../pkg/logging';
import { createRegistry } from '../../pkg/metrics';
import type { ServicePlan } from '../../pkg/osb';
import { eventually, startEnv, type Env, type EnvOptions } from './';
import { type ResourceType } from '../../api-types/resource';

/**
 * What the controller tests share: a standalone API server (startEnv), a controller-manager in
 * this process running the controllers under test, scripted brokers stopped with it, and per test
 * a BrokerFixture: a broker and a namespace of its own.
 */

export const GROUP = 'servicecatalog.k8s.io/v1beta1';
export const draft04 = 'http://json-schema.org/draft-04/schema#';

/** An object read loosely, as the tests look into spec and status. */
export type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

interface Condition {
  type: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** The condition of this type in the object's status. */
export const condition = (o: { status?: unknown } | undefined, type: string): Condition | undefined =>
  (o?.status as { conditions?: Condition[] } | undefined)?.conditions?.find((c) => c.type === type);

export const plan = (id: string, name: string, extra: Partial<ServicePlan> = {}): ServicePlan => ({
  id,
  name,
  description: `plan ${name}`,
  ...extra,
});

export interface ControllerEnvOptions {
  /** What the manager runs (controllers/index.ts lists what the real one runs). */
  controllers: ControllerStarter[];
  /** Over the defaults: tests shorten the broker timeout and the backoff cap. */
  options?: Partial<ControllerOptions>;
  /** For the API server, which is always standalone. */
  env?: EnvOptions;
}

/** Starts a controller-manager and waits until its controllers run. */
export async function startManager(m: ControllerManager): Promise<ControllerManager> {
  await m.start();
  await eventually(async () => m.controllersRunning, 30_000);
  return m;
}

export class ControllerEnv {
  /** The tests' own client; every manager has one of its own. */
  readonly api: KubeClient;
  readonly brokers: ScriptedBroker[] = [];
  manager!: ControllerManager;
  /** The running manager's metrics registry. */
  metrics!: Registry;

  private constructor(
    readonly env: Env,
    private readonly opts: ControllerEnvOptions,
  ) {
    this.api = KubeClient.load(env.kubeconfig());
  }

  static async start(opts: ControllerEnvOptions): Promise<ControllerEnv> {
    const suite = new ControllerEnv(await startEnv({ standalone: true, ...opts.env }), opts);
    await suite.restartManager();
    return suite;
  }

  /** A controller-manager like the suite's (not started), with a metrics registry of its own. */
  newManager(
    client = KubeClient.load(this.env.kubeconfig()),
    options: Partial<ControllerOptions> = {},
    metrics = createRegistry(),
  ): ControllerManager {
    return inProcessControllerManager({
      client,
      controllers: this.opts.controllers,
      options: { ...this.opts.options, ...options },
      log: createLogger('test-controller-manager', 'silent'),
      metrics,
      exit: (code, reason) => {
        throw new Error(`controller-manager exit ${code}: ${reason}`);
      },
    });
  }

  /** A new controller-manager in place of the running one, as after a crash or a new leader. */
  async restartManager(): Promise<void> {
    await this.manager?.shutdown();
    // a new process has a metrics registry of its own
    this.metrics = createRegistry();
    this.manager = await startManager(this.newManager(undefined, {}, this.metrics));
  }

  /** A scripted broker on loopback, stopped with the suite. */
  async startBroker(opts: ScriptedBrokerOptions): Promise<ScriptedBroker> {
    const b = await startScriptedBroker(opts);
    this.brokers.push(b);
    return b;
  }

  createClusterBroker(name: string, url: string, spec: Record<string, unknown> = {}): Promise<Obj> {
    return this.api.create<Obj>(clusterServiceBrokerResource, { metadata: { name }, spec: { url, ...spec } });
  }

  /** The broker once its Ready condition is True for its current generation. */
  brokerReady(type: ResourceType, name: string, namespace?: string, timeoutMs = 10_000): Promise<Obj> {
    return eventually(async () => {
      const b = await this.api.get<Obj>(type, namespace, name);
      return (
        condition(b, 'Ready')?.status === 'True' &&
        b?.status?.reconciledGeneration === b?.metadata.generation &&
        b
      );
    }, timeoutMs);
  }

  /** Asks the broker for its catalog again (spec.relistRequests + 1). */
  async relist(name: string, namespace?: string, type: ResourceType = clusterServiceBrokerResource) {
    const b = (await this.api.get<Obj>(type, namespace, name))!;
    await this.api.patch(type, namespace, name, {
      spec: { relistRequests: ((b.spec?.relistRequests as number | undefined) ?? 0) + 1 },
    });
  }

  /** The classes or plans (by `type`) of a broker, by external ID. */
  async catalogEntries(type: ResourceType, broker: string, namespace?: string): Promise<Obj[]> {
    const field = type.namespaced ? 'spec.serviceBrokerName' : 'spec.clusterServiceBrokerName';
    const { items } = await this.api.list<Obj>(type, namespace, { fieldSelector: `${field}=${broker}` });
    return items.sort((a, b) => String(a.spec?.externalID).localeCompare(String(b.spec?.externalID)));
  }

  /** Waits until an Event with this reason (and type, when given) was recorded about the object. */
  waitEvent(namespace: string, name: string, reason: string, type?: 'Normal' | 'Warning'): Promise<Event> {
    return eventually(async () => {
      const { items } = await this.api.list<Event>(eventResource, namespace, {
        fieldSelector: `involvedObject.name=${name}`,
      });
      return items.find((e) => e.reason === reason && (!type || e.type === type));
    });
  }

  /** A value of a metric of the running manager, by labels. */
  async gauge(name: string, labels: Record<string, string>): Promise<number | undefined> {
    const values = (await this.metrics.getSingleMetric(name)?.get())?.values ?? [];
    return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
  }

  /** The cluster ID the controllers send to brokers. */
  async clusterId(): Promise<string> {
    return (await this.api.get<ConfigMap>(configMapResource, 'default', 'cluster-info'))!.data!.id;
  }

  async stop(): Promise<void> {
    await this.manager?.shutdown();
    await Promise.all(this.brokers.map((b) => b.stop()));
    await this.env.stop();
  }
}

/**
 * One test's world: a scripted broker of its own (serving a catalog whose ids carry the test's
 * prefix, as classes are cluster-wide) and the namespace ns-<prefix>. T is the kind the area's
 * tests create and wait for.
 */
export abstract class BrokerFixture<T extends KubeObject> {
  /** What get, delete and the waits read. */
  protected abstract readonly kind: ResourceType;
  readonly namespace: string;
  namespaceUID = '';
  /** spec.authInfo of the broker's registration, when the broker wants basic auth. */
  private authInfo?: Record<string, unknown>;

  constructor(
    readonly suite: ControllerEnv,
    readonly prefix: string,
    readonly broker: ScriptedBroker,
  ) {
    this.namespace = `ns-${prefix}`;
  }

  get api(): KubeClient {
    return this.suite.api;
  }

  /** Creates the namespace and, for a broker with basic auth, its credentials in Secret broker-auth. */
  protected async setUp(auth?: ScriptedBrokerOptions['auth']): Promise<void> {
    const ns = await this.api.create<Namespace>(namespaceResource, { metadata: { name: this.namespace } });
    this.namespaceUID = ns.metadata.uid!;
    if (auth && 'basic' in auth) {
      await this.createSecret('broker-auth', auth.basic);
      this.authInfo = { basic: { secretRef: { namespace: this.namespace, name: 'broker-auth' } } };
    }
  }

  /** Registers the broker as ClusterServiceBroker <prefix> and waits until it is Ready. */
  async register(): Promise<void> {
    await this.suite.createClusterBroker(
      this.prefix,
      this.broker.url,
      this.authInfo && { authInfo: this.authInfo },
    );
    await this.suite.brokerReady(clusterServiceBrokerResource, this.prefix, undefined, 20_000);
  }

  async createSecret(name: string, data: Record<string, string>): Promise<void> {
    await this.api.create(secretResource, {
      metadata: { name, namespace: this.namespace },
      stringData: data,
    });
  }

  get(name: string): Promise<T | undefined> {
    return this.api.get<T>(this.kind, this.namespace, name);
  }

  async delete(name: string): Promise<void> {
    await this.api.delete(this.kind, this.namespace, name);
  }

  /** Waits until the object satisfies `pred`; returns it. */
  async waitFor(name: string, pred: (o: T) => unknown, timeoutMs = 15_000): Promise<T> {
    let last: T | undefined;
    try {
      return await eventually(async () => {
        last = await this.get(name);
        return last && pred(last) ? last : undefined;
      }, timeoutMs);
    } catch (e) {
      throw new Error(`${(e as Error).message}; last status: ${JSON.stringify(last?.status)}`);
    }
  }

  async waitGone(name: string, timeoutMs = 15_000): Promise<void> {
    await eventually(async () => !(await this.get(name)), timeoutMs);
  }

  waitEvent(name: string, reason: string, type?: 'Normal' | 'Warning'): Promise<Event> {
    return this.suite.waitEvent(this.namespace, name, reason, type);
  }
}

/**
 * The controller environment of a test file: started before its tests, stopped after them. The
 * handle stands for the environment once started (`suite.api`, `suite.gauge(...)`).
 */
export function controllerSuite(start: () => Promise<ControllerEnv>): ControllerEnv {
  let env: ControllerEnv | undefined;
  beforeAll(async () => {
    env = await start();
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
  });
  const started = (): ControllerEnv => {
    if (!env) throw new Error('the controller environment is not started yet');
    return env;
  };
  return new Proxy({} as ControllerEnv, {
    get(_, key) {
      const value: unknown = Reflect.get(started(), key);
      return typeof value === 'function' ? value.bind(started()) : value;
    },
    set: (_, key, value) => Reflect.set(started(), key, value),
  });
}
