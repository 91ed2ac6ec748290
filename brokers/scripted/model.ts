import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { JSONObject, MaintenanceInfo } from '../../pkg/osb';
import type { CatalogIndex } from './catalog';
import type { AsyncBehaviour, BindingRecord, InstanceRecord } from './types';

/**
 * The broker's state and its default ("happy") behaviour. Every method answers without changing
 * anything; the change is in `commit`, which the server runs only when the answer it finally
 * sends is a success (or a script says the work happened anyway).
 */
export interface Outcome {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  commit?: () => void;
}

type OperationKind = 'provision' | 'update' | 'deprovision' | 'bind' | 'unbind';

export interface Operation {
  /** What the platform was given to echo; undefined when the 202 carried none. */
  id?: string;
  kind: OperationKind;
  left: number;
  spec: AsyncBehaviour;
  /** The answer to every poll once the operation ended (brokers SHOULD NOT forget it at once). */
  final?: Outcome;
  /** Changes the state when the operation ends. */
  end: (outcome: 'succeeded' | 'failed' | 'gone') => void;
  pendingPlanId?: string;
}

const ASYNC_REQUIRED_TEXT = 'This Service Plan requires client support for asynchronous service operations.';

export const errorBody = (error: string | undefined, description: string) =>
  error === undefined ? { description } : { error, description };

export const asyncRequired = (): Outcome => ({
  status: 422,
  body: errorBody('AsyncRequired', ASYNC_REQUIRED_TEXT),
});
const concurrencyError = (what: string): Outcome => ({
  status: 422,
  body: errorBody('ConcurrencyError', `Another operation for this ${what} is in progress.`),
});

const bindingKey = (instanceId: string, bindingId: string) => JSON.stringify([instanceId, bindingId]);

export class BrokerModel {
  readonly instances = new Map<string, InstanceRecord>();
  readonly bindings = new Map<string, BindingRecord>();
  private readonly instanceOps = new Map<string, Operation>();
  private readonly bindingOps = new Map<string, Operation>();
  private opCount = 0;
  baseUrl = '';

  constructor(private readonly catalog: CatalogIndex) {}

  reset(): void {
    this.instances.clear();
    this.bindings.clear();
    this.instanceOps.clear();
    this.bindingOps.clear();
    this.opCount = 0;
  }

  binding(instanceId: string, bindingId: string): BindingRecord | undefined {
    return this.bindings.get(bindingKey(instanceId, bindingId));
  }

  /** The operation id the platform must echo when polling, if one is running or ended. */
  instanceOperation(instanceId: string): Operation | undefined {
    return this.instanceOps.get(instanceId);
  }

  bindingOperation(instanceId: string, bindingId: string): Operation | undefined {
    return this.bindingOps.get(bindingKey(instanceId, bindingId));
  }

  // -------------------------------------------------------------------------------------------
  // Instances

  provision(instanceId: string, body: JSONObject, async: AsyncBehaviour | undefined): Outcome {
    const serviceId = body.service_id as string;
    const planId = body.plan_id as string;
    const parameters = body.parameters as JSONObject | undefined;
    const conflict = this.maintenanceConflict(planId, body.maintenance_info as MaintenanceInfo | undefined);
    if (conflict) return conflict;
    const existing = this.instances.get(instanceId);
    if (existing) {
      const same =
        existing.serviceId === serviceId &&
        existing.planId === planId &&
        isDeepStrictEqual(existing.parameters, parameters);
      if (!same)
        return { status: 409, body: errorBody(undefined, 'The instance exists with different attributes.') };
      const op = this.instanceOps.get(instanceId);
      if (existing.state === 'provisioning' && op) {
        return { status: 202, body: { dashboard_url: existing.dashboardUrl, ...operationField(op) } };
      }
      if (existing.state === 'provisioned')
        return { status: 200, body: { dashboard_url: existing.dashboardUrl } };
      return concurrencyError('Service Instance');
    }
    const record: InstanceRecord = {
      id: instanceId,
      serviceId,
      planId,
      state: async ? 'provisioning' : 'provisioned',
      parameters,
      context: body.context as JSONObject | undefined,
      organizationGuid: body.organization_guid as string | undefined,
      spaceGuid: body.space_guid as string | undefined,
      maintenanceInfo: body.maintenance_info as MaintenanceInfo | undefined,
      dashboardUrl: `${this.baseUrl}/dashboard/${encodeURIComponent(instanceId)}`,
    };
    if (!async) {
      return {
        status: 201,
        body: { dashboard_url: record.dashboardUrl },
        commit: () => this.instances.set(instanceId, record),
      };
    }
    const op = this.operation('provision', async, (outcome) => {
      if (outcome === 'failed') this.instances.delete(instanceId);
      else record.state = 'provisioned';
    });
    return {
      status: 202,
      body: { dashboard_url: record.dashboardUrl, ...operationField(op) },
      commit: () => {
        this.instances.set(instanceId, record);
        this.instanceOps.set(instanceId, op);
      },
    };
  }

