import type { RetryAfterGate } from '../framework/retry-after';
import type { ConditionStatus } from '../../api-types/common';
import {
  serviceBindingResource,
  type ServiceBinding,
  type ServiceBindingStatus,
} from '../../api-types/servicebinding';
import { isConcurrencyError, isOSBError, type OriginatingIdentity } from '../../pkg/osb';
import { keyOf } from '../../pkg/kube/informers';
import type { ControllerContext } from '../context';
import { setCondition } from '../framework/conditions';
import type { ReconcileResult } from '../../pkg/controller/controller';
import { removeFinalizer } from '../framework/finalizer';
import { type StatusWriter } from '../framework/status';
import { currentBindingId, describe, retryResult, rotationDelay } from './binding-bind';
import type { BindingSecrets } from './binding-secret';
import { clearOperation, messages, reasons, recordAsyncOperation } from './binding-status';
import { isTarget, type Target, type TargetResolver } from './binding-target';
import { originatingIdentity } from './parameters';
import { ABANDON_ANNOTATION, FINALIZER } from '../../pkg/servicecatalog/constants';
import { rfc3339 } from '../../pkg/time';

/** Where one DELETE (or the poll of an asynchronous one) left a binding at the broker. */
type UnbindStep =
  /** 200 or 410, or the asynchronous unbind ended: the broker holds nothing under this id. */
  | { kind: 'gone' }
  /** Still being deleted: poll again. */
  | { kind: 'async'; operation?: string; retryAfterSeconds?: number }
  /** Not deleted: DELETE again after a backoff (`restart`: the asynchronous unbind failed, send a new one). */
  | { kind: 'failed'; message: string; retryAfterSeconds?: number; restart: boolean };

/** The ids a binding was created with (unbind MUST send the binding's own plan_id), or the instance's. */
function boundIds(s: ServiceBindingStatus, t: Target): { serviceId: string; planId: string } {
  return {
    serviceId:
      s.externalProperties?.serviceClassExternalID ??
      s.inProgressProperties?.serviceClassExternalID ??
      t.serviceId,
    planId:
      s.externalProperties?.servicePlanExternalID ??
      s.inProgressProperties?.servicePlanExternalID ??
      t.planId,
  };
}

/**
 * Unbinds: on delete (the Secret first, then DELETE at the broker; 410 counts as gone), for orphan
 * mitigation of a failed bind (DELETE until the broker answers 200 or 410), and for the
 * predecessor (or a failed successor) of a rotation. Failed unbinds are retried with backoff.
 */
export class Unbinder {
  constructor(
    private readonly ctx: ControllerContext,
    private readonly writer: StatusWriter<ServiceBinding>,
    private readonly resolver: TargetResolver,
    private readonly secrets: BindingSecrets,
    private readonly forget: (key: string) => void,
    private readonly retryAfter: RetryAfterGate,
  ) {}

  /** One DELETE, or one poll of the DELETE in progress. */
  private async step(
    t: Target,
    bindingId: string,
    ids: { serviceId: string; planId: string },
    state: { asyncOpInProgress?: boolean; lastOperation?: string },
    identity: OriginatingIdentity | undefined,
  ): Promise<UnbindStep> {
    if (state.asyncOpInProgress) {
      const wait = this.retryAfter.wait(bindingId);
      if (wait > 0) return { kind: 'async', operation: state.lastOperation, retryAfterSeconds: wait / 1000 };
      try {
        const res = await t.client.pollBindingLastOperation(t.instanceId, bindingId, {
          ...ids,
          operation: state.lastOperation,
        });
        if (res.kind === 'gone' || res.state === 'succeeded') return { kind: 'gone' };
        if (res.state === 'in progress') {
          this.retryAfter.record(bindingId, res.retryAfterSeconds);
          return { kind: 'async', operation: state.lastOperation, retryAfterSeconds: res.retryAfterSeconds };
        }
        return {
          kind: 'failed',
          message: `The broker reported the asynchronous unbind failed${res.description ? `: ${res.description}` : ''}`,
          restart: true,
        };
      } catch (e) {
        return {
          kind: 'async',
          operation: state.lastOperation,
          retryAfterSeconds: isOSBError(e) ? e.retryAfterSeconds : undefined,
        };
      }
    }
    try {
      const res = await t.client.unbind(t.instanceId, bindingId, {
        ...ids,
        acceptsIncomplete: true,
        originatingIdentity: identity,
      });
      if (res.kind === 'async') {
        return { kind: 'async', operation: res.operation, retryAfterSeconds: res.retryAfterSeconds };
      }
      return { kind: 'gone' };
    } catch (e) {
      const busy = isConcurrencyError(e) ? ' (another operation is in progress at the broker)' : '';
      return {
        kind: 'failed',
        message: `Unbind call failed${busy}: ${describe(e)}`,
        retryAfterSeconds: isOSBError(e) ? e.retryAfterSeconds : undefined,
        restart: false,
      };
    }
  }

