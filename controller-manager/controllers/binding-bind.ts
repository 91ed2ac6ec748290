import type { RetryAfterGate } from '../framework/retry-after';
import { randomUUID } from 'node:crypto';
import { namespaceResource, type Namespace } from '../../api-types/core/namespace';
import type {
  BindingEndpoint,
  ServiceBinding,
  ServiceBindingPropertiesState,
  ServiceBindingStatus,
} from '../../api-types/servicebinding';
import {
  isAsyncRequired,
  isConcurrencyError,
  isNotFound,
  isOSBError,
  isRequiresApp,
  needsOrphanMitigation,
  type BindRequest,
  type BindResponse,
  type OriginatingIdentity,
} from '../../pkg/osb';
import type { SharedInformer } from '../../pkg/kube/informers';
import type { ControllerContext } from '../context';
import { isTrue, setCondition } from '../framework/conditions';
import type { ReconcileResult } from '../../pkg/controller/controller';
import { type StatusWriter } from '../framework/status';
import { clearFailed, clearOperation, messages, reasons, recordAsyncOperation } from './binding-status';
import { InjectError, type BindingSecrets } from './binding-secret';
import { isTarget, type Target, type TargetResolver, type Unresolved } from './binding-target';
import {
  buildParameters,
  originatingIdentity,
  ParametersError,
  statusParameters,
  type BuiltParameters,
} from './parameters';
import { rfc3339 } from '../../pkg/time';
import { describeViolations, parametersSchemaViolations } from '../../pkg/servicecatalog/parameters-schema';

/** Longest wait scheduled at once (timers overflow past 24.8 days; a resync comes sooner anyway). */
const MAX_WAIT_MS = 6 * 3600_000;

/** What to do about a bind the broker did not complete. */
type BindFailure =
  /** The outcome is uncertain: the broker may hold a binding; unbind until it says it does not. */
  | { kind: 'orphan'; message: string }
  /** Refused for good (until the spec changes). `unbindRequired`: the broker may hold a binding under this id. */
  | { kind: 'terminal'; message: string; unbindRequired: boolean }
  /** Worth trying again later with the same request. */
  | { kind: 'retry'; reason: string; message: string; retryAfterSeconds?: number };

type BindOutcome =
  | { kind: 'done'; status: number; body: BindResponse }
  | { kind: 'async'; operation?: string; retryAfterSeconds?: number }
  | { kind: 'failed'; failure: BindFailure };

export const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Classifies a failed bind by the OSB spec's orphan mitigation table: a timeout, a 5xx, a
 * malformed 201/202 or another 2xx may have left a binding behind (orphan mitigation); 408 and
 * connection failures never reached the broker (retry); 400, 409, 422 are refusals that an
 * identical request would meet again (terminal); ConcurrencyError waits for the other operation.
 */
function classifyBindError(e: unknown, retrievable: boolean): BindFailure {
  const message = describe(e);
  if (needsOrphanMitigation(e)) return { kind: 'orphan', message };
  if (!isOSBError(e)) return { kind: 'retry', reason: reasons.bindCallFailed, message };
  const { retryAfterSeconds, httpStatus: s, malformedBody } = e;
  if (isConcurrencyError(e)) {
    return {
      kind: 'retry',
      reason: reasons.asyncOperationInProgress,
      message: `Another operation on the instance or binding is in progress at the broker; retrying: ${message}`,
      retryAfterSeconds,
    };
  }
  if (isRequiresApp(e)) {
    return {
      kind: 'terminal',
      message: `The broker requires an application to bind (RequiresApp), although bind_resource.app_guid was sent (the namespace UID); this binding cannot be created: ${message}`,
      unbindRequired: false,
    };
  }
  if (isAsyncRequired(e) && !retrievable) {
    return {
      kind: 'terminal',
      message: `The broker only binds asynchronously (AsyncRequired), but the service is not bindings_retrievable, so the credentials could never be fetched: ${message}`,
      unbindRequired: false,
    };
  }
  if (s === 401 || s === 403) {
    return {
      kind: 'retry',
      reason: reasons.brokerAuth,
      message: `The broker refused the platform's credentials (check the broker's authInfo Secret); retrying: ${message}`,
      retryAfterSeconds,
    };
  }
  if (s === 200 && malformedBody) {
    // the broker says the binding exists, but we cannot read what it is
    return { kind: 'terminal', message, unbindRequired: true };
  }
  if (s === 400 || s === 422) return { kind: 'terminal', message, unbindRequired: false };
  // a binding with this id exists with other parameters: it is the broker's, and deleting ours unbinds it
  if (s === 409) return { kind: 'terminal', message, unbindRequired: true };
  return { kind: 'retry', reason: reasons.bindCallFailed, message, retryAfterSeconds };
}

