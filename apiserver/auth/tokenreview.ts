import { createHash } from 'node:crypto';
import type { AuthenticationV1Api, KubeConfig } from '@kubernetes/client-node';
import { clientNode } from './cluster';
import type { User } from '../strategy/strategy';
import type { TokenAuthenticator } from './bearer';
import { DecisionCache } from './cache';
import { withTimeout } from './cluster';

export interface TokenReviewOptions {
  /** How long an answer is kept (--authentication-token-webhook-cache-ttl); 0 keeps none. */
  cacheTTLMs: number;
  timeoutMs?: number;
}

/**
 * Delegated token authentication: the cluster says whose a bearer token is (TokenReview,
 * authentication.k8s.io/v1). Answers are cached by a hash of the token, so the token itself is
 * never kept. As in kube, a review that came back with an error is not cached.
 */
export class TokenReviewAuthenticator implements TokenAuthenticator {
  private readonly api: AuthenticationV1Api;
  private readonly cache = new DecisionCache<{ user?: User; error?: string }>();

  constructor(
    kc: KubeConfig,
    private readonly opts: TokenReviewOptions,
  ) {
    this.api = kc.makeApiClient(clientNode().AuthenticationV1Api);
  }

  async authenticateToken(token: string): Promise<User | undefined> {
    const key = createHash('sha256').update(token).digest('base64');
    const answer = await this.cache.getOrLoad(
      key,
      () => this.review(token),
      (a) => (a.error ? 0 : this.opts.cacheTTLMs),
    );
    if (answer.error) throw new Error(answer.error);
    const u = answer.user;
    return u && { ...u, groups: [...u.groups], extra: u.extra && structuredClone(u.extra) };
  }

  private async review(token: string): Promise<{ user?: User; error?: string }> {
    const review = await withTimeout(
      this.api.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      }),
      this.opts.timeoutMs ?? 10_000,
      'TokenReview',
    );
    const status = review.status;
    if (!status?.authenticated) return status?.error ? { error: status.error } : {};
    const u = status.user ?? {};
    const user: User = { username: u.username ?? '', groups: [...(u.groups ?? [])] };
    if (u.uid) user.uid = u.uid;
    if (u.extra && Object.keys(u.extra).length > 0) user.extra = u.extra;
    return { user };
  }
}
