import { chown, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { Logger } from '../../pkg/logging';
import { freePort } from '../../pkg/net';
import { waitFor } from '../../pkg/wait';
import { DEDICATED_MAX_CONNECTIONS, type EngineName } from './catalog';
import { credentials } from './credentials';
import { newPassword } from './names';
import { SqlStateStore } from './state';
import { processRuns, run, runDetached, serverDirectory, serverUser } from './system';
import type {
  DatabaseSpec,
  DedicatedServer,
  DedicatedServers,
  Login,
  ServerAddress,
  SqlServer,
  StateStore,
} from './types';

/** MariaDB: databases and logins on a server, the broker's state in a database, dedicated servers. */

export interface MariaDBConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
}

/** The parts of a mysql:// (or mariadb://) URL. */
export function mariadbConnection(url: string): MariaDBConnection {
  const u = new URL(url);
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') throw new Error(`${url} is not a mysql:// URL`);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username) || 'root',
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
}

const DIALECT = { scheme: 'mysql', jdbc: 'mariadb', type: 'mariadb' };

/** Logins may connect from anywhere: applications run wherever the platform puts them. */
const ANY_HOST = '%';

export class MariaDBServer implements SqlServer {
  readonly engine: EngineName = 'mariadb';
  readonly pool: mysql.Pool;
  readonly address: ServerAddress;

  constructor(connection: MariaDBConnection, log: Logger) {
    this.address = { host: connection.host, port: connection.port };
    this.pool = mysql.createPool({
      ...connection,
      connectionLimit: 4,
      maxIdle: 1,
      idleTimeout: 10_000,
      // the server's own names for character sets, not mysql2's conversions
      charset: 'utf8mb4',
    });
    this.pool.on('connection', (c) =>
      c.on('error', (err) => log.warn({ err, server: this.address }, 'MariaDB connection failed')),
    );
  }

  private async query(sql: string, values: unknown[] = []): Promise<void> {
    await this.pool.query(sql, values);
  }

  private async rows<T>(sql: string, values: unknown[] = []): Promise<T[]> {
    const [rows] = await this.pool.query(sql, values);
    return rows as T[];
  }

  async parameterProblems(spec: DatabaseSpec): Promise<string[]> {
    if (spec.collation === undefined) return [];
    const found = await this.rows<{ CHARACTER_SET_NAME: string }>(
      'SELECT CHARACTER_SET_NAME FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY WHERE COLLATION_NAME = ?',
      [spec.collation],
    );
    if (!found.length) return [`parameters.collation: "${spec.collation}" is not a collation of the server`];
    if (spec.charset !== undefined && !found.some((r) => r.CHARACTER_SET_NAME === spec.charset)) {
      return [
        `parameters.collation: "${spec.collation}" is a collation of ${found[0].CHARACTER_SET_NAME}, not of ${spec.charset}`,
      ];
    }
    return [];
  }

  async createDatabase(spec: DatabaseSpec): Promise<void> {
    const charset = spec.charset ? ` CHARACTER SET ${mysql.escapeId(spec.charset)}` : '';
    const collation = spec.collation ? ` COLLATE ${mysql.escapeId(spec.collation)}` : '';
    await this.query(`CREATE DATABASE IF NOT EXISTS ??${charset}${collation}`, [spec.database]);
    await this.query('CREATE ROLE IF NOT EXISTS ??', [spec.owner]);
    await this.query(`GRANT ALL PRIVILEGES ON ${mysql.escapeId(spec.database)}.* TO ??`, [spec.owner]);
  }

  /** MariaDB limits connections per login, not per database: every login of the instance. */
  async setConnectionLimit(spec: DatabaseSpec, logins: string[]): Promise<void> {
    for (const username of logins) {
      await this.query('ALTER USER IF EXISTS ?@? WITH MAX_USER_CONNECTIONS ?', [
        username,
        ANY_HOST,
        spec.connectionLimit,
      ]);
    }
  }

