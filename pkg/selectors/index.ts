import { badRequest } from '../apierrors';

/**
 * Label and field selectors, parsed the way kube-apiserver parses them
 * (k8s.io/apimachinery/pkg/labels/selector.go and pkg/fields/selector.go), so that clients see the same
 * accepted syntax and the same error wording.
 */

export interface LabelSelector {
  /** True when the selector does not restrict anything (it matches every object). */
  readonly empty: boolean;
  matches(labels: Record<string, string> | undefined): boolean;
  /** Canonical form: requirements sorted by key, set values sorted. */
  toString(): string;
}

export interface FieldSelector {
  readonly empty: boolean;
  /** Sorted like kube sorts them (by the raw term text); values are unescaped. */
  readonly requirements: ReadonlyArray<{ field: string; operator: '=' | '!='; value: string }>;
  /** `get` returns the field's value; undefined compares as "" like kube's fields.Set. */
  matches(get: (field: string) => string | undefined): boolean;
  /** Canonical form, values escaped, so it parses back to the same selector. */
  toString(): string;
}

// ---------------------------------------------------------------------------------------------------
// Label and value syntax (k8s.io/apimachinery/pkg/api/validate/content), with kube's messages.

const LABEL_KEY_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_KEY_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${LABEL_KEY_FMT})?`;
const LABEL_VALUE_MSG = `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const labelKeyRe = new RegExp(`^${LABEL_KEY_FMT}$`);
const labelValueRe = new RegExp(`^${LABEL_VALUE_FMT}$`);
const subdomainRe = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');
const maxLenError = (n: number) => `must be no more than ${n} bytes`;
const regexError = (msg: string, re: string, ...examples: string[]) =>
  `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${re}')`;

function labelKeyErrors(key: string): string[] {
  const errs: string[] = [];
  const parts = key.split('/');
  if (parts.length > 2) {
    return [
      `a valid label key ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  const name = parts[parts.length - 1];
  if (parts.length === 2) {
    const prefix = parts[0];
    if (prefix === '') errs.push('prefix part must be non-empty');
    else {
      if (byteLength(prefix) > 253) errs.push(`prefix part ${maxLenError(253)}`);
      if (!subdomainRe.test(prefix))
        errs.push(`prefix part ${regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, 'example.com')}`);
    }
  }
  if (name === '') errs.push('name part must be non-empty');
  else if (byteLength(name) > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!labelKeyRe.test(name))
    errs.push(`name part ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push(maxLenError(63));
  if (!labelValueRe.test(value))
    errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

const invalidValue = (path: string, value: string, detail: string) =>
  `${path}: Invalid value: ${JSON.stringify(value)}: ${detail}`;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.ParseInt(s, 10, 64). */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

// ---------------------------------------------------------------------------------------------------
// Label selector: lexer and recursive-descent parser ported from labels/selector.go.

export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'gt' | 'lt' | 'exists' | '!';

interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Deduplicated and sorted, like kube's sets.String. */
  readonly values: readonly string[];
  /** The integer of a gt/lt requirement. */
  readonly bound?: bigint;
}

export type Token =
  'identifier' | 'end' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<' | 'in' | 'notin';
export interface Item {
  readonly tok: Token;
  readonly lit: string;
}

const SYMBOL_TOKENS: ReadonlySet<string> = new Set(['(', ')', ',', '!', '=', '==', '!=', '>', '<']);
const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string) => c.length === 1 && '=!(),><'.includes(c);

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos])) pos++;
    if (pos >= s.length) {
      items.push({ tok: 'end', lit: '' });
      return items;
    }
    const start = pos;
    if (isSpecial(s[pos])) {
      // Greedy like kube: grow the symbol while it is still a known operator ("!=" but "!" "(").
      pos++;
      while (pos < s.length && isSpecial(s[pos]) && SYMBOL_TOKENS.has(s.slice(start, pos + 1))) pos++;
      const lit = s.slice(start, pos);
      items.push({ tok: lit as Token, lit });
    } else {
      while (pos < s.length && !isSpecial(s[pos]) && !isWhitespace(s[pos])) pos++;
      const lit = s.slice(start, pos);
      items.push({ tok: lit === 'in' || lit === 'notin' ? lit : 'identifier', lit });
    }
  }
}

