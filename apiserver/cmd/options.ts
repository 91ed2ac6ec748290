import { servingFlags, servingOptions, type ServingOptions } from '../../pkg/cmd';
import { FlagError, parseFlags, type FlagSpec, type FlagValues } from '../../pkg/flags';
import { admissionPlugins, defaultAdmissionPlugins } from '../admission';
import type { AuthOptions } from '../auth/config';

// named and defaulted as k8s.io/apiserver's delegating authentication and authorization options
const authenticationFlags: Record<string, FlagSpec> = {
  'client-ca-file': {
    type: 'string',
    description:
      'CA bundle: a request presenting a client certificate it signed is the user named by the CN, in the groups named by O. Read from configmap kube-system/extension-apiserver-authentication when not given.',
  },
  'requestheader-client-ca-file': {
    type: 'string',
    description:
      'CA bundle of front proxies (the aggregator): the identity headers are believed only on connections with a client certificate it signed. Read, with the other --requestheader-* settings, from configmap kube-system/extension-apiserver-authentication when not given.',
  },
  'requestheader-allowed-names': {
    type: 'list',
    default: [],
    description: 'CNs a front-proxy certificate may have; empty allows any it signed.',
  },
  'requestheader-username-headers': {
    type: 'list',
    default: ['X-Remote-User'],
    description: 'Headers holding the user name (the first with a value wins).',
  },
  'requestheader-uid-headers': {
    type: 'list',
    default: [],
    description: 'Headers holding the user UID (the first with a value wins).',
  },
  'requestheader-group-headers': {
    type: 'list',
    default: ['X-Remote-Group'],
    description: 'Headers holding group names (every value counts).',
  },
  'requestheader-extra-headers-prefix': {
    type: 'list',
    default: ['X-Remote-Extra-'],
    description:
      'Header prefixes whose headers hold extra user attributes (the rest of the name, lowercased and percent-decoded, is the key).',
  },
  'token-auth-file': {
    type: 'string',
    description: 'Static bearer tokens, kube CSV lines: token,user,uid,"group1,group2".',
  },
  'anonymous-auth': {
    type: 'boolean',
    default: true,
    description:
      'Requests with no credentials are system:anonymous (group system:unauthenticated); when false they get 401 Unauthorized.',
  },
  'authentication-kubeconfig': {
    type: 'string',
    description:
      'Cluster that reviews bearer tokens (TokenReview) and publishes the authentication configmap (default --kubeconfig, else the in-cluster service account).',
  },
  'authentication-token-webhook-cache-ttl': {
    type: 'duration',
    default: '10s',
    description: 'How long TokenReview answers are cached.',
  },
  'authentication-skip-lookup': {
    type: 'boolean',
    default: false,
    description: 'Do not read configmap kube-system/extension-apiserver-authentication.',
  },
  'authentication-tolerate-lookup-failure': {
    type: 'boolean',
    default: false,
    description: 'Start even when configmap kube-system/extension-apiserver-authentication cannot be read.',
  },
};

const authorizationFlags: Record<string, FlagSpec> = {
  'authorization-kubeconfig': {
    type: 'string',
    description:
      'Cluster that authorizes requests (SubjectAccessReview) (default --kubeconfig, else the in-cluster service account).',
  },
  'authorization-webhook-cache-authorized-ttl': {
    type: 'duration',
    default: '10s',
    description: 'How long allowed SubjectAccessReview answers are cached.',
  },
  'authorization-webhook-cache-unauthorized-ttl': {
    type: 'duration',
    default: '10s',
    description: 'How long denied SubjectAccessReview answers are cached.',
  },
  'authorization-policy-file': {
    type: 'string',
    description:
      'YAML or JSON list of rules {users, groups, verbs, resources, apiGroups, namespaces, nonResourcePaths}; a request a rule matches is allowed. With neither this nor a cluster to ask, every authenticated user may do anything and anonymous nothing. system:masters may always do anything.',
  },
  'authorization-always-allow-paths': {
    type: 'list',
    default: ['/healthz', '/readyz', '/livez'],
    description: 'Paths served without authentication or authorization.',
  },
};

