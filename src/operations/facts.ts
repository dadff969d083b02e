import { z } from 'zod';
import { NameSchema, PatchSchema, PredicateSchema, RetractSchema, TellSchema } from '../contract/facts.js';
import { presentFact } from '../contract/present.js';
import { DEFAULT_PAGE, MAX_PAGE, AskSchema } from '../contract/query.js';
import { ReadTimeFields } from '../contract/time.js';
import { AskReply, FactsPageReply, PatchReply, PredicatesReply, RetractReply, TellReply } from '../contract/replies.js';
import { contextUri } from '../service/address.js';
import { presentAsk } from '../service/replies.js';
import { READS, tenantOperation } from './define.js';

/** Fields a client may echo back from a reply: accepted, not advertised. */
const ECHOED = ['version', 'createdAt', 'updatedAt', 'expiresAt', '$context', 'bindings'];

const FACT_FIELDS = {
  predicate: 'Name of the relation, e.g. "plan" or "employee". Not a variable.',
  args: 'Arguments in order: strings, numbers, booleans or null (0-16). Numbers and strings are different terms: 30 is not "30".',
  negated: 'true states NOT predicate(args) (an explicit negative fact).',
  scope: 'Scope (branch) to use; omit for "main" on writes and for every scope on reads.',
};

export const tell = tenantOperation({
  name: 'tell',
  method: 'POST',
  path: '/tell',
  summary: 'Store facts (upsert, all or nothing)',
  access: { on: 'tenant', permission: 'tell' },
  input: TellSchema,
  output: TellReply,
  effects: { readOnly: false, destructive: false, idempotent: false },
  audit: 'tell',
  transactional: true,
  async handler(input, address, { services, principal, transactionId }) {
    const stored = transactionId === undefined ? await services.facts.tell(address, input) : await services.transactions.tell(address, principal, transactionId, input);
    const context = contextUri(address);
    return { told: stored.length, facts: stored.map((f) => presentFact(f, context)) };
  },
  tool: {
    name: 'tell',
    title: 'Store facts',
    hide: ECHOED,
    describe: {
      ...FACT_FIELDS,
      facts: 'Several facts at once (up to 10,000, all or nothing); each item has the fields of a single fact.',
      confidence: 'How sure you are, 0-1 (default 1).',
      ttl: 'Forget the fact after this many milliseconds.',
      validFrom: 'Epoch ms from which the fact holds.',
      validUntil: 'Epoch ms until which the fact holds.',
      metadata: 'Free JSON about the fact (source, note), at most 8 KiB.',
    },
    description: [
      'Store one fact, or several with "facts", in this connection\'s tenant. A fact is predicate(args...), e.g. plan("acme", "enterprise").',
      'Use it to remember anything you learned that should outlive the conversation: attributes, relations, decisions.',
      'Telling an existing fact again updates it (confidence, metadata, ttl) and bumps its version; telling p while NOT p holds in the same scope fails with CONFLICT.',
      'Example: {"predicate":"plan","args":["acme","enterprise"],"confidence":0.9} or {"facts":[{"predicate":"seats","args":["acme",120]}]}.',
    ].join('\n'),
  },
});

export const ask = tenantOperation({
  name: 'ask',
  method: 'POST',
  path: '/ask',
  summary: 'Query one pattern or a conjunction, with rules',
  access: { on: 'tenant', permission: 'ask' },
  input: AskSchema,
  output: AskReply,
  effects: READS,
  transactional: true,
  async handler(input, address, call) {
    const lens = call.transactionId === undefined ? undefined : await call.services.transactions.lens(address, call.principal, call.transactionId);
    // The call's signal getter is read (and, over HTTP, the signal made) only when the ask goes to the engine.
    const options = { get signal() { return call.signal; }, lens };
    return presentAsk(await call.services.query.ask(address, input, options), contextUri(address));
  },
  tool: {
    name: 'ask',
    title: 'Query facts',
    describe: {
      ...FACT_FIELDS,
      args: 'Pattern arguments: constants, or variables written "?name" ("?" matches anything, "??x" is the literal string "?x").',
      query: 'A conjunctive query: several patterns that must all hold, sharing variables.',
      not: 'Patterns that must NOT hold (negation as failure), used with "query".',
      limit: 'Results per page (default 100, at most 10,000).',
      cursor: 'The "cursor" of the previous page, to continue.',
      infer: 'Include facts derived by rules (default true).',
      withProof: 'Add a proof tree to each derived result.',
      distinct: 'Fold the same fact seen in several scopes into one result.',
      asOf: 'Answer as the tenant stood at this past moment (epoch ms or ISO time): what was known then.',
      validAt: 'Judge validFrom/validUntil at this moment (epoch ms or ISO time) instead of now.',
    },
    description: [
      'Find facts matching a pattern, including facts derived by rules. Variables are strings starting with "?" and come back in "bindings".',
      'Use it before answering from memory: to look up what is known about an entity or to check a condition.',
      'Example: {"predicate":"plan","args":["acme","?tier"]} returns {"results":[{"predicate":"plan","args":["acme","enterprise"],"bindings":{"tier":"enterprise"},...}]}.',
      'Join example: {"query":[{"predicate":"employee","args":["?p","?dept"]},{"predicate":"dept","args":["?dept","eng"]}]}. An empty answer is {"results":[]}.',
    ].join('\n'),
  },
});

