import { createHash } from 'node:crypto';
import { secretResource, secretValue, type Secret } from '../../api-types/core/secret';
import type { UserInfo } from '../../api-types/common';
import type { KubeClient } from '../../pkg/kube/client';
import type { OriginatingIdentity } from '../../pkg/osb';
import { isObject } from '../../pkg/json';

/** What stands in, in status, for every value that came from a Secret (as the original wrote it). */
export const REDACTED = '<redacted>';

/**
 * The user's parameters cannot be built: a Secret or key named by parametersFrom is missing, a
 * value is not a JSON object, or two sources set the same top-level name. Retrying does not help
 * until the user changes the spec or the Secret; the message says which one.
 */
export class ParametersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParametersError';
  }
}

interface ParametersSpec {
  parameters?: unknown;
  parametersFrom?: Array<{ secretKeyRef?: { name?: string; key?: string } }>;
}

export interface BuiltParameters {
  /** What the broker gets: every source merged at the top level ({} when there are none). */
  parameters: Record<string, unknown>;
  /** The same, with every value taken from a Secret replaced by "<redacted>" (for status). */
  redacted: Record<string, unknown>;
  /** SHA-256 (hex) of the canonical JSON of `parameters`, secrets included. */
  checksum: string;
}

/** JSON with object keys sorted at every depth, so that equal parameters always hash alike. */
function canonicalJSON(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.map((v) => canonicalJSON(v === undefined ? null : v)).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function parametersChecksum(parameters: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJSON(parameters)).digest('hex');
}

/**
 * The parameters of an instance or binding spec: each parametersFrom Secret key (a JSON object)
 * and spec.parameters, merged at the top level; a name set by two sources is an error rather than
 * one silently winning. Secrets are read from the API (not a cache), so a changed Secret is seen
 * at once. Throws ParametersError for the user's mistakes; API failures are thrown as they come.
 */
export async function buildParameters(
  client: KubeClient,
  namespace: string,
  spec: ParametersSpec,
): Promise<BuiltParameters> {
  const parameters: Record<string, unknown> = {};
  const redacted: Record<string, unknown> = {};
  /** Where each top-level name came from, to name both sources of a duplicate. */
  const origin = new Map<string, string>();
  const add = (source: string, values: Record<string, unknown>, secret: boolean) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) continue;
      const first = origin.get(k);
      if (first !== undefined) {
        throw new ParametersError(
          `conflict: duplicate entry for parameter "${k}" (in ${first} and in ${source}); a top-level name may appear in only one source`,
        );
      }
      origin.set(k, source);
      parameters[k] = v;
      redacted[k] = secret ? REDACTED : v;
    }
  };

  for (const [i, from] of (spec.parametersFrom ?? []).entries()) {
    const ref = from?.secretKeyRef;
    if (!ref?.name || !ref.key) {
      throw new ParametersError(
        `parametersFrom[${i}] must name a Secret and a key (secretKeyRef.name, secretKeyRef.key)`,
      );
    }
    const where = `Secret "${namespace}/${ref.name}"`;
    const secret = await client.get<Secret>(secretResource, namespace, ref.name);
    if (!secret) throw new ParametersError(`${where} (parametersFrom[${i}]) not found`);
    const text = secretValue(secret, ref.key);
    if (text === undefined)
      throw new ParametersError(`${where} has no key "${ref.key}" (parametersFrom[${i}])`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new ParametersError(
        `key "${ref.key}" of ${where} is not valid JSON (parametersFrom[${i}]): ${(e as Error).message}`,
      );
    }
    if (!isObject(value)) {
      throw new ParametersError(
        `key "${ref.key}" of ${where} must hold a JSON object (parametersFrom[${i}])`,
      );
    }
    add(`key "${ref.key}" of ${where}`, value, true);
  }

  if (spec.parameters !== undefined && spec.parameters !== null) {
    if (!isObject(spec.parameters)) throw new ParametersError('spec.parameters must be a JSON object');
    add('spec.parameters', spec.parameters, false);
  }

  return { parameters, redacted, checksum: parametersChecksum(parameters) };
}

/**
 * The parameters part of a status properties state (inProgressProperties/externalProperties):
 * redacted parameters and their checksum, or neither when there are no parameters (the API server
 * requires the two together).
 */
export function statusParameters(built: BuiltParameters): {
  parameters?: Record<string, unknown>;
  parameterChecksum?: string;
} {
  if (Object.keys(built.parameters).length === 0) return {};
  return { parameters: built.redacted, parameterChecksum: built.checksum };
}

/**
 * The X-Broker-API-Originating-Identity user (profile.md: username, uid, groups, extra) from a
 * spec.userInfo the API server recorded; undefined when there is no user to name (requests the
 * platform makes on its own, such as orphan mitigation, carry no identity).
 */
export function originatingIdentity(userInfo: UserInfo | undefined | null): OriginatingIdentity | undefined {
  if (!userInfo?.username) return undefined;
  return {
    username: userInfo.username,
    uid: userInfo.uid ?? '',
    groups: userInfo.groups ?? [],
    extra: userInfo.extra ?? {},
  };
}
