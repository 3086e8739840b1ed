# Shared paths and helpers for up.sh, down.sh and status.sh. Source it; do not run it.
# Everything the cluster writes (config, state, spool, logs, pid files, munge key and socket)
# lives under <repo>/.local/slurm, derived from this file's location.

SLURM_ENV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SLURM_ENV_DIR/.." && pwd)"
STATE_ROOT="${EMG_SLURM_STATE_ROOT:-$REPO_ROOT/.local/slurm}"
ETC_DIR="$STATE_ROOT/etc"
RUN_DIR="$STATE_ROOT/run"
LOG_DIR="$STATE_ROOT/log"
SPOOL_DIR="$STATE_ROOT/spool"
MUNGE_DIR="$STATE_ROOT/munge"
MUNGE_SOCKET="$RUN_DIR/munge.socket"
JWT_KEY="$ETC_DIR/jwt_hs256.key"
export SLURM_CONF="$ETC_DIR/slurm.conf"

CLUSTER_NAME="${EMG_SLURM_CLUSTER:-emgdev}"
PARTITION_NAME="${EMG_SLURM_PARTITION:-pipelines}"
ACCOUNT_NAME="${EMG_SLURM_ACCOUNT:-emg}"
RESTD_USER="slurmrest"
RESTD_ADDRESS="${EMG_SLURMRESTD_ADDRESS:-127.0.0.1:6820}"
DB_NAME="slurm_acct_db"
DB_USER="slurm"
DB_PASS="slurm-dev-only"

# daemon name -> pid file; the order is the start order (down.sh stops in reverse).
DAEMONS=(munged slurmdbd slurmctld slurmd slurmrestd)
pid_file() { echo "$RUN_DIR/$1.pid"; }

log() { echo "slurm-dev: $*" >&2; }

# The pid recorded for daemon $1 if that process is alive and really is that daemon, else nothing.
# A pid file left over from before a machine restart may name an unrelated process: check its name.
live_pid() {
  local name=$1 file pid comm
  file=$(pid_file "$name")
  [ -s "$file" ] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  # /proc/<pid>/comm is truncated to 15 characters.
  [ "$comm" = "${name:0:15}" ] || return 1
  echo "$pid"
}

controller_answers() { timeout 3 scontrol ping 2>/dev/null | grep -q 'is UP'; }

node_state() { timeout 2 sinfo -h -N -o '%t' 2>/dev/null | head -n1; }
