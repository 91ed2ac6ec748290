import { parametersSchemaViolations } from '../../pkg/servicecatalog/parameters-schema';
import { ENGINES, planSchemas, type EngineName, type PlanName } from './catalog';

/**
 * The plans' parameter checks: the very schemas the catalog shows, checked the way the platform
 * side checks them (pkg/servicecatalog), so a broker's 400 reads like the catalog's own errors.
 */

export type SchemaKind = 'create' | 'update' | 'bind';

const schemas = new Map<string, unknown>();
for (const engine of ENGINES) {
  for (const plan of ['shared-small', 'shared-large', 'dedicated'] as const) {
    const s = planSchemas(engine, plan);
    schemas.set(`${engine}/${plan}/create`, s.service_instance.create.parameters);
    schemas.set(`${engine}/${plan}/update`, s.service_instance.update.parameters);
    schemas.set(`${engine}/${plan}/bind`, s.service_binding.create.parameters);
  }
}

/** Every way `parameters` break the plan's schema, one sentence each naming the field; empty when valid. */
export function parameterProblems(
  engine: EngineName,
  plan: PlanName,
  kind: SchemaKind,
  parameters: unknown,
): string[] {
  const violations = parametersSchemaViolations(schemas.get(`${engine}/${plan}/${kind}`), parameters ?? {});
  // undefined only for a schema that cannot be trusted, and these are the broker's own
  if (!violations) throw new Error(`the ${kind} parameter schema of ${engine} ${plan} does not compile`);
  return violations.map((v) => `${v.field} ${v.message}`);
}
