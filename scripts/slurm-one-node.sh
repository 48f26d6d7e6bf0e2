#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (munged, slurmctld and slurmd, no systemd needed), for
# trying `rnnbook build --executor slurm` without a real cluster. Not secure: see docs/slurm.md.
#
#   bash scripts/slurm-one-node.sh start    # idempotent; restarts the daemons if the config changed
#   bash scripts/slurm-one-node.sh stop     # stops the daemons this script started
#   bash scripts/slurm-one-node.sh status   # sinfo, the daemons, and whether munge works
#
# Run as root. Needs Debian's packages: apt-get install -y slurm-wlm munge
# Every wait is bounded; a failure prints the tail of the log that says why.
#
# Memory limits (--mem): where the cgroup v1 memory controller is mounted and writable (this
# project's machines), task/cgroup has the kernel enforce them and a task over its --mem ends
# OUT_OF_MEMORY, as on a real cluster. Elsewhere (say cgroup v2 only, whose Slurm plugin needs a
# delegated cgroup, normally from systemd) slurmstepd polls the tasks' memory every second and
# kills a task over its --mem, which then ends FAILED with ExitCode 0:9 (its output says
# "Exceeded job memory limit"). SLURM_ONE_NODE_MEMORY=cgroup|poll forces one of the two.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
CGROUP_CONF=/etc/slurm/cgroup.conf
LOG_DIR=/var/log/slurm
CTLD_LOG=$LOG_DIR/slurmctld.log
SLURMD_LOG=$LOG_DIR/slurmd.log
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd
# What this script started, and the configuration the running daemons read.
RUN_DIR=/run/slurm-one-node
STARTED_CONF=$RUN_DIR/conf.started

MUNGE_KEY=/etc/munge/munge.key
MUNGE_SOCKET_DIR=/run/munge
MUNGE_PID=$MUNGE_SOCKET_DIR/munged.pid
MUNGE_LOG=/var/log/munge/munged.log
MUNGE_OURS=$RUN_DIR/munged.ours

PATH=$PATH:/usr/sbin:/sbin
NODE=$(hostname -s)
APT_LINE="apt-get install -y slurm-wlm munge"

say() { echo "slurm-one-node: $*"; }

# fail MESSAGE [LOG]: the message, the tail of LOG if given, exit 1.
fail() {
    echo "slurm-one-node: error: $1" >&2
    if [[ -n ${2:-} ]]; then
        if [[ -r $2 ]]; then
            echo "--- last 30 lines of $2:" >&2
            tail -n 30 "$2" >&2
            echo "---" >&2
        else
            echo "($2 does not exist)" >&2
        fi
    fi
    exit 1
}

# wait_until SECONDS WHAT LOG PIDFILE NAME COMMAND...: runs COMMAND every half second until it
# succeeds; fails with WHAT and the tail of LOG after SECONDS, or as soon as the daemon NAME of
# PIDFILE has died (after 2 s, to give it time to write the file). COMMAND must be bounded.
wait_until() {
    local limit=$1 what=$2 log=$3 pidfile=$4 name=$5
    shift 5
    local start=$SECONDS
    until "$@" >/dev/null 2>&1; do
        ((SECONDS - start < limit)) || fail "$what: not after ${limit}s" "$log"
        if ((SECONDS - start >= 2)) && ! alive "$pidfile" "$name"; then
            fail "$what: $name is not running (it exited)" "$log"
        fi
        sleep 0.5
    done
}

# alive PIDFILE NAME: the process in PIDFILE is running (not a zombie) and is NAME.
alive() {
    local pid stat
    pid=$(cat "$1" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# stop_pid PIDFILE NAME: SIGTERM, up to 20 s to exit, then SIGKILL.
stop_pid() {
    local pidfile=$1 name=$2 pid deadline
    if ! alive "$pidfile" "$name"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(cat "$pidfile" 2>/dev/null) || return 0
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 20))
    while alive "$pidfile" "$name" && ((SECONDS < deadline)); do sleep 0.5; done
    if alive "$pidfile" "$name"; then
        say "$name did not exit 20 s after SIGTERM: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pidfile"
}

