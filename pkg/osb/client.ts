import { randomUUID } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import { OSBError, type OSBMethod } from './errors';
import type { OSBMetrics, OSBOutcome } from './metrics';
import { parseRetryAfter } from './retry-after';
import {
  API_VERSION,
  type BindRequest,
  type BindResult,
  type CatalogResult,
  type DeleteResult,
  type ErrorResponse,
  type GetBindingResult,
  type GetInstanceResult,
  type InstanceAsyncResult,
  type LastOperationResult,
  type OriginatingIdentity,
  type ProvisionRequest,
  type ProvisionResult,
  type UpdateRequest,
  type UpdateResult,
} from './types';
import { validBody, type BodyCheck } from './validate';

export type BrokerAuth = { basic: { username: string; password: string } } | { bearer: { token: string } };

export interface OSBClientOptions {
  /** The broker's name, used in errors and as the `broker` metrics label. */
  name: string;
  /** Base URL; the `/v2/...` paths are appended to it (a path prefix is kept). */
  url: string;
  auth?: BrokerAuth;
  /** PEM CA certificates to trust instead of the system roots, for https URLs. */
  caBundle?: string;
  insecureSkipTLSVerify?: boolean;
  /** Per request, from sending to having read the whole response. */
  timeoutMs: number;
  metrics?: OSBMetrics;
  /** A larger response is treated as malformed. Default 16 MiB. */
  maxResponseBytes?: number;
}

export interface CallOptions {
  /** The user whose action caused the request; omit for platform-initiated calls. */
  originatingIdentity?: OriginatingIdentity;
}

export interface MutateOptions extends CallOptions {
  /** Sends accepts_incomplete=true; the broker may then answer 202 and be polled. */
  acceptsIncomplete: boolean;
}

export interface DeleteOptions extends MutateOptions {
  serviceId: string;
  planId: string;
}

export interface GetOptions extends CallOptions {
  serviceId?: string;
  planId?: string;
}

export interface PollOptions extends GetOptions {
  /** The `operation` from the 202, echoed verbatim. During a plan change, planId is the old plan. */
  operation?: string;
}

interface Exchange {
  method: OSBMethod;
  requestId: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  tooLarge: boolean;
  retryAfterSeconds?: number;
}

type Query = Record<string, string | undefined>;

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * A platform's client of one Open Service Broker (API 2.17). One keep-alive connection pool per
 * client; close() it when the broker goes away.
 */
export class OSBClient {
  readonly name: string;
  readonly url: string;
  private readonly base: string;
  private readonly agent: Agent;
  private readonly authorization?: string;
  private readonly timeoutMs: number;
  private readonly metrics?: OSBMetrics;
  private readonly maxResponseBytes: number;