  update(instanceId: string, body: JSONObject, async: AsyncBehaviour | undefined): Outcome {
    const record = this.instances.get(instanceId);
    if (!record) return { status: 404, body: errorBody(undefined, 'The instance does not exist.') };
    const current = this.instanceOps.get(instanceId);
    if (record.state === 'updating' && current?.kind === 'update')
      return { status: 202, body: operationField(current) };
    if (record.state !== 'provisioned') return concurrencyError('Service Instance');
    const planId = (body.plan_id as string | undefined) ?? record.planId;
    const conflict = this.maintenanceConflict(planId, body.maintenance_info as MaintenanceInfo | undefined);
    if (conflict) return conflict;
    const apply = () => {
      record.planId = planId;
      if (body.parameters !== undefined) record.parameters = body.parameters as JSONObject;
      if (body.context !== undefined) record.context = body.context as JSONObject;
      if (body.maintenance_info !== undefined)
        record.maintenanceInfo = body.maintenance_info as MaintenanceInfo;
    };
    if (!async) return { status: 200, body: {}, commit: apply };
    const op = this.operation('update', async, (outcome) => {
      record.state = 'provisioned';
      if (outcome !== 'failed') apply();
    });
    op.pendingPlanId = planId;
    return {
      status: 202,
      body: operationField(op),
      commit: () => {
        record.state = 'updating';
        this.instanceOps.set(instanceId, op);
      },
    };
  }

  deprovision(instanceId: string, async: AsyncBehaviour | undefined): Outcome {
    const record = this.instances.get(instanceId);
    if (!record) return { status: 410, body: {} };
    const current = this.instanceOps.get(instanceId);
    if (record.state === 'deprovisioning' && current?.kind === 'deprovision') {
      return { status: 202, body: operationField(current) };
    }
    if (record.state === 'updating') return concurrencyError('Service Instance');
    const remove = () => {
      this.instances.delete(instanceId);
      for (const [key, b] of this.bindings) if (b.instanceId === instanceId) this.bindings.delete(key);
    };
    if (!async) {
      return {
        status: 200,
        body: {},
        commit: () => {
          // A delete halts a provision in flight; its poll then reports it failed.
          if (current && !current.final && current.kind === 'provision')
            this.fail(current, 'Deprovisioned while provisioning.');
          else this.instanceOps.delete(instanceId);
          remove();
        },
      };
    }
    const op = this.operation('deprovision', async, (outcome) => {
      if (outcome === 'failed') record.state = 'provisioned';
      else remove();
    });
    return {
      status: 202,
      body: operationField(op),
      commit: () => {
        record.state = 'deprovisioning';
        this.instanceOps.set(instanceId, op);
      },
    };
  }

  lastOperation(instanceId: string): Outcome {
    const op = this.instanceOps.get(instanceId);
    if (op) return this.poll(op);
    if (this.instances.has(instanceId)) return { status: 200, body: { state: 'succeeded' } };
    return { status: 404, body: errorBody(undefined, 'The instance does not exist.') };
  }

