import type { UserInfo } from '../../api-types/common';
import { jsonEqual, isObject } from '../../pkg/json';
import { randomUUID } from 'node:crypto';
import type { KubeObject, StatusCause } from '../../api-types/meta';
import { field } from '../../pkg/apierrors';
import { FINALIZER } from '../../pkg/servicecatalog/constants';
import type { RequestContext } from './strategy';

/**
 * Helpers the servicecatalog strategies share. Strategies get objects that passed the kind's
 * schema, but admission plugins and the strategies themselves change objects between the checks,
 * so the readers here still tolerate a value of the wrong type (the final schema check reports it).
 */

export type Obj = Record<string, unknown>;

/** The member `key` of `o` when it is an object. */
export function child(o: unknown, key: string): Obj | undefined {
  if (!isObject(o)) return undefined;
  const v = o[key];
  return isObject(v) ? v : undefined;
}

/** The string member `key` of `o` ('' when absent or not a string). */
export function stringField(o: unknown, key: string): string {
  if (!isObject(o)) return '';
  const v = o[key];
  return typeof v === 'string' ? v : '';
}

/** True when `key` is absent, null or '' (a value of another type is the schema's business). */
export function unset(o: unknown, key: string): boolean {
  if (!isObject(o)) return true;
  const v = o[key];
  return v === undefined || v === null || v === '';
}

