import {
  clusterServicePlanResource,
  serviceBindingResource,
  serviceBrokerResource,
  serviceInstanceResource,
  servicePlanResource,
  type ServiceBinding,
} from '../api-types';
import { secretResource } from '../api-types/core';
import { buildParameters, ParametersError } from '../controller-manager/controllers/parameters';
import { KubeError } from '../pkg/kube/client';
import { eventually } from './harness';
import { condition, draft04, type Obj, controllerSuite } from './harness/controllers';
import { checksum, Fixture, gaps, startSuite, testCatalog } from './instance-fixture';
import { parametersSchemaViolations } from '../pkg/servicecatalog/parameters-schema';

const suite = controllerSuite(startSuite);

afterEach(() => {
  // a well-behaved platform leaves a strict broker nothing to complain about
  for (const b of suite.brokers) expect(b.violations()).toEqual([]);
});

/** What the binding controller would do once a binding is deleted: let it go. */
async function releaseBinding(f: Fixture, name: string): Promise<void> {
  const b = await eventually(async () => {
    const got = await suite.api.get<ServiceBinding>(serviceBindingResource, f.namespace, name);
    return got?.metadata.deletionTimestamp ? got : undefined;
  });
  await suite.api.update(serviceBindingResource, { ...b, metadata: { ...b.metadata, finalizers: [] } });
}

