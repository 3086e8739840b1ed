#!/usr/bin/env bash
# Start a real Slurm cluster on this machine from Debian packages: munged, slurmdbd (on the local
# MariaDB), slurmctld, slurmd and, best effort, slurmrestd (JWT).
# Installs what is missing, writes the configs under <repo>/.local/slurm, starts what is not
# running and waits until the node(s) are usable. Running it again while everything is up is a no-op.
#
# EMG_SLURM_NODES=N (default 1): 1 = one slurmd named after this host, in this network namespace;
# N > 1 = nodes emgnode1..N, each slurmd in its own network and UTS namespace behind the bridge
# emgbr0 (see lib.sh), for tests that lose nodes (node.sh). Changing N rewrites the config and
# restarts the daemons.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE_COUNT=${EMG_SLURM_NODES:-1}
if ! [[ "$NODE_COUNT" =~ ^[0-9]+$ ]] || ((NODE_COUNT < 1 || NODE_COUNT > NODE_MAX)); then
  log "EMG_SLURM_NODES must be a number from 1 to $NODE_MAX, not '$NODE_COUNT'"
  exit 2
fi
mapfile -t NODE_NAMES < <(node_names_for "$NODE_COUNT")

started_at=$(date +%s%N)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

mkdir -p "$ETC_DIR" "$RUN_DIR" "$LOG_DIR" "$SPOOL_DIR/ctld" "$SPOOL_DIR/d" "$MUNGE_DIR"
chmod 0755 "$STATE_ROOT" "$ETC_DIR" "$RUN_DIR" "$LOG_DIR"
chmod 0700 "$MUNGE_DIR"

# One up.sh at a time (task test may be started by several people at once).
# The daemons must not inherit this descriptor (each start below closes it with 9>&-).
exec 9>"$RUN_DIR/up.lock"
flock -w 300 9

# --- packages -------------------------------------------------------------------------------
install_missing_packages() {
  local missing=() package
  local packages=(slurm-wlm slurm-wlm-mysql-plugin slurm-wlm-jwt-plugin slurmdbd slurmrestd munge mariadb-server)
  # Multi-node mode: nft for the nodes' NAT; ip (iproute2), nsenter and unshare (util-linux).
  ((NODE_COUNT == 1)) || packages+=(nftables iproute2 util-linux)
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  # policy-rc.d keeps Debian from starting its own copies of the daemons: the project runs its own.
  local policy=/usr/sbin/policy-rc.d created_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy"
    created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -z "$created_policy" ] || $SUDO rm -f "$policy"
}

