import { Etcd3 } from 'etcd3';
import { Pool, type Dispatcher } from 'undici';
import { log, percentile, throughput, timeEach } from './lib';

export const namespace = 'bench';
export const base = `/apis/servicecatalog.k8s.io/v1beta1/namespaces/${namespace}/serviceinstances`;
export const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io';

export const instanceName = (i: number) => `si-${String(i).padStart(5, '0')}`;

/** A ServiceInstance as a user would write it: a cluster class and plan by external name, some parameters. */
export function instance(i: number): object {
  return {
    apiVersion: 'servicecatalog.k8s.io/v1beta1',
    kind: 'ServiceInstance',
    metadata: {
      name: instanceName(i),
      namespace,
      labels: { app: `shop-${i % 50}`, team: `team-${i % 7}`, env: i % 3 === 0 ? 'prod' : 'staging' },
    },
    spec: {
      clusterServiceClassExternalName: 'postgresql',
      clusterServicePlanExternalName: ['small', 'medium', 'large'][i % 3],
      parameters: {
        database: { name: `shop_${i}`, version: '15', extensions: ['pgcrypto', 'uuid-ossp'] },
        storage: { sizeGB: 20 + (i % 5) * 10, class: 'ssd' },
        backup: { enabled: true, retentionDays: 7, window: '02:00-03:00' },
        network: { allowedCIDRs: ['10.0.0.0/8', '192.168.0.0/16'] },
      },
    },
  };
}

/** An HTTPS client of the API server: one keep-alive pool sized to the highest concurrency used. */
export class Api {
  readonly pool: Pool;

  constructor(
    readonly origin: string,
    readonly ca: string,
    connections: number,
    /** Sent with every request: the credentials (Authorization). */
    readonly headers: Record<string, string> = {},
  ) {
    this.pool = new Pool(origin, { connect: { ca }, connections, pipelining: 1 });
  }