const requirements = [
  ['syslog_drain_url', 'syslog_drain'],
  ['route_service_url', 'route_forwarding'],
  ['volume_mounts', 'volume_mount'],
] as const;

/**
 * What is wrong with a bind (or fetch) response the client accepted: syslog_drain_url,
 * route_service_url and volume_mounts are valid only if the service `requires` syslog_drain,
 * route_forwarding and volume_mount; the spec lets the platform consider the response invalid,
 * and this one does (a 201 or fetched binding then gets orphan mitigation, like a malformed one).
 */
function responseProblem(t: Target, body: BindResponse): string | undefined {
  const extra = requirements.filter(
    ([field, need]) => body[field] !== undefined && !t.requires.includes(need),
  );
  if (!extra.length) return undefined;
  return `The broker's response is invalid: ${extra
    .map(([field, need]) => `it has ${field}, but the service does not require ${need}`)
    .join('; ')}`;
}

const timestamp = (s: string | undefined): string | undefined => {
  if (!s) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : rfc3339(ms);
};

/** endpoints, expires_at and renew_before of a response, as status stores them. */
function applyBindingMetadata(status: ServiceBindingStatus, body: BindResponse): void {
  const endpoints: BindingEndpoint[] | undefined = body.endpoints?.map((e) => ({
    host: e.host,
    ports: [...e.ports],
    ...(e.protocol ? { protocol: e.protocol } : {}),
  }));
  const expiresAt = timestamp(body.metadata?.expires_at);
  const renewBefore = timestamp(body.metadata?.renew_before);
  if (endpoints?.length) status.endpoints = endpoints;
  else delete status.endpoints;
  if (expiresAt) status.expiresAt = expiresAt;
  else delete status.expiresAt;
  if (renewBefore) status.renewBefore = renewBefore;
  else delete status.renewBefore;
}

/** When the binding should next be looked at for rotation (ms from now), if ever. */
export function rotationDelay(status: ServiceBindingStatus | undefined, now: number): number | undefined {
  const at = Date.parse(status?.renewBefore ?? '');
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.min(at - now, MAX_WAIT_MS));
}

/**
 * What the instance and its class and plan decide is looked at again when they change (their
 * informers queue the binding, and a resync would): no timed retry, which under load would pile
 * up behind the queue's overall rate limit. Brokers and their credentials are retried.
 */
const waitResult = (why: Unresolved): ReconcileResult =>
  why.reason === reasons.nonexistentInstance || why.reason === reasons.instanceRefsUnresolved
    ? {}
    : { requeue: true };

/** Again after the broker's Retry-After when it sent one, else after the backoff. */
export const retryResult = (retryAfterSeconds: number | undefined): ReconcileResult =>
  retryAfterSeconds !== undefined ? { requeueAfterMs: retryAfterSeconds * 1000 } : { requeue: true };

/**
 * Binds: checks everything the broker must not be asked without (bindable plan, instance Ready,
 * parameters valid against the plan's schema, the Secret free to write), records the operation,
 * calls the broker, and writes the credentials. Also creates rotation successors.
 */
export class Binder {
  constructor(
    private readonly ctx: ControllerContext,
    private readonly writer: StatusWriter<ServiceBinding>,
    private readonly resolver: TargetResolver,
    private readonly secrets: BindingSecrets,
    private readonly namespaces: SharedInformer<Namespace>,
    private readonly retryAfter: RetryAfterGate,
  ) {}

  /** Ready False for something the binding waits for; asks to be looked at again later. */
  async wait(
    b: ServiceBinding,
    why: Unresolved,
    result: ReconcileResult = { requeue: true },
  ): Promise<ReconcileResult> {
    await this.writer.write(b, (s) => setCondition(s, 'Ready', 'False', why.reason, why.message));
    return result;
  }

