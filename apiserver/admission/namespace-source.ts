import type { CoreV1Api, KubeConfig, V1Namespace } from '@kubernetes/client-node';
import type { KubeObject } from '../../api-types/meta';
import { SharedInformer } from '../../pkg/kube/informers';
import type { Logger } from '../../pkg/logging';
import type { CachedInformer } from '../../pkg/kube/client';
import { clientNode, withTimeout } from '../auth/cluster';
import type { ObjectReader } from './types';

/** Where NamespaceLifecycle learns which namespaces exist and which are being deleted. */
export interface NamespaceSource {
  /** True once the cache holds every namespace; false when that takes longer than `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<boolean>;
  /** The namespace as the cache has it, which may be a little behind. */
  cached(name: string): Promise<KubeObject | undefined>;
  /** The namespace as its source of truth has it now. */
  live(name: string): Promise<KubeObject | undefined>;
}

/** Standalone mode: the namespaces this server serves, from its watch cache or, live, from etcd. */
export function servedNamespaces(objects: ObjectReader): NamespaceSource {
  return {
    waitForReady: async () => true,
    cached: (name) => objects.get('namespaces', undefined, name),
    live: (name) => objects.get('namespaces', undefined, name, { fresh: true }),
  };
}

const namespaceType = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  namespaced: false,
};

/**
 * The cluster's namespaces, through an informer (list, then watch) as kube-apiserver's own
 * NamespaceLifecycle reads them; a live GET answers for what the informer has not seen yet.
 */
export class ClusterNamespaces implements NamespaceSource {
  private readonly api: CoreV1Api;
  private readonly informer: SharedInformer<KubeObject>;
  private readonly started: Promise<void>;

  constructor(kc: KubeConfig, log: Logger) {
    const { CoreV1Api, makeInformer } = clientNode();
    this.api = kc.makeApiClient(CoreV1Api);
    const inf = makeInformer<V1Namespace>(kc, '/api/v1/namespaces', () => this.api.listNamespace());
    this.informer = new SharedInformer(namespaceType, inf as unknown as CachedInformer<KubeObject>, log);
    // nothing is dispatched (no handlers): the resync period only has to be a valid one
    this.started = this.informer.start(10 * 60_000);
  }

  async waitForReady(timeoutMs: number): Promise<boolean> {
    if (this.informer.synced) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const ready = await Promise.race([this.started.then(() => this.informer.synced), timeout]);
    clearTimeout(timer);
    return ready;
  }

  async cached(name: string): Promise<KubeObject | undefined> {
    return this.informer.get(undefined, name);
  }

  async live(name: string): Promise<KubeObject | undefined> {
    try {
      const ns = await withTimeout(this.api.readNamespace({ name }), 10_000, `reading namespace ${name}`);
      return ns as KubeObject;
    } catch (e) {
      if (e instanceof clientNode().ApiException && e.code === 404) return undefined;
      throw e;
    }
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }
}
