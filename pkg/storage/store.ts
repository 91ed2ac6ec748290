import { Etcd3, type IKeyValue, type IWatchResponse, type Watcher } from 'etcd3';
import type { KubeObject } from '../../api-types/meta';
import type { ResourceType } from '../../api-types/resource';
import { StorageError, fromEtcdError } from './errors';

/** Where a resource lives in etcd: `<prefix>/<group>/<plural>/[<namespace>/]<name>`. */
type ResourceLocation = Pick<ResourceType, 'group' | 'plural' | 'namespaced'>;

export interface ListOptions {
  namespace?: string;
  /** Read at this revision (exact); latest when absent. */
  revision?: number;
  limit?: number;
  /** Continue after this key (relative to the resource prefix, as returned in ListResult.lastKey). */
  startAfter?: string;
}

export interface ListResult {
  items: KubeObject[];
  /** The revision the list was read at. */
  revision: number;
  /** The relative key of the last object read; pass it as startAfter for the next page. */
  lastKey?: string;
  /** Objects left after this page, when there are more. */
  remaining: number;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StorageEvent {
  type: EventType;
  /** For DELETED: the last state, with resourceVersion set to the deletion revision. */
  object: KubeObject;
  /** The state before this event (absent for ADDED). */
  prevObject?: KubeObject;
  revision: number;
  /** The relative key (namespace/name or name). */
  key: string;
}

export interface WatchHandle {
  stop(): Promise<void>;
}

/** Answered by an update callback to delete the object instead (the last finalizer went). */
export const DELETE = Symbol('delete');

/** What an update callback may answer: the new object, nothing to leave it as it is, or DELETE. */
export type UpdateResult = KubeObject | undefined | typeof DELETE;
export type TryUpdate = (current: KubeObject) => UpdateResult | Promise<UpdateResult>;

export interface UpdateOutcome {
  object: KubeObject;
  /** True when the callback answered DELETE and the object is gone. */
  deleted: boolean;
}

const enc = (o: KubeObject): Buffer => {
  // resourceVersion is the etcd revision, never stored inside the value
  const rv = o.metadata.resourceVersion;
  delete o.metadata.resourceVersion;
  const b = Buffer.from(JSON.stringify(o));
  if (rv !== undefined) o.metadata.resourceVersion = rv;
  return b;
};

function decode(value: Buffer | Uint8Array, revision: string | number): KubeObject {
  const obj = JSON.parse(Buffer.from(value).toString('utf8')) as KubeObject;
  obj.metadata.resourceVersion = String(revision);
  return obj;
}

function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** The etcd connection of one process; hands out one ResourceStore per resource. */
export class Storage {
  private readonly client: Etcd3;

  constructor(
    endpoints: string[],
    private readonly prefix = '/registry',
  ) {
    // gRPC's default 4 MiB answer limit would make a large list fail (and trip the client's circuit breaker)
    this.client = new Etcd3({
      hosts: endpoints,
      dialTimeout: 5000,
      grpcOptions: { 'grpc.max_receive_message_length': -1 },
    });
  }

  resource(loc: ResourceLocation): ResourceStore {
    const base = [this.prefix.replace(/\/$/, ''), loc.group, loc.plural].filter((s) => s !== '').join('/');
    return new ResourceStore(this.client, `${base}/`, loc.namespaced);
  }

  /** The latest revision of the whole store; also proves etcd answers. */
  async currentRevision(): Promise<number> {
    try {
      const res = await this.client.kv.range({ key: Buffer.from(this.prefix), limit: 1, count_only: true });
      return Number(res.header.revision);
    } catch (e) {
      throw fromEtcdError(e);
    }
  }

  /** Drops history up to a revision, as an operator's compaction does (tests use it). */
  async compact(revision: number): Promise<void> {
    await this.client.kv.compact({ revision, physical: true });
  }

  close(): void {
    this.client.close();
  }
}

/** One resource's objects in etcd. Every write is a compare-and-swap on the stored revision. */
export class ResourceStore {
  private readonly prefixBuf: Buffer;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    readonly namespaced: boolean,
  ) {
    this.prefixBuf = Buffer.from(prefix);
  }

  /** The key of an object relative to the resource prefix. */
  relativeKey(namespace: string | undefined, name: string): string {
    return this.namespaced ? `${namespace}/${name}` : name;
  }

  private key(rel: string): Buffer {
    return Buffer.from(this.prefix + rel);
  }

  private rel(key: Buffer | Uint8Array): string {
    return Buffer.from(key).subarray(this.prefixBuf.length).toString('utf8');
  }

