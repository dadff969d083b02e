// The tenant's key filter lets writes skip reading facts that cannot exist; it must never hide one that does.
import test from 'ava';
import { KeyFilter } from '../../src/store/key-filter.js';
import { fact, memoryCatalog } from './support.js';

test('KeyFilter › every key added › is reported as maybe present, across stage growth', (t) => {
  const filter = new KeyFilter();
  for (let i = 0; i < 50_000; i++) filter.add(`X\0p\0${i}`);
  let missing = 0;
  for (let i = 0; i < 50_000; i++) if (!filter.mightContain(`X\0p\0${i}`)) missing++;
  t.is(missing, 0);
  let falsePositives = 0;
  for (let i = 0; i < 10_000; i++) if (filter.mightContain(`X\0q\0${i}`)) falsePositives++;
  t.true(falsePositives < 500, `${falsePositives} false positives in 10,000`);
});

test('tell › facts that exist, seen by a new handle whose filter was built from disk › are upserted and contradictions still refused', async (t) => {
  const { catalog, background } = await memoryCatalog({ tenantHandles: { max: 1, idleMs: 0 } });
  const database = (await catalog.forWrite('default')).database;
  const now = Date.now();
  await database.tenant('t').tell([fact('p', 'a'), { ...fact('n', 'x'), negated: true }], now);
  await database.tenant('u').tell([fact('p', 'other')], now); // drops the handle of t
  const fresh = database.tenant('t');
  await fresh.tell([fact('q', 'warm-up')], now); // starts the scan that builds the filter
  await background.idle();
  const [again] = await fresh.tell([fact('p', 'a')], now);
  t.is(again?.version, 2);
  await t.throwsAsync(fresh.tell([fact('n', 'x')], now), { message: /contradiction/ });
  const [brandNew] = await fresh.tell([fact('p', 'never-seen')], now);
  t.is(brandNew?.version, 1);
  await catalog.close();
});
