#!/usr/bin/env bash
# Starts a private PostgreSQL cluster on a loopback port for the tests and exports its URL as
# JT_TEST_POSTGRES_DSN. Sourced by scripts/test.sh; needs Debian's postgresql package.

# the first port from $1 on which nothing listens on loopback (another cluster, another test run)
free_loopback_port() {
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}

start_test_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || return 1
  JT_PG_DIR=$(mktemp -d /tmp/jt-pg.XXXXXX)
  chmod 755 "$JT_PG_DIR"
  local run_as=()
  if [ "$(id -u)" = "0" ]; then
    chown postgres "$JT_PG_DIR" 2>/dev/null || return 1
    run_as=(runuser -u postgres --)
  fi
  JT_PG_PORT=${JT_PG_PORT:-$(free_loopback_port 55432)}
  "${run_as[@]}" "$bin/initdb" -D "$JT_PG_DIR/data" -U tracker -A trust >/dev/null || return 1
  "${run_as[@]}" "$bin/pg_ctl" -D "$JT_PG_DIR/data" -l "$JT_PG_DIR/log" -w \
    -o "-p $JT_PG_PORT -k $JT_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null || return 1
  "$bin/createdb" -h 127.0.0.1 -p "$JT_PG_PORT" -U tracker tracker_test || return 1
  export JT_PG_BIN="$bin" JT_PG_DIR JT_PG_PORT
  export JT_TEST_POSTGRES_DSN="postgresql+psycopg://tracker@127.0.0.1:$JT_PG_PORT/tracker_test"
  echo "PostgreSQL for tests: $JT_TEST_POSTGRES_DSN"
}

stop_test_postgres() {
  if [ -n "${JT_PG_DIR:-}" ] && [ -d "$JT_PG_DIR/data" ]; then
    local run_as=()
    [ "$(id -u)" = "0" ] && run_as=(runuser -u postgres --)
    "${run_as[@]}" "$JT_PG_BIN/pg_ctl" -D "$JT_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$JT_PG_DIR"
  fi
}