  /** A DELETE that did not go through: sent again after a backoff (a failed asynchronous one anew). */
  private async retryStep(
    b: ServiceBinding,
    step: Extract<UnbindStep, { kind: 'failed' }>,
    ready: [ConditionStatus, string, string],
  ): Promise<ReconcileResult> {
    await this.writer.write(b, (x) => {
      if (step.restart) {
        delete x.asyncOpInProgress;
        delete x.lastOperation;
      }
      setCondition(x, 'Ready', ...ready);
    });
    return retryResult(step.retryAfterSeconds);
  }

  /** Lets the binding go: the API server deletes it once our finalizer is gone. */
  private async release(b: ServiceBinding): Promise<ReconcileResult> {
    await removeFinalizer(this.ctx.client, serviceBindingResource, b);
    this.forget(keyOf(b));
    return {};
  }

  /** The binding is being deleted: Secret, rotation leftovers, the binding at the broker, finalizer. */
  async finalize(b: ServiceBinding): Promise<ReconcileResult> {
    if (!(b.metadata.finalizers ?? []).includes(FINALIZER)) {
      this.forget(keyOf(b));
      return {};
    }
    try {
      await this.secrets.remove(b);
    } catch (e) {
      await this.writer.write(b, (s) =>
        setCondition(
          s,
          'Ready',
          'Unknown',
          reasons.errorEjecting,
          `Error deleting the Secret: ${describe(e)}`,
        ),
      );
      return { requeue: true };
    }
    if (b.metadata.annotations?.[ABANDON_ANNOTATION] === 'true') {
      this.ctx.recorder.event(
        b,
        'Warning',
        reasons.abandoned,
        `Abandoned (annotation ${ABANDON_ANNOTATION}: "true"): the Secret was deleted and the binding released without calling the broker; anything the broker still holds for binding ${currentBindingId(b)} is left there`,
      );
      return this.release(b);
    }
    const s = b.status ?? {};
    if (!s.rotation && s.unbindStatus !== 'Required') return this.release(b);

    const resolved = await this.resolver.resolve(b);
    if (!isTarget(resolved)) {
      await this.writer.write(b, (x) =>
        setCondition(
          x,
          'Ready',
          'Unknown',
          resolved.reason,
          `Cannot unbind: ${resolved.message}. To let the binding go without its broker, annotate it ${ABANDON_ANNOTATION}="true"`,
        ),
      );
      return { requeue: true };
    }
    const t = resolved;
    if (s.rotation) return this.rotationUnbind(b, t, true);

    const ids = boundIds(s, t);
    if (s.currentOperation !== 'Unbind') {
      const now = rfc3339(Date.now());
      b = await this.writer.write(b, (x) => {
        // keep what the bind was sent with, for a restarted controller to send back
        x.externalProperties = {
          ...x.externalProperties,
          serviceClassExternalID: ids.serviceId,
          servicePlanExternalID: ids.planId,
        };
        clearOperation(x);
        x.currentOperation = 'Unbind';
        x.operationStartTime = now;
        setCondition(x, 'Ready', 'False', reasons.unbindInFlight, messages.unbindInFlight);
      });
    }
    const status = b.status ?? {};
    const step = await this.step(t, currentBindingId(b), ids, status, originatingIdentity(b.spec?.userInfo));
    switch (step.kind) {
      case 'gone':
        this.ctx.recorder.event(b, 'Normal', reasons.unbound, messages.unbound);
        return this.release(b);
      case 'async':
        await this.writer.write(b, (x) => {
          recordAsyncOperation(x, step.operation);
          setCondition(x, 'Ready', 'False', reasons.unbinding, messages.unbinding);
        });
        return retryResult(step.retryAfterSeconds);
      case 'failed':
        return this.retryStep(b, step, ['Unknown', reasons.unbindCallFailed, step.message]);
    }
  }

