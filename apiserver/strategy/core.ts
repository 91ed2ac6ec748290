import { kubernetesFinalizer, secretTypes } from '../../api-types/core';
import type { KubeObject, StatusCause } from '../../api-types/meta';
import { field } from '../../pkg/apierrors';
import type { Strategy } from './strategy';
import { rfc3339, rfc3339Micro } from '../../pkg/time';
import { statusStrategy } from './strategy';

/**
 * Strategies of the Kubernetes kinds served in standalone mode, after kube-apiserver's
 * pkg/registry/core/{namespace,secret,configmap,event} and pkg/registry/coordination/lease.
 */

type Json = Record<string, unknown>;

const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const mapOf = (v: unknown): Record<string, string> => (isMap(v) ? (v as Record<string, string>) : {});

// ---------------------------------------------------------------------------------------------
// Shared validation

const configKeyRe = /^[-._a-zA-Z0-9]+$/;
const configKeyMessage =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

/** kube's IsConfigMapKey, for the keys of Secret data and ConfigMap data/binaryData. */
function validateKeys(map: unknown, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const key of Object.keys(mapOf(map))) {
    if (key.length > 253) causes.push(field.tooLong(`${path}[${key}]`, 253));
    else if (!configKeyRe.test(key)) causes.push(field.invalid(`${path}[${key}]`, key, configKeyMessage));
    else if (key === '.') causes.push(field.invalid(`${path}[${key}]`, key, "must not be '.'"));
    else if (key === '..') causes.push(field.invalid(`${path}[${key}]`, key, "must not be '..'"));
    else if (key.startsWith('..'))
      causes.push(field.invalid(`${path}[${key}]`, key, "must not start with '..'"));
  }
  return causes;
}

/** Both Secrets and ConfigMaps hold at most 1 MiB of (decoded) data. */
const maxDataBytes = 1024 * 1024;
const decodedSize = (map: unknown) =>
  Object.values(mapOf(map)).reduce(
    (n, v) => n + (typeof v === 'string' ? Buffer.from(v, 'base64').length : 0),
    0,
  );
const textSize = (map: unknown) =>
  Object.entries(mapOf(map)).reduce(
    (n, [k, v]) => n + k.length + (typeof v === 'string' ? Buffer.byteLength(v) : 0),
    0,
  );

/** Two string maps hold the same entries (absent and empty are the same, as for Go maps). */
function sameMap(a: unknown, b: unknown): boolean {
  const x = mapOf(a);
  const y = mapOf(b);
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => Object.hasOwn(y, k) && x[k] === y[k]);
}

/** `immutable: true` freezes the data fields and itself; only metadata may change afterwards. */
function validateImmutable(obj: KubeObject, old: KubeObject, dataFields: string[]): StatusCause[] {
  if (old.immutable !== true) return [];
  const causes: StatusCause[] = [];
  if (obj.immutable !== true)
    causes.push(field.forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of dataFields) {
    if (!sameMap(obj[f], old[f])) {
      causes.push(field.forbidden(f, 'field is immutable when `immutable` is set'));
    }
  }
  return causes;
}

const microTimeRe = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/** A metav1.MicroTime as Kubernetes writes it: UTC, exactly six fractional digits. */
export function normalizeMicroTime(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const m = microTimeRe.exec(v);
  if (!m) return v; // schema validation reports it
  const seconds = Date.parse(`${m[1]}T${m[2]}${m[4].toUpperCase()}`);
  if (Number.isNaN(seconds)) return v;
  return rfc3339Micro(seconds, Number((m[3] ?? '').padEnd(6, '0').slice(0, 6)));
}

function normalizeMicroTimes(obj: unknown, paths: string[][]): void {
  for (const path of paths) {
    let parent: unknown = obj;
    for (const key of path.slice(0, -1)) parent = isMap(parent) ? parent[key] : undefined;
    const last = path[path.length - 1];
    if (isMap(parent) && typeof parent[last] === 'string') parent[last] = normalizeMicroTime(parent[last]);
  }
}

// ---------------------------------------------------------------------------------------------
// Namespace

const labelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const qualifiedNameRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const subdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const standardFinalizers = new Set([kubernetesFinalizer, 'orphan', 'foregroundDeletion']);
const metadataNameLabel = 'kubernetes.io/metadata.name';

const namespaceSpec = (obj: KubeObject): Json => (isMap(obj.spec) ? obj.spec : {});
const specFinalizers = (obj: KubeObject): string[] => {
  const f = namespaceSpec(obj).finalizers;
  return Array.isArray(f) ? (f as string[]) : [];
};

/** A finalizer is a standard one or a qualified name with a domain prefix, like kube's validateFinalizerName. */
function validateFinalizerName(name: string, path: string): StatusCause[] {
  const slash = name.indexOf('/');
  const prefix = slash >= 0 ? name.slice(0, slash) : '';
  const short = slash >= 0 ? name.slice(slash + 1) : name;
  if (slash >= 0 && (!subdomainRe.test(prefix) || prefix.length > 253)) {
    return [
      field.invalid(
        path,
        name,
        "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
      ),
    ];
  }
  if (!qualifiedNameRe.test(short) || short.length > 63) {
    return [
      field.invalid(
        path,
        name,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
      ),
    ];
  }
  if (slash < 0 && !standardFinalizers.has(name)) {
    return [field.invalid(path, name, 'name is neither a standard finalizer name nor is it fully qualified')];
  }
  return [];
}

