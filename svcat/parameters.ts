import { isObject } from '../pkg/json';
import { CliError } from './errors';

/** The parameter flags of provision and bind. */
export interface ParamArgs {
  param?: string[];
  paramsJson?: string;
  secret?: string[];
}

type JSONObject = Record<string, unknown>;

/** The JSON schema of the member at `path` in a parameters schema, when it declares one. */
function schemaAt(schema: unknown, path: string[]): JSONObject | undefined {
  let cur: unknown = schema;
  for (const key of path) {
    const props = isObject(cur) ? cur.properties : undefined;
    cur = isObject(props) ? props[key] : undefined;
  }
  return isObject(cur) ? cur : undefined;
}

const typesOf = (schema: JSONObject | undefined): string[] =>
  schema === undefined ? [] : Array.isArray(schema.type) ? schema.type.map(String) : [String(schema.type)];

/**
 * A -p value: text, unless the plan's schema wants another type there (a number, a boolean, an
 * object or array in JSON), so that `-p replicas=3` passes a schema asking for an integer.
 */
function typedValue(raw: string, schema: JSONObject | undefined, flag: string): unknown {
  const types = typesOf(schema);
  if (!types.length || types.includes('string') || types.includes('undefined')) return raw;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new CliError(`invalid ${flag}: the plan wants ${types.join(' or ')} there, not "${raw}"`);
  }
  const fits = types.some((t) =>
    t === 'integer'
      ? Number.isInteger(value)
      : t === 'array'
        ? Array.isArray(value)
        : t === 'object'
          ? isObject(value)
          : t === 'null'
            ? value === null
            : typeof value === t,
  );
  if (!fits) throw new CliError(`invalid ${flag}: the plan wants ${types.join(' or ')} there, not "${raw}"`);
  return value;
}

/**
 * -p NAME=VALUE (repeatable): dots in NAME nest (`-p db.size=10` gives {"db":{"size":"10"}}), a name
 * given again collects its values in an array (as the original). --params-json gives the whole
 * object instead; the two do not combine.
 */
export function parseParameters(args: ParamArgs, schema?: unknown): JSONObject | undefined {
  const assignments = args.param ?? [];
  if (args.paramsJson !== undefined) {
    if (assignments.length) throw new CliError('--params-json cannot be combined with --param');
    let parsed: unknown;
    try {
      parsed = JSON.parse(args.paramsJson);
    } catch (e) {
      throw new CliError(`invalid --params-json: ${(e as Error).message}`);
    }
    if (!isObject(parsed)) throw new CliError('invalid --params-json: want a JSON object');
    return parsed;
  }
  if (!assignments.length) return undefined;
  const out: JSONObject = {};
  for (const a of assignments) {
    const eq = a.indexOf('=');
    const path = (eq < 0 ? '' : a.slice(0, eq)).split('.').map((k) => k.trim());
    if (eq < 0 || path.some((k) => k === ''))
      throw new CliError(`invalid --param "${a}": want NAME=VALUE (NAME may be dotted: a.b=VALUE)`);
    const raw = a.slice(eq + 1).trim();
    const leafSchema = schemaAt(schema, path);
    let parent = out;
    for (const key of path.slice(0, -1)) {
      if (parent[key] === undefined) parent[key] = {};
      const next = parent[key];
      if (!isObject(next)) throw new CliError(`invalid --param "${a}": ${key} already has a value`);
      parent = next;
    }
    const leaf = path[path.length - 1];
    const prev = parent[leaf];
    const flag = `--param ${a}`;
    // an array in the schema takes repeated -p, each value one item
    const arrayWanted = typesOf(leafSchema).includes('array') && !typesOf(leafSchema).includes('string');
    const items = arrayWanted && isObject(leafSchema?.items) ? leafSchema.items : undefined;
    if (prev === undefined) {
      parent[leaf] =
        arrayWanted && !raw.startsWith('[')
          ? [typedValue(raw, items, flag)]
          : typedValue(raw, leafSchema, flag);
    } else {
      if (isObject(prev)) throw new CliError(`invalid --param "${a}": ${leaf} has nested values`);
      const item = typedValue(raw, arrayWanted ? items : leafSchema, flag);
      parent[leaf] = [...(Array.isArray(prev) ? (prev as unknown[]) : [prev]), item];
    }
  }
  return out;
}

/** -s SECRET[KEY] (repeatable): parametersFrom entries, each a key of a Secret in the namespace. */
export function parseParametersFrom(args: ParamArgs): Array<{ secretKeyRef: { name: string; key: string } }> {
  return (args.secret ?? []).map((s) => {
    const m = /^([^[\]]+)\[([^[\]]+)\]$/.exec(s.trim());
    if (!m) throw new CliError(`invalid --secret "${s}": want SECRET[KEY]`);
    return { secretKeyRef: { name: m[1].trim(), key: m[2].trim() } };
  });
}
