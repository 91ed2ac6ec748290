import type { Registry } from 'prom-client';
import type { Logger } from '../../pkg/logging';
import { SqlBroker, type Engine } from './broker';
import { MariaDBDedicated, MariaDBServer, mariadbConnection, openMariaDBState } from './mariadb';
import {
  PostgresDedicated,
  PostgresServer,
  openPostgresState,
  postgresAddress,
  postgresBinDir,
} from './postgres';
import { serveBroker } from './server';

export { IDS, DEDICATED_MAINTENANCE, type EngineName, type PlanName } from './catalog';
export { instanceNames, bindingUsername } from './names';

export interface SqlBrokerOptions {
  /** Administrator URL of the shared PostgreSQL server (postgres://user:password@host:port/database). */
  postgresUrl?: string;
  /** Administrator URL of the shared MariaDB server (mysql://user:password@host:port). */
  mariadbUrl?: string;
  /** Schema (PostgreSQL) and database (MariaDB) holding the broker's own records. */
  stateName: string;
  /** Where dedicated servers keep their data. */
  dataDir: string;
  /** Where initdb and pg_ctl are; found on PATH or in /usr/lib/postgresql when absent. */
  postgresBinDir?: string;
  username: string;
  password: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  tls?: { cert: string; key: string };
  log: Logger;
  metrics: Registry;
}

export interface RunningSqlBroker {
  url: string;
  port: number;
  broker: SqlBroker;
  /** Stops serving, then the broker (its dedicated servers too). */
  stop(): Promise<void>;
}

/** A URL fit for a message: without its password. */
export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function connect(what: string, url: string, ping: () => Promise<void>): Promise<void> {
  try {
    await ping();
  } catch (e) {
    throw new Error(`cannot use the ${what} server ${redact(url)}: ${(e as Error).message}`);
  }
}

/** Connects to the servers, loads the state and serves the Open Service Broker API. */
export async function startSqlBroker(o: SqlBrokerOptions): Promise<RunningSqlBroker> {
  if (!o.postgresUrl && !o.mariadbUrl) throw new Error('give --postgres-url, --mariadb-url or both');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(o.stateName)) {
    throw new Error(`state name "${o.stateName}" must be a lower-case SQL identifier`);
  }
  const engines: Engine[] = [];
  // closed again when a later step fails
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    if (o.postgresUrl) {
      const shared = new PostgresServer(o.postgresUrl, postgresAddress(o.postgresUrl), o.log);
      opened.push(shared);
      await connect('PostgreSQL', o.postgresUrl, () => shared.ping());
      let binDir: Promise<string> | undefined;
      engines.push({
        name: 'postgresql',
        shared,
        store: await openPostgresState(shared, o.stateName),
        dedicated: new PostgresDedicated(() => (binDir ??= postgresBinDir(o.postgresBinDir)), o.log),
      });
    }
    if (o.mariadbUrl) {
      const shared = new MariaDBServer(mariadbConnection(o.mariadbUrl), o.log);
      opened.push(shared);
      await connect('MariaDB', o.mariadbUrl, () => shared.ping());
      engines.push({
        name: 'mariadb',
        shared,
        store: await openMariaDBState(shared, o.stateName),
        dedicated: new MariaDBDedicated(o.log),
      });
    }
  } catch (e) {
    await Promise.allSettled(opened.map((s) => s.close()));
    throw e;
  }
  const broker = await SqlBroker.start({ engines, dataDir: o.dataDir, log: o.log }).catch(
    async (e: unknown) => {
      await Promise.allSettled(opened.map((s) => s.close()));
      throw e;
    },
  );
  const http = await serveBroker({ ...o, broker }).catch(async (e: unknown) => {
    await broker.stop();
    throw e;
  });
  return {
    url: http.url,
    port: http.port,
    broker,
    async stop() {
      await http.close();
      await broker.stop();
    },
  };
}
