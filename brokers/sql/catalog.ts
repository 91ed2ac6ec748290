import type { Catalog, ServiceOffering, ServicePlan } from '../../pkg/osb';

/**
 * What this broker offers: PostgreSQL and MariaDB, each as a database on the configured (shared)
 * server in two sizes, or on a server process of its own. The ids never change: platforms know
 * offerings and plans by them.
 */

export type EngineName = 'postgresql' | 'mariadb';
export type PlanName = 'shared-small' | 'shared-large' | 'dedicated';

export const ENGINES: readonly EngineName[] = ['postgresql', 'mariadb'];

export const IDS = {
  postgresql: {
    serviceId: '5499137a-835d-4b19-b781-44ade639cc7f',
    plans: {
      'shared-small': '617d6a2e-d2f1-4733-b9ab-dac26e707b5a',
      'shared-large': '14d07687-78fd-43c3-8ded-7396243f88ef',
      dedicated: '60885592-3402-48be-a1b6-8fe74a852e71',
    },
  },
  mariadb: {
    serviceId: '3c73d3f2-b38b-4cd7-b57a-19d682cd4d9c',
    plans: {
      'shared-small': 'ebf37ca8-858b-44c5-974b-02e9e9d3bbb5',
      'shared-large': 'c0434153-92bc-41bb-b7bf-eb2a52824615',
      dedicated: 'c07c7663-e00d-4e20-8376-d038c46fed63',
    },
  },
} as const satisfies Record<EngineName, { serviceId: string; plans: Record<PlanName, string> }>;

/** A plan as the broker acts on it. */
export interface PlanSpec {
  engine: EngineName;
  name: PlanName;
  id: string;
  serviceId: string;
  /** A server process of the instance's own, provisioned and deprovisioned asynchronously. */
  dedicated: boolean;
  defaultConnectionLimit: number;
  maxConnectionLimit: number;
}

/** The maintenance version of dedicated servers: how they are set up, not the server's version. */
export const DEDICATED_MAINTENANCE = {
  version: '1.0.0',
  description: 'Server settings: loopback only, 100 connections, password authentication.',
};

/** Dedicated servers accept this many connections; the database's limit stays below it. */
export const DEDICATED_MAX_CONNECTIONS = 100;

const limits: Record<PlanName, { default: number; max: number }> = {
  'shared-small': { default: 5, max: 10 },
  'shared-large': { default: 25, max: 100 },
  dedicated: { default: 50, max: DEDICATED_MAX_CONNECTIONS - 10 },
};

/** Extensions a PostgreSQL database may ask for: in postgresql-contrib, none needing preloading. */
export const POSTGRES_EXTENSIONS = [
  'btree_gin',
  'btree_gist',
  'citext',
  'cube',
  'fuzzystrmatch',
  'hstore',
  'intarray',
  'isn',
  'ltree',
  'pg_trgm',
  'pgcrypto',
  'tablefunc',
  'unaccent',
  'uuid-ossp',
];

export const MARIADB_CHARSETS = ['utf8mb4', 'utf8mb3', 'latin1', 'ascii', 'binary'];

const DRAFT_04 = 'http://json-schema.org/draft-04/schema#';

const connectionLimit = (plan: PlanName) => ({
  type: 'integer',
  minimum: 1,
  maximum: limits[plan].max,
  default: limits[plan].default,
  description:
    'Most connections open at once to the database (PostgreSQL), or per login (MariaDB); new connections beyond it are refused.',
});

const object = (properties: Record<string, unknown>) => ({
  $schema: DRAFT_04,
  type: 'object',
  additionalProperties: false,
  properties,
});