  constructor(opts: OSBClientOptions) {
    const parsed = new URL(opts.url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`broker ${opts.name}: URL ${opts.url} is not http(s)`);
    }
    if (!(opts.timeoutMs > 0)) throw new Error(`broker ${opts.name}: timeoutMs must be positive`);
    this.name = opts.name;
    this.url = opts.url;
    this.base = `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
    this.timeoutMs = opts.timeoutMs;
    this.metrics = opts.metrics;
    this.maxResponseBytes = opts.maxResponseBytes ?? 16 * 1024 * 1024;
    if (opts.auth && 'basic' in opts.auth) {
      const { username, password } = opts.auth.basic;
      this.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    } else if (opts.auth && 'bearer' in opts.auth) {
      this.authorization = `Bearer ${opts.auth.bearer.token}`;
    }
    this.agent = new Agent({
      // Backstops for the per-request deadline below, which also covers reading the body.
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connect: {
        timeout: opts.timeoutMs,
        ...(opts.caBundle ? { ca: opts.caBundle } : {}),
        ...(opts.insecureSkipTLSVerify ? { rejectUnauthorized: false } : {}),
      },
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  // -------------------------------------------------------------------------------------------
  // Endpoints

  async getCatalog(): Promise<CatalogResult> {
    const x = await this.exchange('GetCatalog', 'GET', '/v2/catalog');
    if (x.status !== 200) throw this.failure(x);
    return { kind: 'sync', status: 200, body: this.parse(x, validBody.catalog), requestId: x.requestId };
  }

  async provision(instanceId: string, req: ProvisionRequest, opts: MutateOptions): Promise<ProvisionResult> {
    const x = await this.exchange('ProvisionInstance', 'PUT', instancePath(instanceId), {
      query: acceptsIncomplete(opts),
      body: req,
      identity: opts.originatingIdentity,
    });
    const { requestId } = x;
    switch (x.status) {
      case 200:
      case 201: {
        const body = this.parse(x, validBody.provision);
        const dashboardUrl = body.dashboard_url ?? undefined;
        return x.status === 201
          ? { kind: 'sync', status: 201, dashboardUrl, body, requestId }
          : { kind: 'exists', status: 200, dashboardUrl, body, requestId };
      }
      case 202:
        return this.instanceAsync(x);
      default:
        throw this.failure(x);
    }
  }

  async update(instanceId: string, req: UpdateRequest, opts: MutateOptions): Promise<UpdateResult> {
    const x = await this.exchange('UpdateInstance', 'PATCH', instancePath(instanceId), {
      query: acceptsIncomplete(opts),
      body: req,
      identity: opts.originatingIdentity,
    });
    switch (x.status) {
      case 200: {
        const body = this.parse(x, validBody.update);
        return {
          kind: 'sync',
          status: 200,
          dashboardUrl: body.dashboard_url ?? undefined,
          body,
          requestId: x.requestId,
        };
      }
      case 202:
        return this.instanceAsync(x);
      default:
        throw this.failure(x);
    }
  }

  async deprovision(instanceId: string, opts: DeleteOptions): Promise<DeleteResult> {
    const x = await this.exchange('DeprovisionInstance', 'DELETE', instancePath(instanceId), {
      query: deleteQuery(opts),
      identity: opts.originatingIdentity,
    });
    return this.deleted(x);
  }

  async pollInstanceLastOperation(instanceId: string, opts: PollOptions = {}): Promise<LastOperationResult> {
    const x = await this.exchange('PollLastOperation', 'GET', `${instancePath(instanceId)}/last_operation`, {
      query: pollQuery(opts),
      identity: opts.originatingIdentity,
    });
    return this.lastOperation(x);
  }

  async getInstance(instanceId: string, opts: GetOptions = {}): Promise<GetInstanceResult> {
    const x = await this.exchange('GetInstance', 'GET', instancePath(instanceId), {
      query: { service_id: opts.serviceId, plan_id: opts.planId },
      identity: opts.originatingIdentity,
    });
    if (x.status !== 200) throw this.failure(x);
    return { kind: 'found', status: 200, body: this.parse(x, validBody.getInstance), requestId: x.requestId };
  }

  async bind(
    instanceId: string,
    bindingId: string,
    req: BindRequest,
    opts: MutateOptions,
  ): Promise<BindResult> {
    const x = await this.exchange('Bind', 'PUT', bindingPath(instanceId, bindingId), {
      query: acceptsIncomplete(opts),
      body: req,
      identity: opts.originatingIdentity,
    });
    const { requestId } = x;
    switch (x.status) {
      case 200:
      case 201: {
        const body = this.parse(x, validBody.bind);
        return x.status === 201
          ? { kind: 'sync', status: 201, body, requestId }
          : { kind: 'exists', status: 200, body, requestId };
      }
      case 202: {
        // Credentials MUST NOT come with a 202; the schema rejects them.
        const body = this.parse(x, validBody.bindAsync);
        return {
          kind: 'async',
          status: 202,
          operation: body.operation || undefined,
          body,
          requestId,
          ...retry(x),
        };
      }
      default:
        throw this.failure(x);
    }
  }

  async unbind(instanceId: string, bindingId: string, opts: DeleteOptions): Promise<DeleteResult> {
    const x = await this.exchange('Unbind', 'DELETE', bindingPath(instanceId, bindingId), {
      query: deleteQuery(opts),
      identity: opts.originatingIdentity,
    });
    return this.deleted(x);
  }

  async pollBindingLastOperation(
    instanceId: string,
    bindingId: string,
    opts: PollOptions = {},
  ): Promise<LastOperationResult> {
    const x = await this.exchange(
      'PollBindingLastOperation',
      'GET',
      `${bindingPath(instanceId, bindingId)}/last_operation`,
      { query: pollQuery(opts), identity: opts.originatingIdentity },
    );
    return this.lastOperation(x);
  }

  async getBinding(instanceId: string, bindingId: string, opts: GetOptions = {}): Promise<GetBindingResult> {
    const x = await this.exchange('GetBinding', 'GET', bindingPath(instanceId, bindingId), {
      query: { service_id: opts.serviceId, plan_id: opts.planId },
      identity: opts.originatingIdentity,
    });
    if (x.status !== 200) throw this.failure(x);
    return { kind: 'found', status: 200, body: this.parse(x, validBody.getBinding), requestId: x.requestId };
  }

  // -------------------------------------------------------------------------------------------
  // Shared interpretations

  private instanceAsync(x: Exchange): InstanceAsyncResult {
    const body = this.parse(x, validBody.instanceAsync);
    return {
      kind: 'async',
      status: 202,
      operation: body.operation || undefined,
      dashboardUrl: body.dashboard_url ?? undefined,
      body,
      requestId: x.requestId,
      ...retry(x),
    };
  }

  private deleted(x: Exchange): DeleteResult {
    switch (x.status) {
      case 200:
        this.parse(x, validBody.empty);
        return { kind: 'sync', status: 200, requestId: x.requestId };
      case 410:
        return { kind: 'gone', status: 410, requestId: x.requestId };
      case 202: {
        const body = this.parse(x, validBody.async);
        return {
          kind: 'async',
          status: 202,
          operation: body.operation || undefined,
          body,
          requestId: x.requestId,
          ...retry(x),
        };
      }
      default:
        throw this.failure(x);
    }
  }

  private lastOperation(x: Exchange): LastOperationResult {
    if (x.status === 410) return { kind: 'gone', status: 410, requestId: x.requestId, ...retry(x) };
    if (x.status !== 200) throw this.failure(x);
    const body = this.parse(x, validBody.lastOperation);
    return {
      kind: 'state',
      status: 200,
      state: body.state,
      description: body.description,
      instanceUsable: body.instance_usable,
      updateRepeatable: body.update_repeatable,
      body,
      requestId: x.requestId,
      ...retry(x),
    };
  }

  /** The body of a success status, or a malformed-body OSBError. */
  private parse<T>(x: Exchange, valid: BodyCheck<T>): T {
    let body: unknown;
    let problem: string;
    if (x.tooLarge) {
      problem = `response body exceeds ${this.maxResponseBytes} bytes`;
    } else {
      try {
        body = JSON.parse(x.text);
        if (valid(body)) return body;
        problem = `response body does not match the spec: ${valid.problems(body)}`;
      } catch {
        problem = 'response body is not JSON';
        body = snippet(x.text);
      }
    }
    throw new OSBError({
      ...this.about(x),
      httpStatus: x.status,
      malformedBody: true,
      description: problem,
      body,
      retryAfterSeconds: x.retryAfterSeconds,
    });
  }

  /** An OSBError for a status the endpoint does not define as success. */
  private failure(x: Exchange): OSBError {
    let parsed: unknown = undefined;
    try {
      parsed = JSON.parse(x.text);
    } catch {
      parsed = x.text === '' ? undefined : snippet(x.text);
    }
    const e: ErrorResponse = {};
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const o = parsed as Record<string, unknown>;
      if (typeof o.error === 'string' && o.error !== '') e.error = o.error;
      if (typeof o.description === 'string' && o.description !== '') e.description = o.description;
      if (typeof o.instance_usable === 'boolean') e.instance_usable = o.instance_usable;
      if (typeof o.update_repeatable === 'boolean') e.update_repeatable = o.update_repeatable;
    }
    return new OSBError({
      ...this.about(x),
      httpStatus: x.status,
      error: e.error,
      description: e.description,
      instanceUsable: e.instance_usable,
      updateRepeatable: e.update_repeatable,
      retryAfterSeconds: x.retryAfterSeconds,
      body: parsed,
    });
  }

  private about(x: { method: OSBMethod; requestId: string }) {
    return { broker: this.name, method: x.method, requestId: x.requestId };
  }

  // -------------------------------------------------------------------------------------------
  // Transport

  private async exchange(
    method: OSBMethod,
    verb: Dispatcher.HttpMethod,
    path: string,
    opts: { query?: Query; body?: unknown; identity?: OriginatingIdentity } = {},
  ): Promise<Exchange> {
    const requestId = randomUUID();
    const headers: Record<string, string> = {
      'X-Broker-API-Version': API_VERSION,
      'X-Broker-API-Request-Identity': requestId,
      Accept: 'application/json',
    };
    if (this.authorization) headers.Authorization = this.authorization;
    if (opts.identity)
      headers['X-Broker-API-Originating-Identity'] = originatingIdentityHeader(opts.identity);
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] = 'application/json';
    }

    const started = process.hrtime.bigint();
    const observe = (outcome: OSBOutcome) =>
      this.metrics?.observe(this.name, method, outcome, Number(process.hrtime.bigint() - started) / 1e9);

    const abort = new AbortController();
    let deadlinePassed = false;
    const timer = setTimeout(() => {
      deadlinePassed = true;
      abort.abort();
    }, this.timeoutMs);
    try {
      const res = await request(`${this.base}${path}${queryString(opts.query)}`, {
        method: verb,
        headers,
        body,
        dispatcher: this.agent,
        signal: abort.signal,
      });
      const { text, tooLarge } = await readText(res.body, this.maxResponseBytes);
      observe(res.statusCode);
      return {
        method,
        requestId,
        status: res.statusCode,
        headers: res.headers,
        text,
        tooLarge,
        retryAfterSeconds: parseRetryAfter(res.headers['retry-after']),
      };
    } catch (err) {
      const timedOut = deadlinePassed || TIMEOUT_CODES.has((err as { code?: string }).code ?? '');
      observe(timedOut ? 'timeout' : 'error');
      throw new OSBError({ broker: this.name, method, requestId, timedOut, cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** `kubernetes <base64 of the user.info JSON>` (profile.md); the platform word equals context.platform. */
export function originatingIdentityHeader(user: OriginatingIdentity): string {
  const { username, uid, groups, extra } = user;
  return `kubernetes ${Buffer.from(JSON.stringify({ username, uid, groups, extra })).toString('base64')}`;
}

const instancePath = (instanceId: string) => `/v2/service_instances/${encodeURIComponent(instanceId)}`;
const bindingPath = (instanceId: string, bindingId: string) =>
  `${instancePath(instanceId)}/service_bindings/${encodeURIComponent(bindingId)}`;

const acceptsIncomplete = (opts: MutateOptions): Query => ({
  accepts_incomplete: opts.acceptsIncomplete ? 'true' : undefined,
});
const deleteQuery = (opts: DeleteOptions): Query => ({
  ...acceptsIncomplete(opts),
  service_id: opts.serviceId,
  plan_id: opts.planId,
});
const pollQuery = (opts: PollOptions): Query => ({
  service_id: opts.serviceId,
  plan_id: opts.planId,
  operation: opts.operation,
});

function queryString(query: Query | undefined): string {
  const parts = Object.entries(query ?? {})
    .filter((kv): kv is [string, string] => kv[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

const retry = (x: Exchange) =>
  x.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: x.retryAfterSeconds };

const snippet = (text: string) => (text.length > 1024 ? `${text.slice(0, 1024)}…` : text);

async function readText(
  body: Dispatcher.ResponseData['body'],
  max: number,
): Promise<{ text: string; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      body.destroy();
      return { text: '', tooLarge: true };
    }
    chunks.push(chunk as Buffer);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), tooLarge: false };
}