  /** Failed True, Ready False, nothing in progress: nothing more happens until the spec changes. */
  async terminal(
    b: ServiceBinding,
    readyReason: string,
    failedReason: string,
    message: string,
    unbindRequired?: boolean,
  ): Promise<ReconcileResult> {
    const generation = b.metadata.generation ?? 0;
    await this.writer.write(b, (s) => {
      setCondition(s, 'Ready', 'False', readyReason, message);
      setCondition(s, 'Failed', 'True', failedReason, message);
      clearOperation(s);
      s.reconciledGeneration = generation;
      if (unbindRequired !== undefined) s.unbindStatus = unbindRequired ? 'Required' : 'NotRequired';
    });
    return {};
  }

  /** Failed True and unbind until the broker confirms no binding is left (binding-unbind.ts). */
  async startOrphanMitigation(b: ServiceBinding, message: string): Promise<ReconcileResult> {
    const failed = `${message}; the bind will not be retried, and the binding is being deleted at the broker`;
    await this.writer.write(b, (s) => {
      setCondition(s, 'Failed', 'True', reasons.bindCallFailed, failed);
      setCondition(
        s,
        'Ready',
        'False',
        reasons.orphanMitigation,
        `Starting orphan mitigation: the bind failed in a way that may have left a binding at the broker (${message})`,
      );
      s.orphanMitigationInProgress = true;
      s.unbindStatus = 'Required';
      delete s.asyncOpInProgress;
      delete s.lastOperation;
    });
    return { requeueAfterMs: 0 };
  }

  /** A retriable failure: recorded, retried with backoff until --reconciliation-retry-duration. */
  private async retry(
    b: ServiceBinding,
    reason: string,
    message: string,
    retryAfterSeconds?: number,
  ): Promise<ReconcileResult> {
    const started = Date.parse(b.status?.operationStartTime ?? '');
    if (!Number.isNaN(started) && Date.now() - started >= this.ctx.options.reconciliationRetryDurationMs) {
      return this.terminal(b, reason, reasons.retryTimeout, `${messages.retryTimeout}: ${message}`);
    }
    await this.writer.write(b, (s) => setCondition(s, 'Ready', 'False', reason, message));
    return retryResult(retryAfterSeconds);
  }

  private async failure(b: ServiceBinding, f: BindFailure): Promise<ReconcileResult> {
    switch (f.kind) {
      case 'orphan':
        return this.startOrphanMitigation(b, f.message);
      case 'terminal':
        return this.terminal(
          b,
          reasons.bindCallFailed,
          reasons.bindReturnedFailure,
          f.message,
          f.unbindRequired,
        );
      case 'retry':
        return this.retry(b, f.reason, f.message, f.retryAfterSeconds);
    }
  }

  /** The preconditions of a bind that depend on the instance; undefined when it may go ahead. */
  private instanceProblem(t: Target): Unresolved | undefined {
    const i = t.instance;
    const name = `"${i.metadata.namespace}/${i.metadata.name}"`;
    if (!t.bindable) {
      return {
        reason: reasons.nonbindable,
        message: `References a non-bindable ${t.scope.class.kind} "${t.cls.metadata.name}" (external name "${t.cls.spec?.externalName ?? ''}") and ${t.scope.plan.kind} "${t.plan.metadata.name}" (external name "${t.plan.spec?.externalName ?? ''}") combination`,
      };
    }
    if (i.metadata.deletionTimestamp) {
      return { reason: reasons.instanceNotReady, message: `The ServiceInstance ${name} is being deleted` };
    }
    if (i.status?.asyncOpInProgress) {
      return {
        reason: reasons.asyncOperationInProgress,
        message: `The ServiceInstance ${name} has an asynchronous operation in progress`,
      };
    }
    if (i.status?.instanceUsable === false) {
      return {
        reason: reasons.instanceNotReady,
        message: `The broker reported the ServiceInstance ${name} unusable after a failed operation; no new bindings until it is repaired`,
      };
    }
    if (!isTrue(i, 'Ready')) {
      return {
        reason: reasons.instanceNotReady,
        message: `ServiceBinding cannot begin because referenced ServiceInstance ${name} is not ready`,
      };
    }
    return undefined;
  }

  private async namespaceUID(namespace: string): Promise<string | undefined> {
    const cached = this.namespaces.get(undefined, namespace);
    if (cached?.metadata.uid) return cached.metadata.uid;
    return (await this.ctx.client.get<Namespace>(namespaceResource, undefined, namespace))?.metadata.uid;
  }

