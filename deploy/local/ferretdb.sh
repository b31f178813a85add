#!/usr/bin/env bash
# A real MongoDB-wire database without Docker: FerretDB 1.24.2 on its SQLite backend, built from
# the Go module proxy (v1.24.2 is the only version served here, and v2 dropped SQLite).
#   ferretdb.sh start|stop|status
# The binary is cached in $KOBLING_CACHE (default ~/.cache/kobling) with Go's build and module
# caches, so it is built once; data, log and pid file live in $KOBLING_RUN_DIR (default <repo>/.run).
set -euo pipefail

FERRETDB_VERSION=v1.24.2

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${KOBLING_CACHE:-$HOME/.cache/kobling}
RUN=${KOBLING_RUN_DIR:-$ROOT/.run}
BUILD=$CACHE/ferretdb-$FERRETDB_VERSION
BIN=$BUILD/ferretdb
DIR=$RUN/ferretdb
PIDFILE=$DIR/ferretdb.pid
LOG=$DIR/ferretdb.log
PORT=27017

log() { printf 'ferretdb: %s\n' "$*" >&2; }

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

build() {
  [ -x "$BIN" ] && return 0
  log "building FerretDB $FERRETDB_VERSION with Go (once; the pure-Go SQLite takes minutes)"
  mkdir -p "$BUILD/src"
  export GOCACHE=$BUILD/gocache GOMODCACHE=$BUILD/gomodcache GOFLAGS=-mod=mod
  # FerretDB's own cmd/ferretdb panics at start when built outside its repository (it wants a
  # generated version file), with `go install` and as a `go get -tool` alike; our small main
  # around its embeddable package does not.
  cp "$HERE/ferretdb/main.go" "$BUILD/src/main.go"
  (
    cd "$BUILD/src"
    [ -f go.mod ] || go mod init local.kobling/ferretdb >/dev/null 2>&1
    go get "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" >"$BUILD/go-get.log" 2>&1
    go build -o "$BIN" .
  )
}

start() {
  if running; then log "already running (pid $(cat "$PIDFILE"))"; return 0; fi
  if port_open; then log "something else already answers on 127.0.0.1:$PORT: using it"; return 0; fi
  build
  mkdir -p "$DIR/data"
  nohup "$BIN" --sqlite-url="file:$DIR/data/" --listen-addr="127.0.0.1:$PORT" >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 60); do
    if port_open; then log "started on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; return 0; fi
    if ! running; then log "exited during start:"; tail -30 "$LOG" >&2; exit 1; fi
    sleep 0.5
  done
  log "not ready after 30 s:"; tail -30 "$LOG" >&2; exit 1
}

stop() {
  if ! running; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  local pid; pid=$(cat "$PIDFILE")
  kill "$pid"
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; log "stopped"; return 0; }; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true; rm -f "$PIDFILE"; log "killed after 20 s"
}

status() { if running; then log "running (pid $(cat "$PIDFILE"))"; else log "not running"; return 1; fi; }

"${1:-status}"
