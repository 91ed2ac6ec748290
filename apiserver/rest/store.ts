import { randomUUID } from 'node:crypto';
import type { ValidateFunction, ErrorObject } from 'ajv';
import type { KubeObject, StatusCause } from '../../api-types/meta';
import { jsonEqual } from '../../pkg/json';
import { apiVersionOf, type ResourceDefinition } from '../../api-types/resource';
import {
  DELETE,
  StorageError,
  type ResourceStore,
  type UpdateResult,
  type WatchCache,
} from '../../pkg/storage';
import { AdmissionChain, type AdmissionAttributes } from '../admission/types';
import {
  statusStrategy,
  type RequestContext,
  type Strategy,
  type SubresourceStrategy,
} from '../strategy/strategy';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  field,
  invalid,
  notFound,
  serviceUnavailable,
  StatusError,
  type ErrorTarget,
} from '../../pkg/apierrors';
import { checkUnknownFields, pruneUnknownFields, type FieldValidation } from './fieldvalidation';
import { decodeContinue, encodeContinue, type ListOptions } from './list-options';
import { applyPatch, type PatchType } from './patch';
import {
  exactMatch,
  parseFieldSelector,
  parseLabelSelector,
  type FieldSelector,
  type LabelSelector,
} from '../../pkg/selectors';
import { rfc3339 } from '../../pkg/time';

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun: boolean;
}

export interface WriteResult {
  object: KubeObject;
  warnings: string[];
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** A compiled selector pair; `matches` is what list, watch and deletecollection filter with. */
export interface Selection {
  label: LabelSelector;
  field: FieldSelector;
  matches(obj: KubeObject): boolean;
}

const defaultStatus = statusStrategy();

const nameRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const generateNameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

function generateName(prefix: string): string {
  let s = prefix.slice(0, 58);
  for (let i = 0; i < 5; i++)
    s += generateNameAlphabet[Math.floor(Math.random() * generateNameAlphabet.length)];
  return s;
}

export function validateName(name: string, path = 'metadata.name'): StatusCause[] {
  if (name.length > 253) return [field.tooLong(path, 253)];
  if (!nameRe.test(name)) {
    return [
      field.invalid(
        path,
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    ];
  }
  return [];
}

function ajvPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;
}

/** ajv's findings worded like kube-apiserver words OpenAPI schema violations. */
export function schemaCauses(errors: ErrorObject[] | null | undefined, obj: unknown): StatusCause[] {
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if') continue;
    let path = ajvPath(e.instancePath);
    let cause: StatusCause;
    const value = e.instancePath
      .split('/')
      .slice(1)
      .reduce<unknown>(
        (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
        obj,
      );
    if (e.keyword === 'required') {
      path = path ? `${path}.${e.params.missingProperty}` : String(e.params.missingProperty);
      cause = field.required(path);
    } else if (e.keyword === 'type') {
      cause = field.invalid(
        path,
        typeName(value),
        `${path} in body must be of type ${e.params.type}: "${typeName(value)}"`,
      );
    } else if (e.keyword === 'enum' || e.keyword === 'const') {
      const allowed = (e.params.allowedValues ?? [e.params.allowedValue]) as unknown[];
      cause = field.notSupported(path, value, allowed.map(String));
    } else {
      cause = field.invalid(path, value, `${path} in body ${e.message ?? 'is invalid'}`);
    }
    const k = `${cause.field}|${cause.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      causes.push(cause);
    }
  }
  return causes;
}

/**
 * The generic store of one resource, like k8s.io/apiserver's genericregistry.Store: it turns REST
 * verbs into storage calls, applying the resource's strategy and the rules every kind shares
 * (names, uid, generation, status split, two-phase deletion, resourceVersion semantics).
 */
export class Store {
  readonly apiVersion: string;
  readonly hasStatus: boolean;

  constructor(
    readonly def: ResourceDefinition,
    readonly strategy: Strategy,
    readonly storage: ResourceStore,
    private readonly validateSchema: ValidateFunction,
    readonly cache?: WatchCache,
    private readonly admission: AdmissionChain = new AdmissionChain([], {
      get: async () => undefined,
      list: async () => [],
    }),
  ) {
    this.apiVersion = apiVersionOf(def);
    this.hasStatus = def.subresources.includes('status');
  }

  target(name?: string): ErrorTarget {
    return { group: this.def.group, resource: this.def.plural, name };
  }

  /** Maps storage failures to Statuses; other errors pass through. */
  private storageError(e: unknown, name?: string): unknown {
    if (!(e instanceof StorageError)) return e;
    switch (e.code) {
      case 'NotFound':
        return notFound(this.target(name));
      case 'AlreadyExists':
        return alreadyExists(this.target(name));
      case 'Conflict':
        return conflict(this.target(name), e.message);
      case 'Expired':
        return expired(`The resourceVersion for the provided list is too old.`);
      case 'TooLargeResourceVersion':
        return new StatusError(504, 'Timeout', `Too large resource version: ${e.message}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      case 'Unavailable':
        return serviceUnavailable(e.message);
    }
  }

