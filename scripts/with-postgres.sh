#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server, so that the tests prove the same code runs on PostgreSQL
# (HUB_TEST_POSTGRES_URL). Installs Debian's postgresql package when no server is on the machine.
set -euo pipefail

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
BIN=$(find_bin)
if [ -z "$BIN" ]; then
  echo "installing PostgreSQL (Debian package postgresql) for the tests..." >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  BIN=$(find_bin)
fi

DIR=$(mktemp -d /tmp/hub-pg-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AS=()
if [ "$(id -u)" = 0 ]; then  # PostgreSQL refuses to run as root
  chown postgres "$DIR"
  AS=(runuser -u postgres --)
fi
"${AS[@]}" "$BIN/initdb" -D "$DIR/data" -A trust -U hub >/dev/null
"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
trap '"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT

export HUB_TEST_POSTGRES_URL="postgresql+asyncpg://hub@127.0.0.1:$PORT/postgres"
"$@"
