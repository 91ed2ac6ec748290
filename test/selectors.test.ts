import { exactMatch, parseFieldSelector, parseLabelSelector } from '../pkg/selectors';
import { statusErrorOf } from './harness/status-error';

const name63 = 'a'.repeat(63);
const name64 = 'a'.repeat(64);

describe('parseLabelSelector', () => {
  test.each([
    ['', ''],
    ['   ', ''],
    ['a', 'a'],
    ['!a', '!a'],
    ['! a', '!a'],
    ['a=b', 'a=b'],
    ['a==b', 'a==b'],
    ['a!=b', 'a!=b'],
    ['a=', 'a='],
    ['a!=', 'a!='],
    ['a>5', 'a>5'],
    ['a<5', 'a<5'],
    ['a<0', 'a<0'],
    ['a in (b)', 'a in (b)'],
    ['a in (c,b,b)', 'a in (b,c)'],
    ['a notin (b,c)', 'a notin (b,c)'],
    ['a in ()', 'a in ()'],
    ['a in (,b)', 'a in (,b)'],
    ['a in (b,)', 'a in (,b)'],
    ['a in (b,,c)', 'a in (,b,c)'],
    ['x in (foo,,baz),y,z notin ()', 'x in (,baz,foo),y,z notin ()'],
    [' a = b , c != d ', 'a=b,c!=d'],
    ['a\t=\tb\r\n,c', 'a=b,c'],
    ['b=1,a=2', 'a=2,b=1'],
    ['in in (in, notin)', 'in in (in,notin)'],
    ['notin=in', 'notin=in'],
    ['a=in', 'a=in'],
    ['example.com/a=b', 'example.com/a=b'],
    ['k8s.io/app.Name_x-1 in (V.1_a-b)', 'k8s.io/app.Name_x-1 in (V.1_a-b)'],
    [`${name63}=${name63}`, `${name63}=${name63}`],
  ])('%j parses to %j', (input, canonical) => {
    const selector = parseLabelSelector(input);
    expect(selector.toString()).toBe(canonical);
    expect(selector.empty).toBe(canonical === '');
    // The canonical form parses back to the same selector.
    expect(parseLabelSelector(selector.toString()).toString()).toBe(canonical);
  });

  const labels = { app: 'web', tier: 'front', n: '10', neg: '-3', text: 'ten', empty: '' };
  test.each<[string, Record<string, string> | undefined, boolean]>([
    ['', undefined, true],
    ['', {}, true],
    ['app', labels, true],
    ['missing', labels, false],
    ['!missing', labels, true],
    ['!app', labels, false],
    ['!app', undefined, true],
    ['app=web', labels, true],
    ['app==web', labels, true],
    ['app=db', labels, false],
    ['missing=web', labels, false],
    ['empty=', labels, true],
    ['missing=', labels, false],
    ['app!=db', labels, true],
    ['app!=web', labels, false],
    ['missing!=web', labels, true],
    ['app!=web', undefined, true],
    ['app in (db,web)', labels, true],
    ['app in (db)', labels, false],
    ['missing in (db)', labels, false],
    ['empty in ()', labels, true],
    ['app notin (db)', labels, true],
    ['app notin (web,db)', labels, false],
    ['missing notin (web)', labels, true],
    ['n>9', labels, true],
    ['n>10', labels, false],
    ['n<11', labels, true],
    ['n<10', labels, false],
    ['neg<0', labels, true],
    ['neg>0', labels, false],
    ['text>0', labels, false],
    ['text<0', labels, false],
    ['missing>0', labels, false],
    ['missing<0', labels, false],
    ['n>9223372036854775806', { n: '9223372036854775807' }, true],
    ['n<9223372036854775807', { n: '9223372036854775808' }, false],
    ['n>0', { n: '+5' }, true],
    ['app=web,tier=front', labels, true],
    ['app=web,tier=back', labels, false],
    ['app,!missing,tier in (front),n>1', labels, true],
    ['constructor', {}, false],
    ['hasOwnProperty', {}, false],
    ['!toString', {}, true],
  ])('%j matches %j: %s', (selector, set, expected) => {
    expect(parseLabelSelector(selector).matches(set)).toBe(expected);
  });

  const keyMsg = (key: string, detail: string) =>
    `unable to parse requirement: key: Invalid value: ${JSON.stringify(key)}: ${detail}`;
  const nameRegex =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  const valueRegex =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  const prefixRegex =
    "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  test.each([
    // Syntax, at the selector level.
    [',a', "found ',', expected: !, identifier, or 'end of string'"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['(', "found '(', expected: !, identifier, or 'end of string'"],
    ['a=b,', "found '', expected: identifier after ','"],
    ['a=b,,c', "found ',', expected: identifier after ','"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['a=b=c', "found '=', expected: ',' or 'end of string'"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['a in (b) c', "found 'c', expected: ',' or 'end of string'"],
    // Syntax, inside a requirement.
    ['!', "unable to parse requirement: found '', expected: identifier"],
    ['!!a', "unable to parse requirement: found '!', expected: identifier"],
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a!', "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"],
    ['a(b)', "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"],
    ['a=(b)', "unable to parse requirement: found '(', expected: identifier"],
    ['a>=1', "unable to parse requirement: found '=', expected: identifier"],
    ['a in', "unable to parse requirement: found '' expected: '('"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['a notin b', "unable to parse requirement: found 'b' expected: '('"],
    ['a in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['a in (', "unable to parse requirement: found '', expected: ',', ')' or identifier"],
    ['a in (b c)', "unable to parse requirement: found 'c', expected: ',' or ')'"],
    ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a in (b,', "unable to parse requirement: found '', expected: ',', or identifier"],
    ['a in (b,=)', "unable to parse requirement: found '=', expected: ',', or identifier"],
    // Keys.
    ['-a', keyMsg('-a', nameRegex)],
    ['a-', keyMsg('a-', nameRegex)],
    ['a_b.c-d!x', "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"],
    [
      'a/b/c',
      keyMsg(
        'a/b/c',
        "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ),
    ],
    ['/a', keyMsg('/a', 'prefix part must be non-empty')],
    ['a/', keyMsg('a/', `name part must be non-empty; ${nameRegex}`)],
    ['Example.com/a', keyMsg('Example.com/a', prefixRegex)],
    [`${'a'.repeat(254)}/a`, keyMsg(`${'a'.repeat(254)}/a`, `prefix part must be no more than 253 bytes`)],
    [name64, keyMsg(name64, 'name part must be no more than 63 bytes')],
    ['é', keyMsg('é', nameRegex)],
    // Values.
    ['a=-b', `unable to parse requirement: values[0][a]: Invalid value: "-b": ${valueRegex}`],
    [
      `a=${name64}`,
      `unable to parse requirement: values[0][a]: Invalid value: "${name64}": must be no more than 63 bytes`,
    ],
    ['a in (ok,b-)', `unable to parse requirement: values[0][a]: Invalid value: "b-": ${valueRegex}`],
    [
      'a in (-x,y-)',
      `unable to parse requirement: [values[0][a]: Invalid value: "-x": ${valueRegex}, values[1][a]: Invalid value: "y-": ${valueRegex}]`,
    ],
    // Integer comparisons.
    [
      'a>b',
      `unable to parse requirement: values[0]: Invalid value: "b": for 'Gt', 'Lt' operators, the value must be an integer`,
    ],
    [
      'a<1.5',
      `unable to parse requirement: values[0]: Invalid value: "1.5": for 'Gt', 'Lt' operators, the value must be an integer`,
    ],
    [
      'a>',
      `unable to parse requirement: values[0]: Invalid value: "": for 'Gt', 'Lt' operators, the value must be an integer`,
    ],
    [
      'a>9223372036854775808',
      `unable to parse requirement: values[0]: Invalid value: "9223372036854775808": for 'Gt', 'Lt' operators, the value must be an integer`,
    ],
    ['a>-1', `unable to parse requirement: values[0][a]: Invalid value: "-1": ${valueRegex}`],
    [
      'a>-b',
      `unable to parse requirement: [values[0]: Invalid value: "-b": for 'Gt', 'Lt' operators, the value must be an integer, values[0][a]: Invalid value: "-b": ${valueRegex}]`,
    ],
  ])('%j is rejected', (input, message) => {
    const err = statusErrorOf(() => parseLabelSelector(input));
    expect(err.code).toBe(400);
    expect(err.reason).toBe('BadRequest');
    expect(err.message).toBe(message);
  });
});

describe('parseFieldSelector', () => {
  test.each([
    ['', []],
    [',', []],
    ['metadata.name=a', [{ field: 'metadata.name', operator: '=', value: 'a' }]],
    ['metadata.name==a', [{ field: 'metadata.name', operator: '=', value: 'a' }]],
    ['metadata.name!=a', [{ field: 'metadata.name', operator: '!=', value: 'a' }]],
    ['metadata.name=', [{ field: 'metadata.name', operator: '=', value: '' }]],
    ['=a', [{ field: '', operator: '=', value: 'a' }]],
    ['a=b!c', [{ field: 'a', operator: '=', value: 'b!c' }]],
    ['a!=!b', [{ field: 'a', operator: '!=', value: '!b' }]],
    [' a = b ', [{ field: ' a ', operator: '=', value: ' b ' }]],
    [
      'spec.b=2,,spec.a!=1',
      [
        { field: 'spec.a', operator: '!=', value: '1' },
        { field: 'spec.b', operator: '=', value: '2' },
      ],
    ],
    ['a=x\\,y', [{ field: 'a', operator: '=', value: 'x,y' }]],
    ['a=x\\=y', [{ field: 'a', operator: '=', value: 'x=y' }]],
    ['a=x\\\\y', [{ field: 'a', operator: '=', value: 'x\\y' }]],
    [
      'a=x\\\\,b=y',
      [
        { field: 'a', operator: '=', value: 'x\\' },
        { field: 'b', operator: '=', value: 'y' },
      ],
    ],
    ['a!=\\,\\=\\\\', [{ field: 'a', operator: '!=', value: ',=\\' }]],
  ])('%j parses', (input, requirements) => {
    const selector = parseFieldSelector(input);
    expect(selector.requirements).toEqual(requirements);
    expect(selector.empty).toBe(requirements.length === 0);
    expect(parseFieldSelector(selector.toString()).requirements).toEqual(requirements);
  });

  test.each([
    ['a', "invalid selector: 'a'; can't understand 'a'"],
    ['a=b,c', "invalid selector: 'a=b,c'; can't understand 'c'"],
    ['a=b=c', 'invalid field selector: unescaped character in value: ='],
    ['a==b=c', 'invalid field selector: unescaped character in value: ='],
    ['a===b', 'invalid field selector: unescaped character in value: ='],
    ['a!==b', 'invalid field selector: unescaped character in value: ='],
    ['a=b\\!', 'invalid field selector: invalid escape sequence: \\!'],
    ['a=b\\n', 'invalid field selector: invalid escape sequence: \\n'],
    ['a=b\\', 'invalid field selector: invalid escape sequence: \\'],
  ])('%j is rejected', (input, message) => {
    const err = statusErrorOf(() => parseFieldSelector(input));
    expect(err.code).toBe(400);
    expect(err.reason).toBe('BadRequest');
    expect(err.message).toBe(message);
  });

  const fields: Record<string, string> = { 'metadata.name': 'x', 'spec.a': 'a,b', 'status.empty': '' };
  const get = (f: string) => fields[f];
  test.each([
    ['', true],
    ['metadata.name=x', true],
    ['metadata.name==x', true],
    ['metadata.name=y', false],
    ['metadata.name!=y', true],
    ['metadata.name!=x', false],
    ['spec.a=a\\,b', true],
    ['status.empty=', true],
    ['missing=', true],
    ['missing!=', false],
    ['missing=x', false],
    ['missing!=x', true],
    ['metadata.name=x,spec.a=a\\,b', true],
    ['metadata.name=x,spec.a=a', false],
  ])('%j matches: %s', (input, expected) => {
    expect(parseFieldSelector(input).matches(get)).toBe(expected);
  });

  test.each([
    ['metadata.name=x', 'metadata.name', 'x'],
    ['metadata.name==x', 'metadata.name', 'x'],
    ['metadata.name!=x', 'metadata.name', undefined],
    ['spec.a=1,metadata.name=x', 'metadata.name', 'x'],
    ['metadata.name!=y,metadata.name=x', 'metadata.name', 'x'],
    ['spec.a=1', 'metadata.name', undefined],
    ['', 'metadata.name', undefined],
    ['metadata.name=a\\,b', 'metadata.name', 'a,b'],
  ])('exactMatch(%j, %j) is %j', (input, field, value) => {
    expect(exactMatch(parseFieldSelector(input), field)).toBe(value);
  });
});
