import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ResourceDefinition } from '../api-types/resource';
import type { Logger } from '../pkg/logging';
import { WatchCache, type Storage } from '../pkg/storage';
import { apiGroup, apiGroupList, apiResourceList, apiVersions } from './discovery';
import { buildOpenAPIv2, buildOpenAPIv3, openAPIv3Discovery, openAPIv3Path } from './openapi';
import type { TLSSocket } from 'node:tls';
import type { AuthorizationAttributes, Authenticator, Authorizer } from './auth/types';
import type { User } from './strategy/strategy';
import { servedNamespaces, type NamespaceSource } from './admission/namespace-source';
import {
  AdmissionChain,
  type AdmissionDependencies,
  type AdmissionPlugin,
  type AdmissionPluginFactory,
  type ObjectReader,
} from './admission/types';
import { genericStrategy, type Strategy } from './strategy/strategy';
import {
  badRequest,
  forbiddenRequest,
  pathNotFound,
  requestEntityTooLarge,
  StatusError,
  unsupportedMediaType,
} from '../pkg/apierrors';
import { anonymousUser, handleResource } from './rest/handlers';
import { Store } from './rest/store';
import { parseRequestInfo, type RequestInfo } from './rest/request-info';
import type { WatchTracker } from './rest/watch';

export interface ServerConfig {
  storage: Storage;
  resources: ResourceDefinition[];
  strategies?: Record<string, Strategy>;
  /** Who a request is from; every request is anonymous without one. */
  authenticator?: Authenticator;
  /** What a user may do; everything is allowed without one. */
  authorizer?: Authorizer;
  /** Paths served to anyone, authenticated or not (kube's --authorization-always-allow-paths). */
  alwaysAllowPaths?: string[];
  /**
   * PEM bundle of the CAs client certificates may chain to. When set, TLS asks for a client
   * certificate without requiring one; the authenticator decides what it is worth.
   */
  clientCAs?: string;
  /** Enabled admission plugins, in order; factories are given the server's authorizer, objects and namespaces. */
  admissionPlugins?: Array<AdmissionPlugin | AdmissionPluginFactory>;
  /**
   * The cluster's namespaces, for NamespaceLifecycle. A server that serves core/v1 namespaces itself
   * (standalone) reads its own instead.
   */
  namespaces?: NamespaceSource;
  watchCache: boolean;
  maxRequestBodyBytes: number;
  tls: { cert: string; key: string };
  bindAddress: string;
  port: number;
  logger: Logger;
  metrics: Registry;
  bookmarkIntervalMs?: number;
  defaultWatchTimeoutSeconds?: number;
  version: string;
}

export interface CatalogAPIServer {
  app: FastifyInstance;
  stores: Map<string, Store>;
  /** The port actually bound (useful with port 0). */
  port: number;
  stop(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    requestInfo?: RequestInfo;
    user?: User;
  }
}

const xKubernetesKeywords = [
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-group-version-kind',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
];

function sendStatus(reply: FastifyReply, err: StatusError) {
  return reply.code(err.code).type('application/json').send(JSON.stringify(err.toStatus()));
}

