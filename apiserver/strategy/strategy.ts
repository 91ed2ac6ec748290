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
 * What makes one kind different from another on writes. The generic REST handlers call these
 * hooks; everything else (storage, versions, status/spec split, deletion) is generic.
 */
export interface Strategy {
  /** Defaults and clears what a client may not set on create. */
  prepareForCreate(obj: KubeObject, ctx: RequestContext): void;
  /** Adjusts a main-resource update (status is already restored from `old`). */
  prepareForUpdate(obj: KubeObject, old: KubeObject, ctx: RequestContext): void;
  validate(obj: KubeObject, ctx: RequestContext): StatusCause[];
  validateUpdate(obj: KubeObject, old: KubeObject, ctx: RequestContext): StatusCause[];
  /** Validates a write to the status subresource. */
  validateStatusUpdate(obj: KubeObject, old: KubeObject, ctx: RequestContext): StatusCause[];
  /**
   * Builds the object a write to a subresource other than status produces from what the client
   * sent and the stored object (e.g. serviceinstances/reference sets only the resolved refs).
   */
  prepareSubresourceUpdate?(
    subresource: string,
    sent: KubeObject,
    current: KubeObject,
    ctx: RequestContext,
  ): KubeObject;
  /** Validates a write to a subresource other than status (instead of validateUpdate). */
  validateSubresourceUpdate?(
    subresource: string,
    obj: KubeObject,
    old: KubeObject,
    ctx: RequestContext,
  ): StatusCause[];
  /**
   * True while something besides metadata.finalizers holds back the deletion of an object (namespaces:
   * spec.finalizers): it is then deleted in two phases, as if it had finalizers.
   */
  deletionBlocked?(obj: KubeObject): boolean;
  /** Adjusts an object as its two-phase deletion starts (deletionTimestamp is being set), e.g. a Terminating phase. */
  prepareForDelete?(obj: KubeObject): void;
}

/** A kind with no rules beyond its schema. */
export const genericStrategy: Strategy = {
  prepareForCreate: () => undefined,
  prepareForUpdate: () => undefined,
  validate: () => [],
  validateUpdate: () => [],
  validateStatusUpdate: () => [],
};
