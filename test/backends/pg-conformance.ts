// abstract-level's own conformance suite (tape) against PostgresLevel: `npm run test:pg-conformance`
// after `npm run pg:up` (or with VESPER_TEST_PG_URL pointing at any PostgreSQL-protocol server).
// Every database of the run is a table named with a prefix of its own, dropped at the end.
import suite from 'abstract-level/test';
import test from 'tape';
import { PgClient } from '../../src/store/backends/pg-client.js';
import { PostgresLevel } from '../../src/store/backends/postgres-level.js';
import { LOCAL_PG_URL, dropTablesWithPrefix } from './pg-fixtures.js';

const url = process.env.VESPER_TEST_PG_URL || LOCAL_PG_URL;
const prefix = `conf_${Date.now().toString(36)}_`;
// The suite checks behaviour, not durability: commits need not wait for the WAL flush (10 ms each here).
// It holds 100 explicit snapshots at once, each a transaction on its own connection (pg:up allows 200).
const client = new PgClient({ url, tablePrefix: prefix, poolSize: 8, snapshotPoolSize: 110, synchronousCommit: false });
let databases = 0;

suite({ test, factory: (options) => new PostgresLevel(client, `db${databases++}`, options) });

test.onFinish(() => {
  void dropTablesWithPrefix(client, prefix).finally(() => client.end());
});
