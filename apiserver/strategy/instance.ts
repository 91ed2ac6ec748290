import { isObject, jsonEqual } from '../../pkg/json';
import type { KubeObject, StatusCause } from '../../api-types/meta';
import { field } from '../../pkg/apierrors';
import type { Strategy } from './strategy';
import {
  addFinalizer,
  catalogName,
  child,
  immutable,
  newExternalID,
  nonNegative,
  requiredEnum,
  sameValue,
  specOf,
  specObject,
  stringField,
  unset,
  userInfoOf,
  validateOperationStatus,
  validateParametersFrom,
  validatePropertiesChecksum,
  type Obj,
} from './validation';
import { statusStrategy, type SubresourceStrategy } from './strategy';
import { type ServiceInstance } from '../../api-types';

/** The ways a user names the class, by scope: external name, external id, Kubernetes name. */
const styles = ['ExternalName', 'ExternalID', 'Name'] as const;
type Style = (typeof styles)[number];
const scopes = {
  cluster: { class: 'clusterServiceClass', plan: 'clusterServicePlan' },
  namespaced: { class: 'serviceClass', plan: 'servicePlan' },
} as const;

export const classFields = [
  ...styles.map((s) => `clusterServiceClass${s}`),
  ...styles.map((s) => `serviceClass${s}`),
] as const;
export const clusterPlanFields = styles.map((s) => `clusterServicePlan${s}`);
export const namespacedPlanFields = styles.map((s) => `servicePlan${s}`);

/** The references the controller resolves; written only through serviceinstances/reference. */
export const resolvedRefFields = [
  'clusterServiceClassRef',
  'clusterServicePlanRef',
  'serviceClassRef',
  'servicePlanRef',
] as const;

const operations = ['Provision', 'Update', 'Deprovision'];
const deprovisionStatuses = ['NotRequired', 'Required', 'Succeeded', 'Failed'];

const isSet = (spec: Obj, f: string) => typeof spec[f] === 'string' && spec[f] !== '';
const hasRef = (spec: Obj, f: string) => spec[f] !== undefined && spec[f] !== null;

function validateScopedPlanReference(spec: Obj, scope: keyof typeof scopes): StatusCause[] {
  const { class: cls, plan } = scopes[scope];
  const causes: StatusCause[] = [];
  const classSet = styles.filter((s) => isSet(spec, `${cls}${s}`));
  const planSet = styles.filter((s) => isSet(spec, `${plan}${s}`));
  const list = (prefix: string) => `${prefix}ExternalName, ${prefix}ExternalID or ${prefix}Name`;

  if (classSet.length === 0) {
    for (const s of styles)
      causes.push(field.required(`spec.${cls}${s}`, `exactly one of ${list(cls)} is required`));
  } else if (classSet.length > 1) {
    for (const s of classSet) {
      causes.push(
        field.invalid(`spec.${cls}${s}`, spec[`${cls}${s}`], `exactly one of ${list(cls)} may be set`),
      );
    }
  }
  // no plan at all is fine: the DefaultServicePlan admission plugin picks the class's only plan
  if (planSet.length > 1) {
    for (const s of planSet) {
      causes.push(
        field.invalid(`spec.${plan}${s}`, spec[`${plan}${s}`], `exactly one of ${list(plan)} may be set`),
      );
    }
  }
  if (classSet.length === 1) {
    const style: Style = classSet[0];
    if (planSet.length > 0 && !planSet.includes(style)) {
      causes.push(field.required(`spec.${plan}${style}`, `must specify ${plan}${style} with ${cls}${style}`));
    }
  }
  for (const s of classSet) causes.push(...catalogName(`spec.${cls}${s}`, spec[`${cls}${s}`], `${cls}${s}`));
  for (const s of planSet)
    causes.push(...catalogName(`spec.${plan}${s}`, spec[`${plan}${s}`], `${plan}${s}`));
  return causes;
}

/** One class style, a plan of the same style (or none), never cluster and namespaced together. */
export function validatePlanReference(spec: Obj): StatusCause[] {
  const cluster = [...classFields.slice(0, 3), ...clusterPlanFields].filter((f) => isSet(spec, f));
  const namespaced = [...classFields.slice(3), ...namespacedPlanFields].filter((f) => isSet(spec, f));
  if (cluster.length > 0 && namespaced.length > 0) {
    return [...cluster, ...namespaced].map((f) =>
      field.invalid(
        `spec.${f}`,
        spec[f],
        'instances can refer to cluster or namespaced classes and plans, but not both',
      ),
    );
  }
  if (cluster.length === 0 && namespaced.length === 0) {
    return classFields.map((f) =>
      field.required(`spec.${f}`, 'a class is required: set exactly one class field'),
    );
  }
  return validateScopedPlanReference(spec, cluster.length > 0 ? 'cluster' : 'namespaced');
}

