#!/bin/sh
# npm run test:pg — the PostgreSQL backend's tests: start the local primary and replica (pg:up), run
# abstract-level's conformance suite and Vesper's store, scope, rule, context, key/security, event
# and HTTP isolation suites with every test server on PostgreSQL, and test/pg/ (two server processes
# on the same tables), then stop both (pg:down), whatever the outcome. Each run gets a fresh database. `npm run test:pg -- --all` runs every test file on
# PostgreSQL instead of the CI subset (too slow for CI on 2 cores: ~3× the subset).
. "$(dirname "$0")/pg-env.sh"
cd "$REPO_DIR"

# The CI subset: one or more files of each suite the issue names (LevelDB-only tests skip themselves).
SUBSET="test/backends/
test/store/transaction.test.ts test/store/coalesce.test.ts test/store/flatten.test.ts test/store/check.test.ts test/store/tenant-handles.test.ts
test/scopes/layers.test.ts test/scopes/merge-table.test.ts
test/rules/rules-http.test.ts
test/context/sessions.test.ts test/context/restart.test.ts
test/security/matrix.test.ts test/security/tenants.test.ts test/security/databases.test.ts test/security/isolation-concurrency.test.ts test/security/tenant-deletion-keys.test.ts
test/events/
test/http/isolation.test.ts test/http/history.test.ts test/http/transactions.test.ts test/http/aggregate-batch-patch.test.ts test/policies/export-import.test.ts
test/pg/"
if [ "${1:-}" = --all ]; then FILES=; else FILES=$SUBSET; fi

sh scripts/pg-up.sh
trap 'sh scripts/pg-down.sh' EXIT
BIN=$(pg_bin_dir)
TEST_DB=vesper_test
"$BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qtA \
  -c "DROP DATABASE IF EXISTS $TEST_DB WITH (FORCE)" -c "CREATE DATABASE $TEST_DB"
export VESPER_TEST_BACKEND=postgres
export VESPER_TEST_PG_URL="postgres://$PG_USER@127.0.0.1:$PG_PORT,127.0.0.1:$PG_REPLICA_PORT/$TEST_DB"
# shellcheck disable=SC2086 # the file list is meant to split
npx ava $FILES