munge_works() { timeout 10 munge -n 2>/dev/null | timeout 10 unmunge >/dev/null 2>&1; }
ctld_up() { timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'; }
node_state() { timeout 10 sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1; }

need_packages() {
    local missing=() tool
    for tool in sbatch srun sinfo scontrol squeue slurmctld slurmd munged munge unmunge; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if ((${#missing[@]})); then
        echo "slurm-one-node: not installed: ${missing[*]}. Install Slurm and munge first (as root):" >&2
        echo "  $APT_LINE" >&2
        exit 1
    fi
}

need_root() {
    ((EUID == 0)) || fail "run as root (sudo bash $0 $1): it writes /etc/slurm and starts daemons"
}

# memory_mode: cgroup where the cgroup v1 memory controller can be used, poll elsewhere.
memory_mode() {
    case ${SLURM_ONE_NODE_MEMORY:-auto} in
        cgroup | poll)
            echo "$SLURM_ONE_NODE_MEMORY"
            return
            ;;
        auto) ;;
        *) fail "SLURM_ONE_NODE_MEMORY is '$SLURM_ONE_NODE_MEMORY': cgroup, poll or unset" ;;
    esac
    local probe=/sys/fs/cgroup/memory/slurm-one-node-probe.$$
    if [[ $(stat -f -c %T /sys/fs/cgroup/memory 2>/dev/null) == cgroupfs ]] &&
        mkdir "$probe" 2>/dev/null && rmdir "$probe"; then
        echo cgroup
    else
        echo poll
    fi
}

# The slurm.conf for this machine, on stdout. $1: memory mode.
write_conf() {
    local mode=$1 cpus mem margin realmem defmem
    cpus=$(nproc)
    mem=$(free -m | awk '/^Mem:/ {print $2}')
    # Keep some memory for the system and the daemons: 1 GiB, or a quarter on a small machine.
    margin=1024
    ((mem >= 4096)) || margin=$((mem / 4))
    realmem=$((mem - margin))
    # A job that asks no --mem gets its CPUs' share of the node, not the whole node (the default
    # with CR_Core_Memory, which would run such jobs one at a time).
    defmem=$((realmem / cpus))
    cat <<END
# Written by rnnbook's scripts/slurm-one-node.sh: a one-node TEST cluster on this machine.
# Every 'start' rewrites this file (edits are lost) and restarts the daemons if it changed.
# Not secure: the daemons run as root. See docs/slurm.md.
ClusterName=rnnbook
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
# No systemd needed: processes are tracked through /proc.
ProctrackType=proctrack/linuxproc
JobAcctGatherType=jobacct_gather/linux
END
    if [[ $mode == cgroup ]]; then
        cat <<END
# --mem is enforced by the kernel (cgroup v1 memory controller, see cgroup.conf): a task over
# it is OOM-killed and ends OUT_OF_MEMORY.
TaskPlugin=task/cgroup
JobAcctGatherFrequency=task=30
END
    else
        cat <<END
# No usable cgroup v1 memory controller: --mem is enforced by polling the tasks' memory every
# second; a task over it is killed (SIGKILL) and ends FAILED, ExitCode 0:9.
TaskPlugin=task/none
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
END
    fi
    cat <<END
# Cores and memory are both allocated, so --cpus-per-task and --mem decide how many tasks run.
# A job that can never run (more CPUs than the node has) is refused by sbatch, not left pending
# forever with Reason=PartitionConfig.
EnforcePartLimits=ALL
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$defmem
SchedulerType=sched/backfill
# Start queued tasks as soon as a slot frees, not up to 3 s later (the default delay, meant for
# clusters flooded with submissions): short array tasks then follow each other without gaps.
SchedulerParameters=batch_sched_delay=0
# No slurmdbd: plain sacct has no data ("Slurm accounting storage is disabled"). Finished jobs
# are written to a text file instead, which 'sacct -c' reads.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.log
# Finished jobs stay visible to 'scontrol show job' for an hour.
MinJobAge=3600
# Time limits are hard: SIGTERM once over it, SIGKILL KillWait seconds later.
OverTimeLimit=0
KillWait=30
ReturnToService=2
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
SlurmctldPort=6817
SlurmdPort=6818
NodeName=$NODE NodeHostname=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$realmem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
END
}

CGROUP_HEADER="# Written by rnnbook's scripts/slurm-one-node.sh (task/cgroup on cgroup v1)."
write_cgroup_conf() {
    cat <<END
$CGROUP_HEADER
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainRAMSpace=yes
ConstrainSwapSpace=no
ConstrainCores=no
ConstrainDevices=no
END
}

# update_file PATH CONTENT: writes CONTENT to PATH if it differs.
update_file() {
    if [[ ! -f $1 ]] || [[ $2 != "$(<"$1")" ]]; then
        say "writing $1"
        printf '%s\n' "$2" >"$1"
    fi
}

# What the running daemons must have read: slurm.conf and cgroup.conf.
conf_snapshot() { cat "$CONF" "$CGROUP_CONF" 2>/dev/null || true; }

start_munge() {
    if [[ ! -s $MUNGE_KEY ]]; then
        say "creating $MUNGE_KEY"
        install -d -o munge -g munge -m 0700 /etc/munge
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile="$MUNGE_KEY" --force
        else
            dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
        fi
        chown munge:munge "$MUNGE_KEY"
        chmod 0400 "$MUNGE_KEY"
        # A munged of ours that runs with another key must be restarted.
        if [[ -e $MUNGE_OURS ]]; then stop_pid "$MUNGE_PID" munged; fi
    fi
    if munge_works; then
        return 0
    fi
    if alive "$MUNGE_PID" munged; then
        say "munged runs but 'munge -n | unmunge' fails: restarting it"
        stop_pid "$MUNGE_PID" munged
    fi
    say "starting munged"
    # As root, munged refuses the munge user's key and directories ("Logfile is insecure:
    # invalid ownership"): it runs as munge, as Debian's service file does.
    install -d -o munge -g munge -m 0755 "$MUNGE_SOCKET_DIR"
    install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
    runuser -u munge -- munged --force || fail "munged did not start" "$MUNGE_LOG"
    touch "$MUNGE_OURS"
    wait_until 15 "munge -n | unmunge" "$MUNGE_LOG" "$MUNGE_PID" munged munge_works
}

start_daemons() {
    install -d -m 0755 "$LOG_DIR" "$STATE_DIR" "$SPOOL_DIR"
    if ! alive "$CTLD_PID" slurmctld; then
        say "starting slurmctld"
        # -i: start even if the state saved by an earlier run cannot be read.
        slurmctld -i || fail "slurmctld did not start" "$CTLD_LOG"
    fi
    wait_until 30 "slurmctld answering 'scontrol ping'" "$CTLD_LOG" "$CTLD_PID" slurmctld ctld_up
    if ! alive "$SLURMD_PID" slurmd; then
        say "starting slurmd"
        slurmd || fail "slurmd did not start" "$SLURMD_LOG"
    fi
    conf_snapshot >"$STARTED_CONF"
}

# Waits until the node takes jobs; resumes it if it is down or drained (an earlier run's state).
wait_node_ready() {
    local deadline=$((SECONDS + 60)) state last_resume=-10
    while :; do
        state=$(node_state || true)
        case $state in
            idle | mixed | allocated | completing) return 0 ;;
            down | drained | draining | drain | fail | failing)
                if ((SECONDS - last_resume >= 5)); then
                    say "node $NODE is $state: resuming it"
                    timeout 10 scontrol update nodename="$NODE" state=resume || true
                    last_resume=$SECONDS
                fi
                ;;
        esac
        if ((SECONDS + 58 >= deadline)) && ! alive "$SLURMD_PID" slurmd; then
            fail "slurmd is not running (it exited)" "$SLURMD_LOG"
        fi
        if ((SECONDS >= deadline)); then
            timeout 10 scontrol show node "$NODE" >&2 || true
            echo "--- last 30 lines of $CTLD_LOG:" >&2
            tail -n 30 "$CTLD_LOG" >&2 || true
            fail "node $NODE is '${state:-unknown to sinfo}', not idle, after 60 s" "$SLURMD_LOG"
        fi
        sleep 0.5
    done
}

