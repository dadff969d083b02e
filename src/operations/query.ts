import { envelope } from '../contract/envelope.js';
import { parseInput } from '../contract/parse.js';
import { AggregateSchema, AskBatchSchema, AskSchema } from '../contract/query.js';
import { AggregateReply, AskBatchReply } from '../contract/replies.js';
import { VesperError } from '../domain/errors.js';
import { contextUri } from '../service/address.js';
import { presentAsk } from '../service/replies.js';
import { READS, tenantOperation } from './define.js';

export const aggregate = tenantOperation({
  name: 'aggregate',
  heavy: true,
  method: 'POST',
  path: '/aggregate',
  summary: 'COUNT, SUM, MIN, MAX, AVG or COUNT_DISTINCT over a pattern or a query, with rules, optionally grouped',
  access: { on: 'tenant', permission: 'ask' },
  input: AggregateSchema,
  output: AggregateReply,
  effects: READS,
  async handler(input, address, { services, signal }) {
    return await services.query.aggregate(address, input, signal === undefined ? {} : { signal });
  },
  tool: {
    name: 'aggregate',
    title: 'Count, sum, min, max, average',
    describe: {
      predicate: 'The pattern\'s relation (with "args"); or give "query" instead.',
      args: 'Pattern arguments: constants and "?variables". No args matches facts with no arguments only.',
      argIndex: 'Position (from 0) of the argument whose values are folded (not needed for COUNT).',
      query: 'A conjunctive query (patterns sharing variables), instead of one pattern.',
      not: 'Patterns that must NOT hold, with "query".',
      variable: 'With "query": the variable, without "?", whose values are folded (not needed for COUNT).',
      operation: 'COUNT, SUM, MIN, MAX, AVG or COUNT_DISTINCT. Values that are not numbers are skipped (and counted in "skipped") by SUM, MIN, MAX and AVG.',
      groupBy: 'Variable names (without "?") to group by: one result per distinct combination, in "groups".',
      scope: 'Only this scope; omit for every scope (a fact in several scopes counts once).',
      infer: 'Include facts derived by rules (default true).',
    },
    description: [
      'Compute one number over the facts matching a pattern, or the answers of a conjunctive query, including facts derived by rules.',
      'Use it instead of asking for every fact and adding them up yourself.',
      'Example: {"predicate":"salary","args":["?p","?dept","?amount"],"argIndex":2,"operation":"AVG","groupBy":["dept"]} -> {"operation":"AVG","result":5200,"matchedFacts":3,"skipped":0,"groups":[{"key":{"dept":"eng"},"result":6000},...]}.',
    ].join('\n'),
  },
});

export const askBatch = tenantOperation({
  name: 'askBatch',
  heavy: true,
  method: 'POST',
  path: '/ask/batch',
  summary: 'Several asks against one snapshot, each with its own result or error',
  access: { on: 'tenant', permission: 'ask' },
  input: AskBatchSchema,
  output: AskBatchReply,
  effects: READS,
  async handler({ queries }, address, { services, signal }) {
    const bodies = queries.map((query, i) => {
      try {
        return parseInput(AskSchema, query, `queries.${i}`);
      } catch (error) {
        if (error instanceof VesperError) return error;
        throw error;
      }
    });
    const answers = await services.query.askBatch(address, bodies, signal === undefined ? {} : { signal });
    const context = contextUri(address);
    return {
      results: answers.map((answer) => (answer instanceof VesperError ? { error: envelope(answer.code, answer.message, answer.details) } : presentAsk(answer, context))),
    };
  },
  tool: {
    name: 'ask_batch',
    title: 'Several queries at once',
    describe: { queries: 'Up to 100 queries, each what the ask tool takes.' },
    description: [
      'Run several asks in one call, all against the same state; each gets its own result, or an "error" if that one query is wrong (the others are still answered).',
      'Use it to look up several things at once.',
      'Example: {"queries":[{"predicate":"plan","args":["acme","?tier"]},{"predicate":"seats","args":["acme","?n"]}]} -> {"results":[{"results":[...]},{"results":[...]}]}.',
    ].join('\n'),
  },
});
