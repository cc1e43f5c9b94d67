#!/usr/bin/env bash
# Stop the SLURM test cluster that start.sh started.
#
#   QGENFLOW_SLURM_TEST=1 tests/cluster/slurm/stop.sh      (or: stop.sh --yes)
#
# Cancels jobs left in the test cluster, stops slurmd, slurmctld, slurmdbd, MariaDB and
# munged (only the processes start.sh started, found by their pid files; a munged that was
# already running is left alone), and removes /etc/slurm/slurm.conf and slurmdbd.conf if
# start.sh wrote them. The packages stay installed; state and logs stay in
# /var/lib/qgenflow-slurm for inspection (start.sh wipes them). Idempotent: stopping a
# stopped cluster does nothing.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"
usage_guard "$@"
take_lock
stop_cluster
log "stopped"
