import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyReply, type FastifyRequest, type HTTPMethods } from 'fastify';
import type { JSONObject } from '../../pkg/osb';
import { CatalogIndex, defaultCatalog, defaultScripts } from './catalog';
import { BrokerModel, asyncRequired, errorBody, type Outcome } from './model';
import { ScriptBook } from './scripts';
import type {
  AsyncBehaviour,
  BindingRecord,
  Endpoint,
  InstanceRecord,
  JournalEntry,
  ScriptRule,
  ScriptedBrokerOptions,
  Violation,
} from './types';
import {
  acceptsIncompleteViolations,
  bindViolations,
  deleteViolations,
  headerViolations,
  pollViolations,
  provisionViolations,
  updateViolations,
  versionProblem,
} from './validate';
import { isObject } from '../../pkg/json';

export interface ScriptedBroker {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  /** Every request received, in order (live; emptied by reset()). */
  readonly journal: readonly JournalEntry[];
  /** Adds a rule for an endpoint; the latest matching rule wins. */
  script(endpoint: Endpoint, rule?: ScriptRule): void;
  /**
   * Forgets journal, state and added rules (the start-up rules are back in force). Answers still
   * being delayed get 503 and change nothing.
   */
  reset(): void;
  stop(): Promise<void>;
  /**
   * Every violation of every journalled request: of the spec (refused with 400) and of the
   * Kubernetes profile (served). A well-behaved platform leaves this empty.
   */
  violations(): Violation[];
  /** Journal entries of one endpoint (optionally for one instance/binding). */
  requests(endpoint: Endpoint, filter?: { instanceId?: string; bindingId?: string }): JournalEntry[];
  instance(instanceId: string): InstanceRecord | undefined;
  instances(): InstanceRecord[];
  binding(instanceId: string, bindingId: string): BindingRecord | undefined;
  bindings(): BindingRecord[];
}

const ROUTES: Array<[HTTPMethods, string, Endpoint]> = [
  ['GET', '/v2/catalog', 'catalog'],
  ['PUT', '/v2/service_instances/:instance_id', 'provision'],
  ['PATCH', '/v2/service_instances/:instance_id', 'update'],
  ['DELETE', '/v2/service_instances/:instance_id', 'deprovision'],
  ['GET', '/v2/service_instances/:instance_id', 'getInstance'],
  ['GET', '/v2/service_instances/:instance_id/last_operation', 'lastOperation'],
  ['PUT', '/v2/service_instances/:instance_id/service_bindings/:binding_id', 'bind'],
  ['DELETE', '/v2/service_instances/:instance_id/service_bindings/:binding_id', 'unbind'],
  ['GET', '/v2/service_instances/:instance_id/service_bindings/:binding_id', 'getBinding'],
  [
    'GET',
    '/v2/service_instances/:instance_id/service_bindings/:binding_id/last_operation',
    'bindingLastOperation',
  ],
];

/** Statuses after which the broker's state changes (unless a script says otherwise). */
const SUCCESS: Record<Endpoint, number[]> = {
  catalog: [],
  provision: [200, 201, 202],
  update: [200, 202],
  deprovision: [200, 202],
  lastOperation: [200, 410],
  getInstance: [],
  bind: [200, 201, 202],
  unbind: [200, 202],
  bindingLastOperation: [200, 410],
  getBinding: [],
};

const MUTATIONS: Endpoint[] = ['provision', 'update', 'deprovision', 'bind', 'unbind'];

const MALFORMED_JSON = '{"malformed": ';

const nonEmptyString = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : undefined;

function asyncSpec(rule: ScriptRule | undefined): AsyncBehaviour | undefined {
  if (!rule) return undefined;
  if (rule.async === true) return {};
  return rule.async ?? (rule.status === 202 ? {} : undefined);
}

function expectedAuthorization(auth: ScriptedBrokerOptions['auth']): string | undefined {
  if (!auth) return undefined;
  if ('basic' in auth) {
    return `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64')}`;
  }
  return `Bearer ${auth.bearer.token}`;
}

/**
 * Starts an OSB 2.17 broker whose answers tests script, that keeps the instances and bindings it
 * made, journals every request and flags what a strict broker would reject.
 */
