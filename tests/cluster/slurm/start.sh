#!/usr/bin/env bash
# Start a single-node SLURM test cluster on loopback (for tests/cluster/test_slurm.py).
#
#   QGENFLOW_SLURM_TEST=1 tests/cluster/slurm/start.sh     (or: start.sh --yes)
#
# Installs munge, SLURM (slurmctld, slurmd, slurmdbd, clients) and MariaDB with apt-get
# when they are missing, writes /etc/slurm/slurm.conf and /etc/slurm/slurmdbd.conf, and
# starts munged, a private MariaDB (unix socket only, data under the state directory),
# slurmdbd, slurmctld and slurmd, all bound to 127.0.0.1. Waits until the node is idle,
# then registers the account "qgenflow" for root. Root only; refuses to overwrite a
# SLURM configuration it did not write. Safe to re-run: it first stops (stop.sh) and wipes
# a previous test cluster, so every start is a fresh cluster with empty accounting.
# Everything it started is stopped by stop.sh. State and daemon logs: /var/lib/qgenflow-slurm
# (QGENFLOW_SLURM_STATE overrides).
#
# Exit status: 0 ready; 2 refused (not root / not asked / not Linux); 3 the packages
# could not be installed (no apt-get, no network, ...); 1 any other failure.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"
usage_guard "$@"

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null || die "apt-get not found; cannot install ${missing[*]}" 3
    log "installing ${missing[*]} (apt-get, about a minute)"
    # Packages must not start their own daemons: a policy-rc.d that denies it, unless one exists.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# %s\nexit 101\n' "$MARKER" >"$policy"
        chmod 755 "$policy"
        added_policy=1
    fi
    local rc=0
    {
        apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                -o Dpkg::Options::=--force-confold "${missing[@]}"
    } >"$LOGDIR/apt.log" 2>&1 || rc=$?
    ((added_policy)) && rm -f "$policy"
    if ((rc != 0)); then
        tail -n 20 "$LOGDIR/apt.log" >&2
        die "apt-get could not install ${missing[*]} (log: $LOGDIR/apt.log)" 3
    fi
}

