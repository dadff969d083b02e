// Run as a child process by flatten-crash.test.ts: build a deep chain in a classic-level database,
// hold a reader open (so the retired layers cannot be collected), flatten, say so, and wait to be killed.
import { ClassicLevel } from 'classic-level';
import { MAIN_SCOPE } from '../../src/domain/fact.js';
import { flattenDeepChains } from '../../src/scopes/flatten.js';
import { deleteScope, forkScope } from '../../src/scopes/lifecycle.js';
import { Catalog } from '../../src/store/catalog.js';
import type { LevelDb } from '../../src/store/level-types.js';
import { fact } from './support.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: flatten-child.ts <dataDir>');
const catalog = await Catalog.open({
  dataDir,
  durability: { syncEveryWrite: true, groupCommitMs: 0 },
  strictDatabases: false,
  openLevel: (location) => new ClassicLevel<string, string>(location) as unknown as LevelDb,
});
const tenant = (await catalog.forWrite('default')).database.tenant('t');
const now = Date.now();
await tenant.tell(Array.from({ length: 50 }, (_, i) => fact('p', `base${i}`)), now);
for (let round = 0; round < 12; round++) {
  await tenant.transaction(now, async (tx) => void forkScope(tx.scopes, MAIN_SCOPE, `child${round}`, now));
  await tenant.tell([fact('p', `round${round}`)], now);
  await tenant.retract(MAIN_SCOPE, { predicate: 'p', args: [`base${round}`], negated: false }, now);
  await tenant.transaction(now, async (tx) => deleteScope(tx, `child${round}`));
}
await tenant.read(now, async () => {
  const flattened = await flattenDeepChains(tenant, now);
  process.stdout.write(`swapped ${flattened}\n`);
  await new Promise(() => undefined); // hold the reader until killed
});
