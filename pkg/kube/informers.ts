import type { KubeObject } from '../../api-types/meta';
import type { Logger } from '../logging';
import { apiVersionOf, type ResourceType } from '../../api-types/resource';
import type { CachedInformer, KubeClient } from './client';
import { Backoff } from '../backoff';

export const keyOf = (obj: KubeObject): string =>
  obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : (obj.metadata.name ?? '');

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

type ChangeHandler<T extends KubeObject> = (obj: T, old?: T) => void;

/**
 * One informer per kind, shared by every controller that reads that kind: list, then watch from
 * the list's resourceVersion; a 410 Gone (history compacted) makes client-node list again, and
 * any other watch failure restarts it here from the last resourceVersion seen, with backoff.
 */
export class SharedInformer<T extends KubeObject> {
  private readonly handlers: ChangeHandler<T>[] = [];
  private resync?: NodeJS.Timeout;
  private restartTimer?: NodeJS.Timeout;
  /** Between failed list/watch attempts: 1 s doubling to 30 s, reset by a success. */
  private readonly restartBackoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
  private stopped = false;
  private starting = false;
  private startFailed?: unknown;
  private started?: Promise<void>;
  private resolveStarted?: () => void;
  /** True once the first list is in the cache. */
  synced = false;

  constructor(
    readonly type: ResourceType,
    private readonly informer: CachedInformer<T>,
    private readonly log: Logger,
  ) {
    // list items carry no kind on kube-apiserver; events and owner references need it
    const apiVersion = apiVersionOf(type);
    const stamp = (o: unknown): T => {
      const obj = o as T;
      obj.apiVersion ??= apiVersion;
      obj.kind ??= type.kind;
      return obj;
    };
    informer.on('add', (o) => this.dispatch(stamp(o)));
    informer.on('update', (o) => this.dispatch(stamp(o)));
    informer.on('delete', (o) => this.dispatch(stamp(o)));
    // client-node reports a failed list or watch and stops, except on 410 where it relists itself
    informer.on('error', (err) => {
      if (this.stopped) return;
      if (this.starting) {
        this.startFailed = err ?? new Error('unknown error');
        return;
      }
      this.log.warn({ kind: type.kind, err: describe(err) }, 'watch failed; restarting');
      this.restartSoon();
    });
  }

  private dispatch(obj: T): void {
    for (const h of this.handlers) h(obj);
  }

  /**
   * Called on every add, update and delete (and on each resync for every object). A handler added
   * once the cache is filled first gets every cached object, as client-go does, so controllers
   * started late still see everything.
   */
  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
    if (this.synced) {
      const existing = this.list();
      queueMicrotask(() => existing.forEach((o) => handler(o)));
    }
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): T[] {
    return this.informer.list(namespace) as T[];
  }

  /**
   * Lists, starts watching, and resolves once the first list is in the cache (retrying a failed
   * list until then). Calling it again returns the same promise.
   */
  start(resyncMs: number): Promise<void> {
    if (!this.started) {
      this.stopped = false;
      this.started = new Promise((resolve) => (this.resolveStarted = resolve));
      this.resync = setInterval(() => this.list().forEach((o) => this.dispatch(o)), resyncMs);
      this.resync.unref();
      void this.attempt();
    }
    return this.started;
  }

  private async attempt(): Promise<void> {
    this.starting = true;
    this.startFailed = undefined;
    try {
      await this.informer.start();
    } catch (e) {
      this.startFailed = e;
    } finally {
      this.starting = false;
    }
    if (this.stopped) return;
    if (this.startFailed !== undefined) {
      this.log.warn({ kind: this.type.kind, err: describe(this.startFailed) }, 'list/watch failed; retrying');
      this.restartSoon();
      return;
    }
    this.restartBackoff.reset();
    if (!this.synced) {
      this.synced = true;
      this.resolveStarted?.();
    }
  }

  private restartSoon(): void {
    if (this.restartTimer || this.stopped) return;
    const delay = this.restartBackoff.next();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) void this.attempt();
    }, delay);
    this.restartTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resync);
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    // anyone waiting for the first sync stops waiting
    this.resolveStarted?.();
    await this.informer.stop();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : (JSON.stringify(err) ?? 'unknown error');
}

/** Creates informers on demand, one per kind, and starts them together. */
export class InformerFactory {
  private readonly informers = new Map<string, SharedInformer<KubeObject>>();

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
  ) {}

  for<T extends KubeObject>(type: ResourceType): SharedInformer<T> {
    const id = `${type.group}/${type.plural}`;
    let inf = this.informers.get(id);
    if (!inf) {
      inf = new SharedInformer<KubeObject>(type, this.client.informer<KubeObject>(type), this.log);
      this.informers.set(id, inf);
    }
    return inf as unknown as SharedInformer<T>;
  }

  /** Starts every informer not started yet; resolves once all of them have synced. */
  async start(resyncMs: number): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.start(resyncMs)));
  }

  get synced(): boolean {
    return [...this.informers.values()].every((i) => i.synced);
  }

  /** Kinds whose first list is not in the cache yet (for readiness). */
  unsynced(): string[] {
    return [...this.informers.values()]
      .filter((i) => !i.synced)
      .map((i) => `${i.type.plural}${i.type.group ? `.${i.type.group}` : ''}`);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