wait_for() {
    # wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.5 s until it succeeds;
    # give up early if the process $WATCH_PID (when set) has died.
    local seconds=$1 what=$2 i
    shift 2
    for ((i = 0; i < seconds * 2; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        if [[ -n ${WATCH_PID:-} ]] && ! pid_alive "$WATCH_PID"; then
            show_logs
            die "$what exited during start-up; logs in $LOGDIR"
        fi
        sleep 0.5
    done
    show_logs
    die "$what not ready after $seconds s; logs in $LOGDIR"
}

show_logs() {
    local f
    for f in "$LOGDIR"/*.log; do
        [[ -s $f ]] && { log "--- tail of $f"; tail -n 15 "$f" >&2; }
    done
    return 0
}

node_idle() { [[ $(sinfo -h -n "$NODE" -o %t 2>/dev/null) == idle ]]; }

resolve_hostname() {
    # slurmctld and srun bind to the address this host's name resolves to
    # (CommunicationParameters=NoInAddrAny): make an unresolvable name resolve to loopback.
    local host
    host=$(hostname -s)
    getent hosts "$host" >/dev/null && return 0
    log "$host does not resolve; adding '127.0.0.1 $host' to /etc/hosts (stop.sh removes it)"
    printf '127.0.0.1 %s # %s\n' "$host" "$MARKER" >>/etc/hosts
}

write_configs() {
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc --all)
    # RealMemory as slurmd measures it, less 5 % so slurmd never finds less than configured.
    mem=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    mem=$((${mem:-2048} * 95 / 100))
    cat >"$SLURM_CONF_FILE" <<EOF
# $MARKER
# A single-node test cluster on loopback; removed by stop.sh.
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
# no cgroups: works in containers and without systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
InactiveLimit=0
KillWait=10
# accounting: every job is recorded by slurmdbd, with the comment the plugin gives it
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
# finished jobs stay visible to squeue/scontrol for an hour
MinJobAge=3600
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    chmod 644 "$SLURM_CONF_FILE"
    cat >"$DBD_CONF_FILE" <<EOF
# $MARKER
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
PidFile=$STATE/slurmdbd.pid
LogFile=$LOGDIR/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$DBD_CONF_FILE"
}

start_munge() {
    if munge -n -S "$MUNGE_SOCKET" 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1; then
        log "munged already running; using it"
        return 0
    fi
    [[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 600 /etc/munge/munge.key
    install -d -o munge -g munge -m 755 /run/munge
    install -d -o munge -g munge -m 700 /var/lib/munge /var/log/munge
    install -d -o munge -g munge -m 755 "$STATE/munge"
    touch "$LOGDIR/munged.log" && chown munge "$LOGDIR/munged.log"
    runuser -u munge -- /usr/sbin/munged 9>&- --pid-file="$MUNGED_PID" --socket="$MUNGE_SOCKET" \
        --log-file="$LOGDIR/munged.log"
    wait_for 20 munged bash -c "munge -n -S $MUNGE_SOCKET | unmunge -S $MUNGE_SOCKET"
}

start_mariadb() {
    if [[ -S $MYSQL_SOCKET ]] && mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" -u root ping >/dev/null 2>&1; then
        die "a MariaDB/MySQL server not started by this script answers on $MYSQL_SOCKET; stop it first"
    fi
    install -d -o mysql -g mysql -m 755 /run/mysqld "$STATE/mysql"
    touch "$LOGDIR/mariadbd.log" && chown mysql "$LOGDIR/mariadbd.log"
    mariadb-install-db --no-defaults --user=mysql --datadir="$STATE/mysql" \
        --auth-root-authentication-method=socket --skip-test-db >"$LOGDIR/mariadb-install-db.log" 2>&1 ||
        die "mariadb-install-db failed (log: $LOGDIR/mariadb-install-db.log)"
    setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$STATE/mysql" \
        --socket="$MYSQL_SOCKET" --skip-networking --pid-file="$MARIADBD_PID" \
        --log-error="$LOGDIR/mariadbd.log" --innodb-buffer-pool-size=64M \
        --innodb-lock-wait-timeout=900 </dev/null >>"$LOGDIR/mariadbd.log" 2>&1 9>&- &
    WATCH_PID=$!
    wait_for 60 MariaDB mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" -u root ping
    WATCH_PID=
}

take_lock
mkdir -p "$STATE"
# A previous test cluster (crashed test, second start): stop it and start from scratch.
stop_cluster
for f in "$SLURM_CONF_FILE" "$DBD_CONF_FILE"; do
    [[ -e $f ]] && ! ours "$f" && die "$f exists and was not written by this script; refusing to overwrite it"
done
rm -rf "${STATE:?}"/{mysql,slurmctld,slurmd}
mkdir -p "$LOGDIR" "$STATE/slurmctld" "$STATE/slurmd" "$ETC"

install_packages
resolve_hostname
log "writing $SLURM_CONF_FILE and $DBD_CONF_FILE"
write_configs
start_munge
log "starting MariaDB (socket $MYSQL_SOCKET, no network)"
start_mariadb
log "starting slurmdbd"
slurmdbd 9>&-
wait_for 60 slurmdbd sacctmgr -n list cluster
log "starting slurmctld"
slurmctld 9>&-
wait_for 60 slurmctld scontrol ping
log "starting slurmd (node $NODE)"
slurmd -N "$NODE" 9>&-
wait_for 90 "node $NODE idle" node_idle
# slurmctld registers the cluster in slurmdbd itself; add an account that jobs can name.
wait_for 60 "cluster registration" bash -c "sacctmgr -n -P list cluster format=cluster | grep -qx $CLUSTER"
sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" description="qgenflow tests" >/dev/null
sacctmgr -i add user root account="$ACCOUNT" cluster="$CLUSTER" >/dev/null
log "ready: $(sinfo -h -o '%P %D %t %c' | tr -s ' ') (cluster $CLUSTER, account $ACCOUNT)"
