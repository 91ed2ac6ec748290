import { join } from 'node:path';
import type { Logger } from '../../pkg/logging';
import type { Catalog, JSONObject } from '../../pkg/osb';
import { jsonEqual } from '../../pkg/json';
import {
  DEDICATED_MAINTENANCE,
  ENGINES,
  IDS,
  PLANS,
  sqlCatalog,
  type EngineName,
  type PlanSpec,
} from './catalog';
import { Locks } from './locks';
import { bindingUsername, instanceNames, newPassword } from './names';
import { parameterProblems } from './parameters';
import { valid } from './requests';
import type {
  BindingRecord,
  DatabaseSpec,
  DedicatedServers,
  InstanceRecord,
  LastOperation,
  Login,
  SqlServer,
  StateStore,
} from './types';

/**
 * The broker's behaviour, endpoint by endpoint, apart from HTTP: each method takes what the
 * request carried and returns the answer, or throws a BrokerError that is the answer. State
 * changes are written to the engine's state store before they are answered, so a restarted
 * broker knows everything a platform was told.
 */

/** One engine's servers: the shared one (which also holds the state) and the dedicated ones. */
export interface Engine {
  name: EngineName;
  shared: SqlServer;
  store: StateStore;
  dedicated: DedicatedServers;
}

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface ErrorBody {
  error?: string;
  description?: string;
  instance_usable?: boolean;
  update_repeatable?: boolean;
}

/** An answer other than success. */
export class BrokerError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.description ?? `HTTP ${status}`);
  }
}

const badRequest = (problems: string[]) => new BrokerError(400, { description: `${problems.join('; ')}.` });
const notFound = (what: string) => new BrokerError(404, { description: `${what} does not exist.` });
const conflict = (description: string) => new BrokerError(409, { description });
const concurrencyError = (description: string) =>
  new BrokerError(422, { error: 'ConcurrencyError', description });
const asyncRequired = () =>
  new BrokerError(422, {
    error: 'AsyncRequired',
    description:
      'This Service Plan requires client support for asynchronous service operations (accepts_incomplete=true).',
  });
/** 410 is a success for a delete: there is nothing left to delete. */
const GONE: Answer = { status: 410, body: {} };

/** How long a platform should wait between polls of a dedicated server's provisioning (seconds). */
const POLL_AFTER_SECONDS = '2';
/** How long deprovisioned instances are remembered for polls of their delete. */
const TOMBSTONE_MS = 24 * 3600_000;

const bindingKey = (instanceId: string, bindingId: string) => JSON.stringify([instanceId, bindingId]);

const databaseSpec = (r: InstanceRecord): DatabaseSpec => ({
  database: r.database,
  owner: r.owner,
  connectionLimit: r.connectionLimit,
  extensions: r.parameters.extensions as string[] | undefined,
  charset: r.parameters.charset as string | undefined,
  collation: r.parameters.collation as string | undefined,
});

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export interface BrokerOptions {
  engines: Engine[];
  /** Where dedicated servers keep their data. */
  dataDir: string;
  log: Logger;
}

export class SqlBroker {
  readonly catalog: Catalog;
  private readonly engines: Map<EngineName, Engine>;
  private readonly instances = new Map<string, InstanceRecord>();
  private readonly bindings = new Map<string, BindingRecord>();
  private readonly locks = new Locks();
  /** Asynchronous operations running, by instance. */
  private readonly jobs = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  /** Administrator connections to dedicated servers, by instance. */
  private readonly admins = new Map<string, SqlServer>();
  /** Starts of dedicated servers, by instance: started once, waited for by every operation. */
  private readonly starts = new Map<string, Promise<void>>();
  private readonly log: Logger;
  private readonly dataDir: string;

  private constructor(o: BrokerOptions) {
    this.engines = new Map(o.engines.map((e) => [e.name, e]));
    this.catalog = sqlCatalog(o.engines.map((e) => e.name));
    this.log = o.log;
    this.dataDir = o.dataDir;
  }

