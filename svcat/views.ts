import { lastConditionState, type ConditionLike, type ResourceDefinition } from '../api-types';
import { stringOf } from '../pkg/json';
import { planReference, refName, scopeOf } from '../pkg/servicecatalog/references';
import {
  brokerOf,
  classRefOf,
  displayName,
  isClusterScoped,
  scopeOfEntry,
  str,
  type CatalogNames,
  type Obj,
} from './catalog';
import { formatDetails, formatTable, formatTime, indentedYaml, section } from './output';

/**
 * What svcat prints for each kind: table rows (NAME first, by the broker's names) and describe
 * pages. Pure functions of the objects, so tests compare them with golden text.
 */

interface Condition extends ConditionLike {
  message?: string;
  lastTransitionTime?: string;
}

const conditions = (o: Obj) => (o.status?.conditions as Condition[] | undefined) ?? [];

/** STATUS of lists: the last condition's type when it holds, its reason otherwise. */
export const shortStatus = (o: Obj) => lastConditionState(conditions(o));

/** Status of describe: the short status, the message and when. */
export function fullStatus(o: Obj): string {
  const list = conditions(o);
  const last = list[list.length - 1];
  const short = shortStatus(o);
  if (!last || !short) return '';
  return `${short} - ${(last.message ?? '').replace(/\.+$/, '')} @ ${formatTime(last.lastTransitionTime)}`;
}

const catalogStatus = (o: Obj) => (o.status?.removedFromBrokerCatalog ? 'Deprecated' : 'Active');
export const scopeName = (o: Obj) => (isClusterScoped(o) ? 'cluster' : 'namespace');