/** Where the grammar found something it did not expect; each dialect words it its own way. */
export type SyntaxProblem =
  /** A requirement must start here (at the start of the selector). */
  | 'requirement'
  /** After a requirement: ',' or the end. */
  | 'separator'
  /** After ',': another requirement. */
  | 'afterComma'
  /** After '!': a key. */
  | 'key'
  | 'operator'
  /** After in / notin: '('. */
  | 'open'
  /** The first thing inside the parentheses. */
  | 'setStart'
  /** After a value inside the parentheses: ',' or ')'. */
  | 'setSeparator'
  /** After ',' inside the parentheses: a value or ','. */
  | 'setItem'
  /** After = / == / != (or > / <): a value. */
  | 'value';

export interface SyntaxErrorInfo {
  problem: SyntaxProblem;
  found: Item;
  /** The key of the requirement being read, once known. */
  key?: string;
  /** The operator as written, once read. */
  operator?: string;
}

/** A requirement as written: values in the order given, duplicates kept. */
export interface RawRequirement {
  key: string;
  operator: LabelOperator;
  /** The operator as written (`==`, `in`, `>`...). */
  operatorText: string;
  values: string[];
  /** `in ()` / `notin ()`: parentheses with nothing at all inside. */
  emptySet: boolean;
}

/**
 * What makes one use of the requirement grammar differ from another: kube's label selectors and
 * the catalog restrictions of brokers share the grammar, but not the keys they accept, the checks
 * of the values, or the wording of errors.
 */
export interface Dialect<R> {
  /** Whether `>` and `<` are operators (label selectors) or a syntax error (restrictions). */
  comparisons: boolean;
  syntaxError(info: SyntaxErrorInfo): Error;
  /** Checks a key right after it is read (throws). */
  key(key: string): void;
  /** Builds (and checks) a requirement once read (throws). */
  requirement(raw: RawRequirement): R;
}

/** The requirement grammar of labels/selector.go, with the dialect deciding what is valid and how errors read. */
class RequirementParser<R> {
  private pos = 0;
  constructor(
    private readonly items: Item[],
    private readonly dialect: Dialect<R>,
  ) {}

  private fail(problem: SyntaxProblem, found: Item, key?: string, operator?: string): Error {
    return this.dialect.syntaxError({ problem, found, key, operator });
  }

  parse(): R[] {
    const requirements: R[] = [];
    for (;;) {
      const item = this.lookahead();
      if (item.tok === 'end') return requirements;
      if (item.tok !== 'identifier' && item.tok !== '!') throw this.fail('requirement', item);
      requirements.push(this.requirement());
      const next = this.consume();
      if (next.tok === 'end') return requirements;
      if (next.tok !== ',') throw this.fail('separator', next);
      const after = this.lookahead();
      if (after.tok !== 'identifier' && after.tok !== '!') throw this.fail('afterComma', after);
    }
  }

  /** `in` and `notin` are operators only right after a key; elsewhere they are plain words (`in in (in)`). */
  private lookahead(operatorPosition = false): Item {
    return asWord(this.items[Math.min(this.pos, this.items.length - 1)], operatorPosition);
  }

  private consume(operatorPosition = false): Item {
    const item = this.lookahead(operatorPosition);
    this.pos++;
    return item;
  }

  private requirement(): R {
    let item = this.consume();
    const negated = item.tok === '!';
    if (negated) item = this.consume();
    if (item.tok !== 'identifier') throw this.fail('key', item);
    const key = item.lit;
    this.dialect.key(key);
    const raw = (operator: LabelOperator, operatorText: string, values: string[], emptySet = false) =>
      this.dialect.requirement({ key, operator, operatorText, values, emptySet });
    if (negated) return raw('!', '!', []);
    const next = this.lookahead().tok;
    if (next === 'end' || next === ',') return raw('exists', '', []);
    const { operator, text } = this.operator(key);
    if (operator === 'in' || operator === 'notin') {
      const { values, empty } = this.valueSet(key, text);
      return raw(operator, text, values, empty);
    }
    return raw(operator, text, [this.exactValue(key, text)]);
  }

  private operator(key: string): { operator: LabelOperator; text: string } {
    const item = this.consume(true);
    switch (item.tok) {
      case 'in':
      case 'notin':
      case '=':
      case '==':
      case '!=':
        return { operator: item.tok, text: item.lit };
      case '>':
      case '<':
        if (this.dialect.comparisons) return { operator: item.tok === '>' ? 'gt' : 'lt', text: item.lit };
        break;
    }
    throw this.fail('operator', item, key);
  }

  private valueSet(key: string, operator: string): { values: string[]; empty: boolean } {
    const open = this.consume();
    if (open.tok !== '(') throw this.fail('open', open, key, operator);
    const first = this.lookahead();
    if (first.tok === ')') {
      this.consume();
      return { values: [''], empty: true };
    }
    if (first.tok !== 'identifier' && first.tok !== ',') throw this.fail('setStart', first, key, operator);
    const values = this.identifierList(key, operator);
    this.consume(); // identifierList returns only with ')' next
    return { values, empty: false };
  }

