import { ClearSessionSchema, ContextDiffSchema, OptimizeSchema } from '../../contract/context.js';
import { presentDiff, presentWindow } from '../../service/replies.js';
import { contextUri } from '../../service/address.js';
import { READ_ONLY, WRITE, defineTool } from './define.js';

const WINDOW_FIELDS = {
  scope: 'Only facts of this scope; omit for every scope.',
  maxFacts: 'At most this many facts (default 25).',
  predicates: 'Predicates to focus on; they rank higher.',
  goals: 'Patterns you are trying to answer, e.g. [{"predicate":"eligible","args":["?c"]}]: facts their proofs use rank first.',
  maxFactsPerPredicate: 'Cap per predicate, so one predicate cannot fill the window.',
  includeContradictions: 'Keep both sides of a contradiction (default false).',
};

export const contextOptimize = defineTool({
  name: 'context_optimize',
  title: 'Build a context window',
  operation: 'context.read',
  schema: OptimizeSchema,
  annotations: READ_ONLY,
  advertise: { describe: { ...WINDOW_FIELDS, sessionId: 'Remember this window for the session, so context_diff can send only what changed.' } },
  description: [
    'Pick the most relevant facts of this tenant for your current task, best first: what a goal\'s proof uses, focused predicates, confidence, recency, access frequency.',
    'Use it at the start of a task to load a compact working memory instead of asking predicate by predicate.',
    'Example: {"maxFacts":25,"predicates":["plan"],"goals":[{"predicate":"eligible","args":["?c"]}],"sessionId":"thread-42"} -> {"windowId":"ctx_...","entries":[...],"totalFactsAvailable":120,...}.',
  ].join('\n'),
  async run(services, address, input) {
    return presentWindow(await services.context.optimize(address, input), contextUri(address));
  },
});

export const contextDiff = defineTool({
  name: 'context_diff',
  title: 'Update a context window',
  operation: 'context.read',
  schema: ContextDiffSchema,
  annotations: READ_ONLY,
  advertise: { describe: { ...WINDOW_FIELDS, sessionId: 'The session whose last window to compare with (required).' } },
  description: [
    'Rebuild the context window of a session and return only what changed since the session was last sent one: added entries, removed facts, and how many are unchanged.',
    'Use it on later turns of a conversation to keep your working memory current cheaply. An unknown session returns everything as added with fullRefreshRecommended true.',
    'Example: {"sessionId":"thread-42","maxFacts":25} -> {"added":[...],"removed":[...],"unchanged":20,"fullRefreshRecommended":false}.',
  ].join('\n'),
  async run(services, address, input) {
    return presentDiff(await services.context.diff(address, input), contextUri(address));
  },
});

export const contextClear = defineTool({
  name: 'context_clear',
  title: 'Forget a context session',
  operation: 'context.read',
  schema: ClearSessionSchema,
  annotations: WRITE,
  advertise: { describe: { sessionId: 'The session to forget.' } },
  description: [
    'Forget what a context session was last sent, so the next context_diff starts from scratch. Facts are not touched.',
    'Example: {"sessionId":"thread-42"} -> {"cleared":true,"sessionId":"thread-42"}.',
  ].join('\n'),
  async run(services, address, { sessionId }) {
    return { cleared: await services.context.clearSession(address, sessionId), sessionId };
  },
});
