import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { kubectl, startEnv, type Env, type KubectlResult } from './harness';

/**
 * End-to-end: the real kubectl against the real API server (and a real etcd). Every assertion is
 * on what kubectl prints and how it exits, which is what users see.
 */

const GROUP = 'servicecatalog.k8s.io';
const API_VERSION = `${GROUP}/v1beta1`;
/**
 * Namespaced objects of the per-kind tests live in "default": on NotFound kubectl looks the
 * namespace up in the core API (which this server does not serve) for any other namespace.
 */
const NS = 'default';

type Json = Record<string, unknown>;

let env: Env;
let kc: string;

beforeAll(async () => {
  env = await startEnv();
  kc = env.kubeconfig();
});

afterAll(async () => {
  await env?.stop();
});

function run(args: string[], stdin?: string): Promise<KubectlResult> {
  return kubectl(kc, args, stdin);
}

/** Runs kubectl and returns its stdout; fails with everything kubectl printed unless it exits 0. */
async function ok(args: string[], stdin?: string): Promise<string> {
  const r = await run(args, stdin);
  if (r.code !== 0) {
    throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r.stdout;
}

/** Runs kubectl expecting a failure; returns what it printed on stderr. */
async function fails(args: string[], stdin?: string): Promise<string> {
  const r = await run(args, stdin);
  if (r.code === 0)
    throw new Error(`kubectl ${args.join(' ')} succeeded\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stderr;
}

const lines = (out: string) => out.split('\n').filter((l) => l.trim() !== '');
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A kubectl left running (watch, wait) whose output is read as it comes. */
class Background {
  stdout = '';
  stderr = '';
  exitCode: number | null | undefined = undefined;
  private readonly child: ChildProcess;
  private readonly listeners = new Set<() => void>();
  readonly exited: Promise<number | null>;

  constructor(readonly args: string[]) {
    this.child = spawn('kubectl', [`--kubeconfig=${kc}`, ...args], {
      env: { ...process.env, KUBECACHEDIR: join(tmpdir(), `kubectl-cache-${process.pid}`) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.notify();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code) => {
        this.exitCode = code;
        this.notify();
        resolve(code);
      });
    });
  }

  private notify() {
    for (const l of this.listeners) l();
  }

  /** Resolves once `re` matches the stream; rejects, with the output, on exit or at the deadline. */
  until(stream: 'stdout' | 'stderr', re: RegExp, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const failure = (why: string) =>
        new Error(
          `kubectl ${this.args.join(' ')}: ${why} before ${re} on ${stream}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
        );
      const check = () => {
        if (re.test(this[stream])) done();
        else if (this.exitCode !== undefined) done(failure(`exited ${this.exitCode}`));
      };
      const timer = setTimeout(() => done(failure(`no match in ${timeoutMs} ms`)), timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    if (this.exitCode === undefined) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** client-go logs each response at -v=6; a watch request is logged once its response has started. */
const WATCH_STARTED = /GET https:\/\/\S+watch=true\S* 200 OK/;

function manifest(
  kind: string,
  name: string,
  namespace: string | undefined,
  spec: Json,
  metadata: Json = {},
): Json {
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), ...metadata },
    spec: structuredClone(spec),
  };
}

/** A value for the field each kind test rewrites; a URL, so that it is valid for brokers too. */
const value = (tag: string) => `https://${tag}.example.com`;

const NO_FINALIZERS = '{"metadata":{"finalizers":null}}';

const toYaml = (...objs: Json[]) => objs.map((o) => yaml.dump(o)).join('---\n');

/** {a: {b: value}} for path ['a', 'b']. */
function nested(path: string[], value: unknown): Json {
  return path.reduceRight<unknown>((acc, key) => ({ [key]: acc }), value) as Json;
}

function getIn(obj: unknown, path: string[]): unknown {
  return path.reduce<unknown>((acc, key) => (acc as Json | undefined)?.[key], obj);
}

// ---------------------------------------------------------------------------------------------
// Every kind

interface KindCase {
  kind: string;
  plural: string;
  singular: string;
  short: string;
  namespaced: boolean;
  /** Column headers of `kubectl get` between NAME and AGE. */
  columns: string[];
  /** Columns `-o wide` adds. */
  wideColumns: string[];
  spec: Json;
  /** The non-empty cells of the object's row, in order, between NAME and AGE. */
  cells: string[];
  /** A string field the tests rewrite with apply and each patch type. */
  field: string[];
}