function createSchema(engine: EngineName, plan: PlanName) {
  if (engine === 'postgresql') {
    return object({
      connectionLimit: connectionLimit(plan),
      extensions: {
        type: 'array',
        items: { type: 'string', enum: POSTGRES_EXTENSIONS },
        uniqueItems: true,
        description: 'Extensions to create in the new database.',
      },
    });
  }
  return object({
    connectionLimit: connectionLimit(plan),
    charset: {
      type: 'string',
      enum: MARIADB_CHARSETS,
      description: "The database's default character set (default: the server's).",
    },
    collation: {
      type: 'string',
      pattern: '^[A-Za-z0-9_]{1,64}$',
      description:
        "The database's default collation: one of the character set's (default: the set's default).",
    },
  });
}

const bindSchema = object({
  readOnly: {
    type: 'boolean',
    default: false,
    description: 'A login that can read every table of the database but change nothing.',
  },
});

/** The parameter schemas of a plan, as its catalog entry carries them. */
export function planSchemas(engine: EngineName, plan: PlanName) {
  return {
    service_instance: {
      create: { parameters: createSchema(engine, plan) },
      update: { parameters: object({ connectionLimit: connectionLimit(plan) }) },
    },
    service_binding: { create: { parameters: bindSchema } },
  };
}

const display: Record<EngineName, { title: string; tags: string[]; server: string }> = {
  postgresql: { title: 'PostgreSQL', tags: ['postgresql', 'relational', 'sql'], server: 'PostgreSQL' },
  mariadb: { title: 'MariaDB', tags: ['mariadb', 'mysql', 'relational', 'sql'], server: 'MariaDB' },
};

function plan(engine: EngineName, name: PlanName): ServicePlan {
  const { title } = display[engine];
  const { default: def, max } = limits[name];
  const common = {
    id: IDS[engine].plans[name],
    name,
    schemas: planSchemas(engine, name),
  };
  switch (name) {
    case 'shared-small':
      return {
        ...common,
        description: `A ${title} database on the shared server, up to ${max} connections.`,
        free: true,
        metadata: { displayName: 'Shared, small', bullets: [`${def} connections (up to ${max})`] },
      };
    case 'shared-large':
      return {
        ...common,
        description: `A ${title} database on the shared server, up to ${max} connections.`,
        free: false,
        metadata: { displayName: 'Shared, large', bullets: [`${def} connections (up to ${max})`] },
      };
    case 'dedicated':
      return {
        ...common,
        description: `A ${title} server process of its own, with one database; provisioned asynchronously.`,
        free: false,
        // a dedicated server cannot become a shared database or the reverse
        plan_updateable: false,
        maintenance_info: DEDICATED_MAINTENANCE,
        maximum_polling_duration: 600,
        metadata: {
          displayName: 'Dedicated server',
          bullets: ['A private server process on loopback', `${def} connections (up to ${max})`],
        },
      };
  }
}

function offering(engine: EngineName): ServiceOffering {
  const { title, tags } = display[engine];
  return {
    id: IDS[engine].serviceId,
    name: engine,
    description: `${title} databases on demand: on a shared server, or on a server of their own.`,
    tags,
    bindable: true,
    instances_retrievable: true,
    bindings_retrievable: true,
    allow_context_updates: true,
    plan_updateable: true,
    metadata: { displayName: title, providerDisplayName: 'Service Catalog SQL broker' },
    plans: (['shared-small', 'shared-large', 'dedicated'] as const).map((p) => plan(engine, p)),
  };
}

/** The catalog of the engines this broker has a server for. */
export function sqlCatalog(engines: readonly EngineName[]): Catalog {
  return { services: engines.map(offering) };
}

/** Every plan of every engine, by id. */
export const PLANS: ReadonlyMap<string, PlanSpec> = new Map(
  ENGINES.flatMap((engine) =>
    (['shared-small', 'shared-large', 'dedicated'] as const).map((name): [string, PlanSpec] => [
      IDS[engine].plans[name],
      {
        engine,
        name,
        id: IDS[engine].plans[name],
        serviceId: IDS[engine].serviceId,
        dedicated: name === 'dedicated',
        defaultConnectionLimit: limits[name].default,
        maxConnectionLimit: limits[name].max,
      },
    ]),
  ),
);
