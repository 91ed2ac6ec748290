import { hostname } from 'node:os';
import { servingFlags, servingOptions, type ServingOptions } from '../../pkg/cmd';
import { FlagError, parseFlags, type FlagSpec } from '../../pkg/flags';
import type { ControllerOptions } from '../context';
import { validateTimings } from '../framework/leader-election';
import type { LeaderElectionOptions } from '../manager';

/** The original's feature gates; only CascadingDeletion changes what this controller-manager does. */
const knownFeatureGates: Record<string, boolean> = {
  OriginatingIdentity: true,
  OriginatingIdentityLocking: true,
  NamespacedServiceBroker: true,
  AsyncBindingOperations: false,
  UpdateDashboardURL: false,
  ServicePlanDefaults: false,
  CascadingDeletion: false,
};

export const flagSpecs: Record<string, FlagSpec> = {
  kubeconfig: {
    type: 'string',
    description:
      'Kubeconfig of the API server holding the servicecatalog and core kinds; the in-cluster service account when empty.',
  },
  ...servingFlags({
    port: 8444,
    certDir: 'controller-manager.local.config/certificates',
    serves: '/healthz, /readyz and /metrics',
  }),
  'resync-interval': {
    type: 'duration',
    default: '5m',
    description: 'How often every cached object is handed to its controller again.',
  },
  'broker-relist-interval': {
    type: 'duration',
    default: '24h',
    description: "How often a broker's catalog is fetched again.",
  },
  'concurrent-syncs': { type: 'number', default: 5, description: 'Workers per controller queue.' },
  'reconciliation-retry-duration': {
    type: 'duration',
    default: '168h',
    description: 'How long an operation is retried, from its start, before it is given up as failed.',
  },
  'operation-polling-maximum-backoff-duration': {
    type: 'duration',
    default: '20m',
    description:
      'Cap of the per-object exponential backoff (which starts at 1s) of retries and of polling asynchronous operations.',
  },
  'osb-api-request-timeout': {
    type: 'duration',
    default: '60s',
    description: 'Timeout of each request to a broker.',
  },
  'cluster-id-configmap-name': {
    type: 'string',
    default: 'cluster-info',
    description: 'ConfigMap holding this cluster\'s ID (key "id"), created with a random UUID when missing.',
  },
  'cluster-id-configmap-namespace': {
    type: 'string',
    default: 'default',
    description: 'Namespace of --cluster-id-configmap-name.',
  },
  'leader-elect': {
    type: 'boolean',
    default: true,
    description:
      'Run the controllers only while holding a coordination.k8s.io/v1 Lease, so that replicas can stand by.',
  },
  'leader-elect-lease-duration': {
    type: 'duration',
    default: '15s',
    description: 'How long a standby waits, from when it last saw the lease change, before taking it over.',
  },
  'leader-elect-renew-deadline': {
    type: 'duration',
    default: '10s',
    description: 'How long the leader keeps trying to renew the lease before it stops leading (and exits).',
  },
  'leader-elect-retry-period': {
    type: 'duration',
    default: '2s',
    description: 'How often candidates try to acquire or renew the lease.',
  },
  'leader-elect-resource-name': {
    type: 'string',
    default: 'service-catalog-controller-manager',
    description: 'Name of the leader Lease.',
  },
  'leader-elect-resource-namespace': {
    type: 'string',
    default: 'kube-system',
    description: 'Namespace of the leader Lease.',
  },
  'leader-election-namespace': {
    type: 'string',
    description: "The original's name for --leader-elect-resource-namespace (takes precedence when given).",
  },
  'feature-gates': {
    type: 'list',
    description: `Key=value pairs of feature gates. Known: ${Object.entries(knownFeatureGates)
      .map(([k, v]) => `${k} (default ${v})`)
      .join(', ')}.`,
  },
};

export interface Options {
  kubeconfig?: string;
  serving: ServingOptions;
  controller: ControllerOptions;
  leaderElection: LeaderElectionOptions;
  clusterIdConfigMap: { namespace: string; name: string };
  featureGates: Record<string, boolean>;
}

function parseFeatureGates(pairs: string[]): Record<string, boolean> {
  const gates = { ...knownFeatureGates };
  for (const pair of pairs) {
    const [key, value] = pair.split('=');
    if (!(key in knownFeatureGates)) throw new FlagError(`unrecognized feature gate: ${key}`);
    if (value !== 'true' && value !== 'false')
      throw new FlagError(`invalid value of ${key}: ${value}, want true or false`);
    gates[key] = value === 'true';
  }
  return gates;
}

/** Flags → options; returns undefined when --help was asked. */
export function parseOptions(argv: string[]): Options | undefined {
  const f = parseFlags(argv, flagSpecs);
  if (f.help) return undefined;
  const concurrentSyncs = f['concurrent-syncs'] as number;
  if (!Number.isInteger(concurrentSyncs) || concurrentSyncs < 1)
    throw new FlagError('--concurrent-syncs must be a positive integer');
  const featureGates = parseFeatureGates((f['feature-gates'] as string[] | undefined) ?? []);
  const leaderElection: LeaderElectionOptions = {
    enabled: f['leader-elect'] as boolean,
    leaseDurationMs: f['leader-elect-lease-duration'] as number,
    renewDeadlineMs: f['leader-elect-renew-deadline'] as number,
    retryPeriodMs: f['leader-elect-retry-period'] as number,
    resourceName: f['leader-elect-resource-name'] as string,
    resourceNamespace: ((f['leader-election-namespace'] as string | undefined) ??
      f['leader-elect-resource-namespace']) as string,
  };
  if (leaderElection.enabled) {
    const problem = validateTimings(leaderElection);
    if (problem) throw new FlagError(`leader election: ${problem}`);
  }
  return {
    kubeconfig: (f.kubeconfig as string | undefined) || undefined,
    serving: servingOptions(f, ['localhost', '127.0.0.1', '::1', hostname()]),
    controller: {
      resyncIntervalMs: f['resync-interval'] as number,
      brokerRelistIntervalMs: f['broker-relist-interval'] as number,
      concurrentSyncs,
      reconciliationRetryDurationMs: f['reconciliation-retry-duration'] as number,
      osbApiRequestTimeoutMs: f['osb-api-request-timeout'] as number,
      operationPollingMaximumBackoffMs: f['operation-polling-maximum-backoff-duration'] as number,
      cascadingDeletion: featureGates.CascadingDeletion,
    },
    leaderElection,
    clusterIdConfigMap: {
      namespace: f['cluster-id-configmap-namespace'] as string,
      name: f['cluster-id-configmap-name'] as string,
    },
    featureGates,
  };
}
