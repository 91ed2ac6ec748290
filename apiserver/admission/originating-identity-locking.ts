import { refuse } from './types';
import type { AdmissionPlugin } from './types';

/**
 * Equality of JSON values, as the spec would serialise: keys holding undefined count as absent and
 * prototypes do not matter (objects from another realm, e.g. structuredClone's under jest, are
 * not deep-strict-equal to ours).
 */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (typeof a === 'object' && a !== null) {
    if (typeof b !== 'object' || b === null || Array.isArray(b)) return false;
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    return (
      ka.length === kb.length &&
      ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return a === b;
}

const nouns: Record<string, string> = {
  serviceinstances: 'service instance',
  servicebindings: 'service binding',
};

/**
 * OriginatingIdentityLocking (the original's feature gate of that name, on by default): while the
 * controller is carrying out an operation (status.currentOperation set), the spec of an instance or
 * binding may not change, so that what the broker is told, and on whose behalf (spec.userInfo, the
 * originating identity), stays the spec the operation started from. Metadata-only writes (labels,
 * finalizers) and every subresource write (the controller's status and reference updates) pass.
 */
export const originatingIdentityLocking: AdmissionPlugin = {
  name: 'OriginatingIdentityLocking',
  validate(attrs) {
    const noun = nouns[attrs.resource];
    if (!noun || attrs.operation !== 'UPDATE' || attrs.subresource) return;
    if (!attrs.object || !attrs.oldObject) return;
    const operation = (attrs.oldObject.status as { currentOperation?: unknown } | undefined)
      ?.currentOperation;
    if (typeof operation !== 'string' || operation === '') return;
    if (jsonEqual(attrs.object.spec, attrs.oldObject.spec)) return;
    throw refuse(
      attrs,
      `Another update for this ${noun} is in progress (status.currentOperation is "${operation}"); ` +
        'change the spec once it has finished',
    );
  },
};