describe('provisioning', () => {
  it('H1-H4, H6, P1, P2: sends the OSB fields and headers, and records the outcome in status with Events', async () => {
    const f = await Fixture.create(suite, 'sync', {
      auth: { basic: { username: 'alice', password: 's3cret' } },
    });
    // H6: fields the spec does not define are ignored
    f.broker.script('provision', {
      planId: f.ids.plans.small,
      status: 201,
      body: { dashboard_url: 'https://dash.example/sync', vendor_extension: { x: 1 } },
    });
    await f.createSecret('creds', { extra: JSON.stringify({ name: 'from-secret' }) });
    await f.instance('db', {
      parameters: { size: 'm' },
      parametersFrom: [{ secretKeyRef: { name: 'creds', key: 'extra' } }],
    });
    const inst = await f.waitReady('db');

    const [put] = f.requests('provision', inst);
    expect(f.requests('provision', inst)).toHaveLength(1);
    expect(put.query).toEqual({ accepts_incomplete: 'true' });
    expect(put.body).toEqual({
      service_id: f.ids.db,
      plan_id: f.ids.plans.small,
      organization_guid: await suite.clusterId(),
      space_guid: f.namespaceUID,
      context: {
        platform: 'kubernetes',
        namespace: f.namespace,
        clusterid: await suite.clusterId(),
        instance_name: 'db',
      },
      parameters: { size: 'm', name: 'from-secret' },
    });
    // H1, H2, H4 on every request (the catalog fetch included)
    const all = f.broker.journal;
    for (const e of all) {
      expect(e.headers['x-broker-api-version']).toBe('2.17');
      expect(e.headers.authorization).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
      expect(e.headers['x-broker-api-request-identity']).toMatch(/\S/);
    }
    expect(new Set(all.map((e) => e.headers['x-broker-api-request-identity'])).size).toBe(all.length);
    // H3: the user who wrote the spec, platform word as in context
    const user = inst.spec!.userInfo!;
    expect(put.originatingIdentity).toEqual({
      platform: 'kubernetes',
      value: {
        username: user.username,
        uid: user.uid ?? '',
        groups: user.groups ?? [],
        extra: user.extra ?? {},
      },
    });

    // P2 and the status fields
    expect(inst.spec).toMatchObject({
      clusterServiceClassRef: { name: f.ids.db },
      clusterServicePlanRef: { name: f.ids.plans.small },
    });
    const s = inst.status!;
    expect(condition(inst, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'ProvisionedSuccessfully',
      message: 'The instance was provisioned successfully',
    });
    expect(condition(inst, 'Failed')).toBeUndefined();
    expect(s).toMatchObject({
      currentOperation: '',
      provisionStatus: 'Provisioned',
      deprovisionStatus: 'Required',
      dashboardURL: 'https://dash.example/sync',
      observedGeneration: inst.metadata.generation,
      reconciledGeneration: inst.metadata.generation,
    });
    for (const gone of ['inProgressProperties', 'operationStartTime', 'asyncOpInProgress', 'lastOperation']) {
      expect(s).not.toHaveProperty(gone);
    }
    expect(s.externalProperties).toEqual({
      clusterServicePlanExternalName: 'small',
      clusterServicePlanExternalID: f.ids.plans.small,
      parameters: { size: 'm', name: '<redacted>' },
      parameterChecksum: checksum({ size: 'm', name: 'from-secret' }),
      userInfo: user,
    });
    expect((await f.waitEvent('db', 'ProvisionRequestInFlight')).type).toBe('Normal');
    expect((await f.waitEvent('db', 'ProvisionedSuccessfully')).type).toBe('Normal');
  });

  it('resolves references in every style, cluster-scoped and namespaced, through the reference subresource', async () => {
    const f = await Fixture.create(suite, 'refs');
    await suite.api.create(serviceBrokerResource, {
      metadata: { name: 'nsb', namespace: f.namespace },
      spec: { url: f.broker.url },
    });
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      [
        'by-cluster-id',
        { clusterServiceClassExternalID: f.ids.db, clusterServicePlanExternalID: f.ids.plans.small },
        { clusterServiceClassRef: { name: f.ids.db }, clusterServicePlanRef: { name: f.ids.plans.small } },
      ],
      [
        'by-cluster-name',
        { clusterServiceClassName: f.ids.db, clusterServicePlanName: f.ids.plans.large },
        { clusterServiceClassRef: { name: f.ids.db }, clusterServicePlanRef: { name: f.ids.plans.large } },
      ],
      [
        'by-ns-external-name',
        { serviceClassExternalName: `refs-db`, servicePlanExternalName: 'small' },
        { serviceClassRef: { name: f.ids.db }, servicePlanRef: { name: f.ids.plans.small } },
      ],
      [
        'by-ns-id',
        { serviceClassExternalID: f.ids.queue, servicePlanExternalID: f.ids.plans.async },
        { serviceClassRef: { name: f.ids.queue }, servicePlanRef: { name: f.ids.plans.async } },
      ],
      [
        'by-ns-name',
        { serviceClassName: f.ids.db, servicePlanName: f.ids.plans.fixed },
        { serviceClassRef: { name: f.ids.db }, servicePlanRef: { name: f.ids.plans.fixed } },
      ],
    ];
    // the namespaced classes and plans first (DefaultServicePlan and the schema check look them up)
    await eventually(async () => {
      const { items } = await suite.api.list(servicePlanResource, f.namespace);
      return items.length === 5;
    }, 20_000);
    for (const [name, spec] of cases) {
      await suite.api.create(serviceInstanceResource, {
        metadata: { name, namespace: f.namespace },
        spec: { ...spec, parameters: { size: 's' } },
      });
    }
    for (const [name, , refs] of cases) {
      const inst = await f.waitReady(name);
      expect(inst.spec).toMatchObject(refs);
      const planId = (refs.clusterServicePlanRef ?? refs.servicePlanRef) as { name: string };
      expect(f.requests('provision', inst)[0].body).toMatchObject({ plan_id: planId.name });
      const props = inst.status!.externalProperties!;
      if (refs.servicePlanRef) expect(props.servicePlanExternalID).toBe(planId.name);
      else expect(props.clusterServicePlanExternalID).toBe(planId.name);
    }
  });

  it('reports missing classes and plans, and provisions once they exist', async () => {
    const f = await Fixture.create(suite, 'late', { register: false });
    await f.instance('early');
    const missing = await f.waitReason('early', 'Ready', 'ReferencesNonexistentServiceClass');
    expect(condition(missing, 'Ready')!.status).toBe('False');
    expect(condition(missing, 'Ready')!.message).toContain('ClusterServiceClass (ExternalName: "late-db")');
    expect((await f.waitEvent('early', 'ReferencesNonexistentServiceClass')).type).toBe('Warning');

    await f.register();
    await f.waitReady('early');
    await f.instance('wrong-plan', { clusterServicePlanExternalName: 'nope' });
    const noPlan = await f.waitReason('wrong-plan', 'Ready', 'ReferencesNonexistentServicePlan');
    expect(condition(noPlan, 'Ready')!.message).toContain('(ExternalName: "nope")');
    expect(f.broker.requests('provision', { instanceId: noPlan.spec!.externalID })).toHaveLength(0);
    // the user fixes the plan: resolved and provisioned
    await f.patchSpec('wrong-plan', { clusterServicePlanExternalName: 'large', parameters: null });
    const fixed = await f.waitReady('wrong-plan');
    expect(fixed.spec!.clusterServicePlanRef).toEqual({ name: f.ids.plans.large });
  });

  it('C3: refuses new instances on a plan removed from the catalog and keeps existing ones working', async () => {
    const f = await Fixture.create(suite, 'rm');
    await f.instance('keep');
    await f.waitReady('keep');
    const catalog = testCatalog('rm');
    catalog.services[0].plans = catalog.services[0].plans.filter((p) => p.name !== 'small');
    f.broker.script('catalog', { body: catalog });
    await suite.relist('rm');
    // the controller's cache too, or it would (rightly) still take the plan as offered
    const cached = suite.manager.informers.for<Obj>(clusterServicePlanResource);
    await eventually(
      async () => cached.get(undefined, f.ids.plans.small)?.status?.removedFromBrokerCatalog === true,
    );

    await f.instance('new');
    const refused = await f.waitReason('new', 'Failed', 'ReferencesDeletedServicePlan');
    expect(condition(refused, 'Failed')!.status).toBe('True');
    expect(condition(refused, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ReferencesDeletedServicePlan',
    });
    expect(condition(refused, 'Ready')!.message).toContain('has been deleted; cannot provision.');
    expect(f.requests('provision', refused)).toHaveLength(0);

    // parameters of the existing instance can still change
    await f.patchSpec('keep', { parameters: { size: 'm' } });
    const kept = await f.waitReason('keep', 'Ready', 'InstanceUpdatedSuccessfully');
    expect(f.requests('update', kept).map((e) => e.body)).toMatchObject([{ parameters: { size: 'm' } }]);
  });
});

