import { createHash } from 'node:crypto';
import { secretValue, type Secret } from '../../api-types/core/secret';
import type { CommonServiceBrokerSpec } from '../../api-types/common';
import type { KubeObject } from '../../api-types/meta';
import { OSBClient, type BrokerAuth, type OSBMetrics } from '../../pkg/osb';

/** Where a broker's auth Secret lives and which scheme it feeds. */
interface AuthSecretRef {
  method: 'basic' | 'bearer';
  namespace: string;
  name: string;
}

/** The broker could not be given credentials (the Secret or one of its keys is missing). */
export class AuthCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthCredentialsError';
  }
}

/** What a broker object must offer: both broker kinds fit. */
export interface BrokerLike extends KubeObject {
  spec?: CommonServiceBrokerSpec & {
    authInfo?: {
      basic?: { secretRef?: { namespace?: string; name?: string } };
      bearer?: { secretRef?: { namespace?: string; name?: string } };
    };
  };
}

/**
 * The Secret a broker's authInfo names, if any. A ClusterServiceBroker names the namespace; a
 * ServiceBroker's Secret is always in its own namespace (whatever the reference says).
 */
export function authSecretRef(broker: BrokerLike): AuthSecretRef | undefined {
  const auth = broker.spec?.authInfo;
  const method = auth?.basic ? 'basic' : auth?.bearer ? 'bearer' : undefined;
  if (!method) return undefined;
  const ref = auth![method]!.secretRef ?? {};
  const namespace = broker.metadata.namespace ?? ref.namespace ?? '';
  return { method, namespace, name: ref.name ?? '' };
}

/** Reads a Secret; undefined when it does not exist. */
type SecretReader = (namespace: string, name: string) => Promise<Secret | undefined> | Secret | undefined;

/** The credentials a broker's authInfo points at; throws AuthCredentialsError when they cannot be had. */
async function brokerAuth(broker: BrokerLike, readSecret: SecretReader): Promise<BrokerAuth | undefined> {
  const ref = authSecretRef(broker);
  if (!ref) return undefined;
  const where = `"${ref.namespace}/${ref.name}"`;
  if (!ref.name || !ref.namespace) {
    throw new AuthCredentialsError(`authInfo.${ref.method}.secretRef does not name a Secret`);
  }
  const secret = await readSecret(ref.namespace, ref.name);
  if (!secret) throw new AuthCredentialsError(`Secret ${where} not found`);
  const need = (key: string): string => {
    const v = secretValue(secret, key);
    if (v === undefined) throw new AuthCredentialsError(`Secret ${where} has no key "${key}"`);
    return v;
  };
  if (ref.method === 'basic') return { basic: { username: need('username'), password: need('password') } };
  return { bearer: { token: need('token') } };
}

interface BrokerClientsOptions {
  /** Per request (--osb-api-request-timeout). */
  timeoutMs: number;
  /** Shared by every client; the `broker` label tells brokers apart. */
  metrics?: OSBMetrics;
  readSecret: SecretReader;
}

interface Entry {
  fingerprint: string;
  client: OSBClient;
}

/**
 * One OSBClient per broker, keyed by the broker's key. The client is rebuilt when what it was
 * built from changes (URL, TLS settings, credentials), and closed when replaced or removed.
 */
export class BrokerClients {
  private readonly clients = new Map<string, Entry>();

  constructor(private readonly opts: BrokerClientsOptions) {}

  /** The client for this broker as it is now; throws AuthCredentialsError or a URL error. */
  async get(key: string, broker: BrokerLike): Promise<OSBClient> {
    const spec = broker.spec ?? {};
    const auth = await brokerAuth(broker, this.opts.readSecret);
    const caBundle = spec.caBundle ? Buffer.from(spec.caBundle, 'base64').toString('utf8') : undefined;
    const config = {
      url: spec.url ?? '',
      caBundle,
      insecureSkipTLSVerify: spec.insecureSkipTLSVerify === true,
      auth,
    };
    // a digest, so that credentials are not kept in memory twice
    const fingerprint = createHash('sha256').update(JSON.stringify(config)).digest('hex');
    const current = this.clients.get(key);
    if (current?.fingerprint === fingerprint) return current.client;
    const { namespace, name } = broker.metadata;
    const client = new OSBClient({
      // errors and the `broker` metrics label name the broker as users know it
      name: namespace ? `${namespace}/${name}` : (name ?? key),
      url: config.url,
      auth,
      caBundle,
      insecureSkipTLSVerify: config.insecureSkipTLSVerify,
      timeoutMs: this.opts.timeoutMs,
      metrics: this.opts.metrics,
    });
    this.clients.set(key, { fingerprint, client });
    if (current) void current.client.close().catch(() => undefined);
    return client;
  }

  /** The client built last for this broker, if any (other controllers call brokers with it). */
  peek(key: string): OSBClient | undefined {
    return this.clients.get(key)?.client;
  }

  remove(key: string): void {
    const entry = this.clients.get(key);
    if (!entry) return;
    this.clients.delete(key);
    void entry.client.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const entries = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(entries.map((e) => e.client.close().catch(() => undefined)));
  }
}
