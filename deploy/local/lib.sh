# Shared by kafka.sh and ferretdb.sh, which set NAME, PORT, PIDFILE and LOG before sourcing it.

log() { printf '%s: %s\n' "$NAME" "$*" >&2; }

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# wait_started CHECK SECONDS: until CHECK succeeds; fails loudly with the log's tail.
wait_started() {
  local check=$1 seconds=$2
  for _ in $(seq 1 $((seconds * 2))); do
    if $check; then log "started on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; return 0; fi
    if ! running; then log "exited during start:"; tail -30 "$LOG" >&2; exit 1; fi
    sleep 0.5
  done
  log "not ready after $seconds s:"; tail -30 "$LOG" >&2; exit 1
}

stop_one() {
  if ! running; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  local pid; pid=$(cat "$PIDFILE")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; log "stopped"; return 0; }
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true; rm -f "$PIDFILE"; log "killed after 30 s"
}

status_one() { if running; then log "running (pid $(cat "$PIDFILE"))"; else log "not running"; return 1; fi; }
