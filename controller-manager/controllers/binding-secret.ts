import { secretResource, secretTypes, type Secret } from '../../api-types/core/secret';
import type { ObjectMeta } from '../../api-types/meta';
import {
  serviceBindingResource,
  type SecretTransform,
  type ServiceBinding,
} from '../../api-types/servicebinding';
import { jsonEqual } from '../../pkg/json';
import { apiVersionOf } from '../../api-types/resource';
import { isAlreadyExists, isConflict, type KubeClient } from '../../pkg/kube/client';
import type { SharedInformer } from '../../pkg/kube/informers';

/**
 * The credentials cannot be written into the binding's Secret. `terminal` when trying again with
 * the same credentials and spec cannot help (a transform that does not apply, a key a Secret
 * cannot have); otherwise the situation may change (a Secret in the way is deleted, a Secret
 * addKeysFrom names is created).
 */
export class InjectError extends Error {
  constructor(
    message: string,
    readonly terminal: boolean,
  ) {
    super(message);
    this.name = 'InjectError';
  }
}

/** Raw bytes (addKey.value, addKeysFrom) among the JSON values of the credentials. */
class Bytes {
  constructor(readonly buf: Buffer) {}
}

type Value = unknown;

// ---------------------------------------------------------------------------------------------
// JSONPath, as kubectl writes it: {.a.b}, {.a['b.c']}, {.a[0]}, {.a[*].b}, {..b}, text around

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'recursive'; name: string | undefined };

class JSONPathError extends Error {}