describe('asynchronous operations and polling', () => {
  it('P3, L1-L3: stores operation and dashboard_url from the 202, polls with the ids and the operation, honours Retry-After', async () => {
    const f = await Fixture.create(suite, 'async');
    const operation = 'op/1 &x=y';
    f.broker.script('provision', {
      planId: f.ids.plans.async,
      async: { operation, inProgressPolls: 2, retryAfter: 1 },
    });
    await f.instance('q', {
      clusterServiceClassExternalName: 'async-queue',
      clusterServicePlanExternalName: 'async',
    });
    const polling = await f.waitFor('q', (i) => i.status?.asyncOpInProgress === true);
    expect(polling.status).toMatchObject({
      currentOperation: 'Provision',
      lastOperation: operation,
      dashboardURL: `${f.broker.url}/dashboard/${polling.spec!.externalID}`,
    });
    expect(condition(polling, 'Ready')).toMatchObject({ status: 'False', reason: 'Provisioning' });
    const inst = await f.waitReady('q');

    const polls = f.requests('lastOperation', inst);
    expect(polls).toHaveLength(3);
    for (const p of polls) {
      expect(p.query).toEqual({ service_id: f.ids.queue, plan_id: f.ids.plans.async, operation });
      expect(p.url).toContain('operation=op%2F1%20%26x%3Dy');
    }
    // the answers "in progress" carried Retry-After: 1
    for (const gap of gaps(polls)) expect(gap).toBeGreaterThanOrEqual(950);
    expect((await f.waitEvent('q', 'Provisioning')).type).toBe('Normal');
  });

  it('backs off exponentially between polls when the broker sends no Retry-After', async () => {
    const f = await Fixture.create(suite, 'expo');
    f.broker.script('provision', { planId: f.ids.plans.async, async: { inProgressPolls: 3 } });
    await f.instance('q', {
      clusterServiceClassExternalName: 'expo-queue',
      clusterServicePlanExternalName: 'async',
    });
    const inst = await f.waitReady('q');
    const polls = f.requests('lastOperation', inst);
    expect(polls).toHaveLength(4);
    // 200 ms, 400 ms, 800 ms (the test's cap)
    const [a, b, c] = gaps(polls);
    expect(a).toBeGreaterThanOrEqual(180);
    expect(b).toBeGreaterThanOrEqual(380);
    expect(c).toBeGreaterThanOrEqual(760);
  });

  it("L4: stops at the plan's maximum_polling_duration, fails the provision and mitigates the orphan", async () => {
    const f = await Fixture.create(suite, 'maxpoll');
    f.broker.script('provision', { planId: f.ids.plans.short, async: { inProgressPolls: 10_000 } });
    await f.instance('q', {
      clusterServiceClassExternalName: 'maxpoll-queue',
      clusterServicePlanExternalName: 'short',
    });
    const done = await f.waitFor(
      'q',
      (i) =>
        condition(i, 'OrphanMitigation')?.reason === 'OrphanMitigationSuccessful' &&
        !i.status?.currentOperation,
    );
    expect(condition(done, 'Failed')).toMatchObject({
      status: 'True',
      reason: 'ErrorReconciliationRetryTimeout',
    });
    expect(condition(done, 'Failed')!.message).toContain('maximum_polling_duration (1s)');
    expect(done.status).toMatchObject({ provisionStatus: 'NotProvisioned', deprovisionStatus: 'Succeeded' });
    const [del] = f.requests('deprovision', done);
    expect(del.query).toEqual({
      accepts_incomplete: 'true',
      service_id: f.ids.queue,
      plan_id: f.ids.plans.short,
    });
    expect(del.headers).not.toHaveProperty('x-broker-api-originating-identity');
    expect(f.requests('provision', done)).toHaveLength(1);
    expect(f.broker.instance(done.spec!.externalID!)).toBeUndefined();
    await f.waitEvent('q', 'StartingInstanceOrphanMitigation', 'Warning');
    await f.waitEvent('q', 'OrphanMitigationSuccessful', 'Normal');
  });

  it('L5, L7: keeps polling through 500, unparseable answers and a 410 during provisioning', async () => {
    const f = await Fixture.create(suite, 'flaky');
    const planId = f.ids.plans.async;
    f.broker.script('provision', { planId, async: { inProgressPolls: 3 } });
    // the latest rule wins: the first poll gets 500, the second garbage, the third 410
    f.broker.script('lastOperation', { planId, status: 410, body: {}, sideEffect: false, times: 1 });
    f.broker.script('lastOperation', { planId, malformed: true, sideEffect: false, times: 1 });
    f.broker.script('lastOperation', { planId, status: 500, times: 1 });
    await f.instance('q', {
      clusterServiceClassExternalName: 'flaky-queue',
      clusterServicePlanExternalName: 'async',
    });
    const inst = await f.waitReady('q');
    expect(
      f
        .requests('lastOperation', inst)
        .map((e) => e.status)
        .slice(0, 3),
    ).toEqual([500, 200, 410]);
    expect(f.requests('deprovision', inst)).toHaveLength(0);
    expect(f.requests('provision', inst)).toHaveLength(1);
    expect((await f.waitEvent('q', 'ErrorPollingLastOperation')).type).toBe('Warning');
  });

  it('L8: an asynchronous provision that fails is orphan-mitigated and stays failed', async () => {
    const f = await Fixture.create(suite, 'afail');
    f.broker.script('provision', {
      planId: f.ids.plans.async,
      async: { outcome: 'failed', description: 'out of capacity', inProgressPolls: 0 },
    });
    await f.instance('q', {
      clusterServiceClassExternalName: 'afail-queue',
      clusterServicePlanExternalName: 'async',
    });
    const done = await f.waitFor(
      'q',
      (i) => condition(i, 'OrphanMitigation')?.status === 'False' && !i.status?.currentOperation,
    );
    expect(condition(done, 'Failed')).toMatchObject({
      status: 'True',
      reason: 'ProvisionCallFailed',
      message: 'Provision call failed: out of capacity',
    });
    expect(done.status?.orphanMitigationInProgress).toBeUndefined();
    const dels = f.requests('deprovision', done);
    expect(dels.length).toBeGreaterThanOrEqual(1);
    expect(dels[0].headers).not.toHaveProperty('x-broker-api-originating-identity');
    // terminal: not provisioned again
    expect(f.requests('provision', done)).toHaveLength(1);
  });
});

