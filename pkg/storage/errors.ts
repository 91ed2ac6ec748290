/** Why a storage call failed; the API server maps each code to a Kubernetes Status. */
export type StorageErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  /** The revision asked for has been compacted (or left the watch cache window). */
  | 'Expired'
  /** The revision asked for is newer than anything the store has seen in time. */
  | 'TooLargeResourceVersion'
  | 'Unavailable';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    /** For TooLargeResourceVersion: the revision the store is at. */
    readonly currentRevision?: number,
  ) {
    super(message);
  }
}

export const isStorageError = (e: unknown, code?: StorageErrorCode): e is StorageError =>
  e instanceof StorageError && (code === undefined || e.code === code);

/** etcd reports compaction and future revisions only as message text; this is the one place that reads it. */
export function fromEtcdError(e: unknown): Error {
  if (e instanceof StorageError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (message.includes('compacted')) return new StorageError('Expired', message);
  if (message.includes('future revision')) return new StorageError('TooLargeResourceVersion', message);
  return new StorageError('Unavailable', `etcd: ${message}`);
}