function parsePath(expr: string): Step[] {
  let s = expr.trim();
  if (s.startsWith('$')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  const name = () => {
    const m = /^[^.[\]{}\s'"]+/.exec(s.slice(i));
    if (!m) throw new JSONPathError(`expected a field name at "${s.slice(i)}"`);
    i += m[0].length;
    return m[0];
  };
  while (i < s.length) {
    if (s.startsWith('..', i)) {
      i += 2;
      if (s[i] === '*') {
        i++;
        steps.push({ kind: 'recursive', name: undefined });
      } else steps.push({ kind: 'recursive', name: name() });
    } else if (s[i] === '.') {
      i++;
      if (i >= s.length) break; // "{.}" is the whole object
      if (s[i] === '*') {
        i++;
        steps.push({ kind: 'wildcard' });
      } else steps.push({ kind: 'field', name: name() });
    } else if (s[i] === '[') {
      const end = s.indexOf(']', i);
      if (end < 0) throw new JSONPathError(`unclosed "[" in "${expr}"`);
      const inner = s.slice(i + 1, end).trim();
      i = end + 1;
      const quoted = /^'(.*)'$|^"(.*)"$/.exec(inner);
      if (quoted) steps.push({ kind: 'field', name: quoted[1] ?? quoted[2] });
      else if (inner === '*') steps.push({ kind: 'wildcard' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else throw new JSONPathError(`unsupported subscript [${inner}] (use a name in quotes, an index or *)`);
    } else {
      throw new JSONPathError(`unexpected "${s[i]}" in "${expr}"`);
    }
  }
  return steps;
}

function children(v: Value): Value[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'object' && v !== null && !(v instanceof Bytes)) return Object.values(v);
  return [];
}

function descend(v: Value, name: string | undefined, out: Value[]): void {
  if (
    name !== undefined &&
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Bytes)
  ) {
    const o = v as Record<string, Value>;
    if (Object.hasOwn(o, name)) out.push(o[name]);
  }
  for (const c of children(v)) {
    if (name === undefined) out.push(c);
    descend(c, name, out);
  }
}

function evaluate(steps: Step[], root: Value): Value[] {
  let current: Value[] = [root];
  for (const step of steps) {
    const next: Value[] = [];
    for (const v of current) {
      switch (step.kind) {
        case 'field':
          if (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Bytes)) {
            const o = v as Record<string, Value>;
            if (Object.hasOwn(o, step.name)) next.push(o[step.name]);
          }
          break;
        case 'index':
          if (Array.isArray(v)) {
            const i = step.index < 0 ? v.length + step.index : step.index;
            if (i >= 0 && i < v.length) next.push(v[i]);
          }
          break;
        case 'wildcard':
          next.push(...children(v));
          break;
        case 'recursive':
          descend(v, step.name, next);
          break;
      }
    }
    current = next;
  }
  return current;
}

function text(v: Value): string {
  if (typeof v === 'string') return v;
  if (v instanceof Bytes) return v.buf.toString('utf8');
  return JSON.stringify(v, (_k, x: unknown) => (x instanceof Bytes ? x.buf.toString('utf8') : x));
}

/**
 * Evaluates a kubectl-style JSONPath template against the credentials: literal text with
 * expressions in braces; several results of one expression are joined with spaces, strings are
 * written as they are and other values as JSON. An expression that matches nothing is an error,
 * as it is for kubectl. No filters or scripts: the expression comes from users and runs here.
 */
export function jsonPath(template: string, data: Value): string {
  const t = template.includes('{') ? template : `{${template}}`;
  let out = '';
  let i = 0;
  while (i < t.length) {
    const open = t.indexOf('{', i);
    if (open < 0) {
      out += t.slice(i);
      break;
    }
    out += t.slice(i, open);
    const close = t.indexOf('}', open);
    if (close < 0) throw new JSONPathError(`unclosed "{" in "${template}"`);
    const expr = t.slice(open + 1, close);
    const results = evaluate(parsePath(expr), data);
    if (results.length === 0) throw new JSONPathError(`${expr.trim()} is not found`);
    out += results.map(text).join(' ');
    i = close + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Credentials → Secret data

/** Keys a Secret may have (k8s.io/apimachinery IsConfigMapKey). */
const secretKey = /^[-._a-zA-Z0-9]+$/;

/** Reads a Secret of the binding's namespace, fresh from the API. */
type SecretReader = (namespace: string, name: string) => Promise<Secret | undefined>;

/**
 * Applies the transforms in order to the credentials (as the original does: renameKey moves a key
 * that exists, addKey sets jsonPathExpression's result, else stringValue, else the bytes of
 * value; addKeysFrom merges every key of a Secret of the binding's namespace; removeKey drops a
 * key), then writes one Secret key per top-level credential: strings as they are, bytes raw, any
 * other value as JSON. Returns the Secret's `data` (base64).
 */
async function secretData(
  binding: ServiceBinding,
  credentials: Record<string, unknown> | undefined,
  readSecret: SecretReader,
): Promise<Record<string, string>> {
  const namespace = binding.metadata.namespace!;
  const creds = new Map<string, Value>(Object.entries(credentials ?? {}));
  const asObject = () => Object.fromEntries(creds);
  for (const [i, t] of (binding.spec?.secretTransforms ?? []).entries()) {
    const at = `spec.secretTransforms[${i}]`;
    if (t.renameKey) {
      const { from, to } = t.renameKey;
      if (from !== undefined && to !== undefined && creds.has(from)) {
        const value = creds.get(from);
        creds.delete(from);
        creds.set(to, value);
      }
    } else if (t.addKey) {
      const { key, value, stringValue, jsonPathExpression } = t.addKey;
      if (!key) continue;
      if (jsonPathExpression !== undefined) {
        try {
          creds.set(key, jsonPath(jsonPathExpression, asObject()));
        } catch (e) {
          throw new InjectError(
            `${at}.addKey.jsonPathExpression ${JSON.stringify(jsonPathExpression)} does not apply to the credentials: ${(e as Error).message}`,
            true,
          );
        }
      } else if (stringValue !== undefined) creds.set(key, stringValue);
      else creds.set(key, new Bytes(Buffer.from(value ?? '', 'base64')));
    } else if (t.addKeysFrom) {
      await addKeysFrom(t, at, namespace, readSecret, creds);
    } else if (t.removeKey?.key !== undefined) {
      creds.delete(t.removeKey.key);
    }
  }
  const data: Record<string, string> = {};
  const bad: string[] = [];
  for (const [k, v] of creds) {
    if (!secretKey.test(k) || k.length > 253) bad.push(JSON.stringify(k));
    const bytes = v instanceof Bytes ? v.buf : Buffer.from(typeof v === 'string' ? v : text(v), 'utf8');
    data[k] = bytes.toString('base64');
  }
  if (bad.length) {
    throw new InjectError(
      `credential key${bad.length > 1 ? 's' : ''} ${bad.join(', ')} cannot be a Secret key (letters, digits, '-', '_' and '.' only); rename or remove ${bad.length > 1 ? 'them' : 'it'} with spec.secretTransforms`,
      true,
    );
  }
  return data;
}

/** The Secret an addKeysFrom reads: only the binding's own namespace, so no binding reads another namespace's Secrets. */
export function addKeysFromSource(
  t: SecretTransform,
  namespace: string,
): { name: string; problem?: string } | undefined {
  const ref = t.addKeysFrom?.secretRef;
  if (!ref) return undefined;
  const name = ref.name ?? '';
  if (ref.namespace && ref.namespace !== namespace) {
    return {
      name,
      problem: `addKeysFrom may only read Secrets of the binding's namespace "${namespace}", not "${ref.namespace}/${name}"`,
    };
  }
  return { name };
}

async function addKeysFrom(
  t: SecretTransform,
  at: string,
  namespace: string,
  readSecret: SecretReader,
  creds: Map<string, Value>,
): Promise<void> {
  const source = addKeysFromSource(t, namespace);
  if (!source) return;
  if (source.problem) throw new InjectError(`${at}: ${source.problem}`, true);
  const secret = await readSecret(namespace, source.name);
  if (!secret)
    throw new InjectError(`${at}.addKeysFrom: Secret "${namespace}/${source.name}" not found`, false);
  for (const [k, v] of Object.entries(secret.data ?? {})) creds.set(k, new Bytes(Buffer.from(v, 'base64')));
  for (const [k, v] of Object.entries(secret.stringData ?? {})) creds.set(k, v);
}

// ---------------------------------------------------------------------------------------------
// The Secret itself

function bindingOwnerReference(b: ServiceBinding): NonNullable<ObjectMeta['ownerReferences']>[number] {
  return {
    apiVersion: apiVersionOf(serviceBindingResource),
    kind: serviceBindingResource.kind,
    name: b.metadata.name!,
    uid: b.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export const isControlledBy = (secret: Secret, b: ServiceBinding) =>
  (secret.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === b.metadata.uid);

function controllerOf(secret: Secret): string {
  const r = (secret.metadata.ownerReferences ?? []).find((o) => o.controller === true);
  return r ? `${r.kind} "${r.name}"` : 'nothing';
}

export const secretNameOf = (b: ServiceBinding) => b.spec?.secretName || b.metadata.name!;

/** Writes, checks and deletes the Secrets of bindings. */
export class BindingSecrets {
  constructor(
    private readonly client: KubeClient,
    private readonly cache: SharedInformer<Secret>,
  ) {}

  /** Fresh from the API: a Secret written or deleted moments ago must be seen as it is. */
  readonly read: SecretReader = (namespace, name) => this.client.get<Secret>(secretResource, namespace, name);

  private notOwned(b: ServiceBinding, secret: Secret): InjectError {
    return new InjectError(
      `Secret "${b.metadata.namespace}/${secret.metadata.name}" exists and is not owned by this ServiceBinding (its controller is ${controllerOf(secret)}); it is left alone until it is deleted or renamed`,
      false,
    );
  }

  /**
   * What would keep the credentials from being written, found before the broker is asked for
   * them: a Secret of that name that is not this binding's, an addKeysFrom Secret missing or in
   * another namespace. Undefined when nothing is in the way.
   */
  async precheck(b: ServiceBinding): Promise<InjectError | undefined> {
    const namespace = b.metadata.namespace!;
    const existing = this.cache.get(namespace, secretNameOf(b));
    if (existing && !isControlledBy(existing, b)) return this.notOwned(b, existing);
    for (const [i, t] of (b.spec?.secretTransforms ?? []).entries()) {
      const source = addKeysFromSource(t, namespace);
      if (!source) continue;
      const at = `spec.secretTransforms[${i}]`;
      if (source.problem) return new InjectError(`${at}: ${source.problem}`, true);
      if (!this.cache.get(namespace, source.name) && !(await this.read(namespace, source.name))) {
        return new InjectError(`${at}.addKeysFrom: Secret "${namespace}/${source.name}" not found`, false);
      }
    }
    return undefined;
  }

  /** The credentials, transformed as the binding asks, into its Secret; throws InjectError when they cannot be. */
  async inject(b: ServiceBinding, credentials: Record<string, unknown> | undefined): Promise<void> {
    await this.write(b, await secretData(b, credentials, this.read));
  }

  /** Creates or updates the binding's Secret with `data`; throws InjectError when it is someone else's. */
  private async write(b: ServiceBinding, data: Record<string, string>): Promise<void> {
    const namespace = b.metadata.namespace!;
    const name = secretNameOf(b);
    let existing = this.cache.get(namespace, name);
    for (let attempt = 1; ; attempt++) {
      if (!existing) {
        try {
          await this.client.create<Secret>(secretResource, {
            metadata: { name, namespace, ownerReferences: [bindingOwnerReference(b)] },
            type: secretTypes.opaque,
            data,
          });
          return;
        } catch (e) {
          if (!isAlreadyExists(e) || attempt >= 5) throw e;
          existing = await this.read(namespace, name);
          continue;
        }
      }
      if (!isControlledBy(existing, b)) throw this.notOwned(b, existing);
      if (jsonEqual(existing.data ?? {}, data)) return;
      try {
        await this.client.update<Secret>(secretResource, { ...existing, data });
        return;
      } catch (e) {
        if (!isConflict(e) || attempt >= 5) throw e;
        existing = await this.read(namespace, name);
      }
    }
  }

  /** Deletes the binding's Secret if it is the binding's (a Secret someone else owns stays). */
  async remove(b: ServiceBinding): Promise<void> {
    const namespace = b.metadata.namespace!;
    const secret = await this.read(namespace, secretNameOf(b));
    if (!secret || !isControlledBy(secret, b)) return;
    await this.client.delete(secretResource, namespace, secret.metadata.name!);
  }
}
