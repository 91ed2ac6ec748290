import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { instanceNames } from '../brokers/sql';
import { eventually } from './harness';
import {
  instancePath,
  osb,
  probes,
  startTestBroker,
  uid,
  type EngineProbe,
  type Session,
  type TestBroker,
} from './harness/sql';

/**
 * The dedicated plan: a server process of the instance's own, provisioned and deprovisioned
 * asynchronously, stopped and started again with the broker. One broker and one instance per
 * engine go through the tests in order: servers are slow to make.
 */

let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
});

afterAll(async () => {
  await broker.destroy();
});

const async = '?accepts_incomplete=true';

describe.each(['postgresql', 'mariadb'] as const)('%s, dedicated plan', (engine) => {
  let probe: EngineProbe;
  const sessions: Session[] = [];
  const id = uid(`${engine}-dedicated`);
  let uri = '';

  beforeAll(() => {
    probe = probes[engine]();
  });
  afterAll(async () => {
    for (const s of sessions) await s.close();
    await probe.close();
  });

  const body = (extra: Record<string, unknown> = {}) => ({
    service_id: probe.serviceId,
    plan_id: probe.plans.dedicated,
    organization_guid: 'org',
    space_guid: 'space',
    ...extra,
  });
  const deleteQuery = () => `service_id=${probe.serviceId}&plan_id=${probe.plans.dedicated}`;
  const serverDir = (instanceId: string) =>
    join(broker.dataDir, `${engine}-${instanceNames(instanceId).key}`);

  async function connect(u: string): Promise<Session> {
    const s = await probe.connect(u);
    sessions.push(s);
    return s;
  }

  /** Polls last_operation until the operation ends; returns its final state. */
  async function settled(instanceId: string, operation: string): Promise<Record<string, unknown>> {
    return eventually(async () => {
      const r = await osb(broker, 'GET', `${instancePath(instanceId)}/last_operation?operation=${operation}`);
      return r.status === 200 && r.body.state !== 'in progress' && r.body;
    }, 60_000);
  }

  test('provision: 422 without accepts_incomplete, else 202 and polled to success; the instance is busy meanwhile', async () => {
    const refused = await osb(broker, 'PUT', instancePath(id), { body: body() });
    expect(refused).toMatchObject({ status: 422, body: { error: 'AsyncRequired' } });
    const stale = await osb(broker, 'PUT', `${instancePath(id)}${async}`, {
      body: body({ maintenance_info: { version: '0.9.0' } }),
    });
    expect(stale).toMatchObject({ status: 422, body: { error: 'MaintenanceInfoConflict' } });

    const accepted = await osb(broker, 'PUT', `${instancePath(id)}${async}`, {
      body: body({ maintenance_info: { version: '1.0.0' } }),
    });
    expect(accepted).toMatchObject({ status: 202, body: { operation: 'provision' } });
    expect(accepted.headers['retry-after']).toBe('2');
    const again = await osb(broker, 'PUT', `${instancePath(id)}${async}`, { body: body() });
    expect(again).toMatchObject({ status: 202, body: { operation: 'provision' } });
    const other = await osb(broker, 'PUT', `${instancePath(id)}${async}`, {
      body: body({ parameters: { connectionLimit: 20 } }),
    });
    expect(other.status).toBe(409);
    const busy = [
      await osb(broker, 'PATCH', `${instancePath(id)}${async}`, {
        body: { service_id: probe.serviceId, parameters: { connectionLimit: 20 } },
      }),
      await osb(broker, 'PUT', `${instancePath(id)}/service_bindings/b${async}`, {
        body: { service_id: probe.serviceId, plan_id: probe.plans.dedicated },
      }),
      await osb(broker, 'DELETE', `${instancePath(id)}${async}&${deleteQuery()}`),
    ];
    expect(busy.map((r) => [r.status, r.body.error])).toEqual([
      [422, 'ConcurrencyError'],
      [422, 'ConcurrencyError'],
      [422, 'ConcurrencyError'],
    ]);
    expect((await osb(broker, 'GET', instancePath(id))).status).toBe(404);

    expect(await settled(id, 'provision')).toEqual({ state: 'succeeded' });
    const fetched = await broker.client.getInstance(id);
    expect(fetched.body).toMatchObject({
      plan_id: probe.plans.dedicated,
      maintenance_info: { version: '1.0.0' },
    });
  });

  test('bind: a login on the private server, not the shared one', async () => {
    const r = await broker.client.bind(
      id,
      'rw',
      { service_id: probe.serviceId, plan_id: probe.plans.dedicated },
      { acceptsIncomplete: true },
    );
    if (r.kind === 'async') throw new Error('bind answered 202');
    const creds = r.body.credentials as Record<string, string | number>;
    expect(creds.host).toBe('127.0.0.1');
    expect(creds.port).not.toBe(engine === 'postgresql' ? 5432 : 3306);
    uri = String(creds.uri);
    const s = await connect(uri);
    await s.query('CREATE TABLE kept (x INT)');
    await s.query('INSERT INTO kept VALUES (42)');
    expect(await probe.databaseExists(instanceNames(id).database)).toBe(false);
    const toShared = await osb(broker, 'PATCH', instancePath(id), {
      body: { service_id: probe.serviceId, plan_id: probe.plans.small },
    });
    expect(toShared).toMatchObject({ status: 422, body: { update_repeatable: false } });
  });

  test('the broker stops its servers when it stops and starts them again after its restart', async () => {
    await broker.stop();
    await expect(probe.connect(uri)).rejects.toThrow();
    await broker.restart();
    const s = await eventually(() => connect(uri), 30_000);
    expect(await s.query('SELECT x FROM kept')).toEqual([{ x: 42 }]);
  });

  test('a restart in the middle of provisioning: the broker finishes it after the restart', async () => {
    const other = uid(`${engine}-interrupted`);
    const r = await osb(broker, 'PUT', `${instancePath(other)}${async}`, { body: body() });
    expect(r.status).toBe(202);
    await broker.restart();
    expect(await settled(other, 'provision')).toEqual({ state: 'succeeded' });
    const bound = await broker.client.bind(
      other,
      'b',
      { service_id: probe.serviceId, plan_id: probe.plans.dedicated },
      { acceptsIncomplete: true },
    );
    if (bound.kind === 'async') throw new Error('bind answered 202');
    const s = await connect(String(bound.body.credentials!.uri));
    expect(await s.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  test('deprovision: asynchronous; the server stops and its data is removed; then 410', async () => {
    const dir = serverDir(id);
    expect(existsSync(dir)).toBe(true);
    const refused = await osb(broker, 'DELETE', `${instancePath(id)}?${deleteQuery()}`);
    expect(refused).toMatchObject({ status: 422, body: { error: 'AsyncRequired' } });
    const accepted = await osb(broker, 'DELETE', `${instancePath(id)}${async}&${deleteQuery()}`);
    expect(accepted).toMatchObject({ status: 202, body: { operation: 'deprovision' } });
    expect(await settled(id, 'deprovision')).toEqual({ state: 'succeeded' });
    expect(existsSync(dir)).toBe(false);
    await expect(probe.connect(uri)).rejects.toThrow();
    expect((await osb(broker, 'DELETE', `${instancePath(id)}${async}&${deleteQuery()}`)).status).toBe(410);
    expect((await osb(broker, 'GET', instancePath(id))).status).toBe(404);
  });
});
