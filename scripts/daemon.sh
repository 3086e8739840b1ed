#!/usr/bin/env bash
# Run a long-lived platform process in the background with a PID file and a log, or stop it by PID.
#   scripts/daemon.sh start NAME -- COMMAND...   (no-op if NAME is already running)
#   scripts/daemon.sh stop NAME
#   scripts/daemon.sh status NAME
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN_DIR=${EMG_RUN_DIR:-$ROOT/.local/run}
mkdir -p "$RUN_DIR"
action=$1 name=$2; shift 2
pidfile=$RUN_DIR/$name.pid
logfile=$RUN_DIR/$name.log

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case $action in
  start)
    [ "${1:-}" = "--" ] && shift
    if running; then echo "$name: already running (pid $(cat "$pidfile"))"; exit 0; fi
    cd "$ROOT"
    setsid nohup "$@" >"$logfile" 2>&1 < /dev/null &
    echo $! >"$pidfile"
    echo "$name: started (pid $!, log $logfile)"
    ;;
  stop)
    if ! running; then rm -f "$pidfile"; exit 0; fi
    pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    echo "$name: stopped"
    ;;
  status)
    if running; then echo "$name: running (pid $(cat "$pidfile"))"; else echo "$name: stopped"; exit 1; fi
    ;;
  *) echo "usage: $0 start|stop|status NAME [-- COMMAND...]" >&2; exit 2 ;;
esac
