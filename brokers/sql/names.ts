import { createHash, randomBytes } from 'node:crypto';

/**
 * Names on the servers. Platform ids are any strings; names derived from a digest of them are
 * valid identifiers on both engines, the same on every retry of an operation (so a retry finds
 * what an interrupted attempt made), and never shared by two instances.
 */

const digest = (...parts: string[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex');

/** The key of a record in the state store. */
export const recordKey = (instanceId: string, bindingId?: string): string =>
  bindingId === undefined ? digest(instanceId) : digest(instanceId, bindingId);

/** Database and owner role of an instance. */
export function instanceNames(instanceId: string): { database: string; owner: string; key: string } {
  const key = digest(instanceId).slice(0, 20);
  return { database: `db_${key}`, owner: `owner_${key}`, key };
}

/** The login of a binding. */
export const bindingUsername = (instanceId: string, bindingId: string): string =>
  `u_${digest(instanceId, bindingId).slice(0, 20)}`;

/** A password for a login: 32 random characters a URI carries unescaped. */
export const newPassword = (): string => randomBytes(24).toString('base64url');