describe('updating', () => {
  it('U1, U4: sends only the parameters that changed (a changed parametersFrom Secret too), previous_values, no plan_id, keeps dashboard_url', async () => {
    const f = await Fixture.create(suite, 'upd');
    await f.createSecret('s', { p: JSON.stringify({ name: 'one' }) });
    await f.instance('db', { parametersFrom: [{ secretKeyRef: { name: 's', key: 'p' } }] });
    const ready = await f.waitReady('db');
    const dashboard = ready.status!.dashboardURL;
    expect(dashboard).toBeDefined();

    await f.patchSpec('db', { parameters: { size: 'm' } });
    let inst = await f.waitFor(
      'db',
      (i) => f.requests('update', i).length === 1 && !i.status?.currentOperation,
    );
    const [first] = f.requests('update', inst);
    expect(first.query).toEqual({ accepts_incomplete: 'true' });
    expect(first.body).toEqual({
      service_id: f.ids.db,
      context: {
        platform: 'kubernetes',
        namespace: f.namespace,
        clusterid: await suite.clusterId(),
        instance_name: 'db',
      },
      parameters: { size: 'm' },
      previous_values: { plan_id: f.ids.plans.small },
    });
    inst = await f.waitReady('db');
    expect(condition(inst, 'Ready')!.reason).toBe('InstanceUpdatedSuccessfully');
    expect(inst.status!.dashboardURL).toBe(dashboard);
    expect(inst.status!.externalProperties!.parameters).toEqual({ size: 'm', name: '<redacted>' });

    // the Secret changes: only its values go, without a spec change
    await suite.api.patch(secretResource, f.namespace, 's', {
      stringData: { p: JSON.stringify({ name: 'two' }) },
    });
    inst = await f.waitFor(
      'db',
      (i) => f.requests('update', i).length === 2 && condition(i, 'Ready')?.status === 'True',
    );
    expect(f.requests('update', inst)[1].body).toMatchObject({ parameters: { name: 'two' } });
    expect(inst.status!.externalProperties!.parameterChecksum).toBe(checksum({ size: 'm', name: 'two' }));
    await f.waitEvent('db', 'InstanceUpdatedSuccessfully', 'Normal');
  });

  it('L1: a plan change sends plan_id and previous_values, and polls with the old plan_id', async () => {
    const f = await Fixture.create(suite, 'plan');
    await f.instance('db');
    await f.waitReady('db');
    f.broker.script('update', { planId: f.ids.plans.large, async: { operation: 'upd', inProgressPolls: 1 } });
    await f.patchSpec('db', { clusterServicePlanExternalName: 'large', parameters: null });
    const inst = await f.waitFor(
      'db',
      (i) =>
        i.status?.externalProperties?.clusterServicePlanExternalID === f.ids.plans.large &&
        condition(i, 'Ready')?.status === 'True',
    );
    const [patch] = f.requests('update', inst);
    expect(patch.body).toMatchObject({
      service_id: f.ids.db,
      plan_id: f.ids.plans.large,
      previous_values: { plan_id: f.ids.plans.small },
      maintenance_info: { version: '1.2.0' },
    });
    expect(patch.body).not.toHaveProperty('parameters');
    const polls = f.requests('lastOperation', inst);
    expect(polls.length).toBeGreaterThanOrEqual(2);
    for (const p of polls)
      expect(p.query).toEqual({ service_id: f.ids.db, plan_id: f.ids.plans.small, operation: 'upd' });
    expect(inst.spec!.clusterServicePlanRef).toEqual({ name: f.ids.plans.large });
    expect(inst.status).toMatchObject({ maintenanceInfo: { version: '1.2.0' } });
    expect(inst.status).not.toHaveProperty('upgradeAvailable');
  });

  it('U2: a plan change is refused at admission when the current plan (or else its class) is not plan_updateable', async () => {
    const f = await Fixture.create(suite, 'pu');
    await f.instance('fixed', { clusterServicePlanExternalName: 'fixed', parameters: null });
    await f.waitReady('fixed');
    // the plan says no, though its class says yes
    const refused = await suite.env.client.patch(
      `/apis/servicecatalog.k8s.io/v1beta1/namespaces/${f.namespace}/serviceinstances/fixed`,
      { spec: { clusterServicePlanExternalName: 'small', parameters: { size: 's' } } },
      'application/merge-patch+json',
    );
    expect(refused.status).toBe(403);
    expect((refused.body as unknown as { message: string }).message).toContain('does not allow plan changes');
    // the plan says yes, though its class says no
    await f.instance('short', {
      clusterServiceClassExternalName: 'pu-queue',
      clusterServicePlanExternalName: 'short',
    });
    await f.waitReady('short');
    await f.patchSpec('short', { clusterServicePlanExternalName: 'async' });
    const moved = await f.waitFor(
      'short',
      (i) => i.status?.externalProperties?.clusterServicePlanExternalName === 'async',
    );
    expect(f.requests('update', moved)[0].body).toMatchObject({ plan_id: f.ids.plans.async });
    const fixedInst = (await f.get('fixed'))!;
    expect(f.requests('update', fixedInst)).toHaveLength(0);
  });

  it('U5: a 400 is terminal until the spec changes; update_repeatable=false is not retried; instance_usable=false is recorded', async () => {
    const f = await Fixture.create(suite, 'ufail');
    await f.instance('db');
    await f.waitReady('db');
    f.broker.script('update', { status: 400, description: 'bad size', times: 1 });
    await f.patchSpec('db', { parameters: { size: 'l' } });
    let inst = await f.waitReason('db', 'Failed', 'UpdateInstanceCallFailed');
    expect(condition(inst, 'Ready')).toMatchObject({ status: 'False', reason: 'UpdateInstanceCallFailed' });
    expect(inst.status).toMatchObject({ currentOperation: '', provisionStatus: 'Provisioned' });
    expect(f.requests('update', inst)).toHaveLength(1);
    expect(f.requests('deprovision', inst)).toHaveLength(0);

    await f.bump('db');
    inst = await f.waitReady('db');
    expect(f.requests('update', inst).map((e) => e.body)).toMatchObject([
      { parameters: { size: 'l' } },
      { parameters: { size: 'l' } },
    ]);
    expect(condition(inst, 'Failed')).toMatchObject({ status: 'False' });

    f.broker.script('update', {
      status: 422,
      error: 'PlanLimit',
      description: 'cannot shrink',
      instanceUsable: false,
      updateRepeatable: false,
    });
    await f.patchSpec('db', { parameters: { size: 's' } });
    inst = await f.waitFor(
      'db',
      (i) => condition(i, 'Failed')?.status === 'True' && i.status?.instanceUsable === false,
    );
    expect(condition(inst, 'Failed')!.message).toContain('repeating it will not help');
    expect(f.requests('update', inst)).toHaveLength(3);
  });

  it('U6: exposes an available maintenance upgrade and performs it on an updateRequests bump', async () => {
    const f = await Fixture.create(suite, 'mnt', { register: false });
    // the first catalog has no maintenance_info on `large`
    f.broker.script('catalog', { body: testCatalog('mnt', { largeMaintenance: null }), times: 1 });
    await f.register();
    await f.instance('db', { clusterServicePlanExternalName: 'large', parameters: null });
    let inst = await f.waitReady('db');
    expect(f.requests('provision', inst)[0].body).not.toHaveProperty('maintenance_info');
    expect(inst.status).not.toHaveProperty('maintenanceInfo');

    await suite.relist('mnt');
    inst = await f.waitFor('db', (i) => i.status?.upgradeAvailable === true);
    expect(f.requests('update', inst)).toHaveLength(0);
    await f.bump('db');
    inst = await f.waitFor(
      'db',
      (i) => i.status?.maintenanceInfo?.version === '1.2.0' && condition(i, 'Ready')?.status === 'True',
    );
    expect(f.requests('update', inst)[0].body).toEqual({
      service_id: f.ids.db,
      context: expect.any(Object),
      previous_values: { plan_id: f.ids.plans.large },
      maintenance_info: { version: '1.2.0' },
    });
    expect(inst.status).not.toHaveProperty('upgradeAvailable');
  });

  it('MaintenanceInfoConflict: sends previous_values.maintenance_info, then has the catalog fetched again', async () => {
    const f = await Fixture.create(suite, 'mic');
    await f.instance('db', { clusterServicePlanExternalName: 'large', parameters: null });
    let inst = await f.waitReady('db');
    expect(f.requests('provision', inst)[0].body).toMatchObject({ maintenance_info: { version: '1.2.0' } });
    expect(inst.status!.maintenanceInfo).toEqual({ version: '1.2.0' });

    // the catalog claims 1.3.0 once; the broker itself still runs 1.2.0
    f.broker.script('catalog', { body: testCatalog('mic', { largeMaintenance: '1.3.0' }), times: 1 });
    await suite.relist('mic');
    inst = await f.waitFor('db', (i) => i.status?.upgradeAvailable === true);
    const catalogsBefore = f.broker.requests('catalog').length;
    await f.bump('db');
    inst = await f.waitFor(
      'db',
      (i) =>
        f.requests('update', i).length >= 1 &&
        condition(i, 'Ready')?.status === 'True' &&
        !i.status?.currentOperation,
    );
    const [upgrade, ...others] = f.requests('update', inst);
    expect(upgrade.body).toMatchObject({
      maintenance_info: { version: '1.3.0' },
      previous_values: { plan_id: f.ids.plans.large, maintenance_info: { version: '1.2.0' } },
    });
    expect(upgrade.status).toBe(422);
    // the controller asked for the catalog again (relistRequests) and gave up the stale upgrade;
    // with nothing else to change and no allow_context_updates, no second PATCH (U3)
    expect(f.broker.requests('catalog').length).toBeGreaterThan(catalogsBefore);
    expect(others).toEqual([]);
    expect(inst.status!.maintenanceInfo).toEqual({ version: '1.2.0' });
    await eventually(async () => !(await f.get('db'))!.status?.upgradeAvailable);
  });
});

