#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (munged, slurmctld and slurmd, no systemd needed), for
# trying `rnnbook build --executor slurm` without a real cluster. Not secure: see docs/slurm.md.
#
#   bash scripts/slurm-one-node.sh start    # idempotent; restarts the daemons if slurm.conf changed
#   bash scripts/slurm-one-node.sh stop     # stops the daemons this script started
#   bash scripts/slurm-one-node.sh status   # sinfo, and whether munge works
#
# Run as root. Needs Debian's packages: apt-get install -y slurm-wlm munge
# Every wait is bounded; a failure prints the tail of the log that says why.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
LOG_DIR=/var/log/slurm
CTLD_LOG=$LOG_DIR/slurmctld.log
SLURMD_LOG=$LOG_DIR/slurmd.log
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd
# What this script started, and the slurm.conf the running daemons read.
RUN_DIR=/run/slurm-one-node
STARTED_CONF=$RUN_DIR/slurm.conf.started

MUNGE_KEY=/etc/munge/munge.key
MUNGE_SOCKET_DIR=/run/munge
MUNGE_PID=$MUNGE_SOCKET_DIR/munged.pid
MUNGE_LOG=/var/log/munge/munged.log
MUNGE_OURS=$RUN_DIR/munged.ours

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

# wait_until SECONDS WHAT LOG COMMAND...: runs COMMAND every half second until it succeeds;
# fails with WHAT and the tail of LOG after SECONDS. COMMAND must itself be bounded.
wait_until() {
    local limit=$1 what=$2 log=$3
    shift 3
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || fail "$what: not after ${limit}s" "$log"
        sleep 0.5
    done
}

# alive PIDFILE NAME: the process in PIDFILE is running and is NAME.
alive() {
    local pid
    [[ -r $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]]
}

# stop_pid PIDFILE NAME: SIGTERM, up to 20 s to exit, then SIGKILL.
stop_pid() {
    local pidfile=$1 name=$2 pid deadline
    if ! alive "$pidfile" "$name"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(<"$pidfile")
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 20))
    while alive "$pidfile" "$name" && ((SECONDS < deadline)); do sleep 0.5; done
    if alive "$pidfile" "$name"; then
        say "$name did not exit after SIGTERM and 20 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pidfile"
}

munge_works() { timeout 10 munge -n 2>/dev/null | timeout 10 unmunge >/dev/null 2>&1; }
ctld_up() { timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'; }
node_state() { timeout 10 sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1; }

need_packages() {
    local missing=()
    for tool in sbatch srun sinfo scontrol squeue slurmctld slurmd munged munge unmunge; do
        command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$tool" >/dev/null 2>&1 ||
            missing+=("$tool")
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

# The configuration for this machine, on stdout.
write_conf() {
    local cpus mem margin realmem defmem
    cpus=$(nproc)
    mem=$(free -m | awk '/^Mem:/ {print $2}')
    # Keep some memory for the system and the daemons: 1 GiB, or a quarter on a small machine.
    margin=1024
    ((mem >= 4096)) || margin=$((mem / 4))
    realmem=$((mem - margin))
    # A job that asks no --mem gets its CPUs' share of the node, not the whole node (the default
    # with CR_Core_Memory, which would run such jobs one at a time).
    defmem=$((realmem / cpus))
    cat <<EOF
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
# No systemd and no cgroup delegation needed: processes are tracked through /proc and memory
# limits are enforced by polling them (OverMemoryKill), every JobAcctGatherFrequency seconds.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
# Cores and memory are both allocated, so --cpus-per-task and --mem decide how many tasks run.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$defmem
SchedulerType=sched/backfill
# No slurmdbd: sacct has no accounting data. Finished jobs go to a text file instead, which
# 'sacct -c' reads.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.log
# Finished jobs stay visible to 'scontrol show job' for an hour.
MinJobAge=3600
# Time limits are hard limits; SIGTERM, then SIGKILL after KillWait seconds.
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
EOF
}

start_munge() {
    if [[ ! -s $MUNGE_KEY ]]; then
        say "creating $MUNGE_KEY"
        install -d -o munge -g munge -m 0700 /etc/munge
        if command -v mungekey >/dev/null 2>&1 || [[ -x /usr/sbin/mungekey ]]; then
            PATH=$PATH:/usr/sbin mungekey --create --keyfile="$MUNGE_KEY" --force
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
        say "munged runs but munge -n | unmunge fails: restarting it"
        stop_pid "$MUNGE_PID" munged
    fi
    say "starting munged"
    # munged refuses to run as root with the munge user's key and directories: run it as munge.
    install -d -o munge -g munge -m 0755 "$MUNGE_SOCKET_DIR"
    install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
    runuser -u munge -- /usr/sbin/munged --force ||
        fail "munged did not start" "$MUNGE_LOG"
    touch "$MUNGE_OURS"
    wait_until 15 "munge -n | unmunge" "$MUNGE_LOG" munge_works
}

start_daemons() {
    install -d -m 0755 "$LOG_DIR" "$STATE_DIR" "$SPOOL_DIR"
    if ! alive "$CTLD_PID" slurmctld; then
        say "starting slurmctld"
        # -i: start even if saved state from an earlier run cannot be read.
        slurmctld -i || fail "slurmctld did not start" "$CTLD_LOG"
    fi
    wait_until 30 "slurmctld answering 'scontrol ping'" "$CTLD_LOG" ctld_up
    if ! alive "$SLURMD_PID" slurmd; then
        say "starting slurmd"
        slurmd || fail "slurmd did not start" "$SLURMD_LOG"
    fi
    cp "$CONF" "$STARTED_CONF"
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
    local t0=$SECONDS new
    mkdir -p "$RUN_DIR" /etc/slurm
    start_munge

    new=$(write_conf)
    if [[ ! -f $CONF ]] || [[ $new != "$(<"$CONF")" ]]; then
        say "writing $CONF"
        printf '%s\n' "$new" >"$CONF"
    fi
    # Daemons started with another slurm.conf (or by someone else) are restarted to read this one.
    if alive "$CTLD_PID" slurmctld || alive "$SLURMD_PID" slurmd; then
        if ! cmp -s "$CONF" "$STARTED_CONF"; then
            say "slurm.conf changed since the daemons started: restarting them"
            stop_pid "$SLURMD_PID" slurmd
            stop_pid "$CTLD_PID" slurmctld
        fi
    fi
    start_daemons
    wait_node_ready
    say "ready in $((SECONDS - t0)) s: node $NODE ($(nproc) CPUs), partition debug"
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
    local ok=0
    if command -v sinfo >/dev/null 2>&1 && timeout 10 sinfo; then :; else
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
        echo "munge: munge -n | unmunge FAILS"
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
