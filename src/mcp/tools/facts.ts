import { RetractSchema, TellSchema } from '../../contract/facts.js';
import { presentFact } from '../../contract/present.js';
import { AskSchema } from '../../contract/query.js';
import { contextUri } from '../../service/address.js';
import { presentAsk } from '../../service/replies.js';
import { DESTRUCTIVE, READ_ONLY, WRITE, defineTool } from './define.js';

/** Fields a client may echo back from a reply: accepted, not advertised. */
const ECHOED = ['version', 'createdAt', 'updatedAt', 'expiresAt', '$context', 'bindings'];

const FACT_FIELDS = {
  predicate: 'Name of the relation, e.g. "plan" or "employee". Not a variable.',
  args: 'Arguments in order: strings, numbers, booleans or null (0-16). Numbers and strings are different terms: 30 is not "30".',
  negated: 'true states NOT predicate(args) (an explicit negative fact).',
  scope: 'Scope (branch) to use; omit for "main" on writes and for every scope on reads.',
};

export const tell = defineTool({
  name: 'tell',
  title: 'Store facts',
  operation: 'tell',
  schema: TellSchema,
  annotations: { ...WRITE, idempotentHint: true },
  advertise: {
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
  },
  description: [
    'Store one fact, or several with "facts", in this connection\'s tenant. A fact is predicate(args...), e.g. plan("acme", "enterprise").',
    'Use it to remember anything you learned that should outlive the conversation: attributes, relations, decisions.',
    'Telling an existing fact again updates it (confidence, metadata, ttl) and bumps its version; telling p while NOT p holds in the same scope fails with CONFLICT.',
    'Example: {"predicate":"plan","args":["acme","enterprise"],"confidence":0.9} or {"facts":[{"predicate":"seats","args":["acme",120]}]}.',
  ].join('\n'),
  async run(services, address, input) {
    const stored = await services.facts.tell(address, input);
    const context = contextUri(address);
    return { told: stored.length, facts: stored.map((f) => presentFact(f, context)) };
  },
});

export const ask = defineTool({
  name: 'ask',
  title: 'Query facts',
  operation: 'ask',
  schema: AskSchema,
  annotations: READ_ONLY,
  advertise: {
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
    },
  },
  description: [
    'Find facts matching a pattern, including facts derived by rules. Variables are strings starting with "?" and come back in "bindings".',
    'Use it before answering from memory: to look up what is known about an entity or to check a condition.',
    'Example: {"predicate":"plan","args":["acme","?tier"]} returns {"results":[{"predicate":"plan","args":["acme","enterprise"],"bindings":{"tier":"enterprise"},...}]}.',
    'Join example: {"query":[{"predicate":"employee","args":["?p","?dept"]},{"predicate":"dept","args":["?dept","eng"]}]}. An empty answer is {"results":[]}.',
  ].join('\n'),
  async run(services, address, input) {
    return presentAsk(await services.query.ask(address, input), contextUri(address));
  },
});

export const retract = defineTool({
  name: 'retract',
  title: 'Remove facts',
  operation: 'retract',
  schema: RetractSchema,
  annotations: DESTRUCTIVE,
  advertise: { hide: [...ECHOED, 'confidence', 'metadata', 'ttl', 'validFrom', 'validUntil'], describe: { ...FACT_FIELDS, args: 'A fact, or a pattern with "?variables" to remove every match.' } },
  description: [
    'Remove a fact, or every fact matching a pattern, from one scope or (without "scope") from every scope.',
    'Use it when something you stored is no longer true or was wrong. Returns how many facts were removed.',
    'Example: {"predicate":"plan","args":["acme","?any"]} removes every plan of acme -> {"retracted":1}.',
  ].join('\n'),
  async run(services, address, input) {
    return { retracted: await services.facts.retract(address, input) };
  },
});
