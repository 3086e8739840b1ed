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
# In multi-node mode "slurmd" stands for one slurmd per node, pid files slurmd-<node>.pid.
DAEMONS=(munged slurmdbd slurmctld slurmd slurmrestd)
pid_file() { echo "$RUN_DIR/$1.pid"; }

log() { echo "slurm-dev: $*" >&2; }

# The pid recorded in pid file $1 (a daemon name, see pid_file) if that process is alive and really
# is that daemon (command name $2, default $1), else nothing. A pid file left over from before a
# machine restart may name an unrelated process: check its name.
live_pid() {
  local name=$1 comm_wanted=${2:-$1} file pid comm
  file=$(pid_file "$name")
  [ -s "$file" ] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  # /proc/<pid>/comm is truncated to 15 characters.
  [ "$comm" = "${comm_wanted:0:15}" ] || return 1
  echo "$pid"
}

controller_answers() { timeout 3 scontrol ping 2>/dev/null | grep -q 'is UP'; }

# --- multi-node mode (EMG_SLURM_NODES=N > 1) --------------------------------------------------
# Nodes emgnode1..N, each slurmd in its own network namespace emg-node<i> (and its own UTS
# namespace, so `hostname` in a job prints the node's name), joined by a veth pair (emgv<i> here,
# eth0 inside) to the bridge emgbr0, which holds the controller's address 10.77.0.1/24.
# Node i has 10.77.0.(10+i). The namespaces share this machine's file systems (one mount namespace).
NODE_BRIDGE=emgbr0
NODE_GATEWAY=10.77.0.1
NODE_SUBNET=10.77.0.0/24
NODE_NAME_PREFIX=emgnode
NODE_NETNS_PREFIX=emg-node
NODE_VETH_PREFIX=emgv
NODE_MAX=20
# nftables tables: one in the root namespace, one in each node's namespace (see up.sh).
NFT_HOST_TABLE=emg_slurm_nodes
NFT_NODE_TABLE=emg_slurm_node
# How many nodes the written config describes (up.sh records it; 1 if never written).
NODE_COUNT_FILE="$ETC_DIR/nodes"

node_netns() { echo "$NODE_NETNS_PREFIX${1#"$NODE_NAME_PREFIX"}"; } # emgnode2 -> emg-node2
node_veth() { echo "$NODE_VETH_PREFIX${1#"$NODE_NAME_PREFIX"}"; }   # emgnode2 -> emgv2
node_addr() { echo "10.77.0.$((10 + ${1#"$NODE_NAME_PREFIX"}))"; }  # emgnode2 -> 10.77.0.12
slurmd_pid_name() { echo "slurmd-$1"; }                              # pid file slurmd-emgnode2.pid

# The node count the running cluster was configured with.
configured_node_count() {
  local count=1
  [ -s "$NODE_COUNT_FILE" ] && count=$(tr -dc '0-9' <"$NODE_COUNT_FILE")
  echo "${count:-1}"
}

# The node names for a node count ($1): this host's short name for one node, else emgnode1..N.
node_names_for() {
  local count=$1 index
  if ((count <= 1)); then
    hostname -s
    return
  fi
  for ((index = 1; index <= count; index++)); do
    echo "$NODE_NAME_PREFIX$index"
  done
}

# Every network namespace a multi-node cluster made (whatever its node count was).
existing_node_netns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${NODE_NETNS_PREFIX}[0-9]+\$" || true; }

# The pid of node $1's slurmd if it runs.
live_node_slurmd() { live_pid "$(slurmd_pid_name "$1")" slurmd; }

# Start node $1's slurmd inside its namespaces (multi-node mode; its network must exist).
# nsenter, not `ip netns exec`: the latter remounts /sys without the cgroup hierarchy and slurmd
# then dies with "Unable to initialize cgroup plugin". slurmd daemonizes; its pid file is
# SlurmdPidFile with %n. The caller closes its lock descriptor (9>&-).
start_node_slurmd() {
  local node=$1
  rm -f "$(pid_file "$(slurmd_pid_name "$node")")"
  mkdir -p "$SPOOL_DIR/d-$node"
  # shellcheck disable=SC2016 # $1 expands in the inner sh
  nsenter --net="/run/netns/$(node_netns "$node")" unshare --uts \
    sh -c 'hostname "$1" && exec slurmd -N "$1"' sh "$node" 9>&-
}

