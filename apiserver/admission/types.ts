import type { KubeObject } from '../../api-types/meta';
import type { Authorizer } from '../auth/types';
import type { User } from '../strategy/strategy';
import type { NamespaceSource } from './namespace-source';
import { forbidden } from '../../pkg/apierrors';
import { servicecatalogGroup } from '../../api-types/resource';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

/** What an admission plugin is told about a write, as k8s.io/apiserver's admission.Attributes. */
export interface AdmissionAttributes {
  operation: Operation;
  /** The resource's plural, e.g. 'serviceinstances'. */
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** The object being written (mutable in `admit`); absent on DELETE. */
  object?: KubeObject;
  /** The stored object, on UPDATE and DELETE. */
  oldObject?: KubeObject;
  user: User;
  dryRun: boolean;
}

/** Read access to other objects the API server holds (from the watch cache when it is on). */
export interface ObjectReader {
  /** `fresh` reads storage rather than the cache, for when the cache may not have seen a write yet. */
  get(
    resource: string,
    namespace: string | undefined,
    name: string,
    opts?: { fresh?: boolean },
  ): Promise<KubeObject | undefined>;
  list(resource: string, namespace?: string, fieldSelector?: string): Promise<KubeObject[]>;
}

/**
 * An admission plugin, enabled by name with --enable-admission-plugins. `admit` may change the
 * object (mutating admission, run before validation); `validate` may only refuse, by throwing a
 * StatusError (usually 403 Forbidden).
 */
export interface AdmissionPlugin {
  name: string;
  admit?(attrs: AdmissionAttributes, objects: ObjectReader): void | Promise<void>;
  validate?(attrs: AdmissionAttributes, objects: ObjectReader): void | Promise<void>;
}

/** What the server hands a plugin when it builds it. */
export interface AdmissionDependencies {
  /** The authorizer requests go through; undefined when the server allows everything. */
  authorizer?: Authorizer;
  objects: ObjectReader;
  /**
   * The namespaces objects live in: the server's own in standalone mode, the cluster's otherwise;
   * undefined when there is neither.
   */
  namespaces?: NamespaceSource;
}

/** Builds one plugin for one server (a plugin that keeps no state may ignore its dependencies). */
export type AdmissionPluginFactory = (deps: AdmissionDependencies) => AdmissionPlugin;

/** Runs the enabled plugins in order: every mutation first, then every validation. */
export class AdmissionChain {
  constructor(
    private readonly plugins: AdmissionPlugin[],
    private readonly objects: ObjectReader,
  ) {}

  async admit(attrs: AdmissionAttributes): Promise<void> {
    for (const p of this.plugins) await p.admit?.(attrs, this.objects);
  }

  async validate(attrs: AdmissionAttributes): Promise<void> {
    for (const p of this.plugins) await p.validate?.(attrs, this.objects);
  }
}

/** A 403 about the object being written, worded `<resource> "<name>" is forbidden: <message>`. */
export function refuse(attrs: AdmissionAttributes, message: string) {
  return forbidden(
    { group: servicecatalogGroup, resource: attrs.resource, name: attrs.name ?? attrs.object?.metadata.name },
    message,
  );
}

/** The namespace the object lives in. */
export function namespaceOf(attrs: AdmissionAttributes): string | undefined {
  return attrs.object?.metadata.namespace ?? attrs.oldObject?.metadata.namespace ?? attrs.namespace;
}
