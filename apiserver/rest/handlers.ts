import type { Logger } from '../../pkg/logging';
import yaml from 'js-yaml';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../../api-types/meta';
import type { ProtoMessage } from '../../api-types/resource';
import type { RequestContext, User } from '../strategy/strategy';
import { badRequest, methodNotAllowed, pathNotFound, unsupportedMediaType } from '../../pkg/apierrors';
import { parseFieldValidation } from './fieldvalidation';
import { parseListOptions } from './list-options';
import { patchTypeFromContentType } from './patch';
import { decodeProtobufObject, deleteOptionsProto, protobufContentType } from './protobuf';
import type { Store } from './store';
import {
  listJson,
  negotiate,
  objectJson,
  parseIncludeObject,
  partialObjectMetadata,
  toTable,
  toYaml,
  type Representation,
} from './representation';
import type { RequestInfo } from './request-info';
import { serveWatch, type WatchTracker } from './watch';

export const anonymousUser: User = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

export interface HandlerOptions {
  log: Logger;
  bookmarkIntervalMs: number;
  defaultWatchTimeoutSeconds: number;
  watches: WatchTracker;
}

type Query = Record<string, string | string[] | undefined>;

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * Decodes a request body by its Content-Type; JSON and YAML objects, patches as JSON, and protobuf
 * when the caller has the message for it (`protobuf`).
 */
export function decodeBody(req: FastifyRequest, protobuf?: ProtoMessage): unknown {
  const raw = req.body as Buffer | undefined;
  if (!raw || raw.length === 0) return undefined;
  const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
  if (contentType === protobufContentType && protobuf) return decodeProtobufObject(raw, protobuf);
  const text = raw.toString('utf8');
  if (contentType === 'application/yaml' || contentType === 'application/apply-patch+yaml') {
    if (contentType === 'application/apply-patch+yaml') throw unsupportedMediaType(contentType);
    try {
      return yaml.load(text);
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (contentType !== 'application/json' && !patchTypeFromContentType(contentType))
    throw unsupportedMediaType(contentType);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`couldn't decode request body: json parse error: ${(e as Error).message}`);
  }
}

function dryRun(q: Query, body?: { dryRun?: unknown }): boolean {
  const values = ([] as unknown[]).concat(q.dryRun ?? [], body?.dryRun ?? []);
  for (const v of values)
    if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${String(v)}": supported values: "All"`);
  return values.length > 0;
}

function send(reply: FastifyReply, code: number, json: string, rep: Representation, warnings: string[] = []) {
  // one header line per warning, as kube-apiserver sends them: a header set twice keeps only the last
  const warningLines = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  if (warningLines.length > 0) reply.header('Warning', warningLines);
  if (rep.as === 'object' && rep.yaml) return reply.code(code).type('application/yaml').send(toYaml(json));
  return reply.code(code).type('application/json').send(json);
}

function renderObject(store: Store, obj: KubeObject, rep: Representation, q: Query): string {
  if (rep.as === 'Table')
    return JSON.stringify(toTable(store.def, [obj], rep.version, parseIncludeObject(one(q.includeObject))));
  if (rep.as === 'PartialObjectMetadata') return JSON.stringify(partialObjectMetadata(obj, rep.version));
  return objectJson(obj);
}

