#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { version } from '../../package.json';
import { runProcess } from '../../pkg/cmd';
import { FlagError, parseFlags, type FlagSpec } from '../../pkg/flags';
import { createLogger } from '../../pkg/logging';
import { createRegistry } from '../../pkg/metrics';
import { startSqlBroker, type SqlBrokerOptions } from '.';

const flagSpecs: Record<string, FlagSpec> = {
  'bind-address': { type: 'string', default: '0.0.0.0', description: 'Address to serve the broker API on.' },
  port: {
    type: 'number',
    default: 8091,
    description: 'Port to serve the broker API on (0 picks a free port).',
  },
  username: {
    type: 'string',
    description: 'User name platforms authenticate with (HTTP basic); or $SQL_BROKER_USERNAME. Required.',
  },
  password: {
    type: 'string',
    description: 'Password platforms authenticate with; or $SQL_BROKER_PASSWORD (kept out of ps). Required.',
  },
  'postgres-url': {
    type: 'string',
    description:
      'Administrator URL of the shared PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres; or $POSTGRES_URL. Without it (and $POSTGRES_URL), no postgresql offering.',
  },
  'mariadb-url': {
    type: 'string',
    description:
      'Administrator URL of the shared MariaDB server, e.g. mysql://root@127.0.0.1:3306; or $MARIADB_URL. Without it (and $MARIADB_URL), no mariadb offering.',
  },
  'state-name': {
    type: 'string',
    default: 'catalog_sql_broker',
    description:
      "Schema (PostgreSQL) and database (MariaDB) on the shared servers holding the broker's own records.",
  },
  'data-dir': {
    type: 'string',
    default: '/var/lib/catalog-sql-broker',
    description:
      'Where dedicated servers keep their data (the server users postgres and mysql must reach it).',
  },
  'postgres-bin-dir': {
    type: 'string',
    description: 'Where initdb and pg_ctl are (default: on PATH, else the newest /usr/lib/postgresql/*/bin).',
  },
  'tls-cert-file': { type: 'string', description: 'Serve HTTPS with this certificate (PEM); HTTP without.' },
  'tls-private-key-file': { type: 'string', description: 'Private key of --tls-cert-file.' },
};

type Options = Omit<SqlBrokerOptions, 'log' | 'metrics'>;

function parse(argv: string[]): Options | undefined {
  const f = parseFlags(argv, flagSpecs);
  if (f.help) return undefined;
  const given = (flag: string, env: string) =>
    (f[flag] as string | undefined) ?? (process.env[env] || undefined);
  const username = given('username', 'SQL_BROKER_USERNAME');
  const password = given('password', 'SQL_BROKER_PASSWORD');
  if (!username || !password) {
    throw new FlagError(
      '--username and --password (or $SQL_BROKER_USERNAME and $SQL_BROKER_PASSWORD) are required',
    );
  }
  const postgresUrl = given('postgres-url', 'POSTGRES_URL');
  const mariadbUrl = given('mariadb-url', 'MARIADB_URL');
  if (!postgresUrl && !mariadbUrl) {
    throw new FlagError('--postgres-url or --mariadb-url (or $POSTGRES_URL, $MARIADB_URL) is required');
  }
  for (const url of [postgresUrl, mariadbUrl]) {
    if (url && !URL.canParse(url)) throw new FlagError(`"${url}" is not a URL`);
  }
  const cert = f['tls-cert-file'] as string | undefined;
  const key = f['tls-private-key-file'] as string | undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw new FlagError('--tls-cert-file and --tls-private-key-file go together');
  }
  return {
    host: f['bind-address'] as string,
    port: f.port as number,
    username,
    password,
    postgresUrl,
    mariadbUrl,
    stateName: f['state-name'] as string,
    dataDir: resolve(f['data-dir'] as string),
    postgresBinDir: f['postgres-bin-dir'] as string | undefined,
    tls: cert && key ? { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') } : undefined,
  };
}

runProcess({
  name: 'catalog-sql-broker',
  version,
  summary:
    'An Open Service Broker (API 2.17) for PostgreSQL and MariaDB databases: on a shared server (plans\n' +
    'shared-small, shared-large) or on a server process of their own (plan dedicated). Its records live on\n' +
    'the shared servers, so it may restart at any time.',
  flags: flagSpecs,
  parse,
  async run(opts) {
    const log = createLogger('catalog-sql-broker');
    const running = await startSqlBroker({ ...opts, log, metrics: createRegistry() });
    log.info({ url: running.url }, 'serving');
    return { log, stop: () => running.stop() };
  },
});
