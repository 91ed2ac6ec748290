import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { leaseResource, namespaceResource, type Lease, type LeaseSpec } from '../../api-types/core';
import { isAlreadyExists, isConflict, isNotFound, type KubeClient } from '../../pkg/kube/client';
import type { Logger } from '../../pkg/logging';
import { rfc3339Micro } from '../../pkg/time';
import { backoffDelay } from '../../pkg/backoff';

export interface LeaderElectionTimings {
  /** How long a standby waits, from when it last saw the lease change, before taking it over. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leadership. */
  renewDeadlineMs: number;
  /** How often to try to acquire or renew. */
  retryPeriodMs: number;
}

interface LeaderElectionConfig extends LeaderElectionTimings {
  client: KubeClient;
  /** The Lease's namespace and name. */
  namespace: string;
  name: string;
  /** This candidate; unique per process. */
  identity: string;
  log: Logger;
  /** Called once this candidate holds the lease. */
  onStartedLeading: () => void;
  /** Called when renewing failed for renewDeadline: leadership is gone. Not called by stop() or release(). */
  onStoppedLeading: () => void;
  /** Called when the observed holder changes (including to this candidate). */
  onNewLeader?: (identity: string) => void;
}

/** client-go's JitterFactor: waits between acquire attempts are retryPeriod × [1, 2.2). */
const jitterFactor = 1.2;

