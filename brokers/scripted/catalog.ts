import { readFileSync } from 'node:fs';
import type { Catalog, ServiceOffering, ServicePlan } from '../../pkg/osb';
import { validBody } from '../../pkg/osb/validate';
import type { Endpoint, ScriptRule } from './types';

/** The ids of the built-in catalog, for tests. */
export const DEFAULT_IDS = {
  database: {
    serviceId: '3f1c5a2e-7d4b-4c8e-9a61-0b2d6e8f1a01',
    small: '3f1c5a2e-7d4b-4c8e-9a61-0b2d6e8f1a02',
    large: '3f1c5a2e-7d4b-4c8e-9a61-0b2d6e8f1a03',
  },
  queue: {
    serviceId: '8a4e2c71-1b3d-4f5a-8c9e-2d7f0a6b3c11',
    /** Asynchronous by default: every mutation answers 202 and succeeds on the second poll. */
    async: '8a4e2c71-1b3d-4f5a-8c9e-2d7f0a6b3c12',
    notBindable: '8a4e2c71-1b3d-4f5a-8c9e-2d7f0a6b3c13',
  },
} as const;

const parametersSchema = (properties: Record<string, unknown>) => ({
  parameters: { $schema: 'http://json-schema.org/draft-04/schema#', type: 'object', properties },
});

/** Two offerings: a synchronous database (two plans, one updateable with maintenance info) and an async queue. */
export function defaultCatalog(): Catalog {
  return {
    services: [
      {
        id: DEFAULT_IDS.database.serviceId,
        name: 'scripted-database',
        description: 'A pretend database, provisioned synchronously.',
        tags: ['sql', 'scripted'],
        bindable: true,
        instances_retrievable: true,
        bindings_retrievable: true,
        allow_context_updates: true,
        plan_updateable: true,
        metadata: { displayName: 'Scripted Database' },
        plans: [
          {
            id: DEFAULT_IDS.database.small,
            name: 'small',
            description: 'One shared pretend server.',
            free: true,
            schemas: {
              service_instance: {
                create: parametersSchema({ size: { type: 'string', enum: ['s', 'm'] } }),
                update: parametersSchema({ size: { type: 'string', enum: ['s', 'm'] } }),
              },
              service_binding: { create: parametersSchema({ readOnly: { type: 'boolean' } }) },
            },
          },
          {
            id: DEFAULT_IDS.database.large,
            name: 'large',
            description: 'A dedicated pretend server.',
            free: false,
            binding_rotatable: true,
            maintenance_info: { version: '1.2.0', description: 'Pretend OS image update.' },
          },
        ],
      },
      {
        id: DEFAULT_IDS.queue.serviceId,
        name: 'scripted-queue',
        description: 'A pretend message queue, provisioned asynchronously.',
        tags: ['messaging', 'scripted'],
        bindable: true,
        instances_retrievable: true,
        bindings_retrievable: true,
        plans: [
          {
            id: DEFAULT_IDS.queue.async,
            name: 'async',
            description: 'Provisioned, updated, bound and deleted asynchronously.',
            maximum_polling_duration: 600,
          },
          {
            id: DEFAULT_IDS.queue.notBindable,
            name: 'not-bindable',
            description: 'A queue that cannot be bound.',
            bindable: false,
          },
        ],
      },
    ],
  };
}

/** The rules that make the default catalog's async plan asynchronous. */
export function defaultScripts(): Array<[Endpoint, ScriptRule]> {
  const endpoints: Endpoint[] = ['provision', 'update', 'deprovision', 'bind', 'unbind'];
  return endpoints.map((e) => [e, { planId: DEFAULT_IDS.queue.async, async: { inProgressPolls: 1 } }]);
}

/** Reads a catalog file (the body of GET /v2/catalog), or the default one for `default`. */
export function loadCatalog(fileOrDefault: string): Catalog {
  if (fileOrDefault === 'default') return defaultCatalog();
  const parsed: unknown = JSON.parse(readFileSync(fileOrDefault, 'utf8'));
  if (!validBody.catalog(parsed)) {
    throw new Error(`${fileOrDefault} is not an OSB catalog: ${validBody.catalog.problems(parsed)}`);
  }
  return parsed;
}

export interface PlanRef {
  service: ServiceOffering;
  plan: ServicePlan;
}

/** Lookups over a catalog, with the plan-overrides-offering defaults of the spec. */
export class CatalogIndex {
  private readonly plans = new Map<string, PlanRef>();
  private readonly services = new Map<string, ServiceOffering>();

  constructor(readonly catalog: Catalog) {
    for (const service of catalog.services) {
      this.services.set(service.id, service);
      for (const plan of service.plans) this.plans.set(plan.id, { service, plan });
    }
  }

  plan(planId: string | undefined): PlanRef | undefined {
    return planId === undefined ? undefined : this.plans.get(planId);
  }

  service(serviceId: string | undefined): ServiceOffering | undefined {
    return serviceId === undefined ? undefined : this.services.get(serviceId);
  }

  static bindable({ service, plan }: PlanRef): boolean {
    return plan.bindable ?? service.bindable;
  }

  static updateable({ service, plan }: PlanRef): boolean {
    return plan.plan_updateable ?? service.plan_updateable ?? false;
  }

  static rotatable({ plan }: PlanRef): boolean {
    return plan.binding_rotatable ?? false;
  }
}
