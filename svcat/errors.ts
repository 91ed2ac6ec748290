import type { KubeError } from '../pkg/kube/client';

/** A failure the user can act on: printed as one line, exit status 1. */
export class CliError extends Error {}

/** Where the failed call went, for messages about the connection. */
export interface Target {
  server: string;
  context: string;
}

/** Network and TLS error codes of Node, in words. */
const connectionProblems: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPROTO: 'TLS handshake failed (is the server HTTPS?)',
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's certificate is self-signed and not trusted by the kubeconfig",
  SELF_SIGNED_CERT_IN_CHAIN:
    "the server's certificate is not signed by the kubeconfig's certificate authority",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    "the server's certificate is not signed by the kubeconfig's certificate authority",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    "the server's certificate is not signed by the kubeconfig's certificate authority",
  CERT_HAS_EXPIRED: "the server's certificate has expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "the server's certificate is not valid for this host name",
};

/**
 * A KubeError, told by shape: this module is loaded before (and without) the kube client, whose
 * ES-module dependencies take most of a second to load.
 */
export const isKubeError = (e: unknown): e is KubeError =>
  e instanceof Error &&
  typeof (e as KubeError).status === 'number' &&
  typeof (e as KubeError).reason === 'string';

function codeOf(e: unknown): string | undefined {
  const err = e as { code?: unknown; cause?: { code?: unknown } };
  const code = typeof err.code === 'string' ? err.code : err.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The one line printed for a failure: our own messages as they are, the API server's Status
 * message for its refusals, and for a connection that failed which server, through which context,
 * and why.
 */
export function errorLine(e: unknown, target?: Target): string {
  if (e instanceof CliError) return e.message;
  const where = target ? ` at ${target.server} (context "${target.context}")` : '';
  if (isKubeError(e)) {
    if (e.status === 401) return `the API server${where} refused the credentials: ${e.message}`;
    // a 404 without a Status body comes from a server that does not serve the group at all
    if (e.status === 404 && !e.reason)
      return `the API server${where} does not serve servicecatalog.k8s.io/v1beta1: is Service Catalog installed?`;
    return e.message;
  }
  const code = codeOf(e);
  if (code && (code in connectionProblems || /^(E[A-Z]+|ERR_TLS_\w+|\w+_CERT\w*)$/.test(code))) {
    return `cannot reach the API server${where}: ${connectionProblems[code] ?? code}`;
  }
  if ((e as Error)?.name === 'AbortError' || (e as Error)?.name === 'TimeoutError')
    return `the API server${where} did not answer in time`;
  return e instanceof Error ? e.message : String(e);
}
