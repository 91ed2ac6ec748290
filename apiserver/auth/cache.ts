import { LRUCache } from 'lru-cache';

/**
 * Answers of the cluster (TokenReview, SubjectAccessReview) kept for a while, as kube's webhook
 * authenticator and authorizer keep them: bounded in size (least recently used go first), each
 * entry with its own TTL, and one request to the cluster for concurrent misses of the same key.
 */
export class DecisionCache<V extends object> {
  private readonly entries: LRUCache<string, V>;
  private readonly inflight = new Map<string, Promise<V>>();

  constructor(maxEntries = 8192) {
    this.entries = new LRUCache<string, V>({ max: maxEntries, ttlAutopurge: false });
  }

  get size(): number {
    return this.entries.size;
  }

  async getOrLoad(key: string, load: () => Promise<V>, ttlMs: (v: V) => number): Promise<V> {
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const p = load().then(
      (value) => {
        this.inflight.delete(key);
        const ttl = ttlMs(value);
        if (ttl > 0) this.entries.set(key, value, { ttl });
        return value;
      },
      (e: unknown) => {
        // failures to ask are not answers: the next request asks again
        this.inflight.delete(key);
        throw e;
      },
    );
    this.inflight.set(key, p);
    return p;
  }
}
