import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, KubeError } from '../pkg/kube/client';
import { CliError, type Target } from './errors';

/** The flags every command takes, as kubectl's. */
export interface GlobalArgs {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/**
 * The kubeconfig as kubectl loads it (client-go's loading rules): --kubeconfig, which must exist;
 * else every existing file of $KUBECONFIG merged, the first to set a cluster, user, context or
 * current-context winning; else ~/.kube/config; else the in-cluster service account.
 * client-node's loadFromDefault differs (a missing $KUBECONFIG file throws, later files override
 * the current context, duplicate names throw), hence this.
 */
export function loadKubeConfig(args: GlobalArgs, env = process.env): { kc: KubeConfig; source: string } {
  const kc = new KubeConfig();
  const fromFiles = (files: string[]) => {
    const [first, ...rest] = files;
    kc.loadFromFile(first);
    for (const file of rest) {
      const next = new KubeConfig();
      next.loadFromFile(file);
      const has = (list: { name: string }[], name: string) => list.some((x) => x.name === name);
      for (const c of next.clusters) if (!has(kc.clusters, c.name)) kc.addCluster(c);
      for (const u of next.users) if (!has(kc.users, u.name)) kc.addUser(u);
      for (const c of next.contexts) if (!has(kc.contexts, c.name)) kc.addContext(c);
      if (!kc.currentContext && next.currentContext) kc.setCurrentContext(next.currentContext);
    }
    return { kc, source: files.join(delimiter) };
  };
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  try {
    if (args.kubeconfig) {
      if (!existsSync(args.kubeconfig)) throw new CliError(`kubeconfig ${args.kubeconfig} does not exist`);
      return fromFiles([args.kubeconfig]);
    }
    const existing = listed.filter((f) => existsSync(f));
    if (existing.length) return fromFiles(existing);
    if (!listed.length && existsSync(home)) return fromFiles([home]);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot load kubeconfig: ${(e as Error).message}`);
  }
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) {
    kc.loadFromCluster();
    return { kc, source: 'in-cluster service account' };
  }
  const where = listed.length
    ? `none of the files in KUBECONFIG (${listed.join(delimiter)}) exists`
    : `${home} does not exist and KUBECONFIG is not set`;
  throw new CliError(`no kubeconfig: ${where}; pass --kubeconfig or set KUBECONFIG`);
}

/** A connection to the cluster through the user's kubeconfig, and the namespace commands default to. */
export class Session {
  readonly api: KubeClient;
  /** -n, else the context's namespace, else "default" (as kubectl). */
  readonly namespace: string;
  readonly target: Target;
  private readonly kc: KubeConfig;

  constructor(args: GlobalArgs) {
    const { kc, source } = loadKubeConfig(args);
    if (args.context) {
      if (!kc.getContextObject(args.context))
        throw new CliError(`context "${args.context}" does not exist in ${source}`);
      kc.setCurrentContext(args.context);
    }
    const context = kc.getContextObject(kc.currentContext);
    const cluster = kc.getCurrentCluster();
    if (!context && source !== 'in-cluster service account')
      throw new CliError(`${source} has no current context: pass --context`);
    if (!cluster?.server)
      throw new CliError(`context "${kc.currentContext}" in ${source} names no cluster server`);
    this.kc = kc;
    this.api = new KubeClient(kc);
    this.namespace = args.namespace || context?.namespace || 'default';
    this.target = { server: cluster.server, context: kc.currentContext };
  }

  /**
   * GET of a path outside the resources (OpenAPI, /version), with the kubeconfig's credentials;
   * KubeClient reads only objects of a kind.
   */
  async getJSON(path: string): Promise<unknown> {
    const url = new URL(path, this.target.server);
    const opts: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts);
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(url, opts, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          let parsed: { reason?: string; message?: string } | undefined;
          try {
            parsed = JSON.parse(body) as { reason?: string; message?: string };
          } catch {
            // not JSON: reported by status below, or as unreadable
          }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300 && parsed !== undefined) resolve(parsed);
          else
            reject(new KubeError(code, parsed?.reason ?? '', parsed?.message ?? `HTTP ${code} for ${path}`));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }
}
