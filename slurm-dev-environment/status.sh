#!/usr/bin/env bash
# What runs (by the PIDs up.sh recorded) and what Slurm says about the node(s) and the queue.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

node_count=$(configured_node_count)
echo "SLURM_CONF=$SLURM_CONF"
for name in "${DAEMONS[@]}"; do
  if [ "$name" = slurmd ] && ((node_count > 1)); then
    for node in $(node_names_for "$node_count"); do
      netns=$(node_netns "$node")
      link=$(ip -o link show "$(node_veth "$node")" 2>/dev/null | grep -oE 'state [A-Z]+' | cut -d' ' -f2)
      if pid=$(live_node_slurmd "$node"); then
        printf '  %-11s running  pid %s  %s %s (%s, link %s)\n' slurmd "$pid" "$node" "$(node_addr "$node")" "$netns" "${link:-missing}"
      else
        printf '  %-11s stopped  %s %s (%s, link %s)\n' slurmd "$node" "$(node_addr "$node")" "$netns" "${link:-missing}"
      fi
    done
    continue
  fi
  if pid=$(live_pid "$name"); then
    printf '  %-11s running  pid %s\n' "$name" "$pid"
  else
    printf '  %-11s stopped\n' "$name"
  fi
done
if timeout 3 mariadb-admin --user=root --silent ping >/dev/null 2>&1; then
  printf '  %-11s running  (the machine'"'"'s, 127.0.0.1:3306)\n' mariadb
else
  printf '  %-11s stopped\n' mariadb
fi
if controller_answers; then
  echo
  timeout 3 sinfo -N -l
  echo
  timeout 3 squeue -o '%.12i %.10P %.20j %.8T %.10M %R' | head -n 20
else
  echo "slurmctld does not answer (scontrol ping)"
  exit 1
fi
