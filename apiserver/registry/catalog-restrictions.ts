/**
 * Catalog restrictions (spec.catalogRestrictions of brokers): predicates over a few properties of
 * a service class or plan, written in Kubernetes label-selector syntax, as the original parses
 * them. The API server validates them with `parseRestrictions`; the controller filters the broker
 * catalog with the same predicates (`classProperties` / `planProperties` + `accepts`).
 *
 * Syntax of one restriction (several may be joined with commas, and every restriction of a list
 * must hold):
 *   <property>=<value>   <property>==<value>   <property>!=<value>
 *   <property> in (<value>, ...)   <property> notin (<value>, ...)
 *   <property>   !<property>          (the property is / is not defined)
 * Values are case sensitive and follow the label value rules (at most 63 characters of
 * alphanumerics, '-', '_' and '.', starting and ending with an alphanumeric).
 */

/** The properties of an object a predicate looks at; an absent key is an undefined property. */
export type Properties = Record<string, string>;

export type RequirementOperator = 'equals' | 'notequals' | 'in' | 'notin' | 'exists' | 'doesnotexist';

export interface Requirement {
  property: string;
  operator: RequirementOperator;
  values: string[];
}

export class CatalogRestrictionError extends Error {}

export const PROPERTY_NAME = 'name';
export const PROPERTY_EXTERNAL_NAME = 'spec.externalName';
export const PROPERTY_EXTERNAL_ID = 'spec.externalID';
export const PROPERTY_FREE = 'spec.free';
export const PROPERTY_CLUSTER_SERVICE_CLASS_NAME = 'spec.clusterServiceClass.name';
export const PROPERTY_SERVICE_CLASS_NAME = 'spec.serviceClass.name';

/** Properties a restriction may name, by the kind of object it filters. */
export const restrictionProperties = {
  ClusterServiceClass: [PROPERTY_NAME, PROPERTY_EXTERNAL_NAME, PROPERTY_EXTERNAL_ID],
  ServiceClass: [PROPERTY_NAME, PROPERTY_EXTERNAL_NAME, PROPERTY_EXTERNAL_ID],
  ClusterServicePlan: [
    PROPERTY_NAME,
    PROPERTY_EXTERNAL_NAME,
    PROPERTY_EXTERNAL_ID,
    PROPERTY_FREE,
    PROPERTY_CLUSTER_SERVICE_CLASS_NAME,
  ],
  ServicePlan: [
    PROPERTY_NAME,
    PROPERTY_EXTERNAL_NAME,
    PROPERTY_EXTERNAL_ID,
    PROPERTY_FREE,
    PROPERTY_SERVICE_CLASS_NAME,
  ],
} as const;

export type RestrictedKind = keyof typeof restrictionProperties;

export class Predicate {
  constructor(readonly requirements: readonly Requirement[]) {}

  /** True when the predicate restricts nothing. */
  get empty(): boolean {
    return this.requirements.length === 0;
  }

  /** Whether an object with these properties passes every requirement. */
  accepts(props: Properties): boolean {
    return this.requirements.every((r) => {
      const has = Object.prototype.hasOwnProperty.call(props, r.property);
      const value = has ? props[r.property] : undefined;
      switch (r.operator) {
        case 'equals':
        case 'in':
          return has && r.values.includes(value!);
        case 'notequals':
        case 'notin':
          return !has || !r.values.includes(value!);
        case 'exists':
          return has;
        case 'doesnotexist':
          return !has;
      }
    });
  }

  /** Both predicates must hold. */
  and(other: Predicate): Predicate {
    return new Predicate([...this.requirements, ...other.requirements]);
  }

  toString(): string {
    return this.requirements
      .map((r) => {
        switch (r.operator) {
          case 'equals':
            return `${r.property}=${r.values[0]}`;
          case 'notequals':
            return `${r.property}!=${r.values[0]}`;
          case 'in':
          case 'notin':
            return `${r.property} ${r.operator} (${r.values.join(',')})`;
          case 'exists':
            return r.property;
          case 'doesnotexist':
            return `!${r.property}`;
        }
      })
      .join(',');
  }
}

/** A predicate that accepts everything. */
export const acceptAll = new Predicate([]);

// ---------------------------------------------------------------------------------------------
// Parsing

type TokenType = 'id' | '!' | '=' | '==' | '!=' | '(' | ')' | ',' | 'bad' | 'end';
interface Token {
  type: TokenType;
  text: string;
}

const special = new Set(['!', '=', '(', ')', ',', '<', '>']);

function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '!' || c === '=') {
      if (s[i + 1] === '=') {
        tokens.push({ type: c === '!' ? '!=' : '==', text: `${c}=` });
        i += 2;
      } else {
        tokens.push({ type: c, text: c });
        i++;
      }
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ type: c, text: c });
      i++;
    } else if (c === '<' || c === '>') {
      tokens.push({ type: 'bad', text: c });
      i++;
    } else {
      let j = i;
      while (j < s.length && !/\s/.test(s[j]) && !special.has(s[j])) j++;
      tokens.push({ type: 'id', text: s.slice(i, j) });
      i = j;
    }
  }
  tokens.push({ type: 'end', text: '' });
  return tokens;
}

