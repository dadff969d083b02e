import { z } from 'zod';

/*
 * The shapes of every reply, as zod schemas: the OpenAPI document and the MCP tools' outputSchema
 * are generated from them, and the tests parse real replies with them, so a reply that drifts
 * from its documented shape fails a test instead of surprising a client.
 */

const Term = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const EpochMs = z.number().int();
const JsonObject = z.record(z.string(), z.unknown());
const Bindings = z.record(z.string(), Term);

export const FactReply = z.object({
  predicate: z.string(),
  args: z.array(Term),
  negated: z.boolean(),
  scope: z.string(),
  version: z.number().int(),
  confidence: z.number(),
  createdAt: EpochMs,
  updatedAt: EpochMs,
  ttl: z.number().nullable(),
  expiresAt: EpochMs.nullable(),
  validFrom: EpochMs.nullable(),
  validUntil: EpochMs.nullable(),
  metadata: JsonObject.nullable(),
  $context: z.string(),
});

const DerivedReply = z.object({
  predicate: z.string(),
  args: z.array(Term),
  negated: z.literal(false),
  scope: z.string().nullable(),
  derived: z.literal(true),
  $context: z.string(),
  /** A proof tree (rule, substitution, premises); present when `withProof` was asked. */
  proof: JsonObject.optional(),
});

const AnswerFact = z.union([FactReply, DerivedReply]);

/** Which signals put a fact where it is: normalised BM25 and matched words, cosine similarity, goal, focus. */
export const WhyReply = z.object({
  text: z.number().nullable(),
  matched: z.array(z.string()),
  vector: z.number().nullable(),
  relevance: z.number(),
  goal: z.boolean().optional(),
  focus: z.boolean().optional(),
  confidence: z.number().optional(),
  recency: z.number().optional(),
  access: z.number().optional(),
});
export const SearchReply = z.object({ results: z.array(FactReply.extend({ score: z.number(), why: WhyReply })) });

export const TellReply = z.object({ told: z.number().int(), facts: z.array(FactReply) });
export const RetractReply = z.object({ retracted: z.number().int() });
export const PatchReply = z.object({ fact: FactReply });

const AggregateValue = z.union([z.number(), Term]).nullable();
export const AggregateReply = z.object({
  operation: z.enum(['COUNT', 'SUM', 'MIN', 'MAX', 'AVG', 'COUNT_DISTINCT']),
  result: AggregateValue.describe('null for MIN, MAX and AVG over no number'),
  matchedFacts: z.number().int().describe('facts (pattern) or answers (query) matched'),
  skipped: z.number().int().describe('values left out of SUM, MIN, MAX or AVG because they are not numbers'),
  groups: z.array(z.object({ key: Bindings, result: AggregateValue })).optional(),
});

/** The error envelope, as one item of a batch reply carries it. */
const ErrorItem = z.object({ code: z.string(), message: z.string(), details: JsonObject.nullable(), type: z.string() });

export const TransactionBegunReply = z.object({ transactionId: z.string() });
export const TransactionCommittedReply = z.object({ transactionId: z.string(), committed: z.literal(true), applied: z.number().int().describe('facts told or retracted, scopes forked or merged') });
export const TransactionRolledBackReply = z.object({ transactionId: z.string(), rolledBack: z.literal(true) });
/** The scopes a rule or conjunctive answer holds in (an all-scope ask is the union of each scope's answers). */
const AnswerScopes = z.array(z.string()).optional();
export const AskReply = z.object({
  results: z.array(
    z.union([
      FactReply.extend({ bindings: Bindings, scopes: AnswerScopes }),
      DerivedReply.extend({ bindings: Bindings, scopes: AnswerScopes }),
      z.object({ bindings: Bindings, scopes: AnswerScopes, facts: z.array(AnswerFact) }),
    ]),
  ),
  /** Absent on an empty answer; null on the last page. */
  cursor: z.string().nullable().optional(),
});
export const AskBatchReply = z.object({ results: z.array(z.union([AskReply, z.object({ error: ErrorItem })])) });
export const FactsPageReply = z.object({ facts: z.array(FactReply), cursor: z.string().nullable() });
export const PredicatesReply = z.object({
  predicates: z.array(
    z.object({
      name: z.string(),
      arities: z.array(z.number().int()),
      facts: z.number().int().describe('visible stored facts (a fact held by two scopes counts twice)'),
      rules: z.number().int().describe('rules whose head is this predicate'),
    }),
  ),
});

// ---- rules

const RuleView = z.object({ id: z.string(), rule: z.string(), system: z.boolean(), scope: z.string().nullable() });
const AddedRule = z.object({ id: z.string(), rule: z.string(), scope: z.string().nullable(), created: z.boolean().describe('false: the same rule already existed and is returned') });
export const TeachReply = AddedRule;
export const RulesAddedReply = z.object({ rules: z.array(AddedRule) });
export const TeachAnyReply = z.union([TeachReply, RulesAddedReply]);
export const RulesReply = z.object({ rules: z.array(RuleView) });
export const DatabaseRulesAddedReply = z.object({ rules: z.array(AddedRule.omit({ scope: true }).extend({ system: z.literal(true) })) });
export const RuleDeletedReply = z.object({ deleted: z.literal(true), id: z.string() });

// ---- scopes