  /** The context, bind_resource and ids every bind of this instance sends. */
  private async request(t: Target, b: ServiceBinding): Promise<BindRequest | Unresolved> {
    const namespace = b.metadata.namespace!;
    const appGuid = await this.namespaceUID(namespace);
    if (!appGuid) {
      return {
        reason: reasons.findingNamespace,
        message: `Failed to get the UID of namespace "${namespace}" (sent as bind_resource.app_guid)`,
      };
    }
    return {
      service_id: t.serviceId,
      plan_id: t.planId,
      context: {
        platform: 'kubernetes',
        namespace,
        clusterid: this.ctx.clusterId,
        instance_name: t.instance.metadata.name,
      },
      bind_resource: { app_guid: appGuid },
      app_guid: appGuid,
    };
  }

  /**
   * PUT the binding. accepts_incomplete=true only when the service's bindings are retrievable
   * (an asynchronous bind yields no credentials; they are fetched afterwards); an AsyncRequired
   * answer to such a request is sent again at once.
   */
  async send(
    t: Target,
    bindingId: string,
    req: BindRequest,
    identity: OriginatingIdentity | undefined,
  ): Promise<BindOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await t.client.bind(t.instanceId, bindingId, req, {
          acceptsIncomplete: t.retrievable,
          originatingIdentity: identity,
        });
        if (res.kind === 'async') {
          return { kind: 'async', operation: res.operation, retryAfterSeconds: res.retryAfterSeconds };
        }
        const problem = responseProblem(t, res.body);
        if (problem) {
          const failure: BindFailure =
            res.status === 201
              ? { kind: 'orphan', message: problem }
              : { kind: 'terminal', message: problem, unbindRequired: true };
          return { kind: 'failed', failure };
        }
        return { kind: 'done', status: res.status, body: res.body };
      } catch (e) {
        if (isAsyncRequired(e) && t.retrievable && attempt === 1) continue;
        return { kind: 'failed', failure: classifyBindError(e, t.retrievable) };
      }
    }
  }

  /** The parameters, checked against the plan's binding schema; or why they cannot be sent. */
  private async parameters(
    b: ServiceBinding,
    t: Target,
  ): Promise<BuiltParameters | { wait: Unresolved } | { invalid: string }> {
    let built: BuiltParameters;
    try {
      built = await buildParameters(this.ctx.client, b.metadata.namespace!, b.spec ?? {});
    } catch (e) {
      if (!(e instanceof ParametersError)) throw e;
      return {
        wait: { reason: reasons.withParameters, message: `Failed to prepare parameters: ${e.message}` },
      };
    }
    const schema = t.plan.spec?.serviceBindingCreateParameterSchema;
    if (schema !== undefined) {
      const violations = parametersSchemaViolations(schema, built.parameters);
      if (violations?.length) {
        return {
          invalid: `The parameters do not match the binding parameter schema of ${t.scope.plan.kind} "${t.plan.metadata.name}": ${describeViolations(violations)}`,
        };
      }
    }
    return built;
  }

  /** A new bind, or one recorded as started that has not finished (after a failure or a restart). */
  async bind(b: ServiceBinding): Promise<ReconcileResult> {
    const resolved = await this.resolver.resolve(b);
    if (!isTarget(resolved)) return this.wait(b, resolved, waitResult(resolved));
    const t = resolved;
    const problem = this.instanceProblem(t);
    // the instance informer queues the binding again when the instance changes
    if (problem) return this.wait(b, problem, {});
    const req = await this.request(t, b);
    if (!('service_id' in req)) return this.wait(b, req);
    const params = await this.parameters(b, t);
    if ('wait' in params) return this.wait(b, params.wait);
    if ('invalid' in params) {
      return this.terminal(b, reasons.invalidParameters, reasons.invalidParameters, params.invalid);
    }
    if (Object.keys(params.parameters).length) req.parameters = params.parameters;
    const blocked = await this.secrets.precheck(b);
    if (blocked) {
      if (blocked.terminal) {
        return this.terminal(b, reasons.errorInjecting, reasons.errorInjecting, blocked.message);
      }
      return this.wait(b, { reason: reasons.errorInjecting, message: blocked.message });
    }

    // crash safety: the operation and what it sends are in status before the broker hears of it
    const inProgress: ServiceBindingPropertiesState = {
      ...statusParameters(params),
      ...(b.spec?.userInfo ? { userInfo: b.spec.userInfo } : {}),
      serviceClassExternalID: t.serviceId,
      servicePlanExternalID: t.planId,
    };
    const now = rfc3339(Date.now());
    b = await this.writer.write(b, (s) => {
      if (s.currentOperation !== 'Bind') {
        s.currentOperation = 'Bind';
        s.operationStartTime = now;
        setCondition(s, 'Ready', 'False', reasons.bindInFlight, messages.bindInFlight);
      }
      s.inProgressProperties = inProgress;
      s.unbindStatus = 'Required';
    });

    const bindingId = b.spec!.externalID!;
    const outcome = await this.send(t, bindingId, req, originatingIdentity(b.spec?.userInfo));
    switch (outcome.kind) {
      case 'failed':
        return this.failure(b, outcome.failure);
      case 'async':
        await this.writer.write(b, (s) => {
          recordAsyncOperation(s, outcome.operation);
          setCondition(s, 'Ready', 'False', reasons.binding, messages.binding);
        });
        this.retryAfter.record(bindingId, outcome.retryAfterSeconds);
        return retryResult(outcome.retryAfterSeconds);
      case 'done':
        return this.inject(b, t, bindingId, outcome.body);
    }
  }

  /** Polls an asynchronous bind; once it succeeded, fetches the binding and writes its credentials. */
  async poll(b: ServiceBinding): Promise<ReconcileResult> {
    const resolved = await this.resolver.resolve(b);
    if (!isTarget(resolved)) return this.wait(b, resolved);
    const t = resolved;
    const s = b.status ?? {};
    const bindingId = b.spec!.externalID!;
    const ids = {
      serviceId: s.inProgressProperties?.serviceClassExternalID ?? t.serviceId,
      planId: s.inProgressProperties?.servicePlanExternalID ?? t.planId,
    };
    const started = Date.parse(s.operationStartTime ?? '');
    const limit = Math.min(t.maxPollingMs ?? Infinity, this.ctx.options.reconciliationRetryDurationMs);
    if (!Number.isNaN(started) && Date.now() - started >= limit) {
      return this.startOrphanMitigation(
        b,
        `The asynchronous bind did not finish within ${Math.round(limit / 1000)} s (the plan's maximum_polling_duration or --reconciliation-retry-duration) and counts as failed`,
      );
    }
    const wait = this.retryAfter.wait(bindingId);
    if (wait > 0) return { requeueAfterMs: wait };
    const state = await this.pollState(t, bindingId, { ...ids, operation: s.lastOperation });
    this.retryAfter.record(bindingId, state.kind === 'pending' ? state.retryAfterSeconds : undefined);
    switch (state.kind) {
      case 'pending':
        await this.writer.write(b, (x) => setCondition(x, 'Ready', 'False', state.reason, state.message));
        return retryResult(state.retryAfterSeconds);
      case 'failed':
        return this.startOrphanMitigation(b, state.message);
      case 'succeeded':
        break;
    }
    const fetched = await this.fetch(t, bindingId, ids);
    if (fetched.kind === 'failed') return this.startOrphanMitigation(b, fetched.message);
    if (fetched.kind === 'pending') {
      await this.writer.write(b, (x) => setCondition(x, 'Ready', 'False', reasons.binding, fetched.message));
      return { requeue: true };
    }
    return this.inject(b, t, bindingId, fetched.body);
  }

  /** One poll of a binding's last_operation: still going (also on errors), failed, or succeeded. */
  async pollState(
    t: Target,
    bindingId: string,
    q: { serviceId: string; planId: string; operation?: string },
  ): Promise<
    | { kind: 'pending'; reason: string; message: string; retryAfterSeconds?: number }
    | { kind: 'failed'; message: string }
    | { kind: 'succeeded' }
  > {
    try {
      const res = await t.client.pollBindingLastOperation(t.instanceId, bindingId, q);
      // 410 while creating is not a valid answer: keep polling
      if (res.kind === 'gone') {
        return {
          kind: 'pending',
          reason: reasons.binding,
          message: `${messages.binding} (the broker answered 410 Gone while binding; polling again)`,
          retryAfterSeconds: res.retryAfterSeconds,
        };
      }
      if (res.state === 'in progress') {
        return {
          kind: 'pending',
          reason: reasons.binding,
          message: res.description ? `${messages.binding}: ${res.description}` : messages.binding,
          retryAfterSeconds: res.retryAfterSeconds,
        };
      }
      if (res.state === 'failed') {
        return {
          kind: 'failed',
          message: `The broker reported the asynchronous bind failed${res.description ? `: ${res.description}` : ''}`,
        };
      }
      return { kind: 'succeeded' };
    } catch (e) {
      // errors and unreadable answers while polling: keep polling until the limit
      return {
        kind: 'pending',
        reason: reasons.pollFailed,
        message: `Error polling the last operation: ${describe(e)}`,
        retryAfterSeconds: isOSBError(e) ? e.retryAfterSeconds : undefined,
      };
    }
  }

  /** GET of a binding after its asynchronous creation: 404 is "not yet", other errors are retried. */
  async fetch(
    t: Target,
    bindingId: string,
    ids: { serviceId: string; planId: string },
  ): Promise<
    | { kind: 'found'; body: BindResponse }
    | { kind: 'pending'; message: string }
    | { kind: 'failed'; message: string }
  > {
    try {
      const res = await t.client.getBinding(t.instanceId, bindingId, ids);
      const problem = responseProblem(t, res.body);
      if (problem) return { kind: 'failed', message: problem };
      return { kind: 'found', body: res.body };
    } catch (e) {
      if (isNotFound(e)) {
        return { kind: 'pending', message: `${messages.binding} (the broker does not show the binding yet)` };
      }
      return { kind: 'pending', message: `Error fetching the binding: ${describe(e)}` };
    }
  }

  /** Writes the credentials into the Secret, then Ready True. */
  private async inject(
    b: ServiceBinding,
    t: Target,
    bindingId: string,
    body: BindResponse,
  ): Promise<ReconcileResult> {
    try {
      await this.secrets.inject(b, body.credentials);
    } catch (e) {
      const message = `Error injecting bind result: ${describe(e)}`;
      if (e instanceof InjectError && e.terminal) {
        return this.terminal(b, reasons.errorInjecting, reasons.errorInjecting, message, true);
      }
      // the operation stays recorded: the next attempt binds again (answered 200 with the same
      // credentials, or fetched again), so the credentials are never kept anywhere but the Secret
      return this.retry(b, reasons.errorInjecting, message);
    }
    const generation = b.metadata.generation ?? 0;
    b = await this.writer.write(b, (s) => {
      if (s.inProgressProperties) s.externalProperties = s.inProgressProperties;
      clearOperation(s);
      setCondition(s, 'Ready', 'True', reasons.injected, messages.injected);
      clearFailed(s, reasons.injected, messages.injected);
      s.reconciledGeneration = generation;
      s.unbindStatus = 'Required';
      s.externalID = bindingId;
      applyBindingMetadata(s, body);
    });
    if (!t.rotatable) return {};
    const delay = rotationDelay(b.status, Date.now());
    return delay === undefined ? {} : { requeueAfterMs: delay };
  }

  // -------------------------------------------------------------------------------------------
  // Rotation (plans with bindingRotatable): a successor binding, then the predecessor unbound

  /** Records a new successor id, then creates it. */
  async startRotation(b: ServiceBinding, t: Target): Promise<ReconcileResult> {
    const successor = randomUUID();
    const now = rfc3339(Date.now());
    b = await this.writer.write(b, (s) => {
      s.rotation = { phase: 'Bind', bindingID: successor, startTime: now };
    });
    this.ctx.recorder.event(
      b,
      'Normal',
      reasons.rotating,
      `renewBefore (${b.status?.renewBefore ?? ''}) has passed: creating binding ${successor} to succeed ${currentBindingId(b)}`,
    );
    return this.continueRotation(b, t);
  }

  /** The successor's bind, its poll, and the swap of the Secret's credentials once it exists. */
  async continueRotation(b: ServiceBinding, t: Target): Promise<ReconcileResult> {
    const rot = b.status!.rotation!;
    const successor = rot.bindingID!;
    const ids = { serviceId: t.serviceId, planId: t.planId };
    if (rot.asyncOpInProgress) {
      const started = Date.parse(rot.startTime ?? '');
      const limit = Math.min(t.maxPollingMs ?? Infinity, this.ctx.options.reconciliationRetryDurationMs);
      if (!Number.isNaN(started) && Date.now() - started >= limit) {
        return this.rotationOrphan(b, 'the asynchronous bind of the successor did not finish in time');
      }
      const wait = this.retryAfter.wait(successor);
      if (wait > 0) return { requeueAfterMs: wait };
      const state = await this.pollState(t, successor, { ...ids, operation: rot.lastOperation });
      this.retryAfter.record(successor, state.kind === 'pending' ? state.retryAfterSeconds : undefined);
      if (state.kind === 'pending') return retryResult(state.retryAfterSeconds);
      if (state.kind === 'failed') return this.rotationOrphan(b, state.message);
      const fetched = await this.fetch(t, successor, ids);
      if (fetched.kind === 'pending') return { requeue: true };
      if (fetched.kind === 'failed') return this.rotationOrphan(b, fetched.message);
      return this.swap(b, t, successor, fetched.body);
    }
    const req = await this.request(t, b);
    if (!('service_id' in req)) return this.rotationFailed(b, req.message);
    // the broker carries the parameters over from the predecessor (spec: Binding Rotation)
    req.predecessor_binding_id = currentBindingId(b);
    const outcome = await this.send(t, successor, req, undefined);
    switch (outcome.kind) {
      case 'async':
        await this.writer.write(b, (s) => {
          if (!s.rotation) return;
          s.rotation.asyncOpInProgress = true;
          if (outcome.operation !== undefined) s.rotation.lastOperation = outcome.operation;
        });
        this.retryAfter.record(successor, outcome.retryAfterSeconds);
        return retryResult(outcome.retryAfterSeconds);
      case 'failed':
        if (outcome.failure.kind === 'orphan') return this.rotationOrphan(b, outcome.failure.message);
        return this.rotationFailed(b, outcome.failure.message);
      case 'done':
        return this.swap(b, t, successor, outcome.body);
    }
  }

  /** The successor's credentials replace the predecessor's in the Secret; the predecessor is then unbound. */
  private async swap(
    b: ServiceBinding,
    t: Target,
    successor: string,
    body: BindResponse,
  ): Promise<ReconcileResult> {
    try {
      await this.secrets.inject(b, body.credentials);
    } catch (e) {
      // API failures are retried as they are: the successor's bind is resent (idempotent) next time
      if (!(e instanceof InjectError)) throw e;
      return this.rotationOrphan(b, `the successor's credentials cannot be written: ${e.message}`);
    }
    const predecessor = currentBindingId(b);
    const now = rfc3339(Date.now());
    b = await this.writer.write(b, (s) => {
      s.externalID = successor;
      s.lastRotationTime = now;
      applyBindingMetadata(s, body);
      s.externalProperties = {
        ...s.externalProperties,
        serviceClassExternalID: t.serviceId,
        servicePlanExternalID: t.planId,
      };
      s.rotation = { phase: 'Unbind', bindingID: predecessor, startTime: now };
    });
    this.ctx.recorder.event(
      b,
      'Normal',
      reasons.rotated,
      `The Secret now holds the credentials of binding ${successor}; unbinding its predecessor ${predecessor}`,
    );
    return { requeueAfterMs: 0 };
  }

  /** The successor may exist at the broker: unbind it, then try again later. */
  private async rotationOrphan(b: ServiceBinding, message: string): Promise<ReconcileResult> {
    const rot = b.status!.rotation!;
    const now = rfc3339(Date.now());
    b = await this.writer.write(b, (s) => {
      s.rotation = { phase: 'Unbind', bindingID: rot.bindingID, startTime: now, orphanMitigation: true };
    });
    this.ctx.recorder.event(
      b,
      'Warning',
      reasons.rotationFailed,
      `Rotation failed: ${message}; unbinding the successor ${rot.bindingID ?? ''} (orphan mitigation), then trying again`,
    );
    return { requeueAfterMs: 0 };
  }

  /** Nothing was created: forget the successor and try again after a backoff. */
  private async rotationFailed(b: ServiceBinding, message: string): Promise<ReconcileResult> {
    b = await this.writer.write(b, (s) => {
      delete s.rotation;
    });
    this.ctx.recorder.event(
      b,
      'Warning',
      reasons.rotationFailed,
      `Rotation failed: ${message}; trying again later`,
    );
    return { requeue: true };
  }
}

/** The binding_id whose credentials the Secret holds. */
export const currentBindingId = (b: ServiceBinding): string =>
  b.status?.externalID || b.spec?.externalID || '';