  /** A possibly empty list of possibly empty words: `(a,,b)`, `(,a)` and `(a,)` all contain "". */
  private identifierList(key: string, operator: string): string[] {
    const values: string[] = [];
    for (;;) {
      const item = this.consume();
      if (item.tok === 'identifier') {
        values.push(item.lit);
        const next = this.lookahead();
        if (next.tok === ')') return values;
        if (next.tok !== ',') throw this.fail('setSeparator', next, key, operator);
      } else if (item.tok === ',') {
        if (values.length === 0) values.push('');
        const next = this.lookahead().tok;
        if (next === ')') {
          values.push('');
          return values;
        }
        if (next === ',') {
          this.consume();
          values.push('');
        }
      } else {
        throw this.fail('setItem', item, key, operator);
      }
    }
  }

  private exactValue(key: string, operator: string): string {
    const next = this.lookahead().tok;
    if (next === 'end' || next === ',') return '';
    const item = this.consume();
    if (item.tok !== 'identifier') throw this.fail('value', item, key, operator);
    return item.lit;
  }
}

function asWord(item: Item, operatorPosition: boolean): Item {
  return !operatorPosition && (item.tok === 'in' || item.tok === 'notin')
    ? { tok: 'identifier', lit: item.lit }
    : item;
}

/** Parses a requirement list (`a=b,!c,d in (e,f)`) in the given dialect. */
export function parseRequirements<R>(s: string, dialect: Dialect<R>): R[] {
  return new RequirementParser(lex(s), dialect).parse();
}

const requirementError = (message: string) => badRequest(`unable to parse requirement: ${message}`);

/** kube-apiserver's wording of each syntax error. */
const kubeSyntaxMessages: Record<SyntaxProblem, (lit: string) => string> = {
  requirement: (lit) => `found '${lit}', expected: !, identifier, or 'end of string'`,
  separator: (lit) => `found '${lit}', expected: ',' or 'end of string'`,
  afterComma: (lit) => `found '${lit}', expected: identifier after ','`,
  key: (lit) => `found '${lit}', expected: identifier`,
  operator: (lit) => `found '${lit}', expected: in, notin, =, ==, !=, gt, lt`,
  open: (lit) => `found '${lit}' expected: '('`,
  setStart: (lit) => `found '${lit}', expected: ',', ')' or identifier`,
  setSeparator: (lit) => `found '${lit}', expected: ',' or ')'`,
  setItem: (lit) => `found '${lit}', expected: ',', or identifier`,
  value: (lit) => `found '${lit}', expected: identifier`,
};

/** The first three are errors of the selector as a whole; the rest, of one requirement. */
const selectorLevel = new Set<SyntaxProblem>(['requirement', 'separator', 'afterComma']);

const labelDialect: Dialect<LabelRequirement> = {
  comparisons: true,
  syntaxError: ({ problem, found }) => {
    const message = kubeSyntaxMessages[problem](found.lit);
    return selectorLevel.has(problem) ? badRequest(message) : requirementError(message);
  },
  key: (key) => {
    const keyErrors = labelKeyErrors(key);
    if (keyErrors.length > 0) throw requirementError(invalidValue('key', key, keyErrors.join('; ')));
  },
  requirement: ({ key, operator, values }) =>
    operator === '!' || operator === 'exists'
      ? { key, operator, values: [] }
      : newRequirement(key, operator, [...new Set(values)].sort()),
};