  private async run<T>(fn: () => Promise<T>, name?: string): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.storageError(e, name);
    }
  }

  selection(opts: Pick<ListOptions, 'labelSelector' | 'fieldSelector'>, name?: string): Selection {
    const label = parseLabelSelector(opts.labelSelector);
    const fieldSel = parseFieldSelector(
      name ? [opts.fieldSelector, `metadata.name=${name}`].filter(Boolean).join(',') : opts.fieldSelector,
    );
    const allowed = ['metadata.name', 'metadata.namespace', ...Object.keys(this.def.selectableFields)];
    for (const r of fieldSel.requirements) {
      if (!allowed.includes(r.field)) {
        throw badRequest(
          `"${r.field}" is not a known field selector: only ${allowed.map((a) => `"${a}"`).join(', ')}`,
        );
      }
    }
    const fields = this.def.selectableFields;
    const matches = (obj: KubeObject) =>
      (label.empty || label.matches(obj.metadata.labels)) &&
      (fieldSel.empty ||
        fieldSel.matches((f) =>
          f === 'metadata.name'
            ? obj.metadata.name
            : f === 'metadata.namespace'
              ? obj.metadata.namespace
              : fields[f]?.(obj),
        ));
    return { label, field: fieldSel, matches };
  }

  async get(namespace: string | undefined, name: string, resourceVersion?: string): Promise<KubeObject> {
    const obj = await this.run(async () => {
      if (resourceVersion !== undefined && this.cache) {
        await this.cache.waitForRevision(Number(resourceVersion));
        return this.cache.get(namespace, name);
      }
      return this.storage.get(namespace, name);
    }, name);
    if (!obj) throw notFound(this.target(name));
    return obj;
  }

  /**
   * Lists by the API concepts rules: no resourceVersion → a consistent read from etcd (paged by
   * limit/continue); "0" or NotOlderThan → the watch cache; Exact, continue, or a resourceVersion
   * with limit → etcd at that revision.
   */
  async list(namespace: string | undefined, opts: ListOptions): Promise<ListResult> {
    const sel = this.selection(opts);
    const rv = opts.resourceVersion;
    const notOlderThan =
      opts.continue === undefined &&
      rv !== undefined &&
      (rv === '0' ||
        opts.resourceVersionMatch === 'NotOlderThan' ||
        (opts.resourceVersionMatch === undefined && opts.limit === undefined));
    if (notOlderThan && this.cache) {
      const cache = this.cache;
      await this.run(() => cache.waitForRevision(Number(rv)));
      const indexed = this.indexedRequirement(sel);
      const items = cache.list(namespace, indexed).filter((obj) => sel.matches(obj));
      return { items, resourceVersion: String(cache.revision) };
    }
    // without a cache, "not older than" is served by the latest state, which always is
    let revision: number | undefined = rv !== undefined && !notOlderThan ? Number(rv) : undefined;
    let startAfter: string | undefined;
    if (opts.continue !== undefined) {
      const token = decodeContinue(opts.continue);
      if (!token) throw badRequest('continue key is not valid: invalid continue token');
      revision = token.revision;
      startAfter = token.startAfter;
    }
    const items: KubeObject[] = [];
    const filtered = !sel.label.empty || !sel.field.empty;
    for (;;) {
      const want = opts.limit === undefined ? undefined : opts.limit - items.length;
      const page = await this.run(() =>
        this.storage.list({
          namespace,
          revision,
          limit: want === undefined ? undefined : filtered ? Math.max(want, 100) : want,
          startAfter,
        }),
      ).catch((e) => {
        if (e instanceof StatusError && e.reason === 'Expired' && opts.continue !== undefined) {
          throw expired(
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          );
        }
        throw e;
      });
      // etcd reports its current revision even for a read at an older one: keep the revision read at
      revision ??= page.revision;
      let consumed = page.items.length;
      for (let i = 0; i < page.items.length; i++) {
        if (!sel.matches(page.items[i])) continue;
        items.push(page.items[i]);
        if (opts.limit !== undefined && items.length === opts.limit) {
          consumed = i + 1;
          break;
        }
      }
      const more = page.remaining > 0 || consumed < page.items.length;
      if (!more) return { items, resourceVersion: String(revision) };
      const last =
        consumed === page.items.length
          ? page.lastKey!
          : this.storage.relativeKey(
              page.items[consumed - 1].metadata.namespace,
              page.items[consumed - 1].metadata.name!,
            );
      if (opts.limit !== undefined && items.length >= opts.limit) {
        return {
          items,
          resourceVersion: String(revision),
          continue: encodeContinue(revision, last),
          remainingItemCount: filtered ? undefined : page.remaining + page.items.length - consumed,
        };
      }
      startAfter = last;
    }
  }

  /** An `=` requirement on an indexed field lets the cache answer without a scan. */
  indexedRequirement(sel: Selection): { field: string; value: string } | undefined {
    for (const f of Object.keys(this.def.selectableFields)) {
      const value = exactMatch(sel.field, f);
      if (value !== undefined && this.cache?.hasIndex(f)) return { field: f, value };
    }
    return undefined;
  }

  /** The rules of every kind: the schema, the name, label values. */
  private genericCauses(obj: KubeObject): StatusCause[] {
    const causes: StatusCause[] = [];
    if (!this.validateSchema(obj)) causes.push(...schemaCauses(this.validateSchema.errors, obj));
    causes.push(...validateName(obj.metadata.name ?? ''));
    for (const [key, value] of Object.entries(obj.metadata.labels ?? {})) {
      if (typeof value === 'string' && value.length > 63)
        causes.push(field.tooLong(`metadata.labels[${key}]`, 63));
    }
    return causes;
  }

  /**
   * The typed write path's gate: a body that breaks the kind's schema is refused before any
   * strategy sees it, so strategies work on objects of their kind's type.
   */
  private requireSchema(obj: KubeObject): void {
    const valid: boolean = this.validateSchema(obj);
    if (valid) return;
    throw invalid(this.def.kind, this.target(obj.metadata.name), this.genericCauses(obj));
  }

  /** Validates the object about to be stored: every generic rule and the strategy's causes. */
  private validateObject(obj: KubeObject, extra: StatusCause[]): void {
    const causes = [...this.genericCauses(obj), ...extra];
    if (causes.length > 0) throw invalid(this.def.kind, this.target(obj.metadata.name), causes);
  }

  /** Parses what a client sent as an object of this kind; the shared start of create and update. */
  private decodeBody(
    body: unknown,
    namespace: string | undefined,
    fieldValidation: FieldValidation,
  ): { obj: KubeObject; warnings: string[] } {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw badRequest(`the body of the request must be a JSON or YAML object of kind ${this.def.kind}`);
    }
    const obj = body as KubeObject;
    if (obj.apiVersion !== undefined && obj.apiVersion !== this.apiVersion) {
      throw badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${this.apiVersion})`,
      );
    }
    if (obj.kind !== undefined && obj.kind !== this.def.kind) {
      throw badRequest(
        `the kind in the data (${String(obj.kind)}) does not match the expected kind (${this.def.kind})`,
      );
    }
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) {
      throw invalid(this.def.kind, this.target(), [
        field.invalid('metadata', typeName(obj.metadata), 'must be an object'),
      ]);
    }
    obj.apiVersion = this.apiVersion;
    obj.kind = this.def.kind;
    if (this.def.namespaced) {
      if (obj.metadata.namespace && namespace && obj.metadata.namespace !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      obj.metadata.namespace = namespace ?? obj.metadata.namespace;
    } else {
      delete obj.metadata.namespace;
    }
    const warnings = checkUnknownFields(fieldValidation, pruneUnknownFields(obj, this.def.schema));
    // empty maps and lists are omitted, as Go's omitempty does in kube-apiserver's answers
    for (const key of ['labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields'] as const) {
      const v = obj.metadata[key];
      if (v !== undefined && (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0))
        delete obj.metadata[key];
    }
    return { obj, warnings };
  }

  async create(
    namespace: string | undefined,
    body: unknown,
    ctx: RequestContext,
    fieldValidation: FieldValidation,
  ): Promise<WriteResult> {
    const { obj, warnings } = this.decodeBody(body, namespace, fieldValidation);
    const meta = obj.metadata;
    if (!meta.name) {
      if (!meta.generateName) {
        throw invalid(this.def.kind, this.target(), [
          field.required('metadata.name', 'name or generateName is required'),
        ]);
      }
      meta.name = generateName(meta.generateName);
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339();
    meta.generation = 1;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    if (this.hasStatus) delete obj.status;
    this.requireSchema(obj);
    this.strategy.prepareForCreate(obj, ctx);
    const attrs = this.attributes('CREATE', ctx, meta.name, obj);
    await this.admission.admit(attrs);
    this.validateObject(obj, this.strategy.validate(obj, ctx));
    await this.admission.validate(attrs);
    if (ctx.dryRun) {
      // a dry run still reports the name clash the real create would hit, as kube's DryRunnableStorage does
      const existing = await this.run(() => this.storage.get(namespace, meta.name!), meta.name);
      if (existing) throw alreadyExists(this.target(meta.name));
      return { object: obj, warnings };
    }
    const object = await this.run(() => this.storage.create(namespace, meta.name!, obj), meta.name);
    return { object, warnings };
  }

  /**
   * The shared tail of update and patch: turns the client's intended object into the stored one
   * against the current state, or answers DELETE when the update removes the last finalizer of an
   * object being deleted.
   */
  private async prepareUpdate(
    obj: KubeObject,
    current: KubeObject,
    ctx: RequestContext,
    subresource: string | undefined,
  ): Promise<UpdateResult> {
    const name = current.metadata.name;
    if (obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) {
      throw conflict(
        this.target(name),
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    if (obj.metadata.uid && obj.metadata.uid !== current.metadata.uid) {
      throw conflict(
        this.target(name),
        `Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    this.requireSchema(obj);
    let next: KubeObject;
    const causes: StatusCause[] = [];
    if (subresource !== undefined) {
      const sub = this.subresource(subresource);
      next = sub.prepareForUpdate(obj, structuredClone(current), ctx);
      causes.push(...sub.validateUpdate(next, current, ctx));
    } else {
      next = obj;
      const meta = next.metadata;
      meta.uid = current.metadata.uid;
      meta.creationTimestamp = current.metadata.creationTimestamp;
      meta.generation = current.metadata.generation;
      meta.resourceVersion = current.metadata.resourceVersion;
      meta.deletionTimestamp = current.metadata.deletionTimestamp;
      meta.deletionGracePeriodSeconds = current.metadata.deletionGracePeriodSeconds;
      if (meta.deletionTimestamp === undefined) delete meta.deletionTimestamp;
      if (meta.deletionGracePeriodSeconds === undefined) delete meta.deletionGracePeriodSeconds;
      delete meta.selfLink;
      if (this.hasStatus) {
        if (current.status === undefined) delete next.status;
        else next.status = current.status;
      }
      this.strategy.prepareForUpdate(next, current, ctx);
      if (!jsonEqual(next.spec, current.spec)) meta.generation = (current.metadata.generation ?? 0) + 1;
      causes.push(...this.strategy.validateUpdate(next, current, ctx));
      if (current.metadata.deletionTimestamp) {
        const old = new Set(current.metadata.finalizers ?? []);
        if ((meta.finalizers ?? []).some((f) => !old.has(f))) {
          causes.push(
            field.forbidden(
              'metadata.finalizers',
              'no new finalizers can be added if the object is being deleted',
            ),
          );
        }
      }
    }
    const attrs = this.attributes('UPDATE', ctx, name, next, current, subresource);
    await this.admission.admit(attrs);
    this.validateObject(next, causes);
    await this.admission.validate(attrs);
    if (
      next.metadata.deletionTimestamp &&
      (next.metadata.finalizers ?? []).length === 0 &&
      !this.strategy.deletionBlocked?.(next)
    )
      return DELETE;
    // writing an unchanged object would only bump resourceVersion and wake every watcher
    if (jsonEqual(next, current)) return undefined;
    return next;
  }

  /** The strategy of a subresource the kind serves (the handlers refuse any other). */
  private subresource(name: string): SubresourceStrategy {
    const sub = this.strategy.subresources?.[name] ?? (name === 'status' ? defaultStatus : undefined);
    if (!sub) throw notFound(this.target(name));
    return sub;
  }

  private attributes(
    operation: AdmissionAttributes['operation'],
    ctx: RequestContext,
    name: string | undefined,
    object?: KubeObject,
    oldObject?: KubeObject,
    subresource?: string,
  ): AdmissionAttributes {
    return {
      operation,
      resource: this.def.plural,
      subresource,
      namespace: ctx.namespace,
      name,
      object,
      oldObject,
      user: ctx.user,
      dryRun: ctx.dryRun,
    };
  }

  private async guaranteedUpdate(
    namespace: string | undefined,
    name: string,
    ctx: RequestContext,
    tryUpdate: (current: KubeObject) => Promise<UpdateResult>,
  ): Promise<KubeObject> {
    if (ctx.dryRun) {
      const current = await this.get(namespace, name);
      const next = await tryUpdate(structuredClone(current));
      return next === undefined || next === DELETE ? current : next;
    }
    const out = await this.run(() => this.storage.guaranteedUpdate(namespace, name, tryUpdate), name);
    return out.object;
  }

  async update(
    namespace: string | undefined,
    name: string,
    body: unknown,
    ctx: RequestContext,
    fieldValidation: FieldValidation,
    subresource?: string,
  ): Promise<WriteResult> {
    const { obj, warnings } = this.decodeBody(body, namespace, fieldValidation);
    const object = await this.guaranteedUpdate(namespace, name, ctx, (current) =>
      this.prepareUpdate(structuredClone(obj), current, ctx, subresource),
    );
    return { object, warnings };
  }

  async patch(
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    ctx: RequestContext,
    fieldValidation: FieldValidation,
    subresource?: string,
  ): Promise<WriteResult> {
    let warnings: string[] = [];
    const object = await this.guaranteedUpdate(namespace, name, ctx, async (current) => {
      const patched = applyPatch(type, current, patch);
      const decoded = this.decodeBody(patched, namespace, fieldValidation);
      warnings = decoded.warnings;
      return this.prepareUpdate(decoded.obj, current, ctx, subresource);
    });
    return { object, warnings };
  }

  /**
   * Deletes in two phases when finalizers remain: the first delete only sets deletionTimestamp
   * (and bumps generation so controllers notice); the object goes when its last finalizer does.
   */
  async delete(
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions,
    ctx: RequestContext,
  ): Promise<KubeObject> {
    const c = { ...ctx, dryRun: opts.dryRun };
    return this.guaranteedUpdate(namespace, name, c, async (current) => {
      await this.admission.validate(this.attributes('DELETE', c, name, undefined, current));
      const pre = opts.preconditions ?? {};
      if (pre.uid && pre.uid !== current.metadata.uid) {
        throw conflict(
          this.target(name),
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
        );
      }
      if (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
        throw conflict(
          this.target(name),
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
        );
      }
      if ((current.metadata.finalizers ?? []).length === 0 && !this.strategy.deletionBlocked?.(current))
        return DELETE;
      if (current.metadata.deletionTimestamp) return undefined;
      current.metadata.deletionTimestamp = rfc3339();
      current.metadata.deletionGracePeriodSeconds = 0;
      current.metadata.generation = (current.metadata.generation ?? 0) + 1;
      this.strategy.prepareForDelete?.(current);
      return current;
    });
  }

  async deleteCollection(
    namespace: string | undefined,
    listOpts: ListOptions,
    opts: DeleteOptions,
    ctx: RequestContext,
  ): Promise<KubeObject[]> {
    const { items } = await this.list(namespace, { ...listOpts, limit: undefined, continue: undefined });
    const deleted: KubeObject[] = [];
    for (const item of items) {
      try {
        deleted.push(
          await this.delete(item.metadata.namespace, item.metadata.name!, { dryRun: opts.dryRun }, ctx),
        );
      } catch (e) {
        // an object someone else deleted meanwhile is as good as deleted by us
        if (!(e instanceof StatusError && e.code === 404)) throw e;
      }
    }
    return deleted;
  }
}
