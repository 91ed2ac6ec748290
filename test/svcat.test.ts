import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import {
  clusterServiceBrokerResource,
  clusterServiceClassResource,
  serviceBrokerResource,
  serviceInstanceResource,
  type ServiceInstance,
} from '../api-types';
import { namespaceResource, secretResource } from '../api-types/core';
import { startScriptedBroker, type ScriptedBroker } from '../brokers/scripted';
import { kubeconfig } from '../hack/lib/kubeconfig';
import { eventually, testCert } from './harness';
import { condition } from './harness/controllers';
import { fails, ok, stableTimes, SvcatStack, text } from './harness/svcat';

/**
 * svcat end to end: the built CLI (and `kubectl svcat`) against a standalone API server and the
 * controllers, with the scripted broker's default catalog registered as ClusterServiceBroker
 * "scripted" and, in namespace "team", as ServiceBroker "local". Tables and pages are compared
 * with golden text: what users read.
 */

let stack: SvcatStack;
let broker: ScriptedBroker;
/** The broker's port in output, replaced by PPPPP (same width, so columns stay aligned). */
let port: string;

const svcat = (...args: string[]) => stack.svcat(args);
const out = async (...args: string[]) => ok(await svcat(...args), `svcat ${args.join(' ')}`);
const err = async (...args: string[]) => fails(await svcat(...args), `svcat ${args.join(' ')}`);
const stable = (s: string) => stableTimes(s).replaceAll(`:${port}`, ':PPPPP');

const DB = '3f1c5a2e-7d4b-4c8e-9a61-0b2d6e8f1a01';
const DB_SMALL = '3f1c5a2e-7d4b-4c8e-9a61-0b2d6e8f1a02';

