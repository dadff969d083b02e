import { z } from 'zod';
import { NameSchema } from '../contract/facts.js';
import { ClaimIssuedReply, ClaimedReply } from '../contract/replies.js';
import { NotFoundError } from '../domain/errors.js';
import type { Services } from '../service/services.js';
import { controlOperation } from './define.js';

/* Progressive access: an admin issues a claim token; its holder turns a sandbox into a permanent tenant. */

function sandboxOf(services: Services) {
  if (!services.sandbox.enabled) throw new NotFoundError('sandboxes are not enabled on this server (VESPER_SANDBOX=1)');
  return services.sandbox;
}

export const issueClaim = controlOperation({
  name: 'issueClaim',
  method: 'POST',
  path: '/admin/claims',
  summary: 'Issue a one-time claim token (shown once) that turns a sandbox into a permanent tenant',
  access: { on: 'service', permission: 'admin.global' },
  input: z.strictObject({}),
  output: ClaimIssuedReply,
  effects: { readOnly: false, destructive: false, idempotent: false },
  status: 201,
  async handler(_input, { services }) {
    return sandboxOf(services).issueClaim();
  },
});

export const claimSandbox = controlOperation({
  name: 'claimSandbox',
  method: 'POST',
  path: '/claim',
  summary: 'Turn a sandbox into a permanent tenant (data kept; moved to `tenant` when given); returns a writer key, shown once',
  // No key: the sandbox token and the claim token are the credentials.
  access: { on: 'public' },
  input: z.strictObject({
    sandboxToken: z.string().min(1).max(200),
    claimToken: z.string().min(1).max(200),
    tenant: NameSchema.optional(),
  }),
  output: ClaimedReply,
  effects: { readOnly: false, destructive: true, idempotent: false },
  status: 201,
  async handler({ sandboxToken, claimToken, tenant }, { services }) {
    return sandboxOf(services).claim(sandboxToken, claimToken, tenant);
  },
});
