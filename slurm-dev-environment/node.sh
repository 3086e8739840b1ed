#!/usr/bin/env bash
# Lose and bring back nodes of the multi-node cluster (EMG_SLURM_NODES=N > 1, see up.sh), for
# chaos tests. One line per action on stdout; bad input: one line on stderr and a non-zero exit.
#
#   node.sh list               the node names, one a line (this host's name on a single node)
#   node.sh kill <node>        a real node loss: SIGKILL every process in the node's network
#                              namespace (slurmd, slurmstepd, the jobs). Slurm marks the node DOWN
#                              SlurmdTimeout (10 s) after its last answer and requeues its batch jobs.
#   node.sh start <node>       start the node's slurmd again; ReturnToService=2 makes the node
#                              usable as soon as slurmd registers
#   node.sh link-down <node>   take the node's veth down: a network partition, processes keep running
#   node.sh link-up <node>     bring it up again
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fail() {
  echo "node.sh: $*" >&2
  exit 2
}

node_count=$(configured_node_count)
mapfile -t nodes < <(node_names_for "$node_count")
action=${1:-}

case "$action" in
list)
  (($# == 1)) || fail "usage: node.sh list"
  printf '%s\n' "${nodes[@]}"
  exit 0
  ;;
kill | start | link-down | link-up) ;;
"") fail "usage: node.sh list | kill <node> | start <node> | link-down <node> | link-up <node>" ;;
*) fail "unknown action '$action' (list, kill, start, link-down, link-up)" ;;
esac

(($# == 2)) || fail "usage: node.sh $action <node>"
node=$2
((node_count > 1)) || fail "$action needs the multi-node cluster (EMG_SLURM_NODES=3 up.sh); this one has the single node ${nodes[0]}"
printf '%s\n' "${nodes[@]}" | grep -qxF -- "$node" || fail "unknown node '$node' (nodes: ${nodes[*]})"
netns=$(node_netns "$node")
veth=$(node_veth "$node")

case "$action" in
kill)
  killed=$(kill_node_processes "$node")
  rm -f "$(pid_file "$(slurmd_pid_name "$node")")"
  echo "$node: killed $killed processes in $netns (slurmd, slurmstepd, jobs)"
  ;;
start)
  # Not while up.sh (re)starts the cluster.
  exec 9>"$RUN_DIR/up.lock"
  flock -w 300 9 || fail "up.sh holds $RUN_DIR/up.lock"
  if pid=$(live_node_slurmd "$node"); then
    echo "$node: slurmd already running (pid $pid)"
    exit 0
  fi
  host_network_ready || fail "the cluster's network is not up: run up.sh (EMG_SLURM_NODES=$node_count)"
  ensure_node_network "$node"
  start_node_slurmd "$node" || fail "$node: slurmd did not start: see $LOG_DIR/slurmd-$node.log"
  for ((i = 0; i < 50; i++)); do
    pid=$(live_node_slurmd "$node") && break
    sleep 0.1
  done
  [ -n "${pid:-}" ] || fail "$node: slurmd did not start: see $LOG_DIR/slurmd-$node.log"
  echo "$node: slurmd started (pid $pid)"
  ;;
link-down | link-up)
  ip link show "$veth" >/dev/null 2>&1 || fail "$node has no link $veth: run up.sh (EMG_SLURM_NODES=$node_count)"
  ip link set "$veth" "${action#link-}"
  echo "$node: link $veth ${action#link-} ($(node_addr "$node"))"
  ;;
esac