export const flagSpecs: Record<string, FlagSpec> = {
  'etcd-servers': {
    type: 'list',
    default: ['http://127.0.0.1:2379'],
    description: 'Comma-separated etcd client URLs.',
  },
  'etcd-prefix': { type: 'string', default: '/registry', description: 'Key prefix of every object in etcd.' },
  ...servingFlags({ port: 8443, certDir: 'apiserver.local.config/certificates', serves: 'the API' }),
  'service-name': {
    type: 'string',
    default: 'catalog-apiserver',
    description: 'In-cluster Service name, added to the self-signed certificate.',
  },
  'service-namespace': {
    type: 'string',
    default: 'catalog',
    description: 'In-cluster Service namespace, added to the self-signed certificate.',
  },
  'watch-cache': {
    type: 'boolean',
    default: true,
    description: 'Serve watches and resourceVersion=0 reads from memory, with one etcd watch per resource.',
  },
  'max-request-body-bytes': {
    type: 'number',
    default: 3 * 1024 * 1024,
    description: 'Largest request body accepted.',
  },
  'watch-bookmark-interval': {
    type: 'duration',
    default: '1m',
    description: 'How often watches that allow bookmarks get one.',
  },
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
  'min-request-timeout': {
    type: 'number',
    default: 1800,
    description:
      'Watches without timeoutSeconds end after a random time between this many seconds and twice it.',
  },
  kubeconfig: {
    type: 'string',
    description:
      'The cluster this server belongs to (else the in-cluster service account): NamespaceLifecycle watches its namespaces unless --standalone, and --authentication-kubeconfig and --authorization-kubeconfig default to it.',
  },
  ...authenticationFlags,
  ...authorizationFlags,
};

export interface Options {
  serving: ServingOptions;
  etcdServers: string[];
  etcdPrefix: string;
  watchCache: boolean;
  maxRequestBodyBytes: number;
  bookmarkIntervalMs: number;
  minRequestTimeoutSeconds: number;
  /** Names of the enabled admission plugins, in order (keys of `admissionPlugins`). */
  admissionPlugins: string[];
  standalone: boolean;
  /** The cluster this server belongs to (--kubeconfig). */
  kubeconfig?: string;
  auth: AuthOptions;
}

function authOptions(f: FlagValues): AuthOptions {
  const str = (name: string) => (f[name] as string | undefined) || undefined;
  const list = (name: string) => f[name] as string[];
  for (const name of [
    'requestheader-username-headers',
    'requestheader-uid-headers',
    'requestheader-group-headers',
    'requestheader-extra-headers-prefix',
    'requestheader-allowed-names',
  ]) {
    if (list(name).some((v) => v.trim() === '')) throw new FlagError(`empty value in --${name}`);
  }
  return {
    clientCAFile: str('client-ca-file'),
    requestHeader: {
      clientCAFile: str('requestheader-client-ca-file'),
      allowedNames: list('requestheader-allowed-names'),
      usernameHeaders: list('requestheader-username-headers'),
      uidHeaders: list('requestheader-uid-headers'),
      groupHeaders: list('requestheader-group-headers'),
      extraHeaderPrefixes: list('requestheader-extra-headers-prefix'),
    },
    tokenAuthFile: str('token-auth-file'),
    anonymous: f['anonymous-auth'] as boolean,
    authenticationKubeconfig: str('authentication-kubeconfig') ?? str('kubeconfig'),
    skipLookup: f['authentication-skip-lookup'] as boolean,
    tolerateLookupFailure: f['authentication-tolerate-lookup-failure'] as boolean,
    tokenCacheTTLMs: f['authentication-token-webhook-cache-ttl'] as number,
    authorizationKubeconfig: str('authorization-kubeconfig') ?? str('kubeconfig'),
    authorizedTTLMs: f['authorization-webhook-cache-authorized-ttl'] as number,
    unauthorizedTTLMs: f['authorization-webhook-cache-unauthorized-ttl'] as number,
    policyFile: str('authorization-policy-file'),
    alwaysAllowPaths: list('authorization-always-allow-paths'),
  };
}

/** Flags → options; returns undefined when --help was asked. */
export function parseOptions(argv: string[]): Options | undefined {
  const f = parseFlags(argv, flagSpecs);
  if (f.help) return undefined;
  const svc = f['service-name'] as string;
  const ns = f['service-namespace'] as string;
  return {
    etcdServers: f['etcd-servers'] as string[],
    etcdPrefix: f['etcd-prefix'] as string,
    serving: servingOptions(f, [
      'localhost',
      '127.0.0.1',
      '::1',
      svc,
      `${svc}.${ns}`,
      `${svc}.${ns}.svc`,
      `${svc}.${ns}.svc.cluster.local`,
    ]),
    watchCache: f['watch-cache'] as boolean,
    maxRequestBodyBytes: f['max-request-body-bytes'] as number,
    bookmarkIntervalMs: f['watch-bookmark-interval'] as number,
    minRequestTimeoutSeconds: f['min-request-timeout'] as number,
    standalone: f['standalone'] as boolean,
    kubeconfig: f['kubeconfig'] as string | undefined,
    auth: authOptions(f),
    admissionPlugins: (
      (f['enable-admission-plugins'] as string[] | undefined) ?? defaultAdmissionPlugins
    ).map((name) => {
      if (!Object.hasOwn(admissionPlugins, name))
        throw new FlagError(
          `unknown admission plugin "${name}" (known: ${Object.keys(admissionPlugins).join(', ')})`,
        );
      return name;
    }),
  };
}
