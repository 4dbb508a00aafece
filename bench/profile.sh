#!/usr/bin/env bash
# Profiles for bench/RESULTS.md, called by bench/run.sh:
#   bench/profile.sh HCSRUN TOOLS ROOTFS WORK OUT
# (TOOLS is the bench-tools program) writes text files to OUT:
# - *-ftrace.txt: timelines from the kernel's tracepoints, recorded in a
#   private tracefs instance (`bench-tools ftrace`): the command runs at
#   nearly full speed; paths are not shown. Skipped with BENCH_NO_FTRACE=1
#   (bench/run.sh sets it when tracefs cannot be mounted).
# - *-strace.txt: the same with paths, from strace (which stops the command
#   at every traced call, so its times are stretched).
# Each command runs once untraced first, so that caches are as warm as in
# the measurements.
set -euo pipefail
HCSRUN=$1 TOOLS=$2 ROOTFS=$3 WORK=$4 OUT=$5
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
MIB64=$((64 << 20))

ftrace() { # NAME COMMAND...
    local name=$1
    shift
    # bench/run.sh found no tracefs (and said so).
    [ -z "${BENCH_NO_FTRACE:-}" ] || return 0
    "$@" >/dev/null 2>&1
    "$TOOLS" ftrace --out "$OUT/$name-ftrace.txt" -- "$@"
}

strace_timeline() { # NAME COMMAND...
    local name=$1 calls
    shift
    calls=execve,clone,clone3,vfork,exit_group,wait4,waitid,pivot_root,mount,umount2
    calls=$calls,mkdir,mkdirat,rmdir,unlinkat,sethostname,unshare,setns,sendmsg,recvmsg
    calls=$calls,write,openat2
    "$@" >/dev/null 2>&1
    strace -f --seccomp-bpf -tt -T -y -e trace="$calls" -o "$TMP/$name" "$@" >/dev/null 2>&1
    {
        echo "strace -f --seccomp-bpf -tt -T -y -e trace=$calls $*"
        echo
        "$TOOLS" timeline "$TMP/$name"
    } >"$OUT/$name-strace.txt"
}

ftrace lifecycle-hcsrun "$HCSRUN" run --rm --layer "$ROOTFS" -- /bin/true
ftrace lifecycle-runc runc run --bundle "$WORK/runc-true" "bench-profile-$$"
ftrace lifecycle-unshare unshare -pfmu --fork true
strace_timeline lifecycle-hcsrun "$HCSRUN" run --rm --layer "$ROOTFS" -- /bin/true

ftrace stdio-hcsrun-head-64MiB "$HCSRUN" run --rm --layer "$ROOTFS" -- head -c $MIB64 /dev/zero
ftrace stdio-plain-head-64MiB "$ROOTFS/bin/busybox" head -c $MIB64 /dev/zero
