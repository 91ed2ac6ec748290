import { ENDPOINTS, type Endpoint, type ScriptRule } from './types';

/** The rules in force. The latest matching rule wins; a rule with `times` is used up. */
export class ScriptBook {
  private rules: Array<{ endpoint: Endpoint; rule: ScriptRule; left: number }> = [];

  constructor(private readonly initial: Array<[Endpoint, ScriptRule]> = []) {
    this.reset();
  }

  add(endpoint: Endpoint, rule: ScriptRule): void {
    if (!ENDPOINTS.includes(endpoint)) throw new Error(`unknown endpoint ${endpoint}`);
    if (rule.times !== undefined && !(Number.isInteger(rule.times) && rule.times > 0)) {
      throw new Error(`times must be a positive integer, not ${rule.times}`);
    }
    this.rules.push({ endpoint, rule: { ...rule }, left: rule.times ?? Infinity });
  }

  /** Looks without using up: whether the matching rule makes the endpoint asynchronous. */
  peek(endpoint: Endpoint, planId: string | undefined): ScriptRule | undefined {
    return this.find(endpoint, planId)?.rule;
  }

  take(endpoint: Endpoint, planId: string | undefined): ScriptRule | undefined {
    const found = this.find(endpoint, planId);
    if (!found) return undefined;
    if (--found.left <= 0) this.rules.splice(this.rules.indexOf(found), 1);
    return found.rule;
  }

  reset(): void {
    this.rules = [];
    for (const [endpoint, rule] of this.initial) this.add(endpoint, rule);
  }

  private find(endpoint: Endpoint, planId: string | undefined) {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const r = this.rules[i];
      if (r.endpoint === endpoint && (r.rule.planId === undefined || r.rule.planId === planId)) return r;
    }
    return undefined;
  }
}
