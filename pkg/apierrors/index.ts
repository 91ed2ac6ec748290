import type { Status, StatusCause } from '../../api-types/meta';

/** Identifies the object an error is about, for Status.details (as kube-apiserver fills it). */
export interface ErrorTarget {
  group: string;
  /** The resource (plural), used as details.kind like kube-apiserver does. */
  resource: string;
  name?: string;
}

/**
 * An error that becomes a metav1.Status response. Thrown anywhere in the request path; the one error
 * handler of the server turns it into the HTTP answer.
 */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Status['details'],
  ) {
    super(message);
  }

  toStatus(): Status {
    const status: Status = {
      apiVersion: 'v1',
      kind: 'Status',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

function qualified(t: ErrorTarget): string {
  return t.group ? `${t.resource}.${t.group}` : t.resource;
}

function details(t: ErrorTarget, extra?: Partial<NonNullable<Status['details']>>): Status['details'] {
  return { name: t.name, group: t.group || undefined, kind: t.resource, ...extra };
}

export const badRequest = (message: string) => new StatusError(400, 'BadRequest', message);

export const unauthorized = (message: string) => new StatusError(401, 'Unauthorized', message);

export const forbidden = (t: ErrorTarget, message: string) =>
  new StatusError(
    403,
    'Forbidden',
    `${qualified(t)}${t.name ? ` "${t.name}"` : ''} is forbidden: ${message}`,
    details(t),
  );

/** 403 for a request the authorizer denied, worded like kube-apiserver's. */
export function forbiddenRequest(
  a: {
    user: { username: string };
    verb: string;
    resourceRequest: boolean;
    path: string;
    group?: string;
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  },
  reason?: string,
): StatusError {
  const why = reason ? `: ${reason}` : '';
  if (!a.resourceRequest) {
    return new StatusError(
      403,
      'Forbidden',
      `forbidden: User "${a.user.username}" cannot ${a.verb} path "${a.path}"${why}`,
    );
  }
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  const target = `${resource}${a.group ? `.${a.group}` : ''}${a.name ? ` "${a.name}"` : ''}`;
  return new StatusError(
    403,
    'Forbidden',
    `${target} is forbidden: User "${a.user.username}" cannot ${a.verb} resource "${resource}" in API group "${a.group ?? ''}" ${scope}${why}`,
    { name: a.name, group: a.group || undefined, kind: a.resource },
  );
}

export const notFound = (t: ErrorTarget) =>
  new StatusError(404, 'NotFound', `${qualified(t)} "${t.name}" not found`, details(t));

/** A URL that names no resource the server knows. */
export const pathNotFound = () =>
  new StatusError(404, 'NotFound', 'the server could not find the requested resource');

export const methodNotAllowed = (method: string, what: string) =>
  new StatusError(405, 'MethodNotAllowed', `${method} is not supported on ${what}`);

export const notAcceptable = (accept: string) =>
  new StatusError(
    406,
    'NotAcceptable',
    `only the following media types are accepted: application/json, application/yaml; got ${accept}`,
  );

export const alreadyExists = (t: ErrorTarget) =>
  new StatusError(409, 'AlreadyExists', `${qualified(t)} "${t.name}" already exists`, details(t));

export const conflict = (t: ErrorTarget, message: string) =>
  new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(t)} "${t.name}": ${message}`,
    details(t),
  );

export const expired = (message: string) => new StatusError(410, 'Expired', message);

export const gone = (message: string) => new StatusError(410, 'Gone', message);

export const requestEntityTooLarge = (limit: number) =>
  new StatusError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);

export const unsupportedMediaType = (contentType: string) =>
  new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json; got ${contentType}`,
  );

/** 422: every cause at once, each naming the field path, as kube-apiserver reports validation. */
export const invalid = (kind: string, t: ErrorTarget, causes: StatusCause[]) =>
  new StatusError(
    422,
    'Invalid',
    `${kind}${t.group ? `.${t.group}` : ''} "${t.name ?? ''}" is invalid: ${causes
      .map((c) => (c.field ? `${c.field}: ${c.message}` : c.message))
      .join(', ')}`,
    { name: t.name, group: t.group || undefined, kind, causes },
  );

/** Validation error cause builders, worded like k8s.io/apimachinery/pkg/util/validation/field. */
export const field = {
  required: (path: string, detail = ''): StatusCause => ({
    reason: 'FieldValueRequired',
    message: `Required value${detail ? `: ${detail}` : ''}`,
    field: path,
  }),
  invalid: (path: string, value: unknown, detail: string): StatusCause => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
    field: path,
  }),
  forbidden: (path: string, detail: string): StatusCause => ({
    reason: 'FieldValueForbidden',
    message: `Forbidden: ${detail}`,
    field: path,
  }),
  notSupported: (path: string, value: unknown, allowed: string[]): StatusCause => ({
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`,
    field: path,
  }),
  duplicate: (path: string, value: unknown): StatusCause => ({
    reason: 'FieldValueDuplicate',
    message: `Duplicate value: ${JSON.stringify(value)}`,
    field: path,
  }),
  tooLong: (path: string, max: number): StatusCause => ({
    reason: 'FieldValueTooLong',
    message: `Too long: may not be longer than ${max}`,
    field: path,
  }),
  immutable: (path: string, value: unknown): StatusCause => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${JSON.stringify(value)}: field is immutable`,
    field: path,
  }),
};

export const internalError = (message: string) =>
  new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);

export const timeout = (message: string) => new StatusError(504, 'Timeout', message);

export const serviceUnavailable = (message: string) => new StatusError(503, 'ServiceUnavailable', message);

export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new StatusError(429, 'TooManyRequests', message, { retryAfterSeconds });
