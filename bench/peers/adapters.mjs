// Peer stores for `npm run bench:peers`, adapted from our shared/bench/peers/bench.mjs. This file
// lives in bench/peers so that its imports resolve to bench/peers/node_modules (pinned by
// bench/peers/package.json), never to Vesper's own dependencies. Same adapter shape as bench/lib/stores.ts.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const lit = (t) => (t.lit ? '"' + t.o + '"' : t.o);
const promised = (fn) => new Promise((resolve, reject) => fn((e, r) => (e ? reject(e) : resolve(r))));

export async function peerAdapter(store) {
  if (store === 'quadstore' || store === 'quadstore-closeiters') return quadstore(store === 'quadstore-closeiters');
  if (store === 'levelgraph') return levelgraph();
  throw new Error('unknown store ' + store);
}

/**
 * quadstore 15.4.1 on classic-level 3.0.0. quadstore's LevelIterator never closes the abstract-level
 * iterators it reads, so each get() leaves a native iterator (and snapshot) open until db.close();
 * 'quadstore-closeiters' is stock quadstore plus the workaround: close them after each query.
 */
async function quadstore(closeIters) {
  const { Quadstore } = await import('quadstore');
  const { ClassicLevel } = await import('classic-level');
  const { DataFactory } = await import('rdf-data-factory');
  const df = new DataFactory();
  const dg = df.defaultGraph();
  const nn = (x) => df.namedNode(x);
  const obj = (t) => (t.lit ? df.literal(t.o) : df.namedNode(t.o));
  const quad = (t) => df.quad(nn(t.s), nn(t.p), obj(t), dg);
  const opened = [];
  const closeAll = async () => {
    while (opened.length) await opened.pop().close();
  };
  let st;
  let backend;
  return {
    joinLabel: 'nested loop over get()',
    async open(dir) {
      backend = new ClassicLevel(dir);
      if (closeIters) {
        const orig = backend.iterator.bind(backend);
        backend.iterator = (o) => {
          const it = orig(o);
          opened.push(it);
          return it;
        };
      }
      st = new Quadstore({ backend, dataFactory: df });
      await st.open();
    },
    async loadBatch(ts) {
      await st.multiPut(ts.map(quad));
    },
    async insertOne(t) {
      await st.put(quad(t));
    },
    async query(t) {
      const pat = {};
      if (t.s) pat.subject = nn(t.s);
      if (t.p) pat.predicate = nn(t.p);
      if (t.o) pat.object = obj(t);
      const { items } = await st.get(pat);
      if (closeIters) await closeAll();
      return items.length;
    },
    async join(p1, o, p2) {
      const { items } = await st.get({ predicate: nn(p1), object: obj(o) });
      let n = 0;
      for (const it of items) n += (await st.get({ subject: it.subject, predicate: nn(p2) })).items.length;
      if (closeIters) await closeAll();
      return n;
    },
    levels: () => [backend],
    close: () => st.close(),
  };
}

/**
 * levelgraph 4.0.0 needs callbacks, which abstract-level ≥ 2 dropped: it runs on level@8
 * (classic-level 1.4.1), installed as the alias level8. join = its default planner
 * (joinAlgorithm 'sort'), joinAlt = joinAlgorithm 'basic' (nested loop).
 */
async function levelgraph() {
  const levelgraphFactory = require('levelgraph');
  const { Level } = require('level8');
  const tr = (t) => ({ subject: t.s, predicate: t.p, object: lit(t) });
  let db;
  let dbBasic;
  let ldb;
  const search = (g, p1, o, p2) =>
    promised((cb) =>
      g.search(
        [
          { subject: g.v('x'), predicate: p1, object: lit(o) },
          { subject: g.v('x'), predicate: p2, object: g.v('y') },
        ],
        cb,
      ),
    ).then((r) => r.length);
  return {
    joinLabel: "search(), joinAlgorithm 'sort' (default)",
    joinAltLabel: "search(), joinAlgorithm 'basic'",
    async open(dir) {
      ldb = new Level(dir);
      await ldb.open();
      db = levelgraphFactory(ldb);
      dbBasic = levelgraphFactory(ldb, { joinAlgorithm: 'basic' });
    },
    async loadBatch(ts) {
      await promised((cb) => db.put(ts.map(tr), cb));
    },
    async insertOne(t) {
      await promised((cb) => db.put(tr(t), cb));
    },
    async query(t) {
      const pat = {};
      if (t.s) pat.subject = t.s;
      if (t.p) pat.predicate = t.p;
      if (t.o) pat.object = lit(t);
      return (await promised((cb) => db.get(pat, cb))).length;
    },
    join: (p1, o, p2) => search(db, p1, o, p2),
    joinAlt: (p1, o, p2) => search(dbBasic, p1, o, p2),
    levels: () => [ldb],
    close: () => ldb.close(),
  };
}
