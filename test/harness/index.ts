import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { servicecatalogResources } from '../../api-types';
import { coreResources } from '../../api-types/core';
import type { KubeObject } from '../../api-types/meta';
import type { ResourceDefinition } from '../../api-types/resource';
import { admissionPlugins, defaultAdmissionPlugins } from '../../apiserver/admission';
import type { NamespaceSource } from '../../apiserver/admission/namespace-source';
import type { Authenticator, Authorizer } from '../../apiserver/auth/types';
import { generateServingCert, type ServingCert } from '../../pkg/tls/certs';
import { startNamespaceController, type NamespaceController } from '../../apiserver/namespace-controller';
import { coreStrategies, servicecatalogStrategies } from '../../apiserver/strategy';
import { startServer, type CatalogAPIServer } from '../../apiserver/server';
import { startEtcd, type EtcdProcess } from '../../hack/lib/etcd';
import { kubeconfig } from '../../hack/lib/kubeconfig';
import { createLogger } from '../../pkg/logging';
import { createRegistry } from '../../pkg/metrics';
import { Storage } from '../../pkg/storage';

let sharedCert: ServingCert | undefined;
/** One serving certificate per test process: RSA key generation is the slow part of start-up. */
export function testCert(): ServingCert {
  return (sharedCert ??= generateServingCert(['localhost', '127.0.0.1']));
}

export interface Response<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

/** An HTTPS client of one API server that trusts its CA; bodies are JSON unless given as text. */
export class Client {
  readonly dispatcher: Dispatcher;

  constructor(
    readonly base: string,
    ca: string,
  ) {
    this.dispatcher = new Agent({ connect: { ca }, pipelining: 0 });
  }

  async req<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response<T>> {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const res = await request(`${this.base}${path}`, {
      method: method,
      body: text,
      headers: { 'content-type': 'application/json', ...headers },
      dispatcher: this.dispatcher,
    });
    const raw = await res.body.text();
    let parsed: unknown = raw;
    try {
      parsed = raw ? JSON.parse(raw) : undefined;
    } catch {
      // not JSON (YAML, metrics, plain text): leave as text
    }
    return { status: res.statusCode, headers: res.headers, body: parsed as T, text: raw };
  }

  get<T = KubeObject>(path: string, headers?: Record<string, string>) {
    return this.req<T>('GET', path, undefined, headers);
  }
  post<T = KubeObject>(path: string, body: unknown, headers?: Record<string, string>) {
    return this.req<T>('POST', path, body, headers);
  }
  put<T = KubeObject>(path: string, body: unknown, headers?: Record<string, string>) {
    return this.req<T>('PUT', path, body, headers);
  }
  patch<T = KubeObject>(path: string, body: unknown, contentType: string) {
    return this.req<T>('PATCH', path, body, { 'content-type': contentType });
  }
  delete<T = KubeObject>(path: string, body?: unknown) {
    return this.req<T>('DELETE', path, body);
  }

