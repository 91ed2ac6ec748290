import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { request, type Dispatcher } from 'undici';
import { IDS, type EngineName } from '../../brokers/sql';
import { startSqlBroker, type RunningSqlBroker } from '../../brokers/sql';
import { createLogger } from '../../pkg/logging';
import { createRegistry } from '../../pkg/metrics';
import { OSBClient } from '../../pkg/osb';
import { eventually } from '.';

/**
 * What the SQL broker's tests share: the real PostgreSQL and MariaDB servers (hack/install-databases.sh
 * makes them answer on loopback; POSTGRES_URL and MARIADB_URL name others), brokers in this
 * process with a state schema of their own (dropped at the end), raw OSB requests, and probes that
 * look at the servers the way an administrator would.
 */

export const POSTGRES_URL = process.env.POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const MARIADB_URL = process.env.MARIADB_URL || 'mysql://root@127.0.0.1:3306';

/** A unique id for an instance or binding of one test: never a leftover's. */
export const uid = (what: string) => `${what}-${randomUUID()}`;

export interface TestBroker {
  url: string;
  /** Where its dedicated servers keep their data. */
  dataDir: string;
  username: string;
  password: string;
  running: RunningSqlBroker;
  /** A platform's client (it checks every answer against the spec's schemas). */
  client: OSBClient;
  /** Stops the broker and starts another on the same state, as after a restart. */
  restart(): Promise<void>;
  /** Stops it without forgetting its state (restart starts it again). */
  stop(): Promise<void>;
  /** Stops it, drops its state and removes its data directory. */
  destroy(): Promise<void>;
}

