import type { KubeObject, StatusCause } from '../../api-types/meta';
import { field } from '../../pkg/apierrors';
import {
  CatalogRestrictionError,
  parseRestriction,
  restrictionProperties,
} from '../../pkg/servicecatalog/restrictions';
import type { Strategy } from './strategy';
import {
  addFinalizer,
  child,
  dnsLabel,
  dnsSubdomain,
  int,
  nonNegative,
  specOf,
  unset,
  type Obj,
} from './validation';
import { parseDuration } from '../../pkg/time';
import { isObject } from '../../pkg/json';
import { type ClusterServiceBroker, type ServiceBroker } from '../../api-types';

/** The interval a broker with relistBehavior Duration gets when it names none (as the original). */
export const DEFAULT_RELIST_DURATION = '15m0s';

type Scope = 'cluster' | 'namespaced';

function applyDefaults(obj: KubeObject): void {
  const spec = specOf(obj);
  if (!spec) return;
  if (unset(spec, 'relistBehavior')) spec.relistBehavior = 'Duration';
  if (spec.relistBehavior === 'Duration' && unset(spec, 'relistDuration'))
    spec.relistDuration = DEFAULT_RELIST_DURATION;
}

function validateURL(spec: Obj): StatusCause[] {
  if (unset(spec, 'url')) return [field.required('spec.url', 'brokers must have a remote url to contact')];
  const url = spec.url;
  if (typeof url !== 'string') return [];
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !parsed.host) {
    return [
      field.invalid(
        'spec.url',
        url,
        'must be an absolute http or https URL, e.g. https://broker.example.com',
      ),
    ];
  }
  return [];
}

function validateSecretRef(authInfo: Obj, method: 'basic' | 'bearer', scope: Scope): StatusCause[] {
  const path = `spec.authInfo.${method}.secretRef`;
  const m = child(authInfo, method);
  if (!m) return [];
  const ref = m.secretRef;
  if (ref === undefined || ref === null) {
    return [
      field.required(
        path,
        method === 'basic' ? 'a basic auth secret is required' : 'a bearer token secret is required',
      ),
    ];
  }
  if (!isObject(ref)) return [];
  const causes: StatusCause[] = [];
  if (scope === 'cluster')
    causes.push(...dnsLabel(`${path}.namespace`, ref.namespace, 'the namespace of the secret'));
  causes.push(...dnsSubdomain(`${path}.name`, ref.name, 'the name of the secret'));
  return causes;
}

function validateAuthInfo(spec: Obj, scope: Scope): StatusCause[] {
  if (spec.authInfo === undefined || spec.authInfo === null) return [];
  const authInfo = child(spec, 'authInfo');
  if (!authInfo) return [];
  const hasBasic = authInfo.basic !== undefined && authInfo.basic !== null;
  const hasBearer = authInfo.bearer !== undefined && authInfo.bearer !== null;
  if (!hasBasic && !hasBearer) {
    return [field.required('spec.authInfo', 'auth config is required: exactly one of basic or bearer')];
  }
  const causes: StatusCause[] = [];
  if (hasBasic && hasBearer) {
    causes.push(
      field.forbidden('spec.authInfo.bearer', 'exactly one of basic or bearer may be set, and basic is set'),
    );
  }
  if (hasBasic) causes.push(...validateSecretRef(authInfo, 'basic', scope));
  if (hasBearer) causes.push(...validateSecretRef(authInfo, 'bearer', scope));
  return causes;
}

function validateRestrictions(spec: Obj, scope: Scope): StatusCause[] {
  const restrictions = child(spec, 'catalogRestrictions');
  if (!restrictions) return [];
  const causes: StatusCause[] = [];
  const lists = [
    ['serviceClass', restrictionProperties[scope === 'cluster' ? 'ClusterServiceClass' : 'ServiceClass']],
    ['servicePlan', restrictionProperties[scope === 'cluster' ? 'ClusterServicePlan' : 'ServicePlan']],
  ] as const;
  for (const [member, allowed] of lists) {
    const list = restrictions[member];
    if (!Array.isArray(list)) continue;
    list.forEach((r, i) => {
      if (typeof r !== 'string') return;
      try {
        parseRestriction(r, allowed);
      } catch (e) {
        if (!(e instanceof CatalogRestrictionError)) throw e;
        causes.push(field.invalid(`spec.catalogRestrictions.${member}[${i}]`, r, e.message));
      }
    });
  }
  return causes;
}

function validateSpec(obj: KubeObject, scope: Scope): StatusCause[] {
  const spec = isObject(obj.spec) ? obj.spec : obj.spec === undefined ? {} : undefined;
  if (!spec) return [];
  const causes: StatusCause[] = [];
  causes.push(...validateURL(spec));
  causes.push(...validateAuthInfo(spec, scope));
  if (spec.insecureSkipTLSVerify === true && !unset(spec, 'caBundle')) {
    causes.push(
      field.invalid(
        'spec.caBundle',
        spec.caBundle,
        'caBundle cannot be used when insecureSkipTLSVerify is true',
      ),
    );
  }
  if (unset(spec, 'relistBehavior'))
    causes.push(field.required('spec.relistBehavior', 'relist behavior is required'));
  causes.push(...nonNegative('spec.relistRequests', spec.relistRequests));
  const duration = spec.relistDuration;
  if (typeof duration === 'string' && duration !== '') {
    const ms = parseDuration(duration);
    if (ms !== undefined && ms <= 0) {
      causes.push(field.invalid('spec.relistDuration', duration, 'relistDuration must be greater than zero'));
    }
  }
  causes.push(...validateRestrictions(spec, scope));
  return causes;
}

function brokerStrategy(scope: Scope): Strategy<ClusterServiceBroker | ServiceBroker> {
  return {
    prepareForCreate(obj) {
      applyDefaults(obj);
      addFinalizer(obj);
    },
    prepareForUpdate(obj, old) {
      applyDefaults(obj);
      // 0 is what a client that never heard of relistRequests sends: keep the counter
      const spec = isObject(obj.spec) ? obj.spec : undefined;
      const oldRequests = int(old.spec, 'relistRequests');
      if (spec && (spec.relistRequests === undefined || spec.relistRequests === 0) && oldRequests) {
        spec.relistRequests = oldRequests;
      }
    },
    validate: (obj) => validateSpec(obj, scope),
    validateUpdate(obj, old) {
      const causes = validateSpec(obj, scope);
      const next = int(obj.spec, 'relistRequests') ?? 0;
      const prev = int(old.spec, 'relistRequests') ?? 0;
      if (next < prev && next >= 0) {
        causes.push(
          field.invalid('spec.relistRequests', next, `relistRequests must not decrease (it was ${prev})`),
        );
      }
      return causes;
    },
  };
}

export const clusterServiceBrokerStrategy = brokerStrategy('cluster');
export const serviceBrokerStrategy = brokerStrategy('namespaced');
