import { readString, type ResourceDefinition } from '../api-types';
import type { KubeObject } from '../api-types/meta';
import {
  clusterScope,
  namespacedScope,
  plansOfClass as plansOfClassIn,
  refName,
  type CatalogReader,
  type CatalogScope,
} from '../pkg/servicecatalog/references';
import { CliError } from './errors';
import type { Session } from './session';
import { suggestions } from './suggest';

/**
 * Brokers, classes and plans come in a cluster-scoped and a namespaced kind (the two
 * CatalogScopes of pkg/servicecatalog). svcat looks in either or both (--scope) and names classes
 * and plans by the broker's names (spec.externalName), or by their Kubernetes names with
 * --kube-name.
 */

export type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };
export type Scope = 'cluster' | 'namespace' | 'all';

/** Brokers, classes or plans: the kind of each CatalogScope. */
export interface ScopedKind {
  noun: string;
  of: (scope: CatalogScope) => ResourceDefinition;
}

export const brokers: ScopedKind = { noun: 'broker', of: (scope) => scope.broker };
export const classes: ScopedKind = { noun: 'class', of: (scope) => scope.class };
export const plans: ScopedKind = { noun: 'plan', of: (scope) => scope.plan };

/** Where to look: the scope, and the namespace of namespaced kinds (undefined: every namespace). */
export interface Where {
  scope: Scope;
  namespace: string | undefined;
}

export const str = (o: unknown, ...path: string[]) => readString(o, path);
export const isClusterScoped = (o: Obj) => !o.metadata.namespace;
/** The catalog scope of a broker, class or plan: where it lives. */
export const scopeOfEntry = (o: Obj): CatalogScope => (isClusterScoped(o) ? clusterScope : namespacedScope);
export const kindOf = (k: ScopedKind, o: Obj) => k.of(scopeOfEntry(o));
/** What svcat calls a class or plan: the broker's name for it; brokers by their own name. */
export const displayName = (o: Obj) => str(o, 'spec', 'externalName') ?? o.metadata.name ?? '';
/** The Kubernetes name of the class a plan belongs to. */
export const classRefOf = (plan: Obj) => refName(plan.spec, scopeOfEntry(plan).classRefField);
export const brokerOf = (o: Obj) => str(o, 'spec', scopeOfEntry(o).brokerNameField) ?? '';
/** Objects of one scope are told apart by namespace and name. */
export const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

export function describeWhere(w: Where): string {
  const ns = w.namespace === undefined ? 'in any namespace' : `in namespace "${w.namespace}"`;
  if (w.scope === 'cluster') return 'cluster-wide';
  return w.scope === 'namespace' ? ns : `cluster-wide or ${ns}`;
}

/** Lists the kind in the scope; cluster-scoped objects first, then by namespace. */
export async function listScoped(
  s: Session,
  k: ScopedKind,
  where: Where,
  selectors: { cluster?: string; namespaced?: string } = {},
): Promise<Obj[]> {
  const [cluster, namespaced] = await Promise.all([
    where.scope === 'namespace'
      ? []
      : s.api
          .list<Obj>(k.of(clusterScope), undefined, { fieldSelector: selectors.cluster })
          .then((l) => l.items),
    where.scope === 'cluster'
      ? []
      : s.api
          .list<Obj>(k.of(namespacedScope), where.namespace, { fieldSelector: selectors.namespaced })
          .then((l) => l.items),
  ]);
  return [...cluster, ...namespaced];
}

function ambiguous(noun: string, name: string, found: Obj[]): CliError {
  const places = found.map((o) =>
    isClusterScoped(o)
      ? `cluster-wide (${o.metadata.name})`
      : `in namespace "${o.metadata.namespace}" (${o.metadata.name})`,
  );
  return new CliError(
    `${noun} "${name}" is ambiguous: there is one ${places.join(' and one ')}; pick one with --scope cluster|namespace or by Kubernetes name with --kube-name`,
  );
}

/** The one object of the kind with this name in the scope; a clear error when none or several. */
export async function findOne(
  s: Session,
  k: ScopedKind,
  name: string,
  where: Where,
  byKubeName = false,
): Promise<Obj> {
  const all = await listScoped(s, k, where);
  const nameOf = byKubeName ? (o: Obj) => o.metadata.name ?? '' : displayName;
  const found = all.filter((o) => nameOf(o) === name);
  if (found.length === 1) return found[0];
  if (found.length > 1) throw ambiguous(k.noun, name, found);
  throw new CliError(
    `${k.noun} "${name}" not found ${describeWhere(where)}${suggestions(k.noun, name, all.map(nameOf))}`,
  );
}

