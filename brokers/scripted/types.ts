import type { BrokerAuth, Catalog, JSONObject, MaintenanceInfo } from '../../pkg/osb';

/** The OSB endpoints a platform calls, as the broker scripts and journals them. */
export type Endpoint =
  | 'catalog'
  | 'provision'
  | 'update'
  | 'deprovision'
  | 'lastOperation'
  | 'getInstance'
  | 'bind'
  | 'unbind'
  | 'bindingLastOperation'
  | 'getBinding';

export const ENDPOINTS: readonly Endpoint[] = [
  'catalog',
  'provision',
  'update',
  'deprovision',
  'lastOperation',
  'getInstance',
  'bind',
  'unbind',
  'bindingLastOperation',
  'getBinding',
];

/** How an asynchronous operation (202) plays out on the matching last_operation endpoint. */
export interface AsyncBehaviour {
  /** The `operation` in the 202 body; null leaves it out. Default: generated (`provision-1`, ...). */
  operation?: string | null;
  /** How many polls answer `in progress` before the outcome. Default 1. */
  inProgressPolls?: number;
  /** `gone` (delete operations) answers the final poll with 410. Default `succeeded`. */
  outcome?: 'succeeded' | 'failed' | 'gone';
  /** `description` of the final poll answer. */
  description?: string;
  /** Retry-After header on the `in progress` poll answers (seconds, or an HTTP-date string). */
  retryAfter?: number | string;
  /** On a failed outcome (update/deprovision). */
  instanceUsable?: boolean;
  /** On a failed outcome (update). */
  updateRepeatable?: boolean;
}

/**
 * What the broker does instead of (or on top of) its default behaviour. A rule that sets only
 * `delayMs`, `headers`, `retryAfter` or `async` keeps the default answer and decorates it; `status`,
 * `body`, `malformed` and the error fields replace parts of it.
 */
export interface Behaviour {
  /** The status code to answer with. 202 without `async` implies `async: {}`. */
  status?: number;
  /** The JSON body to answer with. */
  body?: unknown;
  /** Error body fields: `{error, description, instance_usable, update_repeatable}`. */
  error?: string;
  description?: string;
  instanceUsable?: boolean;
  updateRepeatable?: boolean;
  /** Answer with a body that is not valid JSON (Content-Type still application/json). */
  malformed?: boolean;
  /** Wait this long before answering (to provoke client timeouts). */
  delayMs?: number;
  /** Retry-After header on this answer (seconds, or an HTTP-date string). */
  retryAfter?: number | string;
  headers?: Record<string, string>;
  /** Provision/update/deprovision/bind/unbind: answer 202 and play the operation out on polls. */
  async?: AsyncBehaviour | true;
  /**
   * Whether the broker's state changes as if the request succeeded. Default: when the final
   * status is a success for the endpoint. `true` with a 5xx or a delay simulates an orphan.
   */
  sideEffect?: boolean;
}

export interface ScriptRule extends Behaviour {
  /** Only requests for this plan (from the body, the query, or the instance's record). */
  planId?: string;
  /** Only the next N matching requests; default all. */
  times?: number;
}

export interface ScriptedBrokerOptions {
  /** Default: the built-in catalog (see defaultCatalog), which also brings defaultScripts. */
  catalog?: Catalog;
  /** Rules in force from the start and again after reset(). */
  scripts?: Array<[Endpoint, ScriptRule]>;
  /** Requests without these credentials get 401. */
  auth?: BrokerAuth;
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Serve HTTPS with this PEM certificate (chain) and key. */
  tls?: { cert: string; key: string };
}

export interface JournalEntry {
  seq: number;
  time: Date;
  method: string;
  /** The request target as received: path and query, still percent-encoded. */
  url: string;
  /** The path as received (still percent-encoded). */
  path: string;
  /** Decoded query parameters. */
  query: Record<string, string | string[]>;
  /** Lowercased names. */
  headers: Record<string, string>;
  /** The client's port: equal across requests when the client keeps the connection alive. */
  remotePort?: number;
  /** Parsed JSON; the raw text when it was not JSON; undefined when there was none. */
  body: unknown;
  endpoint?: Endpoint;
  instanceId?: string;
  bindingId?: string;
  planId?: string;
  /** X-Broker-API-Originating-Identity, decoded (when well-formed). */
  originatingIdentity?: { platform: string; value: unknown };
  /** The status answered; undefined while the answer is pending. */
  status?: number;
  /** What the spec forbids in the request: it was refused with 400 (the platform's fault). */
  violations: string[];
  /**
   * Where the request falls short of what the Kubernetes profile asks of a platform (request
   * identity, context, originating identity): served, as platforms other than Kubernetes send none.
   */
  profileDeviations: string[];
}

export interface Violation {
  seq: number;
  method: string;
  path: string;
  endpoint?: Endpoint;
  message: string;
  /** Whether the request was refused for it (the spec's rules) or served (the Kubernetes profile's). */
  refused: boolean;
}

export type InstanceState = 'provisioning' | 'provisioned' | 'updating' | 'deprovisioning';

export interface InstanceRecord {
  id: string;
  serviceId: string;
  planId: string;
  state: InstanceState;
  parameters?: JSONObject;
  context?: JSONObject;
  organizationGuid?: string;
  spaceGuid?: string;
  maintenanceInfo?: MaintenanceInfo;
  dashboardUrl: string;
}

export type BindingState = 'binding' | 'bound' | 'unbinding';

export interface BindingRecord {
  id: string;
  instanceId: string;
  serviceId: string;
  planId: string;
  state: BindingState;
  parameters?: JSONObject;
  context?: JSONObject;
  bindResource?: JSONObject;
  predecessorBindingId?: string;
  credentials: { username: string; password: string; uri: string };
}
