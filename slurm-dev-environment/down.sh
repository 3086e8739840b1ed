#!/usr/bin/env bash
# Stop the daemons that up.sh started, by the PIDs they recorded under .local/slurm/run:
# SIGTERM, wait up to 10 s, then SIGKILL. MariaDB is left running (it is the machine's).
# Multi-node mode: every node's slurmd (run/slurmd-<node>.pid), then SIGKILL for what is left in
# the nodes' network namespaces (slurmstepd, jobs), then the namespaces, veths, bridge and NAT.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop_daemon() {
  local name=$1 comm=${2:-$1} pid i
  if ! pid=$(live_pid "$name" "$comm"); then
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

stop_node_slurmds() {
  local file name
  for file in "$RUN_DIR"/slurmd-*.pid; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .pid)
    stop_daemon "$name" slurmd &
  done
  wait
}

for ((index = ${#DAEMONS[@]} - 1; index >= 0; index--)); do
  stop_daemon "${DAEMONS[index]}"
  if [ "${DAEMONS[index]}" = slurmd ]; then
    stop_node_slurmds
    # What slurmd left running in the nodes' namespaces, then the network itself (no-op if none).
    remove_node_network
  fi
done
log "down"
