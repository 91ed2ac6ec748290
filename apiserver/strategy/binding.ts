import type { KubeObject, StatusCause } from '../../api-types/meta';
import { field } from '../../pkg/apierrors';
import type { Strategy } from './strategy';
import {
  addFinalizer,
  child,
  dnsSubdomain,
  immutable,
  newExternalID,
  requiredEnum,
  specObject,
  stringField,
  unset,
  userInfoOf,
  validateOperationStatus,
  validateParametersFrom,
  validatePropertiesChecksum,
  type Obj,
} from './validation';
import { isObject } from '../../pkg/json';
import { statusStrategy } from './strategy';
import { type ServiceBinding } from '../../api-types';

const transformOps = ['renameKey', 'addKey', 'addKeysFrom', 'removeKey'] as const;
const unbindStatuses = ['NotRequired', 'Required', 'Succeeded', 'Failed'];

/** The members of each transform that must be present, by operation. */
const transformRequired: Record<(typeof transformOps)[number], string[]> = {
  renameKey: ['from', 'to'],
  addKey: ['key'],
  addKeysFrom: ['secretRef.name'],
  removeKey: ['key'],
};

function validateSecretTransforms(spec: Obj): StatusCause[] {
  const list = spec.secretTransforms;
  if (!Array.isArray(list)) return [];
  const causes: StatusCause[] = [];
  list.forEach((t, i) => {
    if (!isObject(t)) return;
    const path = `spec.secretTransforms[${i}]`;
    const set = transformOps.filter((op) => t[op] !== undefined && t[op] !== null);
    if (set.length === 0) {
      causes.push(
        field.required(path, 'exactly one of renameKey, addKey, addKeysFrom or removeKey is required'),
      );
    } else if (set.length > 1) {
      for (const op of set.slice(1)) {
        causes.push(
          field.forbidden(
            `${path}.${op}`,
            `exactly one of renameKey, addKey, addKeysFrom or removeKey may be set, and ${set[0]} is set`,
          ),
        );
      }
    }
    for (const op of set) {
      for (const member of transformRequired[op]) {
        const parts = member.split('.');
        const holder = parts.slice(0, -1).reduce<Obj | undefined>((o, k) => child(o, k), child(t, op));
        if (child(t, op) && (holder === undefined || unset(holder, parts[parts.length - 1]))) {
          causes.push(field.required(`${path}.${op}.${member}`, `${member} is required`));
        }
      }
    }
  });
  return causes;
}

function validateSpec(obj: KubeObject): StatusCause[] {
  const spec = specObject(obj);
  if (!spec) return [];
  const causes: StatusCause[] = [];
  const ref = spec.instanceRef;
  if (ref === undefined || ref === null)
    causes.push(field.required('spec.instanceRef.name', 'instanceRef.name is required'));
  else if (isObject(ref)) causes.push(...dnsSubdomain('spec.instanceRef.name', ref.name, 'instanceRef.name'));
  causes.push(...dnsSubdomain('spec.secretName', spec.secretName, 'secretName'));
  causes.push(...validateParametersFrom(spec));
  causes.push(...validateSecretTransforms(spec));
  return causes;
}

function validateStatus(obj: KubeObject): StatusCause[] {
  const status = isObject(obj.status) ? obj.status : {};
  const op = stringField(status, 'currentOperation');
  const causes = validateOperationStatus(status, obj.metadata.generation ?? 0, false);
  const inProgress = status.inProgressProperties;
  if (op === 'Bind' && (inProgress === undefined || inProgress === null)) {
    causes.push(
      field.required(
        'status.inProgressProperties',
        'inProgressProperties is required when currentOperation is "Bind"',
      ),
    );
  }
  if (op !== 'Bind' && inProgress !== undefined && inProgress !== null) {
    causes.push(
      field.forbidden(
        'status.inProgressProperties',
        'inProgressProperties must not be present when currentOperation is not "Bind"',
      ),
    );
  }
  for (const state of ['inProgressProperties', 'externalProperties']) {
    const s = child(status, state);
    if (s) causes.push(...validatePropertiesChecksum(s, `status.${state}`));
  }
  causes.push(...requiredEnum('status.unbindStatus', status.unbindStatus, unbindStatuses));
  return causes;
}

/**
 * Bindings cannot change once created: the broker has no "update binding" call. The original
 * silently put the old spec back; this server rejects the change naming each field, so that a
 * client learns its edit did not happen.
 */
export const serviceBindingStrategy: Strategy<ServiceBinding> = {
  prepareForCreate(obj, ctx) {
    const spec = (obj.spec ??= {});
    spec.externalID ||= newExternalID();
    spec.secretName ||= obj.metadata.name;
    spec.userInfo = userInfoOf(ctx);
    addFinalizer(obj);
    obj.status = { conditions: [], unbindStatus: 'NotRequired' };
  },

  prepareForUpdate(obj, old) {
    const spec = (obj.spec ??= {});
    const prev = old.spec ?? {};
    // what a client re-sending its original manifest leaves out: the server-set values
    if (!spec.externalID && prev.externalID) spec.externalID = prev.externalID;
    spec.secretName ||= obj.metadata.name;
    if (prev.userInfo === undefined) delete spec.userInfo;
    else spec.userInfo = structuredClone(prev.userInfo);
  },

  validate: validateSpec,

  validateUpdate(obj, old) {
    const spec = specObject(obj);
    if (!spec) return [];
    const prev = specObject(old) ?? {};
    const causes = validateSpec(obj);
    const keys = [...new Set([...Object.keys(prev), ...Object.keys(spec)])].filter((k) => k !== 'userInfo');
    for (const k of keys) causes.push(...immutable(`spec.${k}`, spec[k], prev[k]));
    return causes;
  },

  subresources: { status: statusStrategy<ServiceBinding>((obj) => validateStatus(obj)) },
};
