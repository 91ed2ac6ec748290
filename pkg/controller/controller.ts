import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../logging';
import { WorkQueue, type RateLimiterOptions } from './queue';

/**
 * The controller framework both processes use (client-go's pattern): event handlers only queue
 * keys; workers take a key at a time from a rate-limited work queue and reconcile it.
 */

/** A started controller, stopped when leadership is lost or the process ends. */
export interface RunningController {
  name: string;
  stop(): Promise<void>;
}

/** What a reconcile asks for next: nothing (done), a retry with backoff, or a check after a delay. */
export interface ReconcileResult {
  /** Retry with this key's exponential backoff, without counting as an error. */
  requeue?: boolean;
  /** Look again after this long (polling, relists); the backoff is reset. */
  requeueAfterMs?: number;
}

/**
 * Reconciles one object by key (`namespace/name` or `name`): read the current state, take one
 * step toward the desired state, write status, return. Throwing retries with backoff.
 */
type Reconciler = (key: string) => Promise<ReconcileResult | void>;

export interface ControllerMetrics {
  reconciles: Counter<'controller' | 'result'>;
  duration: Histogram<'controller'>;
}

export function controllerMetrics(registry: Registry): ControllerMetrics {
  return {
    reconciles: new Counter({
      name: 'servicecatalog_reconcile_total',
      help: 'Reconciles by controller and result (success, requeue, error).',
      labelNames: ['controller', 'result'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'servicecatalog_reconcile_duration_seconds',
      help: 'Time spent in one reconcile, by controller.',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60],
      registers: [registry],
    }),
  };
}

/** A work queue and its workers; event handlers only enqueue keys, workers reconcile them. */
export class Controller {
  readonly queue: WorkQueue;
  private workers: Promise<void>[] = [];

  constructor(
    readonly name: string,
    private readonly reconcile: Reconciler,
    private readonly opts: {
      workers: number;
      limiter: RateLimiterOptions;
      log: Logger;
      metrics: ControllerMetrics;
    },
  ) {
    this.queue = new WorkQueue(opts.limiter);
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  run(): void {
    for (let i = 0; i < this.opts.workers; i++) this.workers.push(this.work());
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const end = this.opts.metrics.duration.startTimer({ controller: this.name });
      try {
        const result = (await this.reconcile(key)) ?? {};
        if (result.requeue) {
          this.queue.addRateLimited(key);
          this.opts.metrics.reconciles.inc({ controller: this.name, result: 'requeue' });
        } else {
          this.queue.forget(key);
          if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
          this.opts.metrics.reconciles.inc({ controller: this.name, result: 'success' });
        }
      } catch (err) {
        this.opts.log.warn(
          { controller: this.name, key, err: (err as Error).message },
          'reconcile failed; retrying with backoff',
        );
        this.opts.metrics.reconciles.inc({ controller: this.name, result: 'error' });
        this.queue.addRateLimited(key);
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }

  /** Stops handing out work and waits for reconciles in flight to finish. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.workers);
  }
}

/**
 * Runs controllers: their workers start once every informer they read has synced (none works
 * from a partial cache), and stopping waits for the reconciles in flight, then runs `afterStop`.
 */
export function runWhenSynced(
  name: string,
  informers: ReadonlyArray<{ start(resyncMs: number): Promise<void> }>,
  resyncMs: number,
  controllers: readonly Controller[],
  afterStop?: () => Promise<void>,
): RunningController {
  let stopped = false;
  const started = Promise.all(informers.map((i) => i.start(resyncMs))).then(() => {
    if (!stopped) for (const c of controllers) c.run();
  });
  started.catch(() => undefined);
  return {
    name,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(controllers.map((c) => c.stop()));
      await afterStop?.();
    },
  };
}
