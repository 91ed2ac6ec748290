import { readFileSync } from 'node:fs';
import { FlagError, parseFlags, type FlagSpec } from '../../pkg/flags';
import { admissionPlugins, defaultAdmissionPlugins } from '../admission';
import type { AdmissionPlugin } from '../admission/types';

export const flagSpecs: Record<string, FlagSpec> = {
  'etcd-servers': { type: 'list', default: ['http://127.0.0.1:2379'], description: 'Comma-separated etcd client URLs.' },
  'etcd-prefix': { type: 'string', default: '/registry', description: 'Key prefix of every object in etcd.' },
  'bind-address': { type: 'string', default: '0.0.0.0', description: 'Address to serve HTTPS on.' },
  'secure-port': { type: 'number', default: 8443, description: 'Port to serve HTTPS on (0 picks a free port).' },
  'cert-dir': {
    type: 'string',
    default: 'apiserver.local.config/certificates',
    description: 'Where the self-signed serving certificate is kept when --tls-cert-file/--tls-private-key-file are not given.',
  },
  'tls-cert-file': { type: 'string', description: 'Serving certificate (PEM, may include the chain).' },
  'tls-private-key-file': { type: 'string', description: 'Private key of --tls-cert-file.' },
  'service-name': { type: 'string', default: 'catalog-apiserver', description: 'In-cluster Service name, added to the self-signed certificate.' },
  'service-namespace': { type: 'string', default: 'catalog', description: 'In-cluster Service namespace, added to the self-signed certificate.' },
  'watch-cache': { type: 'boolean', default: true, description: 'Serve watches and resourceVersion=0 reads from memory, with one etcd watch per resource.' },
  'max-request-body-bytes': { type: 'number', default: 3 * 1024 * 1024, description: 'Largest request body accepted.' },
  'watch-bookmark-interval': { type: 'duration', default: '1m', description: 'How often watches that allow bookmarks get one.' },
  'enable-admission-plugins': {
    type: 'list',
    description: `Admission plugins to run, in order (default: ${defaultAdmissionPlugins.join(',')}). Known: ${Object.keys(admissionPlugins).join(', ')}.`,
  },
  standalone: {
    type: 'boolean',
    default: false,
    description:
      'Also serve core/v1 namespaces, secrets, configmaps, events and coordination.k8s.io/v1 leases from the same etcd, with a namespace lifecycle controller, so that kubectl and client libraries work with no Kubernetes cluster.',
  },
  'min-request-timeout': { type: 'number', default: 1800, description: 'Watches without timeoutSeconds end after a random time between this many seconds and twice it.' },
};

export interface Options {
  etcdServers: string[];
  etcdPrefix: string;
  bindAddress: string;
  securePort: number;
  certDir: string;
  tls?: { cert: string; key: string };
  serviceHosts: string[];
  watchCache: boolean;
  maxRequestBodyBytes: number;
  bookmarkIntervalMs: number;
  minRequestTimeoutSeconds: number;
  admissionPlugins: AdmissionPlugin[];
  standalone: boolean;
}

/** Flags → options; returns undefined when --help was asked. */
export function parseOptions(argv: string[]): Options | undefined {
  const f = parseFlags(argv, flagSpecs);
  if (f.help) return undefined;
  const certFile = f['tls-cert-file'] as string | undefined;
  const keyFile = f['tls-private-key-file'] as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new Error('--tls-cert-file and --tls-private-key-file go together');
  }
  const svc = f['service-name'] as string;
  const ns = f['service-namespace'] as string;
  return {
    etcdServers: f['etcd-servers'] as string[],
    etcdPrefix: f['etcd-prefix'] as string,
    bindAddress: f['bind-address'] as string,
    securePort: f['secure-port'] as number,
    certDir: f['cert-dir'] as string,
    tls: certFile && keyFile ? { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') } : undefined,
    serviceHosts: ['localhost', '127.0.0.1', '::1', svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`],
    watchCache: f['watch-cache'] as boolean,
    maxRequestBodyBytes: f['max-request-body-bytes'] as number,
    bookmarkIntervalMs: f['watch-bookmark-interval'] as number,
    minRequestTimeoutSeconds: f['min-request-timeout'] as number,
    standalone: f['standalone'] as boolean,
    admissionPlugins: ((f['enable-admission-plugins'] as string[] | undefined) ?? defaultAdmissionPlugins).map((name) => {
      const plugin = admissionPlugins[name];
      if (!plugin) throw new FlagError(`unknown admission plugin "${name}" (known: ${Object.keys(admissionPlugins).join(', ')})`);
      return plugin;
    }),
  };
}
