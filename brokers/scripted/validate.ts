import { CatalogIndex } from './catalog';
import type { BindingRecord, InstanceRecord } from './types';
import { isObject } from '../../pkg/json';

/**
 * The checks of a strict broker on what a platform sends: each problem is a sentence naming the
 * rule broken, collected rather than stopping at the first. What the spec requires goes to `out`
 * (the request is refused); what only the Kubernetes profile asks of a platform (the optional
 * request identity, context and originating identity, and their Kubernetes contents) goes to
 * `profile`: the request is served, as other platforms send none of it, and the journal tells.
 */

const MIN_VERSION = [2, 13];

type Obj = Record<string, unknown>;
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** Undefined when acceptable; otherwise why the broker answers 412. */
export function versionProblem(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return 'missing X-Broker-API-Version header';
  const m = /^(\d+)\.(\d+)$/.exec(header.trim());
  if (!m) return `X-Broker-API-Version "${header}" is not MAJOR.MINOR`;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1])) {
    return `X-Broker-API-Version ${header} is older than ${MIN_VERSION.join('.')}`;
  }
  return undefined;
}

export interface DecodedIdentity {
  platform: string;
  value: unknown;
}

/** Checks the request-wide headers; returns the decoded originating identity when well-formed. */
export function headerViolations(
  headers: Record<string, string>,
  out: string[],
  profile: string[],
): DecodedIdentity | undefined {
  if (!nonEmpty(headers['x-broker-api-request-identity']?.trim())) {
    profile.push('missing X-Broker-API-Request-Identity header');
  }
  const raw = headers['x-broker-api-originating-identity'];
  if (raw === undefined) return undefined;
  const m = /^(\S+) (\S+)$/.exec(raw.trim());
  if (!m) {
    out.push('X-Broker-API-Originating-Identity must be "<platform> <base64 JSON>"');
    return undefined;
  }
  const [, platform, b64] = m;
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error('not base64');
    value = JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
  } catch {
    out.push('X-Broker-API-Originating-Identity value is not base64-encoded JSON');
    return undefined;
  }
  if (platform !== 'kubernetes') {
    profile.push(`X-Broker-API-Originating-Identity platform "${platform}" is not "kubernetes"`);
  }
  if (!isObject(value)) {
    out.push('X-Broker-API-Originating-Identity value is not a JSON object');
  } else {
    if (!nonEmpty(value.username)) profile.push('X-Broker-API-Originating-Identity lacks username');
    if (typeof value.uid !== 'string') profile.push('X-Broker-API-Originating-Identity lacks uid');
    if (!Array.isArray(value.groups) || !value.groups.every((g) => typeof g === 'string')) {
      profile.push('X-Broker-API-Originating-Identity groups must be an array of strings');
    }
    if (
      !isObject(value.extra) ||
      !Object.values(value.extra).every((v) => Array.isArray(v) && v.every((s) => typeof s === 'string'))
    ) {
      profile.push('X-Broker-API-Originating-Identity extra must be a map of string arrays');
    }
  }
  return { platform, value };
}

export function acceptsIncompleteViolations(query: Record<string, unknown>, out: string[]): void {
  const v = query.accepts_incomplete;
  if (v !== undefined && v !== 'true' && v !== 'false')
    out.push(
      `accepts_incomplete must be true or false, not "${typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : JSON.stringify(v)}"`,
    );
}

/** Kubernetes context (profile.md): which properties are REQUIRED depends on the call. */
function contextViolations(
  context: unknown,
  required: Array<'clusterid' | 'instance_name'>,
  identity: DecodedIdentity | undefined,
  out: string[],
  profile: string[],
): void {
  if (context === undefined) {
    profile.push('context is required');
    return;
  }
  if (!isObject(context)) {
    out.push('context must be an object');
    return;
  }
  if (context.platform !== 'kubernetes')
    profile.push(`context.platform must be "kubernetes", not ${JSON.stringify(context.platform)}`);
  if (!nonEmpty(context.namespace)) profile.push('context.namespace must be a non-empty string');
  for (const key of required) {
    if (!nonEmpty(context[key])) profile.push(`context.${key} must be a non-empty string`);
  }
  for (const key of ['namespace_annotations', 'instance_annotations']) {
    if (context[key] !== undefined && !isObject(context[key]))
      profile.push(`context.${key} must be an object`);
  }
  if (identity && context.platform !== identity.platform) {
    out.push('X-Broker-API-Originating-Identity platform must equal context.platform');
  }
}

function optionalObject(body: Obj, key: string, out: string[]): void {
  if (body[key] !== undefined && !isObject(body[key])) out.push(`${key} must be an object`);
}

function maintenanceInfoViolations(body: Obj, out: string[]): void {
  if (body.maintenance_info === undefined) return;
  if (!isObject(body.maintenance_info) || !nonEmpty(body.maintenance_info.version)) {
    out.push('maintenance_info must be an object with a version');
  }
}

/** service_id and plan_id present, and the plan one of the service's in the catalog. */
function idViolations(body: Obj, catalog: CatalogIndex, out: string[], planRequired = true): void {
  if (!nonEmpty(body.service_id)) out.push('service_id is required');
  if (planRequired && !nonEmpty(body.plan_id)) out.push('plan_id is required');
  if (nonEmpty(body.service_id) && !catalog.service(body.service_id)) {
    out.push(`service_id ${body.service_id} is not in the catalog`);
  }
  if (nonEmpty(body.plan_id)) {
    const ref = catalog.plan(body.plan_id);
    if (!ref) out.push(`plan_id ${body.plan_id} is not in the catalog`);
    else if (nonEmpty(body.service_id) && ref.service.id !== body.service_id) {
      out.push(`plan_id ${body.plan_id} is not a plan of service_id ${body.service_id}`);
    }
  }
}

