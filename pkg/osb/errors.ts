import { ErrorCodes } from './types';

/** The platform-side name of an OSB call, also the `method` label of the metrics. */
export type OSBMethod =
  | 'GetCatalog'
  | 'ProvisionInstance'
  | 'UpdateInstance'
  | 'DeprovisionInstance'
  | 'PollLastOperation'
  | 'GetInstance'
  | 'Bind'
  | 'Unbind'
  | 'PollBindingLastOperation'
  | 'GetBinding';

export interface OSBErrorInit {
  broker: string;
  method: OSBMethod;
  requestId: string;
  httpStatus?: number;
  error?: string;
  description?: string;
  instanceUsable?: boolean;
  updateRepeatable?: boolean;
  malformedBody?: boolean;
  timedOut?: boolean;
  retryAfterSeconds?: number;
  body?: unknown;
  cause?: unknown;
}

/**
 * Any outcome of an OSB call other than a success the spec defines for that endpoint: an HTTP
 * status the endpoint does not answer with on success, a success status with a body that is not
 * what the spec requires, a timeout, or a transport failure (no `httpStatus`).
 */
export class OSBError extends Error {
  readonly broker: string;
  readonly method: OSBMethod;
  readonly requestId: string;
  /** Undefined when no response was received (timeout, connection or TLS failure). */
  readonly httpStatus?: number;
  /** The OSB error code (`error` field), e.g. AsyncRequired. */
  readonly error?: string;
  readonly description?: string;
  /** As sent by the broker on update/deprovision failures; absent means true (spec default). */
  readonly instanceUsable?: boolean;
  /** As sent by the broker on update failures; absent means true (spec default). */
  readonly updateRepeatable?: boolean;
  /** A success status whose body was not parseable or not what the spec requires. */
  readonly malformedBody: boolean;
  /** The client gave up waiting (the request may or may not have reached the broker). */
  readonly timedOut: boolean;
  /** From Retry-After (delta-seconds or HTTP-date), when the broker sent one. */
  readonly retryAfterSeconds?: number;
  /** The parsed error body (or its text when not JSON), for diagnostics. */
  readonly body?: unknown;

  constructor(init: OSBErrorInit) {
    super(message(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'OSBError';
    this.broker = init.broker;
    this.method = init.method;
    this.requestId = init.requestId;
    this.httpStatus = init.httpStatus;
    this.error = init.error;
    this.description = init.description;
    this.instanceUsable = init.instanceUsable;
    this.updateRepeatable = init.updateRepeatable;
    this.malformedBody = init.malformedBody ?? false;
    this.timedOut = init.timedOut ?? false;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.body = init.body;
  }
}

function message(init: OSBErrorInit): string {
  const what = init.timedOut
    ? 'timed out'
    : init.httpStatus === undefined
      ? `request failed: ${(init.cause as Error | undefined)?.message ?? 'unknown error'}`
      : init.malformedBody
        ? `malformed ${init.httpStatus} response`
        : `HTTP ${init.httpStatus}`;
  const detail = [init.error, init.description].filter(Boolean).join(': ');
  return `${init.method} on broker ${init.broker}: ${what}${detail ? ` (${detail})` : ''}`;
}

export function isOSBError(e: unknown): e is OSBError {
  return e instanceof OSBError;
}

function is422(e: unknown, code: string): e is OSBError {
  return isOSBError(e) && e.httpStatus === 422 && e.error === code;
}

// Predicates about an OSBError's answer (they return plain booleans: as type guards they would
// narrow an error already known to be an OSBError away in their false branch).

/** Resend with accepts_incomplete=true. */
export const isAsyncRequired = (e: unknown): boolean => is422(e, ErrorCodes.AsyncRequired);
/** Wait for the pending operation on the resource, then retry; never orphan-mitigate. */
export const isConcurrencyError = (e: unknown): boolean => is422(e, ErrorCodes.ConcurrencyError);
/** The bind needs `bind_resource.app_guid`. */
export const isRequiresApp = (e: unknown): boolean => is422(e, ErrorCodes.RequiresApp);
/** The plan's maintenance_info changed: refetch the catalog. */
export const isMaintenanceInfoConflict = (e: unknown): boolean =>
  is422(e, ErrorCodes.MaintenanceInfoConflict);

const hasStatus = (e: unknown, status: number): e is OSBError => isOSBError(e) && e.httpStatus === status;
export const isBadRequest = (e: unknown): boolean => hasStatus(e, 400);
export const isUnauthorized = (e: unknown): boolean => hasStatus(e, 401);
export const isNotFound = (e: unknown): boolean => hasStatus(e, 404);
export const isConflict = (e: unknown): boolean => hasStatus(e, 409);
export const isGone = (e: unknown): boolean => hasStatus(e, 410);
/** The broker answered 412: it does not accept our X-Broker-API-Version. */
export const isPreconditionFailed = (e: unknown): boolean => hasStatus(e, 412);
export const isTimeout = (e: unknown): boolean => isOSBError(e) && e.timedOut;

/**
 * Whether a failed provision or bind SHOULD be followed by orphan mitigation (deprovision or
 * unbind until the broker answers 200 or 410), per the spec's table: yes for a timeout, a 5xx,
 * a malformed 201/202 and any 2xx the endpoint does not define; no for a malformed 200, for 408
 * (the request never arrived), for any other 4xx, and when no request reached the broker
 * (connection or TLS failures). For update, deprovision and unbind the answer is always no (a
 * failed delete is simply retried).
 */
export function needsOrphanMitigation(e: unknown): boolean {
  if (!isOSBError(e) || (e.method !== 'ProvisionInstance' && e.method !== 'Bind')) return false;
  if (e.timedOut) return true;
  const s = e.httpStatus;
  if (s === undefined) return false;
  if (s >= 500) return true;
  if (s >= 200 && s < 300) return !(s === 200 && e.malformedBody);
  return false;
}
