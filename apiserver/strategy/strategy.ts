import type { UserInfo } from '../../api-types/common';
import type { KubeObject, StatusCause } from '../../api-types/meta';

/**
 * The authenticated user a request runs as (filled by authentication; anonymous until then): the
 * UserInfo that spec.userInfo records, with name and groups always known.
 */
export type User = UserInfo & { username: string; groups: string[] };

export interface RequestContext {
  user: User;
  namespace?: string;
  dryRun: boolean;
}

/**
 * How one subresource (status, reference, finalize) writes, like kube's StatusREST: from what the
 * client sent and the stored object it builds the object to store (changing only its part), and
 * validates it instead of the main resource's rules.
 */
export interface SubresourceStrategy<T extends KubeObject = KubeObject> {
  /** The object to store; `current` is a copy of the stored object the caller may change and return. */
  prepareForUpdate(sent: T, current: T, ctx: RequestContext): T;
  validateUpdate(obj: T, old: T, ctx: RequestContext): StatusCause[];
}

/**
 * What makes one kind different from another on writes. The generic store calls these hooks with
 * objects of the kind's type: the body has been decoded and checked against the kind's schema
 * before any hook runs. Everything else (storage, versions, status/spec split, deletion) is generic.
 */
export interface Strategy<T extends KubeObject = KubeObject> {
  /** Defaults and clears what a client may not set on create. */
  prepareForCreate(obj: T, ctx: RequestContext): void;
  /** Adjusts a main-resource update (status is already restored from `old`). */
  prepareForUpdate(obj: T, old: T, ctx: RequestContext): void;
  validate(obj: T, ctx: RequestContext): StatusCause[];
  validateUpdate(obj: T, old: T, ctx: RequestContext): StatusCause[];
  /** The kind's subresources other than the main resource; `status` defaults to statusStrategy(). */
  subresources?: Record<string, SubresourceStrategy<T>>;
  /**
   * True while something besides metadata.finalizers holds back the deletion of an object (namespaces:
   * spec.finalizers): it is then deleted in two phases, as if it had finalizers.
   */
  deletionBlocked?(obj: T): boolean;
  /** Adjusts an object as its two-phase deletion starts (deletionTimestamp is being set), e.g. a Terminating phase. */
  prepareForDelete?(obj: T): void;
}

/**
 * The status subresource: a write changes status only, whatever else the client sent; `validate`
 * holds the kind's rules for its status.
 */
export function statusStrategy<T extends KubeObject>(
  validate: (obj: T, old: T, ctx: RequestContext) => StatusCause[] = () => [],
): SubresourceStrategy<T> {
  return {
    prepareForUpdate(sent, current) {
      const next = { ...current, status: sent.status };
      if (sent.status === undefined) delete next.status;
      return next;
    },
    validateUpdate: validate,
  };
}

/** A kind with no rules beyond its schema. */
export const genericStrategy: Strategy = {
  prepareForCreate: () => undefined,
  prepareForUpdate: () => undefined,
  validate: () => [],
  validateUpdate: () => [],
};
