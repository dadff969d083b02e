import { z } from 'zod';
import { RulesTextSchema, TeachSchema } from '../../contract/rules.js';
import { READ_ONLY, WRITE, defineTool } from './define.js';

/** A rule as JSON (POST /teach) or rules in text form (POST /rules): models often find the text form easier. */
const TeachInput = z.union([TeachSchema, RulesTextSchema]);

export const teach = defineTool({
  name: 'teach',
  title: 'Add rules',
  operation: 'rules.write',
  schema: TeachInput,
  annotations: WRITE,
  advertise: {
    describe: {
      head: 'JSON form: the derived atom, e.g. {"predicate":"grandparent","args":["?x","?z"]}.',
      body: 'JSON form: the atoms that must hold, e.g. [{"predicate":"parent","args":["?x","?y"]},{"predicate":"parent","args":["?y","?z"]}]. In a body {"predicate":"churned","args":["?c"],"not":true} means "not churned(?c)" and {"op":">=","left":"?n","right":100} compares.',
      text: 'Text form, one or many rules: "ancestor(?x, ?y) :- parent(?x, ?y).\\nactive(?c) :- customer(?c), not churned(?c)."',
      scope: 'Apply the rules only when querying this scope; omit for every scope.',
    },
  },
  description: [
    'Teach Datalog rules to this tenant: facts they derive are answered by "ask" (computed at query time, not stored).',
    'Use it to encode general knowledge ("every enterprise customer with 100+ seats gets a discount") once instead of storing every consequence.',
    'Give either "text" (rules in text form, many at once) or "head" + "body" (one rule as JSON). Rules support recursion, "not", and comparisons (= != < <= > >=).',
    'Example: {"text":"discount(?c, 0.2) :- plan(?c, enterprise), seats(?c, ?n), ?n >= 100."}. An unsafe or non-stratifiable rule fails with VALIDATION_ERROR naming the problem.',
  ].join('\n'),
  async run(services, address, input) {
    if ('text' in input) {
      const added = await services.rules.addTenantText(address, input.text, input.scope ?? null);
      return { rules: added.map((r) => ({ id: r.id, rule: r.rule, scope: r.scope })) };
    }
    const added = await services.rules.teach(address, { head: input.head, body: input.body }, input.scope ?? null);
    return { id: added.id, rule: added.rule, scope: added.scope };
  },
});

export const listRules = defineTool({
  name: 'list_rules',
  title: 'List rules',
  operation: 'rules.list',
  schema: z.strictObject({}),
  annotations: READ_ONLY,
  description: [
    'List the rules that apply to this tenant: database rules shared by every tenant ("system": true, read-only) and the tenant\'s own.',
    'Use it to learn which predicates can be derived before asking, or to check a rule you taught. Takes no arguments.',
    'Example reply: {"rules":[{"id":"rule_...","rule":"ancestor(?x, ?y) :- parent(?x, ?y).","system":false,"scope":null}]}.',
  ].join('\n'),
  async run(services, address) {
    return { rules: await services.rules.list(address) };
  },
});