/** A unique identity for this process: host name plus a UUID, as kube-controller-manager uses. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

/** Checks the relation client-go requires between the durations; returns what is wrong. */
export function validateTimings(t: LeaderElectionTimings): string | undefined {
  if (t.leaseDurationMs <= t.renewDeadlineMs)
    return 'the lease duration must be greater than the renew deadline';
  if (t.renewDeadlineMs <= jitterFactor * t.retryPeriodMs)
    return `the renew deadline must be greater than ${jitterFactor} × the retry period`;
  if (t.retryPeriodMs < 1) return 'the retry period must be positive';
  return undefined;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's LeaderElector: a candidate
 * takes the lease when nobody holds it or when the record has not changed for a lease duration —
 * measured on this process's clock from when it last saw the record change, never by comparing
 * the holder's timestamps with our clock — then renews it every retry period, and gives
 * leadership up when renewing keeps failing for the renew deadline. Every write carries the
 * resourceVersion read, so two candidates never both win.
 */
export class LeaderElector {
  private observedRaw?: string;
  private observedSpec: LeaseSpec = {};
  /** Our clock when the record last changed. */
  private observedTime = 0;
  private observedLease?: Lease;
  private leading = false;
  private stopped = false;
  private running?: Promise<void>;
  private wake?: () => void;
  private lastRenew = 0;
  private lastContact = 0;
  private reportedLeader?: string;

  constructor(private readonly cfg: LeaderElectionConfig) {
    const problem = validateTimings(cfg);
    if (problem) throw new Error(`leader election: ${problem}`);
  }

  get identity(): string {
    return this.cfg.identity;
  }

  /** True from onStartedLeading until leadership is lost, stopped or released. */
  isLeader(): boolean {
    return this.leading;
  }

  /** The holder as last observed ('' when the lease is free). */
  get leader(): string {
    return this.observedSpec.holderIdentity ?? '';
  }

  /**
   * The leader renewed within the lease duration, or a standby read the lease within one: an
   * elector that cannot reach the API server is unhealthy.
   */
  healthy(now = Date.now()): boolean {
    if (this.stopped || !this.running) return false;
    if (this.leading) return now - this.lastRenew <= this.cfg.leaseDurationMs;
    return now - this.lastContact <= this.cfg.leaseDurationMs + this.cfg.retryPeriodMs * (1 + jitterFactor);
  }

  /** Starts campaigning in the background; resolves when the loops end. */
  run(): Promise<void> {
    this.running ??= this.loop().catch((err) => {
      this.cfg.log.error({ err }, 'leader election failed');
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    const { log, retryPeriodMs, renewDeadlineMs } = this.cfg;
    log.info(
      { lease: `${this.cfg.namespace}/${this.cfg.name}`, identity: this.cfg.identity },
      'attempting to acquire leader lease',
    );
    while (!this.stopped) {
      if (await this.attempt(Date.now() + renewDeadlineMs)) break;
      // jittered, so that candidates started together do not ask in step (kube's wait.JitterUntil)
      await this.sleep(
        backoffDelay({ initialMs: retryPeriodMs, maxMs: retryPeriodMs, jitter: jitterFactor }, 0),
      );
    }
    if (this.stopped) return;
    this.leading = true;
    log.info({ identity: this.cfg.identity }, 'successfully acquired lease');
    this.cfg.onStartedLeading();
    while (!this.stopped) {
      await this.sleep(retryPeriodMs);
      const deadline = Date.now() + renewDeadlineMs;
      let renewed = false;
      while (!this.stopped && Date.now() < deadline) {
        if (await this.attempt(deadline)) {
          renewed = true;
          break;
        }
        await this.sleep(Math.min(retryPeriodMs, deadline - Date.now()));
      }
      if (this.stopped) return;
      if (!renewed) {
        this.leading = false;
        log.error(
          { identity: this.cfg.identity, holder: this.leader },
          'failed to renew lease: leadership lost',
        );
        this.cfg.onStoppedLeading();
        return;
      }
    }
  }

  /** One tryAcquireOrRenew, abandoned (counted as failed) if it outlasts the deadline. */
  private async attempt(deadline: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
    });
    try {
      return await Promise.race([this.tryAcquireOrRenew(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity, log } = this.cfg;
    const now = Date.now();
    const desired: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.cfg.leaseDurationMs / 1000),
      acquireTime: rfc3339Micro(now),
      renewTime: rfc3339Micro(now),
      leaseTransitions: 0,
    };
    let lease: Lease | undefined;
    try {
      lease = await client.get<Lease>(leaseResource, namespace, name);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'error retrieving lease');
      return false;
    }
    if (this.stopped) return false;
    this.lastContact = Date.now();
    if (!lease) return this.create(desired);

    const old = lease.spec ?? {};
    const raw = JSON.stringify(old);
    if (raw !== this.observedRaw) this.observe(lease, Date.now());
    const holder = old.holderIdentity ?? '';
    if (holder !== '' && holder !== identity && this.observedTime + this.cfg.leaseDurationMs > Date.now()) {
      return false;
    }
    if (holder === identity) {
      desired.acquireTime = old.acquireTime;
      desired.leaseTransitions = old.leaseTransitions ?? 0;
    } else {
      desired.leaseTransitions = (old.leaseTransitions ?? 0) + 1;
    }
    try {
      const updated = await client.update<Lease>(leaseResource, { ...lease, spec: desired });
      if (this.stopped) return false;
      this.observe(updated, Date.now());
      this.lastRenew = now;
      return true;
    } catch (err) {
      if (!isConflict(err)) log.warn({ err: (err as Error).message }, 'failed to update lease');
      return false;
    }
  }

  private async create(spec: LeaseSpec, createdNamespace = false): Promise<boolean> {
    const { client, namespace, name, log } = this.cfg;
    try {
      const created = await client.create<Lease>(leaseResource, { metadata: { name, namespace }, spec });
      if (this.stopped) return false;
      this.observe(created, Date.now());
      this.lastRenew = Date.now();
      return true;
    } catch (err) {
      if (isAlreadyExists(err)) return false;
      if (isNotFound(err) && !createdNamespace) {
        // a cluster without the lease's namespace (kube-system exists everywhere but may not here)
        log.info({ namespace }, 'lease namespace missing; creating it');
        try {
          await client.create(namespaceResource, { metadata: { name: namespace } });
        } catch (e) {
          if (!isAlreadyExists(e)) {
            log.warn({ err: (e as Error).message }, 'could not create the lease namespace');
            return false;
          }
        }
        return this.create(spec, true);
      }
      log.warn({ err: (err as Error).message }, 'failed to create lease');
      return false;
    }
  }

  private observe(lease: Lease, at: number): void {
    this.observedLease = lease;
    this.observedSpec = lease.spec ?? {};
    this.observedRaw = JSON.stringify(this.observedSpec);
    this.observedTime = at;
    const holder = this.observedSpec.holderIdentity ?? '';
    if (holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      if (holder) {
        this.cfg.log.info({ leader: holder }, 'new leader observed');
        this.cfg.onNewLeader?.(holder);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Stops campaigning and renewing without touching the lease (as a crash would). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.leading = false;
    this.wake?.();
    await this.running;
  }

  /**
   * Stops, then hands the lease back if we hold it: holderIdentity cleared and a one-second
   * duration, so a standby takes over at its next retry instead of waiting out the lease.
   */
  async release(): Promise<boolean> {
    const wasLeader = this.leading;
    await this.stop();
    const lease = this.observedLease;
    if (!wasLeader || !lease || this.observedSpec.holderIdentity !== this.cfg.identity) return false;
    const now = Date.now();
    try {
      await this.cfg.client.update<Lease>(leaseResource, {
        ...lease,
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: rfc3339Micro(now),
          renewTime: rfc3339Micro(now),
          leaseTransitions: this.observedSpec.leaseTransitions ?? 0,
        },
      });
      this.cfg.log.info({ identity: this.cfg.identity }, 'released leader lease');
      return true;
    } catch (err) {
      // a conflict means someone else already has it: nothing of ours to release
      this.cfg.log.warn({ err: (err as Error).message }, 'failed to release lease');
      return false;
    }
  }
}
