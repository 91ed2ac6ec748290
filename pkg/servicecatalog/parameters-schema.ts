import { createHash } from 'node:crypto';
import Ajv, { type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json';
import Ajv04 from 'ajv-draft-04';
import { LRUCache } from 'lru-cache';
import type { StatusCause } from '../../api-types/meta';
import { isObject, jsonEqual } from '../json';

/**
 * The parameter schemas of plans (OSB: instance create/update, binding create): whether a broker's
 * schema can be trusted, and how parameters break it. The broker controller flags bad schemas in
 * the catalog, admission refuses parameters that break a plan's schema, and the instance and
 * binding controllers check the merged parameters before calling the broker.
 */

/** OSB: schemas MUST NOT be larger than 64 kB. */
const MAX_SCHEMA_BYTES = 64 * 1024;

type Draft = 'draft-04' | 'draft-06' | 'draft-07' | '2019-09' | '2020-12';

const drafts: Record<string, Draft> = {
  'json-schema.org/draft-04/schema': 'draft-04',
  'json-schema.org/draft-06/schema': 'draft-06',
  'json-schema.org/draft-07/schema': 'draft-07',
  'json-schema.org/draft/2019-09/schema': '2019-09',
  'json-schema.org/draft/2020-12/schema': '2020-12',
};

function draftOf(uri: string): Draft | undefined {
  return drafts[uri.replace(/^https?:\/\//, '').replace(/#$/, '')];
}

type Compiler = Pick<Ajv, 'compile' | 'removeSchema' | 'schemas' | 'refs' | 'errorsText'>;
const compilers = new Map<Draft, Compiler>();

function compilerFor(draft: Draft): Compiler {
  let c = compilers.get(draft);
  if (!c) {
    // not strict: brokers use annotations and vendor keywords that JSON Schema allows
    const opts = { strict: false, allErrors: true, validateFormats: false, logger: false as const };
    switch (draft) {
      case 'draft-04':
        c = new Ajv04(opts);
        break;
      case 'draft-06': {
        const ajv = new Ajv(opts);
        ajv.addMetaSchema(draft06);
        c = ajv;
        break;
      }
      case 'draft-07':
        c = new Ajv(opts);
        break;
      case '2019-09':
        c = new Ajv2019(opts);
        break;
      case '2020-12':
        c = new Ajv2020(opts);
        break;
    }
    compilers.set(draft, c);
  }
  return c;
}

function externalRefs(schema: unknown, found: string[] = []): string[] {
  if (Array.isArray(schema)) schema.forEach((s) => externalRefs(s, found));
  else if (typeof schema === 'object' && schema !== null) {
    for (const [k, v] of Object.entries(schema)) {
      if (k === '$ref' && typeof v === 'string' && !v.startsWith('#')) found.push(v);
      else externalRefs(v, found);
    }
  }
  return found;
}

/** Outcomes of schema checks by digest: a relist of an unchanged catalog compiles nothing. */
const schemaVerdicts = new LRUCache<string, string>({ max: 2000 });

/**
 * What is wrong with one parameters schema ('' when nothing): not an object, over 64 kB, no or an
 * unknown $schema, external $ref, or not compilable.
 */
export function schemaProblem(schema: unknown): string {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return 'is not a JSON object';
  const text = JSON.stringify(schema);
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_SCHEMA_BYTES) return `is ${size} bytes, larger than the 64 kB the OSB API allows`;
  const digest = createHash('sha256').update(text).digest('hex');
  const known = schemaVerdicts.get(digest);
  if (known !== undefined) return known;
  const verdict = checkSchema(schema);
  schemaVerdicts.set(digest, verdict);
  return verdict;
}

/**
 * Compiles a schema without leaving it registered: compile registers the schema (and any $id
 * inside it); take it all out again so that the next catalog, which carries the same ids,
 * compiles too and nothing piles up. The returned function keeps working.
 */
function compileIsolated(ajv: Compiler, schema: AnySchemaObject): ValidateFunction {
  const schemasBefore = new Set(Object.keys(ajv.schemas));
  const refsBefore = new Set(Object.keys(ajv.refs));
  try {
    return ajv.compile(schema);
  } finally {
    try {
      ajv.removeSchema(schema);
    } catch {
      // never registered (compile failed before adding it)
    }
    for (const k of Object.keys(ajv.schemas)) if (!schemasBefore.has(k)) delete ajv.schemas[k];
    for (const k of Object.keys(ajv.refs)) if (!refsBefore.has(k)) delete ajv.refs[k];
  }
}

function checkSchema(schema: AnySchemaObject): string {
  const uri = schema.$schema;
  if (typeof uri !== 'string')
    return 'has no $schema (the OSB API requires it to declare the JSON Schema version)';
  const draft = draftOf(uri);
  if (!draft) {
    return `declares $schema "${uri}", which is not JSON Schema draft-04, draft-06, draft-07, 2019-09 or 2020-12`;
  }
  const refs = externalRefs(schema);
  if (refs.length)
    return `has external references (${refs.map((r) => `"${r}"`).join(', ')}), which the OSB API forbids`;
  try {
    compileIsolated(compilerFor(draft), schema);
    return '';
  } catch (e) {
    return `is not a valid ${draft} JSON Schema: ${(e as Error).message}`;
  }
}

/** One way parameters break a plan's schema: where (`parameters.size`) and what is wrong. */
export interface ParameterViolation {
  /** `parameters`, `parameters.a.b`, `parameters.list[0]`. */
  field: string;
  message: string;
  /** The JSON Schema keyword that failed (required, enum, type, ...). */
  keyword: string;
  /** True for a rule about the top-level object itself (required, additionalProperties, ...). */
  topLevel: boolean;
}

/** Compiled parameter schemas by digest: checking an instance compiles its plan's schema once. */
const validators = new LRUCache<string, ValidateFunction>({ max: 500 });

function fieldPath(instancePath: string): string {
  let out = 'parameters';
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part)
      ? `[${part}]`
      : /^[A-Za-z_$][\w$]*$/.test(part)
        ? `.${part}`
        : `[${JSON.stringify(part)}]`;
  }
  return out;
}