function validateSpec(spec: Obj, checkRefs: boolean): StatusCause[] {
  const causes = validatePlanReference(spec);
  if (checkRefs) {
    for (const [a, b] of [
      ['clusterServiceClassRef', 'serviceClassRef'],
      ['clusterServicePlanRef', 'servicePlanRef'],
    ]) {
      if (hasRef(spec, a) && hasRef(spec, b)) {
        causes.push(field.invalid(`spec.${b}`, spec[b], `${a} and ${b} cannot both be set`));
      }
    }
  }
  causes.push(...validateParametersFrom(spec));
  causes.push(...nonNegative('spec.updateRequests', spec.updateRequests));
  return causes;
}

/** Rules for the state of the plan and parameters the instance was or is being moved to. */
function validatePropertiesState(state: Obj, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const what of ['ExternalName', 'ExternalID']) {
    const cluster = `clusterServicePlan${what}`;
    const namespaced = `servicePlan${what}`;
    if (unset(state, cluster) && unset(state, namespaced)) {
      const msg = `${cluster} or ${namespaced} is required`;
      causes.push(field.required(`${path}.${cluster}`, msg), field.required(`${path}.${namespaced}`, msg));
    } else if (!unset(state, cluster) && !unset(state, namespaced)) {
      const msg = `${cluster} and ${namespaced} cannot both be set`;
      causes.push(
        field.invalid(`${path}.${cluster}`, state[cluster], msg),
        field.invalid(`${path}.${namespaced}`, state[namespaced], msg),
      );
    }
  }
  causes.push(...validatePropertiesChecksum(state, path));
  return causes;
}

function validateStatus(obj: KubeObject): StatusCause[] {
  const status = isObject(obj.status) ? obj.status : {};
  const spec = specObject(obj) ?? {};
  const op = stringField(status, 'currentOperation');
  const causes = validateOperationStatus(status, obj.metadata.generation ?? 0, true);
  const inProgress = status.inProgressProperties;
  if (operations.includes(op) && (inProgress === undefined || inProgress === null)) {
    causes.push(
      field.required(
        'status.inProgressProperties',
        'inProgressProperties is required when currentOperation is "Provision", "Update" or "Deprovision"',
      ),
    );
  }
  if (op === '' && inProgress !== undefined && inProgress !== null) {
    causes.push(
      field.forbidden(
        'status.inProgressProperties',
        'inProgressProperties must not be present when there is no currentOperation',
      ),
    );
  }
  for (const state of ['inProgressProperties', 'externalProperties']) {
    const s = child(status, state);
    if (s) causes.push(...validatePropertiesState(s, `status.${state}`));
  }
  causes.push(...requiredEnum('status.deprovisionStatus', status.deprovisionStatus, deprovisionStatuses));
  if (op !== '') {
    if (!hasRef(spec, 'clusterServiceClassRef') && !hasRef(spec, 'serviceClassRef')) {
      const msg = 'clusterServiceClassRef or serviceClassRef is required when currentOperation is present';
      causes.push(
        field.required('spec.clusterServiceClassRef', msg),
        field.required('spec.serviceClassRef', msg),
      );
    }
    if (op !== 'Deprovision') {
      if (!hasRef(spec, 'clusterServicePlanRef') && !hasRef(spec, 'servicePlanRef')) {
        const msg = 'clusterServicePlanRef or servicePlanRef is required when currentOperation is present';
        causes.push(
          field.required('spec.clusterServicePlanRef', msg),
          field.required('spec.servicePlanRef', msg),
        );
      }
    } else {
      const external = child(status, 'externalProperties');
      const planKnown =
        hasRef(spec, 'clusterServicePlanRef') ||
        hasRef(spec, 'servicePlanRef') ||
        !unset(external, 'clusterServicePlanExternalID') ||
        !unset(external, 'servicePlanExternalID');
      if (!planKnown) {
        causes.push(
          field.invalid(
            'status.currentOperation',
            op,
            'a deprovision needs the plan: spec.clusterServicePlanRef, spec.servicePlanRef or status.externalProperties with the plan external ID',
          ),
        );
      }
    }
  }
  return causes;
}