/** Serves one resource request, whatever the kind: the verbs of the Kubernetes REST API. */
export async function handleResource(
  req: FastifyRequest,
  reply: FastifyReply,
  info: RequestInfo,
  store: Store,
  user: User,
  opts: HandlerOptions,
): Promise<unknown> {
  const q = req.query as Query;
  const { namespace, name, subresource } = info;
  if (store.def.namespaced === false && namespace !== undefined) throw pathNotFound();
  if (store.def.namespaced && namespace === undefined) {
    // kube-apiserver routes only list and watch across all namespaces: anything else there would
    // write under a namespace nobody named
    if (info.verb === 'create' || info.verb === 'deletecollection')
      throw methodNotAllowed(req.method, store.def.plural);
    if (name !== undefined) throw pathNotFound();
  }
  if (subresource !== undefined && !store.def.subresources.includes(subresource)) throw pathNotFound();
  if (subresource !== undefined && !['get', 'update', 'patch'].includes(info.verb)) {
    throw methodNotAllowed(req.method, `${store.def.plural}/${subresource}`);
  }
  const rep = negotiate(req.headers.accept);
  const fieldValidation = () =>
    parseFieldValidation(
      one(q.fieldValidation),
      info.verb === 'create' ? 'CreateOptions' : info.verb === 'patch' ? 'PatchOptions' : 'UpdateOptions',
    );
  const ctx = (body?: { dryRun?: unknown }): RequestContext => ({ user, namespace, dryRun: dryRun(q, body) });

  switch (info.verb) {
    case 'get': {
      const obj = await store.get(namespace, name!, one(q.resourceVersion) || undefined);
      return send(reply, 200, renderObject(store, obj, rep, q), rep);
    }
    case 'list': {
      const listOpts = parseListOptions(q, false);
      const list = await store.list(namespace, listOpts);
      const meta = {
        resourceVersion: list.resourceVersion,
        continue: list.continue,
        remainingItemCount: list.remainingItemCount,
      };
      if (rep.as === 'Table') {
        return send(
          reply,
          200,
          JSON.stringify(
            toTable(store.def, list.items, rep.version, parseIncludeObject(one(q.includeObject)), meta),
          ),
          rep,
        );
      }
      if (rep.as === 'PartialObjectMetadata') {
        const items = list.items.map((o) => partialObjectMetadata(o, rep.version) as KubeObject);
        return send(
          reply,
          200,
          listJson(`meta.k8s.io/${rep.version}`, 'PartialObjectMetadataList', meta, items),
          rep,
        );
      }
      return send(reply, 200, listJson(store.apiVersion, store.def.listKind, meta, list.items), rep);
    }
    case 'watch': {
      if (rep.as === 'object' && rep.yaml) throw badRequest('watch is served as JSON only');
      const listOpts = parseListOptions(q, true);
      const watch = {
        store,
        namespace,
        name,
        opts: listOpts,
        selection: store.selection(listOpts, name),
        representation: rep,
        includeObject: parseIncludeObject(one(q.includeObject)),
        bookmarkIntervalMs: opts.bookmarkIntervalMs,
        defaultTimeoutSeconds: opts.defaultWatchTimeoutSeconds,
      };
      // from here on the stream is ours: fastify's error handler can no longer answer for it
      reply.hijack();
      try {
        await serveWatch(watch, reply.raw, opts.watches);
      } catch (err) {
        opts.log.error({ err, url: req.url }, 'watch failed');
        if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'Content-Type': 'application/json' });
        reply.raw.end();
      }
      return reply;
    }
    case 'create': {
      const out = await store.create(
        namespace,
        decodeBody(req, store.def.protobuf),
        ctx(),
        fieldValidation(),
      );
      return send(reply, 201, renderObject(store, out.object, rep, q), rep, out.warnings);
    }
    case 'update': {
      const out = await store.update(
        namespace,
        name!,
        decodeBody(req, store.def.protobuf),
        ctx(),
        fieldValidation(),
        subresource,
      );
      return send(reply, 200, renderObject(store, out.object, rep, q), rep, out.warnings);
    }
    case 'patch': {
      const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const type = patchTypeFromContentType(contentType);
      if (!type) throw unsupportedMediaType(contentType);
      const patch = decodeBody(req);
      if (patch === undefined) throw badRequest('the body of a patch request must not be empty');
      const out = await store.patch(namespace, name!, type, patch, ctx(), fieldValidation(), subresource);
      return send(reply, 200, renderObject(store, out.object, rep, q), rep, out.warnings);
    }
    case 'delete':
    case 'deletecollection': {
      const body = (decodeBody(req, store.def.protobuf && deleteOptionsProto) ?? {}) as {
        dryRun?: unknown;
        preconditions?: { uid?: string; resourceVersion?: string };
      };
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw badRequest('the body of a delete request must be DeleteOptions');
      const c = ctx(body);
      if (info.verb === 'delete') {
        const obj = await store.delete(
          namespace,
          name!,
          { preconditions: body.preconditions, dryRun: c.dryRun },
          c,
        );
        return send(reply, 200, renderObject(store, obj, rep, q), rep);
      }
      const deleted = await store.deleteCollection(
        namespace,
        parseListOptions(q, false),
        { dryRun: c.dryRun },
        c,
      );
      return send(reply, 200, listJson(store.apiVersion, store.def.listKind, {}, deleted), rep);
    }
  }
}