function describeError(e: ErrorObject): ParameterViolation {
  let field = fieldPath(e.instancePath);
  let message = e.message ?? 'is invalid';
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
    field = `${field}.${params.missingProperty}`;
    message = 'is required';
  } else if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    field = `${field}.${params.additionalProperty}`;
    message = 'is not allowed by the schema';
  } else if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    message = `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return { field, message, keyword: e.keyword, topLevel: e.instancePath === '' };
}

/**
 * Checks parameters against a plan's parameter schema (instanceCreateParameterSchema,
 * instanceUpdateParameterSchema, serviceBindingCreateParameterSchema). Undefined when the schema
 * cannot be trusted (what validateCatalog would flag: no $schema, an unknown draft, external
 * $ref, over 64 kB, not compilable) and so is not applied; otherwise every violation, empty when
 * the parameters are valid.
 */
export function parametersSchemaViolations(
  schema: unknown,
  parameters: unknown,
): ParameterViolation[] | undefined {
  if (schemaProblem(schema)) return undefined;
  const s = schema as AnySchemaObject;
  const digest = createHash('sha256').update(JSON.stringify(s)).digest('hex');
  let validate = validators.get(digest);
  if (!validate) {
    try {
      validate = compileIsolated(compilerFor(draftOf(String(s.$schema))!), s);
    } catch {
      return undefined;
    }
    validators.set(digest, validate);
  }
  if (validate(parameters)) return [];
  return (validate.errors ?? []).map(describeError);
}

/** `parameters.size must be one of "s", "m"; parameters.name is required`. */
export function describeViolations(violations: readonly ParameterViolation[]): string {
  return violations.map((v) => `${v.field} ${v.message}`).join('; ');
}

/**
 * Keywords about the top-level parameters object that other sources may satisfy: keys from
 * parametersFrom Secrets (which admission cannot read), or keys an update leaves unchanged.
 */
const satisfiableElsewhere = new Set([
  'required',
  'dependencies',
  'dependentRequired',
  'dependentSchemas',
  'minProperties',
  'anyOf',
  'oneOf',
  'allOf',
  'if',
  'then',
  'else',
  'not',
]);

/** The violations that stand when only part of the parameters is at hand. */
export function partialViolations(violations: readonly ParameterViolation[]): ParameterViolation[] {
  return violations.filter((v) => !(v.topLevel && satisfiableElsewhere.has(v.keyword)));
}

export interface SchemaCheckOptions {
  /**
   * Some parameters are not in front of us (parametersFrom, or an update sending only what
   * changed): rules about the whole object that the missing part could satisfy are not applied.
   */
  partial: boolean;
  /** Field path of the parameters in the object, for the causes: `spec.parameters`. */
  path?: string;
}

/**
 * The 422 causes for parameters that break a plan's parameter schema; empty when they conform or
 * the schema is not trusted (see schemaProblem).
 */
export function parameterSchemaCauses(
  schema: unknown,
  parameters: unknown,
  opts: SchemaCheckOptions,
): StatusCause[] {
  if (schema === undefined || schema === null) return [];
  const violations = parametersSchemaViolations(schema, parameters ?? {});
  if (!violations) return [];
  const path = opts.path ?? 'spec.parameters';
  return (opts.partial ? partialViolations(violations) : violations).map((v) => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${v.message} (the plan's parameter schema)`,
    field: `${path}${v.field.slice('parameters'.length)}`,
  }));
}

/** The top-level parameters whose values an update changes (what the controller sends the broker). */
export function changedParameters(next: unknown, prev: unknown): Record<string, unknown> {
  const n = isObject(next) ? next : {};
  const p = isObject(prev) ? prev : {};
  return Object.fromEntries(Object.entries(n).filter(([k, v]) => !jsonEqual(v, p[k])));
}
