import test from 'ava';
import { excerpt } from '../../src/domain/excerpt.js';
import { depthExceeds } from '../../src/http/json-depth.js';

const nest = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
};

test('depthExceeds › counts objects and arrays alike, without recursion', (t) => {
  t.false(depthExceeds(nest(10), 10));
  t.true(depthExceeds(nest(11), 10));
  t.false(depthExceeds({ a: 1, b: [1, 2], c: { d: null } }, 2));
  t.true(depthExceeds(nest(200_000), 100), 'a very deep value does not overflow the stack');
  t.false(depthExceeds('text', 1));
});

test('excerpt › cuts strings, depth and width', (t) => {
  t.is(excerpt('x'.repeat(500)), `${'x'.repeat(100)}…`);
  t.true(JSON.stringify(excerpt(nest(5000))).length < 200);
  const wide = excerpt(Array.from({ length: 1000 }, (_, i) => i)) as unknown[];
  t.is(wide.length, 21);
  t.is(wide[20], '… 980 more');
  t.deepEqual(excerpt({ a: 1, b: 'two' }), Object.assign(Object.create(null), { a: 1, b: 'two' }));
});
