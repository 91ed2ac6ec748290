import Ajv, { type ValidateFunction } from 'ajv';
import type { Static, TSchema } from '@sinclair/typebox';
import {
  AsyncOperationResponse,
  BindAsyncResponse,
  BindResponse,
  Catalog,
  EmptyResponse,
  GetBindingResponse,
  GetInstanceResponse,
  InstanceAsyncResponse,
  LastOperationResponse,
  ProvisionResponse,
} from './types';

const ajv = new Ajv({ allErrors: true, strict: true });

/** Checks a parsed response body against its schema; returns the problems, empty when valid. */
export type BodyCheck<T> = ((body: unknown) => body is T) & { problems(body: unknown): string };

function check<S extends TSchema>(schema: S): BodyCheck<Static<S>> {
  const validate: ValidateFunction = ajv.compile(schema);
  const fn = ((body: unknown) => validate(body)) as BodyCheck<Static<S>>;
  fn.problems = (body: unknown) =>
    validate(body) ? '' : ajv.errorsText(validate.errors, { dataVar: 'body' });
  return fn;
}

export const validBody = {
  catalog: check(Catalog),
  provision: check(ProvisionResponse),
  instanceAsync: check(InstanceAsyncResponse),
  update: check(ProvisionResponse),
  empty: check(EmptyResponse),
  async: check(AsyncOperationResponse),
  bindAsync: check(BindAsyncResponse),
  lastOperation: check(LastOperationResponse),
  getInstance: check(GetInstanceResponse),
  bind: check(BindResponse),
  getBinding: check(GetBindingResponse),
};
