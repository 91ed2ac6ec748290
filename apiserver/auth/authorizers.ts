import type { AuthorizationAttributes, Authorizer, Decision } from './types';
import { allAuthenticated } from './union';

/** kube's union authorizer: the first that allows wins; otherwise the last reason given. */
export class UnionAuthorizer implements Authorizer {
  constructor(private readonly authorizers: Authorizer[]) {}

  async authorize(attrs: AuthorizationAttributes): Promise<Decision> {
    let reason: string | undefined;
    for (const a of this.authorizers) {
      const d = await a.authorize(attrs);
      if (d.allowed) return d;
      reason = d.reason ?? reason;
    }
    return { allowed: false, reason };
  }
}

/**
 * Members of these groups may do anything, without asking anyone: kube's delegated authorization
 * does this for system:masters, which the cluster would allow anyway.
 */
export class PrivilegedGroupsAuthorizer implements Authorizer {
  private readonly groups: Set<string>;

  constructor(groups: string[]) {
    this.groups = new Set(groups);
  }

  async authorize(attrs: AuthorizationAttributes): Promise<Decision> {
    return { allowed: attrs.user.groups.some((g) => this.groups.has(g)) };
  }
}

/** With no cluster and no policy file: whoever authenticated may do anything, anonymous nothing. */
export class AuthenticatedUsersAuthorizer implements Authorizer {
  async authorize(attrs: AuthorizationAttributes): Promise<Decision> {
    return { allowed: attrs.user.groups.includes(allAuthenticated) };
  }
}