  async dropDatabase(spec: DatabaseSpec, logins: string[]): Promise<void> {
    for (const username of logins) await this.dropLogin(spec, username);
    const sessions = await this.rows<{ ID: number }>(
      'SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ?',
      [spec.database],
    );
    await this.kill(sessions);
    await this.query('DROP DATABASE IF EXISTS ??', [spec.database]);
    await this.query('DROP ROLE IF EXISTS ??', [spec.owner]);
  }

  async createLogin(spec: DatabaseSpec, login: Login): Promise<void> {
    const user = [login.username, ANY_HOST];
    await this.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [...user, login.password]);
    // a retry after a crash sets what the first attempt may not have
    await this.query('ALTER USER ?@? IDENTIFIED BY ? WITH MAX_USER_CONNECTIONS ? ACCOUNT UNLOCK', [
      ...user,
      login.password,
      spec.connectionLimit,
    ]);
    if (login.readOnly) {
      await this.query(`GRANT SELECT, SHOW VIEW ON ${mysql.escapeId(spec.database)}.* TO ?@?`, user);
    } else {
      await this.query('GRANT ?? TO ?@?', [spec.owner, ...user]);
      await this.query('SET DEFAULT ROLE ?? FOR ?@?', [spec.owner, ...user]);
    }
  }

  async dropLogin(_spec: DatabaseSpec, username: string): Promise<void> {
    const exists = await this.rows('SELECT 1 FROM mysql.user WHERE User = ? AND Host = ?', [
      username,
      ANY_HOST,
    ]);
    if (!exists.length) return;
    // no new sessions while the open ones are ended
    await this.query('ALTER USER ?@? ACCOUNT LOCK', [username, ANY_HOST]);
    await this.kill(
      await this.rows<{ ID: number }>('SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?', [
        username,
      ]),
    );
    await this.query('DROP USER IF EXISTS ?@?', [username, ANY_HOST]);
  }

  private async kill(sessions: Array<{ ID: number }>): Promise<void> {
    for (const { ID } of sessions) {
      // it may have ended meanwhile
      await this.query('KILL CONNECTION ?', [ID]).catch(() => undefined);
    }
  }

  credentials(spec: DatabaseSpec, login: Login): Record<string, string | number> {
    return credentials(DIALECT, this.address, spec, login);
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The broker's records in a database of their own on the shared server. */
export async function openMariaDBState(server: MariaDBServer, database: string): Promise<StateStore> {
  const { pool } = server;
  const db = mysql.escapeId(database);
  await pool.query(`CREATE DATABASE IF NOT EXISTS ${db}`);
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${db}.instances (k CHAR(64) PRIMARY KEY, doc LONGTEXT NOT NULL)`,
  );
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${db}.bindings (k CHAR(64) PRIMARY KEY, instance_k CHAR(64) NOT NULL, doc LONGTEXT NOT NULL, INDEX (instance_k))`,
  );
  return new SqlStateStore({
    query: async (sql, values = []) => (await pool.query(sql, values))[0] as Array<{ doc: unknown }>,
    instances: `${db}.instances`,
    bindings: `${db}.bindings`,
    upsert: (table, columns) =>
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON DUPLICATE KEY UPDATE doc = VALUES(doc)`,
    encode: (doc) => JSON.stringify(doc),
    decode: (stored) => JSON.parse(stored as string) as unknown,
  });
}

const ADMIN_USER = 'catalog_broker';

/** MariaDB servers of their own: mariadb-install-db, then mariadbd, as the mysql system user. */
export class MariaDBDedicated implements DedicatedServers {
  /** The servers this process started, by directory: one still starting has not written its pid file. */
  private readonly started = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  async create(dir: string, signal: AbortSignal): Promise<DedicatedServer> {
    const user = await serverUser('mysql');
    // what an interrupted attempt left, a server started included
    await this.stop({ dir, port: 0, adminPassword: '' });
    await rm(dir, { recursive: true, force: true });
    await serverDirectory(dir, user);
    await run(
      'mariadb-install-db',
      ['--no-defaults', `--datadir=${join(dir, 'data')}`, '--skip-test-db', '--skip-name-resolve'],
      { user, cwd: dir, signal },
    );
    const server: DedicatedServer = { dir, port: 0, adminPassword: newPassword() };
    // read at every start: the broker's administrator, whatever happened to it
    const init = join(dir, 'init.sql');
    const admin = `'${ADMIN_USER}'@'127.0.0.1'`;
    await writeFile(
      init,
      [
        `CREATE USER IF NOT EXISTS ${admin} IDENTIFIED BY '${server.adminPassword}';`,
        `ALTER USER ${admin} IDENTIFIED BY '${server.adminPassword}';`,
        `GRANT ALL PRIVILEGES ON *.* TO ${admin} WITH GRANT OPTION;`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    if (user) await chown(init, user.uid, user.gid);
    // a port another process took between freePort and the bind: try another
    for (let attempt = 1; ; attempt++) {
      server.port = await freePort();
      try {
        await this.start(server, signal);
        return server;
      } catch (e) {
        if (attempt >= 3 || signal.aborted) throw e;
        this.log.warn({ err: e, port: server.port }, 'dedicated MariaDB did not start; another port');
      }
    }
  }

  private async pid(server: DedicatedServer): Promise<number | undefined> {
    const text = await readFile(join(server.dir, 'mariadbd.pid'), 'utf8').catch(() => '');
    for (const pid of [Number(text.trim()), this.started.get(server.dir)]) {
      if (pid && pid > 0 && (await processRuns(pid, 'mariadbd'))) return pid;
    }
    return undefined;
  }

  async start(server: DedicatedServer, signal?: AbortSignal): Promise<void> {
    if (await this.running(server)) return;
    const user = await serverUser('mysql');
    const log = join(server.dir, 'server.log');
    const pid = await runDetached(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${join(server.dir, 'data')}`,
        `--port=${server.port}`,
        '--bind-address=127.0.0.1',
        // relative to the data directory: short, whatever the path of the broker's directory
        '--socket=mariadbd.sock',
        `--pid-file=${join(server.dir, 'mariadbd.pid')}`,
        `--log-error=${log}`,
        `--init-file=${join(server.dir, 'init.sql')}`,
        `--max-connections=${DEDICATED_MAX_CONNECTIONS}`,
        '--skip-name-resolve',
        '--character-set-server=utf8mb4',
        '--innodb-buffer-pool-size=32M',
      ],
      { user, cwd: server.dir },
    );
    this.started.set(server.dir, pid);
    const admin = this.admin(server);
    try {
      await waitFor(
        'the dedicated MariaDB server',
        async () => {
          if (signal?.aborted) throw new Error('aborted');
          if (!(await processRuns(pid, 'mariadbd'))) throw new Error('exited');
          await admin.ping();
          return true;
        },
        60_000,
      ).catch(async (e) => {
        const tail = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
        throw new Error(`mariadbd did not start: ${(e as Error).message}${tail ? `: ${tail}` : ''}`);
      });
    } finally {
      await admin.close();
    }
  }

  async running(server: DedicatedServer): Promise<boolean> {
    return (await this.pid(server)) !== undefined;
  }

  async stop(server: DedicatedServer): Promise<void> {
    const pid = await this.pid(server);
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // it ended meanwhile
      return;
    }
    await waitFor('mariadbd to stop', async () => !(await processRuns(pid, 'mariadbd')), 60_000).catch(() => {
      process.kill(pid, 'SIGKILL');
    });
  }

  async destroy(server: DedicatedServer): Promise<void> {
    await this.stop(server);
    await rm(server.dir, { recursive: true, force: true });
  }

  admin(server: DedicatedServer): SqlServer {
    return new MariaDBServer(
      { host: '127.0.0.1', port: server.port, user: ADMIN_USER, password: server.adminPassword },
      this.log,
    );
  }
}
