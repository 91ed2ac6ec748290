/**
 * Which operations run on which instance and binding. The broker does not queue concurrent
 * requests: one that finds its instance or binding busy is refused (422 ConcurrencyError) and the
 * platform tries again. An instance operation excludes everything on the instance; binding
 * operations exclude only their own binding, so bindings of one instance are made in parallel.
 */
export class Locks {
  /** 'exclusive', or how many binding operations share the instance. */
  private readonly instances = new Map<string, 'exclusive' | number>();
  private readonly bindings = new Set<string>();

  /** The instance for one operation alone; undefined when it is busy. */
  instance(instanceId: string): (() => void) | undefined {
    if (this.instances.has(instanceId)) return undefined;
    this.instances.set(instanceId, 'exclusive');
    return once(() => this.instances.delete(instanceId));
  }

  /** A binding for one operation, the instance shared; undefined when either is busy. */
  binding(instanceId: string, bindingId: string): (() => void) | undefined {
    const held = this.instances.get(instanceId);
    const key = JSON.stringify([instanceId, bindingId]);
    if (held === 'exclusive' || this.bindings.has(key)) return undefined;
    this.instances.set(instanceId, (held ?? 0) + 1);
    this.bindings.add(key);
    return once(() => {
      this.bindings.delete(key);
      const n = this.instances.get(instanceId) as number;
      if (n > 1) this.instances.set(instanceId, n - 1);
      else this.instances.delete(instanceId);
    });
  }

  /** Whether an instance operation runs on it. */
  instanceBusy(instanceId: string): boolean {
    return this.instances.get(instanceId) === 'exclusive';
  }

  bindingBusy(instanceId: string, bindingId: string): boolean {
    return this.bindings.has(JSON.stringify([instanceId, bindingId]));
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) fn();
    done = true;
  };
}