beforeAll(async () => {
  stack = await SvcatStack.start();
  broker = await stack.registerBroker('scripted');
  port = new URL(broker.url).port;
  await stack.api.create(namespaceResource, { metadata: { name: 'team' } });
  await stack.api.create(serviceBrokerResource, {
    metadata: { name: 'local', namespace: 'team' },
    spec: { url: broker.url },
  });
  await stack.suite.brokerReady(serviceBrokerResource, 'local', 'team', 20_000);
  await eventually(async () => (await stack.api.list(serviceBrokerResource, 'team')).items.length === 1);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('get', () => {
  it('lists brokers of the cluster and the namespace, aligned as kubectl aligns columns', async () => {
    const [here, team, teamOnly, everywhere, wide] = await Promise.all([
      out('get', 'brokers'),
      out('get', 'brokers', '-n', 'team'),
      out('get', 'brokers', '-n', 'team', '--scope', 'namespace'),
      out('get', 'brokers', '--all-namespaces', '--scope', 'namespace'),
      out('get', 'brokers', '-n', 'team', '-o', 'wide'),
    ]);
    expect(stable(here)).toBe(
      text(
        'NAME       NAMESPACE   URL                      STATUS', //
        'scripted               http://127.0.0.1:PPPPP   Ready',
      ),
    );
    expect(stable(team)).toBe(
      text(
        'NAME       NAMESPACE   URL                      STATUS',
        'scripted               http://127.0.0.1:PPPPP   Ready',
        'local      team        http://127.0.0.1:PPPPP   Ready',
      ),
    );
    expect(stable(teamOnly)).toBe(
      text(
        'NAME    NAMESPACE   URL                      STATUS',
        'local   team        http://127.0.0.1:PPPPP   Ready',
      ),
    );
    expect(everywhere).toBe(teamOnly);
    expect(stable(wide)).toBe(
      text(
        'NAME       NAMESPACE   URL                      STATUS   RELIST-BEHAVIOR   RELIST-DURATION',
        'scripted               http://127.0.0.1:PPPPP   Ready    Duration          15m0s',
        'local      team        http://127.0.0.1:PPPPP   Ready    Duration          15m0s',
      ),
    );
  });

  it('lists classes by their broker names, filtered by broker, or one by name or Kubernetes name', async () => {
    const [all, byBroker, none, one, byKubeName, wide] = await Promise.all([
      out('get', 'classes'),
      out('get', 'classes', '--broker', 'scripted'),
      svcat('get', 'classes', '--broker', 'nobody'),
      out('get', 'class', 'scripted-queue'),
      out('get', 'class', '-k', DB),
      out('get', 'classes', '-o', 'wide'),
    ]);
    expect(all).toBe(
      text(
        'NAME                NAMESPACE   BROKER     DESCRIPTION',
        'scripted-database               scripted   A pretend database, provisioned synchronously.',
        'scripted-queue                  scripted   A pretend message queue, provisioned asynchronously.',
      ),
    );
    expect(byBroker).toBe(all);
    expect(none).toEqual({ code: 0, stdout: '', stderr: 'No classes found.\n' });
    expect(one).toBe(
      text(
        'NAME             NAMESPACE   BROKER     DESCRIPTION',
        'scripted-queue               scripted   A pretend message queue, provisioned asynchronously.',
      ),
    );
    expect(byKubeName.split('\n')[1]).toMatch(/^scripted-database /);
    expect(wide).toBe(
      text(
        'NAME                NAMESPACE   BROKER     DESCRIPTION                                            KUBERNETES-NAME                        STATUS',
        `scripted-database               scripted   A pretend database, provisioned synchronously.         ${DB}   Active`,
        'scripted-queue                  scripted   A pretend message queue, provisioned asynchronously.   8a4e2c71-1b3d-4f5a-8c9e-2d7f0a6b3c11   Active',
      ),
    );
  });

  it('lists plans with their class, by class, and finds PLAN or CLASS/PLAN in whichever scope has it', async () => {
    const [all, ofClass, classPlan, plain, inTeam, ambiguous, nsOnly] = await Promise.all([
      out('get', 'plans'),
      out('get', 'plans', '--class', 'scripted-queue'),
      out('get', 'plan', 'scripted-database/small'),
      out('get', 'plan', 'large'),
      out('get', 'plans', '-n', 'team', '--scope', 'namespace', '--class', 'scripted-queue'),
      err('get', 'plan', 'scripted-database/small', '-n', 'team'),
      out('get', 'plan', 'scripted-database/small', '-n', 'team', '--scope', 'namespace'),
    ]);
    expect(all).toBe(
      text(
        'NAME           NAMESPACE   CLASS               DESCRIPTION',
        'large                      scripted-database   A dedicated pretend server.',
        'small                      scripted-database   One shared pretend server.',
        'async                      scripted-queue      Provisioned, updated, bound and deleted asynchronously.',
        'not-bindable               scripted-queue      A queue that cannot be bound.',
      ),
    );
    expect(ofClass).toBe(
      text(
        'NAME           NAMESPACE   CLASS            DESCRIPTION',
        'async                      scripted-queue   Provisioned, updated, bound and deleted asynchronously.',
        'not-bindable               scripted-queue   A queue that cannot be bound.',
      ),
    );
    expect(classPlan).toBe(
      text(
        'NAME    NAMESPACE   CLASS               DESCRIPTION',
        'small               scripted-database   One shared pretend server.',
      ),
    );
    expect(plain.split('\n')[1]).toMatch(/^large +scripted-database +A dedicated pretend server\.$/);
    expect(inTeam).toBe(
      text(
        'NAME           NAMESPACE   CLASS            DESCRIPTION',
        'async          team        scripted-queue   Provisioned, updated, bound and deleted asynchronously.',
        'not-bindable   team        scripted-queue   A queue that cannot be bound.',
      ),
    );
    expect(ambiguous).toBe(
      `error: class "scripted-database" is ambiguous: there is one cluster-wide (${DB}) and one in namespace "team" (${DB}); pick one with --scope cluster|namespace or by Kubernetes name with --kube-name\n`,
    );
    expect(nsOnly.split('\n')[1]).toMatch(/^small +team +scripted-database/);
  });

  it('shows the marketplace: each class with its plans', async () => {
    const [market, wide] = await Promise.all([out('marketplace'), out('mp', '-n', 'team', '-o', 'wide')]);
    expect(market).toBe(
      text(
        'CLASS               PLANS          DESCRIPTION',
        'scripted-database   large          A pretend database, provisioned synchronously.',
        '                    small',
        'scripted-queue      async          A pretend message queue, provisioned asynchronously.',
        '                    not-bindable',
      ),
    );
    expect(wide).toBe(
      text(
        'CLASS               PLANS          DESCRIPTION                                            NAMESPACE   BROKER',
        'scripted-database   large          A pretend database, provisioned synchronously.                     scripted',
        '                    small',
        'scripted-queue      async          A pretend message queue, provisioned asynchronously.               scripted',
        '                    not-bindable',
        'scripted-database   large          A pretend database, provisioned synchronously.         team        local',
        '                    small',
        'scripted-queue      async          A pretend message queue, provisioned asynchronously.   team        local',
        '                    not-bindable',
      ),
    );
  });

  it('exits non-zero with a pointer for an unknown type, command or flag', async () => {
    const [type, command, flag, output] = await Promise.all([
      svcat('get', 'instnaces'),
      svcat('provison', 'x'),
      svcat('get', 'brokers', '--colour'),
      svcat('get', 'brokers', '-o', 'xml'),
    ]);
    expect(type.code).toBe(1);
    expect(type.stderr).toBe(
      text(
        'error: unknown "get" subcommand "instnaces"; did you mean "instances"? (subcommands: bindings, brokers, classes, instances, plans)',
        "Run 'svcat --help' for usage.",
      ),
    );
    expect(command.code).toBe(1);
    expect(command.stderr.split('\n')[0]).toMatch(
      /^error: unknown command "provison"; did you mean "provision"\?/,
    );
    expect(flag.code).toBe(1);
    expect(flag.stderr.split('\n')[0]).toBe('error: unknown flag: --colour');
    expect(output.stderr.split('\n')[0]).toBe(
      'error: invalid --output "xml": want one of table, wide, json, yaml',
    );
  });
});

describe('describe', () => {
  it('shows a broker with its classes', async () => {
    expect(stable(await out('describe', 'broker', 'local', '-n', 'team'))).toBe(
      text(
        'Name:                    local',
        'Scope:                   namespace',
        'Namespace:               team',
        'URL:                     http://127.0.0.1:PPPPP',
        'Status:                  Ready - Successfully fetched catalog entries from broker @ <time>',
        'Relist Behavior:         Duration',
        'Relist Duration:         15m0s',
        'Last Catalog Retrieval:  <time>',
        '',
        'Classes:',
        '  NAME                DESCRIPTION',
        '  scripted-database   A pretend database, provisioned synchronously.',
        '  scripted-queue      A pretend message queue, provisioned asynchronously.',
      ),
    );
  });

  it('shows a class with its plans', async () => {
    expect(await out('describe', 'class', 'scripted-database', '--scope', 'cluster')).toBe(
      text(
        'Name:             scripted-database',
        'Scope:            cluster',
        'Description:      A pretend database, provisioned synchronously.',
        `Kubernetes Name:  ${DB}`,
        'Status:           Active',
        'Tags:             sql, scripted',
        'Broker:           scripted',
        'Bindable:         true',
        'Plan Updatable:   true',
        '',
        'Plans:',
        '  NAME    FREE    DESCRIPTION',
        '  large   false   A dedicated pretend server.',
        '  small   true    One shared pretend server.',
      ),
    );
  });

  it('shows a plan with its instances and, unless told not to, its parameter schemas', async () => {
    await stack.api.create(serviceInstanceResource, {
      metadata: { name: 'on-large', namespace: 'default' },
      spec: { clusterServiceClassExternalName: 'scripted-database', clusterServicePlanExternalName: 'large' },
    });
    await eventually(
      async () =>
        condition(await stack.api.get(serviceInstanceResource, 'default', 'on-large'), 'Ready')?.status ===
        'True',
    );
    const [large, small] = await Promise.all([
      out('describe', 'plan', 'scripted-database/large', '--scope', 'cluster'),
      out('describe', 'plan', '-k', DB_SMALL),
    ]);
    expect(large).toBe(
      text(
        'Name:                 large',
        'Scope:                cluster',
        'Description:          A dedicated pretend server.',
        'Kubernetes Name:      3f1c5a2e-7d4b-4c8e-9a61-0b2d6e8f1a03',
        'Status:               Active',
        'Free:                 false',
        'Class:                scripted-database',
        'Maintenance Version:  1.2.0',
        '',
        'Instances:',
        '  NAME       NAMESPACE   STATUS',
        '  on-large   default     Ready',
      ),
    );
    expect(small).toContain(
      text(
        'Instance Create Parameter Schema:',
        '  $schema: http://json-schema.org/draft-04/schema#',
        '  type: object',
        '  properties:',
        '    size:',
        '      type: string',
        '      enum:',
        '        - s',
        '        - m',
      ),
    );
    expect(small).toContain('Binding Create Parameter Schema:');
    const hidden = await out(
      'describe',
      'plan',
      'scripted-database/small',
      '--scope',
      'cluster',
      '--no-show-schemas',
    );
    expect(hidden).not.toContain('Schema');
  });

  it('names what exists when asked for something that does not', async () => {
    const [cls, plan, instance] = await Promise.all([
      err('describe', 'class', 'scripted-databse'),
      err('provision', 'x', '--class', 'scripted-database', '--plan', 'smal', '--scope', 'cluster'),
      err('describe', 'instance', 'nothing-here', '-n', 'team'),
    ]);
    expect(cls).toBe(
      'error: class "scripted-databse" not found cluster-wide or in namespace "default"; did you mean "scripted-database"? (classes: scripted-database, scripted-queue)\n',
    );
    expect(plan).toBe(
      'error: plan "smal" not found in class "scripted-database"; did you mean "small"? (plans: large, small)\n',
    );
    expect(instance).toBe('error: instance "nothing-here" not found in namespace "team"\n');
  });
});

describe('provision and bind', () => {
  it('provisions by the broker names, shows the instance, its bindings and their secret', async () => {
    const provisioned = await out(
      'provision', 'shop-db', '-n', 'team', '--scope', 'cluster',
      '--class', 'scripted-database', '--plan', 'small', '-p', 'size=m',
      '--external-id', 'shop-db-id', '--wait', '--interval', '100ms',
    ); // prettier-ignore
    const page = text(
      'Name:            shop-db',
      'Namespace:       team',
      'Status:          Ready - The instance was provisioned successfully @ <time>',
      'DashboardURL:    http://127.0.0.1:PPPPP/dashboard/shop-db-id',
      'Class:           scripted-database',
      'Plan:            small',
      'External ID:     shop-db-id',
      'Last Operation:  none in progress',
      '',
      'Parameters:',
      '  size: m',
    );
    expect(stable(provisioned)).toBe(page);
    // recorded by external names, so filters by class and plan find it (the original wrote UUIDs)
    const stored = await stack.api.get<ServiceInstance>(serviceInstanceResource, 'team', 'shop-db');
    expect(stored?.spec).toMatchObject({
      clusterServiceClassExternalName: 'scripted-database',
      clusterServicePlanExternalName: 'small',
    });
    ok(
      await svcat(
        'bind',
        'shop-db',
        '-n',
        'team',
        '--name',
        'shop-creds',
        '--external-id',
        'shop-creds-id',
        '-p',
        'readOnly=true',
        '--wait',
        '--interval',
        '100ms',
      ),
    );
    const [instances, filtered, none, bindings, described, binding, secrets] = await Promise.all([
      out('get', 'instances', '-n', 'team'),
      out('get', 'instances', '-n', 'team', '--class', 'scripted-database', '--plan', 'small'),
      svcat('get', 'instances', '-n', 'team', '--plan', 'large'),
      out('get', 'bindings', '-n', 'team', '-o', 'wide'),
      out('describe', 'instance', 'shop-db', '-n', 'team'),
      out('describe', 'binding', 'shop-creds', '-n', 'team'),
      out('describe', 'binding', 'shop-creds', '-n', 'team', '--show-secrets'),
    ]);
    expect(instances).toBe(
      text(
        'NAME      NAMESPACE   CLASS               PLAN    STATUS',
        'shop-db   team        scripted-database   small   Ready',
      ),
    );
    expect(filtered).toBe(instances);
    expect(none).toEqual({ code: 0, stdout: '', stderr: 'No instances found in namespace team.\n' });
    expect(bindings).toBe(
      text(
        'NAME         NAMESPACE   INSTANCE   STATUS   SECRET       EXTERNAL-ID',
        'shop-creds   team        shop-db    Ready    shop-creds   shop-creds-id',
      ),
    );
    // describe adds the instance's bindings to what provision printed
    expect(stable(described)).toBe(
      page + text('', 'Bindings:', '  NAME         STATUS', '  shop-creds   Ready'),
    );
    expect(stable(binding)).toBe(
      text(
        'Name:         shop-creds',
        'Namespace:    team',
        'Status:       Ready - Injected bind result @ <time>',
        'Secret:       shop-creds',
        'Instance:     shop-db',
        'External ID:  shop-creds-id',
        '',
        'Parameters:',
        '  readOnly: true',
        '',
        'Secret Data:',
        '  password  24 bytes',
        // scripted://<username>:<password>@127.0.0.1:<port>/shop-db-id
        '  uri       76 bytes',
        '  username  13 bytes',
      ),
    );
    const secret = await stack.api.get<{ metadata: object; data: Record<string, string> }>(
      secretResource,
      'team',
      'shop-creds',
    );
    const decoded = (k: string) => Buffer.from(secret!.data[k], 'base64').toString();
    expect(secrets).toContain(`  password  ${decoded('password')}\n`);
    expect(secrets).toContain(`  username  ${decoded('username')}\n`);
  });

  it('passes nested -p values typed by the plan schema, --params-json, and --secret as parametersFrom', async () => {
    await stack.api.create(secretResource, {
      metadata: { name: 'db-secrets', namespace: 'default' },
      stringData: { extra: '{"password":"hunter2"}' },
    });
    const [nested, json, conflict, badJson, badSecret] = await Promise.all([
      svcat('provision', 'nested', '--class', 'scripted-queue', '--plan', 'async', '-p', 'tier.name=gold', '-p', 'tier.zone=a', '-p', 'tags=x', '-p', 'tags=y', '-s', 'db-secrets[extra]'),
      svcat('provision', 'json', '--class', 'scripted-queue', '--plan', 'async', '--params-json', '{"replicas": 3}'),
      svcat('provision', 'both', '--class', 'scripted-queue', '--plan', 'async', '-p', 'a=1', '--params-json', '{}'),
      svcat('provision', 'bad', '--class', 'scripted-queue', '--plan', 'async', '--params-json', '[1]'),
      svcat('provision', 'bad', '--class', 'scripted-queue', '--plan', 'async', '-s', 'nokey'),
    ]); // prettier-ignore
    ok(nested);
    ok(json);
    const get = (n: string) => stack.api.get<ServiceInstance>(serviceInstanceResource, 'default', n);
    expect((await get('nested'))?.spec).toMatchObject({
      parameters: { tier: { name: 'gold', zone: 'a' }, tags: ['x', 'y'] },
      parametersFrom: [{ secretKeyRef: { name: 'db-secrets', key: 'extra' } }],
    });
    expect((await get('json'))?.spec?.parameters).toEqual({ replicas: 3 });
    expect(fails(conflict).split('\n')[0]).toBe(
      'error: Arguments param and params-json are mutually exclusive',
    );
    expect(fails(badJson)).toBe('error: invalid --params-json: want a JSON object\n');
    expect(fails(badSecret)).toBe('error: invalid --secret "nokey": want SECRET[KEY]\n');
    // plan small's create schema says size is a string: "1" stays text; the binding schema of an
    // instance on it says readOnly is a boolean, which "yes" is not
    await out(
      'provision',
      'typed',
      '--class',
      'scripted-database',
      '--plan',
      'small',
      '--scope',
      'cluster',
      '-p',
      'size=s',
      '--wait',
      '--interval',
      '100ms',
    );
    const typed = await svcat('bind', 'typed', '-p', 'readOnly=yes');
    expect(fails(typed)).toBe(
      'error: invalid --param readOnly=yes: the plan wants boolean there, not "yes"\n',
    );
  });
});

describe('output that kubectl apply takes back', () => {
  it('round-trips an instance as JSON and YAML through kubectl apply -f', async () => {
    await stack.api.create(serviceInstanceResource, {
      metadata: { name: 'round-trip', namespace: 'default' },
      spec: { clusterServiceClassExternalName: 'scripted-queue', clusterServicePlanExternalName: 'async' },
    });
    const json = JSON.parse(await out('get', 'instance', 'round-trip', '-o', 'json'));
    expect(json).toMatchObject({ apiVersion: 'servicecatalog.k8s.io/v1beta1', kind: 'ServiceInstance' });
    json.metadata.labels = { team: 'shop' };
    const applied = await stack.kubectl(['apply', '-f', '-'], JSON.stringify(json));
    expect(ok(applied, 'kubectl apply')).toBe(
      'serviceinstance.servicecatalog.k8s.io/round-trip configured\n',
    );
    const relabelled = await stack.api.get<ServiceInstance>(serviceInstanceResource, 'default', 'round-trip');
    expect(relabelled?.metadata.labels).toEqual({ team: 'shop' });

    // several objects: YAML documents, each applied as it was
    const listed = await out('get', 'classes', '-o', 'yaml');
    const docs = yaml.loadAll(listed) as Array<{ kind: string; spec: { externalName: string } }>;
    expect(docs.map((d) => [d.kind, d.spec.externalName])).toEqual([
      ['ClusterServiceClass', 'scripted-database'],
      ['ClusterServiceClass', 'scripted-queue'],
    ]);
    const reapplied = await stack.kubectl(['apply', '-f', '-'], listed);
    expect(ok(reapplied, 'kubectl apply').trim().split('\n')).toEqual([
      `clusterserviceclass.servicecatalog.k8s.io/${DB} configured`,
      'clusterserviceclass.servicecatalog.k8s.io/8a4e2c71-1b3d-4f5a-8c9e-2d7f0a6b3c11 configured',
    ]);
  });

  it('prints lists as JSON in kubectl List form', async () => {
    const list = JSON.parse(await out('get', 'brokers', '-o', 'json', '-n', 'team'));
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' } });
    expect(
      list.items.map((i: { kind: string; metadata: { name: string } }) => [i.kind, i.metadata.name]),
    ).toEqual([
      ['ClusterServiceBroker', 'scripted'],
      ['ServiceBroker', 'local'],
    ]);
  });
});

describe('brokers and classes', () => {
  it('registers a namespaced broker and waits for it, syncs it and deregisters it without --scope', async () => {
    await stack.api.create(namespaceResource, { metadata: { name: 'reg' } });
    const registered = await out(
      'register',
      'mine',
      '--url',
      broker.url,
      '-n',
      'reg',
      '--relist-behavior',
      'manual',
      '--wait',
      '--interval',
      '100ms',
    );
    expect(stable(registered)).toBe(
      text(
        'Name:       mine',
        'Scope:      namespace',
        'Namespace:  reg',
        'URL:        http://127.0.0.1:PPPPP',
        'Status:     Ready - Successfully fetched catalog entries from broker @ <time>',
      ),
    );
    const before = await stack.api.get(serviceBrokerResource, 'reg', 'mine');
    expect(before?.spec).toMatchObject({ relistBehavior: 'Manual' });
    const catalogRequests = broker.requests('catalog').length;
    expect(await out('sync', 'broker', 'mine', '-n', 'reg', '--wait', '--interval', '100ms')).toBe(
      'Synchronization requested for broker: mine\n',
    );
    expect(broker.requests('catalog').length).toBeGreaterThan(catalogRequests);
    expect(await out('deregister', 'mine', '-n', 'reg', '--wait', '--interval', '100ms')).toBe(
      'Successfully removed broker "mine"\n',
    );
    expect(await stack.api.get(serviceBrokerResource, 'reg', 'mine')).toBeUndefined();
  });

  it('registers a cluster broker with auth, restrictions and a CA', async () => {
    const ca = join(stack.home, 'ca.pem');
    writeFileSync(ca, testCert().ca);
    ok(
      await svcat('register', 'restricted', '--url', 'https://127.0.0.1:1', '--scope', 'cluster', '--basic-secret', 'creds', '--ca', ca, '--class-restrictions', 'spec.externalName==scripted-queue', '--plan-restrictions', 'spec.free=true', '--relist-duration', '1h'),
    ); // prettier-ignore
    const cluster = await stack.api.get(clusterServiceBrokerResource, undefined, 'restricted');
    expect(cluster?.spec).toMatchObject({
      url: 'https://127.0.0.1:1',
      caBundle: Buffer.from(testCert().ca).toString('base64'),
      relistBehavior: 'Duration',
      relistDuration: '1h',
      catalogRestrictions: {
        serviceClass: ['spec.externalName==scripted-queue'],
        servicePlan: ['spec.free=true'],
      },
      // a cluster broker's secret lives in the namespace of the command
      authInfo: { basic: { secretRef: { namespace: 'default', name: 'creds' } } },
    });
    const [both, badBehavior, noCa] = await Promise.all([
      svcat('register', 'x', '--url', 'http://x', '--basic-secret', 'a', '--bearer-secret', 'b'),
      svcat('register', 'x', '--url', 'http://x', '--relist-behavior', 'sometimes'),
      svcat('register', 'x', '--url', 'http://x', '--ca', '/nonexistent.pem'),
    ]);
    expect(fails(both)).toBe('error: --basic-secret and --bearer-secret exclude each other\n');
    expect(fails(badBehavior)).toBe(
      'error: invalid --relist-behavior "sometimes": want duration or manual\n',
    );
    expect(fails(noCa)).toBe('error: cannot read --ca /nonexistent.pem: ENOENT\n');
    ok(await svcat('deregister', 'restricted'));
  });

  it('copies a class under a new name', async () => {
    expect(await out('create', 'class', 'my-queue', '--from', 'scripted-queue', '--scope', 'cluster')).toBe(
      text(
        'NAME       NAMESPACE   BROKER     DESCRIPTION',
        'my-queue               scripted   A pretend message queue, provisioned asynchronously.',
      ),
    );
    // the same service of the same broker, under a name of its own
    const copy = await stack.api.get(clusterServiceClassResource, undefined, 'my-queue');
    expect(copy?.spec).toMatchObject({
      externalName: 'my-queue',
      externalID: '8a4e2c71-1b3d-4f5a-8c9e-2d7f0a6b3c11',
      clusterServiceBrokerName: 'scripted',
    });
  });
});

describe('the command line itself', () => {
  it('runs as kubectl svcat from the PATH', async () => {
    const [plugin, direct, help] = await Promise.all([
      stack.kubectlSvcat(['get', 'brokers', '-n', 'team']),
      out('get', 'brokers', '-n', 'team'),
      stack.kubectlSvcat(['--help']),
    ]);
    expect(ok(plugin, 'kubectl svcat')).toBe(direct);
    expect(ok(help, 'kubectl svcat --help')).toMatch(/^kubectl svcat <command> \[flags\]/);
  });

  it('prints client and server versions', async () => {
    const [both, client] = await Promise.all([out('version'), out('version', '--client')]);
    expect(both).toBe(text('Client Version: v0.1.0', 'Server Version: v0.1.0'));
    expect(client).toBe(text('Client Version: v0.1.0'));
  });

  it('prints bash and zsh completion that completes commands', async () => {
    const [bash, zsh, words] = await Promise.all([
      out('completion', 'bash'),
      out('completion', 'zsh'),
      out('--get-yargs-completions', 'get', ''),
    ]);
    expect(bash).toContain('complete -o bashdefault -o default -F _svcat_yargs_completions svcat');
    expect(zsh).toContain('compdef _svcat_yargs_completions svcat');
    expect(words.split('\n')).toEqual(
      expect.arrayContaining(['brokers', 'classes', 'plans', 'instances', 'bindings']),
    );
  });

  it('says which server it could not reach, and that a kubeconfig or context is missing', async () => {
    const tls = await startScriptedBroker({ tls: testCert() });
    try {
      const dir = stack.home;
      const write = (name: string, server: string) => {
        const path = join(dir, name);
        writeFileSync(path, kubeconfig(server, testCert().ca));
        return path;
      };
      const refused = write('refused', 'https://127.0.0.1:1');
      const notCatalog = write('not-catalog', tls.url);
      const [down, absent, none, noContext, notInstalled] = await Promise.all([
        svcat('get', 'brokers', '--kubeconfig', refused),
        svcat('get', 'brokers', '--kubeconfig', join(dir, 'nope')),
        stack.svcat(['get', 'brokers'], { env: { KUBECONFIG: '' } }),
        svcat('get', 'brokers', '--context', 'elsewhere'),
        svcat('get', 'instances', '--kubeconfig', notCatalog),
      ]);
      expect(fails(down)).toBe(
        'error: cannot reach the API server at https://127.0.0.1:1 (context "catalog"): connection refused\n',
      );
      expect(fails(absent)).toBe(`error: kubeconfig ${join(dir, 'nope')} does not exist\n`);
      expect(fails(none)).toBe(
        `error: no kubeconfig: ${join(dir, '.kube', 'config')} does not exist and KUBECONFIG is not set; pass --kubeconfig or set KUBECONFIG\n`,
      );
      expect(fails(noContext)).toBe(`error: context "elsewhere" does not exist in ${stack.kubeconfig}\n`);
      expect(fails(notInstalled)).toBe(
        `error: the API server at ${tls.url} (context "catalog") does not serve servicecatalog.k8s.io/v1beta1: is Service Catalog installed?\n`,
      );
    } finally {
      await tls.stop();
    }
  });
});