  /** Sends a request and reads the whole body; a non-2xx answer means the bench is broken. */
  async call(
    method: Dispatcher.HttpMethod,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const res = await this.pool.request({
      method,
      path,
      headers: { 'content-type': 'application/json', ...this.headers, ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const buf = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode >= 300)
      throw new Error(`${method} ${path}: ${res.statusCode} ${buf.toString('utf8').slice(0, 500)}`);
    return buf;
  }

  close() {
    return this.pool.close();
  }
}

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  n: number;
}

const summary = (samples: number[]): Latency => ({
  p50: percentile(samples, 50),
  p90: percentile(samples, 90),
  p99: percentile(samples, 99),
  n: samples.length,
});

/** Creates instances [from, to) from `workers` concurrent clients; returns creates per second. */
export function createInstances(api: Api, from: number, to: number, workers: number): Promise<number> {
  return throughput(workers, to - from, async (i) => {
    await api.call('POST', base, instance(from + i));
  });
}

/** Raw etcd puts of a stored-instance-sized JSON value under its own prefix; returns puts per second. */
export async function etcdPuts(endpoint: string, workers: number, total: number): Promise<number> {
  const client = new Etcd3({ hosts: endpoint });
  try {
    const stored = {
      ...instance(0),
      metadata: {
        ...(instance(0) as { metadata: object }).metadata,
        uid: '8a3c1b9e-4f57-4d6a-9b1e-2f0c7d5e6a41',
        creationTimestamp: '2024-01-01T00:00:00Z',
        generation: 1,
      },
    };
    const value = Buffer.from(JSON.stringify(stored));
    await client.put('/bench-raw/warmup').value(value);
    return await throughput(workers, total, async (i) => {
      await client.put(`/bench-raw/${workers}/${i}`).value(value);
    });
  } finally {
    client.close();
  }
}

/** Sequential GETs of one instance, after a short warm-up. */
export async function getLatency(
  api: Api,
  name: string,
  n: number,
  resourceVersion?: string,
): Promise<Latency> {
  const path = `${base}/${name}${resourceVersion === undefined ? '' : `?resourceVersion=${resourceVersion}`}`;
  await timeEach(200, () => api.call('GET', path).then(() => undefined));
  return summary(await timeEach(n, () => api.call('GET', path).then(() => undefined)));
}

/** Sequential LISTs of the namespace; returns latency and the response size. */
export async function listLatency(
  api: Api,
  runs: number,
  opts: { table: boolean; cache: boolean; expect: number },
): Promise<Latency & { bytes: number }> {
  const path = opts.cache ? `${base}?resourceVersion=0` : base;
  const headers = opts.table ? { accept: tableAccept } : undefined;
  const first = await api.call('GET', path, undefined, headers);
  const parsed = JSON.parse(first.toString('utf8')) as { items?: unknown[]; rows?: unknown[] };
  const count = (opts.table ? parsed.rows : parsed.items)?.length;
  if (count !== opts.expect)
    throw new Error(`LIST ${path} returned ${count} objects, expected ${opts.expect}`);
  const samples = await timeEach(runs, () => api.call('GET', path, undefined, headers).then(() => undefined));
  return { ...summary(samples), bytes: first.length };
}

/**
 * Opens `watchers` watches on the namespace at its current resourceVersion, then labels one
 * instance `updates` times, one write at a time; each latency is from just before the write is
 * sent to one watcher's receipt of that event.
 */
export async function watchFanout(
  api: Api,
  watchers: number,
  updates: number,
  name: string,
): Promise<Latency> {
  const pool = new Pool(api.origin, {
    connect: { ca: api.ca },
    connections: watchers,
    pipelining: 1,
    bodyTimeout: 0,
  });
  const list = JSON.parse((await api.call('GET', `${base}?limit=1`)).toString('utf8')) as {
    metadata: { resourceVersion: string };
  };
  const rv = list.metadata.resourceVersion;
  // arrivals[seq] = receipt times; waiting[seq] resolves when every watcher has it
  const arrivals = new Map<number, number[]>();
  const waiting = new Map<number, () => void>();
  const bodies: Array<{ destroy(): void }> = [];
  const received = (seq: number, at: number) => {
    const list = arrivals.get(seq) ?? [];
    list.push(at);
    arrivals.set(seq, list);
    if (list.length === watchers) waiting.get(seq)?.();
  };
  await Promise.all(
    Array.from({ length: watchers }, async () => {
      const res = await pool.request({
        method: 'GET',
        path: `${base}?watch=true&resourceVersion=${rv}`,
        headers: api.headers,
      });
      if (res.statusCode !== 200) throw new Error(`watch: ${res.statusCode} ${await res.body.text()}`);
      bodies.push(res.body);
      let buffered = '';
      res.body.setEncoding('utf8');
      res.body.on('data', (chunk: string) => {
        const at = performance.now();
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const ev = JSON.parse(line) as {
            type: string;
            object: { metadata: { name?: string; labels?: Record<string, string> } };
          };
          const seq = ev.object.metadata.labels?.['bench-seq'];
          if (ev.type === 'MODIFIED' && ev.object.metadata.name === name && seq !== undefined)
            received(Number(seq), at);
        }
      });
      res.body.on('error', () => undefined);
    }),
  );
  log(`${watchers} watchers open at resourceVersion ${rv}`);

  const samples: number[] = [];
  try {
    // update 0 is a warm-up: it proves every watcher is subscribed before anything is timed
    for (let seq = 0; seq <= updates; seq++) {
      const all = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `update ${seq}: ${arrivals.get(seq)?.length ?? 0}/${watchers} watchers got it in 10 s`,
              ),
            ),
          10_000,
        );
        waiting.set(seq, () => (clearTimeout(timer), resolve()));
      });
      const t0 = performance.now();
      await api.call(
        'PATCH',
        `${base}/${name}`,
        { metadata: { labels: { 'bench-seq': String(seq) } } },
        {
          'content-type': 'application/merge-patch+json',
        },
      );
      await all;
      if (seq > 0) samples.push(...arrivals.get(seq)!.map((at) => at - t0));
      arrivals.delete(seq);
      waiting.delete(seq);
    }
  } finally {
    for (const b of bodies) b.destroy();
    await pool.destroy();
  }
  return summary(samples);
}
