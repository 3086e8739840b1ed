#!/usr/bin/env bash
# Stop the daemons that up.sh started, by the PIDs they recorded under .local/slurm/run:
# SIGTERM, wait up to 10 s, then SIGKILL. MariaDB is left running (it is the machine's).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop_daemon() {
  local name=$1 pid i
  if ! pid=$(live_pid "$name"); then
    rm -f "$(pid_file "$name")"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    [ -d "/proc/$pid" ] || break
    sleep 0.2
  done
  if [ -d "/proc/$pid" ]; then
    log "$name (pid $pid) ignored SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$(pid_file "$name")"
}

for ((index = ${#DAEMONS[@]} - 1; index >= 0; index--)); do
  stop_daemon "${DAEMONS[index]}"
done
log "down"
