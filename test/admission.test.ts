import type { KubeObject, Status } from '../api-types/meta';
import { admissionPlugins, defaultAdmissionPlugins } from '../apiserver/admission';
import type { AdmissionAttributes, ObjectReader } from '../apiserver/admission/types';
import { parseOptions } from '../apiserver/cmd/options';
import { StatusError } from '../pkg/apierrors';
import { FlagError } from '../pkg/flags';
import { startEnv, type Client, type Env, type Response } from './harness';

const G = '/apis/servicecatalog.k8s.io/v1beta1';
const NS = 'team';
const merge = 'application/merge-patch+json';
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

function clusterClass(name: string, externalName: string, planUpdatable = false): Obj {
  return {
    apiVersion: 'servicecatalog.k8s.io/v1beta1',
    kind: 'ClusterServiceClass',
    metadata: { name },
    spec: {
      clusterServiceBrokerName: 'broker',
      externalName,
      externalID: `${name}-id`,
      description: `The ${externalName} service`,
      bindable: true,
      planUpdatable,
    },
  };
}

function clusterPlan(name: string, className: string, externalName: string): Obj {
  return {
    apiVersion: 'servicecatalog.k8s.io/v1beta1',
    kind: 'ClusterServicePlan',
    metadata: { name },
    spec: {
      clusterServiceBrokerName: 'broker',
      externalName,
      externalID: `${name}-id`,
      description: `The ${externalName} plan`,
      free: true,
      clusterServiceClassRef: { name: className },
    },
  };
}

function namespacedClass(name: string, externalName: string, planUpdatable = false): Obj {
  return {
    apiVersion: 'servicecatalog.k8s.io/v1beta1',
    kind: 'ServiceClass',
    metadata: { name, namespace: NS },
    spec: {
      serviceBrokerName: 'ns-broker',
      externalName,
      externalID: `${name}-id`,
      description: `The ${externalName} service`,
      bindable: true,
      planUpdatable,
    },
  };
}

function namespacedPlan(name: string, className: string, externalName: string): Obj {
  return {
    apiVersion: 'servicecatalog.k8s.io/v1beta1',
    kind: 'ServicePlan',
    metadata: { name, namespace: NS },
    spec: {
      serviceBrokerName: 'ns-broker',
      externalName,
      externalID: `${name}-id`,
      description: `The ${externalName} plan`,
      free: true,
      serviceClassRef: { name: className },
    },
  };
}

function instance(name: string, spec: Record<string, unknown>, finalizers?: string[]): Obj {
  return {
    apiVersion: 'servicecatalog.k8s.io/v1beta1',
    kind: 'ServiceInstance',
    metadata: { name, namespace: NS, ...(finalizers ? { finalizers } : {}) },
    spec,
  };
}

function binding(name: string, instanceName: string): Obj {
  return {
    apiVersion: 'servicecatalog.k8s.io/v1beta1',
    kind: 'ServiceBinding',
    metadata: { name, namespace: NS },
    spec: { instanceRef: { name: instanceName }, secretName: `${name}-secret` },
  };
}

const plurals: Record<string, string> = {
  ClusterServiceClass: 'clusterserviceclasses',
  ClusterServicePlan: 'clusterserviceplans',
  ServiceClass: 'serviceclasses',
  ServicePlan: 'serviceplans',
  ServiceInstance: 'serviceinstances',
  ServiceBinding: 'servicebindings',
};
const collection = (obj: KubeObject) => {
  const plural = plurals[obj.kind!];
  return obj.metadata.namespace ? `${G}/namespaces/${obj.metadata.namespace}/${plural}` : `${G}/${plural}`;
};
const INSTANCES = `${G}/namespaces/${NS}/serviceinstances`;
const BINDINGS = `${G}/namespaces/${NS}/servicebindings`;
const path = (obj: KubeObject) => `${collection(obj)}/${obj.metadata.name}`;

/**
 * Admission reads other objects from the watch cache; waiting until the cache of the written kind
 * has reached the write's revision makes the next request see it, without polling.
 */
async function cacheSynced(client: Client, written: KubeObject): Promise<void> {
  const plural = plurals[written.kind!];
  const res = await client.get(
    `${G}/${plural}?resourceVersion=${written.metadata.resourceVersion}&resourceVersionMatch=NotOlderThan`,
  );
  expect(res.status).toBe(200);
}

