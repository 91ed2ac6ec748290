import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import { eventResource, type Event } from '../../api-types/core';
import type { KubeObject } from '../../api-types/meta';
import { isNotFound, KubeError, type KubeClient } from '../../pkg/kube/client';
import type { Logger } from '../../pkg/logging';
import type { EventRecorder } from '../context';
import { rfc3339 } from '../../pkg/time';
import { retry } from '../../pkg/backoff';

const eventComponent = 'service-catalog-controller-manager';

/** kube's EventCorrelator: an identical event within this window bumps the existing one. */
const aggregationWindowMs = 10 * 60_000;
/** kube's EventAggregator: this many distinct messages for one (object, type, reason) in the window... */
const similarEventsBeforeCombining = 10;
const combinedPrefix = '(combined from similar events): ';
/** LRU sizes of kube's correlator caches. */
const cacheSize = 4096;
/** Events waiting to be written beyond this are dropped, as kube's broadcaster drops them. */
const maxQueued = 1000;
const writeAttempts = 3;

interface EventRecorderOptions {
  client: KubeClient;
  log: Logger;
  component?: string;
  metrics?: Registry;
  now?: () => number;
}

interface Pending {
  obj: KubeObject;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  at: number;
}

interface Observed {
  namespace: string;
  name: string;
  count: number;
  firstTimestamp: string;
  lastSeen: number;
}

/**
 * Writes core/v1 Events about objects, like client-go's recorder: in the object's namespace
 * ("default" for cluster-scoped objects), the same event again within ten minutes patched onto
 * the existing one (count + 1, lastTimestamp) instead of a new Event, and more than ten distinct
 * messages for one (object, type, reason) combined into one "(combined from similar events)"
 * Event. Recording never waits: events go through an internal queue written in the background,
 * and failures are only logged.
 */
export class Recorder implements EventRecorder {
  private readonly queue: Pending[] = [];
  private readonly observed = new LRUCache<string, Observed>({ max: cacheSize });
  private readonly similar = new LRUCache<string, { messages: Set<string>; since: number }>({
    max: cacheSize,
  });
  private draining?: Promise<void>;
  private stopped = false;
  private lastNano = 0n;
  private readonly component: string;
  private readonly now: () => number;
  private readonly dropped?: Counter<'reason'>;

  constructor(private readonly opts: EventRecorderOptions) {
    this.component = opts.component ?? eventComponent;
    this.now = opts.now ?? Date.now;
    if (opts.metrics) {
      this.dropped = new Counter({
        name: 'servicecatalog_events_dropped_total',
        help: 'Events not written, by reason (queue-full, error).',
        labelNames: ['reason'],
        registers: [opts.metrics],
      });
    }
  }

  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.stopped) return;
    if (this.queue.length >= maxQueued) {
      this.dropped?.inc({ reason: 'queue-full' });
      this.opts.log.warn({ reason, object: obj.metadata.name }, 'event queue full; dropping event');
      return;
    }
    this.queue.push({
      obj: structuredClone({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata }),
      type,
      reason,
      message,
      at: this.now(),
    });
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** Resolves once every event recorded so far has been written (or given up on). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Records nothing more; writes what is queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.flush();
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      try {
        await this.write(next);
      } catch (e) {
        this.dropped?.inc({ reason: 'error' });
        this.opts.log.warn(
          { reason: next.reason, object: next.obj.metadata.name, err: (e as Error).message },
          'could not write event',
        );
      }
    }
  }

  private async write(p: Pending): Promise<void> {
    const meta = p.obj.metadata;
    const namespace = meta.namespace || 'default';
    const involvedObject = {
      kind: p.obj.kind,
      apiVersion: p.obj.apiVersion,
      name: meta.name,
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      uid: meta.uid,
      resourceVersion: meta.resourceVersion,
    };
    const objectKey = JSON.stringify([
      involvedObject.kind,
      involvedObject.apiVersion,
      namespace,
      meta.name,
      meta.uid,
      p.type,
      p.reason,
    ]);

    let message = p.message;
    let key = JSON.stringify([objectKey, message]);
    const similar = this.similar.get(objectKey);
    const group =
      similar && p.at - similar.since <= aggregationWindowMs
        ? similar
        : { messages: new Set<string>(), since: p.at };
    group.messages.add(message);
    this.similar.set(objectKey, group);
    if (group.messages.size >= similarEventsBeforeCombining) {
      message = `${combinedPrefix}${message}`;
      key = JSON.stringify([objectKey, combinedPrefix]);
    }

    const seen = this.observed.get(key);
    if (seen && p.at - seen.lastSeen <= aggregationWindowMs) {
      const count = seen.count + 1;
      try {
        await this.withRetries(() =>
          this.opts.client.patch(eventResource, seen.namespace, seen.name, {
            count,
            lastTimestamp: rfc3339(p.at),
            message,
          }),
        );
        this.observed.set(key, { ...seen, count, lastSeen: p.at });
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        // the Event expired or was deleted: write it again with the count it has reached
        this.observed.delete(key);
        return this.create(key, namespace, involvedObject, p, message, count, seen.firstTimestamp);
      }
    }
    return this.create(key, namespace, involvedObject, p, message, 1, rfc3339(p.at));
  }

  private async create(
    key: string,
    namespace: string,
    involvedObject: Record<string, unknown>,
    p: Pending,
    message: string,
    count: number,
    firstTimestamp: string,
  ): Promise<void> {
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${p.obj.metadata.name}.${this.nanoTime(p.at).toString(16)}`, namespace },
      involvedObject,
      reason: p.reason,
      message,
      type: p.type,
      count,
      firstTimestamp,
      lastTimestamp: rfc3339(p.at),
      source: { component: this.component },
      reportingComponent: this.component,
    };
    const created = await this.withRetries(() => this.opts.client.create(eventResource, event));
    this.observed.set(key, {
      namespace,
      name: created.metadata.name!,
      count,
      firstTimestamp,
      lastSeen: p.at,
    });
  }

  /** kube names events <object>.<unix nanoseconds in hex>; strictly increasing so names never clash. */
  private nanoTime(ms: number): bigint {
    const t = BigInt(ms) * 1_000_000n;
    this.lastNano = t > this.lastNano ? t : this.lastNano + 1n;
    return this.lastNano;
  }

  /** Retries what may pass on a second try (network, 5xx, 429); a refusal is final. */
  private withRetries<T>(fn: () => Promise<T>): Promise<T> {
    return retry(fn, {
      initialMs: 250,
      maxMs: 1000,
      attempts: writeAttempts,
      retryable: (e) => !(e instanceof KubeError) || e.status >= 500 || e.status === 429,
      stopped: () => this.stopped,
    });
  }
}
