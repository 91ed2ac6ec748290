import { readFileSync } from 'node:fs';
import { parseDuration } from '../../pkg/time';
import { clusterScope, namespacedScope } from '../../pkg/servicecatalog/references';
import { brokers, classes, findOne, kindOf, type Obj, type Scope } from '../catalog';
import { CliError } from '../errors';
import { formatDetails, formatTable } from '../output';
import type { GlobalArgs, Session } from '../session';
import { classTable, fullStatus, scopeName } from '../views';
import { untilGone, untilReady, waitOptions, type WaitArgs } from '../wait';
import { modify, waitOn, whereOf, write } from './shared';

/** register, deregister, sync broker and create class. */

export interface RegisterArgs extends GlobalArgs, WaitArgs {
  name: string;
  url: string;
  basicSecret?: string;
  bearerSecret?: string;
  ca?: string;
  skipTls?: boolean;
  classRestrictions?: string[];
  planRestrictions?: string[];
  relistBehavior?: string;
  relistDuration?: string;
  scope: Exclude<Scope, 'all'>;
}

function brokerSpec(a: RegisterArgs, namespace: string): Record<string, unknown> {
  if (a.basicSecret && a.bearerSecret)
    throw new CliError('--basic-secret and --bearer-secret exclude each other');
  let caBundle: string | undefined;
  if (a.ca) {
    try {
      caBundle = readFileSync(a.ca).toString('base64');
    } catch (e) {
      throw new CliError(
        `cannot read --ca ${a.ca}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }
  const behavior = a.relistBehavior?.toLowerCase();
  if (behavior !== undefined && behavior !== 'duration' && behavior !== 'manual')
    throw new CliError(`invalid --relist-behavior "${a.relistBehavior}": want duration or manual`);
  if (a.relistDuration !== undefined) {
    if (behavior === 'manual')
      throw new CliError('--relist-duration goes with --relist-behavior duration, not manual');
    if (parseDuration(a.relistDuration) === undefined)
      throw new CliError(`invalid --relist-duration "${a.relistDuration}": want a duration such as 15m`);
  }
  // a cluster-scoped broker's secret is in the namespace given (-n or the context's)
  const secretRef = (name: string) => (a.scope === 'cluster' ? { namespace, name } : { name });
  const restrictions = {
    ...(a.classRestrictions?.length ? { serviceClass: a.classRestrictions } : {}),
    ...(a.planRestrictions?.length ? { servicePlan: a.planRestrictions } : {}),
  };
  return {
    url: a.url,
    ...(a.skipTls ? { insecureSkipTLSVerify: true } : {}),
    ...(caBundle ? { caBundle } : {}),
    ...(behavior || a.relistDuration
      ? { relistBehavior: behavior === 'manual' ? 'Manual' : 'Duration' }
      : {}),
    ...(a.relistDuration ? { relistDuration: a.relistDuration } : {}),
    ...(Object.keys(restrictions).length ? { catalogRestrictions: restrictions } : {}),
    ...(a.basicSecret ? { authInfo: { basic: { secretRef: secretRef(a.basicSecret) } } } : {}),
    ...(a.bearerSecret ? { authInfo: { bearer: { secretRef: secretRef(a.bearerSecret) } } } : {}),
  };
}

function brokerDetails(b: Obj): string {
  return formatDetails([
    ['Name', b.metadata.name],
    ['Scope', scopeName(b)],
    ['Namespace', b.metadata.namespace],
    ['URL', b.spec?.url as string | undefined],
    ['Status', fullStatus(b)],
  ]);
}

/** Creates a broker: a ServiceBroker in the namespace, or a ClusterServiceBroker with --scope cluster. */
export async function register(s: Session, a: RegisterArgs): Promise<void> {
  const wait = waitOptions(a);
  const kind = brokers.of(a.scope === 'cluster' ? clusterScope : namespacedScope);
  const namespace = a.scope === 'cluster' ? undefined : s.namespace;
  let broker = await s.api.create<Obj>(kind, {
    metadata: { name: a.name, ...(namespace ? { namespace } : {}) },
    spec: brokerSpec(a, s.namespace),
  });
  broker = await waitOn(s, 'broker', kind, broker, wait, untilReady);
  write(brokerDetails(broker));
}

export interface BrokerArgs extends GlobalArgs, WaitArgs {
  name: string;
  scope: Scope;
}

/** Deletes the broker, found cluster-wide or in the namespace; its classes and plans go with it. */
export async function deregister(s: Session, a: BrokerArgs): Promise<void> {
  const wait = waitOptions(a);
  const broker = await findOne(s, brokers, a.name, whereOf(s, a), true);
  const kind = kindOf(brokers, broker);
  await s.api.delete(kind, broker.metadata.namespace, a.name);
  await waitOn(s, 'broker', kind, broker, wait, untilGone);
  write(`Successfully removed broker "${a.name}"\n`);
}

/** Bumps spec.relistRequests: the controller fetches the broker's catalog now. */
export async function syncBroker(s: Session, a: BrokerArgs): Promise<void> {
  const wait = waitOptions(a);
  const broker = await findOne(s, brokers, a.name, whereOf(s, a), true);
  const kind = kindOf(brokers, broker);
  const synced = await modify(s, kind, broker, (latest) => ({
    ...latest,
    spec: { ...latest.spec, relistRequests: ((latest.spec?.relistRequests as number | undefined) ?? 0) + 1 },
  }));
  write(`Synchronization requested for broker: ${a.name}\n`);
  await waitOn(s, 'broker', kind, synced, wait, untilReady);
}

export interface CreateClassArgs extends GlobalArgs {
  name: string;
  from: string;
  scope: Scope;
}

/** A user-defined copy of a class under a new name, in the scope of the class copied. */
export async function createClass(s: Session, a: CreateClassArgs): Promise<void> {
  const from = await findOne(s, classes, a.from, whereOf(s, a));
  const kind = kindOf(classes, from);
  const created = await s.api.create<Obj>(kind, {
    metadata: { name: a.name, ...(from.metadata.namespace ? { namespace: from.metadata.namespace } : {}) },
    spec: { ...from.spec, externalName: a.name },
  });
  const view = classTable([created], false);
  write(formatTable(view.headers, view.rows));
}
