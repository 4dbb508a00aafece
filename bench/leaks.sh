#!/usr/bin/env bash
# Issue 13's leak loop: N cycles (default 1000) of a foreground
# `hcsrun run --stop-timeout 1 -- sleep 100` (sh's sleep ignores SIGTERM as pid 1,
# so each stop takes the timeout) ended the way a user ends it — SIGINT (Ctrl-C),
# SIGTERM or SIGHUP, in turn — and, every tenth cycle, `kill -9` of hcsrun
# or of its holder. After the loop the host is compared with what it was
# before: processes, mounts, cgroup directories in every hierarchy, loop
# devices, open descriptors of this shell, /run/hcsrun and the scratch root.
# Zero of each is expected; the script exits 1 and names what leaked if not.
#
#   bench/leaks.sh              # 1000 cycles (about 10 minutes on 2 cores)
#   LEAK_CYCLES=50 bench/leaks.sh
#
# A benchmark, not a test: it runs long, so CI does not run it. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
CYCLES=${LEAK_CYCLES:-1000}
WORK=${BENCH_WORK:-/var/tmp/hcsrun-bench}
ROOTFS=$WORK/leaks-rootfs
PREFIX=leak-$$

log() { echo "leaks: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "containers need root; run bench/leaks.sh as root"
    exit 1
fi
command -v busybox >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
}

rm -rf "$ROOTFS"
mkdir -p "$ROOTFS"/{bin,dev,etc,proc,sys,tmp,root,run}
cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
chroot "$ROOTFS" /bin/busybox --install -s /bin

log "building (release)"
cargo build --release --locked -q -p hcsrun-cli -p hcsrun-shim --bins
HCSRUN=$REPO/target/release/hcsrun

# What the host holds, as sorted lines, one file per kind.
snapshot() {
    local out=$1
    mkdir -p "$out"
    pgrep -a -f "hcsrun|sleep 100" | grep -v -e "leaks.sh" -e pgrep | sed 's/^[0-9]* //' \
        | sort >"$out/processes" || true
    awk '{print $5}' /proc/self/mountinfo | sort >"$out/mounts"
    find /sys/fs/cgroup -mindepth 1 -type d -name "$PREFIX*" 2>/dev/null | sort >"$out/cgroups"
    losetup -a 2>/dev/null | sort >"$out/loops" || true
    # Listed by this shell itself: a pipeline's pipe, still open here while
    # `ls` ran, was counted as a leaked descriptor of the loop.
    local fds=(/proc/$$/fd/*)
    printf '%s\n' "${fds[@]##*/}" | sort >"$out/fds"
    ls /run/hcsrun 2>/dev/null | sort >"$out/state" || true
    ls /var/lib/hcsrun/scratch 2>/dev/null | sort >"$out/scratch" || true
}

# Waits until the container of $1 runs its command (its holder is up).
wait_started() {
    local id=$1 i
    for i in $(seq 200); do
        [ -e "/run/hcsrun/$id/state.json" ] && pgrep -f "sleep 100" >/dev/null && return 0
        sleep 0.01
    done
    return 1
}

holder_of() { pgrep -f "hcsrun-shim.*$1" | head -1; }

before=$(mktemp -d)
after=$(mktemp -d)
trap 'rm -rf "$before" "$after"' EXIT
snapshot "$before"

signals=(INT TERM HUP)
failures=0
start=$(date +%s)
for i in $(seq "$CYCLES"); do
    id=$PREFIX-$i
    "$HCSRUN" run --rm --stop-timeout 1 --name "$id" --layer "$ROOTFS" -- sleep 100 >/dev/null 2>&1 &
    pid=$!
    if ! wait_started "$id"; then
        log "cycle $i: $id did not start"
        failures=$((failures + 1))
    fi
    if [ $((i % 20)) -eq 0 ]; then
        how="kill -9 of hcsrun"
        kill -KILL "$pid"
    elif [ $((i % 20)) -eq 10 ]; then
        how="kill -9 of the holder"
        holder=$(holder_of "$id")
        [ -n "$holder" ] && kill -KILL "$holder"
    else
        sig=${signals[$((i % 3))]}
        how="SIG$sig"
        kill -"$sig" "$pid"
    fi
    wait "$pid" 2>/dev/null || true
    # A container whose hcsrun was killed runs on (as docker's does when
    # its client dies): `rm -f` ends it and removes its record, as a user
    # would; after the other ends it removes at most the exit record.
    "$HCSRUN" rm -f "$id" >/dev/null 2>&1 || true
    for _ in $(seq 100); do
        pgrep -f "hcsrun-shim.*$id" >/dev/null || break
        sleep 0.02
    done
    if pgrep -f "hcsrun-shim.*$id" >/dev/null; then
        log "cycle $i ($how): the holder of $id is still running"
        failures=$((failures + 1))
    fi
    if [ $((i % 100)) -eq 0 ]; then log "$i cycles"; fi
done
elapsed=$(($(date +%s) - start))
# The holders of the last kill -9 cycles were orphaned to the machine's
# init, which reaps them in its own time: a zombie until then. Ten seconds
# for every holder to be gone; one still there after is a leak.
for _ in $(seq 100); do
    pgrep -x hcsrun-shim >/dev/null || break
    sleep 0.1
done
snapshot "$after"

leaked=0
for kind in processes mounts cgroups loops fds state scratch; do
    extra=$(comm -13 "$before/$kind" "$after/$kind")
    if [ -n "$extra" ]; then
        leaked=$((leaked + $(wc -l <<<"$extra")))
        log "leaked $kind:"
        sed 's/^/    /' <<<"$extra" >&2
    fi
done
log "$CYCLES cycles in ${elapsed}s: $failures failed cycles, $leaked leaked items"
[ "$leaked" -eq 0 ] && [ "$failures" -eq 0 ]
