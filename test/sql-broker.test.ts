import pg from 'pg';
import { IDS, instanceNames, bindingUsername } from '../brokers/sql';
import { eventually } from './harness';
import {
  bindingPath,
  instancePath,
  osb,
  POSTGRES_URL,
  probes,
  startTestBroker,
  uid,
  type EngineProbe,
  type Session,
  type TestBroker,
} from './harness/sql';

/**
 * The SQL broker's contract, against the real PostgreSQL and MariaDB: every endpoint of the shared
 * plans, what the spec says about repeated and conflicting requests, the errors a platform can
 * provoke, and what is really made and removed on the servers.
 */

let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
});

afterAll(async () => {
  await broker.destroy();
});

describe('the protocol', () => {
  test('the catalog: two offerings of three plans, draft-04 schemas with $schema, retrievable, updateable between shared plans', async () => {
    const { body } = await broker.client.getCatalog();
    const catalog = body;
    expect(catalog.services.map((s) => [s.name, s.id])).toEqual([
      ['postgresql', IDS.postgresql.serviceId],
      ['mariadb', IDS.mariadb.serviceId],
    ]);
    for (const s of catalog.services) {
      expect(s).toMatchObject({ bindable: true, instances_retrievable: true, bindings_retrievable: true });
      expect(s.plan_updateable).toBe(true);
      expect(s.plans.map((p) => [p.name, p.free, p.plan_updateable, p.maintenance_info?.version])).toEqual([
        ['shared-small', true, undefined, undefined],
        ['shared-large', false, undefined, undefined],
        ['dedicated', false, false, '1.0.0'],
      ]);
      for (const p of s.plans) {
        const schemas = [
          p.schemas?.service_instance?.create?.parameters,
          p.schemas?.service_instance?.update?.parameters,
          p.schemas?.service_binding?.create?.parameters,
        ];
        for (const schema of schemas) expect(schema?.$schema).toBe('http://json-schema.org/draft-04/schema#');
      }
    }
  });

  test('basic authentication: none or a wrong password is 401 with a challenge', async () => {
    const none = await osb(broker, 'GET', '/v2/catalog', { auth: false });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic /);
    const wrong = await osb({ ...broker, password: 'nope' }, 'GET', '/v2/catalog');
    expect(wrong.status).toBe(401);
  });

  test('X-Broker-API-Version: missing or not spoken is 412; 2.13 and later 2.x are served', async () => {
    for (const version of [null, '', '1.0', '2.12', '3.0', 'two']) {
      const r = await osb(broker, 'GET', '/v2/catalog', { version });
      expect([version, r.status]).toEqual([version, 412]);
      expect(r.body.description).toMatch(/X-Broker-API-Version/);
    }
    for (const version of ['2.13', '2.14', '2.17', '2.20']) {
      expect((await osb(broker, 'GET', '/v2/catalog', { version })).status).toBe(200);
    }
  });

  test('the request identity is echoed; the originating identity, when sent, must be well-formed', async () => {
    const echoed = await osb(broker, 'GET', '/v2/catalog', {
      headers: { 'x-broker-api-request-identity': 'r-42' },
    });
    expect(echoed.headers['x-broker-api-request-identity']).toBe('r-42');
    const identity = Buffer.from(JSON.stringify({ user_id: 'u-1' })).toString('base64');
    const good = await osb(broker, 'GET', '/v2/catalog', {
      headers: { 'x-broker-api-originating-identity': `cloudfoundry ${identity}` },
    });
    expect(good.status).toBe(200);
    for (const bad of [
      'kubernetes',
      'kubernetes not-base64!',
      `kubernetes ${Buffer.from('[1]').toString('base64')}`,
    ]) {
      const r = await osb(broker, 'GET', '/v2/catalog', {
        headers: { 'x-broker-api-originating-identity': bad },
      });
      expect([bad, r.status]).toEqual([bad, 400]);
    }
  });

  test('a body that is not JSON is 400; a path outside the API is 404; health and metrics need no credentials', async () => {
    const bad = await osb(broker, 'PUT', instancePath(uid('i')), { body: '{"service_id": ' });
    expect(bad).toMatchObject({ status: 400, body: { description: 'The body is not valid JSON.' } });
    const nowhere = await osb(broker, 'GET', '/v2/nowhere');
    expect(nowhere.status).toBe(404);
    for (const path of ['/healthz', '/readyz', '/livez']) {
      const r = await fetch(`${broker.url}${path}`);
      expect([path, r.status, await r.text()]).toEqual([path, 200, 'ok\n']);
    }
    const metrics = await (await fetch(`${broker.url}/metrics`)).text();
    expect(metrics).toMatch(/^catalog_sql_broker_requests_total\{endpoint="catalog",code="200"\} \d+/m);
  });

  test('a platform that sends no context, request identity or originating identity is served', async () => {
    const id = uid('plain');
    const r = await osb(broker, 'PUT', instancePath(id), {
      body: {
        service_id: IDS.postgresql.serviceId,
        plan_id: IDS.postgresql.plans['shared-small'],
        organization_guid: 'org',
        space_guid: 'space',
      },
    });
    expect(r.status).toBe(201);
    const del = await osb(
      broker,
      'DELETE',
      `${instancePath(id)}?service_id=${IDS.postgresql.serviceId}&plan_id=${IDS.postgresql.plans['shared-small']}`,
    );
    expect(del.status).toBe(200);
  });
});

