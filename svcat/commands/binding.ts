import { serviceBindingResource, serviceInstanceResource } from '../../api-types';
import { refName, scopeOf } from '../../pkg/servicecatalog/references';
import type { Obj } from '../catalog';
import { CliError } from '../errors';
import { parseParameters, parseParametersFrom, type ParamArgs } from '../parameters';
import type { GlobalArgs, Session } from '../session';
import { describeBinding } from '../views';
import { allGone, untilReady, waitFor, waitOptions, type WaitArgs } from '../wait';
import { confirm, dropFinalizer, getNamed, waitOn, write } from './shared';

/** bind and unbind. */

export interface BindArgs extends GlobalArgs, ParamArgs, WaitArgs {
  instance: string;
  name?: string;
  secretName?: string;
  externalId?: string;
}

/** The plan the instance is on, for its binding parameter schema; undefined before it is resolved. */
async function planOf(s: Session, instance: Obj): Promise<Obj | undefined> {
  const scope = scopeOf(instance)?.scope;
  const plan = scope && refName(instance.spec, scope.planRefField);
  return plan ? s.api.get<Obj>(scope.plan, instance.metadata.namespace, plan) : undefined;
}

/** Creates a ServiceBinding (named after the instance unless --name) whose Secret gets the credentials. */
export async function bind(s: Session, a: BindArgs): Promise<void> {
  const wait = waitOptions(a);
  const instance = await getNamed(s, serviceInstanceResource, 'instance', s.namespace, a.instance);
  const plan = await planOf(s, instance);
  const parameters = parseParameters(a, plan?.spec?.serviceBindingCreateParameterSchema);
  const parametersFrom = parseParametersFrom(a);
  const name = a.name ?? a.instance;
  let binding = await s.api.create<Obj>(serviceBindingResource, {
    metadata: { name, namespace: s.namespace },
    spec: {
      instanceRef: { name: a.instance },
      ...(a.secretName ? { secretName: a.secretName } : {}),
      ...(a.externalId ? { externalID: a.externalId } : {}),
      ...(parameters ? { parameters } : {}),
      ...(parametersFrom.length ? { parametersFrom } : {}),
    },
  });
  binding = await waitOn(s, 'binding', serviceBindingResource, binding, wait, untilReady);
  write(describeBinding(binding, undefined, false));
}

export interface UnbindArgs extends GlobalArgs, WaitArgs {
  instance?: string;
  name?: string[];
  abandon?: boolean;
  yes?: boolean;
}

/**
 * Deletes every binding of the instance, or the bindings named with --name. With --wait it
 * returns once they are all gone (the original returned when the first reported anything).
 */
export async function unbind(s: Session, a: UnbindArgs): Promise<void> {
  const wait = waitOptions(a);
  const names = a.name ?? [];
  if (!a.instance && !names.length) throw new CliError('name an instance, or bindings with --name');
  if (a.instance && names.length) throw new CliError('name an instance or bindings with --name, not both');
  let bindings: Obj[];
  if (a.instance) {
    await getNamed(s, serviceInstanceResource, 'instance', s.namespace, a.instance);
    bindings = (
      await s.api.list<Obj>(serviceBindingResource, s.namespace, {
        fieldSelector: `spec.instanceRef.name=${a.instance}`,
      })
    ).items;
    if (!bindings.length) {
      write(`instance ${s.namespace}/${a.instance} has no bindings\n`);
      return;
    }
  } else {
    bindings = await Promise.all(
      names.map((n) => getNamed(s, serviceBindingResource, 'binding', s.namespace, n)),
    );
  }
  const list = bindings.map((b) => b.metadata.name ?? '');
  if (a.abandon) {
    await confirm(
      `Abandoning bindings ${list.join(', ')} in namespace ${s.namespace}. ${'This cannot be undone, and whatever the broker holds for them stays there.'}`,
      a.yes,
    );
    await Promise.all(bindings.map((b) => dropFinalizer(s, serviceBindingResource, b)));
  }
  await Promise.all(list.map((n) => s.api.delete(serviceBindingResource, s.namespace, n)));
  if (wait) {
    await waitFor(
      list.length === 1
        ? `binding ${s.namespace}/${list[0]}`
        : `bindings ${list.join(', ')} in ${s.namespace}`,
      wait,
      () => Promise.all(list.map((n) => s.api.get<Obj>(serviceBindingResource, s.namespace, n))),
      allGone,
    );
  }
  write(list.map((n) => `deleted ${n}\n`).join(''));
}
