import { jsonEqual } from '../../pkg/json';
import type { KubeObject } from '../../api-types/meta';
import { isConflict, KubeError, type KubeClient, type ResourceType } from '../../pkg/kube/client';

/** Conflicts tolerated before giving up (the reconcile then retries with backoff). */
export const statusUpdateAttempts = 5;

/**
 * Writes `mutate(copy of obj)` through the /status subresource. On 409 Conflict (someone wrote
 * the object since `obj` was read) it reads the object again and re-applies `mutate` to that, so
 * `mutate` must be a function of the object it is given, not of what the caller read. Returns the
 * stored object; a mutation that changes nothing writes nothing and returns the object as given.
 */
export async function updateStatus<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  mutate: (latest: T) => void,
  attempts = statusUpdateAttempts,
): Promise<T> {
  let current = obj;
  for (let attempt = 1; ; attempt++) {
    const next = structuredClone(current);
    mutate(next);
    if (jsonEqual(next.status, current.status)) return current;
    try {
      return await client.updateStatus(type, next);
    } catch (e) {
      if (!isConflict(e) || attempt >= attempts) throw e;
    }
    const { namespace, name, uid } = obj.metadata;
    const latest = await client.get<T>(type, namespace, name!);
    if (!latest) throw new KubeError(404, 'NotFound', `${type.plural} "${name}" not found`);
    // deleted and created again under the same name: not the object this status was about
    if (uid && latest.metadata.uid !== uid) {
      throw new KubeError(
        409,
        'Conflict',
        `${type.plural} "${name}" was replaced (uid ${uid} → ${latest.metadata.uid})`,
      );
    }
    current = latest;
  }
}
