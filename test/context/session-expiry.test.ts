import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { MemoryLevel } from 'memory-level';
import type { FactInput } from '../../src/domain/fact.js';
import { ContextService } from '../../src/service/context/context-service.js';
import { RuleService } from '../../src/service/rules.js';
import { Catalog } from '../../src/store/catalog.js';
import type { LevelDb } from '../../src/store/level-types.js';

const fact = (name: string): FactInput => ({
  predicate: 'item',
  args: [name],
  negated: false,
  scope: 'main',
  confidence: 1,
  ttl: null,
  validFrom: null,
  validUntil: null,
  metadata: null,
});

const request = { maxFacts: 25, predicates: [], goals: [], includeContradictions: false, sessionId: 'idle' };

test('ContextService › a session idle for longer than sessionIdleMs is unknown, and cannot be cleared', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vesper-ctx-'));
  const catalog = await Catalog.open({
    dataDir,
    durability: { syncEveryWrite: false, groupCommitMs: 0 },
    strictDatabases: false,
    openLevel: () => new MemoryLevel<string, string>() as unknown as LevelDb,
  });
  t.teardown(async () => {
    await catalog.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  let now = 1_000_000;
  const clock = () => now;
  const context = new ContextService(catalog, clock, new RuleService(catalog, clock), { sessionIdleMs: 1000 });
  const address = { database: 'default', tenant: 'idle_tenant' };
  await (await catalog.forWrite('default')).database.tenant('idle_tenant').tell([fact('a'), fact('b')], now);

  t.is((await context.diff(address, request)).reason, 'no previous session found');
  now += 1000;
  const kept = await context.diff(address, request);
  t.not(kept.previousWindowId, null, 'exactly the idle time: still live');
  t.is(kept.unchanged, 2);
  now += 1001;
  const expired = await context.diff(address, request);
  t.is(expired.previousWindowId, null);
  t.is(expired.reason, 'no previous session found');
  now += 1001;
  t.false(await context.clearSession(address, 'idle'));
  now += 1;
  t.is((await context.diff(address, request)).previousWindowId, null);
});
