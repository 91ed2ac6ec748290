import { existsSync } from 'node:fs';
import type * as ClientNode from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { RequestHeaderConfig } from './requestheader';

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The cluster to delegate to: the kubeconfig at `path`, else the in-cluster service account (as
 * client-go's InClusterConfig), else none.
 */
/**
 * @kubernetes/client-node costs some 70 MB of memory; a standalone server never needs it, so it is
 * loaded only when the server talks to a cluster.
 */
export function clientNode(): typeof ClientNode {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@kubernetes/client-node') as typeof ClientNode;
}

export function loadKubeConfig(path: string | undefined): KubeConfig | undefined {
  const kc = new (clientNode().KubeConfig)();
  if (path) {
    kc.loadFromFile(path);
    return kc;
  }
  if (process.env.KUBERNETES_SERVICE_HOST && existsSync(`${serviceAccountDir}/token`)) {
    kc.loadFromCluster();
    return kc;
  }
  return undefined;
}

/** Rejects when `p` has not settled in `ms` (the cluster client has no per-call timeout). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export const authenticationConfigMap = {
  namespace: 'kube-system',
  name: 'extension-apiserver-authentication',
};

export interface ClusterAuthenticationConfig {
  /** PEM bundle for client certificates, from `client-ca-file`. */
  clientCA?: string;
  /** Front-proxy settings, present when the ConfigMap has a `requestheader-client-ca-file`. */
  requestHeader?: RequestHeaderConfig;
}

/** The settings kube-apiserver publishes for aggregated API servers; lists are JSON string arrays. */
export function parseAuthenticationConfigMap(data: Record<string, string>): ClusterAuthenticationConfig {
  const strings = (key: string): string[] => {
    const raw = data[key];
    if (!raw) return [];
    const parsed: unknown = JSON.parse(raw);
    if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string')) {
      throw new Error(
        `configmap ${authenticationConfigMap.namespace}/${authenticationConfigMap.name}: ${key} is not a JSON array of strings`,
      );
    }
    return parsed;
  };
  const out: ClusterAuthenticationConfig = {};
  if (data['client-ca-file']) out.clientCA = data['client-ca-file'];
  if (data['requestheader-client-ca-file']) {
    out.requestHeader = {
      clientCA: data['requestheader-client-ca-file'],
      allowedNames: strings('requestheader-allowed-names'),
      usernameHeaders: strings('requestheader-username-headers'),
      uidHeaders: strings('requestheader-uid-headers'),
      groupHeaders: strings('requestheader-group-headers'),
      extraHeaderPrefixes: strings('requestheader-extra-headers-prefix'),
    };
  }
  return out;
}

/**
 * Reads kube-system/extension-apiserver-authentication. Undefined when the cluster has none (it was
 * not started with --client-ca-file or --requestheader-client-ca-file).
 */
export async function readAuthenticationConfigMap(
  kc: KubeConfig,
  timeoutMs = 10_000,
): Promise<ClusterAuthenticationConfig | undefined> {
  const api = kc.makeApiClient(clientNode().CoreV1Api);
  try {
    const cm = await withTimeout(
      api.readNamespacedConfigMap(authenticationConfigMap),
      timeoutMs,
      'reading the authentication configmap',
    );
    return parseAuthenticationConfigMap(cm.data ?? {});
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 404) return undefined;
    const hint =
      code === 403
        ? ` (usually fixed by 'kubectl create rolebinding -n kube-system ROLEBINDING_NAME --role=extension-apiserver-authentication-reader --serviceaccount=YOUR_NS:YOUR_SA')`
        : '';
    throw new Error(
      `unable to get configmap/${authenticationConfigMap.name} in ${authenticationConfigMap.namespace}: ${(e as Error).message}${hint}`,
    );
  }
}
