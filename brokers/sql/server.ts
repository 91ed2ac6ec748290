import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { isObject } from '../../pkg/json';
import type { Logger } from '../../pkg/logging';
import { BrokerError, type Answer, type SqlBroker } from './broker';

/**
 * The broker over HTTP: basic authentication and the API version on every /v2 request, bodies
 * parsed as JSON whatever their Content-Type, the request identity echoed, errors as OSB error
 * bodies; health and metrics beside, without authentication, for probes and scrapers.
 */

/** API versions spoken: 2.13 (context, originating identity) to any later 2.x (minors only add). */
const MIN_MINOR = 13;

export interface BrokerServerOptions {
  broker: SqlBroker;
  username: string;
  password: string;
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  log: Logger;
  metrics: Registry;
}

export interface BrokerServer {
  /** Base URL, e.g. http://127.0.0.1:41234. */
  url: string;
  port: number;
  /** Stops accepting requests and waits for those under way. */
  close(): Promise<void>;
}

type Params = { instance_id: string; binding_id?: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The OSB endpoint a route serves, for metrics and logs. */
    endpoint?: string;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Undefined when the version is spoken; otherwise why not. */
function versionProblem(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return 'The X-Broker-API-Version header is missing';
  const m = /^(\d+)\.(\d+)$/.exec(value.trim());
  if (!m) return `X-Broker-API-Version ${value} is not MAJOR.MINOR`;
  if (Number(m[1]) !== 2 || Number(m[2]) < MIN_MINOR)
    return `X-Broker-API-Version ${value} is not spoken here`;
  return undefined;
}

/** The originating identity, when sent, is `<platform> <base64 of a JSON object>`; undefined when well-formed. */
function identityProblem(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(' ') : header;
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(value.trim());
  if (m) {
    try {
      const decoded: unknown = JSON.parse(Buffer.from(m[2], 'base64').toString('utf8'));
      if (isObject(decoded)) return undefined;
    } catch {
      // described below
    }
  }
  return 'X-Broker-API-Originating-Identity must be "<platform> <base64-encoded JSON object>"';
}

export async function serveBroker(o: BrokerServerOptions): Promise<BrokerServer> {
  const { broker, log } = o;
  const expected = digest(`Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}`);
  const requests = new Counter({
    name: 'catalog_sql_broker_requests_total',
    help: 'OSB requests by endpoint and status code.',
    labelNames: ['endpoint', 'code'],
    registers: [o.metrics],
  });
  const duration = new Histogram({
    name: 'catalog_sql_broker_request_duration_seconds',
    help: 'OSB request latency by endpoint.',
    labelNames: ['endpoint'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [o.metrics],
  });
  new Gauge({
    name: 'catalog_sql_broker_instances',
    help: 'Service instances the broker keeps, by engine, plan and state.',
    labelNames: ['engine', 'plan', 'state'],
    registers: [o.metrics],
    collect() {
      this.reset();
      for (const c of broker.counts())
        this.set({ engine: c.engine, plan: c.plan, state: c.state }, c.instances);
    },
  });
  new Gauge({
    name: 'catalog_sql_broker_bindings',
    help: 'Service bindings the broker keeps, by engine and plan.',
    labelNames: ['engine', 'plan'],
    registers: [o.metrics],
    collect() {
      this.reset();
      for (const c of broker.counts()) this.inc({ engine: c.engine, plan: c.plan }, c.bindings);
    },
  });

  const app = Fastify({
    https: o.tls ?? null,
    logger: false,
    forceCloseConnections: 'idle',
    exposeHeadRoutes: false,
    bodyLimit: 1024 * 1024,
  });
  // JSON whatever the Content-Type says (the spec lets brokers try); a body that is not JSON is a 400
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new BrokerError(400, { description: 'The body is not valid JSON.' }), undefined);
    }
  });

  const refuse = (
    reply: FastifyReply,
    status: number,
    description: string,
    headers: Record<string, string> = {},
  ) => reply.code(status).headers(headers).send({ description });

  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/v2/')) return;
    const given = req.headers.authorization;
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      return refuse(reply, 401, 'Unauthorized: this broker needs HTTP basic authentication.', {
        'www-authenticate': 'Basic realm="catalog-sql-broker"',
      });
    }
    const version = versionProblem(req.headers['x-broker-api-version']);
    if (version)
      return refuse(reply, 412, `${version}; this broker speaks 2.${MIN_MINOR} and later 2.x versions.`);
    const identity = identityProblem(req.headers['x-broker-api-originating-identity']);
    if (identity) return refuse(reply, 400, `${identity}.`);
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const requestId = req.headers['x-broker-api-request-identity'];
    if (typeof requestId === 'string' && requestId !== '')
      reply.header('x-broker-api-request-identity', requestId);
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const endpoint = req.routeOptions.config?.endpoint;
    if (!endpoint) return;
    requests.inc({ endpoint, code: String(reply.statusCode) });
    duration.observe({ endpoint }, reply.elapsedTime / 1000);
    log.info(
      {
        endpoint,
        instance: (req.params as Params).instance_id,
        binding: (req.params as Params).binding_id,
        status: reply.statusCode,
        requestId: req.headers['x-broker-api-request-identity'],
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof BrokerError) return reply.code(err.status).send(err.body);
    // fastify's own: a body too large, a malformed URL
    if (err.statusCode && err.statusCode < 500)
      return reply.code(err.statusCode).send({ description: err.message });
    log.error({ err }, 'request failed');
    return reply.code(500).send({ description: `The broker failed: ${err.message}` });
  });
  app.setNotFoundHandler((req, reply) =>
    refuse(reply, 404, `There is no ${req.method} ${req.url.split('?')[0]} in the Open Service Broker API.`),
  );

  const route = (
    method: 'GET' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    endpoint: string,
    handle: (req: FastifyRequest, p: Params) => Promise<Answer>,
  ) =>
    app.route({
      method,
      url,
      config: { endpoint },
      handler: async (req, reply) => {
        const p = req.params as Params;
        if (p.instance_id === '' || p.binding_id === '') {
          throw new BrokerError(400, { description: 'instance_id and binding_id must not be empty.' });
        }
        const answer = await handle(req, p);
        return reply
          .code(answer.status)
          .headers(answer.headers ?? {})
          .send(answer.body);
      },
    });

  const instance = '/v2/service_instances/:instance_id';
  const binding = `${instance}/service_bindings/:binding_id`;
  route('GET', '/v2/catalog', 'catalog', async () => ({ status: 200, body: broker.catalog }));
  route('PUT', instance, 'provision', (req, p) => broker.provision(p.instance_id, req.body, req.query));
  route('PATCH', instance, 'update', (req, p) => broker.update(p.instance_id, req.body, req.query));
  route('DELETE', instance, 'deprovision', (req, p) => broker.deprovision(p.instance_id, req.query));
  route('GET', instance, 'getInstance', (req, p) => broker.getInstance(p.instance_id, req.query));
  route('GET', `${instance}/last_operation`, 'lastOperation', (req, p) =>
    broker.lastOperation(p.instance_id, req.query),
  );
  route('PUT', binding, 'bind', (req, p) => broker.bind(p.instance_id, p.binding_id!, req.body, req.query));
  route('DELETE', binding, 'unbind', (req, p) => broker.unbind(p.instance_id, p.binding_id!, req.query));
  route('GET', binding, 'getBinding', (req, p) => broker.getBinding(p.instance_id, p.binding_id!, req.query));
  route('GET', `${binding}/last_operation`, 'bindingLastOperation', (req, p) =>
    broker.bindingLastOperation(p.instance_id, p.binding_id!, req.query),
  );

  const health = async (_req: FastifyRequest, reply: FastifyReply) => {
    const problems = await broker.problems();
    return reply
      .code(problems.length ? 503 : 200)
      .type('text/plain')
      .send(problems.length ? `${problems.join('\n')}\n` : 'ok\n');
  };
  app.get('/healthz', health);
  app.get('/readyz', health);
  app.get('/livez', async (_req, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/metrics', async (_req, reply) =>
    reply.type(o.metrics.contentType).send(await o.metrics.metrics()),
  );

  await app.listen({ host: o.host, port: o.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const host = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  return {
    url: `${o.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () => app.close(),
  };
}
