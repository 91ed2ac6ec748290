import { clusterServiceBrokerResource, serviceBindingResource, serviceInstanceResource } from '../api-types';
import { namespaceResource, secretResource, type Secret } from '../api-types/core';
import { bindingUsername, instanceNames } from '../brokers/sql';
import { controllers } from '../controller-manager/controllers';
import { eventually } from './harness';
import { condition, ControllerEnv, type Obj } from './harness/controllers';
import { probes, startTestBroker, type EngineProbe, type Session, type TestBroker } from './harness/sql';

/**
 * The SQL broker through the catalog: the API server and the controller-manager with every
 * controller, the broker registered as ClusterServiceBroker "sql" with its basic-auth Secret, and
 * what a user does: a ServiceInstance, ServiceBindings, an application connecting with what the
 * Secrets hold, and the deletes that take it all away again.
 */

let suite: ControllerEnv;
let broker: TestBroker;

beforeAll(async () => {
  suite = await ControllerEnv.start({ controllers, options: { operationPollingMaximumBackoffMs: 2000 } });
  broker = await startTestBroker();
  await suite.api.create(namespaceResource, { metadata: { name: 'catalog' } });
  await suite.api.create(secretResource, {
    metadata: { name: 'sql-broker-auth', namespace: 'catalog' },
    stringData: { username: broker.username, password: broker.password },
  });
  await suite.api.create(clusterServiceBrokerResource, {
    metadata: { name: 'sql' },
    spec: {
      url: broker.url,
      authInfo: { basic: { secretRef: { namespace: 'catalog', name: 'sql-broker-auth' } } },
    },
  });
  await suite.brokerReady(clusterServiceBrokerResource, 'sql', undefined, 30_000);
}, 60_000);

afterAll(async () => {
  await suite?.stop();
  await broker?.destroy();
});

const ready = (o: Obj | undefined) => condition(o, 'Ready')?.status === 'True';

async function waitFor(
  kind: typeof serviceInstanceResource,
  namespace: string,
  name: string,
  timeoutMs = 30_000,
) {
  let last: Obj | undefined;
  try {
    return await eventually(async () => {
      last = await suite.api.get<Obj>(kind, namespace, name);
      return ready(last) && last;
    }, timeoutMs);
  } catch (e) {
    throw new Error(
      `${name} not Ready: ${JSON.stringify(last?.status?.conditions)}: ${(e as Error).message}`,
    );
  }
}

const waitGone = (kind: typeof serviceInstanceResource, namespace: string, name: string) =>
  eventually(async () => !(await suite.api.get(kind, namespace, name)), 30_000);

/** The Secret's value of `key`, decoded. */
async function secretValue(namespace: string, name: string, key: string): Promise<string> {
  const secret = await suite.api.get<Secret>(secretResource, namespace, name);
  return Buffer.from(secret!.data![key], 'base64').toString('utf8');
}

