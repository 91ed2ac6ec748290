import { Counter, Histogram, type Registry } from 'prom-client';
import type { OSBMethod } from './errors';

const REQUEST_COUNT = 'servicecatalog_osb_request_count';
const REQUEST_DURATION = 'servicecatalog_osb_request_duration_seconds';

/** `status` label of a call that got no HTTP response. */
export type OSBOutcome = number | 'timeout' | 'error';

/**
 * The OSB client's metrics, in the registry the process passes in. Several clients (one per
 * broker) share one OSBMetrics; the `broker` label tells them apart.
 */
export class OSBMetrics {
  private readonly count: Counter<'broker' | 'method' | 'status'>;
  private readonly duration: Histogram<'broker' | 'method'>;

  constructor(registry: Registry) {
    // prom-client refuses a second registration of a name; reuse what an earlier OSBMetrics made.
    this.count =
      (registry.getSingleMetric(REQUEST_COUNT) as Counter<'broker' | 'method' | 'status'> | undefined) ??
      new Counter({
        name: REQUEST_COUNT,
        help: 'Requests sent to service brokers, by HTTP status (or timeout/error when there was no response).',
        labelNames: ['broker', 'method', 'status'],
        registers: [registry],
      });
    this.duration =
      (registry.getSingleMetric(REQUEST_DURATION) as Histogram<'broker' | 'method'> | undefined) ??
      new Histogram({
        name: REQUEST_DURATION,
        help: 'Time from sending a request to a service broker to having read its response.',
        labelNames: ['broker', 'method'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers: [registry],
      });
  }

  observe(broker: string, method: OSBMethod, outcome: OSBOutcome, seconds: number): void {
    this.count.inc({ broker, method, status: String(outcome) });
    this.duration.observe({ broker, method }, seconds);
  }
}
