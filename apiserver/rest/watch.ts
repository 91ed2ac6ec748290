import type { ServerResponse } from 'node:http';
import type { KubeObject } from '../../api-types/meta';
import { StorageError, type StorageEvent } from '../../pkg/storage';
import { expired, StatusError } from '../../pkg/apierrors';
import type { ListOptions } from './list-options';
import type { Selection, Store } from './store';
import {
  objectJson,
  partialObjectMetadata,
  toTable,
  type IncludeObject,
  type Representation,
} from './representation';

export interface WatchRequest {
  store: Store;
  namespace?: string;
  /** A single-object watch (the legacy /watch/.../<name> path). */
  name?: string;
  opts: ListOptions;
  /** Parsed before the reply is taken over, so a bad selector is an ordinary 400. */
  selection: Selection;
  representation: Exclude<Representation, { as: 'object'; yaml: true }>;
  includeObject: IncludeObject;
  bookmarkIntervalMs: number;
  /** Upper bound when the client gives no timeoutSeconds, as kube's --min-request-timeout. */
  defaultTimeoutSeconds: number;
}

/** Lets the server end every open watch cleanly at shutdown. */
export type WatchTracker = Set<() => void>;

const maxBufferedBytes = 64 * 1024 * 1024;

/**
 * Streams watch events to one client. The watch cache serves it when the start revision is in its
 * window; otherwise etcd does, which still has the history unless compacted (then the stream ends
 * with an ERROR event carrying 410 Expired, as kube-apiserver does).
 */
export async function serveWatch(
  req: WatchRequest,
  res: ServerResponse,
  tracker: WatchTracker,
): Promise<void> {
  const { store, namespace, opts, selection: sel } = req;
  const inScope = (obj: KubeObject) =>
    (namespace === undefined || !store.def.namespaced || obj.metadata.namespace === namespace) &&
    sel.matches(obj);

  const render = (obj: KubeObject): string => {
    const rep = req.representation;
    if (rep.as === 'Table') {
      return JSON.stringify(
        toTable(store.def, [obj], rep.version, req.includeObject, {
          resourceVersion: obj.metadata.resourceVersion,
        }),
      );
    }
    if (rep.as === 'PartialObjectMetadata') return JSON.stringify(partialObjectMetadata(obj, rep.version));
    return objectJson(obj);
  };

  let closed = false;
  /** What this stream has delivered up to: its start revision, then its last event. */
  let lastRevision = 0;
  /** Set once the watch cache feeds this stream: everything up to the cache's revision has then been delivered. */
  let fromCache = false;
  const cleanups: Array<() => void> = [];
  const close = () => {
    if (closed) return;
    closed = true;
    for (const c of cleanups) c();
    tracker.delete(close);
    res.end();
  };
  tracker.add(close);
  res.on('close', close);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();

  const write = (type: string, objectJsonText: string) => {
    if (closed) return;
    res.write(`{"type":"${type}","object":${objectJsonText}}\n`);
    // a client that cannot keep up is cut off rather than buffered without bound; it resumes from its last revision
    if (res.writableLength > maxBufferedBytes) close();
  };
  const sendError = (err: StatusError) => {
    write('ERROR', JSON.stringify(err.toStatus()));
    close();
  };
  const send = (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject, revision: number) => {
    lastRevision = Math.max(lastRevision, revision);
    write(type, render(obj));
  };
  const bookmark = () => {
    if (lastRevision === 0) return; // the start revision is not known yet
    // a bookmark promises every change up to it: the cache's revision only when the cache is the feed
    const rv = String(Math.max(lastRevision, fromCache ? (store.cache?.revision ?? 0) : 0));
    write(
      'BOOKMARK',
      JSON.stringify({
        kind: store.def.kind,
        apiVersion: store.apiVersion,
        metadata: { resourceVersion: rv },
      }),
    );
  };

  let afterRevision: number;
  const onEvent = (ev: StorageEvent) => {
    if (ev.revision <= afterRevision) return;
    const now = inScope(ev.object);
    const before = ev.prevObject !== undefined && inScope(ev.prevObject);
    if (ev.type === 'DELETED') {
      if (now) send('DELETED', ev.object, ev.revision);
    } else if (now) {
      send(before ? 'MODIFIED' : 'ADDED', ev.object, ev.revision);
    } else if (before) {
      // moved out of the selection: to this watcher it is gone, as it last saw it (kube sends the
      // previous state at the event's resourceVersion)
      const prev = ev.prevObject!;
      send(
        'DELETED',
        { ...prev, metadata: { ...prev.metadata, resourceVersion: String(ev.revision) } },
        ev.revision,
      );
    }
  };

  const timeoutSeconds = opts.timeoutSeconds ?? req.defaultTimeoutSeconds * (1 + Math.random());
  const timer = setTimeout(() => {
    if (opts.allowWatchBookmarks) bookmark();
    close();
  }, timeoutSeconds * 1000);
  cleanups.push(() => clearTimeout(timer));
  if (opts.allowWatchBookmarks) {
    const ticker = setInterval(bookmark, req.bookmarkIntervalMs);
    cleanups.push(() => clearInterval(ticker));
  }

  const rv = opts.resourceVersion;
  const cache = store.cache;
  try {
    if (rv === undefined || rv === '0') {
      // "start at the most recent": the current state as ADDED events, then changes
      let initial: KubeObject[];
      if (cache) {
        await cache.ready;
        afterRevision = cache.revision;
        initial = cache.list(namespace, store.indexedRequirement(sel));
      } else {
        const list = await store.storage.list({ namespace });
        afterRevision = list.revision;
        initial = list.items;
      }
      for (const obj of initial) if (inScope(obj)) send('ADDED', obj, afterRevision);
    } else {
      afterRevision = Number(rv);
    }
    lastRevision = Math.max(lastRevision, afterRevision);
    if (closed) return;
    if (cache) {
      await cache.ready;
      try {
        const sub = cache.watch(afterRevision, { send: onEvent, close });
        fromCache = true;
        cleanups.push(() => sub.unsubscribe());
        return;
      } catch (e) {
        if (!(e instanceof StorageError && e.code === 'Expired')) throw e;
        // older than the cache remembers: etcd may still have it
      }
    }
    const handle = await store.storage.watch(
      afterRevision,
      (events) => events.forEach(onEvent),
      (e) =>
        sendError(
          e.code === 'Expired' ? expired(`too old resource version: ${afterRevision}`) : expired(e.message),
        ),
    );
    if (closed) void handle.stop();
    else cleanups.push(() => void handle.stop());
  } catch (e) {
    if (e instanceof StorageError) sendError(expired(e.message));
    else throw e;
  }
}
