import type { User } from '../strategy/strategy';
import { CredentialsRejected, type AuthenticationRequest, type Authenticator } from './types';

/** One source of truth about bearer tokens: the user a token belongs to, undefined when unknown. */
export interface TokenAuthenticator {
  authenticateToken(token: string): Promise<User | undefined>;
}

/** The token of `Authorization: Bearer <token>`; undefined without one. */
export function bearerToken(req: AuthenticationRequest): string | undefined {
  const auth = req.headers.authorization;
  if (!auth) return undefined;
  const m = /^bearer\s+(\S+)\s*$/i.exec(auth);
  return m?.[1];
}

/**
 * Authorization: Bearer, checked against each token source in turn. As kube's bearertoken
 * authenticator, a token no source recognises is an error ("invalid bearer token"), never a fall back
 * to anonymous.
 */
export class BearerTokenAuthenticator implements Authenticator {
  constructor(private readonly sources: TokenAuthenticator[]) {}

  async authenticate(req: AuthenticationRequest): Promise<User | undefined> {
    const token = bearerToken(req);
    if (token === undefined) return undefined;
    const errors: string[] = [];
    for (const source of this.sources) {
      try {
        const user = await source.authenticateToken(token);
        if (user) return user;
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    throw new CredentialsRejected(errors.length > 0 ? errors.join('; ') : 'invalid bearer token');
  }
}