cmd_start() {
    need_root start
    need_packages
    local t0=$SECONDS mode
    mkdir -p "$RUN_DIR" /etc/slurm
    start_munge

    mode=$(memory_mode)
    update_file "$CONF" "$(write_conf "$mode")"
    if [[ $mode == cgroup ]]; then
        update_file "$CGROUP_CONF" "$(write_cgroup_conf)"
    elif [[ -f $CGROUP_CONF ]] && [[ $(head -n 1 "$CGROUP_CONF") == "$CGROUP_HEADER" ]]; then
        say "removing $CGROUP_CONF (memory is polled here)"
        rm -f "$CGROUP_CONF"
    fi
    # Daemons started with another configuration (or by someone else) are restarted to read it.
    if alive "$CTLD_PID" slurmctld || alive "$SLURMD_PID" slurmd; then
        if [[ ! -f $STARTED_CONF ]] || [[ $(conf_snapshot) != "$(<"$STARTED_CONF")" ]]; then
            say "the configuration changed since the daemons started: restarting them"
            stop_pid "$SLURMD_PID" slurmd
            stop_pid "$CTLD_PID" slurmctld
        fi
    fi
    start_daemons
    wait_node_ready
    say "ready in $((SECONDS - t0)) s: node $NODE, $(nproc) CPUs, partition debug;" \
        "--mem enforced by $([[ $mode == cgroup ]] && echo "cgroup v1 (OUT_OF_MEMORY)" || echo "polling (FAILED 0:9)")"
    timeout 10 sinfo
}

cmd_stop() {
    need_root stop
    stop_pid "$SLURMD_PID" slurmd
    stop_pid "$CTLD_PID" slurmctld
    if [[ -e $MUNGE_OURS ]]; then
        stop_pid "$MUNGE_PID" munged
        rm -f "$MUNGE_OURS"
    fi
    rm -f "$STARTED_CONF"
    say "stopped"
}

cmd_status() {
    local ok=0 d
    if ! { command -v sinfo >/dev/null 2>&1 && timeout 10 sinfo; }; then
        echo "sinfo: no answer from slurmctld"
        ok=1
    fi
    for d in slurmctld:$CTLD_PID slurmd:$SLURMD_PID munged:$MUNGE_PID; do
        if alive "${d#*:}" "${d%%:*}"; then
            echo "${d%%:*}: running (pid $(<"${d#*:}"))"
        else
            echo "${d%%:*}: not running"
            ok=1
        fi
    done
    if command -v munge >/dev/null 2>&1 && munge_works; then
        echo "munge: works (munge -n | unmunge)"
    else
        echo "munge: 'munge -n | unmunge' FAILS"
        ok=1
    fi
    return $ok
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
