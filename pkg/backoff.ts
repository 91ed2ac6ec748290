/**
 * The one backoff of the project (k8s.io/apimachinery's wait.Backoff): exponential from an initial
 * delay, capped, with optional jitter. The work queue, informers, the watch cache, Events, the
 * cluster ID, leader election and conflict retries all use it.
 */
export interface BackoffOptions {
  /** The first delay. */
  initialMs: number;
  /** No delay grows past this (before jitter). */
  maxMs: number;
  /** Growth per step; 2 doubles, 1 keeps the delay constant. */
  factor?: number;
  /** Up to this fraction of the delay is added at random, so that many clients do not retry in step. */
  jitter?: number;
}

/** The delay before retry number `step` (0: the first). */
export function backoffDelay(opts: BackoffOptions, step: number): number {
  const delay = Math.min(opts.initialMs * (opts.factor ?? 2) ** step, opts.maxMs);
  return opts.jitter ? delay * (1 + Math.random() * opts.jitter) : delay;
}

/** A backoff that remembers its step: `next()` gives the delay and moves on, `reset()` starts over. */
export class Backoff {
  private step = 0;
  constructor(readonly opts: BackoffOptions) {}

  next(): number {
    return backoffDelay(this.opts, this.step++);
  }

  reset(): void {
    this.step = 0;
  }
}

/** Resolves after `ms`; the timer does not keep the process alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export interface RetryOptions extends BackoffOptions {
  /** Tries in all, the first included (unlimited when absent). */
  attempts?: number;
  /** Whether a failure may pass on another try; a false answer throws it at once. */
  retryable?: (e: unknown) => boolean;
  /** Checked before each wait: true gives up (throwing the last failure). */
  stopped?: () => boolean;
  /** Told of each failure that will be retried, and after how long. */
  onRetry?: (e: unknown, delayMs: number) => void;
}

/** Runs `fn` until it succeeds, waiting the backoff between tries. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      const last = opts.attempts !== undefined && attempt + 1 >= opts.attempts;
      if (last || opts.retryable?.(e) === false || opts.stopped?.()) throw e;
      const delay = backoffDelay(opts, attempt);
      opts.onRetry?.(e, delay);
      await sleep(delay);
    }
  }
}