describe.each(['postgresql', 'mariadb'] as const)('%s, shared plans', (engine) => {
  let probe: EngineProbe;
  const sessions: Session[] = [];

  beforeAll(() => {
    probe = probes[engine]();
  });
  afterAll(async () => {
    for (const s of sessions) await s.close();
    await probe.close();
  });

  const provisionBody = (extra: Record<string, unknown> = {}) => ({
    service_id: probe.serviceId,
    plan_id: probe.plans.small,
    organization_guid: 'org-1',
    space_guid: 'space-1',
    context: { platform: 'kubernetes', namespace: 'ns', clusterid: 'c', instance_name: 'db' },
    ...extra,
  });
  const bindBody = (extra: Record<string, unknown> = {}) => ({
    service_id: probe.serviceId,
    plan_id: probe.plans.small,
    ...extra,
  });
  const deleteQuery = (plan = probe.plans.small) => `?service_id=${probe.serviceId}&plan_id=${plan}`;

  async function provisioned(parameters: Record<string, unknown> = {}): Promise<string> {
    const id = uid(`${engine}-i`);
    const r = await osb(broker, 'PUT', instancePath(id), { body: provisionBody({ parameters }) });
    expect(r.status).toBe(201);
    return id;
  }

  async function bound(id: string, b: string, parameters: Record<string, unknown> = {}) {
    const r = await broker.client.bind(id, b, bindBody({ parameters }), { acceptsIncomplete: true });
    if (r.kind === 'async') throw new Error('bind answered 202');
    expect(r.status).toBe(201);
    return r.body.credentials as Record<string, string | number>;
  }

  async function connect(uri: string | number): Promise<Session> {
    const s = await probe.connect(String(uri));
    sessions.push(s);
    return s;
  }

  test('provision makes the database and its owner; the same request again is 200, a different one 409', async () => {
    const id = uid(`${engine}-i`);
    const body = provisionBody({ parameters: probe.createParameters });
    const first = await broker.client.provision(id, body as never, { acceptsIncomplete: true });
    expect(first.status).toBe(201);
    const { database, owner } = instanceNames(id);
    expect(await probe.databaseExists(database)).toBe(true);
    expect(await probe.loginExists(owner)).toBe(true);

    const again = await broker.client.provision(id, body as never, { acceptsIncomplete: false });
    expect(again.status).toBe(200);
    // an unset maintenance_info as generated Go clients send it: asks for nothing
    const emptyInfo = await osb(broker, 'PUT', instancePath(id), { body: { ...body, maintenance_info: {} } });
    expect(emptyInfo.status).toBe(200);
    for (const other of [
      { ...body, parameters: {} },
      { ...body, plan_id: probe.plans.large },
    ]) {
      const r = await osb(broker, 'PUT', instancePath(id), { body: other });
      expect(r.status).toBe(409);
      expect(r.body.description).toMatch(/exists/);
    }
    const fetched = await broker.client.getInstance(id);
    expect(fetched.body).toEqual({
      service_id: probe.serviceId,
      plan_id: probe.plans.small,
      parameters: probe.createParameters,
    });
    const op = await broker.client.pollInstanceLastOperation(id);
    expect(op).toMatchObject({ kind: 'state', state: 'succeeded' });
  });

  test('what is missing, unknown or against the schema is 400 naming it; nothing is made', async () => {
    const id = uid(`${engine}-bad`);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ service_id: undefined }, /service_id is required/],
      [{ plan_id: '' }, /plan_id must not be empty/],
      [
        { organization_guid: undefined, space_guid: undefined },
        /organization_guid is required; space_guid is required/,
      ],
      [{ service_id: 'no-such-service' }, /service_id no-such-service is not a service offering/],
      [
        {
          plan_id:
            IDS.postgresql.plans['shared-small'] === probe.plans.small
              ? IDS.mariadb.plans['shared-small']
              : IDS.postgresql.plans['shared-small'],
        },
        /is not a plan of service offering/,
      ],
      [{ parameters: { connectionLimit: 11 } }, /parameters\.connectionLimit must be <= 10/],
      [{ parameters: { connectionLimit: 'many' } }, /parameters\.connectionLimit must be integer/],
      [{ parameters: { size: 'xl' } }, /parameters\.size is not allowed by the schema/],
      [{ parameters: [] }, /parameters must be an object/],
      [{ context: 'kubernetes' }, /context must be an object/],
    ];
    if (engine === 'postgresql')
      cases.push([{ parameters: { extensions: ['postgis'] } }, /parameters\.extensions\[0\] must be one of/]);
    else {
      cases.push([
        { parameters: { charset: 'latin1', collation: 'utf8mb4_bin' } },
        /parameters\.collation: "utf8mb4_bin" is a collation of utf8mb4, not of latin1/,
      ]);
      cases.push([
        { parameters: { collation: 'klingon_ci' } },
        /parameters\.collation: "klingon_ci" is not a collation of the server/,
      ]);
    }
    for (const [change, expected] of cases) {
      const r = await osb(broker, 'PUT', instancePath(id), { body: provisionBody(change) });
      expect([change, r.status, r.body.description]).toEqual([change, 400, expect.stringMatching(expected)]);
    }
    const notAnObject = await osb(broker, 'PUT', instancePath(id), { body: '[1]' });
    expect(notAnObject).toMatchObject({ status: 400, body: { description: 'the body must be an object.' } });
    const badQuery = await osb(broker, 'PUT', `${instancePath(id)}?accepts_incomplete=yes`, {
      body: provisionBody(),
    });
    expect(badQuery).toMatchObject({
      status: 400,
      body: { description: 'accepts_incomplete must be true or false.' },
    });
    expect(await probe.databaseExists(instanceNames(id).database)).toBe(false);
    expect((await osb(broker, 'GET', instancePath(id))).status).toBe(404);
  });

  test('bind makes a login with exactly the grants asked: read-write, or read-only that cannot write', async () => {
    const id = await provisioned();
    const rw = await bound(id, 'rw');
    expect(Object.keys(rw).sort()).toEqual(
      ['database', 'host', 'jdbcUrl', 'password', 'port', 'provider', 'type', 'uri', 'username'].sort(),
    );
    expect(rw).toMatchObject({
      database: instanceNames(id).database,
      username: bindingUsername(id, 'rw'),
      type: engine,
      provider: 'catalog-sql-broker',
    });
    expect(rw.jdbcUrl).toMatch(new RegExp(`^jdbc:${engine}://`));
    const writer = await connect(rw.uri);
    await writer.query('CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(40))');
    await writer.query("INSERT INTO notes VALUES (1, 'written')");

    const ro = await bound(id, 'ro', { readOnly: true });
    const reader = await connect(ro.uri);
    expect(await reader.query('SELECT body FROM notes')).toEqual([{ body: 'written' }]);
    await expect(reader.query("INSERT INTO notes VALUES (2, 'not allowed')")).rejects.toThrow();
    await expect(reader.query('CREATE TABLE mine (x INT)')).rejects.toThrow();
    if (engine === 'postgresql') {
      // the read-only default is a courtesy; the privileges are what keep it from writing
      await reader.query('SET default_transaction_read_only = off');
      await expect(reader.query("INSERT INTO notes VALUES (2, 'not allowed')")).rejects.toThrow(
        /permission denied/,
      );
      await expect(reader.query('DROP TABLE notes')).rejects.toThrow();
    }
    // a table the writer makes after the read-only login was bound is readable too
    await writer.query('CREATE TABLE later (x INT)');
    await writer.query('INSERT INTO later VALUES (7)');
    expect(await reader.query('SELECT x FROM later')).toEqual([{ x: 7 }]);
    expect(await writer.query('SELECT body FROM notes')).toEqual([{ body: 'written' }]);
  });

  test('a login reaches its own database only', async () => {
    const a = await provisioned();
    const b = await provisioned();
    const credsA = await bound(a, 'only');
    const { database: other } = instanceNames(b);
    const uri = String(credsA.uri).replace(String(credsA.database), other);
    await expect(probe.connect(uri)).rejects.toThrow();
  });

  test('bind again with the same parameters is 200 with the same credentials; other parameters 409; fetch returns them', async () => {
    const id = await provisioned();
    const creds = await bound(id, 'b');
    const again = await broker.client.bind(id, 'b', bindBody(), { acceptsIncomplete: false });
    expect(again).toMatchObject({ status: 200, body: { credentials: creds } });
    const other = await osb(broker, 'PUT', bindingPath(id, 'b'), {
      body: bindBody({ parameters: { readOnly: true } }),
    });
    expect(other.status).toBe(409);
    const fetched = await broker.client.getBinding(id, 'b');
    expect(fetched.body).toMatchObject({ credentials: creds, parameters: {} });
    const op = await broker.client.pollBindingLastOperation(id, 'b');
    expect(op).toMatchObject({ kind: 'state', state: 'succeeded' });
  });

  test('bind errors: unknown instance 404, another plan 400, schema 400, rotation 400', async () => {
    const id = await provisioned();
    expect((await osb(broker, 'PUT', bindingPath(uid('none'), 'b'), { body: bindBody() })).status).toBe(404);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ plan_id: probe.plans.large }, /are not the Service Instance's/],
      [{ plan_id: undefined }, /plan_id is required/],
      [{ parameters: { readOnly: 'yes' } }, /parameters\.readOnly must be boolean/],
      [{ parameters: { role: 'admin' } }, /parameters\.role is not allowed by the schema/],
      [{ predecessor_binding_id: 'b0' }, /not binding_rotatable/],
    ];
    for (const [change, expected] of cases) {
      const r = await osb(broker, 'PUT', bindingPath(id, 'b'), { body: bindBody(change) });
      expect([change, r.status, r.body.description]).toEqual([change, 400, expect.stringMatching(expected)]);
    }
    expect(await probe.loginExists(bindingUsername(id, 'b'))).toBe(false);
    expect((await osb(broker, 'GET', bindingPath(id, 'b'))).status).toBe(404);
  });

  test('unbind drops the login and ends its sessions; again is 410', async () => {
    const id = await provisioned();
    const creds = await bound(id, 'gone');
    const session = await connect(creds.uri);
    await session.query('SELECT 1');
    const username = String(creds.username);
    expect(await probe.sessions(username)).toBe(1);

    expect(
      (await osb(broker, 'DELETE', `${bindingPath(id, 'gone')}?service_id=${probe.serviceId}`)).status,
    ).toBe(400);
    const r = await broker.client.unbind(id, 'gone', {
      serviceId: probe.serviceId,
      planId: probe.plans.small,
      acceptsIncomplete: false,
    });
    expect(r.status).toBe(200);
    expect(await probe.loginExists(username)).toBe(false);
    expect(await probe.sessions(username)).toBe(0);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await expect(probe.connect(String(creds.uri))).rejects.toThrow();
    const again = await osb(broker, 'DELETE', `${bindingPath(id, 'gone')}${deleteQuery()}`);
    expect(again).toMatchObject({ status: 410, body: {} });
    expect((await osb(broker, 'GET', bindingPath(id, 'gone'))).status).toBe(404);
  });

  test('update: shared-small to shared-large with a higher connection limit; never to dedicated', async () => {
    const id = await provisioned();
    const creds = await bound(id, 'u');
    const { database } = instanceNames(id);
    const username = String(creds.username);
    expect(await probe.connectionLimit(database, username)).toBe(5);
    const tooMany = await osb(broker, 'PATCH', instancePath(id), {
      body: { service_id: probe.serviceId, parameters: { connectionLimit: 50 } },
    });
    expect(tooMany).toMatchObject({
      status: 400,
      body: { description: expect.stringMatching(/connectionLimit must be <= 10/) },
    });
    const up = await broker.client.update(
      id,
      { service_id: probe.serviceId, plan_id: probe.plans.large, parameters: { connectionLimit: 50 } },
      { acceptsIncomplete: true },
    );
    expect(up.status).toBe(200);
    expect(await probe.connectionLimit(database, username)).toBe(50);
    expect((await broker.client.getInstance(id)).body).toMatchObject({
      plan_id: probe.plans.large,
      parameters: { connectionLimit: 50 },
    });
    // back to small: 50 is more than it allows
    const down = await osb(broker, 'PATCH', instancePath(id), {
      body: { service_id: probe.serviceId, plan_id: probe.plans.small },
    });
    expect(down).toMatchObject({ status: 422, body: { update_repeatable: false } });
    const dedicated = await osb(broker, 'PATCH', instancePath(id), {
      body: { service_id: probe.serviceId, plan_id: probe.plans.dedicated },
    });
    expect(dedicated).toMatchObject({ status: 422, body: { update_repeatable: false } });
    const maintenance = await osb(broker, 'PATCH', instancePath(id), {
      body: { service_id: probe.serviceId, maintenance_info: { version: '1.0.0' } },
    });
    expect(maintenance).toMatchObject({ status: 422, body: { error: 'MaintenanceInfoConflict' } });
    const unknown = await osb(broker, 'PATCH', instancePath(uid('none')), {
      body: { service_id: probe.serviceId },
    });
    expect(unknown.status).toBe(404);
    // unbinding names the instance's plan now
    const unbound = await osb(broker, 'DELETE', `${bindingPath(id, 'u')}${deleteQuery(probe.plans.large)}`);
    expect(unbound.status).toBe(200);
  });

  test('deprovision drops the database, its owner and any logins left, ending their sessions; again is 410', async () => {
    const id = await provisioned();
    const creds = await bound(id, 'left');
    const session = await connect(creds.uri);
    await session.query('SELECT 1');
    const { database, owner } = instanceNames(id);

    const wrongPlan = await osb(broker, 'DELETE', `${instancePath(id)}${deleteQuery(probe.plans.large)}`);
    expect(wrongPlan.status).toBe(400);
    const noIds = await osb(broker, 'DELETE', instancePath(id));
    expect(noIds.body.description).toMatch(/service_id is required; plan_id is required/);
    const r = await broker.client.deprovision(id, {
      serviceId: probe.serviceId,
      planId: probe.plans.small,
      acceptsIncomplete: true,
    });
    expect(r.status).toBe(200);
    expect(await probe.databaseExists(database)).toBe(false);
    expect(await probe.loginExists(owner)).toBe(false);
    expect(await probe.loginExists(String(creds.username))).toBe(false);
    await expect(session.query('SELECT 1')).rejects.toThrow();

    expect((await osb(broker, 'DELETE', `${instancePath(id)}${deleteQuery()}`)).status).toBe(410);
    expect((await osb(broker, 'DELETE', `${instancePath(uid('never'))}${deleteQuery()}`)).status).toBe(410);
    expect((await osb(broker, 'GET', instancePath(id))).status).toBe(404);
    expect((await osb(broker, 'GET', `${instancePath(id)}/last_operation`)).status).toBe(404);
    expect(
      (await osb(broker, 'GET', `${instancePath(id)}/last_operation?operation=deprovision`)).status,
    ).toBe(410);
  });

  test('a restarted broker knows its instances and bindings', async () => {
    const id = await provisioned(
      engine === 'postgresql' ? { extensions: ['citext'] } : { charset: 'latin1' },
    );
    const creds = await bound(id, 'kept', { readOnly: true });
    await broker.restart();
    expect((await broker.client.getInstance(id)).body).toMatchObject({ plan_id: probe.plans.small });
    expect((await broker.client.getBinding(id, 'kept')).body.credentials).toEqual(creds);
    const again = await broker.client.bind(id, 'kept', bindBody({ parameters: { readOnly: true } }), {
      acceptsIncomplete: true,
    });
    expect(again.status).toBe(200);
    const session = await connect(creds.uri);
    expect(await session.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    const r = await broker.client.deprovision(id, {
      serviceId: probe.serviceId,
      planId: probe.plans.small,
      acceptsIncomplete: true,
    });
    expect(r.status).toBe(200);
    expect(await probe.loginExists(String(creds.username))).toBe(false);
  });
});

