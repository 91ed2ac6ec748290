import type { Logger } from '../../pkg/logging';
import type { User } from '../strategy/strategy';
import { StatusError, unauthorized } from '../../pkg/apierrors';
import { CredentialsRejected, type AuthenticationRequest, type Authenticator } from './types';

export const allAuthenticated = 'system:authenticated';
export const allUnauthenticated = 'system:unauthenticated';

export interface UnionOptions {
  /** --anonymous-auth: a request that presents no credentials at all is system:anonymous. */
  anonymous: boolean;
  logger?: Logger;
}

/** kube's AuthenticatedGroupAdder: every authenticated user is in system:authenticated. */
function withAuthenticatedGroup(u: User): User {
  if (u.groups.includes(allAuthenticated) || u.groups.includes(allUnauthenticated)) return u;
  return { ...u, groups: [...u.groups, allAuthenticated] };
}

/**
 * The authentication chain, in kube's order (front proxy, client certificate, bearer tokens): the
 * first that recognises the request wins. Credentials that were presented and refused make the
 * request 401 unless a later authenticator recognises it; they never fall back to anonymous. A
 * request with no credentials is anonymous (undefined here, system:anonymous to the server) when
 * --anonymous-auth allows, 401 otherwise.
 */
export class UnionAuthenticator implements Authenticator {
  constructor(
    private readonly authenticators: Authenticator[],
    private readonly opts: UnionOptions,
  ) {}

  async authenticate(req: AuthenticationRequest): Promise<User | undefined> {
    let rejected: string[] | undefined;
    for (const a of this.authenticators) {
      try {
        const user = await a.authenticate(req);
        if (user) return withAuthenticatedGroup(user);
      } catch (e) {
        if (!(e instanceof StatusError) || e.code !== 401) throw e;
        (rejected ??= []).push(e instanceof CredentialsRejected ? e.detail : e.message);
      }
    }
    if (rejected) {
      this.opts.logger?.info({ reasons: rejected }, 'unable to authenticate the request');
      throw unauthorized('Unauthorized');
    }
    if (this.opts.anonymous) return undefined;
    throw unauthorized('Unauthorized');
  }
}