  /**
   * Opens a watch and collects its events; `until` resolves once `predicate` holds for the events
   * seen so far (or rejects at the deadline).
   */
  async watch(path: string, headers: Record<string, string> = {}): Promise<WatchStream> {
    const res = await request(`${this.base}${path}`, { method: 'GET', headers, dispatcher: this.dispatcher });
    return new WatchStream(res);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

export interface WatchEvent<T = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export class WatchStream {
  readonly events: WatchEvent[] = [];
  readonly status: number;
  readonly headers: Dispatcher.ResponseData['headers'];
  ended = false;
  /** Set when the stream ended abnormally (reset, aborted) rather than by a clean end of the response. */
  error?: Error;
  private listeners = new Set<() => void>();
  private readonly body: Dispatcher.ResponseData['body'];

  constructor(res: Dispatcher.ResponseData) {
    this.status = res.statusCode;
    this.headers = res.headers;
    this.body = res.body;
    let buf = '';
    res.body.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) this.events.push(JSON.parse(line) as WatchEvent);
      }
      this.notify();
    });
    res.body.on('end', () => {
      this.ended = true;
      this.notify();
    });
    res.body.on('error', (e: Error) => {
      this.error = e;
      this.ended = true;
      this.notify();
    });
  }

  private notify() {
    for (const l of this.listeners) l();
  }

  /** Waits until predicate(events) is true; rejects after timeoutMs with what was seen. */
  until(predicate: (events: WatchEvent[]) => boolean, timeoutMs = 10_000): Promise<WatchEvent[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this.events)) {
          cleanup();
          resolve(this.events);
        } else if (this.ended) {
          cleanup();
          reject(
            new Error(
              `watch ended; events: ${JSON.stringify(this.events.map((e) => [e.type, e.object?.metadata?.name]))}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `watch timed out; events: ${JSON.stringify(this.events.map((e) => [e.type, e.object?.metadata?.name]))}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  close(): void {
    this.body.destroy();
  }
}

export interface Env {
  etcd: EtcdProcess;
  storage: Storage;
  server: CatalogAPIServer;
  client: Client;
  base: string;
  cert: ServingCert;
  /** Writes a kubeconfig for this server and returns its path. */
  kubeconfig(): string;
  /** Restarts the API server on the same etcd (a fresh watch cache). */
  restartServer(): Promise<void>;
  stop(): Promise<void>;
}

export interface EnvOptions {
  watchCache?: boolean;
  resources?: ResourceDefinition[];
  maxRequestBodyBytes?: number;
  bookmarkIntervalMs?: number;
  /** Admission plugins by name; the server's default list when absent. */
  admissionPlugins?: string[];
  /**
   * Standalone mode (--standalone): also serve the core kinds and run the namespace controller.
   * With `resources`, the core kinds are added to those.
   */
  standalone?: boolean;
  /** Standalone mode: how often the namespace controller re-checks namespaces being deleted (ms). */
  namespaceResyncMs?: number;
  /** Who requests are from (anonymous without one) and what they may do (anything without one). */
  authenticator?: Authenticator;
  authorizer?: Authorizer;
  /** The cluster's namespaces, for NamespaceLifecycle when not standalone. */
  namespaces?: NamespaceSource;
}

/** A real etcd on free ports and a real API server over HTTPS in this process. */
export async function startEnv(opts: EnvOptions = {}): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-test-'));
  const etcd = await startEtcd(join(dir, 'etcd'));
  const storage = new Storage([etcd.endpoint], '/registry');
  const cert = testCert();
  const resources = opts.resources ?? servicecatalogResources;
  let namespaceController: NamespaceController | undefined;
  const launch = async () => {
    const started = await startServer({
      storage,
      resources: opts.standalone ? [...resources, ...coreResources] : resources,
      strategies: { ...servicecatalogStrategies, ...coreStrategies },
      admissionPlugins: (opts.admissionPlugins ?? defaultAdmissionPlugins).map((n) => admissionPlugins[n]),
      authenticator: opts.authenticator,
      authorizer: opts.authorizer,
      namespaces: opts.namespaces,
      watchCache: opts.watchCache ?? true,
      maxRequestBodyBytes: opts.maxRequestBodyBytes ?? 3 * 1024 * 1024,
      tls: cert,
      bindAddress: '127.0.0.1',
      port: 0,
      logger: createLogger('test-apiserver', 'silent'),
      metrics: createRegistry(),
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      version: '0.1.0',
    });
    if (opts.standalone) {
      namespaceController = startNamespaceController({
        stores: started.stores.values(),
        logger: createLogger('test-namespace-controller', 'silent'),
        resyncMs: opts.namespaceResyncMs,
      });
      await namespaceController.ready;
    }
    return started;
  };
  const stopServer = async () => {
    await namespaceController?.stop();
    namespaceController = undefined;
    await server.stop();
  };
  let server = await launch();
  let client = new Client(`https://127.0.0.1:${server.port}`, cert.ca);
  const env: Env = {
    etcd,
    storage,
    get server() {
      return server;
    },
    get client() {
      return client;
    },
    get base() {
      return client.base;
    },
    cert,
    kubeconfig() {
      const path = join(dir, 'kubeconfig');
      writeFileSync(path, kubeconfig(client.base, cert.ca));
      return path;
    },
    async restartServer() {
      await stopServer();
      await client.close();
      server = await launch();
      client = new Client(`https://127.0.0.1:${server.port}`, cert.ca);
    },
    async stop() {
      await stopServer();
      await client.close();
      storage.close();
      await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real kubectl against a kubeconfig; never throws on a non-zero exit. */
export function kubectl(kubeconfigPath: string, args: string[], stdin?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      [`--kubeconfig=${kubeconfigPath}`, ...args],
      {
        env: { ...process.env, KUBECACHEDIR: join(tmpdir(), `kubectl-cache-${process.pid}`) },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as NodeJS.ErrnoException).code === 'number'
            ? Number((err as NodeJS.ErrnoException).code)
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** Polls fn until it returns a truthy value or the deadline passes. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `condition not met in ${timeoutMs} ms${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 25));
  }
}
