/**
 * Answers of the cluster (TokenReview, SubjectAccessReview) kept for a while, as kube's webhook
 * authenticator and authorizer keep them: bounded in size, each entry with its own TTL, and one
 * request to the cluster for concurrent misses of the same key.
 */
export class DecisionCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private readonly inflight = new Map<string, Promise<V>>();

  constructor(private readonly maxEntries = 8192) {}

  get size(): number {
    return this.entries.size;
  }

  async getOrLoad(key: string, load: () => Promise<V>, ttlMs: (v: V) => number): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      if (hit.expires > Date.now()) return hit.value;
      this.entries.delete(key);
    }
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const p = load().then(
      (value) => {
        this.inflight.delete(key);
        const ttl = ttlMs(value);
        if (ttl > 0) this.put(key, value, ttl);
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

  private put(key: string, value: V, ttlMs: number): void {
    if (this.entries.size >= this.maxEntries) {
      // Map iterates in insertion order: drop the oldest
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expires: Date.now() + ttlMs });
  }
}
