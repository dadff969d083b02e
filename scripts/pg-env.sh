# Shared settings of pg-up.sh and pg-down.sh (sourced, not run).
# A local PostgreSQL primary plus a streaming replica for tests and trying Vesper out:
# loopback only, trust authentication, data in $VESPER_PG_DIR (default <repo>/.pg, gitignored).
set -eu
REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
PG_DIR=${VESPER_PG_DIR:-$REPO_DIR/.pg}
PG_PORT=${VESPER_PG_PORT:-54321}
PG_REPLICA_PORT=${VESPER_PG_REPLICA_PORT:-54322}
PG_USER=vesper
PG_DATABASE=vesper

pg_bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# PostgreSQL refuses to run as root: as root, every server command runs as the `postgres` system user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

is_running() { # $1 = data directory
  [ -f "$1/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$1" status >/dev/null 2>&1
}