test('concurrent operations on one instance are 422 ConcurrencyError while one runs', async () => {
  const probe = probes.postgresql();
  const id = uid('busy');
  const serviceId = IDS.postgresql.serviceId;
  const planId = IDS.postgresql.plans['shared-small'];
  await broker.client.provision(
    id,
    { service_id: serviceId, plan_id: planId, organization_guid: 'o', space_guid: 's' } as never,
    { acceptsIncomplete: false },
  );
  // an administrator's transaction holds the database's row: the broker's update waits on it
  const holder = new pg.Client({ connectionString: POSTGRES_URL });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('SELECT 1 FROM pg_database WHERE datname = $1 FOR UPDATE', [instanceNames(id).database]);
  const update = broker.client.update(
    id,
    { service_id: serviceId, parameters: { connectionLimit: 8 } },
    { acceptsIncomplete: false },
  );
  try {
    await eventually(async () => {
      const { rowCount } = await holder.query(
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER DATABASE %' AND position($1 in query) > 0",
        [instanceNames(id).database],
      );
      return rowCount === 1;
    });
    const patch = await osb(broker, 'PATCH', instancePath(id), {
      body: { service_id: serviceId, parameters: { connectionLimit: 9 } },
    });
    expect(patch).toMatchObject({ status: 422, body: { error: 'ConcurrencyError' } });
    for (const [method, path, body] of [
      ['PUT', bindingPath(id, 'b'), { service_id: serviceId, plan_id: planId }],
      ['DELETE', `${instancePath(id)}?service_id=${serviceId}&plan_id=${planId}`, undefined],
      ['GET', instancePath(id), undefined],
    ] as const) {
      const r = await osb(broker, method, path, { body });
      expect([method, r.status, r.body.error]).toEqual([method, 422, 'ConcurrencyError']);
    }
  } finally {
    await holder.query('COMMIT');
    await holder.end();
  }
  expect((await update).status).toBe(200);
  expect(await probe.connectionLimit(instanceNames(id).database, '')).toBe(8);
  await broker.client.deprovision(id, { serviceId, planId, acceptsIncomplete: false });
  await probe.close();
});
