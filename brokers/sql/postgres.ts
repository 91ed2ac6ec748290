import { existsSync } from 'node:fs';
import { appendFile, chown, readdir, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import type { Logger } from '../../pkg/logging';
import { freePort } from '../../pkg/net';
import { credentials } from './credentials';
import { newPassword } from './names';
import { SqlStateStore } from './state';
import { run, serverDirectory, serverUser } from './system';
import { DEDICATED_MAX_CONNECTIONS, type EngineName } from './catalog';
import type {
  DatabaseSpec,
  DedicatedServer,
  DedicatedServers,
  Login,
  ServerAddress,
  SqlServer,
  StateStore,
} from './types';

/** PostgreSQL: databases and logins on a server, the broker's state in a schema, dedicated servers. */

const id = pg.escapeIdentifier;
const literal = pg.escapeLiteral;

/** `url` with another database in its path. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Host and port of a postgres:// URL. */
export function postgresAddress(url: string): ServerAddress {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(u.port || 5432) };
}

const DIALECT = { scheme: 'postgresql', jdbc: 'postgresql', type: 'postgresql' };

export class PostgresServer implements SqlServer {
  readonly engine: EngineName = 'postgresql';
  readonly pool: pg.Pool;

  constructor(
    private readonly url: string,
    readonly address: ServerAddress,
    log: Logger,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: 4, idleTimeoutMillis: 10_000 });
    // an idle connection the server closed (restart, terminate) must not end the process
    this.pool.on('error', (err) => log.warn({ err, server: address }, 'idle PostgreSQL connection failed'));
  }

  /** Runs `fn` on a connection to `database` of its own, closed after. */
  private async inDatabase<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: withDatabase(this.url, database) });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  private async exists(catalog: 'pg_roles' | 'pg_database', name: string): Promise<boolean> {
    const column = catalog === 'pg_roles' ? 'rolname' : 'datname';
    const { rowCount } = await this.pool.query(`SELECT 1 FROM ${catalog} WHERE ${column} = $1`, [name]);
    return (rowCount ?? 0) > 0;
  }

  async parameterProblems(spec: DatabaseSpec): Promise<string[]> {
    if (!spec.extensions?.length) return [];
    const { rows } = await this.pool.query<{ name: string }>(
      'SELECT name FROM pg_available_extensions WHERE name = ANY($1)',
      [spec.extensions],
    );
    const available = new Set(rows.map((r) => r.name));
    return spec.extensions
      .filter((e) => !available.has(e))
      .map((e) => `parameters.extensions: "${e}" is not installed on the server`);
  }

  async createDatabase(spec: DatabaseSpec): Promise<void> {
    if (!(await this.exists('pg_roles', spec.owner)))
      await this.pool.query(`CREATE ROLE ${id(spec.owner)} NOLOGIN`);
    if (!(await this.exists('pg_database', spec.database))) {
      // template0: a clean database, and no failure when someone is connected to template1
      await this.pool.query(
        `CREATE DATABASE ${id(spec.database)} OWNER ${id(spec.owner)} TEMPLATE template0 CONNECTION LIMIT ${spec.connectionLimit}`,
      );
    }
    // only the owner's members and the logins granted CONNECT may connect
    await this.pool.query(`REVOKE ALL ON DATABASE ${id(spec.database)} FROM PUBLIC`);
    if (spec.extensions?.length) {
      await this.inDatabase(spec.database, async (c) => {
        for (const e of spec.extensions!) await c.query(`CREATE EXTENSION IF NOT EXISTS ${id(e)}`);
      });
    }
  }

  async setConnectionLimit(spec: DatabaseSpec): Promise<void> {
    await this.pool.query(`ALTER DATABASE ${id(spec.database)} CONNECTION LIMIT ${spec.connectionLimit}`);
  }

  async dropDatabase(spec: DatabaseSpec, logins: string[]): Promise<void> {
    // FORCE ends the sessions still connected
    await this.pool.query(`DROP DATABASE IF EXISTS ${id(spec.database)} WITH (FORCE)`);
    for (const username of logins) await this.dropRole(username);
    await this.pool.query(`DROP ROLE IF EXISTS ${id(spec.owner)}`);
  }

  async createLogin(spec: DatabaseSpec, login: Login): Promise<void> {
    const u = id(login.username);
    const password = literal(login.password);
    if (await this.exists('pg_roles', login.username))
      await this.pool.query(`ALTER ROLE ${u} LOGIN PASSWORD ${password}`);
    else await this.pool.query(`CREATE ROLE ${u} LOGIN PASSWORD ${password}`);
    if (!login.readOnly) {
      // a member of the owner, acting as it: what it creates belongs to the owner, so that other
      // logins (read-only ones included) see it and it outlives this login
      await this.pool.query(`GRANT ${id(spec.owner)} TO ${u}`);
      await this.pool.query(`ALTER ROLE ${u} IN DATABASE ${id(spec.database)} SET role TO ${id(spec.owner)}`);
      return;
    }
    await this.pool.query(`GRANT CONNECT ON DATABASE ${id(spec.database)} TO ${u}`);
    // the privileges keep it from writing; this makes the first attempt say why
    await this.pool.query(`ALTER ROLE ${u} SET default_transaction_read_only = on`);
    await this.inDatabase(spec.database, async (c) => {
      const { rows } = await c.query<{ nspname: string }>(
        `SELECT nspname FROM pg_namespace WHERE nspname = 'public' OR nspowner = (SELECT oid FROM pg_roles WHERE rolname = $1)`,
        [spec.owner],
      );
      for (const { nspname } of rows) {
        await c.query(`GRANT USAGE ON SCHEMA ${id(nspname)} TO ${u}`);
        await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${id(nspname)} TO ${u}`);
        await c.query(`GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${id(nspname)} TO ${u}`);
      }
      // and what the owner creates later
      const owner = id(spec.owner);
      await c.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} GRANT USAGE ON SCHEMAS TO ${u}`);
      await c.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} GRANT SELECT ON TABLES TO ${u}`);
      await c.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} GRANT SELECT ON SEQUENCES TO ${u}`);
    });
  }

  async dropLogin(spec: DatabaseSpec, username: string): Promise<void> {
    if (!(await this.exists('pg_roles', username))) return;
    await this.pool.query(`ALTER ROLE ${id(username)} NOLOGIN`);
    await this.terminate(username);
    if (await this.exists('pg_database', spec.database)) {
      // what it still owns goes to the owner; its grants and default privileges go away
      await this.inDatabase(spec.database, async (c) => {
        await c.query(`REASSIGN OWNED BY ${id(username)} TO ${id(spec.owner)}`);
        await c.query(`DROP OWNED BY ${id(username)}`);
      });
    }
    await this.pool.query(`DROP ROLE IF EXISTS ${id(username)}`);
  }

  /** Drops a login whose database is gone: no new sessions, the open ones ended, then the role. */
  private async dropRole(username: string): Promise<void> {
    if (!(await this.exists('pg_roles', username))) return;
    await this.pool.query(`ALTER ROLE ${id(username)} NOLOGIN`);
    await this.terminate(username);
    await this.pool.query(`DROP ROLE IF EXISTS ${id(username)}`);
  }

  private async terminate(username: string): Promise<void> {
    await this.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [
      username,
    ]);
  }

  credentials(spec: DatabaseSpec, login: Login): Record<string, string | number> {
    return credentials(DIALECT, this.address, spec, login);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The broker's records in a schema of their own, on the database of the shared server's URL. */
export async function openPostgresState(server: PostgresServer, schema: string): Promise<StateStore> {
  const s = id(schema);
  const { pool } = server;
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
  // binding passwords are in here: no one but the broker's own user
  await pool.query(`REVOKE ALL ON SCHEMA ${s} FROM PUBLIC`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${s}.instances (k text PRIMARY KEY, doc jsonb NOT NULL)`);
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${s}.bindings (k text PRIMARY KEY, instance_k text NOT NULL, doc jsonb NOT NULL)`,
  );
  return new SqlStateStore({
    async query(sql, values = []) {
      let n = 0;
      return (
        await pool.query<{ doc: unknown }>(
          sql.replace(/\?/g, () => `$${++n}`),
          values,
        )
      ).rows;
    },
    instances: `${s}.instances`,
    bindings: `${s}.bindings`,
    upsert: (table, columns) =>
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT (k) DO UPDATE SET doc = EXCLUDED.doc`,
    encode: (doc) => doc,
    decode: (stored) => stored,
  });
}

/** initdb, pg_ctl: on PATH, or in Debian's /usr/lib/postgresql/<version>/bin (the newest). */
export async function postgresBinDir(given?: string): Promise<string> {
  if (given) return given;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  const newest = versions
    .filter((v) => /^\d+$/.test(v) && existsSync(join('/usr/lib/postgresql', v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('initdb and pg_ctl are not installed (package postgresql)');
  return join('/usr/lib/postgresql', newest, 'bin');
}

/** PostgreSQL servers of their own: initdb, then pg_ctl, as the postgres system user. */
export class PostgresDedicated implements DedicatedServers {
  constructor(
    private readonly binDir: () => Promise<string>,
    private readonly log: Logger,
  ) {}

  private async pgCtl(server: DedicatedServer, args: string[], signal?: AbortSignal): Promise<string> {
    return run(join(await this.binDir(), 'pg_ctl'), ['-D', join(server.dir, 'data'), ...args], {
      user: await serverUser('postgres'),
      cwd: server.dir,
      signal,
    });
  }

  async create(dir: string, signal: AbortSignal): Promise<DedicatedServer> {
    const user = await serverUser('postgres');
    // what an interrupted attempt left, a server started included
    await this.stop({ dir, port: 0, adminPassword: '' });
    await rm(dir, { recursive: true, force: true });
    await serverDirectory(dir, user);
    const server: DedicatedServer = { dir, port: 0, adminPassword: newPassword() };
    const pwfile = join(dir, 'admin-password');
    await writeFile(pwfile, server.adminPassword, { mode: 0o600 });
    if (user) await chown(pwfile, user.uid, user.gid);
    await run(
      join(await this.binDir(), 'initdb'),
      [
        `--pgdata=${join(dir, 'data')}`,
        '--username=postgres',
        `--pwfile=${pwfile}`,
        '--auth-host=scram-sha-256',
        '--auth-local=peer',
        '--encoding=UTF8',
        '--no-locale',
      ],
      { user, cwd: dir, signal },
    );
    await rm(pwfile);
    // the settings start() writes, kept apart from the ones initdb wrote
    await appendFile(join(dir, 'data', 'postgresql.conf'), "\ninclude 'catalog-broker.conf'\n");
    // a port another process took between freePort and the bind: try another
    for (let attempt = 1; ; attempt++) {
      server.port = await freePort();
      try {
        await this.start(server, signal);
        return server;
      } catch (e) {
        if (attempt >= 3 || signal.aborted) throw e;
        this.log.warn({ err: e, port: server.port }, 'dedicated PostgreSQL did not start; another port');
      }
    }
  }

  async start(server: DedicatedServer, signal?: AbortSignal): Promise<void> {
    if (await this.running(server)) return;
    const user = await serverUser('postgres');
    const conf = join(server.dir, 'data', 'catalog-broker.conf');
    await writeFile(
      conf,
      [
        `port = ${server.port}`,
        "listen_addresses = '127.0.0.1'",
        // no socket: its path could exceed the 107 bytes a socket path may have
        "unix_socket_directories = ''",
        `max_connections = ${DEDICATED_MAX_CONNECTIONS}`,
        'shared_buffers = 32MB',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    if (user) await chown(conf, user.uid, user.gid);
    await this.pgCtl(
      server,
      ['start', '--wait', '--timeout=60', `--log=${join(server.dir, 'server.log')}`],
      signal,
    );
  }

  async running(server: DedicatedServer): Promise<boolean> {
    if (!existsSync(join(server.dir, 'data', 'PG_VERSION'))) return false;
    return this.pgCtl(server, ['status']).then(
      () => true,
      () => false,
    );
  }

  async stop(server: DedicatedServer): Promise<void> {
    if (await this.running(server))
      await this.pgCtl(server, ['stop', '--wait', '--timeout=60', '--mode=fast']);
  }

  async destroy(server: DedicatedServer): Promise<void> {
    await this.stop(server);
    await rm(server.dir, { recursive: true, force: true });
  }

  admin(server: DedicatedServer): SqlServer {
    const url = `postgres://postgres:${encodeURIComponent(server.adminPassword)}@127.0.0.1:${server.port}/postgres`;
    return new PostgresServer(url, { host: '127.0.0.1', port: server.port }, this.log);
  }
}
