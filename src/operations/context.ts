import { ClearSessionSchema, ContextDiffSchema, OptimizeSchema } from '../contract/context.js';
import { SessionClearedReply, WindowDiffReply, WindowReply } from '../contract/replies.js';
import { contextUri } from '../service/address.js';
import { presentDiff, presentWindow } from '../service/replies.js';
import { tenantOperation } from './define.js';

const WINDOW_FIELDS = {
  scope: 'Only facts of this scope; omit for every scope.',
  maxFacts: "At most this many facts (default: the tenant's contextMaxFacts setting, 25 unless configured).",
  predicates: 'Predicates to focus on; they rank higher.',
  goals: 'Patterns you are trying to answer, e.g. [{"predicate":"eligible","args":["?c"]}]: facts their proofs use rank first.',
  maxFactsPerPredicate: 'Cap per predicate, so one predicate cannot fill the window.',
  includeContradictions: 'Keep both sides of a contradiction (default false).',
};

/** A window counts toward the access frequency of its facts and may become a session's: a write, never destructive. */
const BUILDS_WINDOW = { readOnly: false, destructive: false, idempotent: false } as const;

export const contextOptimize = tenantOperation({
  name: 'contextOptimize',
  heavy: true,
  method: 'POST',
  path: '/context/optimize',
  summary: 'The most relevant facts for an agent, best first (remembered for sessionId)',
  access: { on: 'tenant', permission: 'context.read' },
  input: OptimizeSchema,
  output: WindowReply,
  effects: BUILDS_WINDOW,
  async handler(input, address, { services }) {
    const maxFacts = input.maxFacts ?? (await services.settings.forTenant(address.database, address.tenant)).contextMaxFacts;
    return presentWindow(await services.context.optimize(address, { ...input, maxFacts }), contextUri(address));
  },
  tool: {
    name: 'context_optimize',
    title: 'Build a context window',
    describe: { ...WINDOW_FIELDS, sessionId: 'Remember this window for the session, so context_diff can send only what changed.' },
    description: [
      'Pick the most relevant facts of this tenant for your current task, best first: what a goal\'s proof uses, focused predicates, confidence, recency, access frequency.',
      'Use it at the start of a task to load a compact working memory instead of asking predicate by predicate.',
      'Example: {"maxFacts":25,"predicates":["plan"],"goals":[{"predicate":"eligible","args":["?c"]}],"sessionId":"thread-42"} -> {"windowId":"ctx_...","entries":[...],"totalFactsAvailable":120,...}.',
    ].join('\n'),
  },
});

export const contextDiff = tenantOperation({
  name: 'contextDiff',
  heavy: true,
  method: 'POST',
  path: '/context/diff',
  summary: "What changed since the session's last window; the new window becomes the session's",
  access: { on: 'tenant', permission: 'context.read' },
  input: ContextDiffSchema,
  output: WindowDiffReply,
  effects: BUILDS_WINDOW,
  async handler(input, address, { services }) {
    const maxFacts = input.maxFacts ?? (await services.settings.forTenant(address.database, address.tenant)).contextMaxFacts;
    return presentDiff(await services.context.diff(address, { ...input, maxFacts }), contextUri(address));
  },
  tool: {
    name: 'context_diff',
    title: 'Update a context window',
    describe: { ...WINDOW_FIELDS, sessionId: 'The session whose last window to compare with (required).' },
    description: [
      'Rebuild the context window of a session and return only what changed since the session was last sent one: added entries, removed facts, and how many are unchanged.',
      'Use it on later turns of a conversation to keep your working memory current cheaply. An unknown session returns everything as added with fullRefreshRecommended true.',
      'Example: {"sessionId":"thread-42","maxFacts":25} -> {"added":[...],"removed":[...],"unchanged":20,"fullRefreshRecommended":false}.',
    ].join('\n'),
  },
});

export const contextClear = tenantOperation({
  name: 'contextSessionClear',
  method: 'POST',
  path: '/context/session/clear',
  summary: 'Forget what a context session was last sent',
  access: { on: 'tenant', permission: 'context.read' },
  input: ClearSessionSchema,
  output: SessionClearedReply,
  effects: { readOnly: false, destructive: true, idempotent: true },
  async handler({ sessionId }, address, { services }) {
    return { cleared: await services.context.clearSession(address, sessionId), sessionId };
  },
  tool: {
    name: 'context_clear',
    title: 'Forget a context session',
    describe: { sessionId: 'The session to forget.' },
    description: [
      'Forget what a context session was last sent, so the next context_diff starts from scratch. Facts are not touched.',
      'Example: {"sessionId":"thread-42"} -> {"cleared":true,"sessionId":"thread-42"}.',
    ].join('\n'),
  },
});
