import type { ErrorObject, ValidateFunction } from 'ajv';
import Ajv04 from 'ajv-draft-04';
import { ENGINES, planSchemas, type EngineName, type PlanName } from './catalog';

/**
 * The plans' parameter schemas, compiled once, as the checks the broker applies: the same schemas
 * the catalog shows, so what a platform validated against is what the broker enforces.
 */

export type SchemaKind = 'create' | 'update' | 'bind';

const ajv = new Ajv04({ allErrors: true, strict: false });
const validators = new Map<string, ValidateFunction>();
for (const engine of ENGINES) {
  for (const plan of ['shared-small', 'shared-large', 'dedicated'] as const) {
    const s = planSchemas(engine, plan);
    validators.set(`${engine}/${plan}/create`, ajv.compile(s.service_instance.create.parameters));
    validators.set(`${engine}/${plan}/update`, ajv.compile(s.service_instance.update.parameters));
    validators.set(`${engine}/${plan}/bind`, ajv.compile(s.service_binding.create.parameters));
  }
}

/** `parameters.a.b`, `parameters.list[0]`, `parameters["odd-name"]`: where the user looks. */
function fieldPath(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (child !== undefined) parts.push(child);
  let out = 'parameters';
  for (const raw of parts) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) out += `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties')
    return `${fieldPath(e.instancePath, String(p.additionalProperty))} is not a parameter of this plan`;
  if (e.keyword === 'required') return `${fieldPath(e.instancePath, String(p.missingProperty))} is required`;
  if (e.keyword === 'enum' && Array.isArray(p.allowedValues))
    return `${fieldPath(e.instancePath)} must be one of ${p.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${fieldPath(e.instancePath)} ${e.message ?? 'is invalid'}`;
}

/** Every way `parameters` break the plan's schema, one sentence each; empty when they are valid. */
export function parameterProblems(
  engine: EngineName,
  plan: PlanName,
  kind: SchemaKind,
  parameters: unknown,
): string[] {
  const validate = validators.get(`${engine}/${plan}/${kind}`)!;
  if (validate(parameters ?? {})) return [];
  return (validate.errors ?? []).map(describe);
}
