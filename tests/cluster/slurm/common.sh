# Shared settings and helpers of start.sh and stop.sh (sourced, not run).
#
# The test cluster is one SLURM node on loopback: munged, a private MariaDB
# (unix socket only), slurmdbd, slurmctld and slurmd, all run as root, all state under
# $QGENFLOW_SLURM_STATE. Files written outside it carry $MARKER so that stop.sh removes
# only what start.sh wrote, and start.sh never overwrites a configuration it did not write.

set -euo pipefail

STATE=${QGENFLOW_SLURM_STATE:-/var/lib/qgenflow-slurm}
LOGDIR=$STATE/log
ETC=/etc/slurm                     # fixed: jobs strip SLURM_* variables, so SLURM_CONF cannot point elsewhere
SLURM_CONF_FILE=$ETC/slurm.conf
DBD_CONF_FILE=$ETC/slurmdbd.conf
MYSQL_SOCKET=/run/mysqld/mysqld.sock  # the MariaDB client's default socket, which slurmdbd uses
MUNGE_SOCKET=/run/munge/munge.socket.2
MUNGED_PID=$STATE/munge/munged.pid      # in directories the daemons' users own
MARIADBD_PID=$STATE/mysql/mariadbd.pid
LOCK=/run/lock/qgenflow-slurm.lock
MARKER="written by qgenflow tests/cluster/slurm/start.sh"
CLUSTER=qgenflow
PARTITION=local
ACCOUNT=qgenflow
NODE=localhost
PACKAGES=(munge slurm-client slurmctld slurmd slurmdbd mariadb-server)

log() { printf '[slurm-test] %s\n' "$*" >&2; }
die() { log "ERROR: $1"; exit "${2:-1}"; }

usage_guard() {
    # Refuse to run unless root, on Linux, and explicitly asked: this writes /etc/slurm.
    local yes=0 arg
    for arg in "$@"; do
        case $arg in
            --yes) yes=1 ;;
            -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
            *) die "unknown argument: $arg" 2 ;;
        esac
    done
    [[ ${QGENFLOW_SLURM_TEST:-} == 1 ]] && yes=1
    ((yes)) || die "this installs SLURM and writes $ETC; pass --yes or set QGENFLOW_SLURM_TEST=1" 2
    [[ $(uname -s) == Linux ]] || die "Linux only" 2
    [[ $(id -u) == 0 ]] || die "must run as root" 2
}

take_lock() {
    # One start/stop at a time on this machine.
    mkdir -p "$(dirname "$LOCK")"
    # Daemons must not inherit fd 9: start them with 9>&-.
    exec 9>"$LOCK"
    if ! flock -n 9; then
        log "waiting for $LOCK (another start/stop is running)"
        flock -w 600 9 || die "could not take $LOCK within 600 s"
    fi
}

ours() { [[ -f $1 ]] && grep -qF "$MARKER" "$1"; }

pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

stop_pidfile() {
    # stop_pidfile NAME PIDFILE: SIGTERM the process named in PIDFILE, SIGKILL after 30 s.
    local name=$1 pidfile=$2 pid i
    [[ -f $pidfile ]] || return 0
    pid=$(tr -dc 0-9 <"$pidfile")
    if pid_alive "$pid"; then
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do pid_alive "$pid" || break; sleep 0.1; done
        if pid_alive "$pid"; then
            log "$name did not stop within 30 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
        fi
    fi
    rm -f "$pidfile"
}

stop_cluster() {
    # Stop everything start.sh started (by the pid files it keeps), remove the files it wrote.
    if ours "$SLURM_CONF_FILE" && command -v squeue >/dev/null && scontrol ping >/dev/null 2>&1; then
        local jobs
        jobs=$(squeue -h -t pending,running,suspended,completing -o %i 2>/dev/null | tr '\n' ' ')
        if [[ -n ${jobs// /} ]]; then
            log "cancelling jobs still in the test cluster: $jobs"
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            sleep 2
        fi
    fi
    stop_pidfile slurmd "$STATE/slurmd.pid"
    stop_pidfile slurmctld "$STATE/slurmctld.pid"
    stop_pidfile slurmdbd "$STATE/slurmdbd.pid"
    stop_pidfile MariaDB "$MARIADBD_PID"
    stop_pidfile munged "$MUNGED_PID"
    local f
    for f in "$SLURM_CONF_FILE" "$DBD_CONF_FILE"; do
        if ours "$f"; then rm -f "$f"; fi
    done
    if grep -qF "$MARKER" /etc/hosts 2>/dev/null; then
        # rewrite in place: /etc/hosts is often a bind mount that cannot be replaced
        local kept
        kept=$(grep -vF "$MARKER" /etc/hosts || true)
        printf '%s\n' "$kept" >/etc/hosts
    fi
}
