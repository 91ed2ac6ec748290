import {
  clusterServiceBrokerResource,
  serviceBindingResource,
  serviceInstanceResource,
  type ServiceInstance,
} from '../api-types';
import { DEFAULT_IDS, type ScriptedBroker } from '../brokers/scripted';
import { namespaceResource } from '../api-types/core';
import { eventually } from './harness';
import { condition } from './harness/controllers';
import { fails, ok, SvcatStack } from './harness/svcat';

/**
 * svcat's --wait, --timeout, --abandon and touch against the controllers and the scripted broker:
 * success, a broker's refusal, a timeout, deletions blocked and abandoned. Every test works on
 * instances of its own.
 */

let stack: SvcatStack;
let broker: ScriptedBroker;

const svcat = (...args: string[]) => stack.svcat(args);
const fast = ['--interval', '100ms'];
const instance = (name: string) => stack.api.get<ServiceInstance>(serviceInstanceResource, 'default', name);
const binding = (name: string) => stack.api.get(serviceBindingResource, 'default', name);
/** Provisioning on the asynchronous queue plan, waited for. */
const provisionQueue = (name: string) => [
  'provision',
  name,
  '--class',
  'scripted-queue',
  '--plan',
  'async',
  '--wait',
  ...fast,
];
/** An instance of the synchronous database plan, waited for. */
const provisionDatabase = (name: string) =>
  svcat(
    'provision',
    name,
    '--class',
    'scripted-database',
    '--plan',
    'small',
    '-p',
    'size=s',
    '--wait',
    ...fast,
  );