/** The integer member `key` of `o`, or undefined. */
export function int(o: unknown, key: string): number | undefined {
  if (!isObject(o)) return undefined;
  const v = o[key];
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** obj.spec as an object, created when absent so defaults have somewhere to go. */
export function specOf(obj: KubeObject): Obj | undefined {
  if (obj.spec === undefined || obj.spec === null) obj.spec = {};
  return isObject(obj.spec) ? obj.spec : undefined;
}

/** obj.spec as an object for reading ({} when absent; undefined when not an object at all). */
export const specObject = (obj: KubeObject): Obj | undefined =>
  isObject(obj.spec) ? obj.spec : obj.spec === undefined || obj.spec === null ? {} : undefined;

export function addFinalizer(obj: KubeObject): void {
  const current = Array.isArray(obj.metadata.finalizers) ? obj.metadata.finalizers : [];
  if (!current.includes(FINALIZER)) obj.metadata.finalizers = [...current, FINALIZER];
}

/** The requesting user as spec.userInfo records it (OriginatingIdentity). */
export function userInfoOf(ctx: RequestContext): UserInfo {
  const u = ctx.user;
  const info: UserInfo = { username: u.username };
  if (u.uid) info.uid = u.uid;
  info.groups = [...(u.groups ?? [])];
  if (u.extra && Object.keys(u.extra).length > 0) {
    info.extra = Object.fromEntries(Object.entries(u.extra).map(([k, v]) => [k, [...v]]));
  }
  return info;
}

export const newExternalID = (): string => randomUUID();

// ---------------------------------------------------------------------------------------------
// Names, worded as k8s.io/apimachinery/pkg/util/validation words them

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123LabelRe = new RegExp(`^${dns1123LabelFmt}$`);
const dns1123SubdomainRe = new RegExp(`^${dns1123SubdomainFmt}$`);

/** A name that must be a DNS-1123 subdomain (secrets, instances): required, then well formed. */
export function dnsSubdomain(path: string, value: unknown, what = 'name'): StatusCause[] {
  if (value === undefined || value === null || value === '')
    return [field.required(path, `${what} is required`)];
  if (typeof value !== 'string') return [];
  const causes: StatusCause[] = [];
  if (value.length > 253) causes.push(field.invalid(path, value, 'must be no more than 253 characters'));
  if (!dns1123SubdomainRe.test(value)) {
    causes.push(
      field.invalid(
        path,
        value,
        `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${dns1123SubdomainFmt}')`,
      ),
    );
  }
  return causes;
}

/** A namespace name: a DNS-1123 label. */
export function dnsLabel(path: string, value: unknown, what = 'namespace'): StatusCause[] {
  if (value === undefined || value === null || value === '')
    return [field.required(path, `${what} is required`)];
  if (typeof value !== 'string') return [];
  const causes: StatusCause[] = [];
  if (value.length > 63) causes.push(field.invalid(path, value, 'must be no more than 63 characters'));
  if (!dns1123LabelRe.test(value)) {
    causes.push(
      field.invalid(
        path,
        value,
        `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${dns1123LabelFmt}')`,
      ),
    );
  }
  return causes;
}

/**
 * Names and ids that come from a broker catalog (external names, external ids, class and plan
 * names): any characters, but present and at most 63 long, as the original checks them.
 */
export function catalogName(path: string, value: unknown, what: string): StatusCause[] {
  if (value === undefined || value === null || value === '')
    return [field.required(path, `${what} is required`)];
  if (typeof value === 'string' && value.length > 63) return [field.tooLong(path, 63)];
  return [];
}

export function immutable(path: string, next: unknown, old: unknown): StatusCause[] {
  return sameValue(next, old) ? [] : [field.immutable(path, next ?? null)];
}

/** Equality where an absent value and '' / null are the same (Go's zero values). */
export function sameValue(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => (v === null || v === '' ? undefined : v);
  return jsonEqual(norm(a), norm(b));
}

export function nonNegative(path: string, value: unknown): StatusCause[] {
  return typeof value === 'number' && value < 0
    ? [field.invalid(path, value, 'must be greater than or equal to 0')]
    : [];
}

// ---------------------------------------------------------------------------------------------
// Parameters (instances and bindings)

/** Each parametersFrom entry names a secret and a key in it. */
export function validateParametersFrom(spec: Obj): StatusCause[] {
  const list = spec.parametersFrom;
  if (!Array.isArray(list)) return [];
  const causes: StatusCause[] = [];
  list.forEach((entry, i) => {
    const path = `spec.parametersFrom[${i}]`;
    if (!isObject(entry)) return;
    const ref = entry.secretKeyRef;
    if (ref === undefined || ref === null) {
      causes.push(field.required(`${path}.secretKeyRef`, 'source must not be empty if present'));
      return;
    }
    if (!isObject(ref)) return;
    if (unset(ref, 'name')) causes.push(field.required(`${path}.secretKeyRef.name`, 'name is required'));
    if (unset(ref, 'key')) causes.push(field.required(`${path}.secretKeyRef.key`, 'key is required'));
  });
  return causes;
}

// ---------------------------------------------------------------------------------------------
// Status rules both instances and bindings follow

const hex64 = /^[0-9a-fA-F]{64}$/;
export const LAST_OPERATION_MAX_LENGTH = 10_000;

/** parameters and parameterChecksum go together; the checksum is a SHA-256 in hex. */
export function validatePropertiesChecksum(state: Obj, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const hasParams = state.parameters !== undefined && state.parameters !== null;
  const checksum = state.parameterChecksum;
  if (hasParams && unset(state, 'parameterChecksum')) {
    causes.push(
      field.required(
        `${path}.parameterChecksum`,
        'parameterChecksum must not be empty when there are parameters',
      ),
    );
  }
  if (!hasParams && !unset(state, 'parameterChecksum')) {
    causes.push(
      field.forbidden(
        `${path}.parameterChecksum`,
        'parameterChecksum must be empty when there are no parameters',
      ),
    );
  }
  if (typeof checksum === 'string' && checksum !== '' && !hex64.test(checksum)) {
    causes.push(
      field.invalid(
        `${path}.parameterChecksum`,
        checksum,
        'parameterChecksum must be exactly 64 hexadecimal digits (a SHA-256)',
      ),
    );
  }
  return causes;
}

/**
 * The rules tying status.currentOperation to the rest of the status, shared by instances and
 * bindings: no operation means no start time, async flag or operation key; an operation needs a
 * start time (unless orphan mitigation is running) and cannot coexist with Ready=True.
 */
export function validateOperationStatus(
  status: Obj,
  generation: number,
  forbidLastOperation: boolean,
): StatusCause[] {
  const causes: StatusCause[] = [];
  const op = stringField(status, 'currentOperation');
  if (op === '') {
    if (!unset(status, 'operationStartTime')) {
      causes.push(
        field.forbidden(
          'status.operationStartTime',
          'operationStartTime must not be present when currentOperation is not present',
        ),
      );
    }
    if (status.asyncOpInProgress === true) {
      causes.push(
        field.forbidden(
          'status.asyncOpInProgress',
          'asyncOpInProgress cannot be true when there is no currentOperation',
        ),
      );
    }
    if (forbidLastOperation && !unset(status, 'lastOperation')) {
      causes.push(
        field.forbidden(
          'status.lastOperation',
          'lastOperation must not be present when currentOperation is not present',
        ),
      );
    }
  } else {
    if (unset(status, 'operationStartTime') && status.orphanMitigationInProgress !== true) {
      causes.push(
        field.required(
          'status.operationStartTime',
          'operationStartTime is required when currentOperation is present and no orphan mitigation in progress',
        ),
      );
    }
    const last = status.lastOperation;
    if (typeof last === 'string' && last.length > LAST_OPERATION_MAX_LENGTH) {
      causes.push(field.tooLong('status.lastOperation', LAST_OPERATION_MAX_LENGTH));
    }
    const conditions = Array.isArray(status.conditions) ? status.conditions : [];
    conditions.forEach((c, i) => {
      if (isObject(c) && c.type === 'Ready' && c.status === 'True') {
        causes.push(
          field.forbidden(
            `status.conditions[${i}]`,
            'Ready cannot be True while an operation is in progress',
          ),
        );
      }
    });
  }
  const reconciled = int(status, 'reconciledGeneration') ?? 0;
  if (reconciled > generation) {
    causes.push(
      field.invalid(
        'status.reconciledGeneration',
        reconciled,
        'reconciledGeneration must not be greater than generation',
      ),
    );
  } else if (reconciled === generation && op !== '') {
    causes.push(
      field.forbidden(
        'status.currentOperation',
        'currentOperation must not be present when reconciledGeneration and generation are equal',
      ),
    );
  }
  return causes;
}

/**
 * An enumerated status field that must be set once the object exists (the schema also admits ''
 * because Go clients send the zero value; any other wrong value is the schema's to report).
 */
export function requiredEnum(path: string, value: unknown, allowed: readonly string[]): StatusCause[] {
  if (value === undefined || value === null || value === '')
    return [field.notSupported(path, '', [...allowed])];
  return [];
}