/** labels.NewRequirement's checks of the values (the key was checked while parsing). */
function newRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const errors: string[] = [];
  let bound: bigint | undefined;
  if (operator === 'gt' || operator === 'lt') {
    bound = parseInt64(values[0]);
    if (bound === undefined) {
      errors.push(
        invalidValue('values[0]', values[0], "for 'Gt', 'Lt' operators, the value must be an integer"),
      );
    }
  }
  values.forEach((v, i) => {
    const valueErrors = labelValueErrors(v);
    if (valueErrors.length > 0) errors.push(invalidValue(`values[${i}][${key}]`, v, valueErrors.join('; ')));
  });
  if (errors.length > 0) throw requirementError(errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`);
  return { key, operator, values, bound };
}

function requirementMatches(r: LabelRequirement, labels: Record<string, string> | undefined): boolean {
  // Own properties only: a label key may legally be "constructor" or "__proto__".
  const has = labels !== undefined && Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : '';
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(value);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(value);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      const n = has ? parseInt64(value) : undefined;
      if (n === undefined || r.bound === undefined) return false;
      return r.operator === 'gt' ? n > r.bound : n < r.bound;
    }
  }
}

const OPERATOR_TEXT: Record<LabelOperator, string> = {
  in: ' in ',
  notin: ' notin ',
  '=': '=',
  '==': '==',
  '!=': '!=',
  gt: '>',
  lt: '<',
  exists: '',
  '!': '',
};

function requirementString(r: LabelRequirement): string {
  if (r.operator === '!') return `!${r.key}`;
  if (r.operator === 'exists') return r.key;
  const values = r.values.join(',');
  const text = r.operator === 'in' || r.operator === 'notin' ? `(${values})` : values;
  return `${r.key}${OPERATOR_TEXT[r.operator]}${text}`;
}

class ParsedLabelSelector implements LabelSelector {
  readonly empty: boolean;
  constructor(private readonly requirements: readonly LabelRequirement[]) {
    this.empty = requirements.length === 0;
  }
  matches(labels: Record<string, string> | undefined): boolean {
    return this.requirements.every((r) => requirementMatches(r, labels));
  }
  toString(): string {
    return this.requirements.map(requirementString).join(',');
  }
}

/**
 * Parses a `labelSelector` query parameter. Grammar (kube's):
 *   selector    ::= requirement | requirement "," selector
 *   requirement ::= [!] KEY [ ("in" | "notin") "(" VALUES ")" | ("=" | "==" | "!=" | ">" | "<") VALUE ]
 * The empty string matches everything. Errors are 400 BadRequest with kube's wording.
 */
export function parseLabelSelector(s: string): LabelSelector {
  const requirements = parseRequirements(s, labelDialect);
  // Sorted by key (stable) so toString is canonical, like labels.Parse.
  requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return new ParsedLabelSelector(requirements);
}

// ---------------------------------------------------------------------------------------------------
// Field selector (fields/selector.go): comma-separated `field=value`, `field==value`, `field!=value`;
// in values `\,` `\=` `\\` escape the separators, nothing is escaped in field names.

type FieldRequirement = FieldSelector['requirements'][number];

/** Splits on commas not preceded by a backslash; the escapes stay in the terms. */
function splitTerms(s: string): string[] {
  if (s === '') return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < s.length; i++) {
    if (escaped) escaped = false;
    else if (s[i] === '\\') escaped = true;
    else if (s[i] === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

/** The first operator in the term splits it; "!=" and "==" win over "=" at the same position. */
function splitTerm(term: string): { field: string; operator: '=' | '!='; raw: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '=']) {
      if (term.startsWith(op, i)) {
        return {
          field: term.slice(0, i),
          operator: op === '!=' ? '!=' : '=',
          raw: term.slice(i + op.length),
        };
      }
    }
  }
  return undefined;
}

function unescapeValue(s: string): string {
  let out = '';
  let escaped = false;
  for (const c of s) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      escaped = false;
    } else if (c === '\\') escaped = true;
    else if (c === ',' || c === '=')
      throw badRequest(`invalid field selector: unescaped character in value: ${c}`);
    else out += c;
  }
  if (escaped) throw badRequest('invalid field selector: invalid escape sequence: \\');
  return out;
}

const escapeValue = (s: string) => s.replace(/[\\,=]/g, (c) => `\\${c}`);

/**
 * Parses a `fieldSelector` query parameter. Only the syntax is checked here: which fields a kind
 * supports is the caller's business. Errors are 400 BadRequest with kube's wording.
 */
export function parseFieldSelector(s: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  for (const term of splitTerms(s).sort()) {
    if (term === '') continue;
    const parts = splitTerm(term);
    if (!parts) throw badRequest(`invalid selector: '${s}'; can't understand '${term}'`);
    requirements.push({ field: parts.field, operator: parts.operator, value: unescapeValue(parts.raw) });
  }
  Object.freeze(requirements);
  return {
    empty: requirements.length === 0,
    requirements,
    matches: (get) => requirements.every((r) => ((get(r.field) ?? '') === r.value) === (r.operator === '=')),
    toString: () => requirements.map((r) => `${r.field}${r.operator}${escapeValue(r.value)}`).join(','),
  };
}

/**
 * The value an `=` / `==` requirement demands of `field`, if the selector has one (fields.RequiresExactMatch):
 * lets the caller serve `metadata.name=x` or an indexed field with a point lookup.
 */
export function exactMatch(selector: FieldSelector, field: string): string | undefined {
  return selector.requirements.find((r) => r.field === field && r.operator === '=')?.value;
}