function validateNamespace(obj: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = obj.metadata.name ?? '';
  if (name.length > 63) causes.push(field.tooLong('metadata.name', 63));
  else if (!labelRe.test(name)) {
    causes.push(
      field.invalid(
        'metadata.name',
        name,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      ),
    );
  }
  specFinalizers(obj).forEach((f, i) => causes.push(...validateFinalizerName(f, `spec.finalizers[${i}]`)));
  return causes;
}

/** Every namespace carries its own name as a label, so label selectors can pick namespaces by name. */
function labelWithName(obj: KubeObject): void {
  obj.metadata.labels = { ...obj.metadata.labels, [metadataNameLabel]: obj.metadata.name! };
}

export const namespaceStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = { phase: 'Active' };
    const spec = namespaceSpec(obj);
    const finalizers = specFinalizers(obj);
    // kube requires its own finalizer on create; it may be removed later through /finalize
    obj.spec = {
      ...spec,
      finalizers: finalizers.includes(kubernetesFinalizer)
        ? finalizers
        : [...finalizers, kubernetesFinalizer],
    };
    labelWithName(obj);
  },
  prepareForUpdate(obj, old) {
    // spec.finalizers change only through the finalize subresource
    obj.spec = old.spec;
    if (obj.spec === undefined) delete obj.spec;
    labelWithName(obj);
  },
  validate: (obj) => validateNamespace(obj),
  validateUpdate: (obj) => validateNamespace(obj),
  subresources: {
    status: statusStrategy((obj) => {
      const phase = isMap(obj.status) ? obj.status.phase : undefined;
      if (!obj.metadata.deletionTimestamp && phase !== 'Active') {
        return [field.invalid('status.Phase', phase, "may only be 'Active' if `deletionTimestamp` is empty")];
      }
      if (obj.metadata.deletionTimestamp && phase !== 'Terminating') {
        return [
          field.invalid(
            'status.Phase',
            phase,
            "may only be 'Terminating' if `deletionTimestamp` is not empty",
          ),
        ];
      }
      return [];
    }),
    // namespaces/finalize: the sent spec (its finalizers) replaces the stored one; nothing else changes
    finalize: {
      prepareForUpdate(sent, current) {
        current.spec = isMap(sent.spec) ? structuredClone(sent.spec) : {};
        return current;
      },
      validateUpdate: (obj) => validateNamespace(obj),
    },
  },
  deletionBlocked: (obj) => specFinalizers(obj).length > 0,
  prepareForDelete(obj) {
    obj.status = { ...(isMap(obj.status) ? obj.status : {}), phase: 'Terminating' };
  },
};

// ---------------------------------------------------------------------------------------------
// Secret

/** stringData is write-only: its entries overwrite data's (base64-encoded) and it is never stored. */
function mergeStringData(obj: KubeObject): void {
  if (isMap(obj.stringData)) {
    const data = { ...mapOf(obj.data) };
    const invalid: Json = {};
    for (const [k, v] of Object.entries(obj.stringData)) {
      if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
      else invalid[k] = v;
    }
    obj.data = data;
    // what is not a string stays, for schema validation to reject with its own path
    if (Object.keys(invalid).length > 0) obj.stringData = invalid;
    else delete obj.stringData;
  } else if (obj.stringData === null) {
    delete obj.stringData;
  }
  if (obj.type === undefined || obj.type === '') obj.type = secretTypes.opaque;
}

function validateJsonKey(data: Record<string, string>, key: string): StatusCause[] {
  const path = `data[${key}]`;
  if (data[key] === undefined) return [field.required(path)];
  try {
    JSON.parse(Buffer.from(data[key], 'base64').toString('utf8'));
    return [];
  } catch (e) {
    return [field.invalid(path, '<secret contents redacted>', (e as Error).message)];
  }
}

function validateSecret(obj: KubeObject): StatusCause[] {
  const causes = validateKeys(obj.data, 'data');
  const data = mapOf(obj.data);
  if (decodedSize(obj.data) > maxDataBytes) causes.push(field.tooLong('data', maxDataBytes));
  switch (obj.type) {
    case secretTypes.serviceAccountToken:
      if (!obj.metadata.annotations?.['kubernetes.io/service-account.name']) {
        causes.push(field.required('metadata.annotations[kubernetes.io/service-account.name]'));
      }
      break;
    case secretTypes.dockercfg:
      causes.push(...validateJsonKey(data, '.dockercfg'));
      break;
    case secretTypes.dockerConfigJson:
      causes.push(...validateJsonKey(data, '.dockerconfigjson'));
      break;
    case secretTypes.basicAuth:
      // either may be empty, but one of them must be there
      if (data.username === undefined && data.password === undefined) {
        causes.push(field.required('data[username]'), field.required('data[password]'));
      }
      break;
    case secretTypes.sshAuth:
      if (!data['ssh-privatekey']) causes.push(field.required('data[ssh-privatekey]'));
      break;
    case secretTypes.tls:
      if (data['tls.crt'] === undefined) causes.push(field.required('data[tls.crt]'));
      if (data['tls.key'] === undefined) causes.push(field.required('data[tls.key]'));
      break;
  }
  return causes;
}

