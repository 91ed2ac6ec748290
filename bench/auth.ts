import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { servicecatalogResources } from '../api-types';
import { buildAuth } from '../apiserver/auth/config';
import { generateServingCert } from '../pkg/tls/certs';
import { servicecatalogStrategies } from '../apiserver/strategy';
import { startServer, type CatalogAPIServer, type ServerConfig } from '../apiserver/server';
import { createLogger } from '../pkg/logging';
import { createRegistry } from '../pkg/metrics';
import { Storage } from '../pkg/storage';
import { Api, base, instance, instanceName, type Latency } from './api';
import { log, ms, percentile, timeEach, type Row } from './lib';

const token = 'bench-auth-token';
const rounds = 6;

/** A policy of some size, the rule that allows the bench last, so every rule before it is evaluated. */
function policy(): string {
  const rules = Array.from({ length: 20 }, (_, i) => ({
    users: [`user-${i}`],
    verbs: ['get', 'list'],
    resources: ['serviceinstances'],
    namespaces: [`team-${i}`],
  }));
  rules.push({
    users: ['bench-user'],
    verbs: ['get', 'list', 'create'],
    resources: ['serviceinstances'],
    namespaces: ['bench'],
  });
  return JSON.stringify(rules);
}

/**
 * The cost of authentication and authorization on a GET: the same server code twice in this process,
 * on its own etcd prefix, once without any and once with a bearer token from --token-auth-file and
 * an --authorization-policy-file, each measured in alternating rounds so drift hits both alike.
 */
export async function authOverhead(etcdEndpoint: string, dir: string, runs: number): Promise<Row[]> {
  const tokens = join(dir, 'bench-tokens.csv');
  const policyFile = join(dir, 'bench-policy.json');
  writeFileSync(
    tokens,
    [
      ...Array.from({ length: 100 }, (_, i) => `token-${i},user-${i},uid-${i},"team-${i}"`),
      `${token},bench-user,bench-uid,"benchers"`,
    ].join('\n'),
  );
  writeFileSync(policyFile, policy());
  const logger = createLogger('bench-auth', 'silent');
  const storage = new Storage([etcdEndpoint], '/bench-auth');
  const tls = generateServingCert(['127.0.0.1']);
  const config = (): ServerConfig => ({
    storage,
    resources: servicecatalogResources,
    strategies: servicecatalogStrategies,
    admissionPlugins: [],
    watchCache: true,
    maxRequestBodyBytes: 3 * 1024 * 1024,
    tls,
    bindAddress: '127.0.0.1',
    port: 0,
    logger,
    metrics: createRegistry(),
    version: '0.1.0',
  });
  const auth = await buildAuth(
    {
      requestHeader: {
        allowedNames: [],
        usernameHeaders: [],
        uidHeaders: [],
        groupHeaders: [],
        extraHeaderPrefixes: [],
      },
      tokenAuthFile: tokens,
      anonymous: false,
      skipLookup: true,
      tolerateLookupFailure: false,
      tokenCacheTTLMs: 10_000,
      authorizedTTLMs: 10_000,
      unauthorizedTTLMs: 10_000,
      policyFile,
      alwaysAllowPaths: ['/healthz', '/livez', '/readyz'],
    },
    logger,
  );
  const servers: CatalogAPIServer[] = [];
  const clients: Api[] = [];
  try {
    servers.push(await startServer(config()));
    servers.push(await startServer({ ...config(), ...auth }));
    const [open, secured] = servers.map(
      (s, i) =>
        new Api(
          `https://127.0.0.1:${s.port}`,
          tls.ca,
          1,
          i === 1 ? { authorization: `Bearer ${token}` } : {},
        ),
    );
    clients.push(open, secured);
    await secured.call('POST', base, instance(0));
    const path = `${base}/${instanceName(0)}?resourceVersion=0`;
    const samples: [number[], number[]] = [[], []];
    const get = (api: Api) => () => api.call('GET', path).then(() => undefined);
    await timeEach(500, get(open));
    await timeEach(500, get(secured));
    for (let r = 0; r < rounds; r++) {
      samples[0].push(...(await timeEach(Math.ceil(runs / rounds), get(open))));
      samples[1].push(...(await timeEach(Math.ceil(runs / rounds), get(secured))));
    }
    const [a, b] = samples.map((s): Latency => ({
      p50: percentile(s, 50),
      p90: percentile(s, 90),
      p99: percentile(s, 99),
      n: s.length,
    }));
    const added = b.p50 - a.p50;
    log(`GET with token + policy: p50 ${ms(b.p50)} vs ${ms(a.p50)} without`);
    const figure = (l: Latency) => `p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}`;
    return [
      { scenario: `GET instance, watch cache, no authn/authz, in-process (n=${a.n})`, figure: figure(a) },
      {
        scenario: `GET instance, watch cache, token file + policy file, in-process (n=${b.n})`,
        figure: figure(b),
      },
      {
        scenario: 'authentication + authorization added to a GET',
        figure: `p50 +${ms(Math.max(0, added))}${added < 0 ? ` (measured ${added.toFixed(3)} ms: below noise)` : ''}`,
        target: 'p50 <= +0.2 ms',
        met: added <= 0.2,
      },
    ];
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.stop()));
    storage.close();
  }
}
