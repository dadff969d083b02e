import { SearchSchema } from '../contract/search.js';
import { presentFact } from '../contract/present.js';
import { SearchReply } from '../contract/replies.js';
import { contextUri } from '../service/address.js';
import { READS, tenantOperation } from './define.js';

const round = (value: number) => Math.round(value * 1e6) / 1e6;

export const search = tenantOperation({
  name: 'search',
  method: 'POST',
  path: '/search',
  summary: 'The facts most relevant to a text (BM25) and/or a vector (cosine), best first',
  access: { on: 'tenant', permission: 'ask' },
  input: SearchSchema,
  output: SearchReply,
  effects: READS,
  async handler(input, address, { services }) {
    const context = contextUri(address);
    const results = (await services.search.search(address, input)).map((s) => ({
      ...presentFact(s.fact, context),
      score: round(s.relevance),
      why: { text: s.text === null ? null : round(s.text), matched: [...s.matched], vector: s.vector === null ? null : round(s.vector), relevance: round(s.relevance) },
    }));
    return { results };
  },
  tool: {
    name: 'search',
    title: 'Search facts by relevance',
    describe: {
      query: 'Free text, e.g. "billing outage": words of predicates, string args and string metadata values match (stemmed; user-42, billing_outage and billingOutage are split).',
      queryEmbedding: 'A vector computed by you with the same model as the facts\' "embedding" values; ranks by cosine similarity.',
      limit: 'At most this many results (default 10, at most 1000).',
      scope: 'Only facts of this scope; omit for every scope.',
    },
    description: [
      'Find the facts most relevant to a question when you do not know the predicate or the exact arguments.',
      'Each result says why: the normalised text score and the words it matched, the vector similarity.',
      'Example: {"query":"billing outage","limit":5} -> {"results":[{"predicate":"incident","args":["inc-7","billing_outage"],...,"score":1,"why":{"text":1,"matched":["bill","outag"],"vector":null,"relevance":1}}]}.',
    ].join('\n'),
  },
});
