import { methodNotAllowed, pathNotFound } from '../../pkg/apierrors';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** What a resource request is about, parsed from its method and URL like k8s.io/apiserver's RequestInfo. */
export interface RequestInfo {
  verb: Verb;
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

// subresources of a namespace itself, which must not be taken for a resource inside the namespace
const namespaceSubresources = new Set(['status', 'finalize']);

/**
 * Parses `/apis/<g>/<v>/...` and `/api/v1/...` resource paths; undefined when the path is not a
 * resource path (discovery is served elsewhere).
 */
export function parseRequestInfo(
  method: string,
  path: string,
  query: Record<string, unknown>,
): RequestInfo | undefined {
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    rest = parts.slice(1);
  } else {
    return undefined;
  }
  const version = rest[0];
  let segs = rest.slice(1);
  let legacyWatch = false;
  if (segs[0] === 'watch') {
    legacyWatch = true;
    segs = segs.slice(1);
  }
  let namespace: string | undefined;
  // /namespaces/<ns>/<resource>... is scoped to <ns>; /namespaces/<name>[/status|/finalize] is the
  // namespace object itself, which lives in no namespace
  if (segs[0] === 'namespaces' && segs.length > 2 && !namespaceSubresources.has(segs[2])) {
    namespace = segs[1];
    segs = segs.slice(2);
  }
  if (segs.length === 0 || segs.length > 3) return undefined;
  const [resource, name, subresource] = segs;
  const watch = legacyWatch || query.watch === 'true' || query.watch === '1';
  let verb: Verb;
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = watch ? 'watch' : name === undefined ? 'list' : 'get';
      break;
    case 'POST':
      if (name !== undefined) throw methodNotAllowed(method, `${resource}/${subresource ?? name}`);
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name === undefined ? 'deletecollection' : 'delete';
      break;
    default:
      throw methodNotAllowed(method, resource);
  }
  if ((verb === 'update' || verb === 'patch') && name === undefined) throw methodNotAllowed(method, resource);
  if (legacyWatch && verb !== 'watch') throw pathNotFound();
  return { verb, group, version, resource, namespace, name, subresource };
}