/** The rows sorted as kubectl sorts: cluster-scoped first, then by namespace, then by name. */
function byPlace<T extends Obj>(list: T[], name: (o: T) => string = displayName): T[] {
  return [...list].sort(
    (a, b) =>
      (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
      name(a).localeCompare(name(b)),
  );
}

export interface TableView {
  headers: string[];
  rows: string[][];
}

export function brokerTable(list: Obj[], wide: boolean): TableView {
  return {
    headers: ['NAME', 'NAMESPACE', 'URL', 'STATUS', ...(wide ? ['RELIST-BEHAVIOR', 'RELIST-DURATION'] : [])],
    rows: byPlace(list).map((b) => [
      b.metadata.name ?? '',
      b.metadata.namespace ?? '',
      str(b, 'spec', 'url') ?? '',
      shortStatus(b),
      ...(wide ? [str(b, 'spec', 'relistBehavior') ?? '', str(b, 'spec', 'relistDuration') ?? ''] : []),
    ]),
  };
}

export function classTable(list: Obj[], wide: boolean): TableView {
  return {
    headers: ['NAME', 'NAMESPACE', 'BROKER', 'DESCRIPTION', ...(wide ? ['KUBERNETES-NAME', 'STATUS'] : [])],
    rows: byPlace(list).map((c) => [
      displayName(c),
      c.metadata.namespace ?? '',
      brokerOf(c),
      str(c, 'spec', 'description') ?? '',
      ...(wide ? [c.metadata.name ?? '', catalogStatus(c)] : []),
    ]),
  };
}

/** Plans with their class's name (looked up in `names`), sorted by class, then plan. */
export function planTable(list: Obj[], names: CatalogNames, wide: boolean): TableView {
  const classOf = (p: Obj) => planClassName(p, names);
  const sorted = [...list].sort(
    (a, b) =>
      (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
      classOf(a).localeCompare(classOf(b)) ||
      displayName(a).localeCompare(displayName(b)),
  );
  return {
    headers: [
      'NAME',
      'NAMESPACE',
      'CLASS',
      'DESCRIPTION',
      ...(wide ? ['KUBERNETES-NAME', 'FREE', 'STATUS'] : []),
    ],
    rows: sorted.map((p) => [
      displayName(p),
      p.metadata.namespace ?? '',
      classOf(p),
      str(p, 'spec', 'description') ?? '',
      ...(wide ? [p.metadata.name ?? '', String(p.spec?.free === true), catalogStatus(p)] : []),
    ]),
  };
}

function planClassName(p: Obj, names: CatalogNames): string {
  const ref = classRefOf(p);
  return names.get(scopeOfEntry(p).class, p.metadata.namespace, ref) ?? ref;
}

/**
 * The class and plan of an instance by the broker's names, however the instance names them
 * (external name, external id or Kubernetes name): the original printed Kubernetes names (UUIDs).
 */
export function instanceOffering(i: Obj, names: CatalogNames): { cls: string; plan: string } {
  const named = scopeOf(i);
  if (!named) return { cls: '', plan: '' };
  const { scope, style } = named;
  const spec = planReference(i) as Record<string, unknown>;
  const display = (field: string, refField: string, kind: ResourceDefinition) => {
    const value = stringOf(spec[field]);
    if (style === 'ExternalName' && value) return value;
    // by id or Kubernetes name: the resolved object's external name, once the controller found it
    const kubeName = refName(spec, refField) || (style === 'Name' ? value : '');
    return names.get(kind, i.metadata.namespace, kubeName) ?? (value || kubeName);
  };
  return {
    cls: display(scope.classField(style), scope.classRefField, scope.class),
    plan: display(scope.planField(style), scope.planRefField, scope.plan),
  };
}

export function instanceTable(list: Obj[], names: CatalogNames, wide: boolean): TableView {
  return {
    headers: ['NAME', 'NAMESPACE', 'CLASS', 'PLAN', 'STATUS', ...(wide ? ['EXTERNAL-ID', 'DASHBOARD'] : [])],
    rows: byPlace(list).map((i) => {
      const { cls, plan } = instanceOffering(i, names);
      return [
        i.metadata.name ?? '',
        i.metadata.namespace ?? '',
        cls,
        plan,
        shortStatus(i),
        ...(wide ? [str(i, 'spec', 'externalID') ?? '', str(i, 'status', 'dashboardURL') ?? ''] : []),
      ];
    }),
  };
}

export function bindingTable(list: Obj[], wide: boolean): TableView {
  return {
    headers: ['NAME', 'NAMESPACE', 'INSTANCE', 'STATUS', ...(wide ? ['SECRET', 'EXTERNAL-ID'] : [])],
    rows: byPlace(list).map((b) => [
      b.metadata.name ?? '',
      b.metadata.namespace ?? '',
      str(b, 'spec', 'instanceRef', 'name') ?? '',
      shortStatus(b),
      ...(wide ? [str(b, 'spec', 'secretName') ?? '', str(b, 'spec', 'externalID') ?? ''] : []),
    ]),
  };
}

/** Classes with their plans, one row per plan, the class named on its first. */
export function marketplaceTable(offerings: Array<{ cls: Obj; plans: Obj[] }>, wide: boolean): TableView {
  const rows: string[][] = [];
  const sortedOfferings = [...offerings].sort(
    (a, b) =>
      (a.cls.metadata.namespace ?? '').localeCompare(b.cls.metadata.namespace ?? '') ||
      displayName(a.cls).localeCompare(displayName(b.cls)),
  );
  for (const { cls, plans } of sortedOfferings) {
    const sorted = [...plans].sort((a, b) => displayName(a).localeCompare(displayName(b)));
    (sorted.length ? sorted : [undefined]).forEach((p, n) =>
      rows.push([
        n === 0 ? displayName(cls) : '',
        p ? displayName(p) : '',
        n === 0 ? (str(cls, 'spec', 'description') ?? '') : '',
        ...(wide ? [n === 0 ? (cls.metadata.namespace ?? '') : '', n === 0 ? brokerOf(cls) : ''] : []),
      ]),
    );
  }
  return { headers: ['CLASS', 'PLANS', 'DESCRIPTION', ...(wide ? ['NAMESPACE', 'BROKER'] : [])], rows };
}

/** A table inside a describe page, indented. */
function subTable(view: TableView): string {
  return view.rows.length
    ? formatTable(view.headers, view.rows)
        .split('\n')
        .filter((l) => l)
        .map((l) => `  ${l}\n`)
        .join('')
    : '';
}

export function describeBroker(b: Obj, offered: Obj[]): string {
  return (
    formatDetails([
      ['Name', b.metadata.name],
      ['Scope', scopeName(b)],
      ['Namespace', b.metadata.namespace],
      ['URL', str(b, 'spec', 'url')],
      ['Status', fullStatus(b)],
      ['Relist Behavior', str(b, 'spec', 'relistBehavior')],
      ['Relist Duration', str(b, 'spec', 'relistDuration')],
      ['Last Catalog Retrieval', formatTime(str(b, 'status', 'lastCatalogRetrievalTime')) || undefined],
    ]) +
    section(
      'Classes',
      subTable({
        headers: ['NAME', 'DESCRIPTION'],
        rows: byPlace(offered).map((c) => [displayName(c), str(c, 'spec', 'description') ?? '']),
      }),
      'No classes',
    )
  );
}

export function describeClass(c: Obj, offered: Obj[]): string {
  return (
    formatDetails([
      ['Name', displayName(c)],
      ['Scope', scopeName(c)],
      ['Namespace', c.metadata.namespace],
      ['Description', str(c, 'spec', 'description') ?? ''],
      ['Kubernetes Name', c.metadata.name],
      ['Status', catalogStatus(c)],
      ['Tags', ((c.spec?.tags as string[] | undefined) ?? []).join(', ')],
      ['Broker', brokerOf(c)],
      ['Bindable', Boolean(c.spec?.bindable)],
      ['Plan Updatable', Boolean(c.spec?.planUpdatable)],
    ]) +
    section(
      'Plans',
      subTable({
        headers: ['NAME', 'FREE', 'DESCRIPTION'],
        rows: [...offered]
          .sort((a, b) => displayName(a).localeCompare(displayName(b)))
          .map((p) => [displayName(p), String(p.spec?.free === true), str(p, 'spec', 'description') ?? '']),
      }),
      'No plans',
    )
  );
}

function yamlSection(title: string, value: unknown): string {
  return value === undefined ? '' : `\n${title}:\n${indentedYaml(value)}`;
}

export function describePlan(p: Obj, cls: Obj | undefined, instances: Obj[], showSchemas: boolean): string {
  return (
    formatDetails([
      ['Name', displayName(p)],
      ['Scope', scopeName(p)],
      ['Namespace', p.metadata.namespace],
      ['Description', str(p, 'spec', 'description') ?? ''],
      ['Kubernetes Name', p.metadata.name],
      ['Status', catalogStatus(p)],
      ['Free', Boolean(p.spec?.free)],
      ['Class', cls ? displayName(cls) : str(p, 'spec', 'clusterServiceClassRef', 'name')],
      ['Maintenance Version', str(p, 'spec', 'maintenanceInfo', 'version')],
    ]) +
    yamlSection('Default Provision Parameters', p.spec?.defaultProvisionParameters) +
    section(
      'Instances',
      subTable({
        headers: ['NAME', 'NAMESPACE', 'STATUS'],
        rows: byPlace(instances, (i) => i.metadata.name ?? '').map((i) => [
          i.metadata.name ?? '',
          i.metadata.namespace ?? '',
          shortStatus(i),
        ]),
      }),
      'No instances',
    ) +
    (showSchemas
      ? yamlSection('Instance Create Parameter Schema', p.spec?.instanceCreateParameterSchema) +
        yamlSection('Instance Update Parameter Schema', p.spec?.instanceUpdateParameterSchema) +
        yamlSection('Binding Create Parameter Schema', p.spec?.serviceBindingCreateParameterSchema)
      : '')
  );
}

/** Parameters as given, and the Secret keys given by reference (their values never shown). */
function parametersSections(o: Obj, sent?: unknown): string {
  const params = sent ?? o.spec?.parameters;
  const from =
    (o.spec?.parametersFrom as Array<{ secretKeyRef?: { name?: string; key?: string } }> | undefined) ?? [];
  const hasParams = typeof params === 'object' && params !== null && Object.keys(params).length > 0;
  return (
    `\nParameters:\n${hasParams ? indentedYaml(params) : '  No parameters defined\n'}` +
    (from.length
      ? `\nParameters From:\n${from.map((f) => `  Secret ${f.secretKeyRef?.name ?? '?'}, key ${f.secretKeyRef?.key ?? '?'}\n`).join('')}`
      : '')
  );
}

function lastOperation(i: Obj): string {
  const op = str(i, 'status', 'currentOperation');
  if (!op) return str(i, 'status', 'provisionStatus') === 'Provisioned' ? 'none in progress' : 'none';
  const key = str(i, 'status', 'lastOperation');
  const since = formatTime(str(i, 'status', 'operationStartTime'));
  return `${op} in progress${i.status?.asyncOpInProgress ? ' (asynchronous' + (key ? `, broker operation "${key}"` : '') + ')' : ''}${since ? ` since ${since}` : ''}`;
}

/** The instance; with `bindings`, its bindings too (what describe shows, not provision). */
export function describeInstance(i: Obj, names: CatalogNames, bindings?: Obj[]): string {
  const { cls, plan } = instanceOffering(i, names);
  const ext = i.status?.externalProperties as { parameters?: unknown } | undefined;
  return (
    formatDetails([
      ['Name', i.metadata.name],
      ['Namespace', i.metadata.namespace],
      ['Status', fullStatus(i)],
      ['DashboardURL', str(i, 'status', 'dashboardURL')],
      ['Class', cls],
      ['Plan', plan],
      ['External ID', str(i, 'spec', 'externalID')],
      ['Last Operation', lastOperation(i)],
      [
        'Deleting',
        i.metadata.deletionTimestamp ? `since ${formatTime(i.metadata.deletionTimestamp)}` : undefined,
      ],
    ]) +
    // what the broker was last sent, secret values shown as <redacted> by the controller
    parametersSections(i, ext?.parameters) +
    (bindings
      ? section(
          'Bindings',
          subTable({
            headers: ['NAME', 'STATUS'],
            rows: byPlace(bindings, (b) => b.metadata.name ?? '').map((b) => [
              b.metadata.name ?? '',
              shortStatus(b),
            ]),
          }),
          'No bindings defined',
        )
      : '')
  );
}

/** The binding, and its Secret's keys: sizes only, values with --show-secrets. */
export function describeBinding(
  b: Obj,
  secret: Obj | undefined,
  showSecrets: boolean,
  secretProblem?: string,
): string {
  const data = (secret?.data as Record<string, string> | undefined) ?? {};
  const rows = Object.keys(data)
    .sort()
    .map((k) => {
      const bytes = Buffer.from(data[k], 'base64');
      return [k, showSecrets ? bytes.toString('utf8') : `${bytes.length} bytes`];
    });
  return (
    formatDetails([
      ['Name', b.metadata.name],
      ['Namespace', b.metadata.namespace],
      ['Status', fullStatus(b)],
      ['Secret', str(b, 'spec', 'secretName')],
      ['Instance', str(b, 'spec', 'instanceRef', 'name')],
      ['External ID', str(b, 'spec', 'externalID')],
    ]) +
    parametersSections(b) +
    (secretProblem
      ? `\nSecret Data:\n  ${secretProblem}\n`
      : secret
        ? section(
            'Secret Data',
            formatTable(undefined, rows, { padding: 2, minWidth: 0 })
              .split('\n')
              .filter((l) => l)
              .map((l) => `  ${l}\n`)
              .join(''),
            'No data',
          )
        : '')
  );
}