# --- configuration --------------------------------------------------------------------------
render() { # template -> stdout, replacing @NAME@ with the shell variable NAME
  local template=$1 text name
  text=$(<"$template")
  for name in HOSTNAME CLUSTER_NAME PARTITION_NAME MUNGE_SOCKET JWT_KEY SPOOL_DIR RUN_DIR LOG_DIR CPUS \
    REAL_MEMORY DB_USER DB_PASS DB_NAME FIRST_JOB_ID DESCRIPTION CONTROL_ADDR SLURMD_SPOOL_DIR \
    SLURMD_PID_FILE SLURMD_LOG_FILE SLURMD_TIMEOUT MESSAGE_TIMEOUT AUTH_INFO_OPTIONS NODES_SECTION; do
    text=${text//@$name@/${!name}}
  done
  printf '%s\n' "$text"
}

# Writes $2 from template $1 if it changed; returns 0 if the file changed.
write_if_changed() {
  local template=$1 target=$2 mode=$3 new
  new=$(render "$template")
  if [ -f "$target" ] && [ "$(cat "$target")" = "$new" ]; then
    return 1
  fi
  (umask 077 && printf '%s\n' "$new" >"$target.tmp")
  chmod "$mode" "$target.tmp"
  mv "$target.tmp" "$target"
  return 0
}

# Job ids continue after those accounting already knows, so that a reset controller state
# (.local/slurm deleted, the machine's MariaDB kept) never reuses an id sacct has for an older job.
first_job_id() {
  local file="$ETC_DIR/first_job_id" highest
  if [ -s "$file" ] && [ -n "$(ls -A "$SPOOL_DIR/ctld" 2>/dev/null)" ]; then
    cat "$file"
    return
  fi
  highest=$(mariadb --user=root -N -e "SELECT COALESCE(MAX(id_job), 0) FROM $DB_NAME.${CLUSTER_NAME}_job_table" \
    2>/dev/null) || highest=0
  echo $((${highest:-0} + 1)) | tee "$file"
}

# The settings that differ between one node and several (rendered into the templates).
node_settings() {
  if ((NODE_COUNT == 1)); then
    # Exactly the single-node config of before multi-node mode existed.
    DESCRIPTION="A single-node cluster for development and tests on $HOSTNAME."
    CONTROL_ADDR=127.0.0.1
    SLURMD_SPOOL_DIR=$SPOOL_DIR/d
    SLURMD_PID_FILE=$RUN_DIR/slurmd.pid
    SLURMD_LOG_FILE=$LOG_DIR/slurmd.log
    SLURMD_TIMEOUT=120
    MESSAGE_TIMEOUT=10
    AUTH_INFO_OPTIONS=""
    NODES_SECTION="NodeName=$HOSTNAME NodeAddr=127.0.0.1 NodeHostname=$HOSTNAME CPUs=$CPUS RealMemory=$REAL_MEMORY State=UNKNOWN
PartitionName=$PARTITION_NAME Nodes=$HOSTNAME Default=YES MaxTime=INFINITE OverSubscribe=FORCE:4 State=UP"
    return
  fi
  local node node_memory=$((REAL_MEMORY / NODE_COUNT))
  DESCRIPTION="A $NODE_COUNT-node cluster on $HOSTNAME for tests that lose nodes: one slurmd per network namespace (node.sh)."
  # Everything a node or a job on a node talks to must be reachable from its namespace: the
  # bridge's address (also local here, so clients in this namespace keep working).
  CONTROL_ADDR=$NODE_GATEWAY
  # %n = the node name (slurmd -N); no --enable-multiple-slurmd needed for these three.
  SLURMD_SPOOL_DIR=$SPOOL_DIR/d-%n
  SLURMD_PID_FILE=$RUN_DIR/slurmd-%n.pid
  SLURMD_LOG_FILE=$LOG_DIR/slurmd-%n.log
  # A lost node is DOWN (and its batch jobs requeued) once it has not answered for SlurmdTimeout
  # over two ping cycles; slurmctld retries a refused connection for MIN(MessageTimeout, 10) s per
  # ping, so MessageTimeout 5 (not 10) takes a kill to DOWN in 15-23 s instead of ~28 s.
  SLURMD_TIMEOUT=10
  MESSAGE_TIMEOUT=5
  # A requeued job may start again cred_expire + 1 seconds after its requeue (default 120).
  AUTH_INFO_OPTIONS=,cred_expire=30
  NODES_SECTION="# Multi-node mode (EMG_SLURM_NODES=$NODE_COUNT): every node claims this machine's CPUs and an
# equal share of its usable memory; config_overrides keeps slurmd from checking that against the hardware.
SlurmdParameters=config_overrides
# Batch jobs of a node that fails are requeued (state REQUEUED, then PENDING), not failed.
JobRequeue=1"
  for node in "${NODE_NAMES[@]}"; do
    NODES_SECTION+="
NodeName=$node NodeAddr=$(node_addr "$node") CPUs=$CPUS RealMemory=$node_memory State=UNKNOWN"
  done
  NODES_SECTION+="
# LLN: each job goes to the least loaded node, so jobs submitted together spread over the nodes.
PartitionName=$PARTITION_NAME Nodes=${NODE_NAME_PREFIX}[1-$NODE_COUNT] Default=YES MaxTime=INFINITE OverSubscribe=FORCE:4 LLN=YES State=UP"
}

write_configs() {
  HOSTNAME=$(hostname -s)
  CPUS=$(nproc)
  local total_mb
  total_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
  # Leave headroom for the OS and the platform: 10% and at least 512 MB.
  local headroom=$((total_mb / 10))
  ((headroom >= 512)) || headroom=512
  REAL_MEMORY=$((total_mb - headroom))
  ((REAL_MEMORY >= 256)) || REAL_MEMORY=256

  if [ ! -s "$JWT_KEY" ]; then
    (umask 077 && dd if=/dev/urandom of="$JWT_KEY" bs=32 count=1 status=none)
  fi
  chmod 0600 "$JWT_KEY"

  FIRST_JOB_ID=$(first_job_id)
  node_settings

  CONFIG_CHANGED=""
  write_if_changed "$SLURM_ENV_DIR/slurm.conf.template" "$SLURM_CONF" 0644 && CONFIG_CHANGED=1
  write_if_changed "$SLURM_ENV_DIR/slurmdbd.conf.template" "$ETC_DIR/slurmdbd.conf" 0600 && CONFIG_CHANGED=1
  [ "$(configured_node_count)" = "$NODE_COUNT" ] && [ -s "$NODE_COUNT_FILE" ] || echo "$NODE_COUNT" >"$NODE_COUNT_FILE"

  # Clients that do not see SLURM_CONF (snakemake's slurm executor strips SLURM_*) read /etc/slurm.
  $SUDO mkdir -p /etc/slurm
  local link=/etc/slurm/slurm.conf
  if [ "$(readlink "$link" 2>/dev/null)" != "$SLURM_CONF" ]; then
    if [ -e "$link" ] && [ ! -L "$link" ]; then
      $SUDO mv "$link" "$link.before-emg-dev.$(date +%s)"
    fi
    $SUDO ln -sfn "$SLURM_CONF" "$link"
  fi
}

# --- daemons --------------------------------------------------------------------------------
wait_for() { # seconds description command...
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$(($(date +%s) + seconds))
  until "$@"; do
    if (($(date +%s) >= deadline)); then
      log "timed out after ${seconds}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

start_munged() {
  live_pid munged >/dev/null && return 0
  rm -f "$(pid_file munged)" "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  if [ ! -s "$MUNGE_DIR/munge.key" ]; then
    (umask 077 && dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1024 count=1 status=none)
  fi
  chmod 0400 "$MUNGE_DIR/munge.key"
  log "starting munged"
  munged 9>&- --force --key-file="$MUNGE_DIR/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$(pid_file munged)" --log-file="$LOG_DIR/munged.log" --seed-file="$MUNGE_DIR/munge.seed"
  wait_for 10 "munged" test -S "$MUNGE_SOCKET"
}

mariadb_answers() { timeout 3 mariadb-admin --user=root --silent ping >/dev/null 2>&1; }

start_mariadb() {
  mariadb_answers && return 0
  log "starting MariaDB"
  $SUDO install -d -o mysql -g mysql /run/mysqld
  if [ ! -d /var/lib/mysql/mysql ]; then
    $SUDO mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql 9>&-
  wait_for 30 "MariaDB" mariadb_answers
}

ensure_mariadb_tmpdir_writable() {
  # slurmdbd's schema queries need MariaDB temp tables; they fail (Errcode 13) when MariaDB cannot
  # write its tmpdir, as on machines whose /tmp is 0755 instead of the standard 1777.
  local tmpdir
  tmpdir=$(mariadb --user=root -N -e 'SELECT @@tmpdir' 2>/dev/null) || return 0
  [ -n "$tmpdir" ] && [ -d "$tmpdir" ] || return 0
  if ! $SUDO runuser -u mysql -- test -w "$tmpdir" 2>/dev/null; then
    if [ "$tmpdir" = /tmp ]; then
      log "/tmp is not writable by MariaDB: restoring its standard mode 1777"
      $SUDO chmod 1777 /tmp
    else
      log "warning: MariaDB cannot write its tmpdir $tmpdir; slurmdbd may fail"
    fi
  fi
}

create_accounting_database() {
  ensure_mariadb_tmpdir_writable
  mariadb --user=root <<SQL
CREATE DATABASE IF NOT EXISTS $DB_NAME;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'localhost';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'127.0.0.1';
SQL
}

slurmdbd_answers() { timeout 3 sacctmgr -n -P list cluster format=cluster >/dev/null 2>&1; }

start_slurmdbd() {
  live_pid slurmdbd >/dev/null && return 0
  rm -f "$(pid_file slurmdbd)"
  log "starting slurmdbd"
  slurmdbd 9>&-
  wait_for 30 "slurmdbd" slurmdbd_answers
}

register_cluster() {
  if ! timeout 5 sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER_NAME"; then
    timeout 10 sacctmgr -i add cluster "$CLUSTER_NAME" >/dev/null
  fi
}

register_account() {
  if ! timeout 5 sacctmgr -n -P list account "$ACCOUNT_NAME" format=account | grep -qx "$ACCOUNT_NAME"; then
    timeout 10 sacctmgr -i add account "$ACCOUNT_NAME" Cluster="$CLUSTER_NAME" \
      Description="EMG pipelines" Organization="emg" >/dev/null
  fi
  if ! timeout 5 sacctmgr -n -P list association cluster="$CLUSTER_NAME" account="$ACCOUNT_NAME" user=root \
    format=user | grep -qx root; then
    timeout 10 sacctmgr -i add user root Account="$ACCOUNT_NAME" Cluster="$CLUSTER_NAME" >/dev/null
  fi
}

start_slurmctld() {
  live_pid slurmctld >/dev/null && return 0
  rm -f "$(pid_file slurmctld)"
  log "starting slurmctld"
  slurmctld 9>&-
  wait_for 30 "slurmctld" controller_answers
}

start_slurmd() {
  if ((NODE_COUNT > 1)); then
    local node
    for node in "${NODE_NAMES[@]}"; do
      live_node_slurmd "$node" >/dev/null && continue
      log "starting slurmd $node ($(node_addr "$node"), network namespace $(node_netns "$node"))"
      start_node_slurmd "$node"
    done
    return 0
  fi
  live_pid slurmd >/dev/null && return 0
  rm -f "$(pid_file slurmd)"
  log "starting slurmd"
  slurmd 9>&-
}

# True when every node is usable. ReturnToService=2 brings a node back when its slurmd registers;
# a drained one needs a nudge (once per node).
declare -A RESUME_TRIED=()
node_usable() {
  local states node state usable=0
  states=$(timeout 2 sinfo -h -N -o '%N %t' 2>/dev/null) || return 1
  for node in "${NODE_NAMES[@]}"; do
    state=$(awk -v node="$node" '$1 == node {print $2; exit}' <<<"$states")
    case "$state" in
    idle | mix | alloc | comp) ;;
    drain* | drng* | down* | fail*)
      if [ -z "${RESUME_TRIED[$node]:-}" ]; then
        RESUME_TRIED[$node]=1
        timeout 3 scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true
      fi
      usable=1
      ;;
    *) usable=1 ;; # unknown, not responding (*), or no answer yet
    esac
  done
  return "$usable"
}