/** The session's API as pkg/servicecatalog's lookups read it: kinds by plural. */
function catalogReader(s: Session): CatalogReader {
  const kinds = new Map(
    [clusterScope, namespacedScope].flatMap((c) =>
      [c.class, c.plan].map((k): [string, ResourceDefinition] => [k.plural, k]),
    ),
  );
  const kind = (plural: string) => kinds.get(plural)!;
  return {
    get: (plural, namespace, name) => s.api.get(kind(plural), namespace, name),
    list: (plural, namespace, fieldSelector) =>
      s.api.list(kind(plural), namespace, { fieldSelector }).then((l) => l.items),
  };
}

/** The plans of a class, from the class's own scope. */
export async function plansOfClass(s: Session, cls: Obj): Promise<Obj[]> {
  return (await plansOfClassIn(
    catalogReader(s),
    scopeOfEntry(cls),
    cls.metadata.name ?? '',
    cls.metadata.namespace,
  )) as Obj[];
}

/**
 * A plan by name, of the named class when given (CLASS/PLAN), otherwise of whichever class has
 * it; the class comes back too.
 */
export async function findPlan(
  s: Session,
  q: { className?: string; planName: string; where: Where; byKubeName?: boolean },
): Promise<{ plan: Obj; cls: Obj }> {
  const nameOf = q.byKubeName ? (o: Obj) => o.metadata.name ?? '' : displayName;
  if (q.className !== undefined) {
    const cls = await findOne(s, classes, q.className, q.where, q.byKubeName);
    const offered = await plansOfClass(s, cls);
    const found = offered.filter((p) => nameOf(p) === q.planName);
    if (found.length !== 1) {
      throw new CliError(
        `plan "${q.planName}" not found in class "${displayName(cls)}"${suggestions('plan', q.planName, offered.map(nameOf))}`,
      );
    }
    return { plan: found[0], cls };
  }
  const all = await listScoped(s, plans, q.where);
  const found = all.filter((p) => nameOf(p) === q.planName);
  if (found.length === 0) {
    throw new CliError(
      `plan "${q.planName}" not found ${describeWhere(q.where)}${suggestions('plan', q.planName, all.map(nameOf))}`,
    );
  }
  const owners = await Promise.all(found.map((p) => classOfPlan(s, p)));
  if (found.length > 1) {
    const names = owners.map((c) => `"${c ? displayName(c) : '?'}"`).join(', ');
    throw new CliError(
      `plan "${q.planName}" is offered by several classes (${names}): name it CLASS/PLAN or use --class`,
    );
  }
  if (!owners[0]) throw new CliError(`the class of plan "${q.planName}" no longer exists`);
  return { plan: found[0], cls: owners[0] };
}

export async function classOfPlan(s: Session, plan: Obj): Promise<Obj | undefined> {
  return s.api.get<Obj>(kindOf(classes, plan), plan.metadata.namespace, classRefOf(plan));
}

/**
 * Kubernetes names of classes and plans to the broker's names, to show instances by the names
 * users know.
 */
export class CatalogNames {
  private readonly names = new Map<string, string>();

  private constructor(objects: Obj[]) {
    for (const o of objects)
      this.names.set(`${o.kind}:${keyOf(o.metadata.namespace, o.metadata.name ?? '')}`, displayName(o));
  }

  static of(classObjects: Obj[], planObjects: Obj[]): CatalogNames {
    const withKind = (k: ScopedKind) => (o: Obj) => ({ ...o, kind: kindOf(k, o).kind });
    return new CatalogNames([...classObjects.map(withKind(classes)), ...planObjects.map(withKind(plans))]);
  }

  static async load(s: Session, where: Where): Promise<CatalogNames> {
    const [cls, pls] = await Promise.all([listScoped(s, classes, where), listScoped(s, plans, where)]);
    return CatalogNames.of(cls, pls);
  }

  get(kind: ResourceDefinition, namespace: string | undefined, name: string): string | undefined {
    return this.names.get(`${kind.kind}:${keyOf(kind.namespaced ? namespace : undefined, name)}`);
  }
}