export const ScopesReply = z.object({
  scopes: z.array(z.string()),
  count: z.number().int(),
  details: z.array(z.object({ name: z.string(), base: z.string().nullable(), facts: z.number().int(), createdAt: EpochMs })),
});
export const ForkReply = z.object({ scope: z.string(), base: z.string(), asOf: z.number().optional() });
const Conflict = z.object({ predicate: z.string(), args: z.array(Term), source: FactReply.nullable(), target: FactReply.nullable() });
export const ScopeDiffReply = z.object({
  source: z.string(),
  target: z.string(),
  onlyInSource: z.array(FactReply),
  onlyInTarget: z.array(FactReply),
  inBoth: z.number().int(),
  conflicts: z.array(Conflict),
  cursor: z.string().nullable(),
});
export const MergeReply = z.object({
  source: z.string(),
  target: z.string(),
  result: z.enum(['merged', 'up-to-date']),
  merged: z.number().int(),
  conflictsResolved: z.number().int(),
  strategy: z.enum(['SOURCE_WINS', 'TARGET_WINS', 'KEEP_BOTH', 'REJECT']),
  conflicts: z.array(Conflict),
});
export const ScopeDeletedReply = z.object({ deleted: z.boolean(), scope: z.string() });

// ---- context

const Entry = z.object({
  predicate: z.string(),
  args: z.array(Term),
  negated: z.boolean(),
  scope: z.string().nullable(),
  confidence: z.number(),
  createdAt: EpochMs.nullable(),
  salience: z.number(),
  provenance: z.object({ rule: z.string(), premises: z.array(z.string()) }).nullable(),
  why: WhyReply.optional(),
  $context: z.string(),
});
const Side = z.object({ scope: z.string(), confidence: z.number(), updatedAt: EpochMs });
export const WindowReply = z.object({
  windowId: z.string(),
  entries: z.array(Entry),
  totalFactsAvailable: z.number().int(),
  totalFactsIncluded: z.number().int(),
  relevantRules: z.array(z.string()),
  contradictionsFound: z.number().int(),
  contradictions: z.array(z.object({ predicate: z.string(), args: z.array(Term), positive: Side, negated: Side, included: z.enum(['positive', 'negated', 'both', 'none']) })),
  totalCharCount: z.number().int(),
});
export const WindowDiffReply = z.object({
  previousWindowId: z.string().nullable(),
  currentWindowId: z.string(),
  added: z.array(Entry),
  removed: z.array(z.object({ predicate: z.string(), args: z.array(Term), negated: z.boolean(), scope: z.string().nullable() })),
  unchanged: z.number().int(),
  fullRefreshRecommended: z.boolean(),
  reason: z.string().nullable(),
});
export const SessionClearedReply = z.object({ cleared: z.boolean(), sessionId: z.string() });

// ---- control plane

const Database = z.object({ name: z.string(), createdAt: EpochMs });
export const DatabaseCreatedReply = Database.extend({ created: z.boolean() });
export const DatabasesReply = z.object({ databases: z.array(Database) });
/** API keys a deletion changed: revoked (no grant left) or narrowed (the deleted database or tenant taken out). */
export const KeyChangesReply = z.object({ revoked: z.array(z.string()), narrowed: z.array(z.string()) });
export const DatabaseDeletedReply = z.object({ deleted: z.literal(true), name: z.string(), keys: KeyChangesReply });
export const TenantsReply = z.object({ database: z.string(), tenants: z.array(z.object({ name: z.string() })) });
export const TenantCreatedReply = z.object({ database: z.string(), name: z.string(), created: z.boolean() });
export const TenantDeletedReply = z.object({ deleted: z.literal(true), database: z.string(), name: z.string(), keys: KeyChangesReply });

export const TenantPurgedReply = z.object({
  database: z.string(),
  name: z.string(),
  purged: z.object({ facts: z.number(), history: z.number(), events: z.number(), sessions: z.number(), accessCounts: z.number() }),
});

const Grant = z.union([z.literal('*'), z.array(z.string())]);
const KeyView = z.object({
  id: z.string(),
  role: z.enum(['reader', 'writer', 'admin']),
  databases: Grant,
  tenants: Grant,
  description: z.string().nullable(),
  name: z.string().nullable(),
  expiresAt: EpochMs.nullable(),
  public: z.boolean(),
  createdAt: EpochMs,
  sandbox: z.literal(true).optional().describe('the session token of an anonymous sandbox (deleted with its tenant at expiresAt)'),
});
export const KeyCreatedReply = KeyView.extend({ key: z.string().describe('the secret, shown once') });
export const KeysReply = z.object({ keys: z.array(KeyView) });
export const ClaimIssuedReply = z.object({ claimToken: z.string().describe('one-time, shown once'), expiresAt: EpochMs });
export const ClaimedReply = z.object({ tenant: z.string(), key: z.string().describe('a writer key of the tenant, shown once') });
export const KeyRevokedReply = z.object({ revoked: z.literal(true), id: z.string() });

const Event = z.object({
  seq: z.number().int(),
  time: EpochMs,
  op: z.string(),
  actor: z.string().nullable(),
  target: z.string(),
  outcome: z.enum(['ok', 'error']),
  scope: z.string().nullable().optional(),
  details: JsonObject.optional(),
});
export const AuditReply = z.object({ events: z.array(Event), next: z.number().int() });
export const HealthReply = z.object({ status: z.literal('ok'), version: z.string(), auth: z.enum(['enabled', 'open']) });
export const ReadyReply = z.object({ ready: z.boolean(), storage: z.enum(['ok', 'full']) });
