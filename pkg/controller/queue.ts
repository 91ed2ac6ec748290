import { backoffDelay } from '../backoff';

export interface RateLimiterOptions {
  /** First per-item retry delay. */
  baseDelayMs: number;
  /** Cap of the per-item exponential backoff. */
  maxDelayMs: number;
  /** Overall retries per second across all items (token bucket), and its burst. */
  qps: number;
  burst: number;
}

export const defaultRateLimiter: RateLimiterOptions = {
  baseDelayMs: 1000,
  maxDelayMs: 20 * 60_000,
  qps: 10,
  burst: 100,
};

/**
 * A work queue like client-go's: a key is queued at most once, never handed to two workers at
 * once (a key added while being processed is queued again when its worker is done), with delayed
 * adds and per-item exponential backoff combined with a global token bucket for retries.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private tokens: number;
  private lastRefill = Date.now();
  private shuttingDown = false;

  constructor(private readonly limiter: RateLimiterOptions = defaultRateLimiter) {
    this.tokens = limiter.burst;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      this.queue.push(key);
    }
  }

  /** Adds after a delay; an earlier pending delayed add of the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Adds after this key's next backoff step (and the global bucket's), and counts the failure. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const perItem = backoffDelay({ initialMs: this.limiter.baseDelayMs, maxMs: this.limiter.maxDelayMs }, n);
    this.addAfter(key, Math.max(perItem, this.bucketDelay()));
  }

  private bucketDelay(): number {
    const now = Date.now();
    this.tokens = Math.min(
      this.limiter.burst,
      this.tokens + ((now - this.lastRefill) / 1000) * this.limiter.qps,
    );
    this.lastRefill = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.limiter.qps) * 1000;
  }

  /** Clears the failure count of a key that succeeded. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to work on; undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks a key's processing finished; re-queues it if it was added meanwhile. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  get length(): number {
    return this.queue.length;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}
