import {
  ApiException,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  makeInformer,
  type Informer,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { KubeObject } from '../../api-types/meta';
import { apiVersionOf, type ResourceType } from '../../api-types/resource';
import { retry } from '../backoff';

/** A kind the controllers read or write. */

/** A failed API call, with the Status the server answered. */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export const isNotFound = (e: unknown) => e instanceof KubeError && e.status === 404;
export const isConflict = (e: unknown) =>
  e instanceof KubeError && e.status === 409 && e.reason === 'Conflict';
export const isAlreadyExists = (e: unknown) =>
  e instanceof KubeError && e.status === 409 && e.reason === 'AlreadyExists';

/**
 * client-go's retry.RetryOnConflict: runs a read-modify-write again while it fails with 409
 * Conflict, after a short jittered pause (DefaultRetry: 10 ms), `attempts` times in all. `fn` gets
 * the attempt number, so that it can read the object afresh after the first.
 */
export function retryOnConflict<T>(fn: (attempt: number) => Promise<T>, attempts = 5): Promise<T> {
  return retry(fn, { initialMs: 10, maxMs: 10, factor: 1, jitter: 0.1, attempts, retryable: isConflict });
}

function toKubeError(e: unknown): unknown {
  if (!(e instanceof ApiException)) return e;
  let status: { reason?: string; message?: string } = {};
  try {
    status = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as typeof status;
  } catch {
    // a body that is not a Status: keep the HTTP code only
  }
  return new KubeError(e.code, status.reason ?? '', status.message ?? `HTTP ${e.code}`);
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toKubeError(e);
  }
}

/** KubernetesObjectApi plus writes to subresources (status, reference), which client-node lacks for arbitrary kinds. */
class ObjectApi extends KubernetesObjectApi {
  async replaceSubresource(spec: KubernetesObject, subresource: string): Promise<KubernetesObject> {
    const path = `${await this.specUriPath(spec, 'replace')}/${subresource}`;
    const request = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PUT);
    request.setHeaderParam('Accept', 'application/json');
    request.setHeaderParam('Content-Type', 'application/json');
    request.setBody(JSON.stringify(spec));
    return this.requestPromise(request);
  }
}

export type CachedInformer<T extends KubeObject> = Informer<T & KubernetesObject> &
  ObjectCache<T & KubernetesObject>;

/**
 * The controllers' only way to the Kubernetes API (ours and, in a cluster, kube-apiserver's):
 * @kubernetes/client-node underneath, typed by ResourceType, errors as KubeError.
 */
export class KubeClient {
  private readonly objects: ObjectApi;

  constructor(readonly kc: KubeConfig) {
    // client-node builds a new https.Agent, without keep-alive, for every request: a TLS handshake
    // per call. One shared keep-alive agent per config makes parallel calls actually parallel.
    const config = kc as unknown as { createAgent: (cluster: unknown, opts: object) => unknown };
    const createAgent = config.createAgent.bind(kc);
    let agent: unknown;
    config.createAgent = (cluster, opts) =>
      (agent ??= createAgent(cluster, { ...opts, keepAlive: true, maxSockets: 64 }));
    this.objects = kc.makeApiClient(ObjectApi);
  }

  /** From a kubeconfig file, or the in-cluster service account when no path is given. */
  static load(kubeconfigPath?: string): KubeClient {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromCluster();
    return new KubeClient(kc);
  }

  private header(t: ResourceType, namespace: string | undefined, name: string): KubernetesObject {
    return {
      apiVersion: apiVersionOf(t),
      kind: t.kind,
      metadata: { name, ...(t.namespaced ? { namespace } : {}) },
    };
  }

  async get<T extends KubeObject>(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return (await call(() => this.objects.read(this.header(t, namespace, name) as never))) as unknown as T;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async list<T extends KubeObject>(
    t: ResourceType,
    namespace?: string,
    opts: { labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const list = await call(() =>
      this.objects.list(
        apiVersionOf(t),
        t.kind,
        namespace,
        undefined,
        undefined,
        undefined,
        opts.fieldSelector,
        opts.labelSelector,
      ),
    );
    return { items: list.items as unknown as T[], resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  async create<T extends KubeObject>(t: ResourceType, obj: T): Promise<T> {
    const body = { ...obj, apiVersion: apiVersionOf(t), kind: t.kind };
    return (await call(() => this.objects.create(body as KubernetesObject))) as unknown as T;
  }

  async update<T extends KubeObject>(t: ResourceType, obj: T): Promise<T> {
    const body = { ...obj, apiVersion: apiVersionOf(t), kind: t.kind };
    return (await call(() => this.objects.replace(body as KubernetesObject))) as unknown as T;
  }

  /** Writes status through the /status subresource. */
  updateStatus<T extends KubeObject>(t: ResourceType, obj: T): Promise<T> {
    return this.updateSubresource(t, obj, 'status');
  }

  /** PUT of a subresource (status, or serviceinstances/reference). */
  async updateSubresource<T extends KubeObject>(t: ResourceType, obj: T, subresource: string): Promise<T> {
    const body = { ...obj, apiVersion: apiVersionOf(t), kind: t.kind };
    return (await call(() =>
      this.objects.replaceSubresource(body as KubernetesObject, subresource),
    )) as unknown as T;
  }

  /** A JSON merge patch of the main resource. */
  async patch<T extends KubeObject>(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: object,
  ): Promise<T> {
    const header = this.header(t, namespace, name);
    const metadata = { ...(patch as { metadata?: object }).metadata, ...header.metadata };
    const body = { ...patch, ...header, metadata };
    return (await call(() =>
      this.objects.patch(
        body as KubernetesObject,
        undefined,
        undefined,
        undefined,
        undefined,
        PatchStrategy.MergePatch,
      ),
    )) as unknown as T;
  }

  /** Deletes; an object already gone counts as deleted. */
  async delete(t: ResourceType, namespace: string | undefined, name: string): Promise<void> {
    try {
      await call(() => this.objects.delete(this.header(t, namespace, name)));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** A list+watch cache of one kind (all namespaces); relists on 410 by itself. */
  informer<T extends KubeObject>(t: ResourceType, namespace?: string): CachedInformer<T> {
    const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
    const path = `${base}${namespace && t.namespaced ? `/namespaces/${namespace}` : ''}/${t.plural}`;
    const listFn = () => this.objects.list(apiVersionOf(t), t.kind, namespace) as never;
    return makeInformer<T & KubernetesObject>(this.kc, path, listFn);
  }
}
