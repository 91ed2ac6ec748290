import type { DatabaseSpec, Login, ServerAddress } from './types';

/** How an engine's clients name a server: the URI scheme, the JDBC subprotocol, the servicebinding.io type. */
export interface Dialect {
  scheme: string;
  jdbc: string;
  type: string;
}

const hostInURL = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** What a binding hands to applications: a URI, a JDBC URL and their parts. */
export function credentials(
  d: Dialect,
  { host, port }: ServerAddress,
  spec: DatabaseSpec,
  login: Login,
): Record<string, string | number> {
  const user = encodeURIComponent(login.username);
  const password = encodeURIComponent(login.password);
  const database = encodeURIComponent(spec.database);
  return {
    uri: `${d.scheme}://${user}:${password}@${hostInURL(host)}:${port}/${database}`,
    jdbcUrl: `jdbc:${d.jdbc}://${hostInURL(host)}:${port}/${database}?user=${user}&password=${password}`,
    host,
    port,
    database: spec.database,
    username: login.username,
    password: login.password,
    type: d.type,
    provider: 'catalog-sql-broker',
  };
}
