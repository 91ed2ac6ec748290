import type { KubeObject } from '../../api-types/meta';
import { StorageError } from './errors';
import type { ResourceStore, StorageEvent, WatchHandle } from './store';
import { retry } from '../backoff';

/** Reads one string from an object, for field-selector indexes. */
export type Indexer = (obj: KubeObject) => string | undefined;

export interface WatchCacheOptions {
  /** How many recent events are kept to serve watches that start in the past. */
  capacity?: number;
  indexers?: Record<string, Indexer>;
  onError?: (e: Error) => void;
}

/** A subscriber; it gets every event after its start revision and filters for itself. */
export interface CacheWatcher {
  send(event: StorageEvent): void;
  /** The cache re-listed from etcd (after losing its watch): the subscriber must end. */
  close(): void;
}

export interface Subscription {
  unsubscribe(): void;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function lowerBound(keys: string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One resource's objects held in memory and kept current by a single etcd watch. It serves
 * resourceVersion=0 reads, indexed field-selector lists and every client watch, so N watchers cost
 * one etcd watch. Objects handed out are shared: callers must not mutate them.
 */
export class WatchCache {
  private readonly objects = new Map<string, KubeObject>();
  /** Keys in sorted order, so lists come out in etcd's order and namespace lists are a range. */
  private keys: string[] = [];
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private events: StorageEvent[] = [];
  /** Every event with a revision above this one is in `events`. */
  private windowStart = 0;
  private readonly watchers = new Set<CacheWatcher>();
  private readonly waiters = new Set<{ revision: number; resolve: () => void }>();
  private etcdWatch?: WatchHandle;
  private stopped = false;
  private readonly capacity: number;
  /** The revision the cache reflects. */
  revision = 0;
  ready: Promise<void>;
  synced = false;

  constructor(
    private readonly store: ResourceStore,
    private readonly opts: WatchCacheOptions = {},
  ) {
    this.capacity = opts.capacity ?? 1000;
    for (const field of Object.keys(opts.indexers ?? {})) this.indexes.set(field, new Map());
    this.ready = this.start();
  }

  /** Fills the cache and starts watching; failures (etcd away) are retried every second until stopped. */
  private async start(): Promise<void> {
    await retry(
      async () => {
        // read in pages at one revision, so no single etcd answer has to hold every object
        let page = await this.store.list({ limit: 1000 });
        const revision = page.revision;
        const items = page.items;
        while (page.remaining > 0) {
          page = await this.store.list({ limit: 1000, revision, startAfter: page.lastKey });
          items.push(...page.items);
        }
        this.reset(items, revision);
        this.etcdWatch = await this.store.watch(
          revision,
          (events) => this.apply(events),
          (e) => this.restart(e),
        );
        this.synced = true;
      },
      {
        initialMs: 1000,
        maxMs: 1000,
        factor: 1,
        stopped: () => this.stopped,
        onRetry: (e) => this.opts.onError?.(e as Error),
      },
    ).catch(() => {
      // stopped before the cache could be filled: nobody waits for it any more
    });
  }

  /** Losing the etcd watch (compaction, etcd restart) means events may be missed: start over. */
  private restart(e: Error): void {
    if (this.stopped) return;
    this.opts.onError?.(e);
    this.synced = false;
    void this.etcdWatch?.stop();
    for (const w of this.watchers) w.close();
    this.watchers.clear();
    this.ready = this.start();
  }

  private reset(items: KubeObject[], revision: number): void {
    this.objects.clear();
    for (const idx of this.indexes.values()) idx.clear();
    const keys: string[] = [];
    for (const obj of items) {
      const key = this.store.relativeKey(obj.metadata.namespace, obj.metadata.name ?? '');
      this.objects.set(key, obj);
      this.index(key, obj, true);
      keys.push(key);
    }
    this.keys = keys.sort(byKey);
    this.events = [];
    this.windowStart = revision;
    this.advance(revision);
  }

  private index(key: string, obj: KubeObject, add: boolean): void {
    for (const [field, fn] of Object.entries(this.opts.indexers ?? {})) {
      const value = fn(obj) ?? '';
      const idx = this.indexes.get(field)!;
      let set = idx.get(value);
      if (add) {
        if (!set) idx.set(value, (set = new Set()));
        set.add(key);
      } else if (set) {
        set.delete(key);
        if (set.size === 0) idx.delete(value);
      }
    }
  }

  private apply(events: StorageEvent[]): void {
    for (const ev of events) {
      if (ev.revision <= this.revision) continue;
      const old = this.objects.get(ev.key);
      if (old) this.index(ev.key, old, false);
      if (ev.type === 'DELETED') {
        if (old) {
          this.objects.delete(ev.key);
          this.keys.splice(lowerBound(this.keys, ev.key), 1);
        }
      } else {
        if (!old) this.keys.splice(lowerBound(this.keys, ev.key), 0, ev.key);
        this.objects.set(ev.key, ev.object);
        this.index(ev.key, ev.object, true);
      }
      this.events.push(ev);
      if (this.events.length > this.capacity) {
        const dropped = this.events.splice(0, this.events.length - this.capacity);
        this.windowStart = dropped[dropped.length - 1].revision;
      }
      for (const w of this.watchers) w.send(ev);
      this.advance(ev.revision);
    }
  }

  private advance(revision: number): void {
    this.revision = Math.max(this.revision, revision);
    for (const w of this.waiters) {
      if (w.revision <= this.revision) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }

  /** Resolves once the cache has seen `revision`; TooLargeResourceVersion after timeoutMs. */
  async waitForRevision(revision: number, timeoutMs = 3000): Promise<void> {
    await this.ready;
    if (revision <= this.revision) return;
    await new Promise<void>((resolve, reject) => {
      const waiter = { revision, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new StorageError(
            'TooLargeResourceVersion',
            `Too large resource version: ${revision}, current: ${this.revision}`,
            this.revision,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(this.store.relativeKey(namespace, name));
  }

  /** Objects in key order, all or one namespace's, optionally only those whose indexed field equals a value. */
  list(namespace?: string, index?: { field: string; value: string }): KubeObject[] {
    let keys: string[];
    if (index && this.indexes.has(index.field)) {
      keys = [...(this.indexes.get(index.field)!.get(index.value) ?? [])].sort(byKey);
      if (namespace !== undefined && this.store.namespaced)
        keys = keys.filter((k) => k.startsWith(`${namespace}/`));
    } else if (namespace !== undefined && this.store.namespaced) {
      const from = lowerBound(this.keys, `${namespace}/`);
      const to = lowerBound(this.keys, `${namespace}0`); // '0' sorts right after '/'
      keys = this.keys.slice(from, to);
    } else {
      keys = this.keys;
    }
    return keys.map((k) => this.objects.get(k)!);
  }

  hasIndex(field: string): boolean {
    return this.indexes.has(field);
  }

  get size(): number {
    return this.objects.size;
  }

  /**
   * Subscribes a watcher to events after `afterRevision`, first replaying the buffered ones it
   * missed. Throws Expired when events after that revision already left the buffer; the caller
   * may then watch etcd directly, which still has them unless compacted.
   */
  watch(afterRevision: number, w: CacheWatcher): Subscription {
    if (afterRevision < this.windowStart) {
      throw new StorageError('Expired', `too old resource version: ${afterRevision} (${this.windowStart})`);
    }
    for (const ev of this.events) if (ev.revision > afterRevision) w.send(ev);
    this.watchers.add(w);
    return { unsubscribe: () => this.watchers.delete(w) };
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers.clear();
    await this.etcdWatch?.stop();
  }
}