# --- multi-node network -----------------------------------------------------------------------
# Jobs on a node must reach what jobs on the single node reach: the platform's services on this
# machine's 127.0.0.1 (ENA mirror, Prefect, Postgres, slurmrestd...), DNS and the outside world.
#  - In a node's namespace, TCP/UDP to 127.0.0.1 (but slurmd's own port 6818) is DNATed to
#    10.77.0.1 and SNATed to the node's address (net.ipv4.conf.*.route_localnet=1 allows loopback
#    sources to be rerouted).
#  - Here, what arrives on the bridge for 10.77.0.1 (but slurmctld 6817 and slurmdbd 6819, which
#    listen on every address and must see the node's real address) is DNATed to 127.0.0.1 and
#    SNATed to 127.0.0.1, so services bound to 127.0.0.1 answer and see a loopback client.
#  - The rest (DNS, other hosts) is forwarded and masqueraded: ip_forward=1 while the cluster is up
#    (the value before is kept in run/ip_forward.before and restored by down.sh).
# Trade-off: a job cannot reach a server it starts itself on 127.0.0.1 (its own loopback); it can
# on the node's address or 0.0.0.0.
IP_FORWARD_SAVE="$RUN_DIR/ip_forward.before"
HOSTS_BEGIN="# >>> emg slurm-dev-environment nodes (written by up.sh, removed by down.sh)"
HOSTS_END="# <<< emg slurm-dev-environment nodes"

host_network_ready() {
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 &&
    ip -4 addr show dev "$NODE_BRIDGE" | grep -q "inet $NODE_GATEWAY/" &&
    nft list table ip "$NFT_HOST_TABLE" >/dev/null 2>&1 &&
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
}

ensure_host_network() {
  host_network_ready && return 0
  log "creating bridge $NODE_BRIDGE ($NODE_GATEWAY/24)"
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 ||
    ip link add "$NODE_BRIDGE" type bridge stp_state 0 forward_delay 0
  ip addr replace "$NODE_GATEWAY/24" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  sysctl -qw "net.ipv4.conf.$NODE_BRIDGE.route_localnet=1"
  [ -e "$IP_FORWARD_SAVE" ] || cat /proc/sys/net/ipv4/ip_forward >"$IP_FORWARD_SAVE"
  sysctl -qw net.ipv4.ip_forward=1
  # Replace the table atomically (create, flush, fill in one transaction).
  nft -f - <<NFT
table ip $NFT_HOST_TABLE
flush table ip $NFT_HOST_TABLE
table ip $NFT_HOST_TABLE {
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    iifname "$NODE_BRIDGE" ip daddr $NODE_GATEWAY meta l4proto { tcp, udp } th dport != { 6817, 6819 } dnat to 127.0.0.1
  }
  chain input {
    type nat hook input priority 100; policy accept;
    iifname "$NODE_BRIDGE" ct status dnat snat to 127.0.0.1
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    ip saddr $NODE_SUBNET oifname != "$NODE_BRIDGE" masquerade
  }
}
NFT
}

node_network_ready() {
  local node=$1
  [ -e "/run/netns/$(node_netns "$node")" ] && ip link show "$(node_veth "$node")" >/dev/null 2>&1
}

