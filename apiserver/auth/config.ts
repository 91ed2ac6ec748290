import { readFileSync } from 'node:fs';
import type { Logger } from '../../pkg/logging';
import { AuthenticatedUsersAuthorizer, PrivilegedGroupsAuthorizer, UnionAuthorizer } from './authorizers';
import { BearerTokenAuthenticator, type TokenAuthenticator } from './bearer';
import { loadKubeConfig, readAuthenticationConfigMap } from './cluster';
import { PolicyFileAuthorizer } from './policy-file';
import { RequestHeaderAuthenticator, type RequestHeaderConfig } from './requestheader';
import { SubjectAccessReviewAuthorizer } from './subjectaccessreview';
import { TokenFile } from './token-file';
import { TokenReviewAuthenticator } from './tokenreview';
import type { Authenticator, Authorizer } from './types';
import { UnionAuthenticator } from './union';
import { X509Authenticator } from './x509';

/** Authentication and authorization flags, as kube's delegating options name them. */
export interface AuthOptions {
  clientCAFile?: string;
  requestHeader: {
    clientCAFile?: string;
    allowedNames: string[];
    usernameHeaders: string[];
    uidHeaders: string[];
    groupHeaders: string[];
    extraHeaderPrefixes: string[];
  };
  tokenAuthFile?: string;
  anonymous: boolean;
  /** The cluster that reviews tokens and holds the authentication ConfigMap; in-cluster when absent. */
  authenticationKubeconfig?: string;
  /** Do not read kube-system/extension-apiserver-authentication. */
  skipLookup: boolean;
  /** Start anyway when that ConfigMap cannot be read. */
  tolerateLookupFailure: boolean;
  tokenCacheTTLMs: number;
  /** The cluster that answers SubjectAccessReviews; in-cluster when absent. */
  authorizationKubeconfig?: string;
  authorizedTTLMs: number;
  unauthorizedTTLMs: number;
  policyFile?: string;
  alwaysAllowPaths: string[];
}

/** What the server is given: who a request is from, what they may do, and the TLS client CAs. */
export interface ServerAuth {
  authenticator: Authenticator;
  authorizer: Authorizer;
  alwaysAllowPaths: string[];
  /** Every CA a client certificate may chain to, for the TLS CertificateRequest; none when undefined. */
  clientCAs?: string;
}

/**
 * Builds the chains from the flags, looking up what is missing in the cluster as kube's delegating
 * authentication does: the client CA and the front-proxy settings come from the
 * extension-apiserver-authentication ConfigMap unless given as flags.
 */
export async function buildAuth(o: AuthOptions, log: Logger): Promise<ServerAuth> {
  const authnCluster = loadKubeConfig(o.authenticationKubeconfig);
  let clientCA = o.clientCAFile ? readFileSync(o.clientCAFile, 'utf8') : undefined;
  let requestHeader: RequestHeaderConfig | undefined = o.requestHeader.clientCAFile
    ? { ...o.requestHeader, clientCA: readFileSync(o.requestHeader.clientCAFile, 'utf8') }
    : undefined;

  if ((!clientCA || !requestHeader) && !o.skipLookup) {
    if (!authnCluster) {
      log.warn(
        'no --authentication-kubeconfig and not in a cluster: client CA and front-proxy settings come only from flags',
      );
    } else {
      try {
        const published = await readAuthenticationConfigMap(authnCluster);
        clientCA ??= published?.clientCA;
        requestHeader ??= published?.requestHeader;
      } catch (e) {
        if (!o.tolerateLookupFailure) throw e;
        log.warn(
          { err: (e as Error).message },
          'continuing without the cluster authentication configuration',
        );
      }
    }
  }

  const authenticators: Authenticator[] = [];
  if (requestHeader) authenticators.push(new RequestHeaderAuthenticator(requestHeader));
  if (clientCA) authenticators.push(new X509Authenticator(clientCA));
  const tokens: TokenAuthenticator[] = [];
  if (o.tokenAuthFile) tokens.push(TokenFile.fromFile(o.tokenAuthFile));
  if (authnCluster)
    tokens.push(new TokenReviewAuthenticator(authnCluster, { cacheTTLMs: o.tokenCacheTTLMs }));
  if (tokens.length > 0) authenticators.push(new BearerTokenAuthenticator(tokens));

  const authorizers: Authorizer[] = [new PrivilegedGroupsAuthorizer(['system:masters'])];
  if (o.policyFile) authorizers.push(PolicyFileAuthorizer.fromFile(o.policyFile));
  const authzCluster = loadKubeConfig(o.authorizationKubeconfig);
  if (authzCluster) {
    authorizers.push(
      new SubjectAccessReviewAuthorizer(authzCluster, {
        authorizedTTLMs: o.authorizedTTLMs,
        unauthorizedTTLMs: o.unauthorizedTTLMs,
      }),
    );
  }
  if (!o.policyFile && !authzCluster) authorizers.push(new AuthenticatedUsersAuthorizer());

  log.info(
    {
      authentication: [
        requestHeader && 'requestheader',
        clientCA && 'x509',
        o.tokenAuthFile && 'token-file',
        authnCluster && 'tokenreview',
        o.anonymous && 'anonymous',
      ].filter(Boolean),
      authorization: [
        o.policyFile && 'policy-file',
        authzCluster && 'subjectaccessreview',
        !o.policyFile && !authzCluster && 'authenticated-users',
      ].filter(Boolean),
    },
    'authentication and authorization',
  );
  const cas = [requestHeader?.clientCA, clientCA].filter((c): c is string => Boolean(c));
  return {
    authenticator: new UnionAuthenticator(authenticators, { anonymous: o.anonymous, logger: log }),
    authorizer: new UnionAuthorizer(authorizers),
    alwaysAllowPaths: o.alwaysAllowPaths,
    clientCAs: cas.length > 0 ? cas.join('\n') : undefined,
  };
}
