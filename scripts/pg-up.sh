#!/bin/sh
# npm run pg:up — start a local PostgreSQL primary (port $VESPER_PG_PORT, default 54321) and a
# streaming replica (port $VESPER_PG_REPLICA_PORT, default 54322) on 127.0.0.1. Idempotent: what
# already exists or runs is kept. VESPER_PG_SYNC=1 makes the replication synchronous.
# Installs Debian's postgresql package with apt when no server is found.
. "$(dirname "$0")/pg-env.sh"

BIN=$(pg_bin_dir)
if [ -z "$BIN" ]; then
  echo "pg:up: PostgreSQL is not installed; installing Debian's postgresql package with apt-get" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql
  BIN=$(pg_bin_dir)
fi

PRIMARY=$PG_DIR/primary
REPLICA=$PG_DIR/replica
SOCKETS=$PG_DIR/run
mkdir -p "$PG_DIR" "$SOCKETS"
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_DIR" "$SOCKETS"; fi
chmod 700 "$PG_DIR"

if [ ! -f "$PRIMARY/PG_VERSION" ]; then
  echo "pg:up: initialising the primary in $PRIMARY"
  as_owner "$BIN/initdb" -D "$PRIMARY" -U "$PG_USER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log"
  cat >>"$PRIMARY/postgresql.conf" <<CONF
# vesper pg:up
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SOCKETS'
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
hot_standby = on
max_connections = 200
CONF
  # Loopback only, trust: a development and test setup, never a deployment.
  cat >"$PRIMARY/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 trust
host replication $PG_USER 127.0.0.1/32 trust
HBA
fi

# Asynchronous until the replica runs: with synchronous_standby_names set and no standby yet, the
# CREATE DATABASE below would wait for one forever. The setting is applied at the end.
sed -i '/^synchronous_standby_names/d' "$PRIMARY/postgresql.conf"
echo "synchronous_standby_names = ''" >>"$PRIMARY/postgresql.conf"

if is_running "$PRIMARY"; then
  as_owner "$BIN/pg_ctl" -D "$PRIMARY" reload >/dev/null
else
  as_owner "$BIN/pg_ctl" -D "$PRIMARY" -l "$PG_DIR/primary.log" -w start >/dev/null
fi

PSQL="$BIN/psql -h 127.0.0.1 -p $PG_PORT -U $PG_USER -v ON_ERROR_STOP=1 -qtA"
if [ "$($PSQL -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]; then
  $PSQL -d postgres -c "CREATE DATABASE $PG_DATABASE"
fi

if [ ! -f "$REPLICA/PG_VERSION" ]; then
  echo "pg:up: cloning the replica into $REPLICA"
  $PSQL -d postgres -c "SELECT pg_drop_replication_slot('vesper_replica') FROM pg_replication_slots WHERE slot_name = 'vesper_replica'" >/dev/null
  as_owner "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -D "$REPLICA" -R -X stream -c fast -C -S vesper_replica
  cat >>"$REPLICA/postgresql.conf" <<CONF
port = $PG_REPLICA_PORT
synchronous_standby_names = ''
CONF
fi
if ! is_running "$REPLICA"; then
  as_owner "$BIN/pg_ctl" -D "$REPLICA" -l "$PG_DIR/replica.log" -w start >/dev/null
fi

if [ "${VESPER_PG_SYNC:-0}" = 1 ]; then
  sed -i '/^synchronous_standby_names/d' "$PRIMARY/postgresql.conf"
  echo "synchronous_standby_names = '*'" >>"$PRIMARY/postgresql.conf"
  as_owner "$BIN/pg_ctl" -D "$PRIMARY" reload >/dev/null
fi

echo "pg:up: primary 127.0.0.1:$PG_PORT, replica 127.0.0.1:$PG_REPLICA_PORT (synchronous: ${VESPER_PG_SYNC:-0})"
echo "VESPER_PG_URL=postgres://$PG_USER@127.0.0.1:$PG_PORT,127.0.0.1:$PG_REPLICA_PORT/$PG_DATABASE"