const kinds: KindCase[] = [
  {
    kind: 'ClusterServiceBroker',
    plural: 'clusterservicebrokers',
    singular: 'clusterservicebroker',
    short: 'csb',
    namespaced: false,
    columns: ['URL', 'STATUS'],
    wideColumns: ['RELIST-BEHAVIOR'],
    spec: { url: 'https://broker.example.com', relistBehavior: 'Duration', relistDuration: '15m0s' },
    cells: ['https://broker.example.com'],
    field: ['spec', 'url'],
  },
  {
    kind: 'ServiceBroker',
    plural: 'servicebrokers',
    singular: 'servicebroker',
    short: 'sb',
    namespaced: true,
    columns: ['URL', 'STATUS'],
    wideColumns: ['RELIST-BEHAVIOR'],
    spec: { url: 'https://ns-broker.example.com', relistBehavior: 'Manual' },
    cells: ['https://ns-broker.example.com'],
    field: ['spec', 'url'],
  },
  {
    kind: 'ClusterServiceClass',
    plural: 'clusterserviceclasses',
    singular: 'clusterserviceclass',
    short: 'csc',
    namespaced: false,
    columns: ['EXTERNAL-NAME', 'BROKER'],
    wideColumns: ['EXTERNAL-ID'],
    spec: {
      externalName: 'mysql',
      externalID: '4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468',
      description: 'A MySQL database',
      bindable: true,
      planUpdatable: true,
      clusterServiceBrokerName: 'csb-e2e',
      tags: ['sql'],
    },
    cells: ['mysql', 'csb-e2e'],
    field: ['spec', 'description'],
  },
  {
    kind: 'ServiceClass',
    plural: 'serviceclasses',
    singular: 'serviceclass',
    short: 'sc',
    namespaced: true,
    columns: ['EXTERNAL-NAME', 'BROKER'],
    wideColumns: ['EXTERNAL-ID'],
    spec: {
      externalName: 'redis',
      externalID: '7b1f3a3e-8a0f-4c55-9d0e-1f2b1c4d5e6f',
      description: 'A Redis cache',
      bindable: true,
      serviceBrokerName: 'sb-e2e',
    },
    cells: ['redis', 'sb-e2e'],
    field: ['spec', 'description'],
  },
  {
    kind: 'ClusterServicePlan',
    plural: 'clusterserviceplans',
    singular: 'clusterserviceplan',
    short: 'csp',
    namespaced: false,
    columns: ['EXTERNAL-NAME', 'BROKER', 'CLASS'],
    wideColumns: ['EXTERNAL-ID'],
    spec: {
      externalName: 'small',
      externalID: 'a3b9c2d1-0000-4000-8000-000000000001',
      description: 'One small database',
      free: true,
      clusterServiceBrokerName: 'csb-e2e',
      clusterServiceClassRef: { name: 'csc-e2e' },
      instanceCreateParameterSchema: { type: 'object', properties: { size: { type: 'integer' } } },
    },
    cells: ['small', 'csb-e2e', 'csc-e2e'],
    field: ['spec', 'description'],
  },
  {
    kind: 'ServicePlan',
    plural: 'serviceplans',
    singular: 'serviceplan',
    short: 'sp',
    namespaced: true,
    columns: ['EXTERNAL-NAME', 'BROKER', 'CLASS'],
    wideColumns: ['EXTERNAL-ID'],
    spec: {
      externalName: 'large',
      externalID: 'a3b9c2d1-0000-4000-8000-000000000002',
      description: 'One large cache',
      free: false,
      serviceBrokerName: 'sb-e2e',
      serviceClassRef: { name: 'sc-e2e' },
    },
    cells: ['large', 'sb-e2e', 'sc-e2e'],
    field: ['spec', 'description'],
  },
  {
    kind: 'ServiceInstance',
    plural: 'serviceinstances',
    singular: 'serviceinstance',
    short: 'si',
    namespaced: true,
    columns: ['CLASS', 'PLAN', 'STATUS'],
    wideColumns: ['DASHBOARD', 'EXTERNAL-ID'],
    spec: {
      clusterServiceClassExternalName: 'mysql',
      clusterServicePlanExternalName: 'small',
      parameters: { a: { b: [1, 2] }, mode: 'https://created.example.com' },
    },
    cells: ['ClusterServiceClass/mysql', 'small'],
    field: ['spec', 'parameters', 'mode'],
  },
  {
    kind: 'ServiceBinding',
    plural: 'servicebindings',
    singular: 'servicebinding',
    short: 'sbd',
    namespaced: true,
    columns: ['SERVICE-INSTANCE', 'SECRET-NAME', 'STATUS'],
    wideColumns: ['EXTERNAL-ID'],
    spec: { instanceRef: { name: 'si-e2e' }, secretName: 'si-e2e-credentials', parameters: { user: 'app' } },
    cells: ['si-e2e', 'si-e2e-credentials'],
    // a binding's spec cannot change after create, so the tests rewrite an annotation instead
    field: ['metadata', 'annotations', 'purpose'],
  },
];

