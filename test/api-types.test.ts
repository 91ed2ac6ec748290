import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { KubeObject } from '../api-types/meta';
import {
  instanceClassDisplay,
  instancePlanDisplay,
  lastConditionState,
  servicecatalogResources,
  type ClusterServiceBroker,
  type ClusterServiceClass,
  type ClusterServicePlan,
  type ResourceDefinition,
  type ServiceBinding,
  type ServiceBroker,
  type ServiceClass,
  type ServiceInstance,
  type ServicePlan,
} from '../api-types';

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);

function resource(kind: string): ResourceDefinition {
  const r = servicecatalogResources.find((d) => d.kind === kind);
  if (!r) throw new Error(`no resource ${kind}`);
  return r;
}

function validate(kind: string, obj: unknown): string[] {
  const check = ajv.compile(resource(kind).schema);
  return check(obj) ? [] : (check.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

function cells(kind: string, obj: KubeObject): Record<string, unknown> {
  return Object.fromEntries(resource(kind).printerColumns.map((c) => [c.name, c.cell(obj)]));
}

const api = 'servicecatalog.k8s.io/v1beta1';
const t0 = '2024-05-01T10:00:00Z';

const clusterBroker: ClusterServiceBroker = {
  apiVersion: api,
  kind: 'ClusterServiceBroker',
  metadata: { name: 'ups-broker' },
  spec: {
    url: 'https://ups-broker.brokers.svc.cluster.local',
    caBundle: Buffer.from('-----BEGIN CERTIFICATE-----\n').toString('base64'),
    relistBehavior: 'Duration',
    relistDuration: '15m0s',
    relistRequests: 2,
    catalogRestrictions: {
      serviceClass: ['spec.externalName in (mysql, redis)'],
      servicePlan: ['spec.free==true'],
    },
    authInfo: { basic: { secretRef: { namespace: 'brokers', name: 'ups-auth' } } },
  },
  status: {
    conditions: [
      { type: 'Ready', status: 'True', lastTransitionTime: t0, reason: 'FetchedCatalog', message: 'ok' },
    ],
    reconciledGeneration: 1,
    lastCatalogRetrievalTime: t0,
  },
};

const nsBroker: ServiceBroker = {
  apiVersion: api,
  kind: 'ServiceBroker',
  metadata: { name: 'team-broker', namespace: 'team-a' },
  spec: {
    url: 'http://team-broker.team-a.svc',
    insecureSkipTLSVerify: true,
    relistBehavior: 'Manual',
    relistRequests: 0,
    authInfo: { bearer: { secretRef: { name: 'team-broker-token' } } },
  },
  status: { conditions: [], reconciledGeneration: 0 },
};

const clusterClass: ClusterServiceClass = {
  apiVersion: api,
  kind: 'ClusterServiceClass',
  metadata: { name: '4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468' },
  spec: {
    bindable: true,
    bindingRetrievable: false,
    clusterServiceBrokerName: 'ups-broker',
    description: 'A user provided service',
    externalID: '4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468',
    externalName: 'user-provided-service',
    planUpdatable: false,
    externalMetadata: { displayName: 'User Provided', imageUrl: 'https://example.com/i.png' },
    tags: ['ups'],
    requires: [],
    defaultProvisionParameters: { region: 'eu' },
  },
  status: { removedFromBrokerCatalog: false },
};

const nsClass: ServiceClass = {
  apiVersion: api,
  kind: 'ServiceClass',
  metadata: { name: 'c1', namespace: 'team-a' },
  spec: {
    serviceBrokerName: 'team-broker',
    externalID: 'c1-id',
    externalName: 'small-db',
    description: 'db',
    bindable: true,
    planUpdatable: true,
  },
};

const clusterPlan: ClusterServicePlan = {
  apiVersion: api,
  kind: 'ClusterServicePlan',
  metadata: { name: '86064792-7ea2-467b-af93-ac9694d96d52' },
  spec: {
    clusterServiceBrokerName: 'ups-broker',
    clusterServiceClassRef: { name: '4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468' },
    externalID: '86064792-7ea2-467b-af93-ac9694d96d52',
    externalName: 'default',
    description: 'Sample plan description',
    free: true,
    bindable: false,
    instanceCreateParameterSchema: {
      $schema: 'http://json-schema.org/draft-04/schema#',
      type: 'object',
      properties: { param: { type: 'string' } },
    },
    instanceUpdateParameterSchema: { type: 'object' },
    serviceBindingCreateParameterSchema: { type: 'object' },
    serviceBindingCreateResponseSchema: { type: 'object' },
    maintenanceInfo: { version: '1.2.0', description: 'patched' },
  },
  status: { removedFromBrokerCatalog: true },
};

const nsPlan: ServicePlan = {
  apiVersion: api,
  kind: 'ServicePlan',
  metadata: { name: 'p1', namespace: 'team-a' },
  spec: {
    serviceBrokerName: 'team-broker',
    serviceClassRef: { name: 'c1' },
    externalID: 'p1-id',
    externalName: 'free',
    description: 'free plan',
    free: true,
  },
};

const instance: ServiceInstance = {
  apiVersion: api,
  kind: 'ServiceInstance',
  metadata: { name: 'test-database', namespace: 'example-ns', generation: 2 },
  spec: {
    clusterServiceClassExternalName: 'small-db',
    clusterServicePlanExternalName: 'free',
    clusterServiceClassRef: { name: '4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468' },
    clusterServicePlanRef: { name: '86064792-7ea2-467b-af93-ac9694d96d52' },
    parameters: { size: 3, nested: { tls: true } },
    parametersFrom: [{ secretKeyRef: { name: 'db-params', key: 'params.json' } }],
    externalID: 'f1e8e3a4-1a8b-4a43-9d1b-1c1d2f5b6a70',
    userInfo: { username: 'alice', uid: 'u-1', groups: ['devs'], extra: { scopes: ['a', 'b'] } },
    updateRequests: 1,
  },
  status: {
    conditions: [
      {
        type: 'Ready',
        status: 'False',
        lastTransitionTime: t0,
        reason: 'Provisioning',
        message: 'The instance is being provisioned asynchronously',
      },
    ],
    asyncOpInProgress: true,
    orphanMitigationInProgress: false,
    lastOperation: 'op-123',
    currentOperation: 'Provision',
    reconciledGeneration: 1,
    observedGeneration: 2,
    operationStartTime: t0,
    inProgressProperties: {
      clusterServicePlanExternalName: 'free',
      clusterServicePlanExternalID: '86064792-7ea2-467b-af93-ac9694d96d52',
      parameters: { size: 3, password: '<redacted>' },
      parameterChecksum: 'a'.repeat(64),
      userInfo: { username: 'alice', uid: 'u-1' },
    },
    provisionStatus: '',
    deprovisionStatus: 'Required',
    dashboardURL: 'https://dash.example.com/i/1',
    defaultProvisionParameters: { region: 'eu' },
    maintenanceInfo: { version: '1.1.0' },
  },
};

const binding: ServiceBinding = {
  apiVersion: api,
  kind: 'ServiceBinding',
  metadata: { name: 'test-database-binding', namespace: 'example-ns' },
  spec: {
    instanceRef: { name: 'test-database' },
    secretName: 'db-secret',
    parameters: { role: 'reader' },
    secretTransforms: [
      { renameKey: { from: 'USERNAME', to: 'DB_USER' } },
      { addKey: { key: 'POOL', stringValue: '10' } },
      { addKey: { key: 'RAW', value: Buffer.from([0, 1, 2]).toString('base64') } },
      { addKey: { key: 'HOST', jsonPathExpression: '{.db.host}' } },
      { addKeysFrom: { secretRef: { namespace: 'shared', name: 'extra' } } },
      { removeKey: { key: 'PASSWORD_HASH' } },
    ],
    externalID: 'b7c1f0de-8f0b-4a46-a0b0-8a1f2c3d4e5f',
  },
  status: {
    conditions: [
      { type: 'Ready', status: 'True', lastTransitionTime: t0, reason: 'InjectedBindResult', message: '' },
    ],
    asyncOpInProgress: false,
    currentOperation: '',
    reconciledGeneration: 1,
    externalProperties: { parameters: { role: 'reader' }, parameterChecksum: 'b'.repeat(64) },
    orphanMitigationInProgress: false,
    unbindStatus: 'Required',
    endpoints: [{ host: 'db.example.com', ports: ['5432', '9000-9010'], protocol: 'tcp' }],
    expiresAt: '2024-06-01T10:00:00Z',
    renewBefore: '2024-05-25T10:00:00Z',
  },
};

const examples: [string, KubeObject][] = [
  ['ClusterServiceBroker', clusterBroker],
  ['ServiceBroker', nsBroker],
  ['ClusterServiceClass', clusterClass],
  ['ServiceClass', nsClass],
  ['ClusterServicePlan', clusterPlan],
  ['ServicePlan', nsPlan],
  ['ServiceInstance', instance],
  ['ServiceBinding', binding],
];

describe('servicecatalog api-types schemas', () => {
  it('declares the eight kinds with their names and scopes', () => {
    expect(servicecatalogResources.map((r) => [r.plural, r.namespaced, r.shortNames.join(',')])).toEqual([
      ['clusterservicebrokers', false, 'csb'],
      ['servicebrokers', true, 'sb'],
      ['clusterserviceclasses', false, 'csc'],
      ['serviceclasses', true, 'sc'],
      ['clusterserviceplans', false, 'csp'],
      ['serviceplans', true, 'sp'],
      ['serviceinstances', true, 'si'],
      ['servicebindings', true, 'sbd'],
    ]);
    for (const r of servicecatalogResources) {
      expect(r.group).toBe('servicecatalog.k8s.io');
      expect(r.version).toBe('v1beta1');
      expect(r.listKind).toBe(`${r.kind}List`);
      expect(r.singular).toBe(r.kind.toLowerCase());
      expect(r.categories).toContain('svcat');
      expect(r.subresources).toEqual(r.kind === 'ServiceInstance' ? ['status', 'reference'] : ['status']);
    }
    expect(resource('ServiceInstance').categories).toContain('all');
    expect(resource('ServiceBinding').categories).toContain('all');
    expect(resource('ClusterServiceBroker').categories).not.toContain('all');
  });

  it.each(examples)('accepts a realistic %s', (kind, obj) => {
    expect(validate(kind, obj)).toEqual([]);
  });

  it('accepts the zero values Go clients send', () => {
    expect(
      validate('ServiceInstance', {
        apiVersion: api,
        kind: 'ServiceInstance',
        metadata: { name: 'x', namespace: 'ns' },
        spec: {
          serviceClassExternalName: 'small-db',
          servicePlanExternalName: 'free',
          externalID: '',
          updateRequests: 0,
        },
        status: {
          asyncOpInProgress: false,
          orphanMitigationInProgress: false,
          reconciledGeneration: 0,
          observedGeneration: 0,
          provisionStatus: '',
          deprovisionStatus: '',
        },
      }),
    ).toEqual([]);
    expect(
      validate('ClusterServiceBroker', { spec: { url: 'http://b', relistBehavior: '', relistRequests: 0 } }),
    ).toEqual([]);
  });

  it('rejects values of the wrong shape', () => {
    const bad = (kind: string, obj: unknown) => expect(validate(kind, obj)).not.toEqual([]);
    bad('ClusterServiceBroker', { spec: { url: 'http://b', relistBehavior: 'Sometimes' } });
    bad('ClusterServiceBroker', { spec: { url: 'http://b', relistDuration: 'fifteen minutes' } });
    bad('ClusterServiceBroker', { spec: { url: 'http://b', caBundle: 'not base64!' } });
    bad('ClusterServiceBroker', { spec: { url: 'http://b', relistRequests: 1.5 } });
    bad('ServiceInstance', { status: { conditions: [{ type: 'Ready', status: 'Maybe' }] } });
    bad('ServiceInstance', { status: { conditions: [{ status: 'True' }] } });
    bad('ServiceInstance', { status: { currentOperation: 'Bind' } });
    bad('ServiceBinding', { status: { conditions: [{ type: 'OrphanMitigation', status: 'True' }] } });
    bad('ServiceBinding', { status: { endpoints: [{ host: 'h', protocol: 'sctp' }] } });
    bad('ServiceInstance', { spec: { parameters: 'not an object' } });
  });

  it('accepts every Go duration spelling', () => {
    for (const d of ['15m0s', '1h', '0', '1.5h', '.5s', '300ms', '2h45m', '10us', '-1m']) {
      expect(validate('ClusterServiceBroker', { spec: { relistDuration: d } })).toEqual([]);
    }
  });

  it('describes every field and stays structural', () => {
    const problems: string[] = [];
    let checked = 0;
    const walk = (schema: Record<string, unknown>, path: string) => {
      if (schema.additionalProperties === false) problems.push(`${path}: additionalProperties false`);
      if (schema.type === 'object') {
        const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
        const open =
          schema['x-kubernetes-preserve-unknown-fields'] === true || schema.patternProperties !== undefined;
        if (!props && !open) problems.push(`${path}: object without properties`);
        for (const [name, sub] of Object.entries(props ?? {})) {
          // ObjectMeta comes from meta.ts and is shared by every kind; only our own fields are checked.
          if (!path.includes('.') && name === 'metadata') continue;
          if (!(typeof sub.description === 'string' && sub.description.length > 0)) {
            problems.push(`${path}.${name}: no description`);
          }
          checked++;
          walk(sub, `${path}.${name}`);
        }
        for (const sub of Object.values(
          (schema.patternProperties ?? {}) as Record<string, Record<string, unknown>>,
        )) {
          walk(sub, `${path}{}`);
        }
      }
      if (schema.type === 'array') walk(schema.items as Record<string, unknown>, `${path}[]`);
      if (schema.anyOf || schema.oneOf || schema.allOf) problems.push(`${path}: combinator`);
    };
    for (const r of servicecatalogResources) walk(r.schema, r.kind);
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(250);
  });
});

describe('printer columns', () => {
  it('computes STATUS from the last condition only', () => {
    expect(lastConditionState(undefined)).toBe('');
    expect(lastConditionState([])).toBe('');
    expect(lastConditionState([{ type: 'Ready', status: 'True', reason: 'Done' }])).toBe('Ready');
    expect(lastConditionState([{ type: 'Ready', status: 'False', reason: 'ErrorFetchingCatalog' }])).toBe(
      'ErrorFetchingCatalog',
    );
    expect(lastConditionState([{ type: 'Ready', status: 'Unknown' }])).toBe('');
    expect(
      lastConditionState([
        { type: 'Ready', status: 'True', reason: 'Ok' },
        { type: 'Failed', status: 'True', reason: 'ProvisionCallFailed' },
      ]),
    ).toBe('Failed');
    expect(
      lastConditionState([
        { type: 'Failed', status: 'True', reason: 'x' },
        { type: 'Ready', status: 'False', reason: 'Deprovisioning' },
      ]),
    ).toBe('Deprovisioning');
  });

  it('never repeats NAME or AGE', () => {
    for (const r of servicecatalogResources) {
      const names = r.printerColumns.map((c) => c.name);
      expect(names).not.toContain('NAME');
      expect(names).not.toContain('AGE');
    }
  });

  it('fills the columns of each kind', () => {
    expect(cells('ClusterServiceBroker', clusterBroker)).toEqual({
      URL: 'https://ups-broker.brokers.svc.cluster.local',
      STATUS: 'Ready',
      'RELIST-BEHAVIOR': 'Duration',
    });
    expect(cells('ServiceBroker', nsBroker).STATUS).toBe('');
    expect(cells('ClusterServiceClass', clusterClass)).toEqual({
      'EXTERNAL-NAME': 'user-provided-service',
      BROKER: 'ups-broker',
      'EXTERNAL-ID': '4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468',
    });
    expect(cells('ServicePlan', nsPlan)).toEqual({
      'EXTERNAL-NAME': 'free',
      BROKER: 'team-broker',
      CLASS: 'c1',
      'EXTERNAL-ID': 'p1-id',
    });
    expect(cells('ServiceInstance', instance)).toEqual({
      CLASS: 'ClusterServiceClass/small-db',
      PLAN: 'free',
      STATUS: 'Provisioning',
      DASHBOARD: 'https://dash.example.com/i/1',
      'EXTERNAL-ID': 'f1e8e3a4-1a8b-4a43-9d1b-1c1d2f5b6a70',
    });
    expect(cells('ServiceBinding', binding)).toEqual({
      'SERVICE-INSTANCE': 'test-database',
      'SECRET-NAME': 'db-secret',
      STATUS: 'Ready',
      'EXTERNAL-ID': 'b7c1f0de-8f0b-4a46-a0b0-8a1f2c3d4e5f',
    });
    expect(cells('ServiceBinding', { metadata: { name: 'empty' } })).toEqual({
      'SERVICE-INSTANCE': '',
      'SECRET-NAME': '',
      STATUS: '',
      'EXTERNAL-ID': '',
    });
  });

  it('shows the class and plan of an instance in the style the user chose', () => {
    expect(
      instanceClassDisplay({ serviceClassExternalName: 'small-db', servicePlanExternalName: 'free' }),
    ).toBe('ServiceClass/small-db');
    expect(
      instanceClassDisplay({ clusterServiceClassExternalID: 'cid', clusterServicePlanExternalID: 'pid' }),
    ).toBe('ClusterServiceClass/cid');
    expect(
      instancePlanDisplay({ clusterServiceClassExternalID: 'cid', clusterServicePlanExternalID: 'pid' }),
    ).toBe('pid');
    expect(instanceClassDisplay({ serviceClassName: 'k8s-c', servicePlanName: 'k8s-p' })).toBe(
      'ServiceClass/k8s-c',
    );
    expect(instancePlanDisplay({ serviceClassName: 'k8s-c', servicePlanName: 'k8s-p' })).toBe('k8s-p');
    // No plan yet (the default-plan admission fills it): the scope still follows the class.
    expect(instanceClassDisplay({ clusterServiceClassExternalName: 'db' })).toBe('ClusterServiceClass/db');
    expect(instancePlanDisplay({ clusterServiceClassExternalName: 'db' })).toBe('');
    expect(instanceClassDisplay({})).toBe('');
    expect(instanceClassDisplay(undefined)).toBe('');
  });
});

describe('selectable fields', () => {
  const fieldsOf = (kind: string) => Object.keys(resource(kind).selectableFields).sort();
  const select = (kind: string, field: string, obj: KubeObject) =>
    resource(kind).selectableFields[field](obj);

  it('declares the fields of each kind', () => {
    expect(fieldsOf('ClusterServiceBroker')).toEqual([]);
    expect(fieldsOf('ServiceBroker')).toEqual([]);
    expect(fieldsOf('ClusterServiceClass')).toEqual([
      'spec.clusterServiceBrokerName',
      'spec.externalID',
      'spec.externalName',
    ]);
    expect(fieldsOf('ServiceClass')).toEqual([
      'spec.externalID',
      'spec.externalName',
      'spec.serviceBrokerName',
    ]);
    expect(fieldsOf('ClusterServicePlan')).toEqual([
      'spec.clusterServiceBrokerName',
      'spec.clusterServiceClassRef.name',
      'spec.externalID',
      'spec.externalName',
    ]);
    expect(fieldsOf('ServicePlan')).toEqual([
      'spec.externalID',
      'spec.externalName',
      'spec.serviceBrokerName',
      'spec.serviceClassRef.name',
    ]);
    expect(fieldsOf('ServiceInstance')).toEqual([
      'spec.clusterServiceClassRef.name',
      'spec.clusterServicePlanRef.name',
      'spec.externalID',
      'spec.serviceClassRef.name',
      'spec.servicePlanRef.name',
    ]);
    expect(fieldsOf('ServiceBinding')).toEqual(['spec.externalID', 'spec.instanceRef.name']);
  });

  it('reads the values, undefined when unset', () => {
    expect(select('ClusterServiceClass', 'spec.externalName', clusterClass)).toBe('user-provided-service');
    expect(select('ServiceClass', 'spec.serviceBrokerName', nsClass)).toBe('team-broker');
    expect(select('ClusterServicePlan', 'spec.clusterServiceClassRef.name', clusterPlan)).toBe(
      '4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468',
    );
    expect(select('ServicePlan', 'spec.serviceClassRef.name', nsPlan)).toBe('c1');
    expect(select('ServiceInstance', 'spec.clusterServicePlanRef.name', instance)).toBe(
      '86064792-7ea2-467b-af93-ac9694d96d52',
    );
    expect(select('ServiceInstance', 'spec.serviceClassRef.name', instance)).toBeUndefined();
    expect(select('ServiceInstance', 'spec.externalID', { metadata: { name: 'x' } })).toBeUndefined();
    expect(select('ServiceBinding', 'spec.instanceRef.name', binding)).toBe('test-database');
    expect(select('ServiceBinding', 'spec.externalID', binding)).toBe('b7c1f0de-8f0b-4a46-a0b0-8a1f2c3d4e5f');
  });
});