beforeAll(async () => {
  stack = await SvcatStack.start();
  broker = await stack.registerBroker('scripted');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

it('waits for an asynchronous provision, one plain line per change off a terminal', async () => {
  const r = await svcat(...provisionQueue('queue'));
  expect(ok(r)).toMatch(
    /^Name: +queue\nNamespace: +default\nStatus: +Ready - The instance was provisioned successfully @ /,
  );
  const lines = r.stderr.trim().split('\n');
  expect(lines[lines.length - 1]).toMatch(
    /^instance default\/queue: ProvisionedSuccessfully - The instance was provisioned successfully \(\d+s\)$/,
  );
  expect(lines).toEqual(
    expect.arrayContaining([expect.stringMatching(/^instance default\/queue: Provisioning - /)]),
  );
  // one line per change: no line repeats the one before it
  expect(
    lines.every((l, i) => i === 0 || l.replace(/ \(\d+s\)$/, '') !== lines[i - 1].replace(/ \(\d+s\)$/, '')),
  ).toBe(true);
});

it('shows a spinner with the state and the time waited on a terminal', async () => {
  const r = await stack.svcatOnTerminal(provisionQueue('on-tty'));
  expect(ok(r)).toContain('\r\x1b[2K⠙ instance default/on-tty: ');
  expect(r.stdout).toMatch(
    /✔ instance default\/on-tty: ProvisionedSuccessfully - The instance was provisioned successfully \(\d+s\)\r?\n/,
  );
});

it('fails with the broker reason when the provision fails, and touch retries it', async () => {
  broker.script('provision', {
    planId: DEFAULT_IDS.database.large,
    status: 400,
    error: 'NoCapacity',
    description: 'No large servers left',
    times: 1,
  });
  const r = await svcat(
    'provision',
    'refused',
    '--class',
    'scripted-database',
    '--plan',
    'large',
    '--wait',
    ...fast,
  );
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split('\n').pop()).toMatch(
    /^error: instance default\/refused failed: ClusterServiceBrokerReturnedFailure: Error provisioning .*HTTP 400 \(NoCapacity: No large servers left\); fix the spec to retry$/,
  );
  expect(r.stdout).toBe('');
  const touched = await svcat('touch', 'instance', 'refused', '--wait', ...fast);
  expect(ok(touched)).toBe('touched instance default/refused (updateRequests 1)\n');
  expect(condition(await instance('refused'), 'Ready')?.status).toBe('True');
});

it('times out with the last state it saw', async () => {
  broker.script('provision', { planId: DEFAULT_IDS.queue.async, async: { inProgressPolls: 1000 }, times: 1 });
  const started = Date.now();
  const r = await svcat(
    'provision',
    'slow',
    '--class',
    'scripted-queue',
    '--plan',
    'async',
    '--wait',
    '--timeout',
    '3s',
    ...fast,
  );
  expect(r.code).toBe(1);
  expect(Date.now() - started).toBeLessThan(20_000);
  expect(r.stderr.trim().split('\n').pop()).toBe(
    'error: timed out after 3s waiting for instance default/slow; last state: Provisioning: The instance is being provisioned asynchronously',
  );
  const [badTimeout, badInterval] = await Promise.all([
    svcat('deprovision', 'slow', '--wait', '--timeout', 'soon'),
    svcat('deprovision', 'slow', '--wait', '--interval', '0s'),
  ]);
  expect(fails(badTimeout)).toBe('error: invalid --timeout "soon": want a duration such as 30s, 5m or 1h\n');
  expect(fails(badInterval)).toBe('error: --interval must be more than 0\n');
});

it('says what blocks a deprovision, and unbind --wait returns once every binding is gone', async () => {
  ok(await provisionDatabase('shared'));
  await Promise.all(
    ['app-a', 'app-b'].map(async (n) => ok(await svcat('bind', 'shared', '--name', n, '--wait', ...fast))),
  );
  // without --wait the deletion is only asked for
  expect(ok(await svcat('deprovision', 'shared'))).toBe('deleted shared\n');
  await eventually(
    async () =>
      condition(await instance('shared'), 'Ready')?.reason === 'DeprovisionBlockedByExistingCredentials',
  );
  // waiting again on the deletion in progress: the timeout says what holds it up
  const blocked = await svcat('deprovision', 'shared', '--wait', '--timeout', '1s', ...fast);
  expect(fails(blocked).trim().split('\n').pop()).toBe(
    'error: timed out after 1s waiting for instance default/shared; last state: DeprovisionBlockedByExistingCredentials: All associated ServiceBindings must be removed before this ServiceInstance can be deleted (app-a, app-b)',
  );
  const unbound = await svcat('unbind', 'shared', '--wait', ...fast);
  expect(ok(unbound)).toBe('deleted app-a\ndeleted app-b\n');
  expect([await binding('app-a'), await binding('app-b')]).toEqual([undefined, undefined]);
  // the instance, already being deleted, goes now that its bindings are gone
  await eventually(async () => !(await instance('shared')));
});

it('deprovisions and unbinds by name, waiting until the broker has done it', async () => {
  ok(await svcat(...provisionQueue('short-lived')));
  ok(await svcat('bind', 'short-lived', '--wait', ...fast));
  expect(ok(await svcat('unbind', '--name', 'short-lived', '--wait', ...fast))).toBe('deleted short-lived\n');
  expect(ok(await svcat('deprovision', 'short-lived', '--wait', ...fast))).toBe('deleted short-lived\n');
  expect(await instance('short-lived')).toBeUndefined();
  const id = broker.requests('deprovision').pop()?.instanceId;
  expect(broker.instance(id ?? '')).toBeUndefined();
});

it('abandons an instance and a binding whose broker refuses to let go, asking first', async () => {
  ok(await provisionDatabase('stuck'));
  ok(await svcat('bind', 'stuck', '--wait', ...fast));
  broker.script('unbind', {
    planId: DEFAULT_IDS.database.small,
    status: 500,
    description: 'broker is broken',
  });
  broker.script('deprovision', {
    planId: DEFAULT_IDS.database.small,
    status: 500,
    description: 'broker is broken',
  });
  const wedged = await svcat('unbind', 'stuck', '--wait', '--timeout', '1s', ...fast);
  expect(fails(wedged).trim().split('\n').pop()).toMatch(
    /^error: timed out after 1s waiting for binding default\/stuck; last state: /,
  );

  const declined = await stack.svcat(['unbind', 'stuck', '--abandon'], { stdin: 'n\n' });
  expect(fails(declined)).toContain(
    'error: aborted: nothing was abandoned (pass --yes to skip the question)\n',
  );
  expect(await binding('stuck')).toBeDefined();

  const unbind = await stack.svcat(['unbind', 'stuck', '--abandon', '--wait', ...fast], { stdin: 'y\n' });
  expect(ok(unbind)).toBe('deleted stuck\n');
  expect(unbind.stderr).toContain('Are you sure? [y|n]: ');
  expect(await binding('stuck')).toBeUndefined();

  const deprovision = await svcat('deprovision', 'stuck', '--abandon', '--yes', '--wait', ...fast);
  expect(ok(deprovision)).toBe('deleted stuck\n');
  expect(await instance('stuck')).toBeUndefined();
  // the broker still has it: abandoning skips the broker
  expect(broker.instances().length).toBeGreaterThan(0);
});

it('waits for a registered broker, and times out on one that cannot be reached', async () => {
  await stack.api.create(namespaceResource, { metadata: { name: 'brokers' } });
  const ready = await svcat(
    'register',
    'second',
    '--url',
    broker.url,
    '-n',
    'brokers',
    '--wait',
    '--timeout',
    '20s',
    ...fast,
  );
  expect(ok(ready)).toMatch(/^Name: +second\nScope: +namespace\nNamespace: +brokers\n/);
  const unreachable = await svcat(
    'register',
    'nowhere',
    '--url',
    'http://127.0.0.1:1',
    '--scope',
    'cluster',
    '--wait',
    '--timeout',
    '3s',
    ...fast,
  );
  expect(fails(unreachable).trim().split('\n').pop()).toMatch(
    /^error: timed out after 3s waiting for broker nowhere; last state: ErrorFetchingCatalog: .*ECONNREFUSED/,
  );
  const [a, b] = await Promise.all([
    svcat('deregister', 'second', '-n', 'brokers', '--wait', '--timeout', '20s', ...fast),
    svcat('deregister', 'nowhere', '--wait', '--timeout', '20s', ...fast),
  ]);
  expect([ok(a), ok(b)]).toEqual([
    'Successfully removed broker "second"\n',
    'Successfully removed broker "nowhere"\n',
  ]);
  expect(await stack.api.get(clusterServiceBrokerResource, undefined, 'nowhere')).toBeUndefined();
});
