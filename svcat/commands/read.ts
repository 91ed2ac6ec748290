import { serviceBindingResource, serviceInstanceResource, type ResourceDefinition } from '../../api-types';
import { secretResource } from '../../api-types/core';
import {
  brokerOf,
  brokers,
  CatalogNames,
  classes,
  classOfPlan,
  findOne,
  findPlan,
  classRefOf,
  scopeOfEntry,
  keyOf,
  kindOf,
  listScoped,
  plans,
  plansOfClass,
  str,
  type Obj,
} from '../catalog';
import { CliError, isKubeError } from '../errors';
import type { Session } from '../session';
import {
  bindingTable,
  brokerTable,
  classTable,
  describeBinding,
  describeBroker,
  describeClass,
  describeInstance,
  describePlan,
  instanceOffering,
  instanceTable,
  marketplaceTable,
  planTable,
} from '../views';
import { getNamed, print, whereOf, write, type OutputArgs, type ScopeArgs } from './shared';

/** get, describe and marketplace. */

export interface GetArgs extends ScopeArgs, OutputArgs {
  name?: string;
  kubeName?: boolean;
  broker?: string;
  class?: string;
  plan?: string;
}

const wide = (a: OutputArgs) => a.output === 'wide';

export async function getBrokers(s: Session, a: GetArgs): Promise<void> {
  const where = whereOf(s, a);
  const list = a.name
    ? [await findOne(s, brokers, a.name, where, true)]
    : await listScoped(s, brokers, where);
  print(
    a,
    brokerTable(list, wide(a)),
    list.map((b) => [kindOf(brokers, b), b]),
    {
      single: Boolean(a.name),
      none: 'No brokers found.',
    },
  );
}

export async function getClasses(s: Session, a: GetArgs): Promise<void> {
  if (a.name && a.broker) throw new CliError('--broker filters the list: leave it out when naming a class');
  const where = whereOf(s, a);
  const list = a.name
    ? [await findOne(s, classes, a.name, where, a.kubeName)]
    : (await listScoped(s, classes, where)).filter((c) => !a.broker || brokerOf(c) === a.broker);
  print(
    a,
    classTable(list, wide(a)),
    list.map((c) => [kindOf(classes, c), c]),
    {
      single: Boolean(a.name),
      none: 'No classes found.',
    },
  );
}

/** CLASS/PLAN splits into its parts; a plain name is a plan's. */
export function splitPlanName(name: string): { className?: string; planName: string } {
  const parts = name.split('/');
  if (parts.length === 1) return { planName: name };
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw new CliError(`invalid plan "${name}": want PLAN or CLASS/PLAN`);
  return { className: parts[0], planName: parts[1] };
}

export async function getPlans(s: Session, a: GetArgs): Promise<void> {
  const where = whereOf(s, a);
  let list: Obj[];
  let owners: Obj[];
  if (a.name) {
    const named = splitPlanName(a.name);
    if (named.className && a.class) throw new CliError('name the class either in CLASS/PLAN or with --class');
    const { plan, cls } = await findPlan(s, {
      ...named,
      className: named.className ?? a.class,
      where,
      byKubeName: a.kubeName,
    });
    [list, owners] = [[plan], [cls]];
  } else if (a.class) {
    const cls = await findOne(s, classes, a.class, where, a.kubeName);
    [list, owners] = [await plansOfClass(s, cls), [cls]];
  } else {
    [list, owners] = await Promise.all([listScoped(s, plans, where), listScoped(s, classes, where)]);
  }
  print(
    a,
    planTable(list, CatalogNames.of(owners, []), wide(a)),
    list.map((p) => [kindOf(plans, p), p]),
    {
      single: Boolean(a.name),
      none: 'No plans found.',
    },
  );
}

/** The catalog names instances refer to, from wherever the instances are. */
const namesFor = (s: Session, namespace: string | undefined) =>
  CatalogNames.load(s, { scope: 'all', namespace });

export async function getInstances(s: Session, a: GetArgs): Promise<void> {
  if (a.name && (a.class || a.plan))
    throw new CliError('--class and --plan filter the list: leave them out when naming an instance');
  const namespace = a.allNamespaces ? undefined : s.namespace;
  const [list, names] = await Promise.all([
    a.name
      ? getNamed(s, serviceInstanceResource, 'instance', s.namespace, a.name).then((i) => [i])
      : s.api.list<Obj>(serviceInstanceResource, namespace).then((l) => l.items),
    namesFor(s, namespace),
  ]);
  // by the broker's names, which provision records (the original recorded Kubernetes names)
  const shown = list.filter((i) => {
    const { cls, plan } = instanceOffering(i, names);
    return (!a.class || cls === a.class) && (!a.plan || plan === a.plan);
  });
  print(
    a,
    instanceTable(shown, names, wide(a)),
    shown.map((i) => [serviceInstanceResource, i]),
    {
      single: Boolean(a.name),
      none: `No instances found${namespace ? ` in namespace ${namespace}` : ''}.`,
    },
  );
}