export async function startScriptedBroker(opts: ScriptedBrokerOptions = {}): Promise<ScriptedBroker> {
  const catalog = new CatalogIndex(opts.catalog ?? defaultCatalog());
  const book = new ScriptBook(opts.scripts ?? (opts.catalog ? [] : defaultScripts()));
  const model = new BrokerModel(catalog);
  const journal: JournalEntry[] = [];
  const authorization = expectedAuthorization(opts.auth);
  // Aborted by reset() and stop(): an answer still being delayed then neither changes the state
  // of the next test nor keeps the server from closing.
  let epoch = new AbortController();
  let seq = 0;

  // `https: null` serves plain HTTP; the instance is typed for https either way, which is harmless.
  const app = Fastify({
    https: opts.tls ?? null,
    logger: false,
    forceCloseConnections: true,
    exposeHeadRoutes: false,
  });
  // Take bodies as text so that a platform's malformed JSON is journalled and reported, not refused.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const record = (req: FastifyRequest, endpoint: Endpoint | undefined): JournalEntry => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    const params = (req.params ?? {}) as Record<string, string | undefined>;
    const entry: JournalEntry = {
      seq: ++seq,
      time: new Date(),
      method: req.method,
      url: req.url,
      path: req.url.split('?')[0],
      query: { ...(req.query as Record<string, string | string[]>) },
      headers,
      remotePort: req.socket.remotePort,
      body: undefined,
      endpoint,
      instanceId: params.instance_id,
      bindingId: params.binding_id,
      violations: [],
      profileDeviations: [],
    };
    journal.push(entry);
    return entry;
  };

  const handle = async (
    endpoint: Endpoint,
    entry: JournalEntry,
    rawBody: unknown,
    signal: AbortSignal,
  ): Promise<Outcome> => {
    if (authorization !== undefined && entry.headers.authorization !== authorization) {
      return {
        status: 401,
        body: errorBody(undefined, 'Unauthorized.'),
        headers: { 'www-authenticate': 'Basic realm="scripted-broker"' },
      };
    }
    const versionBad = versionProblem(entry.headers['x-broker-api-version']);
    if (versionBad) {
      entry.violations.push(versionBad);
      return {
        status: 412,
        body: errorBody('PreconditionFailed', `${versionBad}; this broker needs 2.13 or later.`),
      };
    }

    const v = entry.violations;
    const profile = entry.profileDeviations;
    const identity = headerViolations(entry.headers, v, profile);
    entry.originatingIdentity = identity;
    if (typeof rawBody === 'string' && rawBody !== '') {
      try {
        entry.body = JSON.parse(rawBody);
      } catch {
        entry.body = rawBody;
        v.push('body is not valid JSON');
      }
    }
    const body = entry.body;
    const q = entry.query;
    const iid = entry.instanceId ?? '';
    const bid = entry.bindingId ?? '';
    const instance = model.instances.get(iid);
    const binding = model.binding(iid, bid);
    const bodyObj: JSONObject = isObject(body) ? body : {};

    switch (endpoint) {
      case 'catalog':
        break;
      case 'provision':
        acceptsIncompleteViolations(q, v);
        provisionViolations(body, catalog, identity, v, profile);
        entry.planId = nonEmptyString(bodyObj.plan_id);
        break;
      case 'update':
        acceptsIncompleteViolations(q, v);
        updateViolations(body, catalog, instance, identity, v, profile);
        entry.planId = nonEmptyString(bodyObj.plan_id) ?? instance?.planId;
        break;
      case 'deprovision':
        deleteViolations(q, instance, model.instanceOperation(iid)?.pendingPlanId, v);
        if (model.bindings.size && [...model.bindings.values()].some((b) => b.instanceId === iid)) {
          v.push('deprovision while the instance still has bindings (they MUST be deleted first)');
        }
        entry.planId = nonEmptyString(q.plan_id) ?? instance?.planId;
        break;
      case 'lastOperation':
        pollViolations(q, model.instanceOperation(iid)?.id, v);
        entry.planId = nonEmptyString(q.plan_id) ?? instance?.planId;
        break;
      case 'getInstance': {
        const serviceId = instance?.serviceId ?? nonEmptyString(q.service_id);
        const service = catalog.service(serviceId);
        if (service && !service.instances_retrievable)
          v.push(`service ${service.id} is not instances_retrievable`);
        entry.planId = nonEmptyString(q.plan_id) ?? instance?.planId;
        break;
      }
      case 'bind': {
        acceptsIncompleteViolations(q, v);
        const predecessorId = nonEmptyString(bodyObj.predecessor_binding_id);
        const predecessor = predecessorId === undefined ? undefined : model.binding(iid, predecessorId);
        bindViolations(body, catalog, instance, predecessor, identity, v, profile);
        entry.planId = nonEmptyString(bodyObj.plan_id);
        break;
      }
      case 'unbind':
        deleteViolations(q, binding, undefined, v);
        entry.planId = nonEmptyString(q.plan_id) ?? binding?.planId;
        break;
      case 'bindingLastOperation':
        pollViolations(q, model.bindingOperation(iid, bid)?.id, v);
        entry.planId = nonEmptyString(q.plan_id) ?? binding?.planId;
        break;
      case 'getBinding': {
        const serviceId = binding?.serviceId ?? nonEmptyString(q.service_id);
        const service = catalog.service(serviceId);
        if (service && !service.bindings_retrievable)
          v.push(`service ${service.id} is not bindings_retrievable`);
        entry.planId = nonEmptyString(q.plan_id) ?? binding?.planId;
        break;
      }
    }
    if (v.length) return { status: 400, body: errorBody('BadRequest', v.join('; ')) };

    const async = asyncSpec(book.peek(endpoint, entry.planId));
    if (async && MUTATIONS.includes(endpoint) && q.accepts_incomplete !== 'true') {
      v.push('accepts_incomplete=true is required: the plan is scripted asynchronous');
      return asyncRequired();
    }
    const rule = book.take(endpoint, entry.planId);
    if (rule?.delayMs) await sleep(rule.delayMs, undefined, { signal });

    const def = ((): Outcome => {
      switch (endpoint) {
        case 'catalog':
          return { status: 200, body: catalog.catalog };
        case 'provision':
          return model.provision(iid, bodyObj, async);
        case 'update':
          return model.update(iid, bodyObj, async);
        case 'deprovision':
          return model.deprovision(iid, async);
        case 'lastOperation':
          return model.lastOperation(iid);
        case 'getInstance':
          return model.getInstance(iid);
        case 'bind':
          return model.bind(iid, bid, bodyObj, async);
        case 'unbind':
          return model.unbind(iid, bid, async);
        case 'bindingLastOperation':
          return model.bindingLastOperation(iid, bid);
        case 'getBinding':
          return model.getBinding(iid, bid);
      }
    })();
    return overlay(endpoint, def, rule);
  };

  const send = (reply: FastifyReply, entry: JournalEntry, out: Outcome & { text?: string }) => {
    entry.status = out.status;
    const requestId = entry.headers['x-broker-api-request-identity'];
    if (requestId) reply.header('x-broker-api-request-identity', requestId);
    for (const [k, v] of Object.entries(out.headers ?? {})) reply.header(k, v);
    reply.code(out.status).header('content-type', 'application/json');
    return reply.send(out.text ?? (out.body === undefined ? '' : JSON.stringify(out.body)));
  };

  for (const [method, url, endpoint] of ROUTES) {
    app.route({
      method,
      url,
      handler: async (req, reply) => {
        const entry = record(req, endpoint);
        const { signal } = epoch;
        let out: Outcome & { text?: string };
        try {
          out = await handle(endpoint, entry, req.body, signal);
        } catch (err) {
          if (!signal.aborted) throw err;
          out = { status: 503, body: errorBody(undefined, 'The broker was reset or is stopping.') };
        }
        return send(reply, entry, out);
      },
    });
  }
  app.setNotFoundHandler((req, reply) => {
    const entry = record(req, undefined);
    return send(reply, entry, {
      status: 404,
      body: errorBody(undefined, `No route ${req.method} ${entry.path}.`),
    });
  });

  await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = !opts.host || opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const url = `${opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  model.baseUrl = url;

  return {
    url,
    journal,
    script: (endpoint, rule = {}) => book.add(endpoint, rule),
    reset: () => {
      epoch.abort();
      epoch = new AbortController();
      journal.length = 0;
      book.reset();
      model.reset();
    },
    stop: async () => {
      epoch.abort();
      await app.close();
    },
    violations: () =>
      journal.flatMap((e) =>
        [
          ...e.violations.map((message) => ({ message, refused: true })),
          ...e.profileDeviations.map((message) => ({ message, refused: false })),
        ].map((v) => ({ seq: e.seq, method: e.method, path: e.path, endpoint: e.endpoint, ...v })),
      ),
    requests: (endpoint, filter = {}) =>
      journal.filter(
        (e) =>
          e.endpoint === endpoint &&
          (filter.instanceId === undefined || e.instanceId === filter.instanceId) &&
          (filter.bindingId === undefined || e.bindingId === filter.bindingId),
      ),
    instance: (id) => model.instances.get(id),
    instances: () => [...model.instances.values()],
    binding: (iid, bid) => model.binding(iid, bid),
    bindings: () => [...model.bindings.values()],
  };
}

/** Applies a rule on top of the default answer, and runs the state change if the answer calls for it. */
function overlay(
  endpoint: Endpoint,
  def: Outcome,
  rule: ScriptRule | undefined,
): Outcome & { text?: string } {
  if (!rule) {
    def.commit?.();
    return def;
  }
  const status = rule.status ?? def.status;
  let body = def.body;
  const errorFields = {
    ...(rule.error !== undefined ? { error: rule.error } : {}),
    ...(rule.description !== undefined ? { description: rule.description } : {}),
    ...(rule.instanceUsable !== undefined ? { instance_usable: rule.instanceUsable } : {}),
    ...(rule.updateRepeatable !== undefined ? { update_repeatable: rule.updateRepeatable } : {}),
  };
  if (rule.body !== undefined) body = rule.body;
  else if (Object.keys(errorFields).length) body = errorFields;
  else if (status !== def.status && status >= 400) body = errorBody(undefined, `Scripted ${status}.`);
  const headers = {
    ...def.headers,
    ...(rule.retryAfter !== undefined ? { 'retry-after': String(rule.retryAfter) } : {}),
    ...rule.headers,
  };
  if (rule.sideEffect ?? SUCCESS[endpoint].includes(status)) def.commit?.();
  return { status, body, headers, text: rule.malformed ? MALFORMED_JSON : undefined };
}