export const secretStrategy: Strategy = {
  prepareForCreate: mergeStringData,
  prepareForUpdate: mergeStringData,
  validate: validateSecret,
  validateUpdate(obj, old) {
    const causes = validateSecret(obj);
    if (obj.type !== old.type) causes.push(field.immutable('type', obj.type));
    causes.push(...validateImmutable(obj, old, ['data']));
    return causes;
  },
};

// ---------------------------------------------------------------------------------------------
// ConfigMap

function validateConfigMap(obj: KubeObject): StatusCause[] {
  const causes = [...validateKeys(obj.data, 'data'), ...validateKeys(obj.binaryData, 'binaryData')];
  const data = mapOf(obj.data);
  for (const key of Object.keys(mapOf(obj.binaryData))) {
    if (data[key] !== undefined)
      causes.push(field.invalid('binaryData', key, 'duplicate of key present in data'));
  }
  if (textSize(obj.data) + decodedSize(obj.binaryData) > maxDataBytes)
    causes.push(field.tooLong('', maxDataBytes));
  return causes;
}

export const configMapStrategy: Strategy = {
  prepareForCreate: () => undefined,
  prepareForUpdate: () => undefined,
  validate: validateConfigMap,
  validateUpdate: (obj, old) => [
    ...validateConfigMap(obj),
    ...validateImmutable(obj, old, ['data', 'binaryData']),
  ],
};

// ---------------------------------------------------------------------------------------------
// Event

const eventMicroTimes = [['eventTime'], ['series', 'lastObservedTime']];

/** count 1 and both timestamps "now" unless the reporter set them; MicroTimes in kube's form. */
function defaultEvent(obj: KubeObject): void {
  if (obj.count === undefined) obj.count = 1;
  if (obj.firstTimestamp === undefined) obj.firstTimestamp = rfc3339();
  if (obj.lastTimestamp === undefined) obj.lastTimestamp = obj.firstTimestamp;
  normalizeMicroTimes(obj, eventMicroTimes);
}

/** kube's legacy rule (events without eventTime): the event lives in its object's namespace. */
function validateEvent(obj: KubeObject): StatusCause[] {
  if (obj.eventTime !== undefined) return [];
  const involvedNamespace = isMap(obj.involvedObject) ? obj.involvedObject.namespace : undefined;
  const ns = obj.metadata.namespace;
  const ok = involvedNamespace ? ns === involvedNamespace : !ns || ns === 'default';
  return ok
    ? []
    : [field.invalid('involvedObject.namespace', involvedNamespace ?? '', 'does not match event.namespace')];
}

export const eventStrategy: Strategy = {
  prepareForCreate: defaultEvent,
  prepareForUpdate: defaultEvent,
  validate: validateEvent,
  validateUpdate: validateEvent,
};

// ---------------------------------------------------------------------------------------------
// Lease

const leaseMicroTimes = [
  ['spec', 'acquireTime'],
  ['spec', 'renewTime'],
];
const leaseStrategies = ['OldestEmulationVersion'];

function validateLease(obj: KubeObject): StatusCause[] {
  const spec = isMap(obj.spec) ? obj.spec : {};
  const causes: StatusCause[] = [];
  if (typeof spec.leaseDurationSeconds === 'number' && spec.leaseDurationSeconds <= 0) {
    causes.push(
      field.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'),
    );
  }
  if (typeof spec.leaseTransitions === 'number' && spec.leaseTransitions < 0) {
    causes.push(
      field.invalid('spec.leaseTransitions', spec.leaseTransitions, 'must be greater than or equal to 0'),
    );
  }
  const strategy = spec.strategy;
  if (typeof strategy === 'string') {
    // a Kubernetes-defined strategy, or a custom one with a domain prefix
    if (!strategy.includes('/') && !leaseStrategies.includes(strategy)) {
      causes.push(field.notSupported('spec.strategy', strategy, leaseStrategies));
    } else if (strategy.includes('/') && validateFinalizerName(strategy, 'spec.strategy').length > 0) {
      causes.push(field.invalid('spec.strategy', strategy, 'must be a qualified name with a domain prefix'));
    }
  }
  if (typeof spec.preferredHolder === 'string' && spec.preferredHolder !== '' && !strategy) {
    causes.push(field.forbidden('spec.preferredHolder', 'may only be specified if `strategy` is defined'));
  }
  return causes;
}

export const leaseStrategy: Strategy = {
  prepareForCreate: (obj) => normalizeMicroTimes(obj, leaseMicroTimes),
  prepareForUpdate: (obj) => normalizeMicroTimes(obj, leaseMicroTimes),
  validate: validateLease,
  validateUpdate: validateLease,
};
