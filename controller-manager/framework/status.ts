import type { KubeObject } from '../../api-types/meta';
import { jsonEqual } from '../../pkg/json';
import { KubeError, retryOnConflict, type KubeClient } from '../../pkg/kube/client';
import { keyOf } from '../../pkg/kube/informers';
import type { ControllerContext } from '../context';
import { type ResourceType } from '../../api-types/resource';

/** Conflicts tolerated before giving up (the reconcile then retries with backoff). */
const statusUpdateAttempts = 5;

/**
 * Writes `mutate(copy of obj)` through the /status subresource. On 409 Conflict (someone wrote
 * the object since `obj` was read) it reads the object again and re-applies `mutate` to that, so
 * `mutate` must be a function of the object it is given, not of what the caller read. Returns the
 * stored object; a mutation that changes nothing writes nothing and returns the object as given.
 */
export async function updateStatus<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  mutate: (latest: T) => void,
  attempts = statusUpdateAttempts,
): Promise<T> {
  const { namespace, name, uid } = obj.metadata;
  return retryOnConflict(async (attempt) => {
    let current = obj;
    if (attempt > 0) {
      const latest = await client.get<T>(type, namespace, name!);
      if (!latest) throw new KubeError(404, 'NotFound', `${type.plural} "${name}" not found`);
      // deleted and created again under the same name: not the object this status was about
      if (uid && latest.metadata.uid !== uid) {
        throw new KubeError(
          409,
          'Conflict',
          `${type.plural} "${name}" was replaced (uid ${uid} → ${latest.metadata.uid})`,
        );
      }
      current = latest;
    }
    const next = structuredClone(current);
    mutate(next);
    if (jsonEqual(next.status, current.status)) return current;
    return client.updateStatus(type, next);
  }, attempts);
}

/** A larger numeric resourceVersion is a later state of the same object (ours come from etcd revisions). */
function newer<T extends KubeObject>(a: T | undefined, b: T | undefined): T | undefined {
  if (!a || !b) return a ?? b;
  if (a.metadata.uid !== b.metadata.uid) return a;
  const ra = Number(a.metadata.resourceVersion);
  const rb = Number(b.metadata.resourceVersion);
  return Number.isFinite(ra) && Number.isFinite(rb) && rb > ra ? b : a;
}

interface StatusWriterOptions<T> {
  type: ResourceType;
  /** Queues an object for reconciling. */
  enqueue: (key: string) => void;
  /**
   * Forget our write as soon as the cache holds it (with many objects, each would otherwise stay
   * in memory twice), rather than at the next reconcile, which also has resyncs pass over it.
   */
  forgetOnceCached: boolean;
  /** Called after each write that changed the status (Events for the conditions it changed). */
  onWritten: (before: T, after: T) => void;
}

/**
 * A controller's status writes. Every write is followed by the reconcile that made it deciding
 * what comes next (a poll after Retry-After, a backoff, a relist), so the watch event of our own
 * write must not queue the object again: that step would otherwise run at once. The last object
 * written is also the state the next reconcile starts from until the cache has caught up with it.
 */
export class StatusWriter<T extends KubeObject & { status?: object }> {
  private readonly written = new Map<string, T>();
  /** Changes seen while a write of that object was in flight, judged once it returns. */
  private readonly writing = new Map<string, T[]>();

  constructor(
    private readonly ctx: Pick<ControllerContext, 'updateStatus'>,
    private readonly opts: StatusWriterOptions<T>,
  ) {}

  /** The informer handler: queues the object unless the change is our own last write. */
  observe(obj: T): void {
    const key = keyOf(obj);
    const pending = this.writing.get(key);
    if (pending) pending.push(obj);
    else if (!this.isOwnWrite(key, obj)) this.opts.enqueue(key);
    else if (this.opts.forgetOnceCached) this.written.delete(key);
  }

  private isOwnWrite(key: string, obj: T): boolean {
    return this.written.get(key)?.metadata.resourceVersion === obj.metadata.resourceVersion;
  }

  /** The latest state known of an object: the cache, or our last write when the cache lags. */
  current(key: string, cached: T | undefined): T | undefined {
    if (!cached) {
      this.written.delete(key);
      return undefined;
    }
    const obj = newer(cached, this.written.get(key));
    if (obj === cached) this.written.delete(key);
    return obj;
  }

  /** Remembers an object written otherwise (a subresource), for later steps to build on. */
  remember(obj: T): void {
    this.written.set(keyOf(obj), obj);
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  /**
   * Writes `mutate(status)` when it changes anything (re-applied to the latest object on
   * conflicts). Returns the object as stored.
   */
  async write(obj: T, mutate: (status: NonNullable<T['status']>) => void): Promise<T> {
    const key = keyOf(obj);
    const apply = (x: T) => {
      x.status ??= {} as NonNullable<T['status']>;
      mutate(x.status);
    };
    const probe = structuredClone(obj);
    apply(probe);
    if (jsonEqual(probe.status, obj.status)) return obj;
    this.writing.set(key, []);
    let stored: T;
    try {
      stored = await this.ctx.updateStatus<T>(this.opts.type, obj, apply);
      this.written.set(key, stored);
    } finally {
      const seen = this.writing.get(key) ?? [];
      this.writing.delete(key);
      if (seen.some((x) => !this.isOwnWrite(key, x))) this.opts.enqueue(key);
    }
    this.opts.onWritten(obj, stored);
    return stored;
  }
}
