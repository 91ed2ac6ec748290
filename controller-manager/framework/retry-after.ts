/**
 * When a broker answered an operation with Retry-After, it may not be asked about that operation
 * again before then, even when an event (a status write's echo, a resync) wakes the controller
 * early. Kept in memory: after a restart the first poll simply comes at once.
 */
export class RetryAfterGate {
  private readonly due = new Map<string, number>();

  /** Milliseconds still to wait before asking about `id` again; 0 when it may be asked now. */
  wait(id: string): number {
    const due = this.due.get(id);
    if (due === undefined) return 0;
    const ms = due - Date.now();
    if (ms > 0) return ms;
    this.due.delete(id);
    return 0;
  }

  record(id: string, retryAfterSeconds: number | undefined): void {
    if (retryAfterSeconds === undefined) this.due.delete(id);
    else this.due.set(id, Date.now() + retryAfterSeconds * 1000);
  }
}