  /**
   * Orphan mitigation of a failed bind: DELETE (no originating identity: the platform acts on its
   * own) with backoff until the broker answers 200 or 410; the binding then stays Failed.
   */
  async mitigate(b: ServiceBinding): Promise<ReconcileResult> {
    const resolved = await this.resolver.resolve(b);
    if (!isTarget(resolved)) {
      await this.writer.write(b, (x) =>
        setCondition(
          x,
          'Ready',
          'False',
          reasons.orphanMitigationFailed,
          `Cannot unbind: ${resolved.message}`,
        ),
      );
      return { requeue: true };
    }
    const t = resolved;
    const s = b.status ?? {};
    const step = await this.step(t, b.spec!.externalID!, boundIds(s, t), s, undefined);
    const generation = b.metadata.generation ?? 0;
    switch (step.kind) {
      case 'gone':
        await this.writer.write(b, (x) => {
          clearOperation(x);
          x.unbindStatus = 'Succeeded';
          x.reconciledGeneration = generation;
          setCondition(
            x,
            'Ready',
            'False',
            reasons.orphanMitigationSuccessful,
            'Orphan mitigation successful: the broker holds no binding for this failed bind',
          );
        });
        return {};
      case 'async':
        await this.writer.write(b, (x) => recordAsyncOperation(x, step.operation));
        return retryResult(step.retryAfterSeconds);
      case 'failed':
        return this.retryStep(b, step, [
          'False',
          reasons.orphanMitigationFailed,
          `Orphan mitigation failed; retrying: ${step.message}`,
        ]);
    }
  }

  /**
   * The rotation's unbind: the predecessor once the successor's credentials are in the Secret, a
   * successor whose creation failed, or (`deleting`) whatever the rotation was working on when
   * the binding was deleted. No originating identity: rotation is the platform's doing.
   */
  async rotationUnbind(b: ServiceBinding, t: Target, deleting: boolean): Promise<ReconcileResult> {
    const rot = b.status!.rotation!;
    const ids = { serviceId: t.serviceId, planId: t.planId };
    // a successor still being created is deleted (a DELETE halts a create in progress)
    const state = rot.phase === 'Unbind' ? rot : {};
    const step = await this.step(t, rot.bindingID ?? '', ids, state, undefined);
    const base = {
      phase: 'Unbind' as const,
      bindingID: rot.bindingID,
      startTime: rot.startTime,
      ...(rot.orphanMitigation ? { orphanMitigation: true } : {}),
    };
    switch (step.kind) {
      case 'gone': {
        b = await this.writer.write(b, (x) => {
          delete x.rotation;
        });
        if (deleting) return { requeueAfterMs: 0 };
        // a failed successor is gone: the rotation is tried again after a backoff
        if (rot.orphanMitigation) return { requeue: true };
        const delay = rotationDelay(b.status, Date.now());
        return delay === undefined ? {} : { requeueAfterMs: delay };
      }
      case 'async':
        await this.writer.write(b, (x) => {
          x.rotation = {
            ...base,
            asyncOpInProgress: true,
            ...(step.operation !== undefined ? { lastOperation: step.operation } : {}),
          };
        });
        return retryResult(step.retryAfterSeconds);
      case 'failed':
        await this.writer.write(b, (x) => {
          x.rotation = step.restart || rot.phase !== 'Unbind' ? base : { ...rot };
        });
        this.ctx.recorder.event(
          b,
          'Warning',
          reasons.unbindCallFailed,
          `Unbinding ${rot.bindingID ?? ''} (rotation) failed; retrying: ${step.message}`,
        );
        return retryResult(step.retryAfterSeconds);
    }
  }
}