describe('failures and parameters', () => {
  it('P4: a provision 400 is terminal without orphan mitigation; a spec change retries; deleting calls no broker', async () => {
    const f = await Fixture.create(suite, 'p400');
    f.broker.script('provision', { status: 400, description: 'no such size', times: 1 });
    await f.instance('db');
    let inst = await f.waitReason('db', 'Failed', 'ClusterServiceBrokerReturnedFailure');
    expect(condition(inst, 'Ready')).toMatchObject({ status: 'False', reason: 'ProvisionCallFailed' });
    expect(inst.status).toMatchObject({
      currentOperation: '',
      provisionStatus: 'NotProvisioned',
      deprovisionStatus: 'NotRequired',
    });
    expect(f.requests('deprovision', inst)).toHaveLength(0);
    await f.waitEvent('db', 'ClusterServiceBrokerReturnedFailure', 'Warning');

    await f.patchSpec('db', { parameters: { size: 'm' } });
    inst = await f.waitReady('db');
    expect(f.requests('provision', inst)).toHaveLength(2);

    f.broker.script('provision', { status: 400, description: 'no such size', times: 1 });
    await f.instance('other');
    const other = await f.waitReason('other', 'Failed', 'ClusterServiceBrokerReturnedFailure');
    await f.delete('other');
    await f.waitGone('other');
    expect(f.requests('deprovision', other)).toHaveLength(0);
  });

  it('checks parameters against the plan schema at admission (422) and in the controller, naming the field', async () => {
    const f = await Fixture.create(suite, 'schema');
    const refused = (await f
      .instance('bad', { parameters: { size: 'xl' } })
      .catch((e: unknown) => e)) as KubeError;
    expect(refused).toBeInstanceOf(KubeError);
    expect(refused.status).toBe(422);
    expect(refused.message).toContain('spec.parameters.size');
    // from a Secret admission cannot read: the controller catches it before the broker does
    await f.createSecret('xl', { p: JSON.stringify({ size: 'xl' }) });
    await f.instance('hidden', {
      parameters: null,
      parametersFrom: [{ secretKeyRef: { name: 'xl', key: 'p' } }],
    });
    const inst = await f.waitReason('hidden', 'Failed', 'ErrorWithParameters');
    expect(condition(inst, 'Failed')!.message).toContain('parameters.size must be one of "s", "m", "l"');
    expect(f.requests('provision', inst)).toHaveLength(0);
  });

  it('reports duplicate parameters and missing Secrets by name, and goes on once the Secret exists', async () => {
    const f = await Fixture.create(suite, 'pfrom');
    await f.createSecret('dup', { p: JSON.stringify({ size: 's' }) });
    await f.instance('dup', { parametersFrom: [{ secretKeyRef: { name: 'dup', key: 'p' } }] });
    const dup = await f.waitReason('dup', 'Ready', 'ErrorWithParameters');
    expect(condition(dup, 'Ready')!.message).toContain('duplicate entry for parameter "size"');
    expect(condition(dup, 'Ready')!.message).toContain('Secret "ns-pfrom/dup"');

    await f.instance('later', {
      parameters: null,
      parametersFrom: [{ secretKeyRef: { name: 'later', key: 'p' } }],
    });
    const missing = await f.waitReason('later', 'Ready', 'ErrorWithParameters');
    expect(condition(missing, 'Ready')!.message).toContain('Secret "ns-pfrom/later"');
    expect(condition(missing, 'Ready')!.message).toContain('not found');
    expect((await f.waitEvent('later', 'ErrorWithParameters')).type).toBe('Warning');
    await f.createSecret('later', { p: JSON.stringify({ size: 'm' }) });
    const ok = await f.waitReady('later');
    expect(f.requests('provision', ok)[0].body).toMatchObject({ parameters: { size: 'm' } });
    expect(f.requests('provision', dup)).toHaveLength(0);
  });

  it('buildParameters merges, redacts, checksums and names what is wrong', async () => {
    const f = await Fixture.create(suite, 'bp', { register: false });
    await f.createSecret('a', { k: JSON.stringify({ x: { deep: [1, 2] } }), list: '[1]', text: 'nope' });
    const built = await buildParameters(suite.api, f.namespace, {
      parameters: { b: 1 },
      parametersFrom: [{ secretKeyRef: { name: 'a', key: 'k' } }],
    });
    expect(built).toEqual({
      parameters: { b: 1, x: { deep: [1, 2] } },
      redacted: { b: 1, x: '<redacted>' },
      checksum: checksum({ x: { deep: [1, 2] }, b: 1 }),
    });
    const fails = (spec: Parameters<typeof buildParameters>[2]) =>
      buildParameters(suite.api, f.namespace, spec);
    await expect(fails({ parametersFrom: [{ secretKeyRef: { name: 'a', key: 'list' } }] })).rejects.toThrow(
      /key "list" of Secret "ns-bp\/a" must hold a JSON object/,
    );
    await expect(fails({ parametersFrom: [{ secretKeyRef: { name: 'a', key: 'text' } }] })).rejects.toThrow(
      ParametersError,
    );
    await expect(fails({ parametersFrom: [{ secretKeyRef: { name: 'a', key: 'none' } }] })).rejects.toThrow(
      /Secret "ns-bp\/a" has no key "none"/,
    );
    // schemas with external references are not trusted, so not applied
    expect(
      parametersSchemaViolations({ $schema: draft04, $ref: 'https://example.com/s.json' }, { anything: 1 }),
    ).toBeUndefined();
    expect(parametersSchemaViolations({ $schema: draft04, type: 'object', required: ['a'] }, {})).toEqual([
      { field: 'parameters.a', message: 'is required', keyword: 'required', topLevel: true },
    ]);
    // later drafts too
    const draft2020 = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        n: { type: 'integer', minimum: 1 },
        tags: { type: 'array', prefixItems: [{ type: 'string' }] },
      },
    };
    expect(parametersSchemaViolations(draft2020, { n: 0, tags: [3] })).toEqual([
      { field: 'parameters.n', message: 'must be >= 1', keyword: 'minimum', topLevel: false },
      { field: 'parameters.tags[0]', message: 'must be string', keyword: 'type', topLevel: false },
    ]);
  });
});