describe.each(kinds)('$kind', (c) => {
  const name = `${c.short}-e2e`;
  const ns = c.namespaced ? ['-n', NS] : [];
  const ref = `${c.singular}.${GROUP}/${name}`;
  const object = () =>
    manifest(c.kind, name, c.namespaced ? NS : undefined, c.spec, {
      annotations: { purpose: 'https://created.example.com' },
    });
  const read = async (path: string[]) =>
    ok(['get', c.short, name, ...ns, '-o', `jsonpath={.${path.join('.')}}`]);

  test('create -f - reads YAML from stdin', async () => {
    expect(await ok(['create', '-f', '-'], toYaml(object()))).toBe(`${ref} created\n`);
  });

  test(`get prints NAME ${c.columns.join(' ')} AGE`, async () => {
    const out = lines(await ok(['get', c.plural, ...ns]));
    expect(out[0].split(/\s+/)).toEqual(['NAME', ...c.columns, 'AGE']);
    // a new object has no status, so the row is exactly NAME, the cells and AGE
    const row = new RegExp(`^${[name, ...c.cells].map(escapeRe).join('\\s+')}\\s+\\d+s$`);
    expect(out.slice(1)).toEqual(expect.arrayContaining([expect.stringMatching(row)]));

    const wide = lines(await ok(['get', c.short, name, ...ns, '-o', 'wide']));
    expect(wide[0].split(/\s+/)).toEqual(
      expect.arrayContaining(['NAME', ...c.columns, ...c.wideColumns, 'AGE']),
    );
    expect(wide).toHaveLength(2);
  });

  test('get <shortname> <name> -o json | yaml | name | jsonpath', async () => {
    const json = JSON.parse(await ok(['get', c.short, name, ...ns, '-o', 'json'])) as Json;
    expect(json).toMatchObject({ apiVersion: API_VERSION, kind: c.kind, metadata: { name }, spec: c.spec });
    expect(json.metadata).toEqual(
      expect.objectContaining({
        uid: expect.any(String),
        resourceVersion: expect.any(String),
        creationTimestamp: expect.any(String),
      }),
    );
    if (c.namespaced) expect(json.metadata).toMatchObject({ namespace: NS });

    const fromYaml = yaml.load(await ok(['get', c.short, name, ...ns, '-o', 'yaml'])) as Json;
    expect(fromYaml).toEqual(json);

    expect(await ok(['get', c.short, name, ...ns, '-o', 'name'])).toBe(`${ref}\n`);
    expect(await ok(['get', c.short, name, ...ns, '-o', 'jsonpath={.kind}/{.metadata.name}'])).toBe(
      `${c.kind}/${name}`,
    );
    expect(await read(c.field)).toBe(getIn(object(), c.field));
  });

  test('apply -f - of a changed object reports configured, then unchanged', async () => {
    const changed = object();
    Object.assign(getIn(changed, c.field.slice(0, -1)) as Json, {
      [c.field[c.field.length - 1]]: value('applied'),
    });
    const first = await run(['apply', '-f', '-'], toYaml(changed));
    expect(first).toMatchObject({ code: 0, stdout: `${ref} configured\n` });
    expect(await read(c.field)).toBe(value('applied'));
    // everything beside the field is kept
    expect(JSON.parse(await ok(['get', c.short, name, ...ns, '-o', 'json']))).toMatchObject(changed);

    expect(await ok(['apply', '-f', '-'], toYaml(changed))).toBe(`${ref} unchanged\n`);
  });

  test('patch --type=merge', async () => {
    const out = await ok([
      'patch',
      c.short,
      name,
      ...ns,
      '--type=merge',
      '-p',
      JSON.stringify(nested(c.field, value('merged'))),
    ]);
    expect(out).toBe(`${ref} patched\n`);
    expect(await read(c.field)).toBe(value('merged'));
  });

  test('patch --type=json', async () => {
    const ops = [
      { op: 'test', path: `/${c.field.join('/')}`, value: value('merged') },
      { op: 'replace', path: `/${c.field.join('/')}`, value: value('json-patched') },
    ];
    expect(await ok(['patch', c.short, name, ...ns, '--type=json', '-p', JSON.stringify(ops)])).toBe(
      `${ref} patched\n`,
    );
    expect(await read(c.field)).toBe(value('json-patched'));

    const failedTest = [{ op: 'test', path: `/${c.field.join('/')}`, value: value('merged') }];
    expect(
      await fails(['patch', c.short, name, ...ns, '--type=json', '-p', JSON.stringify(failedTest)]),
    ).toMatch(/test/);
    expect(await read(c.field)).toBe(value('json-patched'));
  });

  test('patch (strategic merge, the default)', async () => {
    const out = await ok([
      'patch',
      c.short,
      name,
      ...ns,
      '-p',
      JSON.stringify(nested(c.field, value('strategic'))),
    ]);
    expect(out).toBe(`${ref} patched\n`);
    expect(await read(c.field)).toBe(value('strategic'));
    if (c.kind === 'ServiceInstance') {
      // merged into the free-form parameters, not replacing them
      expect(await read(['spec', 'parameters'])).toBe(`{"a":{"b":[1,2]},"mode":"${value('strategic')}"}`);
    }
  });

  test('label', async () => {
    expect(await ok(['label', c.short, name, ...ns, 'e2e=labeled'])).toBe(`${ref} labeled\n`);
    expect(await ok(['get', c.plural, ...ns, '-l', 'e2e=labeled', '-o', 'name'])).toBe(`${ref}\n`);
    expect(await fails(['label', c.short, name, ...ns, 'e2e=again'])).toContain('--overwrite is false');
    expect(await ok(['label', c.short, name, ...ns, 'e2e-'])).toBe(`${ref} unlabeled\n`);
    expect(await run(['get', c.plural, ...ns, '-l', 'e2e=labeled', '-o', 'name'])).toMatchObject({
      code: 0,
      stdout: '',
    });
  });

  test('annotate', async () => {
    expect(await ok(['annotate', c.short, name, ...ns, 'example.com/note=hello world'])).toBe(
      `${ref} annotated\n`,
    );
    expect(await read(['metadata', 'annotations', 'example\\.com/note'])).toBe('hello world');
    expect(await ok(['annotate', c.short, name, ...ns, '--overwrite', 'example.com/note=bye'])).toBe(
      `${ref} annotated\n`,
    );
    expect(await read(['metadata', 'annotations', 'example\\.com/note'])).toBe('bye');
  });

  test('delete', async () => {
    // Objects may carry a controller finalizer: with no controller running, clear it first.
    await ok(['patch', c.short, name, ...ns, '--type=merge', '-p', NO_FINALIZERS]);
    expect(await ok(['delete', c.short, name, ...ns])).toBe(`${c.singular}.${GROUP} "${name}" deleted\n`);
    expect(await fails(['get', c.short, name, ...ns])).toBe(
      `Error from server (NotFound): ${c.plural}.${GROUP} "${name}" not found\n`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Discovery and documentation

test('api-resources lists the 8 kinds with short names, scope and categories', async () => {
  const out = lines(await ok(['api-resources', `--api-group=${GROUP}`]));
  expect(out[0].split(/\s+/)).toEqual(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
  expect(out.slice(1).map((l) => l.split(/\s+/))).toEqual(
    expect.arrayContaining(kinds.map((c) => [c.plural, c.short, API_VERSION, String(c.namespaced), c.kind])),
  );
  expect(out).toHaveLength(1 + kinds.length);

  const wide = lines(await ok(['api-resources', `--api-group=${GROUP}`, '-o', 'wide']));
  for (const c of kinds) {
    const categories = ['ServiceInstance', 'ServiceBinding'].includes(c.kind) ? 'all,svcat' : 'svcat';
    expect(wide).toContainEqual(expect.stringMatching(new RegExp(`^${c.plural}\\s.*\\s${categories}$`)));
  }
  const svcat = lines(await ok(['api-resources', '--categories=svcat', '-o', 'name']));
  expect(svcat.sort()).toEqual(kinds.map((c) => `${c.plural}.${GROUP}`).sort());
});

test('explain documents the fields of a kind', async () => {
  const spec = await ok(['explain', 'serviceinstance.spec']);
  expect(spec).toMatch(/KIND:\s+ServiceInstance/);
  expect(spec).toMatch(/FIELD: spec <Object>/);
  expect(spec).toMatch(
    /clusterServiceClassExternalName\s+<string>\n\s+External name of the ClusterServiceClass/,
  );
  expect(spec).toMatch(/parameters\s+<Object>\n\s+Parameters sent to the broker/);
  expect(spec).toMatch(/parametersFrom\s+<\[\]Object>/);

  const url = await ok(['explain', 'clusterservicebroker.spec.url']);
  expect(url).toMatch(/KIND:\s+ClusterServiceBroker/);
  expect(url).toMatch(/FIELD: url <string>/);
  expect(url).toContain('Base URL of the Open Service Broker API endpoint');

  const conditionType = await ok(['explain', 'si.status.conditions.type']);
  expect(conditionType).toMatch(/FIELD: type <string>\nENUM:\n\s+Ready\n\s+Failed\n\s+OrphanMitigation\n/);

  expect(await fails(['explain', 'clusterservicebroker.spec.nope'])).toContain('field "nope" does not exist');
});

// ---------------------------------------------------------------------------------------------
// Validation

test('apply (strict field validation) accepts nested free-form parameters and names unknown fields', async () => {
  const instance = manifest('ServiceInstance', 'strict-si', NS, {
    clusterServiceClassExternalName: 'mysql',
    clusterServicePlanExternalName: 'small',
    parameters: { a: { b: [1, 2] }, anything: { goes: { here: true } } },
  });
  expect(await ok(['apply', '-f', '-'], toYaml(instance))).toBe(
    `serviceinstance.${GROUP}/strict-si created\n`,
  );
  expect(await ok(['get', 'si', 'strict-si', '-n', NS, '-o', 'jsonpath={.spec.parameters}'])).toBe(
    '{"a":{"b":[1,2]},"anything":{"goes":{"here":true}}}',
  );

  (instance.spec as Json).parameters = { a: { b: [1, 2, 3], c: 'd' } };
  expect(await ok(['apply', '-f', '-'], toYaml(instance))).toBe(
    `serviceinstance.${GROUP}/strict-si configured\n`,
  );
  expect(await ok(['get', 'si', 'strict-si', '-n', NS, '-o', 'jsonpath={.spec.parameters}'])).toBe(
    '{"a":{"b":[1,2,3],"c":"d"}}',
  );

  const unknown = manifest('ServiceInstance', 'strict-si-2', NS, {
    clusterServiceClassExternalName: 'mysql',
    clusterServicePlanExternalName: 'small',
    bogusField: 1,
  });
  const err = await fails(['apply', '-f', '-'], toYaml(unknown));
  expect(err).toContain('unknown field "spec.bogusField"');
  expect(await fails(['get', 'si', 'strict-si-2', '-n', NS])).toContain('NotFound');

  const warned = await run(['create', '--validate=warn', '-f', '-'], toYaml(unknown));
  expect(warned).toMatchObject({ code: 0, stdout: `serviceinstance.${GROUP}/strict-si-2 created\n` });
  expect(warned.stderr).toContain('unknown field "spec.bogusField"');
  expect(await ok(['get', 'si', 'strict-si-2', '-n', NS, '-o', 'jsonpath={.spec.bogusField}'])).toBe('');
});

test('create of an invalid object names the field and exits non-zero', async () => {
  const noName = {
    apiVersion: API_VERSION,
    kind: 'ClusterServiceBroker',
    metadata: {},
    spec: { url: 'http://x' },
  };
  expect(await fails(['create', '-f', '-'], JSON.stringify(noName))).toContain(
    'The ClusterServiceBroker "" is invalid: metadata.name: Required value',
  );

  const badUrl = manifest('ClusterServiceBroker', 'bad-url', undefined, { url: 5 });
  const err = await fails(['create', '-f', '-'], JSON.stringify(badUrl));
  expect(err).toContain('The ClusterServiceBroker "bad-url" is invalid');
  expect(err).toMatch(/spec\.url: Invalid value: .*must be of type string/);

  const badName = manifest('ClusterServiceBroker', 'Bad_Name', undefined, { url: 'http://x' });
  expect(await fails(['create', '-f', '-'], JSON.stringify(badName))).toContain(
    'metadata.name: Invalid value: "Bad_Name"',
  );

  const badEnum = manifest('ClusterServiceBroker', 'bad-enum', undefined, {
    url: 'http://x',
    relistBehavior: 'Sometimes',
  });
  expect(await fails(['create', '-f', '-'], toYaml(badEnum))).toContain(
    'spec.relistBehavior: Unsupported value: "Sometimes": supported values: "", "Duration", "Manual"',
  );

  expect(await fails(['get', 'csb', 'bad-url'])).toContain('NotFound');
});

test('errors from the server read as kubectl users expect', async () => {
  const missing = await run(['get', 'csb', 'missing']);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toBe(
    `Error from server (NotFound): clusterservicebrokers.${GROUP} "missing" not found\n`,
  );

  expect(await fails(['get', 'si', 'missing', '-n', NS])).toBe(
    `Error from server (NotFound): serviceinstances.${GROUP} "missing" not found\n`,
  );
  expect(await fails(['delete', 'csb', 'missing'])).toBe(
    `Error from server (NotFound): clusterservicebrokers.${GROUP} "missing" not found\n`,
  );

  const broker = toYaml(manifest('ClusterServiceBroker', 'twice', undefined, { url: 'http://twice' }));
  await ok(['create', '-f', '-'], broker);
  expect(await fails(['create', '-f', '-'], broker)).toBe(
    `Error from server (AlreadyExists): error when creating "STDIN": clusterservicebrokers.${GROUP} "twice" already exists\n`,
  );

  const stale = manifest(
    'ClusterServiceBroker',
    'twice',
    undefined,
    { url: 'http://stale' },
    { resourceVersion: '1' },
  );
  expect(await fails(['replace', '-f', '-'], JSON.stringify(stale))).toContain(
    `Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on clusterservicebrokers.${GROUP} "twice": the object has been modified; please apply your changes to the latest version and try again`,
  );
});

// ---------------------------------------------------------------------------------------------
// Categories and output formats

describe('categories', () => {
  const ns = 'catalog-all';
  const objects = kinds.map((c) => manifest(c.kind, `cat-${c.short}`, c.namespaced ? ns : undefined, c.spec));

  beforeAll(async () => {
    await ok(['create', '-f', '-'], toYaml(...objects));
  });

  test('get svcat lists objects of every kind', async () => {
    const names = lines(await ok(['get', 'svcat', '-n', ns, '-o', 'name']));
    expect(names).toEqual(expect.arrayContaining(kinds.map((c) => `${c.singular}.${GROUP}/cat-${c.short}`)));

    const table = await ok(['get', 'svcat', '-n', ns]);
    for (const c of kinds)
      expect(table).toMatch(new RegExp(`^${escapeRe(`${c.singular}.${GROUP}/cat-${c.short}`)}\\s`, 'm'));
    // one table per kind, each with its own columns
    expect(table).toMatch(/^NAME\s+CLASS\s+PLAN\s+STATUS\s+AGE$/m);
    expect(table).toMatch(/^NAME\s+SERVICE-INSTANCE\s+SECRET-NAME\s+STATUS\s+AGE$/m);
    expect(table).toMatch(/^NAME\s+URL\s+STATUS\s+AGE$/m);
  });

  test('get all -n <ns> includes instances and bindings only', async () => {
    const names = lines(await ok(['get', 'all', '-n', ns, '-o', 'name']));
    expect(names.sort()).toEqual([`servicebinding.${GROUP}/cat-sbd`, `serviceinstance.${GROUP}/cat-si`]);
    const table = await ok(['get', 'all', '-n', ns]);
    expect(table).toMatch(
      new RegExp(
        `^serviceinstance\\.${escapeRe(GROUP)}/cat-si\\s+ClusterServiceClass/mysql\\s+small\\s`,
        'm',
      ),
    );
    expect(table).toMatch(
      new RegExp(`^servicebinding\\.${escapeRe(GROUP)}/cat-sbd\\s+si-e2e\\s+si-e2e-credentials\\s`, 'm'),
    );
  });

  test('get clusterserviceclasses -o custom-columns with spaces in the headers', async () => {
    const out = lines(
      await ok([
        'get',
        'clusterserviceclasses',
        '-o=custom-columns=SERVICE NAME:.metadata.name,EXTERNAL NAME:.spec.externalName',
      ]),
    );
    expect(out[0]).toMatch(/^SERVICE NAME\s+EXTERNAL NAME$/);
    expect(out).toContainEqual(expect.stringMatching(/^cat-csc\s+mysql$/));
  });

  test('delete -f - removes objects of both scopes', async () => {
    // Objects may carry a controller finalizer: with no controller running, clear it first.
    expect(
      lines(await ok(['patch', '-f', '-', '--type=merge', '-p', NO_FINALIZERS], toYaml(...objects))),
    ).toHaveLength(kinds.length);
    const out = lines(await ok(['delete', '-f', '-'], toYaml(...objects)));
    expect(out.sort()).toEqual(kinds.map((c) => `${c.singular}.${GROUP} "cat-${c.short}" deleted`).sort());
    const gone = await fails(['get', '-f', '-'], toYaml(...objects));
    expect(lines(gone).filter((l) => l.startsWith('Error from server (NotFound)'))).toHaveLength(
      kinds.length,
    );
  });
});

test('replace -f - and delete -f - on a multi-document stream', async () => {
  const broker = manifest('ClusterServiceBroker', 'replace-me', undefined, { url: 'http://before' });
  const instance = manifest('ServiceInstance', 'replace-me', NS, {
    clusterServiceClassExternalName: 'mysql',
    clusterServicePlanExternalName: 'small',
    parameters: { size: 1 },
  });
  expect(await fails(['replace', '-f', '-'], toYaml(broker))).toContain(
    `Error from server (NotFound): error when replacing "STDIN": clusterservicebrokers.${GROUP} "replace-me" not found`,
  );
  await ok(['create', '-f', '-'], toYaml(broker, instance));

  (broker.spec as Json).url = 'http://after';
  (instance.spec as Json).parameters = { size: 2 };
  expect(lines(await ok(['replace', '-f', '-'], toYaml(broker, instance)))).toEqual([
    `clusterservicebroker.${GROUP}/replace-me replaced`,
    `serviceinstance.${GROUP}/replace-me replaced`,
  ]);
  expect(await ok(['get', 'csb', 'replace-me', '-o', 'jsonpath={.spec.url}'])).toBe('http://after');
  expect(await ok(['get', 'si', 'replace-me', '-n', NS, '-o', 'jsonpath={.spec.parameters.size}'])).toBe('2');

  await ok(['patch', '-f', '-', '--type=merge', '-p', NO_FINALIZERS], toYaml(broker, instance));
  expect(lines(await ok(['delete', '-f', '-'], toYaml(broker, instance)))).toEqual([
    `clusterservicebroker.${GROUP} "replace-me" deleted`,
    `serviceinstance.${GROUP} "replace-me" deleted`,
  ]);
  expect(await fails(['get', 'csb', 'replace-me'])).toContain('NotFound');
  expect(await fails(['get', '-f', '-'], toYaml(broker, instance))).toContain('NotFound');
});

// ---------------------------------------------------------------------------------------------
// Selectors and paging

describe('listing', () => {
  // sel-1..sel-5 in sel-a, sel-6 in sel-b; app=x on sel-1, sel-4 and sel-6
  const brokers = [1, 2, 3, 4, 5, 6].map((i) =>
    manifest(
      'ServiceBroker',
      `sel-${i}`,
      i === 6 ? 'sel-b' : 'sel-a',
      { url: `http://sel-${i}` },
      {
        labels: { app: [1, 4, 6].includes(i) ? 'x' : 'y', suite: 'listing' },
      },
    ),
  );
  const nsName = ['-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}'];

  beforeAll(async () => {
    await ok(['create', '-f', '-'], toYaml(...brokers));
  });

  test('get -l selects by label', async () => {
    expect(lines(await ok(['get', 'sb', '-A', '-l', 'app=x', ...nsName])).sort()).toEqual([
      'sel-a/sel-1',
      'sel-a/sel-4',
      'sel-b/sel-6',
    ]);
    expect(
      lines(await ok(['get', 'sb', '-n', 'sel-a', '-l', 'app in (y),suite=listing', ...nsName])).sort(),
    ).toEqual(['sel-a/sel-2', 'sel-a/sel-3', 'sel-a/sel-5']);
    expect(lines(await ok(['get', 'sb', '-n', 'sel-a', '-l', 'app!=y', '-o', 'name']))).toEqual([
      `servicebroker.${GROUP}/sel-1`,
      `servicebroker.${GROUP}/sel-4`,
    ]);
  });

  test('get --field-selector', async () => {
    expect(
      await ok(['get', 'sb', '-n', 'sel-a', '--field-selector', 'metadata.name=sel-3', '-o', 'name']),
    ).toBe(`servicebroker.${GROUP}/sel-3\n`);
    const table = lines(await ok(['get', 'sb', '-n', 'sel-a', '--field-selector', 'metadata.name=sel-3']));
    expect(table).toHaveLength(2);
    expect(table[1]).toMatch(/^sel-3\s+http:\/\/sel-3\s/);
    expect(
      lines(await ok(['get', 'sb', '-A', '--field-selector', 'metadata.namespace=sel-b', ...nsName])),
    ).toEqual(['sel-b/sel-6']);
    expect(
      lines(await ok(['get', 'sb', '-n', 'sel-a', '--field-selector', 'metadata.name!=sel-3', '-o', 'name'])),
    ).toHaveLength(4);
    expect(await fails(['get', 'sb', '-A', '--field-selector', 'spec.url=http://sel-1'])).toContain(
      '"spec.url" is not a known field selector',
    );
  });

  test('get -A spans namespaces with a NAMESPACE column', async () => {
    const out = lines(await ok(['get', 'sb', '-A', '-l', 'suite=listing']));
    expect(out[0].split(/\s+/)).toEqual(['NAMESPACE', 'NAME', 'URL', 'STATUS', 'AGE']);
    expect(out.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual(
      brokers.map((b) => {
        const m = b.metadata as Json;
        return [m.namespace, m.name, `http://${String(m.name)}`];
      }),
    );
  });

  test('--chunk-size=2 pages through 5 objects and returns all of them', async () => {
    const r = await run(['get', 'sb', '-n', 'sel-a', '--chunk-size=2', '-o', 'name', '-v=6']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([1, 2, 3, 4, 5].map((i) => `servicebroker.${GROUP}/sel-${i}`));
    const requests = r.stderr
      .split('\n')
      .filter((l) => /GET https:\/\/\S+\/namespaces\/sel-a\/servicebrokers\?/.test(l));
    expect(requests).toHaveLength(3);
    expect(requests.every((l) => /limit=2/.test(l))).toBe(true);
    expect(requests.filter((l) => /continue=/.test(l))).toHaveLength(2);

    // the table comes out as one, whatever the pages
    const table = lines(await ok(['get', 'sb', '-n', 'sel-a', '--chunk-size=2']));
    expect(table).toHaveLength(6);
    expect(table.filter((l) => l.startsWith('NAME'))).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// wait and watch

test('wait --for=delete returns once a second kubectl removes the finalizer', async () => {
  const broker = manifest(
    'ClusterServiceBroker',
    'held',
    undefined,
    { url: 'http://held' },
    { finalizers: ['example.com/hold'] },
  );
  await ok(['create', '-f', '-'], toYaml(broker));
  expect(await ok(['delete', 'csb', 'held', '--wait=false'])).toBe(
    `clusterservicebroker.${GROUP} "held" deleted\n`,
  );
  // still there: the finalizer holds it
  expect(JSON.parse(await ok(['get', 'csb', 'held', '-o', 'jsonpath={.metadata.finalizers}']))).toContain(
    'example.com/hold',
  );
  expect(await ok(['get', 'csb', 'held', '-o', 'jsonpath={.metadata.deletionTimestamp}'])).toMatch(
    /^\d{4}-\d\d-\d\dT/,
  );

  const wait = new Background(['wait', '--for=delete', 'csb/held', '--timeout=30s', '-v=6']);
  try {
    await wait.until('stderr', WATCH_STARTED);
    expect(wait.exitCode).toBeUndefined();
    await ok([
      'patch',
      'csb',
      'held',
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]);
    expect(await wait.exited).toBe(0);
    expect(wait.stdout).toBe(`clusterservicebroker.${GROUP}/held condition met\n`);
  } finally {
    await wait.stop();
  }
  expect(await fails(['get', 'csb', 'held'])).toContain('NotFound');
});

test('wait --for=condition=Ready sees a condition written through the status subresource', async () => {
  await ok(
    ['create', '-f', '-'],
    toYaml(manifest('ClusterServiceBroker', 'ready', undefined, { url: 'http://ready' })),
  );
  const wait = new Background(['wait', '--for=condition=Ready', 'csb/ready', '--timeout=30s', '-v=6']);
  try {
    await wait.until('stderr', WATCH_STARTED);
    expect(wait.exitCode).toBeUndefined();
    const status = {
      // spec in a status patch is ignored
      spec: { url: 'http://ignored' },
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'FetchedCatalog',
            message: 'ok',
            lastTransitionTime: '2024-01-01T00:00:00Z',
          },
        ],
      },
    };
    expect(
      await ok([
        'patch',
        'csb',
        'ready',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify(status),
      ]),
    ).toBe(`clusterservicebroker.${GROUP}/ready patched\n`);
    expect(await wait.exited).toBe(0);
    expect(wait.stdout).toBe(`clusterservicebroker.${GROUP}/ready condition met\n`);
  } finally {
    await wait.stop();
  }
  expect(lines(await ok(['get', 'csb', 'ready']))[1]).toMatch(/^ready\s+http:\/\/ready\s+Ready\s+\d+s$/);

  // and a main-resource write leaves status alone
  await ok([
    'patch',
    'csb',
    'ready',
    '--type=merge',
    '-p',
    '{"status":{"conditions":null},"spec":{"url":"http://ready2"}}',
  ]);
  expect(await ok(['get', 'csb', 'ready', '-o', 'jsonpath={.spec.url} {.status.conditions[0].type}'])).toBe(
    'http://ready2 Ready',
  );
});

test('wait --for=jsonpath returns once a patch sets the value', async () => {
  await ok(
    ['create', '-f', '-'],
    toYaml(manifest('ClusterServiceBroker', 'moving', undefined, { url: 'http://old' })),
  );
  const wait = new Background([
    'wait',
    '--for=jsonpath={.spec.url}=http://new',
    'csb/moving',
    '--timeout=30s',
    '-v=6',
  ]);
  try {
    await wait.until('stderr', WATCH_STARTED);
    expect(wait.exitCode).toBeUndefined();
    await ok(['patch', 'csb', 'moving', '--type=merge', '-p', '{"spec":{"url":"http://new"}}']);
    expect(await wait.exited).toBe(0);
    expect(wait.stdout).toBe(`clusterservicebroker.${GROUP}/moving condition met\n`);
  } finally {
    await wait.stop();
  }
});

test('get -w prints a line for changes made after it starts', async () => {
  await ok(
    ['create', '-f', '-'],
    toYaml(manifest('ClusterServiceBroker', 'watch-a', undefined, { url: 'http://a1' })),
  );
  const watch = new Background(['get', 'clusterservicebrokers', '-w']);
  try {
    // the listed object comes first: after it, the watch runs from the list's resourceVersion
    await watch.until('stdout', /^watch-a\s+http:\/\/a1\s/m);
    expect(lines(watch.stdout)[0].split(/\s+/)).toEqual(['NAME', 'URL', 'STATUS', 'AGE']);

    await ok(
      ['create', '-f', '-'],
      toYaml(manifest('ClusterServiceBroker', 'watch-b', undefined, { url: 'http://b1' })),
    );
    await watch.until('stdout', /^watch-b\s+http:\/\/b1\s/m);

    await ok(['patch', 'csb', 'watch-a', '--type=merge', '-p', '{"spec":{"url":"http://a2"}}']);
    await watch.until('stdout', /^watch-a\s+http:\/\/a2\s/m);
    expect(watch.exitCode).toBeUndefined();
  } finally {
    await watch.stop();
  }
});

test('get -w --output-watch-events shows ADDED, MODIFIED and DELETED for a namespaced kind', async () => {
  const ns = 'watch-ns';
  const instance = (size: number) =>
    toYaml(
      manifest('ServiceInstance', 'watched', ns, {
        clusterServiceClassExternalName: 'mysql',
        clusterServicePlanExternalName: 'small',
        parameters: { size },
      }),
    );
  const watch = new Background(['get', 'si', '-n', ns, '-w', '--output-watch-events', '-v=6']);
  try {
    await watch.until('stderr', WATCH_STARTED);
    await ok(['create', '-f', '-'], instance(1));
    await watch.until('stdout', /^ADDED\s+watched\s+ClusterServiceClass\/mysql\s+small\s/m);
    expect(watch.stdout).not.toMatch(/^MODIFIED/m);
    await ok(['apply', '-f', '-'], instance(2));
    await watch.until('stdout', /^MODIFIED\s+watched\s+ClusterServiceClass\/mysql\s+small\s/m);
    await ok(['patch', 'si', 'watched', '-n', ns, '--type=merge', '-p', NO_FINALIZERS]);
    await ok(['delete', 'si', 'watched', '-n', ns]);
    await watch.until('stdout', /^DELETED\s+watched\s/m);
    expect(lines(watch.stdout)[0].split(/\s+/)).toEqual(['EVENT', 'NAME', 'CLASS', 'PLAN', 'STATUS', 'AGE']);
  } finally {
    await watch.stop();
  }
});
