#!/usr/bin/env bash
# A real MongoDB-wire database without Docker: FerretDB 1.24.2 on its SQLite backend, built from
# the Go module proxy (v1.24.2 is the only version served here, and v2 dropped SQLite).
#   ferretdb.sh start|stop|status|selftest   (selftest: the runner's own Go tests, main_test.go)
# The binary is cached in $KOBLING_CACHE (default ~/.cache/kobling) with Go's build and module
# caches, so it is built once; data, log and pid file live in $KOBLING_RUN_DIR (default <repo>/.run).
set -euo pipefail

FERRETDB_VERSION=v1.24.2
RUNNER_VERSION=5  # bump when ferretdb/main.go changes, so a cached binary is rebuilt

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${KOBLING_CACHE:-$HOME/.cache/kobling}
RUN=${KOBLING_RUN_DIR:-$ROOT/.run}
BUILD=$CACHE/ferretdb-$FERRETDB_VERSION
BIN=$BUILD/ferretdb-runner-$RUNNER_VERSION
DIR=$RUN/ferretdb
PIDFILE=$DIR/ferretdb.pid
LOG=$DIR/ferretdb.log
PORT=27017
NAME=ferretdb
# shellcheck source=lib.sh
. "$HERE/lib.sh"


go_env() { export GOCACHE=$BUILD/gocache GOMODCACHE=$BUILD/gomodcache GOFLAGS=-mod=mod; }

build() {
  [ -x "$BIN" ] && return 0
  log "building FerretDB $FERRETDB_VERSION with Go (once; the pure-Go SQLite takes minutes)"
  mkdir -p "$BUILD/src"
  go_env
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
  # WAL with synchronous=NORMAL: a commit survives FerretDB's crash, and is on disk at the next
  # checkpoint, as MongoDB's journal is flushed every 100 ms (its default, j:false). FULL, SQLite's
  # default, fsyncs every single-document write: 40% of the CPU in I/O wait, ~60 updates a second.
  nohup "$BIN" --sqlite-url="file:$DIR/data/?_pragma=synchronous(normal)" --listen-addr="127.0.0.1:$PORT" >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  wait_started port_open 30
}

# The runner's tests need its module and caches: they run in the build folder, on a copy.
selftest() {
  build
  go_env
  cp "$HERE/ferretdb/main.go" "$HERE/ferretdb/main_test.go" "$BUILD/src/"
  (cd "$BUILD/src" && go test -count=1 .)
  rm -f "$BUILD/src/main_test.go"
}

stop() { stop_one; }
status() { status_one; }

"${1:-status}"