describe('deprovisioning', () => {
  it('D1, D2: waits for bindings to go, then deprovisions with service_id, plan_id and accepts_incomplete', async () => {
    const f = await Fixture.create(suite, 'del');
    const inst = await f.instance('db').then(() => f.waitReady('db'));
    await suite.api.create(serviceBindingResource, {
      metadata: { name: 'b', namespace: f.namespace },
      spec: { instanceRef: { name: 'db' } },
    });
    await eventually(async () => f.suite.api.get(serviceBindingResource, f.namespace, 'b'));
    await f.delete('db');
    const blocked = await f.waitReason('db', 'Ready', 'DeprovisionBlockedByExistingCredentials');
    expect(condition(blocked, 'Ready')!.message).toContain('All associated ServiceBindings must be removed');
    expect(f.requests('deprovision', inst)).toHaveLength(0);

    await suite.api.delete(serviceBindingResource, f.namespace, 'b');
    await releaseBinding(f, 'b');
    await f.waitGone('db');
    const [del] = f.requests('deprovision', inst);
    expect(del.query).toEqual({
      accepts_incomplete: 'true',
      service_id: f.ids.db,
      plan_id: f.ids.plans.small,
    });
    expect(del.originatingIdentity?.platform).toBe('kubernetes');
    expect((await f.waitEvent('db', 'DeprovisionedSuccessfully')).type).toBe('Normal');
  });

  it('cascading deletion (annotation): deletes the bindings first and waits for them', async () => {
    const f = await Fixture.create(suite, 'casc');
    await f.instance('db', {});
    const inst = await f.waitReady('db');
    await suite.api.patch(serviceInstanceResource, f.namespace, 'db', {
      metadata: { annotations: { 'servicecatalog.k8s.io/cascading-deletion': 'true' } },
    });
    await suite.api.create(serviceBindingResource, {
      metadata: { name: 'b1', namespace: f.namespace },
      spec: { instanceRef: { name: 'db' } },
    });
    await f.delete('db');
    await f.waitReason('db', 'Ready', 'ServiceBindingsDeletion');
    await releaseBinding(f, 'b1');
    await f.waitGone('db');
    expect(f.requests('deprovision', inst)).toHaveLength(1);
  });

  it('L6, D3: an asynchronous deprovision ends with 410 on the poll; failed deprovisions are retried with backoff', async () => {
    const f = await Fixture.create(suite, 'adel');
    await f.instance('a');
    const a = await f.waitReady('a');
    f.broker.script('deprovision', { async: { outcome: 'gone', inProgressPolls: 1 }, times: 1 });
    await f.delete('a');
    await f.waitGone('a');
    expect(f.requests('lastOperation', a).map((e) => e.status)).toEqual([200, 410]);

    await f.instance('b');
    const b = await f.waitReady('b');
    f.broker.script('deprovision', { status: 500, times: 1 });
    f.broker.script('deprovision', { status: 500, instanceUsable: false, times: 1 });
    await f.delete('b');
    const failing = await f.waitReason('b', 'Ready', 'DeprovisionCallFailed');
    expect(condition(failing, 'Ready')!.status).toBe('Unknown');
    // D4: the broker said the instance is no longer usable (no new bindings)
    expect(failing.status?.instanceUsable).toBe(false);
    await f.waitGone('b');
    const dels = f.requests('deprovision', b);
    expect(dels.map((e) => e.status)).toEqual([500, 500, 200]);
    const [g1, g2] = gaps(dels);
    expect(g2).toBeGreaterThan(g1);

    // an asynchronous deprovision that fails is sent again, not left wedged
    await f.instance('c');
    const c = await f.waitReady('c');
    f.broker.script('deprovision', { async: { outcome: 'failed', inProgressPolls: 0 }, times: 1 });
    await f.delete('c');
    await f.waitGone('c');
    expect(f.requests('deprovision', c).map((e) => e.status)).toEqual([202, 200]);
  });

  it('D5: deleting while an asynchronous provision is in flight sends DELETE at once', async () => {
    const f = await Fixture.create(suite, 'd5');
    f.broker.script('provision', {
      planId: f.ids.plans.async,
      async: { inProgressPolls: 10_000, retryAfter: 30 },
    });
    await f.instance('q', {
      clusterServiceClassExternalName: 'd5-queue',
      clusterServicePlanExternalName: 'async',
    });
    const inst = await f.waitFor('q', (i) => i.status?.asyncOpInProgress === true);
    await f.delete('q');
    await f.waitGone('q');
    const [del] = f.requests('deprovision', inst);
    expect(del.query).toMatchObject({ plan_id: f.ids.plans.async });
    expect(f.broker.instance(inst.spec!.externalID!)).toBeUndefined();
  });

  it('abandon: releases an instance whose broker refuses to deprovision, without calling it, with an Event', async () => {
    const f = await Fixture.create(suite, 'abandon');
    await f.instance('db');
    const inst = await f.waitReady('db');
    f.broker.script('deprovision', { status: 503 });
    await f.delete('db');
    await f.waitReason('db', 'Ready', 'DeprovisionCallFailed');
    const calls = () => f.requests('deprovision', inst).length;
    const before = calls();
    await suite.api.patch(serviceInstanceResource, f.namespace, 'db', {
      metadata: { annotations: { 'servicecatalog.k8s.io/abandon': 'true' } },
    });
    await f.waitGone('db');
    expect(calls()).toBeLessThanOrEqual(before + 1);
    const event = await f.waitEvent('db', 'Abandoned', 'Warning');
    expect(event.message).toContain('without asking the broker');
  });
});

describe('metrics', () => {
  it('exposes reconcile counts and durations, instances by condition and async operations in flight', async () => {
    const text = await suite.metrics.metrics();
    expect(text).toMatch(
      /servicecatalog_reconcile_total\{controller="ServiceInstance",result="success"\} [1-9]/,
    );
    expect(text).toMatch(
      /servicecatalog_reconcile_duration_seconds_count\{controller="ServiceInstance"\} [1-9]/,
    );
    expect(text).toMatch(/servicecatalog_service_instances\{condition="Ready",status="True"\} [1-9]/);
    expect(text).toMatch(/servicecatalog_async_operations_in_flight\{kind="ServiceInstance"\} \d/);
  });
});
