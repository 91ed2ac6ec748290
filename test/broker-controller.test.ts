import {
  clusterServiceBrokerResource,
  clusterServiceClassResource,
  clusterServicePlanResource,
  serviceBrokerResource,
  serviceClassResource,
  serviceInstanceResource,
  servicePlanResource,
  type ClusterServiceBroker,
  type ServiceBroker,
} from '../api-types';
import { namespaceResource, secretResource } from '../api-types/core';
import {
  startClusterServiceBrokerController,
  startServiceBrokerController,
} from '../controller-manager/controllers/broker';
import { escapedName, validateCatalog } from '../controller-manager/controllers/catalog';
import type { Catalog, ServiceOffering, ServicePlan } from '../pkg/osb';
import { eventually } from './harness';
import { condition, ControllerEnv, draft04, GROUP, plan, type Obj } from './harness/controllers';
import { type ResourceType } from '../api-types/resource';

type Broker = (ClusterServiceBroker | ServiceBroker) & Obj;

let suite: ControllerEnv;

beforeAll(async () => {
  suite = await ControllerEnv.start({
    controllers: [startClusterServiceBrokerController, startServiceBrokerController],
    // backoff 1 s, 2 s, 2 s...: failed attempts come back quickly in tests
    options: { osbApiRequestTimeoutMs: 10_000, operationPollingMaximumBackoffMs: 2000 },
  });
}, 60_000);

afterAll(async () => {
  await suite?.stop();
});

function offering(
  id: string,
  name: string,
  plans: ServicePlan[],
  extra: Partial<ServiceOffering> = {},
): ServiceOffering {
  return { id, name, description: `offering ${name}`, bindable: true, plans, ...extra };
}

/** A catalog whose ids all start with `p` (classes are cluster-wide: tests must not share ids). */
function simpleCatalog(p: string, offerings = 2, plansEach = 2): Catalog {
  return {
    services: Array.from({ length: offerings }, (_, i) =>
      offering(
        `${p}-svc-${i}`,
        `${p}-svc-${i}`,
        Array.from({ length: plansEach }, (_, j) => plan(`${p}-plan-${i}-${j}`, `plan-${j}`)),
      ),
    ),
  };
}

