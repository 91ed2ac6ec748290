import type { JSONObject } from '../../pkg/osb';
import type { EngineName } from './catalog';

/** What the broker remembers (in its state store) about the instances and bindings it made. */

/**
 * provisioning: the database (or server) is being made; provisioned: usable; failed: its
 * provisioning failed (cleaned up, waiting for the platform's delete); deprovisioning: being
 * removed; deprovisioned: removed, kept a while so that polls of the delete still succeed.
 */
export type InstanceState = 'provisioning' | 'provisioned' | 'failed' | 'deprovisioning' | 'deprovisioned';

export type OperationKind = 'provision' | 'update' | 'deprovision';

/** The instance's last operation, as GET last_operation reports it. */
export interface LastOperation {
  kind: OperationKind;
  state: 'in progress' | 'succeeded' | 'failed';
  description?: string;
}

/** A server process of one instance's own. */
export interface DedicatedServer {
  /** Its data directory and log live below this directory. */
  dir: string;
  port: number;
  /** The broker's administrator password on it. */
  adminPassword: string;
}

export interface InstanceRecord {
  id: string;
  engine: EngineName;
  serviceId: string;
  planId: string;
  state: InstanceState;
  operation: LastOperation;
  /** The user's parameters: those of the provision with every update's merged in. */
  parameters: JSONObject;
  context?: JSONObject;
  organizationGuid?: string;
  spaceGuid?: string;
  /** maintenance_info.version of the plan when provisioned (dedicated only). */
  maintenanceVersion?: string;
  database: string;
  /** The role that owns the database (and that read-write logins act as). */
  owner: string;
  connectionLimit: number;
  server?: DedicatedServer;
  /** When it was deprovisioned (ISO 8601). */
  deletedAt?: string;
}

export interface BindingRecord {
  id: string;
  instanceId: string;
  serviceId: string;
  planId: string;
  /** binding: the login is being made (a crash leaves it so; the platform's retry or delete settles it). */
  state: 'binding' | 'bound';
  parameters: JSONObject;
  context?: JSONObject;
  bindResource?: JSONObject;
  username: string;
  password: string;
  readOnly: boolean;
}

/** Where the broker keeps its records: a schema or database of its own on the engine's server. */
export interface StateStore {
  load(): Promise<{ instances: InstanceRecord[]; bindings: BindingRecord[] }>;
  saveInstance(r: InstanceRecord): Promise<void>;
  /** Forgets the instance and any bindings of it. */
  deleteInstance(id: string): Promise<void>;
  saveBinding(r: BindingRecord): Promise<void>;
  deleteBinding(instanceId: string, bindingId: string): Promise<void>;
}

/** A database and its owner, as an engine makes and removes them. */
export interface DatabaseSpec {
  database: string;
  owner: string;
  connectionLimit: number;
  /** PostgreSQL. */
  extensions?: string[];
  /** MariaDB. */
  charset?: string;
  collation?: string;
}

export interface Login {
  username: string;
  password: string;
  readOnly: boolean;
}

export interface ServerAddress {
  host: string;
  port: number;
}

/**
 * One database server the broker administers: the shared one, or a dedicated one. Every method
 * is idempotent, so an operation interrupted by a crash is finished by running it again.
 */
export interface SqlServer {
  readonly engine: EngineName;
  /** Where applications reach it. */
  readonly address: ServerAddress;
  /** What only the server can tell about parameters (an extension it lacks, a collation of another set). */
  parameterProblems(spec: DatabaseSpec): Promise<string[]>;
  createDatabase(spec: DatabaseSpec): Promise<void>;
  setConnectionLimit(spec: DatabaseSpec, logins: string[]): Promise<void>;
  /** Drops the database, its owner and these logins, closing their sessions. */
  dropDatabase(spec: DatabaseSpec, logins: string[]): Promise<void>;
  createLogin(spec: DatabaseSpec, login: Login): Promise<void>;
  /** Drops the login and closes its sessions. */
  dropLogin(spec: DatabaseSpec, username: string): Promise<void>;
  /** What a binding hands to applications. */
  credentials(spec: DatabaseSpec, login: Login): Record<string, string | number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Makes, starts, stops and removes the server processes of dedicated instances of one engine. */
export interface DedicatedServers {
  /** Initializes a data directory below `dir` and starts the server on a free loopback port. */
  create(dir: string, signal: AbortSignal): Promise<DedicatedServer>;
  /** Starts it unless it runs (after a restart of the broker or of the machine). */
  start(server: DedicatedServer, signal?: AbortSignal): Promise<void>;
  running(server: DedicatedServer): Promise<boolean>;
  stop(server: DedicatedServer): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(server: DedicatedServer): Promise<void>;
  /** The broker's administrator connection to it. */
  admin(server: DedicatedServer): SqlServer;
}