async function create(client: Client, obj: Obj): Promise<Obj> {
  const res = await client.post<Obj>(collection(obj), obj);
  if (res.status !== 201) throw new Error(`create ${path(obj)}: ${res.status} ${res.text}`);
  await cacheSynced(client, res.body);
  return res.body;
}

/** Creates a catalog object and, when asked, marks it removed from the broker catalog. */
async function createCatalog(client: Client, obj: Obj, removed = false): Promise<Obj> {
  const created = await create(client, obj);
  if (!removed) return created;
  const res = await client.patch<Obj>(
    `${path(obj)}/status`,
    { status: { removedFromBrokerCatalog: true } },
    merge,
  );
  expect(res.status).toBe(200);
  await cacheSynced(client, res.body);
  return res.body;
}

function expectForbidden(res: Response, resource: string, name: string, message: string): void {
  expect(res.status).toBe(403);
  const status = res.body as Status;
  expect(status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403 });
  expect(status.details).toMatchObject({ group: 'servicecatalog.k8s.io', kind: resource, name });
  expect(status.message).toBe(`${resource}.servicecatalog.k8s.io "${name}" is forbidden: ${message}`);
}

describe('admission with the default plugins', () => {
  let env: Env;
  let client: Client;

  beforeAll(async () => {
    env = await startEnv();
    client = env.client;
    // cluster catalog: one class per situation
    await createCatalog(client, clusterClass('c-single', 'single'));
    await createCatalog(client, clusterPlan('c-single-default', 'c-single', 'default'));
    await createCatalog(client, clusterPlan('c-single-gone', 'c-single', 'gone'), true);
    await createCatalog(client, clusterClass('c-multi', 'multi', true));
    await createCatalog(client, clusterPlan('c-multi-small', 'c-multi', 'small'));
    await createCatalog(client, clusterPlan('c-multi-large', 'c-multi', 'large'));
    await createCatalog(client, clusterClass('c-none', 'none'));
    await createCatalog(client, clusterClass('c-removed', 'removed'));
    await createCatalog(client, clusterPlan('c-removed-old', 'c-removed', 'old'), true);
    await createCatalog(client, clusterClass('c-twin-a', 'twin'));
    await createCatalog(client, clusterClass('c-twin-b', 'twin'));
    await createCatalog(client, clusterClass('c-fixed', 'fixed', false));
    await createCatalog(client, clusterPlan('c-fixed-small', 'c-fixed', 'small'));
    await createCatalog(client, clusterPlan('c-fixed-large', 'c-fixed', 'large'));
    // namespaced catalog
    await createCatalog(client, namespacedClass('n-single', 'ns-single'));
    await createCatalog(client, namespacedPlan('n-single-default', 'n-single', 'ns-default'));
    await createCatalog(client, namespacedClass('n-multi', 'ns-multi'));
    await createCatalog(client, namespacedPlan('n-multi-small', 'n-multi', 'ns-small'));
    await createCatalog(client, namespacedPlan('n-multi-large', 'n-multi', 'ns-large'));
  });

  afterAll(async () => {
    await env?.stop();
  });

  test('the server enables the default list', () => {
    expect(defaultAdmissionPlugins).toEqual([
      'NamespaceLifecycle',
      'DefaultServicePlan',
      'ServiceBindingsLifecycle',
      'ServicePlanChangeValidator',
      'BrokerAuthSarCheck',
      'OriginatingIdentityLocking',
      'ServiceInstanceParametersSchema',
      'ServiceBindingParametersSchema',
    ]);
    const objects = { get: async () => undefined, list: async () => [] };
    for (const name of defaultAdmissionPlugins) expect(admissionPlugins[name]?.({ objects }).name).toBe(name);
  });

  describe('DefaultServicePlan', () => {
    test.each<[string, Record<string, unknown>, Record<string, unknown>]>([
      [
        'cluster, by external name',
        { clusterServiceClassExternalName: 'single' },
        { clusterServicePlanExternalName: 'default' },
      ],
      [
        'cluster, by external id',
        { clusterServiceClassExternalID: 'c-single-id' },
        { clusterServicePlanExternalID: 'c-single-default-id' },
      ],
      [
        'cluster, by name',
        { clusterServiceClassName: 'c-single' },
        { clusterServicePlanName: 'c-single-default' },
      ],
      [
        'namespaced, by external name',
        { serviceClassExternalName: 'ns-single' },
        { servicePlanExternalName: 'ns-default' },
      ],
      [
        'namespaced, by external id',
        { serviceClassExternalID: 'n-single-id' },
        { servicePlanExternalID: 'n-single-default-id' },
      ],
      ['namespaced, by name', { serviceClassName: 'n-single' }, { servicePlanName: 'n-single-default' }],
    ])('fills the only plan in the style of the class: %s', async (label, classFields, planFields) => {
      const name = `default-${label.replace(/[^a-z]+/g, '-')}`;
      const res = await client.post<Obj>(INSTANCES, instance(name, classFields));
      expect(res.status).toBe(201);
      expect(res.body.spec).toMatchObject({ ...classFields, ...planFields });
      const planKeys = Object.keys(res.body.spec!).filter((k) =>
        /Plan(ExternalName|ExternalID|Name)$/.test(k),
      );
      expect(planKeys).toEqual(Object.keys(planFields));
      const stored = await client.get<Obj>(path(res.body));
      expect(stored.body.spec).toMatchObject(planFields);
    });

    test('a dry-run create shows the plan it would get', async () => {
      const obj = instance('dry', { clusterServiceClassExternalName: 'single' });
      const res = await client.post<Obj>(`${collection(obj)}?dryRun=All`, obj);
      expect(res.status).toBe(201);
      expect(res.body.spec).toMatchObject({ clusterServicePlanExternalName: 'default' });
      expect((await client.get(path(obj))).status).toBe(404);
    });

    test('a plan the user names is kept, even on a class with several', async () => {
      const res = await client.post<Obj>(
        INSTANCES,
        instance('named-plan', {
          clusterServiceClassExternalName: 'multi',
          clusterServicePlanExternalName: 'large',
        }),
      );
      expect(res.status).toBe(201);
      expect(res.body.spec).toEqual(
        expect.objectContaining({
          clusterServiceClassExternalName: 'multi',
          clusterServicePlanExternalName: 'large',
        }),
      );
    });

    test('several plans: 403 listing them in the style the class was named in', async () => {
      let res = await client.post(
        INSTANCES,
        instance('multi-1', { clusterServiceClassExternalName: 'multi' }),
      );
      expectForbidden(
        res,
        'serviceinstances',
        'multi-1',
        'ClusterServiceClass (K8S: "c-multi" ExternalName: "multi") has more than one plan, ' +
          'clusterServicePlanExternalName must be specified; available plans: "large", "small"',
      );
      res = await client.post(INSTANCES, instance('multi-2', { clusterServiceClassName: 'c-multi' }));
      expectForbidden(
        res,
        'serviceinstances',
        'multi-2',
        'ClusterServiceClass (K8S: "c-multi" ExternalName: "multi") has more than one plan, ' +
          'clusterServicePlanName must be specified; available plans: "c-multi-large", "c-multi-small"',
      );
      res = await client.post(INSTANCES, instance('multi-3', { serviceClassExternalID: 'n-multi-id' }));
      expectForbidden(
        res,
        'serviceinstances',
        'multi-3',
        'ServiceClass (K8S: "n-multi" ExternalName: "ns-multi") has more than one plan, ' +
          'servicePlanExternalID must be specified; available plans: "n-multi-large-id", "n-multi-small-id"',
      );
      expect((await client.get(`${G}/namespaces/${NS}/serviceinstances/multi-1`)).status).toBe(404);
    });

    test('no plan: 403', async () => {
      const res = await client.post(INSTANCES, instance('none', { clusterServiceClassExternalName: 'none' }));
      expectForbidden(
        res,
        'serviceinstances',
        'none',
        'no ClusterServicePlans found at all for ClusterServiceClass (K8S: "c-none" ExternalName: "none"), ' +
          'can not figure out the default ClusterServicePlan',
      );
    });

    test('plans removed from the broker catalog are not candidates', async () => {
      // c-single has a removed plan besides its default one: it was chosen above; here only removed ones
      const res = await client.post(INSTANCES, instance('removed', { clusterServiceClassName: 'c-removed' }));
      expectForbidden(
        res,
        'serviceinstances',
        'removed',
        'no ClusterServicePlans found at all for ClusterServiceClass (K8S: "c-removed" ExternalName: "removed") ' +
          '(removed from the broker catalog: "c-removed-old"), can not figure out the default ClusterServicePlan',
      );
    });

    test('a class that does not exist: 403 naming how it was looked up', async () => {
      let res = await client.post(
        INSTANCES,
        instance('ghost-1', { clusterServiceClassExternalName: 'ghost' }),
      );
      expectForbidden(
        res,
        'serviceinstances',
        'ghost-1',
        'ClusterServiceClass with spec.externalName "ghost" does not exist, can not figure out the default ClusterServicePlan',
      );
      res = await client.post(INSTANCES, instance('ghost-2', { clusterServiceClassName: 'ghost' }));
      expectForbidden(
        res,
        'serviceinstances',
        'ghost-2',
        'ClusterServiceClass "ghost" does not exist, can not figure out the default ClusterServicePlan',
      );
      // a namespaced class is looked up in the instance's namespace only
      const elsewhere = { ...instance('ghost-3', { serviceClassName: 'n-single' }) };
      elsewhere.metadata = { name: 'ghost-3', namespace: 'other' };
      res = await client.post(`${G}/namespaces/other/serviceinstances`, elsewhere);
      expectForbidden(
        res,
        'serviceinstances',
        'ghost-3',
        'ServiceClass "n-single" in namespace "other" does not exist, can not figure out the default ServicePlan',
      );
    });

    test('an external name several classes share is ambiguous: 403', async () => {
      const res = await client.post(INSTANCES, instance('twin', { clusterServiceClassExternalName: 'twin' }));
      expectForbidden(
        res,
        'serviceinstances',
        'twin',
        'ClusterServiceClass with spec.externalName "twin" is ambiguous: 2 ClusterServiceClasses match ' +
          '("c-twin-a", "c-twin-b"); name the class with clusterServiceClassName',
      );
    });

    test('an update that drops the plan gets the default back', async () => {
      const created = await create(client, instance('drop', { clusterServiceClassName: 'c-single' }));
      expect(created.spec).toMatchObject({ clusterServicePlanName: 'c-single-default' });
      const sent = structuredClone(created);
      delete sent.spec!.clusterServicePlanName;
      const res = await client.put<Obj>(path(created), sent);
      expect(res.status).toBe(200);
      expect(res.body.spec).toMatchObject({ clusterServicePlanName: 'c-single-default' });
    });
  });

  describe('ServicePlanChangeValidator', () => {
    test('a class that is not planUpdatable refuses a plan change', async () => {
      const created = await create(
        client,
        instance('fixed', {
          clusterServiceClassExternalName: 'fixed',
          clusterServicePlanExternalName: 'small',
        }),
      );
      const res = await client.patch(
        path(created),
        { spec: { clusterServicePlanExternalName: 'large' } },
        merge,
      );
      expectForbidden(
        res,
        'serviceinstances',
        'fixed',
        'The ClusterServiceClass (K8S: "c-fixed" ExternalName: "fixed") does not allow plan changes: ' +
          'cannot change clusterServicePlanExternalName "small" to clusterServicePlanExternalName "large"',
      );
      const stored = await client.get<Obj>(path(created));
      expect(stored.body.spec).toMatchObject({ clusterServicePlanExternalName: 'small' });
      // other spec changes go through
      const ok = await client.patch<Obj>(path(created), { spec: { parameters: { size: 2 } } }, merge);
      expect(ok.status).toBe(200);
      expect(ok.body.spec).toMatchObject({
        clusterServicePlanExternalName: 'small',
        parameters: { size: 2 },
      });
    });

    test('a planUpdatable class allows it', async () => {
      const created = await create(
        client,
        instance('movable', { clusterServiceClassName: 'c-multi', clusterServicePlanName: 'c-multi-small' }),
      );
      const res = await client.patch<Obj>(
        path(created),
        { spec: { clusterServicePlanName: 'c-multi-large' } },
        merge,
      );
      expect(res.status).toBe(200);
      expect(res.body.spec).toMatchObject({ clusterServicePlanName: 'c-multi-large' });
    });

    test('namespaced classes are checked too', async () => {
      const created = await create(
        client,
        instance('ns-fixed', { serviceClassExternalName: 'ns-multi', servicePlanExternalName: 'ns-small' }),
      );
      const res = await client.patch(path(created), { spec: { servicePlanExternalName: 'ns-large' } }, merge);
      expectForbidden(
        res,
        'serviceinstances',
        'ns-fixed',
        'The ServiceClass (K8S: "n-multi" ExternalName: "ns-multi") does not allow plan changes: ' +
          'cannot change servicePlanExternalName "ns-small" to servicePlanExternalName "ns-large"',
      );
    });
  });

  describe('ServiceBindingsLifecycle', () => {
    test('no binding to an instance being deleted', async () => {
      const inst = await create(
        client,
        instance(
          'doomed',
          { clusterServiceClassName: 'c-single', clusterServicePlanName: 'c-single-default' },
          ['test.example.com/hold'],
        ),
      );
      expect((await client.post(BINDINGS, binding('before', 'doomed'))).status).toBe(201);

      const del = await client.delete<Obj>(path(inst));
      expect(del.status).toBe(200);
      expect(del.body.metadata.deletionTimestamp).toBeDefined();
      await cacheSynced(client, del.body);

      const res = await client.post(BINDINGS, binding('after', 'doomed'));
      expectForbidden(
        res,
        'servicebindings',
        'after',
        `ServiceBinding ${NS}/after references a ServiceInstance that is being deleted: ${NS}/doomed`,
      );
      // bindings that exist are not touched by this plugin (create only)
      const existing = await client.patch(`${BINDINGS}/before`, { metadata: { labels: { a: 'b' } } }, merge);
      expect(existing.status).toBe(200);
    });

    test('a binding to an instance that does not exist is the controller’s business', async () => {
      expect((await client.post(BINDINGS, binding('orphan', 'nobody'))).status).toBe(201);
    });
  });

  describe('OriginatingIdentityLocking', () => {
    test('no spec change while an operation is in progress; status writes and metadata changes pass', async () => {
      const created = await create(
        client,
        instance('busy', {
          clusterServiceClassExternalName: 'single',
          clusterServicePlanExternalName: 'default',
        }),
      );
      // what the controller does: resolve the references, then start provisioning (both subresources)
      const ref = await client.patch(
        `${path(created)}/reference`,
        {
          spec: {
            clusterServiceClassRef: { name: 'c-single' },
            clusterServicePlanRef: { name: 'c-single-default' },
          },
        },
        merge,
      );
      expect(ref.status).toBe(200);
      const started = await client.patch<Obj>(
        `${path(created)}/status`,
        {
          status: {
            conditions: [
              {
                type: 'Ready',
                status: 'False',
                reason: 'Provisioning',
                message: 'The instance is being provisioned asynchronously',
                lastTransitionTime: now(),
              },
            ],
            asyncOpInProgress: true,
            currentOperation: 'Provision',
            operationStartTime: now(),
            inProgressProperties: {
              clusterServicePlanExternalName: 'default',
              clusterServicePlanExternalID: 'c-single-default-id',
            },
            deprovisionStatus: 'Required',
          },
        },
        merge,
      );
      expect(started.status).toBe(200);
      expect(started.body.status).toMatchObject({ currentOperation: 'Provision' });

      const refused = await client.patch(path(created), { spec: { parameters: { size: 3 } } }, merge);
      expectForbidden(
        refused,
        'serviceinstances',
        'busy',
        'Another update for this service instance is in progress (status.currentOperation is "Provision"); ' +
          'change the spec once it has finished',
      );

      const labelled = await client.patch<Obj>(path(created), { metadata: { labels: { team: 'a' } } }, merge);
      expect(labelled.status).toBe(200);
      expect(labelled.body.metadata.labels).toEqual({ team: 'a' });

      // the controller keeps writing status, and finishes
      const polled = await client.patch(
        `${path(created)}/status`,
        { status: { lastOperation: 'poll-1' } },
        merge,
      );
      expect(polled.status).toBe(200);
      const done = await client.patch<Obj>(
        `${path(created)}/status`,
        {
          status: {
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'ProvisionedSuccessfully',
                message: 'The instance was provisioned successfully',
                lastTransitionTime: now(),
              },
            ],
            asyncOpInProgress: false,
            currentOperation: null,
            operationStartTime: null,
            lastOperation: null,
            inProgressProperties: null,
            externalProperties: {
              clusterServicePlanExternalName: 'default',
              clusterServicePlanExternalID: 'c-single-default-id',
            },
            provisionStatus: 'Provisioned',
            reconciledGeneration: 1,
            observedGeneration: 1,
          },
        },
        merge,
      );
      expect(done.status).toBe(200);
      expect(done.body.status?.currentOperation).toBeUndefined();

      const allowed = await client.patch<Obj>(path(created), { spec: { parameters: { size: 3 } } }, merge);
      expect(allowed.status).toBe(200);
      expect(allowed.body.spec).toMatchObject({ parameters: { size: 3 } });
    });
  });
});

