#!/usr/bin/env bash
# What runs (by the PIDs up.sh recorded) and what Slurm says about the node and the queue.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

echo "SLURM_CONF=$SLURM_CONF"
for name in "${DAEMONS[@]}"; do
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
