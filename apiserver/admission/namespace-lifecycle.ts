import type { KubeObject } from '../../api-types/meta';
import { forbidden, internalError, notFound, StatusError } from '../../pkg/apierrors';
import type { AdmissionAttributes, AdmissionPluginFactory } from './types';

/** The namespaces kube-apiserver never lets anyone delete. */
export const immortalNamespaces = ['default', 'kube-system', 'kube-public'];

/** How long a create waits for the namespace cache to fill before it is refused. */
const readyTimeoutMs = 10_000;
/** How long after a namespace DELETE its cached state is not trusted, as in kube. */
const forceLiveLookupTTLMs = 30_000;

const isNamespace = (a: AdmissionAttributes) => a.resource === 'namespaces';

/** The group of the written object, from its apiVersion (which the store always sets). */
function groupOf(a: AdmissionAttributes): string {
  const apiVersion = (a.object ?? a.oldObject)?.apiVersion ?? '';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** kube's admission.NewForbidden: `<resource>.<group> "<name>" is forbidden: <message>`. */
function refuse(a: AdmissionAttributes, message: string): StatusError {
  return forbidden(
    { group: groupOf(a), resource: a.resource, name: a.name ?? a.object?.metadata.name },
    message,
  );
}

const phaseOf = (ns: KubeObject) => (ns.status as { phase?: unknown } | undefined)?.phase;

/**
 * NamespaceLifecycle, kube-apiserver's plugin of that name: nothing is created in a namespace that
 * does not exist (404, as if the namespace had been read) or is being deleted (403), nothing is
 * written in one that does not exist, and the namespaces every cluster relies on cannot be deleted.
 * Namespaces come from a cache; one the cache has not seen is looked up live before a write is
 * refused, and so is one deleted through this server recently while the cache still says Active.
 * With no namespace source (not standalone, no cluster) it checks nothing.
 */
export const namespaceLifecycle: AdmissionPluginFactory = ({ namespaces }) => {
  /** Namespaces deleted through this server: name → until when their cached state is not trusted. */
  const forceLiveLookup = new Map<string, number>();
  const recentlyDeleted = (name: string) => {
    const until = forceLiveLookup.get(name);
    if (until !== undefined && until < Date.now()) forceLiveLookup.delete(name);
    return until !== undefined && until >= Date.now();
  };

  return {
    name: 'NamespaceLifecycle',

    async admit(attrs) {
      if (!namespaces || attrs.operation === 'DELETE' || isNamespace(attrs)) return;
      const name = attrs.namespace;
      if (!name) return; // cluster-scoped
      if (!(await namespaces.waitForReady(readyTimeoutMs))) {
        throw refuse(attrs, 'not yet ready to handle request');
      }
      let ns: KubeObject | undefined;
      try {
        ns = await namespaces.cached(name);
        if (!ns || (recentlyDeleted(name) && phaseOf(ns) === 'Active')) ns = await namespaces.live(name);
      } catch (e) {
        throw internalError((e as Error).message);
      }
      if (!ns) throw notFound({ group: '', resource: 'namespaces', name });
      if (attrs.operation !== 'CREATE' || phaseOf(ns) !== 'Terminating') return;
      const err = refuse(
        attrs,
        `unable to create new content in namespace ${name} because it is being terminated`,
      );
      throw new StatusError(err.code, err.reason, err.message, {
        ...err.details,
        causes: [
          {
            reason: 'NamespaceTerminating',
            message: `namespace ${name} is being terminated`,
            field: 'metadata.namespace',
          },
        ],
      });
    },

    // DELETE is only validated (nothing to mutate), so the namespace rules for it live here
    validate(attrs) {
      if (attrs.operation !== 'DELETE' || !isNamespace(attrs) || !attrs.name) return;
      if (immortalNamespaces.includes(attrs.name)) {
        throw forbidden(
          { group: '', resource: 'namespaces', name: attrs.name },
          'this namespace may not be deleted',
        );
      }
      forceLiveLookup.set(attrs.name, Date.now() + forceLiveLookupTTLMs);
    },
  };
};