export function provisionViolations(
  body: unknown,
  catalog: CatalogIndex,
  identity: DecodedIdentity | undefined,
  out: string[],
  profile: string[],
): void {
  if (!isObject(body)) {
    out.push('body must be a JSON object');
    return;
  }
  idViolations(body, catalog, out);
  if (!nonEmpty(body.organization_guid))
    out.push('organization_guid is required (deprecated, still REQUIRED)');
  if (!nonEmpty(body.space_guid)) out.push('space_guid is required (deprecated, still REQUIRED)');
  contextViolations(body.context, ['clusterid', 'instance_name'], identity, out, profile);
  optionalObject(body, 'parameters', out);
  maintenanceInfoViolations(body, out);
}

export function updateViolations(
  body: unknown,
  catalog: CatalogIndex,
  instance: InstanceRecord | undefined,
  identity: DecodedIdentity | undefined,
  out: string[],
  profile: string[],
): void {
  if (!isObject(body)) {
    out.push('body must be a JSON object');
    return;
  }
  idViolations(body, catalog, out, false);
  if (instance && nonEmpty(body.service_id) && body.service_id !== instance.serviceId) {
    out.push(`service_id ${body.service_id} is not the instance's (${instance.serviceId})`);
  }
  if (instance && nonEmpty(body.plan_id) && body.plan_id !== instance.planId) {
    const current = catalog.plan(instance.planId);
    if (current && !CatalogIndex.updateable(current)) {
      out.push(`plan change requested but plan ${instance.planId} is not plan_updateable`);
    }
  }
  if (body.context !== undefined)
    contextViolations(body.context, ['clusterid', 'instance_name'], identity, out, profile);
  optionalObject(body, 'parameters', out);
  optionalObject(body, 'previous_values', out);
  maintenanceInfoViolations(body, out);
}

/** DELETE of an instance or a binding: service_id and plan_id are REQUIRED and MUST be the resource's. */
export function deleteViolations(
  query: Record<string, unknown>,
  record: InstanceRecord | BindingRecord | undefined,
  pendingPlanId: string | undefined,
  out: string[],
): void {
  acceptsIncompleteViolations(query, out);
  if (!nonEmpty(query.service_id)) out.push('service_id query parameter is required');
  if (!nonEmpty(query.plan_id)) out.push('plan_id query parameter is required');
  if (!record) return;
  if (nonEmpty(query.service_id) && query.service_id !== record.serviceId) {
    out.push(`service_id ${query.service_id} is not the resource's (${record.serviceId})`);
  }
  if (nonEmpty(query.plan_id) && query.plan_id !== record.planId && query.plan_id !== pendingPlanId) {
    out.push(`plan_id ${query.plan_id} is not the resource's (${record.planId})`);
  }
}

export function bindViolations(
  body: unknown,
  catalog: CatalogIndex,
  instance: InstanceRecord | undefined,
  predecessor: BindingRecord | undefined,
  identity: DecodedIdentity | undefined,
  out: string[],
  profile: string[],
): void {
  if (!isObject(body)) {
    out.push('body must be a JSON object');
    return;
  }
  idViolations(body, catalog, out);
  const ref = catalog.plan(nonEmpty(body.plan_id) ? body.plan_id : undefined);
  if (ref && !CatalogIndex.bindable(ref)) out.push(`plan ${ref.plan.id} is not bindable`);
  if (instance && nonEmpty(body.service_id) && body.service_id !== instance.serviceId) {
    out.push(`service_id ${body.service_id} is not the instance's (${instance.serviceId})`);
  }
  if (instance && nonEmpty(body.plan_id) && body.plan_id !== instance.planId) {
    out.push(`plan_id ${body.plan_id} is not the instance's (${instance.planId})`);
  }
  contextViolations(body.context, ['clusterid'], identity, out, profile);
  optionalObject(body, 'bind_resource', out);
  optionalObject(body, 'parameters', out);
  if (body.app_guid !== undefined && !nonEmpty(body.app_guid))
    out.push('app_guid must be a non-empty string');
  if (body.predecessor_binding_id !== undefined) {
    if (ref && !CatalogIndex.rotatable(ref)) out.push(`plan ${ref.plan.id} is not binding_rotatable`);
    if (!predecessor)
      out.push(
        `predecessor_binding_id ${typeof body.predecessor_binding_id === 'string' ? body.predecessor_binding_id : JSON.stringify(body.predecessor_binding_id)} is not a binding of this instance`,
      );
  }
}

/** GET last_operation: the hints, if sent, are non-empty; the operation, if the broker gave one, is echoed. */
export function pollViolations(
  query: Record<string, unknown>,
  expectedOperation: string | undefined,
  out: string[],
): void {
  for (const key of ['service_id', 'plan_id', 'operation']) {
    if (query[key] !== undefined && !nonEmpty(query[key]))
      out.push(`${key} query parameter must be non-empty when present`);
  }
  if (expectedOperation !== undefined && query.operation !== expectedOperation) {
    out.push(
      `operation query parameter must echo the broker's operation ${JSON.stringify(expectedOperation)}`,
    );
  }
}
