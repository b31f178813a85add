#!/usr/bin/env bash
# The benchmark's tools, built once into the cache: vegeta (constant-rate HTTP load, from the Go
# module proxy) and the sink that measures vegeta's own ceiling.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${KOBLING_CACHE:-$HOME/.cache/kobling}/bench-bin
mkdir -p "$BIN"
export GOCACHE=${KOBLING_CACHE:-$HOME/.cache/kobling}/bench-gocache
[ -x "$BIN/vegeta" ] || GOBIN=$BIN go install github.com/tsenart/vegeta/v12@v12.13.0
if [ ! -x "$BIN/sink" ]; then
  (cd "$HERE/sink" && { [ -f go.mod ] || go mod init local.kobling/sink >/dev/null 2>&1; } && go build -o "$BIN/sink" .)
fi
echo "$BIN"
