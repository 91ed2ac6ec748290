import { serviceBindingResource, type ServiceBinding } from '../api-types';
import { jsonPath } from '../controller-manager/controllers/binding-secret';
import { Fixture, identityOf, startSuite } from './binding-fixture';
import { eventually } from './harness';
import { condition, controllerSuite } from './harness/controllers';

/**
 * The ServiceBinding controller, continued: secret transforms and Secret ownership, parameters and
 * the plan's binding schema, waiting for the instance, rotation (B9, B10), abandon, and a
 * controller-manager restart in the middle of binds.
 */

const suite = controllerSuite(startSuite);

const credentials = {
  username: 'u',
  password: 'p',
  db: { host: 'h', port: 5432 },
  list: [{ a: 1 }, { a: 2 }],
  drop: 'x',
};

describe('JSONPath of addKey.jsonPathExpression', () => {
  it('evaluates kubectl-style templates', () => {
    const data = { a: { b: 'x', 'c.d': 2, list: [{ n: 1 }, { n: 'two' }] }, s: 'str' };
    expect(jsonPath('{.a.b}', data)).toBe('x');
    expect(jsonPath('.a.b', data)).toBe('x');
    expect(jsonPath('{$.a.b}', data)).toBe('x');
    expect(jsonPath("{.a['c.d']}", data)).toBe('2');
    expect(jsonPath('{.a.list[1].n}', data)).toBe('two');
    expect(jsonPath('{.a.list[-1].n}', data)).toBe('two');
    expect(jsonPath('{.a.list[*].n}', data)).toBe('1 two');
    expect(jsonPath('{..n}', data)).toBe('1 two');
    expect(jsonPath('{.a.list[0]}', data)).toBe('{"n":1}');
    expect(jsonPath('x-{.s}-y', data)).toBe('x-str-y');
    expect(() => jsonPath('{.missing}', data)).toThrow('.missing is not found');
    expect(() => jsonPath('{.a[?(@.b)]}', data)).toThrow('unsupported subscript');
    expect(() => jsonPath('{.a', data)).toThrow('unclosed');
  });
});

describe('secret transforms', () => {
  it('applies renameKey, addKey (value, stringValue, jsonPathExpression), addKeysFrom and removeKey in order', async () => {
    const f = await Fixture.create(suite, 'transforms');
    await f.instance('db', 'drain');
    await f.createSecret('extra', { EXTRA: 'e', password: 'overridden' });
    f.broker.script('bind', { times: 1, status: 201, body: { credentials } });
    await f.binding('b', 'db', {
      secretName: 'creds',
      secretTransforms: [
        { renameKey: { from: 'username', to: 'USER' } },
        { renameKey: { from: 'absent', to: 'NOTHING' } },
        { addKey: { key: 'RAW', value: Buffer.from('by\u0000tes').toString('base64') } },
        { addKey: { key: 'POOL', stringValue: '10', value: Buffer.from('ignored').toString('base64') } },
        { addKey: { key: 'HOST', jsonPathExpression: '{.db.host}', stringValue: 'ignored' } },
        { addKey: { key: 'URL', jsonPathExpression: 'postgres://{.USER}@{.db.host}:{.db.port}' } },
        { addKey: { key: 'AS', jsonPathExpression: '{.list[*].a}' } },
        { addKeysFrom: { secretRef: { name: 'extra' } } },
        { removeKey: { key: 'drop' } },
      ],
    });
    await f.waitReady('b');
    expect(await f.secret('creds')).toEqual({
      USER: 'u',
      password: 'overridden',
      db: '{"host":"h","port":5432}',
      list: '[{"a":1},{"a":2}]',
      RAW: 'by\u0000tes',
      POOL: '10',
      HOST: 'h',
      URL: 'postgres://u@h:5432',
      AS: '1 2',
      EXTRA: 'e',
    });
    expect(await f.rawSecret('b')).toBeUndefined();
    expect(f.broker.violations()).toEqual([]);
  });

  it('fails for good when a jsonPathExpression matches nothing, without orphan mitigation', async () => {
    const f = await Fixture.create(suite, 'jsonpathbad');
    await f.instance('db', 'drain');
    const created = await f.binding('b', 'db', {
      secretTransforms: [{ addKey: { key: 'X', jsonPathExpression: '{.nope}' } }],
    });
    const b = await f.waitFor('b', (x) => condition(x, 'Failed')?.status === 'True');
    expect(condition(b, 'Ready')?.reason).toBe('ErrorInjectingBindResult');
    expect(condition(b, 'Failed')?.message).toContain('.nope is not found');
    // the broker holds the binding: deleting ours unbinds it
    expect(b.status?.unbindStatus).toBe('Required');
    expect(await f.rawSecret('b')).toBeUndefined();
    await f.barrier('db');
    expect(f.unbinds(created.spec!.externalID)).toHaveLength(0);
    await f.delete('b');
    await f.waitGone('b');
    expect(f.unbinds(created.spec!.externalID).map((d) => d.status)).toEqual([200]);
  });

  it('fails for good on a credential key a Secret cannot have', async () => {
    const f = await Fixture.create(suite, 'badkey');
    await f.instance('db', 'drain');
    f.broker.script('bind', { times: 1, status: 201, body: { credentials: { 'my key': 'x', ok: 'y' } } });
    await f.binding('b', 'db');
    const b = await f.waitFor('b', (x) => condition(x, 'Failed')?.status === 'True');
    expect(condition(b, 'Failed')?.message).toContain('"my key"');
  });

  it('waits for an addKeysFrom Secret before binding, and refuses one of another namespace', async () => {
    const f = await Fixture.create(suite, 'addkeys');
    await f.instance('db', 'drain');
    await f.binding('b', 'db', { secretTransforms: [{ addKeysFrom: { secretRef: { name: 'later' } } }] });
    const waiting = await f.waitReason('b', 'ErrorInjectingBindResult');
    expect(condition(waiting, 'Ready')?.message).toContain('later" not found');
    expect(f.binds()).toHaveLength(0);
    await f.createSecret('later', { L: 'l' });
    await f.waitReady('b');
    expect((await f.secret('b'))?.L).toBe('l');

    await f.binding('other', 'db', {
      secretTransforms: [{ addKeysFrom: { secretRef: { namespace: 'kube-system', name: 'x' } } }],
    });
    const refused = await f.waitFor('other', (x) => condition(x, 'Failed')?.status === 'True');
    expect(condition(refused, 'Failed')?.message).toContain("binding's namespace");
    expect(f.binds(refused.spec!.externalID)).toHaveLength(0);
  });
});