/** A broker with both engines, its state in schema/database `stateName`, dedicated servers in a temporary directory. */
export async function startTestBroker(
  stateName = `sqltest_${randomBytes(6).toString('hex')}`,
): Promise<TestBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sql-broker-'));
  // the postgres and mysql users run the dedicated servers below it
  chmodSync(dataDir, 0o711);
  const username = 'platform';
  const password = randomBytes(12).toString('hex');
  const start = (port = 0) =>
    startSqlBroker({
      postgresUrl: POSTGRES_URL,
      mariadbUrl: MARIADB_URL,
      stateName,
      dataDir,
      username,
      password,
      host: '127.0.0.1',
      port,
      log: createLogger('test-sql-broker', 'silent'),
      metrics: createRegistry(),
    });
  let running: RunningSqlBroker | undefined = await start();
  const url = running.url;
  const port = running.port;
  const client = new OSBClient({
    name: 'sql',
    url,
    auth: { basic: { username, password } },
    timeoutMs: 60_000,
  });
  const t: TestBroker = {
    url,
    dataDir,
    username,
    password,
    get running() {
      return running!;
    },
    client,
    async restart() {
      await running?.stop();
      running = await start(port);
    },
    async stop() {
      await running?.stop();
      running = undefined;
    },
    async destroy() {
      running ??= await start(port);
      await deprovisionAll(t, stateName);
      await running.stop();
      running = undefined;
      await client.close();
      await dropState(stateName);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

interface Records {
  instances: Array<{ id: string; serviceId: string; planId: string; state: string }>;
  bindings: Array<{ id: string; instanceId: string }>;
}

/** What the broker's state holds, read as an administrator. */
async function records(stateName: string): Promise<Records> {
  const c = new pg.Client({ connectionString: POSTGRES_URL });
  await c.connect();
  const s = pg.escapeIdentifier(stateName);
  const pgInstances = (await c.query(`SELECT doc FROM ${s}.instances`)).rows.map((r) => r.doc);
  const pgBindings = (await c.query(`SELECT doc FROM ${s}.bindings`)).rows.map((r) => r.doc);
  await c.end();
  const m = await mysql.createConnection(MARIADB_URL);
  const docs = async (table: string) =>
    (
      (await m.query(`SELECT doc FROM ${mysql.escapeId(stateName)}.${table}`))[0] as Array<{ doc: string }>
    ).map((r) => JSON.parse(r.doc));
  const out = {
    instances: [...pgInstances, ...(await docs('instances'))],
    bindings: [...pgBindings, ...(await docs('bindings'))],
  };
  await m.end();
  return out;
}

/**
 * Unbinds and deprovisions, through the broker, everything its state holds: what the tests made
 * leaves nothing on the servers (and the broker's own deletes are the way to check that).
 */
async function deprovisionAll(b: TestBroker, stateName: string): Promise<void> {
  const { instances, bindings } = await records(stateName);
  const live = instances.filter((r) => r.state !== 'deprovisioned');
  for (const bnd of bindings) {
    const r = live.find((i) => i.id === bnd.instanceId)!;
    const q = `?service_id=${r.serviceId}&plan_id=${r.planId}`;
    await osb(b, 'DELETE', `${bindingPath(r.id, bnd.id)}${q}`);
  }
  await Promise.all(
    live.map(async (r) => {
      const path = instancePath(r.id);
      const q = `?service_id=${r.serviceId}&plan_id=${r.planId}&accepts_incomplete=true`;
      await eventually(async () => {
        const { status } = await osb(b, 'DELETE', `${path}${q}`);
        if (status === 200 || status === 410) return true;
        if (status !== 202) return false;
        const poll = await osb(b, 'GET', `${path}/last_operation?operation=deprovision`);
        return poll.body.state === 'succeeded';
      }, 60_000);
    }),
  );
}

async function dropState(name: string): Promise<void> {
  const c = new pg.Client({ connectionString: POSTGRES_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(name)} CASCADE`);
  await c.end();
  const m = await mysql.createConnection(MARIADB_URL);
  await m.query('DROP DATABASE IF EXISTS ??', [name]);
  await m.end();
}

/** The API paths of an instance and of a binding. */
export const instancePath = (id: string) => `/v2/service_instances/${encodeURIComponent(id)}`;
export const bindingPath = (id: string, b: string) =>
  `${instancePath(id)}/service_bindings/${encodeURIComponent(b)}`;

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

/** A request as any platform (or a careless one) might send it; nothing is checked. */
export async function osb<T = Record<string, unknown>>(
  b: { url: string; username: string; password: string },
  method: Dispatcher.HttpMethod,
  path: string,
  o: {
    body?: unknown;
    headers?: Record<string, string | undefined>;
    auth?: boolean;
    version?: string | null;
  } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.auth !== false)
    headers.authorization = `Basic ${Buffer.from(`${b.username}:${b.password}`).toString('base64')}`;
  if (o.version !== null) headers['x-broker-api-version'] = o.version ?? '2.17';
  for (const [k, v] of Object.entries(o.headers ?? {})) {
    if (v === undefined) delete headers[k];
    else headers[k] = v;
  }
  const res = await request(`${b.url}${path}`, {
    method,
    headers,
    body: o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

/** An application's session, opened with a binding's `uri`. */
export interface Session {
  query(sql: string): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/** One engine as the tests drive and inspect it. */
export interface EngineProbe {
  engine: EngineName;
  serviceId: string;
  plans: { small: string; large: string; dedicated: string };
  /** Parameters of a provision that exercise the engine's own options. */
  createParameters: Record<string, unknown>;
  databaseExists(name: string): Promise<boolean>;
  loginExists(name: string): Promise<boolean>;
  /** Sessions open as this login. */
  sessions(username: string): Promise<number>;
  /** The database's connection limit (PostgreSQL) or the login's (MariaDB). */
  connectionLimit(database: string, username: string): Promise<number>;
  connect(uri: string): Promise<Session>;
  close(): Promise<void>;
}

export function postgresProbe(): EngineProbe {
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
  const one = async (sql: string, values: unknown[]) => (await admin.query(sql, values)).rows[0];
  return {
    engine: 'postgresql',
    serviceId: IDS.postgresql.serviceId,
    plans: {
      small: IDS.postgresql.plans['shared-small'],
      large: IDS.postgresql.plans['shared-large'],
      dedicated: IDS.postgresql.plans.dedicated,
    },
    createParameters: { extensions: ['citext', 'pgcrypto'] },
    databaseExists: async (name) => !!(await one('SELECT 1 FROM pg_database WHERE datname = $1', [name])),
    loginExists: async (name) => !!(await one('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])),
    sessions: async (username) =>
      Number((await one('SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1', [username])).n),
    connectionLimit: async (database) =>
      Number((await one('SELECT datconnlimit AS n FROM pg_database WHERE datname = $1', [database])).n),
    async connect(uri) {
      const c = new pg.Client({ connectionString: uri });
      // a session the server ends reports it here as well as to the query under way
      c.on('error', () => undefined);
      await c.connect();
      return {
        query: async (sql) => (await c.query(sql)).rows,
        close: () => c.end().catch(() => undefined),
      };
    },
    close: () => admin.end(),
  };
}

export function mariadbProbe(): EngineProbe {
  const admin = mysql.createPool({ uri: MARIADB_URL, connectionLimit: 2 });
  const rows = async (sql: string, values: unknown[]) =>
    (await admin.query(sql, values))[0] as Array<Record<string, unknown>>;
  return {
    engine: 'mariadb',
    serviceId: IDS.mariadb.serviceId,
    plans: {
      small: IDS.mariadb.plans['shared-small'],
      large: IDS.mariadb.plans['shared-large'],
      dedicated: IDS.mariadb.plans.dedicated,
    },
    createParameters: { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' },
    databaseExists: async (name) =>
      (await rows('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name])).length > 0,
    loginExists: async (name) => (await rows('SELECT 1 FROM mysql.user WHERE User = ?', [name])).length > 0,
    sessions: async (username) =>
      (await rows('SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?', [username])).length,
    connectionLimit: async (_database, username) =>
      Number(
        (await rows('SELECT max_user_connections AS n FROM mysql.user WHERE User = ?', [username]))[0].n,
      ),
    async connect(uri) {
      const c = await mysql.createConnection(uri);
      c.on('error', () => undefined);
      return {
        query: async (sql) => (await c.query(sql))[0] as Array<Record<string, unknown>>,
        close: () => c.end().catch(() => undefined),
      };
    },
    close: () => admin.end(),
  };
}

export const probes: Record<EngineName, () => EngineProbe> = {
  postgresql: postgresProbe,
  mariadb: mariadbProbe,
};