  getInstance(instanceId: string): Outcome {
    const record = this.instances.get(instanceId);
    if (!record || record.state === 'provisioning') {
      return {
        status: 404,
        body: errorBody(undefined, 'The instance does not exist or is being provisioned.'),
      };
    }
    if (record.state === 'updating') return concurrencyError('Service Instance');
    return {
      status: 200,
      body: {
        service_id: record.serviceId,
        plan_id: record.planId,
        dashboard_url: record.dashboardUrl,
        ...(record.parameters ? { parameters: record.parameters } : {}),
        ...(record.maintenanceInfo ? { maintenance_info: record.maintenanceInfo } : {}),
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Bindings

  bind(instanceId: string, bindingId: string, body: JSONObject, async: AsyncBehaviour | undefined): Outcome {
    const instance = this.instances.get(instanceId);
    if (!instance) return { status: 404, body: errorBody(undefined, 'The instance does not exist.') };
    if (instance.state !== 'provisioned') return concurrencyError('Service Instance');
    const key = bindingKey(instanceId, bindingId);
    const parameters = body.parameters as JSONObject | undefined;
    const existing = this.bindings.get(key);
    if (existing) {
      if (!isDeepStrictEqual(existing.parameters, parameters) || existing.planId !== body.plan_id) {
        return { status: 409, body: errorBody(undefined, 'The binding exists with different parameters.') };
      }
      const op = this.bindingOps.get(key);
      if (existing.state === 'binding' && op) return { status: 202, body: operationField(op) };
      if (existing.state === 'bound') return { status: 200, body: { credentials: existing.credentials } };
      return concurrencyError('Service Binding');
    }
    const username = `user-${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    const record: BindingRecord = {
      id: bindingId,
      instanceId,
      serviceId: body.service_id as string,
      planId: body.plan_id as string,
      state: async ? 'binding' : 'bound',
      parameters,
      context: body.context as JSONObject | undefined,
      bindResource: body.bind_resource as JSONObject | undefined,
      predecessorBindingId: body.predecessor_binding_id as string | undefined,
      credentials: {
        username,
        password,
        uri: `scripted://${username}:${password}@${new URL(this.baseUrl).host}/${encodeURIComponent(instanceId)}`,
      },
    };
    if (!async) {
      return {
        status: 201,
        body: { credentials: record.credentials },
        commit: () => this.bindings.set(key, record),
      };
    }
    const op = this.operation('bind', async, (outcome) => {
      if (outcome === 'failed') this.bindings.delete(key);
      else record.state = 'bound';
    });
    return {
      status: 202,
      body: operationField(op),
      commit: () => {
        this.bindings.set(key, record);
        this.bindingOps.set(key, op);
      },
    };
  }

  unbind(instanceId: string, bindingId: string, async: AsyncBehaviour | undefined): Outcome {
    const key = bindingKey(instanceId, bindingId);
    const record = this.bindings.get(key);
    if (!record) return { status: 410, body: {} };
    const current = this.bindingOps.get(key);
    if (record.state === 'unbinding' && current?.kind === 'unbind')
      return { status: 202, body: operationField(current) };
    if (!async) {
      return {
        status: 200,
        body: {},
        commit: () => {
          if (current && !current.final && current.kind === 'bind')
            this.fail(current, 'Unbound while binding.');
          else this.bindingOps.delete(key);
          this.bindings.delete(key);
        },
      };
    }
    const op = this.operation('unbind', async, (outcome) => {
      if (outcome === 'failed') record.state = 'bound';
      else this.bindings.delete(key);
    });
    return {
      status: 202,
      body: operationField(op),
      commit: () => {
        record.state = 'unbinding';
        this.bindingOps.set(key, op);
      },
    };
  }

  bindingLastOperation(instanceId: string, bindingId: string): Outcome {
    const op = this.bindingOps.get(bindingKey(instanceId, bindingId));
    if (op) return this.poll(op);
    if (this.binding(instanceId, bindingId)) return { status: 200, body: { state: 'succeeded' } };
    return { status: 404, body: errorBody(undefined, 'The binding does not exist.') };
  }

  getBinding(instanceId: string, bindingId: string): Outcome {
    const record = this.binding(instanceId, bindingId);
    if (!record || record.state === 'binding') {
      return { status: 404, body: errorBody(undefined, 'The binding does not exist or is being created.') };
    }
    return {
      status: 200,
      body: {
        credentials: record.credentials,
        ...(record.parameters ? { parameters: record.parameters } : {}),
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Operations

  private operation(kind: OperationKind, spec: AsyncBehaviour, end: Operation['end']): Operation {
    const id = spec.operation === null ? undefined : (spec.operation ?? `${kind}-${++this.opCount}`);
    return { id, kind, left: spec.inProgressPolls ?? 1, spec, end };
  }

  private poll(op: Operation): Outcome {
    if (op.final) return op.final;
    if (op.left > 0) {
      const headers =
        op.spec.retryAfter === undefined ? undefined : { 'retry-after': String(op.spec.retryAfter) };
      return { status: 200, body: { state: 'in progress' }, headers, commit: () => void op.left-- };
    }
    const outcome = op.spec.outcome ?? 'succeeded';
    const final: Outcome =
      outcome === 'gone'
        ? { status: 410, body: {} }
        : {
            status: 200,
            body: {
              state: outcome,
              ...(op.spec.description ? { description: op.spec.description } : {}),
              ...(outcome === 'failed' && op.spec.instanceUsable !== undefined
                ? { instance_usable: op.spec.instanceUsable }
                : {}),
              ...(outcome === 'failed' && op.spec.updateRepeatable !== undefined
                ? { update_repeatable: op.spec.updateRepeatable }
                : {}),
            },
          };
    return {
      ...final,
      commit: () => {
        if (op.final) return;
        op.final = final;
        op.end(outcome);
      },
    };
  }

  private fail(op: Operation, description: string): void {
    op.final = { status: 200, body: { state: 'failed', description } };
  }

  private maintenanceConflict(planId: string, requested: MaintenanceInfo | undefined): Outcome | undefined {
    if (requested === undefined) return undefined;
    const offered = this.catalog.plan(planId)?.plan.maintenance_info;
    if (offered?.version === requested.version) return undefined;
    return {
      status: 422,
      body: errorBody(
        'MaintenanceInfoConflict',
        'The maintenance information for the requested Service Plan has changed.',
      ),
    };
  }
}

function operationField(op: Operation): { operation?: string } {
  return op.id === undefined ? {} : { operation: op.id };
}
