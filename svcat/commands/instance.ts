import { serviceInstanceResource } from '../../api-types';
import {
  CatalogNames,
  classes,
  findOne,
  findPlan,
  isClusterScoped,
  scopeOfEntry,
  type Obj,
  type Scope,
} from '../catalog';
import { parseParameters, parseParametersFrom, type ParamArgs } from '../parameters';
import type { GlobalArgs, Session } from '../session';
import { describeInstance } from '../views';
import { untilGone, untilReady, waitOptions, type WaitArgs } from '../wait';
import { confirm, dropFinalizer, getNamed, modify, waitOn, write } from './shared';

/** provision, deprovision and touch instance. */

export interface ProvisionArgs extends GlobalArgs, ParamArgs, WaitArgs {
  name: string;
  class: string;
  plan: string;
  kubeName?: boolean;
  externalId?: string;
  scope: Scope;
}

/**
 * Creates a ServiceInstance of the class and plan, found cluster-wide or in the namespace. The
 * instance names them as the user did: by the broker's names (so `get instances --class` finds
 * it; the original wrote the Kubernetes names, UUIDs), or by Kubernetes names with --kube-name.
 */
export async function provision(s: Session, a: ProvisionArgs): Promise<void> {
  const wait = waitOptions(a);
  const where = { scope: a.scope, namespace: s.namespace };
  const { plan, cls } = a.kubeName
    ? await findOne(s, classes, a.class, where, true).then((c) =>
        findPlan(s, {
          className: c.metadata.name,
          planName: a.plan,
          where: { ...where, scope: isClusterScoped(c) ? 'cluster' : 'namespace' },
          byKubeName: true,
        }),
      )
    : await findPlan(s, { className: a.class, planName: a.plan, where });
  const parameters = parseParameters(a, plan.spec?.instanceCreateParameterSchema);
  const parametersFrom = parseParametersFrom(a);
  const scope = scopeOfEntry(cls);
  const reference = a.kubeName
    ? { [scope.classField('Name')]: cls.metadata.name, [scope.planField('Name')]: plan.metadata.name }
    : { [scope.classField('ExternalName')]: a.class, [scope.planField('ExternalName')]: a.plan };
  let instance = await s.api.create<Obj>(serviceInstanceResource, {
    metadata: { name: a.name, namespace: s.namespace },
    spec: {
      ...reference,
      ...(a.externalId ? { externalID: a.externalId } : {}),
      ...(parameters ? { parameters } : {}),
      ...(parametersFrom.length ? { parametersFrom } : {}),
    },
  });
  instance = await waitOn(s, 'instance', serviceInstanceResource, instance, wait, untilReady);
  write(describeInstance(instance, CatalogNames.of([cls], [plan]), undefined));
}

export interface DeleteArgs extends GlobalArgs, WaitArgs {
  name: string;
  abandon?: boolean;
  yes?: boolean;
}

const abandonWarning =
  'This cannot be undone, and whatever the broker holds for it stays there (and may still be charged for).';

/** Deletes the instance (the controller deprovisions it at the broker); --abandon skips the broker. */
export async function deprovision(s: Session, a: DeleteArgs): Promise<void> {
  const wait = waitOptions(a);
  const instance = await getNamed(s, serviceInstanceResource, 'instance', s.namespace, a.name);
  if (a.abandon) {
    await confirm(
      `Abandoning instance ${s.namespace}/${a.name}. ${abandonWarning} Its bindings stay: remove them with svcat unbind --abandon.`,
      a.yes,
    );
    await dropFinalizer(s, serviceInstanceResource, instance);
  }
  await s.api.delete(serviceInstanceResource, s.namespace, a.name);
  await waitOn(s, 'instance', serviceInstanceResource, instance, wait, untilGone);
  write(`deleted ${a.name}\n`);
}

export interface TouchArgs extends GlobalArgs, WaitArgs {
  name: string;
}

/**
 * Bumps spec.updateRequests: the controller sends the instance to the broker again (an update,
 * or the provision retried after a failure).
 */
export async function touchInstance(s: Session, a: TouchArgs): Promise<void> {
  const wait = waitOptions(a);
  const instance = await getNamed(s, serviceInstanceResource, 'instance', s.namespace, a.name);
  const touched = await modify(s, serviceInstanceResource, instance, (latest) => ({
    ...latest,
    spec: { ...latest.spec, updateRequests: ((latest.spec?.updateRequests as number | undefined) ?? 0) + 1 },
  }));
  write(
    `touched instance ${s.namespace}/${a.name} (updateRequests ${Number(touched.spec?.updateRequests ?? 0)})\n`,
  );
  await waitOn(s, 'instance', serviceInstanceResource, touched, wait, untilReady);
}