describe('admission with no plugins enabled', () => {
  let env: Env;
  let client: Client;

  beforeAll(async () => {
    env = await startEnv({ admissionPlugins: [] });
    client = env.client;
    await createCatalog(client, clusterClass('c-single', 'single'));
    await createCatalog(client, clusterPlan('c-single-default', 'c-single', 'default'));
    await createCatalog(client, clusterClass('c-fixed', 'fixed', false));
    await createCatalog(client, clusterPlan('c-fixed-small', 'c-fixed', 'small'));
    await createCatalog(client, clusterPlan('c-fixed-large', 'c-fixed', 'large'));
  });

  afterAll(async () => {
    await env?.stop();
  });

  test('nothing is defaulted or refused', async () => {
    const plain = await client.post<Obj>(
      INSTANCES,
      instance('no-plan', { clusterServiceClassExternalName: 'single' }),
    );
    expect(plain.status).toBe(201);
    expect(plain.body.spec).not.toHaveProperty('clusterServicePlanExternalName');

    const ghost = await client.post(INSTANCES, instance('ghost', { clusterServiceClassName: 'ghost' }));
    expect(ghost.status).toBe(201);

    const fixed = await create(
      client,
      instance('fixed', {
        clusterServiceClassExternalName: 'fixed',
        clusterServicePlanExternalName: 'small',
      }),
    );
    const moved = await client.patch(
      path(fixed),
      { spec: { clusterServicePlanExternalName: 'large' } },
      merge,
    );
    expect(moved.status).toBe(200);

    const doomed = await create(
      client,
      instance(
        'doomed',
        { clusterServiceClassName: 'c-single', clusterServicePlanName: 'c-single-default' },
        ['test.example.com/hold'],
      ),
    );
    const del = await client.delete<Obj>(path(doomed));
    expect(del.body.metadata.deletionTimestamp).toBeDefined();
    await cacheSynced(client, del.body);
    expect((await client.post(BINDINGS, binding('late', 'doomed'))).status).toBe(201);
  });
});