describe('the Secret', () => {
  it('refuses to overwrite a Secret the binding does not own, and binds once it is gone', async () => {
    const f = await Fixture.create(suite, 'notmine');
    await f.instance('db', 'drain');
    await f.createSecret('b', { mine: 'yes' });
    await f.binding('b', 'db');
    const b = await f.waitReason('b', 'ErrorInjectingBindResult');
    expect(condition(b, 'Ready')?.message).toContain('is not owned by this ServiceBinding');
    expect(f.binds()).toHaveLength(0);
    expect(await f.secret('b')).toEqual({ mine: 'yes' });
    await f.api.delete((await import('../api-types/core')).secretResource, f.namespace, 'b');
    await f.waitReady('b');
    expect((await f.rawSecret('b'))?.metadata.ownerReferences?.[0].uid).toBe(b.metadata.uid);
  });

  it('leaves a Secret it does not own when the binding is deleted', async () => {
    const f = await Fixture.create(suite, 'leave');
    await f.instance('db', 'drain');
    await f.createSecret('taken', { mine: 'yes' });
    await f.binding('b', 'db', { secretName: 'taken' });
    await f.waitReason('b', 'ErrorInjectingBindResult');
    await f.delete('b');
    await f.waitGone('b');
    expect(await f.secret('taken')).toEqual({ mine: 'yes' });
    expect(f.unbinds()).toHaveLength(0);
  });
});