/** Builds the API server from its config; listening starts before it returns. */
export async function startServer(cfg: ServerConfig): Promise<CatalogAPIServer> {
  const log = cfg.logger;
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, keywords: xKubernetesKeywords });
  addFormats(ajv);

  const stores = new Map<string, Store>();
  const byResource = (resource: string) => [...stores.values()].find((r) => r.def.plural === resource);
  // admission plugins read other kinds the way clients do, at resourceVersion 0 (from the cache)
  const objects: ObjectReader = {
    async get(resource, namespace, name, opts) {
      try {
        return await byResource(resource)?.get(
          namespace,
          name,
          byResource(resource)?.cache && !opts?.fresh ? '0' : undefined,
        );
      } catch (e) {
        if (e instanceof StatusError && e.code === 404) return undefined;
        throw e;
      }
    },
    async list(resource, namespace, fieldSelector = '') {
      const store = byResource(resource);
      if (!store) return [];
      const list = await store.list(namespace, {
        labelSelector: '',
        fieldSelector,
        allowWatchBookmarks: false,
        resourceVersion: store.cache ? '0' : undefined,
      });
      return list.items;
    },
  };
  const servesNamespaces = cfg.resources.some((d) => d.group === '' && d.plural === 'namespaces');
  const deps: AdmissionDependencies = {
    authorizer: cfg.authorizer,
    objects,
    namespaces: servesNamespaces ? servedNamespaces(objects) : cfg.namespaces,
  };
  const plugins = (cfg.admissionPlugins ?? []).map((p) => (typeof p === 'function' ? p(deps) : p));
  const admission = new AdmissionChain(plugins, objects);
  const groups = new Map<string, string[]>();
  const byGroupVersion = new Map<string, ResourceDefinition[]>();
  for (const def of cfg.resources) {
    const storage = cfg.storage.resource(def);
    const cache = cfg.watchCache
      ? new WatchCache(storage, {
          indexers: def.selectableFields,
          onError: (e) => log.warn({ err: e.message, resource: def.plural }, 'watch cache re-listing'),
        })
      : undefined;
    const strategy = cfg.strategies?.[def.kind] ?? genericStrategy;
    stores.set(
      `${def.group}/${def.version}/${def.plural}`,
      new Store(def, strategy, storage, ajv.compile(def.schema), cache, admission),
    );
    const gv = def.group ? `${def.group}/${def.version}` : def.version;
    byGroupVersion.set(gv, [...(byGroupVersion.get(gv) ?? []), def]);
    if (def.group && !(groups.get(def.group) ?? []).includes(def.version)) {
      groups.set(def.group, [...(groups.get(def.group) ?? []), def.version]);
    }
  }

  const requests = new Counter({
    name: 'apiserver_request_total',
    help: 'API requests by verb, resource and HTTP code.',
    labelNames: ['verb', 'resource', 'code'],
    registers: [cfg.metrics],
  });
  const latency = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'API request latency by verb and resource (watches excluded).',
    labelNames: ['verb', 'resource'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [cfg.metrics],
  });
  const watches: WatchTracker = new Set();
  new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Open watch streams.',
    registers: [cfg.metrics],
    collect() {
      this.set(watches.size);
    },
  });

  const app = Fastify({
    https: {
      cert: cfg.tls.cert,
      key: cfg.tls.key,
      ...(cfg.clientCAs ? { ca: cfg.clientCAs, requestCert: true, rejectUnauthorized: false } : {}),
    },
    bodyLimit: cfg.maxRequestBodyBytes,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: FastifyError | StatusError, req, reply) => {
    if (err instanceof StatusError) return sendStatus(reply, err);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return sendStatus(reply, requestEntityTooLarge(cfg.maxRequestBodyBytes));
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return sendStatus(reply, unsupportedMediaType(String(req.headers['content-type'])));
    if (err.statusCode !== undefined && err.statusCode < 500)
      return sendStatus(reply, badRequest(err.message));
    log.error({ err, method: req.method, url: req.url }, 'internal error');
    return sendStatus(
      reply,
      new StatusError(500, 'InternalError', `Internal error occurred: ${err.message}`),
    );
  });
  app.setNotFoundHandler((_req, reply) => sendStatus(reply, pathNotFound()));

  app.addHook('onResponse', async (req, reply) => {
    const info = req.requestInfo;
    const verb = info?.verb ?? req.method;
    const resource = info ? (info.subresource ? `${info.resource}/${info.subresource}` : info.resource) : '';
    requests.inc({ verb, resource, code: reply.statusCode });
    if (verb !== 'watch') latency.observe({ verb, resource }, reply.elapsedTime / 1000);
  });

  // authentication and authorization run once per request, before any handler
  const alwaysAllow = new Set(cfg.alwaysAllowPaths ?? ['/healthz', '/livez', '/readyz']);
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0];
    const info = parseRequestInfo(req.method, path, req.query as Record<string, unknown>);
    req.requestInfo = info;
    if (alwaysAllow.has(path)) return;
    const user =
      (await cfg.authenticator?.authenticate({
        headers: req.headers,
        rawHeaders: req.raw.rawHeaders,
        socket: req.raw.socket as TLSSocket,
      })) ?? anonymousUser;
    req.user = user;
    if (!cfg.authorizer) return;
    const attrs: AuthorizationAttributes = info
      ? { ...info, user, resourceRequest: true, path }
      : { user, verb: req.method.toLowerCase(), resourceRequest: false, path };
    const decision = await cfg.authorizer.authorize(attrs);
    if (!decision.allowed) throw forbiddenRequest(attrs, decision.reason);
  });

  let shuttingDown = false;
  const json = (reply: FastifyReply, body: unknown) =>
    reply.type('application/json').send(JSON.stringify(body));

  // health: livez is the process, readyz adds etcd and the watch caches
  const ok = (reply: FastifyReply) => reply.type('text/plain').send('ok');
  app.get('/healthz', async (_req, reply) => ok(reply));
  app.get('/livez', async (_req, reply) => ok(reply));
  app.get('/readyz', async (_req, reply) => {
    const failures: string[] = [];
    if (shuttingDown) failures.push('shutdown');
    try {
      await cfg.storage.currentRevision();
    } catch {
      failures.push('etcd');
    }
    for (const store of stores.values()) {
      if (store.cache && !store.cache.synced) failures.push(`watch-cache:${store.def.plural}`);
    }
    if (failures.length === 0) return ok(reply);
    return reply
      .code(500)
      .type('text/plain')
      .send(`${failures.map((f) => `[-]${f} failed: reason withheld`).join('\n')}\nreadyz check failed\n`);
  });
  app.get('/metrics', async (_req, reply) =>
    reply.type(cfg.metrics.contentType).send(await cfg.metrics.metrics()),
  );

  const [major, minor] = cfg.version.split('.');
  app.get('/version', async (_req, reply) =>
    json(reply, {
      major,
      minor,
      gitVersion: `v${cfg.version}`,
      gitCommit: '',
      gitTreeState: 'clean',
      buildDate: '',
      goVersion: '',
      compiler: 'node',
      platform: `${process.platform}/${process.arch}`,
    }),
  );

  // discovery
  const coreVersions = byGroupVersion.has('v1') ? ['v1'] : [];
  app.get('/api', async (_req, reply) => json(reply, apiVersions(coreVersions)));
  if (byGroupVersion.has('v1'))
    app.get('/api/v1', async (_req, reply) => json(reply, apiResourceList('v1', byGroupVersion.get('v1')!)));
  app.get('/apis', async (_req, reply) => json(reply, apiGroupList(groups)));
  for (const [group, versions] of groups) {
    app.get(`/apis/${group}`, async (_req, reply) => json(reply, apiGroup(group, versions)));
    for (const v of versions) {
      const doc = apiResourceList(`${group}/${v}`, byGroupVersion.get(`${group}/${v}`)!);
      app.get(`/apis/${group}/${v}`, async (_req, reply) => json(reply, doc));
    }
  }

  // OpenAPI, generated once from the schemas that validate requests
  const v2 = JSON.stringify(buildOpenAPIv2(cfg.resources, cfg.version));
  app.get('/openapi/v2', async (_req, reply) => reply.type('application/json').send(v2));
  const v3docs = [...byGroupVersion].map(([gv, defs]) => {
    const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
    return {
      group,
      version,
      document: JSON.stringify(buildOpenAPIv3(defs, { group, version }, cfg.version)),
    };
  });
  const v3byPath = new Map(v3docs.map((d) => [openAPIv3Path(d), d.document]));
  const v3discovery = JSON.stringify(openAPIv3Discovery(v3docs));
  app.get('/openapi/v3', async (_req, reply) => reply.type('application/json').send(v3discovery));
  app.get('/openapi/v3/*', async (req, reply) => {
    const doc = v3byPath.get((req.params as { '*': string })['*']);
    if (!doc) throw pathNotFound();
    return reply.type('application/json').send(doc);
  });

  const handlerOptions = {
    log,
    bookmarkIntervalMs: cfg.bookmarkIntervalMs ?? 60_000,
    defaultWatchTimeoutSeconds: cfg.defaultWatchTimeoutSeconds ?? 1800,
    watches,
  };
  const serveResource = async (req: FastifyRequest, reply: FastifyReply) => {
    const info = req.requestInfo;
    if (!info) throw pathNotFound();
    const store = stores.get(`${info.group}/${info.version}/${info.resource}`);
    if (!store) throw pathNotFound();
    return handleResource(req, reply, info, store, req.user ?? anonymousUser, handlerOptions);
  };
  app.all('/apis/*', serveResource);
  app.all('/api/*', serveResource);

  await Promise.all([...stores.values()].flatMap((r) => (r.cache ? [r.cache.ready] : [])));
  await app.listen({ host: cfg.bindAddress, port: cfg.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.port;
  log.info({ address: cfg.bindAddress, port }, 'serving');

  return {
    app,
    stores,
    port,
    async stop() {
      shuttingDown = true;
      // watches never finish by themselves: end them so in-flight requests can drain
      for (const close of [...watches]) close();
      await app.close();
      await Promise.all([...stores.values()].flatMap((r) => (r.cache ? [r.cache.stop()] : [])));
    },
  };
}
