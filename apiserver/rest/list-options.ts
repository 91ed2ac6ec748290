import { field, invalid } from '../../pkg/apierrors';

export type ResourceVersionMatch = 'NotOlderThan' | 'Exact';

/** The query parameters of list and watch, checked like kube's ValidateListOptions. */
export interface ListOptions {
  labelSelector: string;
  fieldSelector: string;
  resourceVersion?: string;
  resourceVersionMatch?: ResourceVersionMatch;
  limit?: number;
  continue?: string;
  timeoutSeconds?: number;
  allowWatchBookmarks: boolean;
  sendInitialEvents?: boolean;
}

const queryParam = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : Array.isArray(v) ? String(v[0]) : undefined;

export function parseListOptions(q: Record<string, unknown>, isWatch: boolean): ListOptions {
  const causes = [];
  const opts: ListOptions = {
    labelSelector: queryParam(q.labelSelector) ?? '',
    fieldSelector: queryParam(q.fieldSelector) ?? '',
    resourceVersion: queryParam(q.resourceVersion) || undefined,
    continue: queryParam(q.continue) || undefined,
    allowWatchBookmarks: queryParam(q.allowWatchBookmarks) === 'true',
  };
  const rvm = queryParam(q.resourceVersionMatch);
  if (rvm) {
    if (rvm !== 'NotOlderThan' && rvm !== 'Exact') {
      causes.push(field.notSupported('resourceVersionMatch', rvm, ['Exact', 'NotOlderThan']));
    } else opts.resourceVersionMatch = rvm;
  }
  for (const name of ['limit', 'timeoutSeconds'] as const) {
    const raw = queryParam(q[name]);
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0)
      causes.push(field.invalid(name, raw, 'must be a non-negative integer'));
    else if (n > 0) opts[name] = n;
  }
  const sie = queryParam(q.sendInitialEvents);
  if (sie !== undefined)
    causes.push(field.forbidden('sendInitialEvents', 'sendInitialEvents is not supported by this server'));
  if (opts.resourceVersion !== undefined && !/^\d+$/.test(opts.resourceVersion)) {
    causes.push(field.invalid('resourceVersion', opts.resourceVersion, 'must be a non-negative integer'));
  }
  if (opts.resourceVersionMatch) {
    if (isWatch)
      causes.push(field.forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch'));
    if (opts.resourceVersion === undefined) {
      causes.push(
        field.forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden unless resourceVersion is provided',
        ),
      );
    }
    if (opts.continue !== undefined) {
      causes.push(
        field.forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden when continue is provided',
        ),
      );
    }
    if (opts.resourceVersionMatch === 'Exact' && opts.resourceVersion === '0') {
      causes.push(
        field.forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
        ),
      );
    }
  }
  if (opts.continue !== undefined && opts.resourceVersion !== undefined && opts.resourceVersion !== '0') {
    causes.push(
      field.forbidden('resourceVersion', 'specifying resource version is not allowed when using continue'),
    );
  }
  if (causes.length > 0)
    throw invalid('ListOptions', { group: 'meta.k8s.io', resource: 'ListOptions' }, causes);
  return opts;
}

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

/** The continue token carries the list's revision and where the next page starts, like kube's. */
export function encodeContinue(revision: number, lastKey: string): string {
  const token: ContinueToken = { v: 'meta.k8s.io/v1', rv: revision, start: lastKey };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

export function decodeContinue(token: string): { revision: number; startAfter: string } | undefined {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
    if (t.v !== 'meta.k8s.io/v1' || !Number.isInteger(t.rv) || t.rv <= 0 || typeof t.start !== 'string')
      return undefined;
    return { revision: t.rv, startAfter: t.start };
  } catch {
    return undefined;
  }
}