describe('parameters', () => {
  it('refuses parameters that break the plan binding schema, naming the field, before the broker sees them', async () => {
    const f = await Fixture.create(suite, 'schema');
    await f.instance('db', 'small');
    await f.createSecret('p', { v: JSON.stringify({ readOnly: 'yes', extra: 1 }) });
    await f.binding('b', 'db', { parametersFrom: [{ secretKeyRef: { name: 'p', key: 'v' } }] });
    const b = await f.waitFor('b', (x) => condition(x, 'Failed')?.status === 'True');
    expect(condition(b, 'Ready')?.reason).toBe('InvalidParameters');
    expect(condition(b, 'Failed')?.reason).toBe('InvalidParameters');
    expect(condition(b, 'Failed')?.message).toContain('parameters.readOnly');
    expect(condition(b, 'Failed')?.message).toContain('parameters.extra');
    expect(b.status?.reconciledGeneration).toBe(b.metadata.generation);
    await f.barrier('db');
    expect(f.binds(b.spec!.externalID)).toHaveLength(0);
    await f.waitEvent('b', 'InvalidParameters');
  });

  it('is refused by the API server when spec.parameters break the schema (ServiceBindingParametersSchema)', async () => {
    const f = await Fixture.create(suite, 'schemaapi');
    await f.instance('db', 'small');
    const err = await f.binding('b', 'db', { parameters: { readOnly: 'yes' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 422, reason: 'Invalid' });
    expect((err as Error).message).toContain('spec.parameters.readOnly');
    // with parametersFrom, a rule the Secret could satisfy is left to the controller; a wrong type is not
    await f.binding('ok', 'db', {
      parameters: { role: 'r' },
      parametersFrom: [{ secretKeyRef: { name: 'p', key: 'v' } }],
    });
    expect(await f.get('b')).toBeUndefined();
  });

  it('waits for a parametersFrom Secret (ErrorWithParameters), then binds', async () => {
    const f = await Fixture.create(suite, 'paramsfrom');
    await f.instance('db', 'small');
    await f.binding('b', 'db', {
      parameters: { role: 'admin' },
      parametersFrom: [{ secretKeyRef: { name: 'later', key: 'v' } }],
    });
    await f.waitReason('b', 'ErrorWithParameters');
    expect(f.binds()).toHaveLength(0);
    await f.createSecret('later', { v: JSON.stringify({ readOnly: false }) });
    const b = await f.waitReady('b');
    expect(f.binds()[0].body).toMatchObject({ parameters: { role: 'admin', readOnly: false } });
    expect(b.status?.externalProperties?.parameters).toEqual({ role: 'admin', readOnly: '<redacted>' });
  });
});

describe('the instance', () => {
  it('waits for the instance to be Ready', async () => {
    const f = await Fixture.create(suite, 'notready');
    const instance = await f.instance('db', 'drain', { ready: false });
    await f.binding('b', 'db');
    await f.waitReason('b', 'ErrorInstanceNotReady');
    expect(f.binds()).toHaveLength(0);
    await f.makeReady(instance);
    await f.waitReady('b');
  });

  it('waits for an instance that does not exist yet', async () => {
    const f = await Fixture.create(suite, 'noinstance');
    await f.binding('b', 'later');
    await f.waitReason('b', 'ReferencesNonexistentInstance');
    await f.instance('later', 'drain');
    await f.waitReady('b');
  });
});

describe('rotation (B9, B10)', () => {
  it('rotates a binding of a binding_rotatable plan once renew_before has passed', async () => {
    const f = await Fixture.create(suite, 'rotate');
    await f.instance('db', 'rotating');
    const renewBefore = new Date(Date.now() + 1500).toISOString();
    f.broker.script('bind', {
      times: 1,
      status: 201,
      body: {
        credentials: { username: 'old', password: 'old' },
        metadata: { renew_before: renewBefore, expires_at: new Date(Date.now() + 3600_000).toISOString() },
      },
    });
    const created = await f.binding('b', 'db', { parameters: { role: 'r' } });
    const first = created.spec!.externalID!;
    await f.waitReady('b');
    expect(await f.secret('b')).toEqual({ username: 'old', password: 'old' });

    const b = await f.waitFor('b', (x) => x.status?.externalID !== first && !x.status?.rotation, 20_000);
    const successor = b.status!.externalID!;
    expect(successor).not.toBe(first);
    expect(b.spec?.externalID).toBe(first);
    expect(condition(b, 'Ready')?.status).toBe('True');
    expect(b.status?.lastRotationTime).toBeDefined();
    // the successor's answer had no metadata: nothing more to renew
    expect(b.status?.renewBefore).toBeUndefined();
    const record = f.broker.binding(f.instanceId('db'), successor)!;
    expect(record.predecessorBindingId).toBe(first);
    expect(await f.secret('b')).toEqual(record.credentials);

    const [put] = f.binds(successor);
    expect(put.body).toMatchObject({
      service_id: f.ids.db,
      plan_id: f.ids.plans.rotating,
      predecessor_binding_id: first,
      bind_resource: { app_guid: f.namespaceUID },
    });
    expect((put.body as Record<string, unknown>).parameters).toBeUndefined();
    expect(identityOf(put.headers)).toBeUndefined();
    // the predecessor is unbound once the Secret holds the successor's credentials
    const [del] = f.unbinds(first);
    expect(del.query).toMatchObject({ service_id: f.ids.db, plan_id: f.ids.plans.rotating });
    expect(f.broker.binding(f.instanceId('db'), first)).toBeUndefined();
    await f.waitEvent('b', 'BindingRotated');

    // deleting the binding unbinds the binding the Secret came from
    await f.delete('b');
    await f.waitGone('b');
    expect(f.unbinds(successor)).toHaveLength(1);
    expect(f.broker.bindings()).toHaveLength(0);
    expect(f.broker.violations()).toEqual([]);
  });

  it('orphan-mitigates a successor whose bind failed, and tries again', async () => {
    const f = await Fixture.create(suite, 'rotatefail');
    await f.instance('db', 'rotating');
    // the latest rule first: the binding gets renew_before, its first successor a 500, the next one is created
    f.broker.script('bind', { times: 1, status: 500 });
    f.broker.script('bind', {
      times: 1,
      status: 201,
      body: {
        credentials: { username: 'old' },
        metadata: { renew_before: new Date(Date.now() + 500).toISOString() },
      },
    });
    const created = await f.binding('b', 'db');
    await f.waitReady('b');
    const b = await f.waitFor(
      'b',
      (x) => x.status?.externalID !== created.spec!.externalID && !x.status?.rotation,
      20_000,
    );
    const puts = f.binds().filter((e) => (e.body as Record<string, unknown>).predecessor_binding_id);
    expect(puts).toHaveLength(2);
    expect(puts[0].status).toBe(500);
    // the failed successor was unbound (orphan mitigation), the second one is the binding now
    expect(f.unbinds(puts[0].bindingId).length).toBeGreaterThanOrEqual(1);
    expect(b.status?.externalID).toBe(puts[1].bindingId);
    await f.waitEvent('b', 'RotationFailed');
    expect(f.broker.violations()).toEqual([]);
  });

  it('never rotates a binding of a plan that is not binding_rotatable', async () => {
    const f = await Fixture.create(suite, 'norotate');
    await f.instance('db', 'drain');
    f.broker.script('bind', {
      times: 1,
      status: 201,
      body: {
        credentials: { a: 'b' },
        metadata: { renew_before: new Date(Date.now() - 60_000).toISOString() },
      },
    });
    const created = await f.binding('b', 'db');
    const b = await f.waitReady('b');
    expect(b.status?.renewBefore).toBeDefined();
    await f.barrier('db');
    const again = (await f.get('b'))!;
    expect(again.status?.externalID).toBe(created.spec!.externalID);
    expect(again.status?.rotation).toBeUndefined();
    expect(f.binds().filter((e) => (e.body as Record<string, unknown>).predecessor_binding_id)).toHaveLength(
      0,
    );
  });
});

describe('abandon', () => {
  it('releases a binding whose broker is gone without calling it, deleting the Secret', async () => {
    const f = await Fixture.create(suite, 'abandon');
    await f.instance('db', 'drain');
    await f.binding('b', 'db');
    await f.waitReady('b');
    await f.broker.stop();
    suite.brokers.splice(suite.brokers.indexOf(f.broker), 1);
    await f.delete('b');
    const stuck = await f.waitReason('b', 'UnbindCallFailed');
    expect(condition(stuck, 'Ready')?.status).toBe('Unknown');
    expect(await f.rawSecret('b')).toBeUndefined();
    await f.api.patch(serviceBindingResource, f.namespace, 'b', {
      metadata: { annotations: { 'servicecatalog.k8s.io/abandon': 'true' } },
    });
    await f.waitGone('b');
    const event = await f.waitEvent('b', 'Abandoned');
    expect(event.type).toBe('Warning');
  });
});

describe('controller-manager restart', () => {
  it('carries on with the same binding ids: an asynchronous bind is polled, a failing one resent', async () => {
    const f = await Fixture.create(suite, 'restart');
    await f.instance('q', 'async');
    await f.instance('db', 'drain');
    f.broker.script('bind', { planId: f.ids.plans.async, async: { inProgressPolls: 1000 } });
    f.broker.script('bind', { planId: f.ids.plans.drain, status: 408, times: 1000 });
    const a = await f.binding('a', 'q');
    const s = await f.binding('s', 'db');
    await f.waitFor('a', (x) => x.status?.asyncOpInProgress === true);
    await eventually(async () => (f.binds(s.spec!.externalID).length >= 2 ? true : undefined));
    await suite.restartManager();
    const pollsBefore = f.broker.requests('bindingLastOperation').length;
    const bindsBefore = f.binds(s.spec!.externalID).length;
    await eventually(async () =>
      f.broker.requests('bindingLastOperation').length > pollsBefore &&
      f.binds(s.spec!.externalID).length > bindsBefore
        ? true
        : undefined,
    );
    // the asynchronous bind is not sent again, only polled; the other is resent under its own id
    expect(f.binds(a.spec!.externalID)).toHaveLength(1);
    expect(
      f
        .binds()
        .map((e) => e.bindingId)
        .every((id) => id === a.spec!.externalID || id === s.spec!.externalID),
    ).toBe(true);
    const states = await Promise.all(['a', 's'].map((n) => f.get(n)));
    expect(states.map((x: ServiceBinding | undefined) => x?.status?.currentOperation)).toEqual([
      'Bind',
      'Bind',
    ]);
    expect(f.broker.violations()).toEqual([]);
  });
});