/** The rules of a write to serviceinstances/reference (the controller recording resolved refs). */
function validateReferenceUpdate(obj: KubeObject, old: KubeObject): StatusCause[] {
  const spec = specObject(obj) ?? {};
  const prev = specObject(old) ?? {};
  const causes: StatusCause[] = [];
  if (stringField(obj.status, 'currentOperation') !== '') {
    causes.push(
      field.forbidden('status.currentOperation', 'cannot update references when currentOperation is present'),
    );
  }
  for (const [cluster, namespaced] of [
    ['clusterServiceClassRef', 'serviceClassRef'],
    ['clusterServicePlanRef', 'servicePlanRef'],
  ]) {
    if (!hasRef(spec, cluster) && !hasRef(spec, namespaced)) {
      const msg = `${cluster} or ${namespaced} is required when updating references`;
      causes.push(field.required(`spec.${cluster}`, msg), field.required(`spec.${namespaced}`, msg));
    } else if (hasRef(spec, cluster) && hasRef(spec, namespaced)) {
      const msg = `${cluster} and ${namespaced} cannot both be set`;
      causes.push(
        field.invalid(`spec.${cluster}`, spec[cluster], msg),
        field.invalid(`spec.${namespaced}`, spec[namespaced], msg),
      );
    }
  }
  // a reference once resolved stays; a plan change clears the plan reference first
  for (const f of resolvedRefFields) {
    if (hasRef(prev, f)) causes.push(...immutable(`spec.${f}`, spec[f], prev[f]));
  }
  return [...causes, ...validateSpec(spec, false)];
}

function copyField(to: Obj, from: Obj, f: string): void {
  if (from[f] === undefined || from[f] === null) delete to[f];
  else to[f] = structuredClone(from[f]);
}

/** serviceinstances/reference: the controller records the class and plan the spec resolved to, nothing else. */
const referenceStrategy: SubresourceStrategy<ServiceInstance> = {
  prepareForUpdate(sent, current) {
    const spec = specOf(current) ?? {};
    const sentSpec = isObject(sent.spec) ? sent.spec : {};
    for (const f of resolvedRefFields) copyField(spec, sentSpec, f);
    return current;
  },
  validateUpdate: (obj, old) => validateReferenceUpdate(obj, old),
};

export const serviceInstanceStrategy: Strategy<ServiceInstance> = {
  prepareForCreate(obj, ctx) {
    const spec = specOf(obj);
    if (spec) {
      if (unset(spec, 'externalID')) spec.externalID = newExternalID();
      spec.userInfo = userInfoOf(ctx);
      for (const f of resolvedRefFields) delete spec[f];
    }
    addFinalizer(obj);
    obj.status = { conditions: [], deprovisionStatus: 'NotRequired' };
  },

  prepareForUpdate(obj, old, ctx) {
    const spec = specOf(obj);
    if (!spec) return;
    const prev = specObject(old) ?? {};
    for (const f of resolvedRefFields) copyField(spec, prev, f);
    // a new plan has to be resolved again by the controller
    if (clusterPlanFields.some((f) => !sameValue(spec[f], prev[f]))) delete spec.clusterServicePlanRef;
    if (namespacedPlanFields.some((f) => !sameValue(spec[f], prev[f]))) delete spec.servicePlanRef;
    // what a client that does not know these fields sends: keep the stored values
    if (
      (spec.updateRequests === undefined || spec.updateRequests === 0) &&
      typeof prev.updateRequests === 'number'
    ) {
      spec.updateRequests = prev.updateRequests;
    }
    if (unset(spec, 'externalID') && !unset(prev, 'externalID')) spec.externalID = prev.externalID;
    copyField(spec, prev, 'userInfo');
    if (!jsonEqual(spec, prev)) spec.userInfo = userInfoOf(ctx);
  },

  validate(obj) {
    const spec = specObject(obj);
    return spec ? validateSpec(spec, true) : [];
  },

  validateUpdate(obj, old) {
    const spec = specObject(obj);
    if (!spec) return [];
    const prev = specObject(old) ?? {};
    const causes = validateSpec(spec, true);
    for (const f of [...classFields, 'externalID']) causes.push(...immutable(`spec.${f}`, spec[f], prev[f]));
    const next = typeof spec.updateRequests === 'number' ? spec.updateRequests : 0;
    const before = typeof prev.updateRequests === 'number' ? prev.updateRequests : 0;
    if (next >= 0 && next < before) {
      causes.push(
        field.invalid('spec.updateRequests', next, `updateRequests must not decrease (it was ${before})`),
      );
    }
    return causes;
  },

  subresources: {
    status: statusStrategy<ServiceInstance>((obj) => validateStatus(obj)),
    reference: referenceStrategy,
  },
};
