import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import Ajv from 'ajv';
import yaml from 'js-yaml';
import type { AuthorizationAttributes, Authorizer, Decision } from './types';

const names = (description: string) => Type.Array(Type.String(), { minItems: 1, description });

export const PolicyRuleSchema = Type.Object(
  {
    users: Type.Optional(names('User names the rule applies to; "*" is every user.')),
    groups: Type.Optional(
      names('Groups the rule applies to (system:authenticated is every authenticated user).'),
    ),
    verbs: names(
      'get, list, watch, create, update, patch, delete, deletecollection (for paths: get, post, ...); "*" is all.',
    ),
    resources: Type.Optional(
      names('Resources by plural, "resource/subresource" for subresources; "*" is all.'),
    ),
    apiGroups: Type.Optional(names('API groups ("" is core); absent or "*" is all.')),
    namespaces: Type.Optional(names('Namespaces; absent or "*" is all, cluster-scoped requests included.')),
    nonResourcePaths: Type.Optional(
      names('Paths that are not resources (/apis, /version); a trailing "*" matches a prefix.'),
    ),
  },
  { additionalProperties: false },
);
export type PolicyRule = Static<typeof PolicyRuleSchema>;

const PolicySchema = Type.Union([
  Type.Array(PolicyRuleSchema),
  Type.Object({ rules: Type.Array(PolicyRuleSchema) }, { additionalProperties: false }),
]);

const has = (list: string[] | undefined, v: string) =>
  list !== undefined && (list.includes('*') || list.includes(v));

function resourceMatches(rule: PolicyRule, a: AuthorizationAttributes): boolean {
  if (!rule.resources) return false;
  if (rule.apiGroups && !has(rule.apiGroups, a.group ?? '')) return false;
  if (
    rule.namespaces &&
    !rule.namespaces.includes('*') &&
    !(a.namespace && rule.namespaces.includes(a.namespace))
  )
    return false;
  const resource = a.resource ?? '';
  if (!a.subresource) return has(rule.resources, resource);
  return rule.resources.some(
    (r) => r === '*' || r === `${resource}/${a.subresource}` || r === `*/${a.subresource}`,
  );
}

function pathMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourcePaths ?? []).some(
    (p) => p === '*' || p === path || (p.endsWith('*') && path.startsWith(p.slice(0, -1))),
  );
}

/**
 * --authorization-policy-file, for running with no cluster to ask: a YAML or JSON list of rules (or
 * `{rules: [...]}`); a request is allowed when a rule names its user or one of its groups, its verb,
 * and its resource or path.
 */
export class PolicyFileAuthorizer implements Authorizer {
  constructor(readonly rules: PolicyRule[]) {}

  static parse(text: string, path = 'policy file'): PolicyFileAuthorizer {
    let doc: unknown;
    try {
      doc = yaml.load(text);
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
    const validate = new Ajv({ allErrors: true }).compile<Static<typeof PolicySchema>>(PolicySchema);
    if (!validate(doc)) {
      const why = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
      throw new Error(`${path}: not a list of policy rules: ${why}`);
    }
    const rules: PolicyRule[] = Array.isArray(doc) ? doc : doc.rules;
    rules.forEach((r, i) => {
      if (!r.users && !r.groups) throw new Error(`${path}: rule ${i + 1} names no users and no groups`);
      if (!r.resources && !r.nonResourcePaths)
        throw new Error(`${path}: rule ${i + 1} names no resources and no nonResourcePaths`);
    });
    return new PolicyFileAuthorizer(rules);
  }

  static fromFile(path: string): PolicyFileAuthorizer {
    return PolicyFileAuthorizer.parse(readFileSync(path, 'utf8'), path);
  }

  async authorize(a: AuthorizationAttributes): Promise<Decision> {
    const allowed = this.rules.some(
      (r) =>
        (has(r.users, a.user.username) || a.user.groups.some((g) => has(r.groups, g))) &&
        has(r.verbs, a.verb) &&
        (a.resourceRequest ? resourceMatches(r, a) : pathMatches(r, a.path)),
    );
    return { allowed };
  }
}
