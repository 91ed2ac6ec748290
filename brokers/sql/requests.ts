import { Type, type Static, type TSchema } from '@sinclair/typebox';
import Ajv, { type ErrorObject } from 'ajv';

/**
 * The request bodies of OSB 2.17 as a broker receives them: what the spec marks REQUIRED is
 * required, everything else optional, and unknown fields allowed (receivers MUST ignore vendor
 * extensions). A body that does not fit is answered 400 with every problem named.
 */

const NonEmpty = Type.String({ minLength: 1 });
const JSONObject = Type.Record(Type.String(), Type.Unknown());
/**
 * `version` is what the object is for, and an object without it asks for nothing: the Go client
 * the OSB project generates from its OpenAPI document (used by osb-checker) sends `{}` for an unset
 * maintenance_info, so an empty one counts as absent instead of malformed.
 */
const MaintenanceInfo = Type.Object({
  version: Type.Optional(NonEmpty),
  description: Type.Optional(Type.String()),
});

export const ProvisionBody = Type.Object({
  service_id: NonEmpty,
  plan_id: NonEmpty,
  // deprecated in favour of context, and still REQUIRED
  organization_guid: NonEmpty,
  space_guid: NonEmpty,
  context: Type.Optional(JSONObject),
  parameters: Type.Optional(JSONObject),
  maintenance_info: Type.Optional(MaintenanceInfo),
});
export type ProvisionBody = Static<typeof ProvisionBody>;

export const UpdateBody = Type.Object({
  service_id: NonEmpty,
  plan_id: Type.Optional(NonEmpty),
  context: Type.Optional(JSONObject),
  parameters: Type.Optional(JSONObject),
  previous_values: Type.Optional(
    Type.Object({
      plan_id: Type.Optional(NonEmpty),
      service_id: Type.Optional(NonEmpty),
      organization_id: Type.Optional(NonEmpty),
      space_id: Type.Optional(NonEmpty),
      maintenance_info: Type.Optional(MaintenanceInfo),
    }),
  ),
  maintenance_info: Type.Optional(MaintenanceInfo),
});
export type UpdateBody = Static<typeof UpdateBody>;

export const BindBody = Type.Object({
  service_id: NonEmpty,
  plan_id: NonEmpty,
  context: Type.Optional(JSONObject),
  app_guid: Type.Optional(NonEmpty),
  bind_resource: Type.Optional(
    Type.Object({ app_guid: Type.Optional(NonEmpty), route: Type.Optional(NonEmpty) }),
  ),
  parameters: Type.Optional(JSONObject),
  predecessor_binding_id: Type.Optional(NonEmpty),
});
export type BindBody = Static<typeof BindBody>;

/** The query of instance and binding DELETEs. */
export const DeleteQuery = Type.Object({
  service_id: NonEmpty,
  plan_id: NonEmpty,
  accepts_incomplete: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
});
export type DeleteQuery = Static<typeof DeleteQuery>;

/** The query of PUT and PATCH. */
export const MutateQuery = Type.Object({
  accepts_incomplete: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
});

/** The query of GETs (fetch and last_operation): hints that, when sent, are not empty. */
export const GetQuery = Type.Object({
  service_id: Type.Optional(NonEmpty),
  plan_id: Type.Optional(NonEmpty),
  operation: Type.Optional(NonEmpty),
});
export type GetQuery = Static<typeof GetQuery>;

const ajv = new Ajv({ allErrors: true, strict: true });

function field(e: ErrorObject): string {
  const path = e.instancePath.split('/').slice(1).join('.');
  const p = e.params as Record<string, unknown>;
  const child = e.keyword === 'required' ? String(p.missingProperty) : '';
  return [path, child].filter(Boolean).join('.') || 'the body';
}

function describe(e: ErrorObject): string {
  const where = field(e);
  switch (e.keyword) {
    case 'required':
      return `${where} is required`;
    case 'minLength':
      return `${where} must not be empty`;
    case 'type':
      return `${where} must be ${e.params.type === 'object' ? 'an object' : `a ${String(e.params.type)}`}`;
    case 'anyOf':
      // the only unions are accepts_incomplete's literals
      return `${where} must be true or false`;
    default:
      return `${where} ${e.message ?? 'is invalid'}`;
  }
}

/** A check of a parsed body or query: the problems, empty when it fits. */
export interface Check<T> {
  (value: unknown): value is T;
  problems(value: unknown): string[];
}

function check<S extends TSchema>(schema: S): Check<Static<S>> {
  const validate = ajv.compile<Static<S>>(schema);
  const fn = ((value: unknown) => validate(value)) as Check<Static<S>>;
  fn.problems = (value) =>
    validate(value)
      ? []
      : (validate.errors ?? [])
          // a union's branches each fail on their own; its anyOf says it once
          .filter((e) => !e.schemaPath.includes('/anyOf/'))
          .map(describe);
  return fn;
}

export const valid = {
  provision: check(ProvisionBody),
  update: check(UpdateBody),
  bind: check(BindBody),
  deleteQuery: check(DeleteQuery),
  mutateQuery: check(MutateQuery),
  getQuery: check(GetQuery),
};