ensure_restd_user() {
  id "$RESTD_USER" >/dev/null 2>&1 && return 0
  $SUDO useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$RESTD_USER"
}

start_slurmrestd() {
  live_pid slurmrestd >/dev/null && return 0
  ensure_restd_user || return 1
  rm -f "$(pid_file slurmrestd)"
  log "starting slurmrestd on $RESTD_ADDRESS (JWT)"
  SLURM_JWT=daemon setsid slurmrestd -a rest_auth/jwt -u "$RESTD_USER" -g "$RESTD_USER" "$RESTD_ADDRESS" \
    </dev/null >>"$LOG_DIR/slurmrestd.log" 2>&1 9>&- &
  echo $! >"$(pid_file slurmrestd)"
  sleep 0.3
  live_pid slurmrestd >/dev/null
}

all_core_daemons_alive() {
  local name node
  for name in munged slurmdbd slurmctld; do
    live_pid "$name" >/dev/null || return 1
  done
  if ((NODE_COUNT == 1)); then
    live_pid slurmd >/dev/null || return 1
  else
    host_network_ready || return 1
    for node in "${NODE_NAMES[@]}"; do
      live_node_slurmd "$node" >/dev/null || return 1
    done
  fi
}

# Any daemon of this cluster alive, in either mode (whatever node count it was started with).
any_daemon_alive() {
  local name file
  for name in munged slurmdbd slurmctld slurmrestd slurmd; do
    live_pid "$name" >/dev/null && return 0
  done
  for file in "$RUN_DIR"/slurmd-*.pid; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .pid)
    live_pid "$name" slurmd >/dev/null && return 0
  done
  return 1
}