describe.each(['postgresql', 'mariadb'] as const)('%s through the catalog', (engine) => {
  let probe: EngineProbe;
  const sessions: Session[] = [];
  const namespace = `shop-${engine}`;

  beforeAll(async () => {
    probe = probes[engine]();
    await suite.api.create(namespaceResource, { metadata: { name: namespace } });
  });
  afterAll(async () => {
    for (const s of sessions) await s.close();
    await probe.close();
  });

  async function connect(uri: string): Promise<Session> {
    const s = await probe.connect(uri);
    sessions.push(s);
    return s;
  }

  test('instance, bindings, an application connecting, a read-only binding that cannot write, and the cleanup', async () => {
    await suite.api.create(serviceInstanceResource, {
      metadata: { name: 'orders', namespace },
      spec: { clusterServiceClassExternalName: engine, clusterServicePlanExternalName: 'shared-small' },
    });
    const instance = await waitFor(serviceInstanceResource, namespace, 'orders');
    const instanceId = String(instance.spec?.externalID);
    const { database, owner } = instanceNames(instanceId);
    expect(await probe.databaseExists(database)).toBe(true);

    await suite.api.create(serviceBindingResource, {
      metadata: { name: 'orders-app', namespace },
      spec: { instanceRef: { name: 'orders' }, secretName: 'orders-app-credentials' },
    });
    await suite.api.create(serviceBindingResource, {
      metadata: { name: 'orders-report', namespace },
      spec: { instanceRef: { name: 'orders' }, parameters: { readOnly: true } },
    });
    const app = await waitFor(serviceBindingResource, namespace, 'orders-app');
    const report = await waitFor(serviceBindingResource, namespace, 'orders-report');

    // what an application does with its Secret
    const writer = await connect(await secretValue(namespace, 'orders-app-credentials', 'uri'));
    await writer.query('CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(40))');
    await writer.query("INSERT INTO orders VALUES (1, 'coffee')");
    expect(await secretValue(namespace, 'orders-app-credentials', 'database')).toBe(database);
    expect(await secretValue(namespace, 'orders-app-credentials', 'type')).toBe(engine);
    const reader = await connect(await secretValue(namespace, 'orders-report', 'uri'));
    expect(await reader.query('SELECT item FROM orders')).toEqual([{ item: 'coffee' }]);
    await expect(reader.query("INSERT INTO orders VALUES (2, 'tea')")).rejects.toThrow();
    expect(await writer.query('SELECT count(*) AS n FROM orders')).toEqual([
      { n: engine === 'postgresql' ? '1' : 1 },
    ]);

    // unbind: the login and its sessions go, and the Secret with them
    const appLogin = bindingUsername(instanceId, String(app.spec?.externalID));
    expect(await probe.sessions(appLogin)).toBe(1);
    await suite.api.delete(serviceBindingResource, namespace, 'orders-app');
    await waitGone(serviceBindingResource, namespace, 'orders-app');
    expect(await probe.loginExists(appLogin)).toBe(false);
    expect(await probe.sessions(appLogin)).toBe(0);
    await expect(writer.query('SELECT 1')).rejects.toThrow();
    expect(await suite.api.get(secretResource, namespace, 'orders-app-credentials')).toBeUndefined();

    // deprovision: the database goes
    const reportLogin = bindingUsername(instanceId, String(report.spec?.externalID));
    await suite.api.delete(serviceBindingResource, namespace, 'orders-report');
    await waitGone(serviceBindingResource, namespace, 'orders-report');
    await suite.api.delete(serviceInstanceResource, namespace, 'orders');
    await waitGone(serviceInstanceResource, namespace, 'orders');
    expect(await probe.databaseExists(database)).toBe(false);
    expect(await probe.loginExists(owner)).toBe(false);
    expect(await probe.loginExists(reportLogin)).toBe(false);
  });
});

test('a dedicated PostgreSQL server through the catalog: provisioned and deprovisioned asynchronously', async () => {
  const namespace = 'shop-dedicated';
  const probe = probes.postgresql();
  await suite.api.create(namespaceResource, { metadata: { name: namespace } });
  await suite.api.create(serviceInstanceResource, {
    metadata: { name: 'private', namespace },
    spec: { clusterServiceClassExternalName: 'postgresql', clusterServicePlanExternalName: 'dedicated' },
  });
  await waitFor(serviceInstanceResource, namespace, 'private', 60_000);
  await suite.api.create(serviceBindingResource, {
    metadata: { name: 'private', namespace },
    spec: { instanceRef: { name: 'private' } },
  });
  await waitFor(serviceBindingResource, namespace, 'private');
  const uri = await secretValue(namespace, 'private', 'uri');
  const session = await probe.connect(uri);
  expect(await session.query('SELECT current_setting($$port$$) <> $$5432$$ AS own')).toEqual([{ own: true }]);
  await session.close();
  await suite.api.delete(serviceBindingResource, namespace, 'private');
  await waitGone(serviceBindingResource, namespace, 'private');
  await suite.api.delete(serviceInstanceResource, namespace, 'private');
  await waitGone(serviceInstanceResource, namespace, 'private');
  await expect(probe.connect(uri)).rejects.toThrow();
  await probe.close();
});
