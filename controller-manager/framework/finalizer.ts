import type { KubeObject } from '../../api-types/meta';
import { retryOnConflict, type KubeClient } from '../../pkg/kube/client';
import { FINALIZER } from '../../pkg/servicecatalog/constants';
import { type ResourceType } from '../../api-types/resource';

/**
 * Drops our finalizer, so that the API server deletes the object once no other is left; a
 * conflict is retried on a fresh read. Returns the object the finalizer was removed from, or
 * undefined when there was nothing to remove (the finalizer or the object gone, or replaced).
 */
export async function removeFinalizer<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
): Promise<T | undefined> {
  return retryOnConflict(async (attempt) => {
    let current: T | undefined = obj;
    if (attempt > 0) {
      current = await client.get<T>(type, obj.metadata.namespace, obj.metadata.name!);
      if (!current || current.metadata.uid !== obj.metadata.uid) return undefined;
    }
    const finalizers = current.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return undefined;
    await client.update<T>(type, {
      ...current,
      metadata: { ...current.metadata, finalizers: finalizers.filter((f) => f !== FINALIZER) },
    });
    return current;
  });
}
