import { recordKey } from './names';
import type { BindingRecord, InstanceRecord, StateStore } from './types';

/**
 * The broker's records as JSON documents in two tables, instances and bindings, keyed by a digest
 * of their ids (platform ids are any strings). The engines differ only in how they say it.
 */
export interface StateSQL {
  /** Runs a statement; `?` stands for the values in order. */
  query(sql: string, values?: unknown[]): Promise<Array<{ doc: unknown }>>;
  /** The tables' qualified names. */
  instances: string;
  bindings: string;
  /** INSERT of (key, doc) or (key, instance key, doc) into `table` that replaces the document of an existing key. */
  upsert(table: string, columns: string[]): string;
  /** The document as stored (jsonb takes objects, LONGTEXT a string). */
  encode(doc: object): unknown;
  decode(stored: unknown): unknown;
}

export class SqlStateStore implements StateStore {
  constructor(private readonly sql: StateSQL) {}

  async load() {
    const { sql } = this;
    const instances = await sql.query(`SELECT doc FROM ${sql.instances}`);
    const bindings = await sql.query(`SELECT doc FROM ${sql.bindings}`);
    return {
      instances: instances.map((r) => sql.decode(r.doc) as InstanceRecord),
      bindings: bindings.map((r) => sql.decode(r.doc) as BindingRecord),
    };
  }

  async saveInstance(r: InstanceRecord): Promise<void> {
    await this.sql.query(this.sql.upsert(this.sql.instances, ['k', 'doc']), [
      recordKey(r.id),
      this.sql.encode(r),
    ]);
  }

  async deleteInstance(instanceId: string): Promise<void> {
    await this.sql.query(`DELETE FROM ${this.sql.bindings} WHERE instance_k = ?`, [recordKey(instanceId)]);
    await this.sql.query(`DELETE FROM ${this.sql.instances} WHERE k = ?`, [recordKey(instanceId)]);
  }

  async saveBinding(r: BindingRecord): Promise<void> {
    await this.sql.query(this.sql.upsert(this.sql.bindings, ['k', 'instance_k', 'doc']), [
      recordKey(r.instanceId, r.id),
      recordKey(r.instanceId),
      this.sql.encode(r),
    ]);
  }

  async deleteBinding(instanceId: string, bindingId: string): Promise<void> {
    await this.sql.query(`DELETE FROM ${this.sql.bindings} WHERE k = ?`, [recordKey(instanceId, bindingId)]);
  }
}
