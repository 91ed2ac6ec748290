import type { AuthorizationV1Api, KubeConfig, V1SubjectAccessReviewSpec } from '@kubernetes/client-node';
import { clientNode } from './cluster';
import { internalError } from '../../pkg/apierrors';
import { DecisionCache } from './cache';
import { withTimeout } from './cluster';
import type { AuthorizationAttributes, Authorizer, Decision } from './types';

export interface SubjectAccessReviewOptions {
  /** --authorization-webhook-cache-authorized-ttl */
  authorizedTTLMs: number;
  /** --authorization-webhook-cache-unauthorized-ttl */
  unauthorizedTTLMs: number;
  timeoutMs?: number;
}

/** The review kube's webhook authorizer sends for a request. */
export function subjectAccessReviewSpec(a: AuthorizationAttributes): V1SubjectAccessReviewSpec {
  const spec: V1SubjectAccessReviewSpec = { user: a.user.username, groups: a.user.groups };
  if (a.user.uid) spec.uid = a.user.uid;
  if (a.user.extra) spec.extra = a.user.extra;
  if (a.resourceRequest) {
    spec.resourceAttributes = {
      namespace: a.namespace ?? '',
      verb: a.verb,
      group: a.group ?? '',
      version: a.version ?? '',
      resource: a.resource ?? '',
      subresource: a.subresource ?? '',
      name: a.name ?? '',
    };
  } else {
    spec.nonResourceAttributes = { path: a.path, verb: a.verb };
  }
  return spec;
}

/**
 * Delegated authorization: the cluster decides (SubjectAccessReview, authorization.k8s.io/v1), so
 * the cluster's RBAC is the policy. Decisions are cached by the whole review, allowed and denied
 * with their own TTLs. A cluster that cannot be asked is a server error (500), as in kube.
 */
export class SubjectAccessReviewAuthorizer implements Authorizer {
  private readonly api: AuthorizationV1Api;
  private readonly cache = new DecisionCache<Decision>();

  constructor(
    kc: KubeConfig,
    private readonly opts: SubjectAccessReviewOptions,
  ) {
    this.api = kc.makeApiClient(clientNode().AuthorizationV1Api);
  }

  async authorize(attrs: AuthorizationAttributes): Promise<Decision> {
    const spec = subjectAccessReviewSpec(attrs);
    try {
      return await this.cache.getOrLoad(
        JSON.stringify(spec),
        () => this.review(spec),
        (d) => (d.allowed ? this.opts.authorizedTTLMs : this.opts.unauthorizedTTLMs),
      );
    } catch (e) {
      throw internalError(`error contacting the authorization webhook: ${(e as Error).message}`);
    }
  }

  private async review(spec: V1SubjectAccessReviewSpec): Promise<Decision> {
    const review = await withTimeout(
      this.api.createSubjectAccessReview({
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
      }),
      this.opts.timeoutMs ?? 10_000,
      'SubjectAccessReview',
    );
    const s = review.status;
    const reason = s?.reason || undefined;
    // kube treats an answer that both allows and denies as a denial
    return { allowed: Boolean(s?.allowed) && !s?.denied, reason };
  }
}