  /** Loads the state, resumes interrupted operations and starts the dedicated servers. */
  static async start(o: BrokerOptions): Promise<SqlBroker> {
    const broker = new SqlBroker(o);
    for (const engine of o.engines) {
      const { instances, bindings } = await engine.store.load();
      for (const r of instances) {
        if (r.state === 'deprovisioned' && Date.now() - Date.parse(r.deletedAt ?? '') > TOMBSTONE_MS) {
          await engine.store.deleteInstance(r.id);
        } else broker.instances.set(r.id, r);
      }
      for (const b of bindings) broker.bindings.set(bindingKey(b.instanceId, b.id), b);
    }
    for (const r of broker.instances.values()) broker.resume(r);
    o.log.info(
      { instances: broker.instances.size, bindings: broker.bindings.size, jobs: broker.jobs.size },
      'state loaded',
    );
    return broker;
  }

  /** What an instance needs after a restart of the broker. */
  private resume(r: InstanceRecord): void {
    const plan = PLANS.get(r.planId)!;
    if (!plan.dedicated) return;
    if (r.state === 'provisioning' || r.state === 'deprovisioning') {
      const release = this.locks.instance(r.id)!;
      if (r.state === 'provisioning') this.provisionDedicated(r, release);
      else this.deprovisionDedicated(r, release);
    } else if (r.state === 'provisioned') {
      this.running(r).catch((err) =>
        this.log.error(
          { err, instance: r.id },
          'dedicated server did not start; trying again on its next use',
        ),
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  private engine(name: EngineName): Engine {
    return this.engines.get(name)!;
  }

  /** The engine of a request's service_id; 400 when this broker does not offer it. */
  private offering(serviceId: string): EngineName {
    const engine = ENGINES.find((e) => IDS[e].serviceId === serviceId);
    if (!engine || !this.engines.has(engine)) {
      throw badRequest([`service_id ${serviceId} is not a service offering of this broker`]);
    }
    return engine;
  }

  /** The plan of a request's ids; 400 when this broker does not offer it. */
  private plan(serviceId: string, planId: string): PlanSpec {
    this.offering(serviceId);
    const plan = PLANS.get(planId);
    if (!plan || plan.serviceId !== serviceId) {
      throw badRequest([`plan_id ${planId} is not a plan of service offering ${serviceId}`]);
    }
    return plan;
  }

  private checkMaintenance(plan: PlanSpec, info: { version?: string } | undefined): void {
    if (info?.version === undefined) return;
    const current = plan.dedicated ? DEDICATED_MAINTENANCE.version : undefined;
    if (info.version === current) return;
    throw new BrokerError(422, {
      error: 'MaintenanceInfoConflict',
      description: current
        ? `maintenance_info.version ${info.version} is not the plan's (${current}); fetch the catalog again.`
        : `Plan ${plan.name} has no maintenance_info; fetch the catalog again.`,
    });
  }

  /** The server holding an instance's database (a dedicated one need not run for this). */
  private server(r: InstanceRecord): SqlServer {
    const engine = this.engine(r.engine);
    if (!r.server) return engine.shared;
    let admin = this.admins.get(r.id);
    if (!admin) {
      admin = engine.dedicated.admin(r.server);
      this.admins.set(r.id, admin);
    }
    return admin;
  }

  /** The server holding an instance's database, running. */
  private async running(r: InstanceRecord): Promise<SqlServer> {
    if (r.server && r.state === 'provisioned') {
      let start = this.starts.get(r.id);
      if (!start) {
        start = this.engine(r.engine).dedicated.start(r.server, this.stopping.signal);
        start.catch(() => this.starts.delete(r.id));
        this.starts.set(r.id, start);
      }
      await start;
    }
    return this.server(r);
  }

  private async forgetServer(r: InstanceRecord): Promise<void> {
    this.starts.delete(r.id);
    const admin = this.admins.get(r.id);
    this.admins.delete(r.id);
    await admin?.close();
  }

  private bindingsOf(instanceId: string): BindingRecord[] {
    return [...this.bindings.values()].filter((b) => b.instanceId === instanceId);
  }

  private lockInstance(id: string): () => void {
    const release = this.locks.instance(id);
    if (!release) throw concurrencyError('Another operation for this Service Instance is in progress.');
    return release;
  }

  private async save(r: InstanceRecord): Promise<void> {
    await this.engine(r.engine).store.saveInstance(r);
    this.instances.set(r.id, r);
  }

  /** Runs an asynchronous operation; the instance stays locked until it ends. */
  private job(r: InstanceRecord, release: () => void, work: (signal: AbortSignal) => Promise<void>): void {
    const { signal } = this.stopping;
    const done = work(signal)
      .catch(async (err) => {
        // stopping: the operation goes on after the restart
        if (signal.aborted) return;
        this.log.error({ err, instance: r.id, operation: r.operation.kind }, 'operation failed');
        await this.fail(r, err).catch((e) =>
          this.log.error({ err: e, instance: r.id }, 'recording a failure failed'),
        );
      })
      .finally(() => {
        this.jobs.delete(r.id);
        release();
      });
    this.jobs.set(r.id, done);
  }

  private async fail(r: InstanceRecord, err: unknown): Promise<void> {
    const kind = r.operation.kind;
    await this.save({
      ...r,
      state: 'failed',
      operation: {
        kind,
        state: 'failed',
        description: `${kind === 'provision' ? 'Provisioning' : 'Deprovisioning'} failed: ${message(err)}`,
      },
    });
  }

  // -------------------------------------------------------------------------------------------
  // Instances

  async provision(id: string, body: unknown, query: unknown): Promise<Answer> {
    if (!valid.mutateQuery(query)) throw badRequest(valid.mutateQuery.problems(query));
    if (!valid.provision(body)) throw badRequest(valid.provision.problems(body));
    const plan = this.plan(body.service_id, body.plan_id);
    const parameters = body.parameters ?? {};
    const problems = parameterProblems(plan.engine, plan.name, 'create', parameters);
    if (problems.length) throw badRequest(problems);
    this.checkMaintenance(plan, body.maintenance_info);

    const existing = this.instances.get(id);
    if (existing && existing.state !== 'deprovisioned') {
      const same =
        existing.serviceId === body.service_id &&
        existing.planId === body.plan_id &&
        jsonEqual(existing.parameters, parameters);
      if (!same) {
        throw conflict('The Service Instance exists with another service offering, plan or parameters.');
      }
      if (existing.state === 'provisioned') return { status: 200, body: {} };
      if (existing.state === 'deprovisioning') {
        throw concurrencyError('The Service Instance is being deprovisioned.');
      }
      if (this.jobs.has(id)) return { status: 202, body: { operation: 'provision' } };
      // provisioning that failed, or that a crash interrupted: provision again
    }
    if (plan.dedicated && (query as { accepts_incomplete?: string }).accepts_incomplete !== 'true') {
      throw asyncRequired();
    }
    const release = this.lockInstance(id);
    let handedOver = false;
    try {
      const names = instanceNames(id);
      const r: InstanceRecord = {
        id,
        engine: plan.engine,
        serviceId: plan.serviceId,
        planId: plan.id,
        state: 'provisioning',
        operation: { kind: 'provision', state: 'in progress' },
        parameters,
        context: body.context,
        organizationGuid: body.organization_guid,
        spaceGuid: body.space_guid,
        maintenanceVersion: plan.dedicated ? DEDICATED_MAINTENANCE.version : undefined,
        database: names.database,
        owner: names.owner,
        connectionLimit: (parameters.connectionLimit as number | undefined) ?? plan.defaultConnectionLimit,
        server: plan.dedicated
          ? { dir: join(this.dataDir, `${plan.engine}-${names.key}`), port: 0, adminPassword: '' }
          : undefined,
      };
      if (!plan.dedicated) {
        const serverProblems = await this.engine(plan.engine).shared.parameterProblems(databaseSpec(r));
        if (serverProblems.length) throw badRequest(serverProblems);
      }
      await this.save(r);
      if (plan.dedicated) {
        this.provisionDedicated(r, release);
        handedOver = true;
        return {
          status: 202,
          body: { operation: 'provision' },
          headers: { 'retry-after': POLL_AFTER_SECONDS },
        };
      }
      await this.provisionShared(r);
      return { status: 201, body: {} };
    } finally {
      if (!handedOver) release();
    }
  }

  private async provisionShared(r: InstanceRecord): Promise<void> {
    const server = this.engine(r.engine).shared;
    try {
      await server.createDatabase(databaseSpec(r));
    } catch (e) {
      // answer 500 with nothing left behind, if the server lets us clean up
      const cleaned = await server.dropDatabase(databaseSpec(r), []).then(
        () => true,
        () => false,
      );
      if (cleaned) {
        await this.engine(r.engine).store.deleteInstance(r.id);
        this.instances.delete(r.id);
      } else await this.fail(r, e);
      throw new BrokerError(500, { description: `Creating the database failed: ${message(e)}` });
    }
    await this.save({ ...r, state: 'provisioned', operation: { kind: 'provision', state: 'succeeded' } });
    this.log.info({ instance: r.id, database: r.database }, 'provisioned');
  }

  private provisionDedicated(r: InstanceRecord, release: () => void): void {
    this.job(r, release, async (signal) => {
      const engine = this.engine(r.engine);
      // a connection to a server of an earlier attempt
      await this.forgetServer(r);
      const server = await engine.dedicated.create(r.server!.dir, signal);
      const withServer = { ...r, server };
      const admin = engine.dedicated.admin(server);
      try {
        await this.save(withServer);
        await admin.createDatabase(databaseSpec(r));
      } catch (e) {
        // a failed provisioning leaves no server running
        if (!signal.aborted) await engine.dedicated.destroy(server).catch(() => undefined);
        throw e;
      } finally {
        await admin.close();
      }
      await this.save({
        ...withServer,
        state: 'provisioned',
        operation: { kind: 'provision', state: 'succeeded' },
      });
      this.starts.set(r.id, Promise.resolve());
      this.log.info({ instance: r.id, port: server.port }, 'dedicated server provisioned');
    });
  }

  async update(id: string, body: unknown, query: unknown): Promise<Answer> {
    if (!valid.mutateQuery(query)) throw badRequest(valid.mutateQuery.problems(query));
    if (!valid.update(body)) throw badRequest(valid.update.problems(body));
    this.offering(body.service_id);
    const r = this.instances.get(id);
    if (!r || r.state === 'deprovisioned') throw notFound('The Service Instance');
    if (body.service_id !== r.serviceId) {
      throw badRequest([`service_id ${body.service_id} is not the Service Instance's (${r.serviceId})`]);
    }
    const plan = this.plan(body.service_id, body.plan_id ?? r.planId);
    if (r.state === 'provisioning' || r.state === 'deprovisioning') {
      throw concurrencyError(`The Service Instance is being ${r.state}.`);
    }
    if (r.state === 'failed') {
      throw new BrokerError(422, {
        description: 'The Service Instance failed; deprovision it.',
        instance_usable: false,
        update_repeatable: false,
      });
    }
    const current = PLANS.get(r.planId)!;
    if (plan.id !== current.id && (plan.dedicated || current.dedicated)) {
      throw new BrokerError(422, {
        description: `Plan ${current.name} cannot change to ${plan.name}: a dedicated server and a shared database do not turn into each other.`,
        update_repeatable: false,
      });
    }
    const problems = parameterProblems(plan.engine, plan.name, 'update', body.parameters ?? {});
    if (problems.length) throw badRequest(problems);
    this.checkMaintenance(plan, body.maintenance_info);
    const parameters: JSONObject = { ...r.parameters, ...body.parameters };
    const connectionLimit = (parameters.connectionLimit as number | undefined) ?? plan.defaultConnectionLimit;
    if (connectionLimit > plan.maxConnectionLimit) {
      throw new BrokerError(422, {
        description: `connectionLimit ${connectionLimit} is more than plan ${plan.name} allows (${plan.maxConnectionLimit}); give a smaller parameters.connectionLimit with the plan change.`,
        update_repeatable: false,
      });
    }
    const release = this.lockInstance(id);
    try {
      const next: InstanceRecord = {
        ...r,
        planId: plan.id,
        parameters,
        connectionLimit,
        context: body.context ?? r.context,
        operation: { kind: 'update', state: 'succeeded' },
      };
      if (connectionLimit !== r.connectionLimit) {
        const server = await this.running(r);
        const logins = this.bindingsOf(id).map((b) => b.username);
        try {
          await server.setConnectionLimit(databaseSpec(next), logins);
        } catch (e) {
          throw new BrokerError(500, { description: `Changing the connection limit failed: ${message(e)}` });
        }
      }
      await this.save(next);
      this.log.info({ instance: id, plan: plan.name, connectionLimit }, 'updated');
      return { status: 200, body: {} };
    } finally {
      release();
    }
  }

  async deprovision(id: string, query: unknown): Promise<Answer> {
    if (!valid.deleteQuery(query)) throw badRequest(valid.deleteQuery.problems(query));
    const r = this.instances.get(id);
    if (!r || r.state === 'deprovisioned') return GONE;
    if (query.service_id !== r.serviceId || query.plan_id !== r.planId) {
      throw badRequest([
        `service_id ${query.service_id} and plan_id ${query.plan_id} are not the Service Instance's (${r.serviceId}, ${r.planId})`,
      ]);
    }
    const plan = PLANS.get(r.planId)!;
    if (r.state === 'deprovisioning' && this.jobs.has(id))
      return { status: 202, body: { operation: 'deprovision' } };
    if (plan.dedicated && query.accepts_incomplete !== 'true') throw asyncRequired();
    const release = this.lockInstance(id);
    if (plan.dedicated) {
      const next: InstanceRecord = {
        ...r,
        state: 'deprovisioning',
        operation: { kind: 'deprovision', state: 'in progress' },
      };
      try {
        await this.save(next);
      } catch (e) {
        release();
        throw e;
      }
      this.deprovisionDedicated(next, release);
      return {
        status: 202,
        body: { operation: 'deprovision' },
        headers: { 'retry-after': POLL_AFTER_SECONDS },
      };
    }
    try {
      const logins = this.bindingsOf(id).map((b) => b.username);
      try {
        await this.engine(r.engine).shared.dropDatabase(databaseSpec(r), logins);
      } catch (e) {
        throw new BrokerError(500, { description: `Dropping the database failed: ${message(e)}` });
      }
      await this.forget(r);
      this.log.info({ instance: id, database: r.database }, 'deprovisioned');
      return { status: 200, body: {} };
    } finally {
      release();
    }
  }

  private async forget(r: InstanceRecord): Promise<void> {
    await this.engine(r.engine).store.deleteInstance(r.id);
    this.instances.delete(r.id);
    for (const b of this.bindingsOf(r.id)) this.bindings.delete(bindingKey(b.instanceId, b.id));
  }

  private deprovisionDedicated(r: InstanceRecord, release: () => void): void {
    this.job(r, release, async () => {
      await this.forgetServer(r);
      // the database, its logins and their sessions go with the server
      await this.engine(r.engine).dedicated.destroy(r.server!);
      await this.forget(r);
      // remembered a while, so that polls of this delete still succeed
      await this.save({
        ...r,
        state: 'deprovisioned',
        operation: { kind: 'deprovision', state: 'succeeded' },
        deletedAt: new Date().toISOString(),
      });
      this.log.info({ instance: r.id }, 'dedicated server deprovisioned');
    });
  }

  async getInstance(id: string, query: unknown): Promise<Answer> {
    if (!valid.getQuery(query)) throw badRequest(valid.getQuery.problems(query));
    const r = this.instances.get(id);
    if (!r || r.state === 'provisioning' || r.state === 'deprovisioned' || r.state === 'failed') {
      throw notFound('The Service Instance');
    }
    if (this.locks.instanceBusy(id) && r.state === 'provisioned') {
      throw concurrencyError('The Service Instance is being updated.');
    }
    return {
      status: 200,
      body: {
        service_id: r.serviceId,
        plan_id: r.planId,
        parameters: r.parameters,
        ...(r.maintenanceVersion ? { maintenance_info: { version: r.maintenanceVersion } } : {}),
      },
    };
  }

  async lastOperation(id: string, query: unknown): Promise<Answer> {
    if (!valid.getQuery(query)) throw badRequest(valid.getQuery.problems(query));
    const { operation } = query;
    const r = this.instances.get(id);
    if (!r) {
      // forgotten since: a delete that ended
      if (operation === 'deprovision') return GONE;
      throw notFound('The Service Instance');
    }
    if (operation !== undefined && operation !== r.operation.kind) {
      throw badRequest([
        `operation ${operation} is not the Service Instance's last operation (${r.operation.kind})`,
      ]);
    }
    return {
      status: 200,
      body: lastOperationBody(r.operation),
      headers: r.operation.state === 'in progress' ? { 'retry-after': POLL_AFTER_SECONDS } : undefined,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Bindings

  async bind(instanceId: string, bindingId: string, body: unknown, query: unknown): Promise<Answer> {
    if (!valid.mutateQuery(query)) throw badRequest(valid.mutateQuery.problems(query));
    if (!valid.bind(body)) throw badRequest(valid.bind.problems(body));
    const plan = this.plan(body.service_id, body.plan_id);
    const r = this.instances.get(instanceId);
    if (!r || r.state === 'deprovisioned') throw notFound('The Service Instance');
    if (body.service_id !== r.serviceId || body.plan_id !== r.planId) {
      throw badRequest([
        `service_id ${body.service_id} and plan_id ${body.plan_id} are not the Service Instance's (${r.serviceId}, ${r.planId})`,
      ]);
    }
    if (body.predecessor_binding_id !== undefined) {
      throw badRequest([
        `plan ${plan.name} is not binding_rotatable: predecessor_binding_id is not accepted`,
      ]);
    }
    const parameters = body.parameters ?? {};
    const problems = parameterProblems(plan.engine, plan.name, 'bind', parameters);
    if (problems.length) throw badRequest(problems);
    if (r.state === 'failed')
      throw new BrokerError(422, { description: 'The Service Instance failed; deprovision it.' });
    if (r.state !== 'provisioned') throw concurrencyError(`The Service Instance is being ${r.state}.`);

    const key = bindingKey(instanceId, bindingId);
    const existing = this.bindings.get(key);
    if (existing) {
      if (!jsonEqual(existing.parameters, parameters)) {
        throw conflict('The Service Binding exists with other parameters.');
      }
      if (existing.state === 'bound') return { status: 200, body: this.bindingBody(r, existing) };
      // a bind that a crash or a failure interrupted: bind again
    }
    const release = this.locks.binding(instanceId, bindingId);
    if (!release)
      throw concurrencyError(
        'Another operation for this Service Instance or Service Binding is in progress.',
      );
    try {
      const b: BindingRecord = existing ?? {
        id: bindingId,
        instanceId,
        serviceId: r.serviceId,
        planId: r.planId,
        state: 'binding',
        parameters,
        context: body.context,
        bindResource: body.bind_resource,
        username: bindingUsername(instanceId, bindingId),
        password: newPassword(),
        readOnly: parameters.readOnly === true,
      };
      const store = this.engine(r.engine).store;
      await store.saveBinding(b);
      this.bindings.set(key, b);
      const server = await this.running(r);
      try {
        await server.createLogin(databaseSpec(r), b);
      } catch (e) {
        const cleaned = await server.dropLogin(databaseSpec(r), b.username).then(
          () => true,
          () => false,
        );
        if (cleaned) {
          await store.deleteBinding(instanceId, bindingId);
          this.bindings.delete(key);
        }
        throw new BrokerError(500, { description: `Creating the login failed: ${message(e)}` });
      }
      const bound: BindingRecord = { ...b, state: 'bound' };
      await store.saveBinding(bound);
      this.bindings.set(key, bound);
      this.log.info({ instance: instanceId, binding: bindingId, readOnly: b.readOnly }, 'bound');
      return { status: 201, body: this.bindingBody(r, bound) };
    } finally {
      release();
    }
  }

  private bindingBody(r: InstanceRecord, b: BindingRecord) {
    const server = this.server(r);
    const login: Login = b;
    return {
      credentials: server.credentials(databaseSpec(r), login),
      endpoints: [{ host: server.address.host, ports: [String(server.address.port)], protocol: 'tcp' }],
    };
  }

  async unbind(instanceId: string, bindingId: string, query: unknown): Promise<Answer> {
    if (!valid.deleteQuery(query)) throw badRequest(valid.deleteQuery.problems(query));
    const b = this.bindings.get(bindingKey(instanceId, bindingId));
    const r = this.instances.get(instanceId);
    if (!b || !r) return GONE;
    // after a plan change the platform names the instance's plan, not the one bound under
    if (query.service_id !== b.serviceId || (query.plan_id !== b.planId && query.plan_id !== r.planId)) {
      throw badRequest([
        `service_id ${query.service_id} and plan_id ${query.plan_id} are not the Service Binding's (${b.serviceId}, ${r.planId})`,
      ]);
    }
    const release = this.locks.binding(instanceId, bindingId);
    if (!release)
      throw concurrencyError(
        'Another operation for this Service Instance or Service Binding is in progress.',
      );
    try {
      const server = await this.running(r);
      try {
        await server.dropLogin(databaseSpec(r), b.username);
      } catch (e) {
        throw new BrokerError(500, { description: `Dropping the login failed: ${message(e)}` });
      }
      await this.engine(r.engine).store.deleteBinding(instanceId, bindingId);
      this.bindings.delete(bindingKey(instanceId, bindingId));
      this.log.info({ instance: instanceId, binding: bindingId }, 'unbound');
      return { status: 200, body: {} };
    } finally {
      release();
    }
  }

  async getBinding(instanceId: string, bindingId: string, query: unknown): Promise<Answer> {
    if (!valid.getQuery(query)) throw badRequest(valid.getQuery.problems(query));
    const b = this.bindings.get(bindingKey(instanceId, bindingId));
    const r = this.instances.get(instanceId);
    if (!b || !r || b.state !== 'bound') throw notFound('The Service Binding');
    return { status: 200, body: { ...this.bindingBody(r, b), parameters: b.parameters } };
  }

  /** Binding is synchronous: the operation is over by the time a platform could poll. */
  async bindingLastOperation(instanceId: string, bindingId: string, query: unknown): Promise<Answer> {
    if (!valid.getQuery(query)) throw badRequest(valid.getQuery.problems(query));
    const b = this.bindings.get(bindingKey(instanceId, bindingId));
    if (!b) throw notFound('The Service Binding');
    const state =
      b.state === 'bound'
        ? 'succeeded'
        : this.locks.bindingBusy(instanceId, bindingId)
          ? 'in progress'
          : 'failed';
    return { status: 200, body: { state } };
  }

  // -------------------------------------------------------------------------------------------
  // The process

  /** What keeps the broker from serving (its shared servers unreachable); empty when ready. */
  async problems(): Promise<string[]> {
    const out: string[] = [];
    for (const e of this.engines.values()) {
      await e.shared.ping().catch((err) => out.push(`${e.name} server: ${message(err)}`));
    }
    return out;
  }

  /** Instances and bindings by engine, plan and instance state, for /metrics. */
  counts(): Array<{ engine: EngineName; plan: string; state: string; instances: number; bindings: number }> {
    const bindings = new Map<string, number>();
    for (const b of this.bindings.values()) bindings.set(b.instanceId, (bindings.get(b.instanceId) ?? 0) + 1);
    const rows = new Map<
      string,
      { engine: EngineName; plan: string; state: string; instances: number; bindings: number }
    >();
    for (const r of this.instances.values()) {
      const plan = PLANS.get(r.planId)!.name;
      const k = `${r.engine}/${plan}/${r.state}`;
      const row = rows.get(k) ?? { engine: r.engine, plan, state: r.state, instances: 0, bindings: 0 };
      row.instances++;
      row.bindings += bindings.get(r.id) ?? 0;
      rows.set(k, row);
    }
    return [...rows.values()];
  }

  /**
   * Interrupts the asynchronous operations (they go on after the next start), stops the dedicated
   * servers (the next start starts them again) and closes the connections.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.jobs.values(), ...this.starts.values()]);
    await Promise.allSettled(
      [...this.instances.values()]
        .filter((r) => r.server && r.state !== 'deprovisioned')
        .map(async (r) => {
          await this.forgetServer(r);
          await this.engine(r.engine).dedicated.stop(r.server!);
        }),
    );
    for (const e of this.engines.values()) await e.shared.close();
  }
}

function lastOperationBody(op: LastOperation) {
  return {
    state: op.state,
    ...(op.description ? { description: op.description } : {}),
    // a failed deprovision left the instance unusable; other failures do not carry the field
    ...(op.state === 'failed' && op.kind === 'deprovision' ? { instance_usable: false } : {}),
  };
}
