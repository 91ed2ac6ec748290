import { createInterface } from 'node:readline';
import type { ResourceDefinition } from '../../api-types';
import { FINALIZER } from '../../pkg/servicecatalog/constants';
import { retryOnConflict } from '../../pkg/kube/client';
import { describeWhere, type Obj, type Scope, type Where } from '../catalog';
import { suggestions } from '../suggest';
import { CliError } from '../errors';
import { checkFormat, formatObjects, formatTable, manifest } from '../output';
import type { GlobalArgs, Session } from '../session';
import type { TableView } from '../views';
import { waitFor, type Observation, type WaitOptions } from '../wait';

/** --scope, -n and --all-namespaces of the commands that read. */
export interface ScopeArgs extends GlobalArgs {
  scope: Scope;
  allNamespaces?: boolean;
}

export interface OutputArgs {
  output: string;
}

export const whereOf = (s: Session, a: { scope: Scope; allNamespaces?: boolean }): Where => ({
  scope: a.scope,
  namespace: a.allNamespaces ? undefined : s.namespace,
});

export const write = (text: string) => process.stdout.write(text);

/**
 * Objects as a table (or wide table), or as JSON/YAML that `kubectl apply -f` takes back. An
 * empty list prints nothing on stdout and says so on stderr, as kubectl does.
 */
export function print(
  a: OutputArgs,
  view: TableView,
  objects: Array<[ResourceDefinition, Obj]>,
  opts: { single?: boolean; none: string },
): void {
  const format = checkFormat(a.output);
  if (format === 'json' || format === 'yaml') {
    write(
      formatObjects(
        format,
        objects.map(([k, o]) => manifest(k, o)),
        Boolean(opts.single),
      ),
    );
  } else if (!view.rows.length) {
    process.stderr.write(`${opts.none}\n`);
  } else {
    write(formatTable(view.headers, view.rows));
  }
}

/** A namespaced object by name; not found names the ones there are. */
export async function getNamed(
  s: Session,
  kind: ResourceDefinition,
  noun: string,
  namespace: string,
  name: string,
) {
  const o = await s.api.get<Obj>(kind, namespace, name);
  if (o) return o;
  const { items } = await s.api.list<Obj>(kind, namespace);
  const where = describeWhere({ scope: 'namespace', namespace });
  throw new CliError(
    `${noun} "${name}" not found ${where}${suggestions(
      noun,
      name,
      items.map((i) => i.metadata.name ?? ''),
    )}`,
  );
}

/**
 * Writes `change(o)` with o's resourceVersion; on a conflict (someone else wrote in between)
 * reads the object again and retries, as kubectl's edit-style commands do.
 */
export async function modify(
  s: Session,
  kind: ResourceDefinition,
  o: Obj,
  change: (latest: Obj) => Obj,
): Promise<Obj> {
  return retryOnConflict(async (attempt) => {
    const latest =
      attempt === 0 ? o : await s.api.get<Obj>(kind, o.metadata.namespace, o.metadata.name ?? '');
    if (!latest) throw new CliError(`${kind.kind} "${o.metadata.name}" was deleted meanwhile`);
    return s.api.update<Obj>(kind, change(latest));
  });
}

/**
 * --abandon: drops the catalog's finalizer through the main resource (kube ignores metadata
 * written through /status), so the object goes without the controller and its broker.
 */
export async function dropFinalizer(s: Session, kind: ResourceDefinition, o: Obj): Promise<void> {
  if (!(o.metadata.finalizers ?? []).includes(FINALIZER)) return;
  await modify(s, kind, o, (latest) => ({
    ...latest,
    metadata: {
      ...latest.metadata,
      finalizers: (latest.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
    },
  }));
}

/** Asks before an --abandon unless --yes; a "y" on stdin (a terminal or a pipe) goes ahead. */
export async function confirm(warning: string, yes: boolean | undefined): Promise<void> {
  process.stderr.write(`${warning}\n`);
  if (yes) return;
  process.stderr.write('Are you sure? [y|n]: ');
  const rl = createInterface({ input: process.stdin });
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  if (answer.trim().toLowerCase() !== 'y')
    throw new CliError('aborted: nothing was abandoned (pass --yes to skip the question)');
}

/** An object of any scope by where it lives, for messages: `broker "x"`, `instance default/x`. */
export const nameOf = (noun: string, o: Obj) =>
  o.metadata.namespace ? `${noun} ${o.metadata.namespace}/${o.metadata.name}` : `${noun} ${o.metadata.name}`;

/**
 * --wait on one object: reads it again (by kind, namespace and name) until `judge` says done.
 * Returns it as last read, or as given once it is gone; without --wait, as given.
 */
export async function waitOn(
  s: Session,
  noun: string,
  kind: ResourceDefinition,
  o: Obj,
  wait: WaitOptions | undefined,
  judge: (o: Obj | undefined) => Observation,
): Promise<Obj> {
  if (!wait) return o;
  const read = () => s.api.get<Obj>(kind, o.metadata.namespace, o.metadata.name ?? '');
  return (await waitFor(nameOf(noun, o), wait, read, judge)) ?? o;
}