# Node $1's namespace, veth pair (eth0 inside) on the bridge, address, routes and NAT. Leaves a
# complete node alone (so a link taken down by node.sh stays down).
ensure_node_network() {
  local node=$1 netns veth addr
  netns=$(node_netns "$node")
  veth=$(node_veth "$node")
  addr=$(node_addr "$node")
  node_network_ready "$node" && return 0
  log "creating network namespace $netns ($addr) for $node"
  [ -e "/run/netns/$netns" ] || ip netns add "$netns"
  ip link show "$veth" >/dev/null 2>&1 || ip link add "$veth" type veth peer name eth0 netns "$netns"
  ip link set "$veth" master "$NODE_BRIDGE"
  ip link set "$veth" up
  ip -n "$netns" link set lo up
  ip -n "$netns" addr replace "$addr/24" dev eth0
  ip -n "$netns" link set eth0 up
  ip -n "$netns" route replace default via "$NODE_GATEWAY"
  nsenter --net="/run/netns/$netns" sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
  nsenter --net="/run/netns/$netns" nft -f - <<NFT
table ip $NFT_NODE_TABLE
flush table ip $NFT_NODE_TABLE
table ip $NFT_NODE_TABLE {
  chain output {
    type nat hook output priority -100; policy accept;
    ip daddr 127.0.0.1 meta l4proto { tcp, udp } th dport != 6818 dnat to $NODE_GATEWAY
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    oifname "eth0" ip saddr 127.0.0.0/8 snat to $addr
  }
}
NFT
}

# /etc/hosts without the nodes' block (stdout).
hosts_without_nodes() {
  awk -v begin="$HOSTS_BEGIN" -v end="$HOSTS_END" '$0 == begin {skip = 1; next} $0 == end {skip = 0; next} !skip' /etc/hosts
}

# The node names resolve everywhere (a program in a job that looks up its own host name must not
# wait for DNS). /etc/hosts is rewritten in place: in a container it is a bind mount.
write_hosts_block() {
  local count=$1 new node
  new=$(
    hosts_without_nodes
    echo "$HOSTS_BEGIN"
    for node in $(node_names_for "$count"); do echo "$(node_addr "$node") $node"; done
    echo "$HOSTS_END"
  )
  [ "$new" = "$(cat /etc/hosts)" ] || printf '%s\n' "$new" >/etc/hosts
}

remove_hosts_block() {
  grep -qxF "$HOSTS_BEGIN" /etc/hosts 2>/dev/null || return 0
  local new
  new=$(hosts_without_nodes)
  printf '%s\n' "$new" >/etc/hosts
}

# SIGKILL every process in node $1's network namespace (slurmd, slurmstepd, the jobs), repeated
# until none is left (a job may fork meanwhile). Prints how many were killed.
kill_node_processes() {
  local netns pids killed=0 round
  netns=$(node_netns "$1")
  [ -e "/run/netns/$netns" ] || {
    echo 0
    return 0
  }
  for ((round = 0; round < 50; round++)); do
    pids=$(ip netns pids "$netns" 2>/dev/null | tr '\n' ' ')
    [ -n "${pids// /}" ] || break
    # shellcheck disable=SC2086 # one pid a word
    kill -KILL $pids 2>/dev/null || true
    killed=$((killed + $(wc -w <<<"$pids")))
    sleep 0.1
  done
  echo "$killed"
}

# Remove everything the multi-node mode made: processes in the namespaces, the namespaces (their
# eth0 ends go with them, and so the veth pairs), the bridge, the NAT tables, the hosts block, and
# ip_forward as it was.
remove_node_network() {
  local netns veth
  for netns in $(existing_node_netns); do
    kill_node_processes "${netns/#$NODE_NETNS_PREFIX/$NODE_NAME_PREFIX}" >/dev/null
    ip netns delete "$netns" 2>/dev/null || true
  done
  for veth in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^${NODE_VETH_PREFIX}[0-9]+\$" || true); do
    ip link delete "$veth" 2>/dev/null || true
  done
  if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    log "removing bridge $NODE_BRIDGE and the node namespaces"
    ip link delete "$NODE_BRIDGE" type bridge 2>/dev/null || true
  fi
  if command -v nft >/dev/null 2>&1; then
    nft delete table ip "$NFT_HOST_TABLE" 2>/dev/null || true
  fi
  if [ -s "$IP_FORWARD_SAVE" ]; then
    sysctl -qw "net.ipv4.ip_forward=$(tr -dc '01' <"$IP_FORWARD_SAVE")" || true
    rm -f "$IP_FORWARD_SAVE"
  fi
  remove_hosts_block
}
