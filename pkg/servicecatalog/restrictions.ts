import {
  parseRequirements,
  type Dialect,
  type Item,
  type LabelOperator,
  type SyntaxErrorInfo,
  type SyntaxProblem,
} from '../selectors';

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
// Parsing: kube's requirement grammar (pkg/selectors), with the properties of the kind as keys,
// no > or <, a non-empty set for in / notin, and the original's wording of errors.

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

const describe = (t: Item) => (t.tok === 'end' ? 'the end' : `"${t.lit}"`);

const syntaxMessages: Record<SyntaxProblem, (i: SyntaxErrorInfo) => string> = {
  requirement: (i) => `expected a property name, found ${describe(i.found)}`,
  afterComma: (i) => `expected a property name, found ${describe(i.found)}`,
  key: (i) => `expected a property name, found ${describe(i.found)}`,
  separator: (i) => `expected "," or the end, found ${describe(i.found)}`,
  operator: (i) =>
    `expected an operator (=, ==, !=, in, notin), a comma or the end after "${i.key}", found ${describe(i.found)}`,
  value: (i) => `expected a value after "${i.key}${i.operator}", found ${describe(i.found)}`,
  open: (i) => `expected "(" after "${i.key} ${i.operator}", found ${describe(i.found)}`,
  setStart: (i) => `expected a value in the set of "${i.key} ${i.operator}", found ${describe(i.found)}`,
  setItem: (i) => `expected a value in the set of "${i.key} ${i.operator}", found ${describe(i.found)}`,
  setSeparator: (i) =>
    `expected "," or ")" in the set of "${i.key} ${i.operator}", found ${describe(i.found)}`,
};

const operators: Partial<Record<LabelOperator, RequirementOperator>> = {
  '=': 'equals',
  '==': 'equals',
  '!=': 'notequals',
  in: 'in',
  notin: 'notin',
  exists: 'exists',
  '!': 'doesnotexist',
};

function restrictionDialect(allowed: readonly string[] | undefined): Dialect<Requirement> {
  return {
    comparisons: false,
    syntaxError: (info) => new CatalogRestrictionError(syntaxMessages[info.problem](info)),
    key: (key) => {
      if (allowed && !allowed.includes(key)) {
        throw new CatalogRestrictionError(`Invalid property: ${key} (supported: ${allowed.join(', ')})`);
      }
    },
    requirement: (raw) => {
      if (raw.emptySet) {
        throw new CatalogRestrictionError(
          `for "in" and "notin" the set of values cannot be empty ("${raw.key} ${raw.operatorText} ()")`,
        );
      }
      return {
        property: raw.key,
        operator: operators[raw.operator]!,
        values: raw.values.map((v) => checkValue(raw.key, v)),
      };
    },
  };
}

/**
 * Parses one restriction string (which may itself join several requirements with commas).
 * `allowed`, when given, lists the properties it may name. Throws CatalogRestrictionError.
 */
export function parseRestriction(restriction: string, allowed?: readonly string[]): Predicate {
  const requirements = parseRequirements(restriction, restrictionDialect(allowed));
  return requirements.length === 0 ? acceptAll : new Predicate(requirements);
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
