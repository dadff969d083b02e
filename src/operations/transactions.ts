import { z } from 'zod';
import { TransactionBegunReply, TransactionCommittedReply, TransactionRolledBackReply } from '../contract/replies.js';
import { tenantOperation } from './define.js';

const TransactionPath = z.strictObject({ id: z.string().min(1).max(128) });

export const txBegin = tenantOperation({
  name: 'txBegin',
  method: 'POST',
  path: '/tx/begin',
  summary: 'Open a transaction: writes naming it are buffered until its commit',
  access: { on: 'tenant', permission: 'tell' },
  input: z.strictObject({}),
  output: TransactionBegunReply,
  effects: { readOnly: false, destructive: false, idempotent: false },
  status: 201,
  async handler(_input, address, { services, principal }) {
    return await services.transactions.begin(address, principal);
  },
  tool: {
    name: 'tx_begin',
    title: 'Open a transaction',
    description: [
      'Open a transaction in this tenant. Pass the returned transactionId to tell, retract, fork_scope, merge_scopes (buffered, answered as if applied) and to ask, list_facts (they see the buffered writes); then tx_commit applies everything at once, or tx_rollback drops it.',
      'Use it when several writes must happen all together or not at all, or only if what you read has not changed meanwhile.',
      'Example: {} -> {"transactionId":"tx_..."}.',
    ].join('\n'),
  },
});

export const txCommit = tenantOperation({
  name: 'txCommit',
  method: 'POST',
  path: '/tx/{id}/commit',
  summary: 'Apply a transaction atomically, if nothing it read has changed (409 TRANSACTION_CONFLICT otherwise)',
  access: { on: 'tenant', permission: 'tell' },
  input: TransactionPath,
  output: TransactionCommittedReply,
  effects: { readOnly: false, destructive: true, idempotent: false },
  audit: 'tell',
  async handler({ id }, address, { services, principal }) {
    return await services.transactions.commit(address, principal, id);
  },
  tool: {
    name: 'tx_commit',
    title: 'Commit a transaction',
    describe: { id: 'The transactionId tx_begin returned.' },
    description: [
      'Apply every write of the transaction in one atomic step. Fails with TRANSACTION_CONFLICT (naming the facts) if something the transaction read changed since, or CONFLICT on a contradiction; then nothing is applied and the transaction is over.',
      'Example: {"id":"tx_..."} -> {"transactionId":"tx_...","committed":true,"applied":2}.',
    ].join('\n'),
  },
});

export const txRollback = tenantOperation({
  name: 'txRollback',
  method: 'POST',
  path: '/tx/{id}/rollback',
  summary: 'Drop a transaction and everything it buffered',
  access: { on: 'tenant', permission: 'tell' },
  input: TransactionPath,
  output: TransactionRolledBackReply,
  effects: { readOnly: false, destructive: false, idempotent: false },
  async handler({ id }, address, { services, principal }) {
    return await services.transactions.rollback(address, principal, id);
  },
  tool: {
    name: 'tx_rollback',
    title: 'Roll back a transaction',
    describe: { id: 'The transactionId tx_begin returned.' },
    description: ['Drop the transaction: none of its writes is applied.', 'Example: {"id":"tx_..."} -> {"transactionId":"tx_...","rolledBack":true}.'].join('\n'),
  },
});