# --- main -----------------------------------------------------------------------------------
install_missing_packages
start_mariadb
write_configs

if [ -n "$CONFIG_CHANGED" ] && any_daemon_alive; then
  log "configuration changed: restarting the daemons"
  flock -u 9
  bash "$SLURM_ENV_DIR/down.sh"
  flock 9
fi
if ((NODE_COUNT == 1)) && { ip link show "$NODE_BRIDGE" >/dev/null 2>&1 || [ -n "$(existing_node_netns)" ]; }; then
  log "removing what a multi-node run left behind"
  remove_node_network
fi

if all_core_daemons_alive && controller_answers && node_usable; then
  live_pid slurmrestd >/dev/null || start_slurmrestd || log "slurmrestd did not start (optional): see $LOG_DIR/slurmrestd.log"
  log "already up (SLURM_CONF=$SLURM_CONF)"
  exit 0
fi

if ((NODE_COUNT > 1)); then
  # Before slurmdbd: slurmctld and sacctmgr reach it at the bridge's address.
  ensure_host_network
  for node in "${NODE_NAMES[@]}"; do
    ensure_node_network "$node"
    # A link node.sh took down comes back with up.
    ip link set "$(node_veth "$node")" up
  done
  write_hosts_block "$NODE_COUNT"
fi
start_munged
create_accounting_database
start_slurmdbd
register_cluster
start_slurmctld
start_slurmd
if ! wait_for 60 "node(s) ${NODE_NAMES[*]} to be idle" node_usable; then
  timeout 2 sinfo -N -l || true
  if ((NODE_COUNT == 1)); then
    tail -n 20 "$LOG_DIR/slurmd.log" "$LOG_DIR/slurmctld.log" >&2 || true
  else
    tail -n 20 "$LOG_DIR"/slurmd-*.log "$LOG_DIR/slurmctld.log" >&2 || true
  fi
  exit 1
fi
register_account
start_slurmrestd || log "slurmrestd did not start (optional): see $LOG_DIR/slurmrestd.log"

elapsed_ms=$((($(date +%s%N) - started_at) / 1000000))
elapsed="$((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000)))"
log "up in ${elapsed}s: partition '$PARTITION_NAME' on ${NODE_NAMES[*]}, SLURM_CONF=$SLURM_CONF"
timeout 2 sinfo || true
