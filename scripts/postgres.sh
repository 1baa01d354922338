#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: its own cluster in a fresh temporary directory,
# listening on 127.0.0.1 only (and a socket inside that directory), trust authentication, a free
# port. Nothing of the machine's own PostgreSQL (a Debian cluster, a service) is used or touched.
#
# Sourced by scripts/test:   source scripts/postgres.sh; postgres_start; …; postgres_stop
# Or run around a command:   scripts/postgres.sh cargo test -p tokencomp-store
#
# postgres_start installs the server with apt-get when no initdb/pg_ctl is found (as root, or
# through passwordless sudo), exports TOKENCOMP_TEST_POSTGRES=postgres://tokencomp@127.0.0.1:PORT/postgres
# (tests create their own databases from it), and stops the server and deletes its directory on
# exit — also on failure or interrupt. Under root the server runs as the `postgres` OS user
# (initdb and postgres refuse to run as root).

_pg_base=""
_pg_data=""
_pg_owner=""
_pg_bin=""

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
_pg_fail() {
  printf 'error: %s\n' "$*" >&2
  return 1
}

# Runs a command as the cluster's owner, from a directory it may enter.
_pg_as_owner() {
  if [ -n "$_pg_owner" ]; then
    (cd / && runuser -u "$_pg_owner" -- "$@")
  else
    (cd / && "$@")
  fi
}

# The directory holding initdb, pg_ctl and postgres: the one on PATH, else the newest version
# under /usr/lib/postgresql (Debian and Ubuntu keep them off PATH); nothing when there is none.
_pg_complete() { [ -x "$1/pg_ctl" ] && [ -x "$1/initdb" ] && [ -x "$1/postgres" ]; }
postgres_bindir() {
  local d
  if command -v pg_ctl >/dev/null 2>&1; then
    d="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
    if _pg_complete "$d"; then
      printf '%s\n' "$d"
      return 0
    fi
  fi
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
    if _pg_complete "$d"; then
      printf '%s\n' "$d"
      return 0
    fi
  done
}

postgres_install() {
  apt_install postgresql
}

# A TCP port nothing on 127.0.0.1 listens on (postgres_start retries if another process takes
# it first).
_pg_free_port() {
  local port _
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  _pg_fail "no free TCP port found on 127.0.0.1"
}

postgres_start() {
  local t0 t_install="" t_init t_start
  t0="$(now)"
  _pg_bin="$(postgres_bindir)"
  if [ -z "$_pg_bin" ]; then
    echo "PostgreSQL is not installed: installing it with apt-get"
    postgres_install || return 1
    _pg_bin="$(postgres_bindir)"
    if [ -z "$_pg_bin" ]; then
      _pg_fail "postgresql was installed but no initdb/pg_ctl was found under /usr/lib/postgresql"
      return 1
    fi
    t_install=" install $(since "$t0"),"
  fi

  if [ "$(id -u)" -eq 0 ]; then
    _pg_owner=postgres
    if ! id -u "$_pg_owner" >/dev/null 2>&1; then
      _pg_fail "running as root, but there is no \`postgres\` OS user to run the server as"
      return 1
    fi
    # Under root's TMPDIR (often private to root) the server user could not reach its files.
    _pg_base="$(mktemp -d /tmp/tokencomp-pg.XXXXXX)"
    chown "$_pg_owner" "$_pg_base"
  else
    _pg_base="$(mktemp -d "${TMPDIR:-/tmp}/tokencomp-pg.XXXXXX")"
  fi
  chmod 700 "$_pg_base"
  _pg_data="$_pg_base/data"
  # The server writes its own log (as its owner); initdb's output is written from here.
  local log="$_pg_base/server.log" init_log="$_pg_base/initdb.log"

  t0="$(now)"
  if ! _pg_as_owner "$_pg_bin/initdb" -D "$_pg_data" -U tokencomp --auth=trust -E UTF8 --locale=C --no-sync \
    >"$init_log" 2>&1; then
    cat "$init_log" >&2
    _pg_fail "initdb failed"
    return 1
  fi
  t_init="$(since "$t0")"
  # Loopback and a private socket only; durability is not what these tests measure.
  cat >>"$_pg_data/postgresql.conf" <<EOF

# tokencomp tests (scripts/postgres.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$_pg_base'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

  local port attempt
  t0="$(now)"
  for attempt in 1 2 3; do
    port="$(_pg_free_port)" || return 1
    if _pg_as_owner "$_pg_bin/pg_ctl" -D "$_pg_data" -l "$log" -o "-p $port" -w -t 60 start >/dev/null; then
      break
    fi
    if [ "$attempt" -eq 3 ]; then
      cat "$log" >&2
      _pg_fail "the PostgreSQL server did not start"
      return 1
    fi
  done
  t_start="$(since "$t0")"
  export TOKENCOMP_TEST_POSTGRES="postgres://tokencomp@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$_pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($_pg_data):$t_install initdb $t_init, start $t_start"
  echo "TOKENCOMP_TEST_POSTGRES=$TOKENCOMP_TEST_POSTGRES"
}

# Stops the server and deletes its directory; safe to call more than once.
postgres_stop() {
  [ -n "$_pg_base" ] || return 0
  local t0
  t0="$(now)"
  if [ -f "$_pg_data/postmaster.pid" ]; then
    _pg_as_owner "$_pg_bin/pg_ctl" -D "$_pg_data" -m fast -w -t 60 stop >/dev/null ||
      _pg_as_owner "$_pg_bin/pg_ctl" -D "$_pg_data" -m immediate -w stop >/dev/null || true
  fi
  rm -rf "$_pg_base"
  echo "PostgreSQL stopped and its directory deleted ($(since "$t0"))"
  _pg_base=""
  unset TOKENCOMP_TEST_POSTGRES
}

# Run directly: start, run the command with TOKENCOMP_TEST_POSTGRES set, stop.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG]…  (runs COMMAND with a throwaway PostgreSQL server)" >&2
    exit 2
  fi
  trap postgres_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  postgres_start
  "$@"
fi