describe('the locking plugin on bindings', () => {
  // A binding's spec cannot change once created (the strategy's rule, answered before admission
  // validates), so this checks the plugin itself.
  const noObjects: ObjectReader = { get: async () => undefined, list: async () => [] };
  const attrs = (currentOperation: string, spec: unknown, subresource?: string): AdmissionAttributes => ({
    operation: 'UPDATE',
    resource: 'servicebindings',
    subresource,
    namespace: NS,
    name: 'b',
    object: { metadata: { name: 'b', namespace: NS }, spec },
    oldObject: {
      metadata: { name: 'b', namespace: NS },
      spec: { secretName: 's' },
      status: { currentOperation },
    },
    user: { username: 'u', groups: [] },
    dryRun: false,
  });
  const validate = async (a: AdmissionAttributes) =>
    admissionPlugins.OriginatingIdentityLocking({ objects: noObjects }).validate!(a, noObjects);

  test('refuses a spec change during Bind', async () => {
    const err = await validate(attrs('Bind', { secretName: 't' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBe(403);
    expect((err as StatusError).message).toBe(
      'servicebindings.servicecatalog.k8s.io "b" is forbidden: Another update for this service binding is in progress ' +
        '(status.currentOperation is "Bind"); change the spec once it has finished',
    );
  });

  test('lets through an unchanged spec, an idle binding and subresource writes', async () => {
    await expect(validate(attrs('Bind', { secretName: 's' }))).resolves.toBeUndefined();
    await expect(validate(attrs('', { secretName: 't' }))).resolves.toBeUndefined();
    await expect(validate(attrs('Bind', { secretName: 't' }, 'status'))).resolves.toBeUndefined();
  });
});

describe('--enable-admission-plugins', () => {
  const names = (argv: string[]) => parseOptions(argv)!.admissionPlugins;

  test('defaults to the default list', () => {
    expect(names([])).toEqual(defaultAdmissionPlugins);
  });

  test('takes a subset in the given order, or none', () => {
    expect(names(['--enable-admission-plugins=OriginatingIdentityLocking,DefaultServicePlan'])).toEqual([
      'OriginatingIdentityLocking',
      'DefaultServicePlan',
    ]);
    expect(names(['--enable-admission-plugins='])).toEqual([]);
  });

  test('rejects unknown names', () => {
    expect(() => parseOptions(['--enable-admission-plugins=DefaultServicePlan,NamespaceExists'])).toThrow(
      FlagError,
    );
    expect(() => parseOptions(['--enable-admission-plugins=defaultserviceplan'])).toThrow(
      /unknown admission plugin "defaultserviceplan"/,
    );
  });
});