async function waitCondition(
  name: string,
  reason: string,
  namespace?: string,
  type: ResourceType = clusterServiceBrokerResource,
) {
  return eventually(async () => {
    const b = await suite.api.get<Broker>(type, namespace, name);
    const c = condition(b, 'Ready');
    return c?.reason === reason && c;
  });
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('catalog helpers', () => {
  it('escapes OSB ids into Kubernetes names like the original', () => {
    expect(escapedName('3f1c5a2e-7d4b-4c8e-9a61-0b2d6e8f1a01')).toBe('3f1c5a2e-7d4b-4c8e-9a61-0b2d6e8f1a01');
    expect(escapedName('My_Svc.z')).toBe('z4dzyz5fzz53zvc.z7az');
    expect(escapedName('-a.-b..c-')).toBe('z2dza.z2dzb.z2ezcz2dz');
    const long = escapedName('x'.repeat(80));
    expect(long).toMatch(/^x{30}-[0-9a-f]{32}$/);
    expect(long.length).toBeLessThanOrEqual(63);
  });

  it('lists every violation of a catalog', () => {
    const problems = validateCatalog({
      services: [
        offering('dup-id', 'same', [
          plan('p1', 'a'),
          plan('p2', 'a', { maintenance_info: { version: '1.0' } }),
        ]),
        offering('dup-id', 'same', [], { description: '' }),
        offering('ok', 'ok', [
          plan('p1', 'b', {
            schemas: {
              service_instance: {
                create: { parameters: { type: 'object' } },
                update: { parameters: { $schema: draft04, type: 'bogus' } },
              },
              service_binding: {
                create: { parameters: { $schema: draft04, $ref: 'http://example.com/s.json' } },
              },
            },
          }),
        ]),
      ],
    });
    const text = problems.join('\n');
    expect(text).toContain('services[1] ("same"): name "same" is also the name of services[0]');
    expect(text).toContain('services[1] ("same"): id "dup-id" is also the id of services[0]');
    expect(text).toContain('services[1] ("same"): description must be a non-empty string');
    expect(text).toContain('services[1] ("same"): must have at least one plan');
    expect(text).toContain('services[0].plans[1] ("a"): name "a" is also the name of plans[0]');
    expect(text).toContain('maintenance_info.version "1.0" is not a semantic version');
    expect(text).toContain('services[2].plans[0] ("b"): id "p1" is also the id of services[0].plans[0]');
    expect(text).toContain('schemas.service_instance.create.parameters has no $schema');
    expect(text).toContain('schemas.service_instance.update.parameters is not a valid draft-04 JSON Schema');
    expect(text).toContain(
      'schemas.service_binding.create.parameters has external references ("http://example.com/s.json")',
    );
    expect(problems).toHaveLength(10);
  });

  it('accepts schemas of every draft from 04 to 2020-12', () => {
    const drafts = [
      draft04,
      'http://json-schema.org/draft-06/schema#',
      'http://json-schema.org/draft-07/schema#',
      'https://json-schema.org/draft/2019-09/schema',
      'https://json-schema.org/draft/2020-12/schema',
    ];
    const catalog = (property: string): Catalog => ({
      services: [
        offering(
          's',
          's',
          drafts.map((d, i) =>
            plan(`p${i}`, `p${i}`, {
              schemas: {
                service_instance: {
                  create: {
                    parameters: {
                      $schema: d,
                      $id: 'https://example.com/schemas/same.json',
                      type: 'object',
                      properties: { [property]: { type: 'string' } },
                    },
                  },
                },
              },
            }),
          ),
        ),
      ],
    });
    expect(validateCatalog(catalog('a'))).toEqual([]);
    // another schema with the same $id (the broker's next catalog) compiles too
    expect(validateCatalog(catalog('b'))).toEqual([]);
  });
});

describe('ClusterServiceBroker', () => {
  it('creates classes and plans with the catalog fields, owned by the broker', async () => {
    const createSchema = { $schema: draft04, type: 'object', properties: { size: { type: 'string' } } };
    const updateSchema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { size: { type: 'string' } },
    };
    const catalog: Catalog = {
      services: [
        offering(
          'Fields-DB',
          'fields-db',
          [
            plan('fields-small', 'small', {
              free: false,
              bindable: false,
              plan_updateable: true,
              metadata: { cost: 1 },
              maintenance_info: { version: '1.2.3', description: 'patch' },
              schemas: {
                service_instance: {
                  create: { parameters: createSchema },
                  update: { parameters: updateSchema },
                },
                service_binding: { create: { parameters: createSchema } },
              },
            }),
            plan('fields-large', 'large'),
          ],
          {
            tags: ['sql'],
            requires: ['volume_mount'],
            metadata: { displayName: 'DB' },
            bindings_retrievable: true,
            instances_retrievable: true,
            plan_updateable: true,
          },
        ),
        offering('fields-queue', 'fields-queue', [plan('fields-q', 'q')]),
      ],
    };
    const osb = await suite.startBroker({ catalog });
    const created = await suite.createClusterBroker('fields', osb.url);
    const b = await suite.brokerReady(clusterServiceBrokerResource, 'fields');

    const cond = condition(b, 'Ready')!;
    expect(cond).toMatchObject({
      status: 'True',
      reason: 'FetchedCatalog',
      message: 'Successfully fetched catalog entries from broker.',
    });
    const status = b.status as Record<string, unknown>;
    expect(status.operationStartTime).toBeUndefined();
    expect(Date.parse(String(status.lastCatalogRetrievalTime))).not.toBeNaN();
    expect(osb.requests('catalog')).toHaveLength(1);

    const owner = {
      apiVersion: GROUP,
      kind: 'ClusterServiceBroker',
      name: 'fields',
      uid: created.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    const classes = await suite.catalogEntries(clusterServiceClassResource, 'fields');
    expect(classes.map((c) => c.metadata.name)).toEqual(['z46zields-z44zz42z', 'fields-queue']);
    expect(classes[0].metadata.ownerReferences).toEqual([owner]);
    expect(classes[0].spec).toEqual({
      clusterServiceBrokerName: 'fields',
      externalName: 'fields-db',
      externalID: 'Fields-DB',
      description: 'offering fields-db',
      bindable: true,
      bindingRetrievable: true,
      planUpdatable: true,
      instancesRetrievable: true,
      allowContextUpdates: false,
      externalMetadata: { displayName: 'DB' },
      tags: ['sql'],
      requires: ['volume_mount'],
    });
    expect(classes[1].spec).toMatchObject({ planUpdatable: false, bindingRetrievable: false });

    const plans = await suite.catalogEntries(clusterServicePlanResource, 'fields');
    expect(plans.map((p) => p.metadata.name)).toEqual(['fields-large', 'fields-q', 'fields-small']);
    const small = plans[2];
    expect(small.metadata.ownerReferences).toEqual([owner]);
    expect(small.spec).toEqual({
      clusterServiceBrokerName: 'fields',
      clusterServiceClassRef: { name: 'z46zields-z44zz42z' },
      externalName: 'small',
      externalID: 'fields-small',
      description: 'plan small',
      free: false,
      bindable: false,
      planUpdatable: true,
      bindingRotatable: false,
      externalMetadata: { cost: 1 },
      instanceCreateParameterSchema: createSchema,
      instanceUpdateParameterSchema: updateSchema,
      serviceBindingCreateParameterSchema: createSchema,
      maintenanceInfo: { version: '1.2.3', description: 'patch' },
    });
    // free defaults to true (OSB), bindable unset means "as the class says"
    expect(plans[0].spec).toMatchObject({ free: true });
    expect(plans[0].spec).not.toHaveProperty('bindable');

    expect(await suite.gauge('servicecatalog_broker_service_class_count', { broker: 'fields' })).toBe(2);
    expect(await suite.gauge('servicecatalog_broker_service_plan_count', { broker: 'fields' })).toBe(3);
    await suite.waitEvent('default', 'fields', 'FetchedCatalog', 'Normal');

    // defaultProvisionParameters are the user's: a relist keeps them
    const cls = classes[1];
    await suite.api.update(clusterServiceClassResource, {
      ...cls,
      spec: { ...cls.spec, defaultProvisionParameters: { a: 1 } },
    });
    await suite.relist('fields');
    await suite.brokerReady(clusterServiceBrokerResource, 'fields');
    expect(osb.requests('catalog')).toHaveLength(2);
    const after = await suite.api.get<Obj>(clusterServiceClassResource, undefined, cls.metadata.name!);
    expect(after?.spec?.defaultProvisionParameters).toEqual({ a: 1 });
  });

  it('updates changed entries, flags vanished ones, deletes them once unused and un-flags returning ones', async () => {
    const before: Catalog = {
      services: [
        offering('chg-x', 'chg-x', [plan('chg-x1', 'x1'), plan('chg-x2', 'x2')]),
        offering('chg-y', 'chg-y', [plan('chg-y1', 'y1')]),
      ],
    };
    const after: Catalog = {
      services: [
        offering('chg-x', 'chg-x', [plan('chg-x1', 'x1', { description: 'changed' })], {
          description: 'new text',
        }),
      ],
    };
    const osb = await suite.startBroker({ catalog: before });
    await suite.createClusterBroker('chg', osb.url);
    await suite.brokerReady(clusterServiceBrokerResource, 'chg');

    // an instance on chg-y / y1 (references as the instance controller would record them)
    const base = '/apis/servicecatalog.k8s.io/v1beta1/namespaces/default/serviceinstances';
    const made = await suite.env.client.post(base, {
      apiVersion: GROUP,
      kind: 'ServiceInstance',
      metadata: { name: 'uses-y' },
      spec: { clusterServiceClassName: 'chg-y', clusterServicePlanName: 'chg-y1' },
    });
    expect(made.status).toBe(201);
    const referenced = await suite.env.client.put(`${base}/uses-y/reference`, {
      ...made.body,
      spec: {
        ...(made.body.spec as object),
        clusterServiceClassRef: { name: 'chg-y' },
        clusterServicePlanRef: { name: 'chg-y1' },
      },
    });
    expect(referenced.status).toBe(200);

    osb.script('catalog', { body: after });
    await suite.relist('chg');
    await suite.brokerReady(clusterServiceBrokerResource, 'chg');

    const x = await suite.api.get<Obj>(clusterServiceClassResource, undefined, 'chg-x');
    expect(x?.spec?.description).toBe('new text');
    expect(x?.status?.removedFromBrokerCatalog).toBeFalsy();
    const x1 = await suite.api.get<Obj>(clusterServicePlanResource, undefined, 'chg-x1');
    expect(x1?.spec?.description).toBe('changed');
    // x2 is used by nobody: flagged, then deleted
    await eventually(async () => !(await suite.api.get(clusterServicePlanResource, undefined, 'chg-x2')));
    // y and y1 are in use: flagged and kept
    const y = await eventually(async () => {
      const o = await suite.api.get<Obj>(clusterServiceClassResource, undefined, 'chg-y');
      return o?.status?.removedFromBrokerCatalog === true && o;
    });
    expect(y.metadata.deletionTimestamp).toBeUndefined();
    const y1 = await suite.api.get<Obj>(clusterServicePlanResource, undefined, 'chg-y1');
    expect(y1?.status?.removedFromBrokerCatalog).toBe(true);
    expect(await suite.gauge('servicecatalog_broker_service_plan_count', { broker: 'chg' })).toBe(1);

    // back in the catalog: the flag clears
    osb.script('catalog', { body: before });
    await suite.relist('chg');
    await suite.brokerReady(clusterServiceBrokerResource, 'chg');
    expect(
      (await suite.api.get<Obj>(clusterServiceClassResource, undefined, 'chg-y'))?.status
        ?.removedFromBrokerCatalog,
    ).toBe(false);
    expect(
      (await suite.api.get<Obj>(clusterServicePlanResource, undefined, 'chg-y1'))?.status
        ?.removedFromBrokerCatalog,
    ).toBe(false);
    expect(await suite.api.get(clusterServicePlanResource, undefined, 'chg-x2')).toBeDefined();

    // gone again, then the instance goes: the class and plan follow it
    osb.script('catalog', { body: after });
    await suite.relist('chg');
    await suite.brokerReady(clusterServiceBrokerResource, 'chg');
    await eventually(
      async () =>
        (await suite.api.get<Obj>(clusterServicePlanResource, undefined, 'chg-y1'))?.status
          ?.removedFromBrokerCatalog === true,
    );
    expect(await suite.api.get(clusterServiceClassResource, undefined, 'chg-y')).toBeDefined();
    await suite.api.delete(serviceInstanceResource, 'default', 'uses-y');
    const doomed = (await suite.api.get<Obj>(serviceInstanceResource, 'default', 'uses-y'))!;
    await suite.api.update(serviceInstanceResource, {
      ...doomed,
      metadata: { ...doomed.metadata, finalizers: [] },
    });
    await eventually(async () => !(await suite.api.get(clusterServiceClassResource, undefined, 'chg-y')));
    await eventually(async () => !(await suite.api.get(clusterServicePlanResource, undefined, 'chg-y1')));
  });

  it('applies catalog restrictions to classes and plans', async () => {
    const osb = await suite.startBroker({
      catalog: {
        services: [
          offering('rs-a', 'rs-a', [plan('rs-a-free', 'free'), plan('rs-a-paid', 'paid', { free: false })]),
          offering('rs-b', 'rs-b', [plan('rs-b-free', 'free')]),
          offering('rs-c', 'rs-c', [plan('rs-c-paid', 'paid', { free: false })]),
        ],
      },
    });
    await suite.createClusterBroker('rs', osb.url, {
      catalogRestrictions: {
        serviceClass: ['spec.externalName in (rs-a, rs-c)'],
        servicePlan: ['spec.free=true'],
      },
    });
    await suite.brokerReady(clusterServiceBrokerResource, 'rs');
    // rs-b fails the class predicate; rs-c has no plan left after the plan predicate
    expect(
      (await suite.catalogEntries(clusterServiceClassResource, 'rs')).map((c) => c.metadata.name),
    ).toEqual(['rs-a']);
    expect(
      (await suite.catalogEntries(clusterServicePlanResource, 'rs')).map((c) => c.metadata.name),
    ).toEqual(['rs-a-free']);
  });

  it('reports a missing basic auth Secret by name and recovers when it appears', async () => {
    const osb = await suite.startBroker({
      catalog: simpleCatalog('auth', 1, 1),
      auth: { basic: { username: 'alice', password: 's3cret' } },
    });
    await suite.createClusterBroker('auth', osb.url, {
      authInfo: { basic: { secretRef: { namespace: 'default', name: 'auth-creds' } } },
    });
    const cond = await waitCondition('auth', 'ErrorGettingAuthCredentials');
    expect(cond.status).toBe('False');
    expect(cond.message).toContain('Secret "default/auth-creds" not found');
    expect(osb.requests('catalog')).toHaveLength(0);
    await suite.waitEvent('default', 'auth', 'ErrorGettingAuthCredentials', 'Warning');

    await suite.api.create(secretResource, {
      metadata: { name: 'auth-creds', namespace: 'default' },
      stringData: { username: 'alice', password: 's3cret' },
    });
    await suite.brokerReady(clusterServiceBrokerResource, 'auth');
    const gets = osb.requests('catalog');
    expect(gets.length).toBeGreaterThanOrEqual(1);
    expect(gets.every((g) => g.headers.authorization === basic('alice', 's3cret'))).toBe(true);
    expect((await suite.catalogEntries(clusterServiceClassResource, 'auth')).length).toBe(1);
    await suite.waitEvent('default', 'auth', 'FetchedCatalog');
  });

  it('lists every violation of an invalid catalog and keeps the classes and plans it had', async () => {
    const good = simpleCatalog('inv', 2, 2);
    const osb = await suite.startBroker({ catalog: good });
    await suite.createClusterBroker('inv', osb.url);
    await suite.brokerReady(clusterServiceBrokerResource, 'inv');
    const classesBefore = await suite.catalogEntries(clusterServiceClassResource, 'inv');
    const plansBefore = await suite.catalogEntries(clusterServicePlanResource, 'inv');

    osb.script('catalog', {
      body: {
        services: [
          offering('inv-svc-0', 'inv-svc-0', [plan('inv-plan-0-0', 'dup'), plan('inv-plan-0-1', 'dup')]),
          offering('inv-svc-1', 'inv-svc-0', [], { description: '' }),
          offering('inv-svc-2', 'inv-svc-2', [
            plan('inv-plan-2-0', 'p', {
              maintenance_info: { version: 'v1' },
              schemas: { service_instance: { create: { parameters: { type: 'object' } } } },
            }),
          ]),
        ],
      },
    });
    await suite.relist('inv');
    const cond = await waitCondition('inv', 'InvalidCatalog');
    expect(cond.status).toBe('False');
    for (const part of [
      'services[0].plans[1] ("dup"): name "dup" is also the name of plans[0] of the same offering',
      'services[1] ("inv-svc-0"): name "inv-svc-0" is also the name of services[0]',
      'services[1] ("inv-svc-0"): description must be a non-empty string',
      'services[1] ("inv-svc-0"): must have at least one plan',
      'services[2].plans[0] ("p"): maintenance_info.version "v1" is not a semantic version',
      'services[2].plans[0] ("p"): schemas.service_instance.create.parameters has no $schema',
    ]) {
      expect(cond.message).toContain(part);
    }
    expect(cond.message).toContain('(6 problems)');
    const strip = (o: Obj) => ({ name: o.metadata.name, rv: o.metadata.resourceVersion });
    expect((await suite.catalogEntries(clusterServiceClassResource, 'inv')).map(strip)).toEqual(
      classesBefore.map(strip),
    );
    expect((await suite.catalogEntries(clusterServicePlanResource, 'inv')).map(strip)).toEqual(
      plansBefore.map(strip),
    );
    await suite.waitEvent('default', 'inv', 'InvalidCatalog', 'Warning');

    // not even the shape of a catalog: every schema violation, still InvalidCatalog
    osb.script('catalog', { body: { services: [{ id: 'x', name: 'x', plans: [{ id: 'y', name: 'y' }] }] } });
    await suite.relist('inv');
    const shape = await eventually(async () => {
      const c = condition(
        await suite.api.get<Broker>(clusterServiceBrokerResource, undefined, 'inv'),
        'Ready',
      );
      return c?.reason === 'InvalidCatalog' && c.message?.includes('required property') && c;
    });
    expect(shape.message).toContain("must have required property 'bindable'");
    expect(shape.message).toContain("body/services/0/plans/0 must have required property 'description'");
    expect((await suite.catalogEntries(clusterServiceClassResource, 'inv')).map(strip)).toEqual(
      classesBefore.map(strip),
    );

    osb.script('catalog', { body: good });
    await suite.relist('inv');
    await suite.brokerReady(clusterServiceBrokerResource, 'inv');
  });

  it('reports a broker that cannot be reached and recovers with backoff', async () => {
    const osb = await suite.startBroker({ catalog: simpleCatalog('down', 1, 1) });
    // twice: the error stays on the broker for at least one backoff step
    osb.script('catalog', { status: 500, times: 2 });
    await suite.createClusterBroker('down', osb.url);
    const cond = await waitCondition('down', 'ErrorFetchingCatalog');
    expect(cond.message).toMatch(
      /^Error fetching catalog\. Error getting broker catalog: GetCatalog on broker down: HTTP 500/,
    );
    await eventually(async () => {
      const b = await suite.api.get<Broker>(clusterServiceBrokerResource, undefined, 'down');
      return (b?.status as { operationStartTime?: string })?.operationStartTime !== undefined;
    });
    const b = await suite.brokerReady(clusterServiceBrokerResource, 'down');
    expect((b.status as { operationStartTime?: string }).operationStartTime).toBeUndefined();
    // retried after 1 s, then 2 s (the test's cap), not at once
    const gets = osb.requests('catalog').map((g) => g.time.getTime());
    expect(gets).toHaveLength(3);
    expect(gets[1] - gets[0]).toBeGreaterThanOrEqual(950);
    expect(gets[2] - gets[1]).toBeGreaterThanOrEqual(1900);
    await suite.waitEvent('default', 'down', 'ErrorFetchingCatalog', 'Warning');
    expect(condition(b, 'Ready')!.lastTransitionTime).toBeDefined();
  });

  it('relists every relistDuration, never by itself when Manual, and on a relistRequests bump', async () => {
    const periodic = await suite.startBroker({ catalog: simpleCatalog('dur', 1, 1) });
    const manual = await suite.startBroker({ catalog: simpleCatalog('man', 1, 1) });
    await suite.createClusterBroker('man', manual.url, { relistBehavior: 'Manual' });
    await suite.createClusterBroker('dur', periodic.url, {
      relistBehavior: 'Duration',
      relistDuration: '1s',
    });
    await suite.brokerReady(clusterServiceBrokerResource, 'man');
    const readyAt = condition(
      await suite.brokerReady(clusterServiceBrokerResource, 'dur'),
      'Ready',
    )!.lastTransitionTime;
    await eventually(async () => periodic.requests('catalog').length >= 3, 10_000);
    // the periodic broker relisted twice meanwhile; the manual one was left alone
    expect(manual.requests('catalog')).toHaveLength(1);
    // relists that change nothing do not move the condition
    expect(
      condition(await suite.api.get<Broker>(clusterServiceBrokerResource, undefined, 'dur'), 'Ready')!
        .lastTransitionTime,
    ).toBe(readyAt);

    await suite.relist('man');
    await eventually(async () => manual.requests('catalog').length === 2);
    await suite.brokerReady(clusterServiceBrokerResource, 'man');
  });

  it('deletes its classes and plans, then its finalizer, when deleted', async () => {
    const osb = await suite.startBroker({ catalog: simpleCatalog('del', 3, 2) });
    await suite.createClusterBroker('del', osb.url);
    await suite.brokerReady(clusterServiceBrokerResource, 'del');
    expect(await suite.catalogEntries(clusterServiceClassResource, 'del')).toHaveLength(3);
    expect(await suite.catalogEntries(clusterServicePlanResource, 'del')).toHaveLength(6);

    await suite.api.delete(clusterServiceBrokerResource, undefined, 'del');
    await eventually(async () => !(await suite.api.get(clusterServiceBrokerResource, undefined, 'del')));
    expect(await suite.catalogEntries(clusterServiceClassResource, 'del')).toHaveLength(0);
    expect(await suite.catalogEntries(clusterServicePlanResource, 'del')).toHaveLength(0);
    await suite.waitEvent('default', 'del', 'DeletedClusterServiceBrokerSuccessfully');
    await eventually(
      async () =>
        (await suite.gauge('servicecatalog_broker_service_class_count', { broker: 'del' })) === undefined,
    );
  });
});

describe('ServiceBroker', () => {
  it('creates ServiceClasses and ServicePlans in its namespace, with bearer auth from a Secret there', async () => {
    const ns = 'team-a';
    await suite.api.create(namespaceResource, { metadata: { name: ns } });
    const osb = await suite.startBroker({
      catalog: simpleCatalog('nsb', 2, 1),
      auth: { bearer: { token: 'tkn-123' } },
    });
    const created = await suite.api.create<Broker>(serviceBrokerResource, {
      metadata: { name: 'nsb', namespace: ns },
      spec: { url: osb.url, authInfo: { bearer: { secretRef: { name: 'nsb-token' } } } },
    });
    const cond = await waitCondition('nsb', 'ErrorGettingAuthCredentials', ns, serviceBrokerResource);
    expect(cond.message).toContain(`Secret "${ns}/nsb-token" not found`);
    await suite.waitEvent(ns, 'nsb', 'ErrorGettingAuthCredentials');

    await suite.api.create(secretResource, {
      metadata: { name: 'nsb-token', namespace: ns },
      stringData: { token: 'tkn-123' },
    });
    await suite.brokerReady(serviceBrokerResource, 'nsb', ns);
    expect(osb.requests('catalog').every((g) => g.headers.authorization === 'Bearer tkn-123')).toBe(true);

    const classes = await suite.catalogEntries(serviceClassResource, 'nsb', ns);
    expect(classes.map((c) => [c.metadata.namespace, c.metadata.name])).toEqual([
      [ns, 'nsb-svc-0'],
      [ns, 'nsb-svc-1'],
    ]);
    expect(classes[0].metadata.ownerReferences).toEqual([
      {
        apiVersion: GROUP,
        kind: 'ServiceBroker',
        name: 'nsb',
        uid: created.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(classes[0].spec).toMatchObject({ serviceBrokerName: 'nsb', externalID: 'nsb-svc-0' });
    const plans = await suite.catalogEntries(servicePlanResource, 'nsb', ns);
    expect(
      plans.map((p) => [
        p.metadata.namespace,
        p.metadata.name,
        (p.spec?.serviceClassRef as { name: string }).name,
      ]),
    ).toEqual([
      [ns, 'nsb-plan-0-0', 'nsb-svc-0'],
      [ns, 'nsb-plan-1-0', 'nsb-svc-1'],
    ]);
    expect(await suite.gauge('servicecatalog_broker_service_class_count', { broker: `${ns}/nsb` })).toBe(2);
    // nothing cluster-scoped
    expect(await suite.catalogEntries(clusterServiceClassResource, 'nsb')).toHaveLength(0);

    await suite.api.delete(serviceBrokerResource, ns, 'nsb');
    await eventually(async () => !(await suite.api.get(serviceBrokerResource, ns, 'nsb')));
    expect(await suite.catalogEntries(serviceClassResource, 'nsb', ns)).toHaveLength(0);
    expect(await suite.catalogEntries(servicePlanResource, 'nsb', ns)).toHaveLength(0);
  });
});