  async create(namespace: string | undefined, name: string, obj: KubeObject): Promise<KubeObject> {
    const key = this.key(this.relativeKey(namespace, name));
    const res = await this.call(() =>
      this.client.kv.txn({
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key, value: enc(obj) } }],
        failure: [],
      }),
    );
    if (!res.succeeded) throw new StorageError('AlreadyExists', `${name} already exists`);
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(res.header.revision) } };
  }

  async get(namespace: string | undefined, name: string, revision?: number): Promise<KubeObject | undefined> {
    const res = await this.call(() =>
      this.client.kv.range({ key: this.key(this.relativeKey(namespace, name)), revision }),
    );
    const kv = res.kvs[0];
    return kv ? decode(kv.value, kv.mod_revision) : undefined;
  }

  async list(opts: ListOptions = {}): Promise<ListResult> {
    const scope = opts.namespace !== undefined && this.namespaced ? `${opts.namespace}/` : '';
    const rangeEnd = prefixEnd(Buffer.from(this.prefix + scope));
    const key = opts.startAfter !== undefined ? this.key(`${opts.startAfter}\x00`) : this.key(scope);
    const res = await this.call(() =>
      this.client.kv.range({ key, range_end: rangeEnd, revision: opts.revision, limit: opts.limit }),
    );
    const items = res.kvs.map((kv) => decode(kv.value, kv.mod_revision));
    const last = res.kvs[res.kvs.length - 1];
    return {
      items,
      revision: Number(res.header.revision),
      lastKey: last ? this.rel(last.key) : undefined,
      remaining: res.more ? Number(res.count) - res.kvs.length : 0,
    };
  }

  /**
   * Reads the object, asks tryUpdate for its new state and writes it only if nobody wrote in
   * between; on a lost race it reads again and asks again. tryUpdate throws to refuse (for example
   * on a stale resourceVersion the caller asked for) or answers DELETE to remove the object; a
   * deleted object comes back with resourceVersion set to the deletion revision.
   */
  async guaranteedUpdate(
    namespace: string | undefined,
    name: string,
    tryUpdate: TryUpdate,
    cached?: KubeObject,
  ): Promise<UpdateOutcome> {
    const key = this.key(this.relativeKey(namespace, name));
    let current = cached ?? (await this.get(namespace, name));
    for (;;) {
      if (!current) throw new StorageError('NotFound', `${name} not found`);
      const rev = Number(current.metadata.resourceVersion);
      const next = await tryUpdate(structuredClone(current));
      if (next === undefined) return { object: current, deleted: false };
      const res = await this.call(() =>
        this.client.kv.txn({
          compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: rev }],
          success: [
            next === DELETE ? { request_delete_range: { key } } : { request_put: { key, value: enc(next) } },
          ],
          failure: [{ request_range: { key } }],
        }),
      );
      if (res.succeeded) {
        const object = next === DELETE ? current : next;
        return {
          object: {
            ...object,
            metadata: { ...object.metadata, resourceVersion: String(res.header.revision) },
          },
          deleted: next === DELETE,
        };
      }
      const kv = res.responses[0]?.response_range?.kvs?.[0];
      current = kv ? decode(kv.value, kv.mod_revision) : undefined;
    }
  }

  /**
   * Watches every object of the resource from a revision (exclusive). Compaction of that revision
   * ends the watch with an Expired error.
   */
  async watch(
    afterRevision: number,
    onEvents: (events: StorageEvent[]) => void,
    onError: (e: StorageError) => void,
  ): Promise<WatchHandle> {
    // a watch from a compacted revision is refused here rather than by etcd: etcd3's shared watch
    // stream mishandles that cancellation and can break the other watches on the same client
    await this.call(() =>
      this.client.kv.range({
        key: this.prefixBuf,
        range_end: prefixEnd(this.prefixBuf),
        revision: afterRevision + 1,
        count_only: true,
      }),
    ).catch((e) => {
      if (!(e instanceof StorageError && e.code === 'TooLargeResourceVersion')) throw e;
    });
    const watcher: Watcher = await this.client
      .watch()
      .prefix(this.prefix)
      .startRevision(String(afterRevision + 1))
      .withPreviousKV()
      .create();
    watcher.on('data', (res: IWatchResponse) => {
      if (res.events.length > 0) onEvents(res.events.map((ev) => this.toEvent(ev.type, ev.kv, ev.prev_kv)));
    });
    let canceled = false;
    watcher.on('error', (e) => {
      // etcd already dropped this watcher: cancelling it again gets an answer etcd3 cannot route, which it throws
      canceled = true;
      onError(fromEtcdError(e) as StorageError);
    });
    return { stop: () => (canceled ? Promise.resolve() : watcher.cancel()) };
  }

  private toEvent(type: string, kv: IKeyValue, prev?: IKeyValue | null): StorageEvent {
    const revision = Number(kv.mod_revision);
    const key = this.rel(kv.key);
    const prevObject = prev ? decode(prev.value, prev.mod_revision) : undefined;
    if (String(type).toLowerCase() === 'delete') {
      const object = prev ? decode(prev.value, revision) : { metadata: {} };
      return { type: 'DELETED', object, prevObject, revision, key };
    }
    const object = decode(kv.value, revision);
    return {
      type: kv.create_revision === kv.mod_revision ? 'ADDED' : 'MODIFIED',
      object,
      prevObject,
      revision,
      key,
    };
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw fromEtcdError(e);
    }
  }
}