export const retract = tenantOperation({
  name: 'retract',
  method: 'POST',
  path: '/retract',
  summary: 'Retract a fact or a pattern',
  access: { on: 'tenant', permission: 'retract' },
  input: RetractSchema,
  output: RetractReply,
  effects: { readOnly: false, destructive: true, idempotent: true },
  audit: 'retract',
  transactional: true,
  async handler(input, address, { services, principal, transactionId }) {
    if (transactionId !== undefined) return { retracted: await services.transactions.retract(address, principal, transactionId, input) };
    return { retracted: await services.facts.retract(address, input) };
  },
  tool: {
    name: 'retract',
    title: 'Remove facts',
    aliases: ['forget'],
    hide: [...ECHOED, 'confidence', 'metadata', 'ttl', 'validFrom', 'validUntil'],
    describe: { ...FACT_FIELDS, args: 'A fact, or a pattern with "?variables" to remove every match.' },
    description: [
      'Remove a fact, or every fact matching a pattern, from one scope or (without "scope") from every scope.',
      'Use it when something you stored is no longer true or was wrong. Returns how many facts were removed.',
      'Example: {"predicate":"plan","args":["acme","?any"]} removes every plan of acme -> {"retracted":1}.',
    ].join('\n'),
  },
});

export const patchFact = tenantOperation({
  name: 'patchFact',
  method: 'PATCH',
  path: '/tell',
  summary: 'Change metadata, confidence, ttl or validity of a stored fact (a new version)',
  access: { on: 'tenant', permission: 'tell' },
  input: PatchSchema,
  output: PatchReply,
  effects: { readOnly: false, destructive: false, idempotent: false },
  audit: 'tell',
  async handler(input, address, { services }) {
    return { fact: presentFact(await services.facts.patch(address, input), contextUri(address)) };
  },
  tool: {
    name: 'update_fact',
    title: 'Change a stored fact',
    describe: {
      ...FACT_FIELDS,
      scope: 'The scope of the fact (default "main").',
      confidence: 'New confidence, 0-1.',
      ttl: 'New time to live in ms, counted from now; null: never expires.',
      validFrom: 'New start of validity (epoch ms), null for none.',
      validUntil: 'New end of validity (epoch ms), null for none.',
      metadata: 'New metadata (replaces the old), null to clear it.',
    },
    description: [
      'Change the confidence, metadata, ttl or validity of a fact already stored, keeping everything else (its embedding too); its version goes up.',
      'Use it to correct what you know about a fact without restating it. A fact that does not exist in that scope fails with FACT_NOT_FOUND.',
      'Example: {"predicate":"plan","args":["acme","enterprise"],"confidence":0.6,"metadata":{"source":"call"}} -> {"fact":{...,"version":2}}.',
    ].join('\n'),
  },
});

/** `GET /facts`: the tenant's stored facts in index order, paged. */
export const ListFactsSchema = z.strictObject({
  predicate: PredicateSchema.optional(),
  scope: NameSchema.optional(),
  negated: z.boolean().optional(),
  limit: z.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
  cursor: z.string().max(4096).optional(),
  ...ReadTimeFields,
});

export const listFacts = tenantOperation({
  name: 'listFacts',
  method: 'GET',
  path: '/facts',
  summary: "List the tenant's stored facts (paged; filters predicate, scope, negated)",
  access: { on: 'tenant', permission: 'ask' },
  input: ListFactsSchema,
  output: FactsPageReply,
  effects: READS,
  transactional: true,
  async handler(input, address, { services, principal, transactionId }) {
    const lens = transactionId === undefined ? undefined : await services.transactions.lens(address, principal, transactionId);
    const page = await services.listing.facts(address, input, lens);
    const context = contextUri(address);
    return { facts: page.facts.map((f) => presentFact(f, context)), cursor: page.cursor };
  },
  tool: {
    name: 'list_facts',
    title: 'List stored facts',
    describe: {
      predicate: 'Only facts of this predicate (any arity).',
      scope: 'Only facts visible in this scope; omit for every scope.',
      negated: 'true: only negative facts; false: only positive ones; omit for both.',
      limit: 'Facts per page (default 100, at most 10,000).',
      cursor: 'The "cursor" of the previous page, to continue.',
      asOf: 'List the facts as they stood at this past moment (epoch ms or ISO time).',
      validAt: 'Judge validFrom/validUntil at this moment instead of now.',
    },
    description: [
      'List the facts stored in this tenant (not derived ones), page by page, optionally for one predicate or scope.',
      'Use it to browse what is known when you do not know what to ask; use ask for patterns.',
      'Example: {"predicate":"plan","limit":50} -> {"facts":[{"predicate":"plan","args":["acme","enterprise"],...}],"cursor":null}.',
    ].join('\n'),
  },
});

export const listPredicates = tenantOperation({
  name: 'listPredicates',
  method: 'GET',
  path: '/predicates',
  summary: 'List the predicates of the tenant: arities, fact and rule counts',
  access: { on: 'tenant', permission: 'ask' },
  input: z.strictObject({ scope: NameSchema.optional() }),
  output: PredicatesReply,
  effects: READS,
  async handler(input, address, { services }) {
    return { predicates: await services.listing.predicates(address, input.scope ?? null) };
  },
  tool: {
    name: 'list_predicates',
    title: 'List predicates',
    describe: { scope: 'Count the facts and rules of this scope only; omit for every scope.' },
    description: [
      'List the vocabulary of this tenant: every predicate its stored facts or its rules use, with arities, how many facts and how many rules derive it.',
      'Use it first, to learn what you can ask about.',
      'Example: {} -> {"predicates":[{"name":"plan","arities":[2],"facts":12,"rules":0},{"name":"eligible","arities":[1],"facts":0,"rules":1}]}.',
    ].join('\n'),
  },
});
