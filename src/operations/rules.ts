import { z } from 'zod';
import { NameSchema } from '../contract/facts.js';
import { DatabaseRulesAddedReply, RuleDeletedReply, RulesAddedReply, RulesReply, TeachAnyReply } from '../contract/replies.js';
import { RulesTextSchema, TeachSchema } from '../contract/rules.js';
import { READS, controlOperation, tenantOperation } from './define.js';

const RuleId = z.string().regex(/^rule_[a-z0-9]{1,40}$/, 'invalid rule id');
const WRITES_RULES = { readOnly: false, destructive: false, idempotent: true } as const;

/** 201 when a rule was stored, 200 when every rule given existed already (rules are a set). */
const createdStatus = (rules: readonly { created: boolean }[]) => (rules.some((r) => r.created) ? 201 : 200);
const CODES = [201, 200];

export const teach = tenantOperation({
  name: 'teach',
  method: 'POST',
  path: '/teach',
  summary: 'Add a tenant rule (JSON form; the text form of POST /rules is accepted too)',
  access: { on: 'tenant', permission: 'rules.write' },
  input: z.union([TeachSchema, RulesTextSchema]),
  output: TeachAnyReply,
  effects: WRITES_RULES,
  audit: 'rules.write',
  status: { codes: CODES, pick: (reply) => createdStatus('rules' in reply ? reply.rules : [reply]) },
  async handler(input, address, { services }) {
    if ('text' in input) return { rules: await services.rules.addTenantText(address, input.text, input.scope ?? null) };
    return services.rules.teach(address, { head: input.head, body: input.body }, input.scope ?? null);
  },
  tool: {
    name: 'teach',
    title: 'Add rules',
    describe: {
      head: 'JSON form: the derived atom, e.g. {"predicate":"grandparent","args":["?x","?z"]}.',
      body: 'JSON form: the atoms that must hold, e.g. [{"predicate":"parent","args":["?x","?y"]},{"predicate":"parent","args":["?y","?z"]}]. In a body {"predicate":"churned","args":["?c"],"not":true} means "not churned(?c)" and {"op":">=","left":"?n","right":100} compares.',
      text: 'Text form, one or many rules: "ancestor(?x, ?y) :- parent(?x, ?y).\\nactive(?c) :- customer(?c), not churned(?c)."',
      scope: 'Apply the rules only when querying this scope; omit for every scope.',
    },
    description: [
      'Teach Datalog rules to this tenant: facts they derive are answered by "ask" (computed at query time, not stored).',
      'Use it to encode general knowledge ("every enterprise customer with 100+ seats gets a discount") once instead of storing every consequence.',
      'Give either "text" (rules in text form, many at once) or "head" + "body" (one rule as JSON). Rules support recursion, "not", and comparisons (= != < <= > >=).',
      'Rules are a set: teaching a rule that exists returns it with "created": false.',
      'Example: {"text":"discount(?c, 0.2) :- plan(?c, enterprise), seats(?c, ?n), ?n >= 100."}. An unsafe or non-stratifiable rule fails with VALIDATION_ERROR naming the problem.',
    ].join('\n'),
  },
});

export const addRules = tenantOperation({
  name: 'addRules',
  method: 'POST',
  path: '/rules',
  summary: 'Add tenant rules (text form); a rule that exists is returned, not stored again',
  access: { on: 'tenant', permission: 'rules.write' },
  input: RulesTextSchema,
  output: RulesAddedReply,
  effects: WRITES_RULES,
  audit: 'rules.write',
  status: { codes: CODES, pick: (reply) => createdStatus(reply.rules) },
  async handler(input, address, { services }) {
    return { rules: await services.rules.addTenantText(address, input.text, input.scope ?? null) };
  },
});

export const listRules = tenantOperation({
  name: 'listRules',
  method: 'GET',
  path: '/rules',
  summary: 'List database rules (system: true), then tenant rules',
  access: { on: 'tenant', permission: 'rules.list' },
  input: z.strictObject({}),
  output: RulesReply,
  effects: READS,
  async handler(_input, address, { services }) {
    return { rules: await services.rules.list(address) };
  },
  tool: {
    name: 'list_rules',
    title: 'List rules',
    description: [
      'List the rules that apply to this tenant: database rules shared by every tenant ("system": true, read-only) and the tenant\'s own.',
      'Use it to learn which predicates can be derived before asking, or to check a rule you taught. Takes no arguments.',
      'Example reply: {"rules":[{"id":"rule_...","rule":"ancestor(?x, ?y) :- parent(?x, ?y).","system":false,"scope":null}]}.',
    ].join('\n'),
  },
});

export const deleteRule = tenantOperation({
  name: 'deleteRule',
  method: 'DELETE',
  path: '/rules/{id}',
  summary: 'Delete a tenant rule (a database rule is 403)',
  access: { on: 'tenant', permission: 'rules.write' },
  input: z.strictObject({ id: RuleId }),
  output: RuleDeletedReply,
  effects: { readOnly: false, destructive: true, idempotent: false },
  audit: 'rules.write',
  async handler({ id }, address, { services }) {
    await services.rules.removeTenantRule(address, id);
    return { deleted: true as const, id };
  },
});

const DatabaseParam = { db: NameSchema };

export const listDatabaseRules = controlOperation({
  name: 'listDatabaseRules',
  method: 'GET',
  path: '/admin/databases/{db}/rules',
  summary: 'List the rules of a database (shared by its tenants)',
  access: { on: 'database', permission: 'admin.database' },
  input: z.strictObject(DatabaseParam),
  output: RulesReply,
  effects: READS,
  async handler({ db }, { services }) {
    return { rules: await services.rules.listDatabaseRules(db) };
  },
});

export const addDatabaseRules = controlOperation({
  name: 'addDatabaseRules',
  method: 'POST',
  path: '/admin/databases/{db}/rules',
  summary: 'Add database rules (text form); loading the same rules again stores nothing',
  access: { on: 'database', permission: 'admin.database' },
  input: RulesTextSchema.omit({ scope: true }).extend(DatabaseParam),
  output: DatabaseRulesAddedReply,
  effects: WRITES_RULES,
  status: { codes: CODES, pick: (reply) => createdStatus(reply.rules) },
  async handler({ db, text }, { services }) {
    const added = await services.rules.addDatabaseText(db, text);
    return { rules: added.map((r) => ({ id: r.id, rule: r.rule, system: true as const, created: r.created })) };
  },
});

export const deleteDatabaseRule = controlOperation({
  name: 'deleteDatabaseRule',
  method: 'DELETE',
  path: '/admin/databases/{db}/rules/{id}',
  summary: 'Delete a database rule',
  access: { on: 'database', permission: 'admin.database' },
  input: z.strictObject({ ...DatabaseParam, id: RuleId }),
  output: RuleDeletedReply,
  effects: { readOnly: false, destructive: true, idempotent: false },
  async handler({ db, id }, { services }) {
    await services.rules.removeDatabaseRule(db, id);
    return { deleted: true as const, id };
  },
});
