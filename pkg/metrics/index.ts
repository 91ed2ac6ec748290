import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One prom-client registry per process. Processes create it at start-up and pass it to the
 * modules that record metrics, so tests can run several servers in one process without clashes.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export { Registry };
