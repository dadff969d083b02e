// What one tell writes: every op of its batch has a reason (each costs the serving path a native
// conversion, a write-ahead log append and compaction), and what is not written stays right.
import test from 'ava';
import { MAIN_SCOPE } from '../../src/domain/fact.js';
import { counterKey } from '../../src/encoding/control-keys.js';
import { forkScope } from '../../src/scopes/lifecycle.js';
import { fact, rawEntries, toldTenant } from './support.js';

/** The ops of the next batches, as `kind` strings: the key up to its second separator (a key kind and its sub-kind). */
function recordOps(level: { hooks: { prewrite: { add(hook: (op: { type: string; key: unknown }) => void): void } } }): string[] {
  const seen: string[] = [];
  level.hooks.prewrite.add((op) => {
    const parts = String(op.key).split('\u0000');
    seen.push(`${op.type} ${parts.slice(0, 2).join('/')}`);
  });
  return seen;
}

const setup = () => toldTenant([fact('warm', 'up')]);

test('tell › a new fact into a tenant already written › writes its indexes, history, text index, counts and event, and no unchanged counter', async (t) => {
  const { catalog, tenant, level, now } = await setup();
  const ops = recordOps(level);
  await tenant.tell([fact('seen', 'w1', 7)], now + 1);
  t.deepEqual(ops.sort(), [
    'put C/bytes', // quota bytes
    'put E/00000000002', // the event
    'put H/0', // the history version
    'put N/0', // the layer's fact count
    'put Q/t', // the tenant's event counter (META)
    'put W/d', // text document
    'put W/p', // postings: "seen", "w1"
    'put W/p',
    'put W/s', // text statistics of the layer
    'put X/seen', // the two fact indexes
    'put X/seen',
  ]);
  await catalog.close();
});

test('tell › the layer counter › is written when a layer is allocated, and always covers the layers in use', async (t) => {
  const { catalog, tenant, level, now } = await setup();
  const ops = recordOps(level);
  await tenant.transaction(now, async (tx) => void forkScope(tx.scopes, MAIN_SCOPE, 'fork', now));
  t.true(ops.includes('put C/layer'), 'the fork allocated layers: the counter moved');
  ops.length = 0;
  await tenant.tell([{ ...fact('p', 'in-fork'), scope: 'fork' }, fact('p', 'in-main')], now + 1);
  t.false(ops.includes('put C/layer'), 'no layer allocated: the counter is not rewritten');
  await tenant.tell([{ ...fact('p', 'new-scope'), scope: 'brand-new' }], now + 2);
  const raw = new Map(await rawEntries(level));
  const counter = Number(raw.get(`!t!${counterKey('layer')}`));
  const inUse = [...(await tenant.scopes(now + 3)).layerUse().keys()];
  t.true(inUse.length >= 4, `layers in use: ${inUse.join(',')}`);
  t.true(counter > Math.max(...inUse), `stored counter ${counter} is past every layer in use (${inUse.join(',')})`);
  await catalog.close();
});