const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkValue(property: string, value: string): string {
  if (value.length > 63) {
    throw new CatalogRestrictionError(
      `invalid value "${value}" for "${property}": must be no more than 63 characters`,
    );
  }
  if (!labelValueRe.test(value)) {
    throw new CatalogRestrictionError(
      `invalid value "${value}" for "${property}": a value must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
  return value;
}

const describe = (t: Token) => (t.type === 'end' ? 'the end' : `"${t.text}"`);

/**
 * Parses one restriction string (which may itself join several requirements with commas).
 * `allowed`, when given, lists the properties it may name. Throws CatalogRestrictionError.
 */
export function parseRestriction(restriction: string, allowed?: readonly string[]): Predicate {
  const tokens = tokenize(restriction);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const requirements: Requirement[] = [];
  if (peek().type === 'end') return acceptAll;

  const property = (t: Token): string => {
    if (t.type !== 'id' || t.text === 'in' || t.text === 'notin') {
      throw new CatalogRestrictionError(`expected a property name, found ${describe(t)}`);
    }
    if (allowed && !allowed.includes(t.text)) {
      throw new CatalogRestrictionError(`Invalid property: ${t.text} (supported: ${allowed.join(', ')})`);
    }
    return t.text;
  };

  for (;;) {
    const first = next();
    if (first.type === '!') {
      requirements.push({ property: property(next()), operator: 'doesnotexist', values: [] });
    } else {
      const key = property(first);
      const op = peek();
      if (op.type === ',' || op.type === 'end') {
        requirements.push({ property: key, operator: 'exists', values: [] });
      } else if (op.type === '=' || op.type === '==' || op.type === '!=') {
        next();
        let value = '';
        if (peek().type === 'id') value = next().text;
        else if (peek().type !== ',' && peek().type !== 'end') {
          throw new CatalogRestrictionError(
            `expected a value after "${key}${op.text}", found ${describe(peek())}`,
          );
        }
        requirements.push({
          property: key,
          operator: op.type === '!=' ? 'notequals' : 'equals',
          values: [checkValue(key, value)],
        });
      } else if (op.type === 'id' && (op.text === 'in' || op.text === 'notin')) {
        next();
        const open = next();
        if (open.type !== '(') {
          throw new CatalogRestrictionError(
            `expected "(" after "${key} ${op.text}", found ${describe(open)}`,
          );
        }
        const values: string[] = [];
        if (peek().type === ')') {
          throw new CatalogRestrictionError(
            `for "in" and "notin" the set of values cannot be empty ("${key} ${op.text} ()")`,
          );
        }
        for (;;) {
          const v = peek();
          if (v.type === 'id') {
            values.push(checkValue(key, next().text));
          } else if (v.type === ',' || v.type === ')') {
            values.push('');
          } else {
            throw new CatalogRestrictionError(
              `expected a value in the set of "${key} ${op.text}", found ${describe(v)}`,
            );
          }
          const sep = next();
          if (sep.type === ')') break;
          if (sep.type !== ',') {
            throw new CatalogRestrictionError(
              `expected "," or ")" in the set of "${key} ${op.text}", found ${describe(sep)}`,
            );
          }
        }
        requirements.push({ property: key, operator: op.text, values });
      } else {
        throw new CatalogRestrictionError(
          `expected an operator (=, ==, !=, in, notin), a comma or the end after "${key}", found ${describe(op)}`,
        );
      }
    }
    const sep = next();
    if (sep.type === 'end') break;
    if (sep.type !== ',')
      throw new CatalogRestrictionError(`expected "," or the end, found ${describe(sep)}`);
  }
  return new Predicate(requirements);
}

/** Every restriction of a list must hold (the original joins them with commas). */
export function parseRestrictions(
  restrictions: readonly string[] | undefined,
  allowed?: readonly string[],
): Predicate {
  return (restrictions ?? []).reduce((p, r) => p.and(parseRestriction(r, allowed)), acceptAll);
}

// ---------------------------------------------------------------------------------------------
// Properties of catalog objects

interface CatalogObject {
  metadata?: { name?: string };
  spec?: unknown;
}

function specString(obj: CatalogObject, ...path: string[]): string {
  let cur: unknown = obj.spec;
  for (const k of path)
    cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[k] : undefined;
  return typeof cur === 'string' ? cur : '';
}

/** What a class restriction sees of a ClusterServiceClass or ServiceClass. */
export function classProperties(obj: CatalogObject): Properties {
  return {
    [PROPERTY_NAME]: obj.metadata?.name ?? '',
    [PROPERTY_EXTERNAL_NAME]: specString(obj, 'externalName'),
    [PROPERTY_EXTERNAL_ID]: specString(obj, 'externalID'),
  };
}

/** What a plan restriction sees of a ClusterServicePlan or ServicePlan. */
export function planProperties(obj: CatalogObject): Properties {
  const spec = (typeof obj.spec === 'object' && obj.spec !== null ? obj.spec : {}) as Record<string, unknown>;
  const props: Properties = {
    [PROPERTY_NAME]: obj.metadata?.name ?? '',
    [PROPERTY_EXTERNAL_NAME]: specString(obj, 'externalName'),
    [PROPERTY_EXTERNAL_ID]: specString(obj, 'externalID'),
    [PROPERTY_FREE]: String(spec.free === true),
  };
  if (spec.clusterServiceClassRef !== undefined) {
    props[PROPERTY_CLUSTER_SERVICE_CLASS_NAME] = specString(obj, 'clusterServiceClassRef', 'name');
  }
  if (spec.serviceClassRef !== undefined) {
    props[PROPERTY_SERVICE_CLASS_NAME] = specString(obj, 'serviceClassRef', 'name');
  }
  return props;
}
