import { randomUUID } from 'node:crypto';
import { configMapResource, type ConfigMap } from '../api-types/core';
import { isAlreadyExists, isConflict, type KubeClient } from '../pkg/kube/client';
import type { Logger } from '../pkg/logging';
import { retry } from '../pkg/backoff';

export const clusterIdKey = 'id';
/** The original re-reads the ConfigMap this often, so an operator may change the ID. */
const clusterIdRefreshMs = 15_000;

/**
 * This cluster's ID, sent to brokers as context.clusterid: key `id` of ConfigMap
 * <namespace>/<name>. A missing ConfigMap is created, and a missing key added, with a random UUID;
 * several controller-managers starting together agree through create/update conflicts.
 */
export async function getOrCreateClusterId(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<string> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const cm = await client.get<ConfigMap>(configMapResource, namespace, name);
    const id = cm?.data?.[clusterIdKey];
    if (id) return id;
    const fresh = randomUUID();
    try {
      if (!cm) {
        await client.create<ConfigMap>(configMapResource, {
          metadata: { name, namespace },
          data: { [clusterIdKey]: fresh },
        });
      } else {
        await client.update<ConfigMap>(configMapResource, {
          ...cm,
          data: { ...(cm.data ?? {}), [clusterIdKey]: fresh },
        });
      }
      return fresh;
    } catch (e) {
      // someone else wrote it first: read theirs
      if (!isAlreadyExists(e) && !isConflict(e)) throw e;
    }
  }
  throw new Error(`could not settle the cluster ID in ConfigMap ${namespace}/${name}`);
}

/** Keeps the cluster ID current: read (or created) at start, re-read every refresh period. */
export class ClusterIdSource {
  private current?: string;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly name: string,
    private readonly log: Logger,
    private readonly refreshMs = clusterIdRefreshMs,
  ) {}

  /** The ID; only valid once start() has resolved. */
  get id(): string {
    if (this.current === undefined) throw new Error('cluster ID not known yet');
    return this.current;
  }

  get known(): boolean {
    return this.current !== undefined;
  }

  /** Resolves with the ID once it could be read or created, retrying with backoff until then. */
  async start(): Promise<string> {
    const configMap = `${this.namespace}/${this.name}`;
    const id = await retry(
      async () => {
        if (this.stopped) throw new Error('stopped');
        return getOrCreateClusterId(this.client, this.namespace, this.name);
      },
      {
        initialMs: 500,
        maxMs: 30_000,
        stopped: () => this.stopped,
        onRetry: (e) =>
          this.log.warn({ err: (e as Error).message, configMap }, 'cannot read the cluster ID; retrying'),
      },
    );
    this.current = id;
    this.log.info({ clusterId: id, configMap }, 'cluster ID');
    this.schedule();
    return id;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    try {
      const id = await getOrCreateClusterId(this.client, this.namespace, this.name);
      if (id !== this.current) this.log.info({ from: this.current, to: id }, 'cluster ID changed');
      this.current = id;
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'cannot refresh the cluster ID; keeping the last one');
    }
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