export async function getBindings(s: Session, a: GetArgs): Promise<void> {
  const namespace = a.allNamespaces ? undefined : s.namespace;
  const list = a.name
    ? [await getNamed(s, serviceBindingResource, 'binding', s.namespace, a.name)]
    : (await s.api.list<Obj>(serviceBindingResource, namespace)).items;
  print(
    a,
    bindingTable(list, wide(a)),
    list.map((b) => [serviceBindingResource, b]),
    {
      single: Boolean(a.name),
      none: `No bindings found${namespace ? ` in namespace ${namespace}` : ''}.`,
    },
  );
}

export async function marketplace(s: Session, a: ScopeArgs & OutputArgs): Promise<void> {
  const where = whereOf(s, a);
  const [cls, pls] = await Promise.all([listScoped(s, classes, where), listScoped(s, plans, where)]);
  const offered = new Map<string, Obj[]>();
  for (const p of pls) {
    const key = keyOf(p.metadata.namespace, classRefOf(p));
    offered.set(key, [...(offered.get(key) ?? []), p]);
  }
  const offerings = cls.map((c) => ({
    cls: c,
    plans: offered.get(keyOf(c.metadata.namespace, c.metadata.name ?? '')) ?? [],
  }));
  const objects = offerings.flatMap(({ cls: c, plans: ps }): Array<[ResourceDefinition, Obj]> => [
    [kindOf(classes, c), c],
    ...ps.map((p): [ResourceDefinition, Obj] => [kindOf(plans, p), p]),
  ]);
  print(a, marketplaceTable(offerings, wide(a)), objects, { none: 'No classes found.' });
}

export interface DescribeArgs extends ScopeArgs {
  name: string;
  kubeName?: boolean;
  showSchemas?: boolean;
  showSecrets?: boolean;
}

export async function describeBrokerCmd(s: Session, a: DescribeArgs): Promise<void> {
  const b = await findOne(s, brokers, a.name, whereOf(s, a), true);
  const scope = scopeOfEntry(b);
  const { items } = await s.api.list<Obj>(scope.class, b.metadata.namespace, {
    fieldSelector: `spec.${scope.brokerNameField}=${b.metadata.name}`,
  });
  write(describeBroker(b, items));
}

export async function describeClassCmd(s: Session, a: DescribeArgs): Promise<void> {
  const c = await findOne(s, classes, a.name, whereOf(s, a), a.kubeName);
  write(describeClass(c, await plansOfClass(s, c)));
}

export async function describePlanCmd(s: Session, a: DescribeArgs): Promise<void> {
  const named = a.kubeName ? { planName: a.name } : splitPlanName(a.name);
  const { plan } = await findPlan(s, { ...named, where: whereOf(s, a), byKubeName: a.kubeName });
  const scope = scopeOfEntry(plan);
  const [cls, instances] = await Promise.all([
    classOfPlan(s, plan),
    s.api
      .list<Obj>(serviceInstanceResource, plan.metadata.namespace, {
        fieldSelector: `spec.${scope.planRefField}.name=${plan.metadata.name}`,
      })
      .then((l) => l.items),
  ]);
  write(describePlan(plan, cls, instances, a.showSchemas !== false));
}

export async function describeInstanceCmd(s: Session, a: DescribeArgs): Promise<void> {
  const [i, names, bindings] = await Promise.all([
    getNamed(s, serviceInstanceResource, 'instance', s.namespace, a.name),
    namesFor(s, s.namespace),
    s.api.list<Obj>(serviceBindingResource, s.namespace, {
      fieldSelector: `spec.instanceRef.name=${a.name}`,
    }),
  ]);
  write(describeInstance(i, names, bindings.items));
}

export async function describeBindingCmd(s: Session, a: DescribeArgs): Promise<void> {
  const b = await getNamed(s, serviceBindingResource, 'binding', s.namespace, a.name);
  let secret: Obj | undefined;
  let secretProblem: string | undefined;
  try {
    secret = await s.api.get<Obj>(secretResource, s.namespace, str(b, 'spec', 'secretName') || a.name);
    if (!secret) secretProblem = 'not created yet';
  } catch (e) {
    // a user who may read bindings but not Secrets still sees the binding
    if (!isKubeError(e)) throw e;
    secretProblem = e.message;
  }
  write(describeBinding(b, secret, Boolean(a.showSecrets), secretProblem));
}
