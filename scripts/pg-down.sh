#!/bin/sh
# npm run pg:down — stop the replica and the primary started by pg:up (data is kept in .pg/;
# `npm run pg:down -- --purge` also deletes it).
. "$(dirname "$0")/pg-env.sh"

BIN=$(pg_bin_dir)
[ -n "$BIN" ] || { echo "pg:down: PostgreSQL is not installed; nothing to stop"; exit 0; }
for node in replica primary; do
  if is_running "$PG_DIR/$node"; then
    as_owner "$BIN/pg_ctl" -D "$PG_DIR/$node" -m fast -w stop >/dev/null
    echo "pg:down: stopped the $node"
  fi
done
if [ "${1:-}" = --purge ]; then
  rm -rf "$PG_DIR"
  echo "pg:down: deleted $PG_DIR"
fi
