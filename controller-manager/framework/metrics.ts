import { Gauge, type Registry } from 'prom-client';
import { conditionStatusValues } from '../../api-types/common';
import { conditionOf, type Condition } from './conditions';

type Collect = (set: (labels: Record<string, string>, value: number) => void) => void;

const collectors = new WeakMap<Registry, Map<string, Map<string, Collect>>>();

/**
 * A gauge counted when scraped, by every source that counts into it (one per controller). A
 * source registered again replaces the old one: a controller started again on the same registry
 * (leadership regained, tests) counts from its own caches.
 */
function scrapedGauge(
  registry: Registry,
  gauge: { name: string; help: string; labelNames: string[] },
  source: string,
  collect: Collect,
): void {
  let byName = collectors.get(registry);
  if (!byName) collectors.set(registry, (byName = new Map<string, Map<string, Collect>>()));
  let sources = byName.get(gauge.name);
  if (!sources) {
    const all = new Map<string, Collect>();
    byName.set(gauge.name, (sources = all));
    new Gauge({
      ...gauge,
      registers: [registry],
      collect() {
        for (const c of all.values()) c((labels, value) => this.set(labels, value));
      },
    });
  }
  sources.set(source, collect);
}

/** The one gauge of asynchronous broker operations being polled; each controller counts its kind. */
export function asyncOperationsGauge(registry: Registry, kind: string, count: () => number): void {
  scrapedGauge(
    registry,
    {
      name: 'servicecatalog_async_operations_in_flight',
      help: 'Asynchronous broker operations being polled, by kind (ServiceInstance, ServiceBinding).',
      labelNames: ['kind'],
    },
    kind,
    (set) => set({ kind }, count()),
  );
}

/**
 * Objects by condition type and status (every pair reported, 0 included), counted from the cache
 * when scraped. An object without a condition of a type in `unsetAsUnknown` counts as Unknown.
 */
export function conditionsGauge<C extends Condition>(
  registry: Registry,
  gauge: { name: string; help: string },
  types: readonly C['type'][],
  list: () => Array<{ status?: { conditions?: C[] } }>,
  unsetAsUnknown: readonly C['type'][] = [],
): void {
  scrapedGauge(registry, { ...gauge, labelNames: ['condition', 'status'] }, gauge.name, (set) => {
    const counts = new Map<string, number>();
    for (const type of types) for (const status of conditionStatusValues) counts.set(`${type}/${status}`, 0);
    for (const obj of list()) {
      for (const type of types) {
        const status =
          conditionOf(obj, type)?.status ?? (unsetAsUnknown.includes(type) ? 'Unknown' : undefined);
        if (status) counts.set(`${type}/${status}`, (counts.get(`${type}/${status}`) ?? 0) + 1);
      }
    }
    for (const [k, v] of counts) {
      const [condition, status] = k.split('/');
      set({ condition, status }, v);
    }
  });
}
