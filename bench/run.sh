#!/usr/bin/env bash
# hcsrun's benchmarks against runc and the unshare floor, measured in one run
# on this machine (issue 7); writes bench/RESULTS.md. Run as root (no sudo is
# needed or used inside):
#
#   bench/run.sh            # everything (about ten minutes on 2 cores)
#   BENCH_QUICK=1 bench/run.sh   # fewer repetitions, to try the script out
#
# Installs what it needs (runc, busybox-static, strace), builds a busybox root
# file system and hcsrun (release), measures, profiles, and leaves no
# container, mount, cgroup or process behind. Re-runnable. The timelines it
# takes go to bench/out/profiles/ (not kept in git); the figures and the
# analysis to bench/RESULTS.md.
#
# hcsrun-bench measures hcsrun through its client and writes the report;
# bench-tools (bench/tools/) holds the general tools: commands timed side
# by side, cgroup.procs writes, ftrace and strace timelines.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

if [ "$(id -u)" -ne 0 ]; then
    echo "bench: containers need root; run bench/run.sh as root (for example with sudo)" >&2
    exit 1
fi

WORK=${BENCH_WORK:-/var/tmp/hcsrun-bench}
ROOTFS=$WORK/rootfs
RESULTS=$WORK/results
SCRATCH=$WORK/scratch
BYTES=1073741824
if [ -n "${BENCH_QUICK:-}" ]; then
    LIFECYCLE_RUNS=10 EXEC_RUNS=30 STDIO_RUNS=2 STDIO_DD_RUNS=3 SCALE_ROUNDS=1 CGROUP_RUNS=10
else
    LIFECYCLE_RUNS=60 EXEC_RUNS=200 STDIO_RUNS=7 STDIO_DD_RUNS=15 SCALE_ROUNDS=3 CGROUP_RUNS=40
fi
RUNC_EXEC_ID=bench-exec-runc-$$

log() { echo "bench: $*" >&2; }

# --- what the machine lacks -------------------------------------------------
need=()
command -v runc >/dev/null || need+=(runc)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" \
    || need+=(busybox-static)
command -v strace >/dev/null || need+=(strace)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- cleanup, also on failure ---------------------------------------------
# The bench's client keeps its systems under its own runtime directory and
# cgroup parent (hcsrun-bench); `hcsrun run` uses hcsrun's defaults, whose
# cgroup parents are removed only if this script made them.
hcsrun_parents_before=$(ls -d /sys/fs/cgroup/*/hcsrun /sys/fs/cgroup/hcsrun 2>/dev/null || true)
cleanup() {
    for id in $(runc list -q 2>/dev/null | grep '^bench-' || true); do
        runc delete -f "$id" >/dev/null 2>&1 || true
    done
    # Cgroups left by an interrupted cgroup-writes measurement (empty ones).
    for dir in /sys/fs/cgroup/*/hcsrun-bench-writes-* /sys/fs/cgroup/hcsrun-bench-writes-*; do
        [ -d "$dir" ] || continue
        find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    for dir in /sys/fs/cgroup/*/hcsrun-bench /sys/fs/cgroup/hcsrun-bench \
        /sys/fs/cgroup/*/hcsrun /sys/fs/cgroup/hcsrun; do
        [ -d "$dir" ] || continue
        case "$dir" in */hcsrun) grep -qxF "$dir" <<<"$hcsrun_parents_before" && continue ;; esac
        rmdir "$dir" 2>/dev/null || true
    done
    rmdir /run/hcsrun-bench 2>/dev/null || true
    rm -rf "$SCRATCH"
    if [ -n "${TRACEFS_MOUNTED:-}" ]; then
        umount "$TRACEFS" 2>/dev/null && TRACEFS_MOUNTED= || true
    fi
}
trap cleanup EXIT
cleanup

# --- the busybox root file system -----------------------------------------
log "building the busybox root file system in $ROOTFS"
rm -rf "$ROOTFS"
mkdir -p "$ROOTFS"/{bin,dev,etc,proc,sys,tmp,root,run}
cp /bin/busybox "$ROOTFS/bin/busybox"
chroot "$ROOTFS" /bin/busybox --install -s /bin
chmod 1777 "$ROOTFS/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
    >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOTFS/etc/group"

# --- hcsrun, the holder and the bench, in release -------------------------
log "building (release)"
cargo build --release --locked -q -p hcsrun-cli -p hcsrun-shim -p hcsrun-oci -p hcsrun-bench -p bench-tools --bins
cargo bench --locked -q -p hcsrun --bench translate --no-run 2>/dev/null
HCSRUN=$REPO/target/release/hcsrun
BENCH=$REPO/target/release/hcsrun-bench
TOOLS=$REPO/target/release/bench-tools
OCI=$REPO/target/release/hcsrun-oci

# --- runc's bundles: `runc spec`, args and root set -------------------------
for bundle in true sleep; do
    dir=$WORK/runc-$bundle
    rm -rf "$dir"
    mkdir -p "$dir"
    runc spec --bundle "$dir"
done
"$BENCH" runc-spec --bundle "$WORK/runc-true" --rootfs "$ROOTFS" -- true
"$BENCH" runc-spec --bundle "$WORK/runc-sleep" --rootfs "$ROOTFS" -- sleep 1000000

rm -rf "$RESULTS"
mkdir -p "$RESULTS/profile" "$SCRATCH"
"$BENCH" machine --out "$RESULTS/machine.json"

log "cgroup.procs writes"
"$TOOLS" cgroup-writes --runs "$CGROUP_RUNS" --out "$RESULTS/cgroup-writes.json"

log "lifecycle: hcsrun run, runc run, unshare ($LIFECYCLE_RUNS runs each, back to back)"
# With two components: unshare with the namespaces hcsrun creates (pid,
# mount, uts, ipc, net), and hcsrun's own start and exit (layer-id runs no
# container).
"$TOOLS" time --warmup 5 --runs "$LIFECYCLE_RUNS" --out "$RESULTS/lifecycle.json" \
    --cmd "hcsrun=$HCSRUN run --rm --layer $ROOTFS -- /bin/true" \
    --cmd "runc=runc run --bundle $WORK/runc-true {id}" \
    --cmd "unshare=unshare -pfmu --fork true" \
    --cmd "unshare-all=unshare -pfmuin --fork true" \
    --cmd "hcsrun-start=$HCSRUN layer-id x"
log "lifecycle: the same after idling 100 ms ($LIFECYCLE_RUNS runs each)"
"$TOOLS" time --warmup 2 --runs "$LIFECYCLE_RUNS" --pause-ms 100 \
    --out "$RESULTS/lifecycle-cold.json" \
    --cmd "hcsrun=$HCSRUN run --rm --layer $ROOTFS -- /bin/true" \
    --cmd "runc=runc run --bundle $WORK/runc-true {id}" \
    --cmd "unshare=unshare -pfmu --fork true"

bench/oci.sh "$TOOLS" "$OCI" "$ROOTFS" "$WORK/runc-true" "$WORK" "$RESULTS" "$LIFECYCLE_RUNS" \
    >"$RESULTS/oci.md"

log "exec: hcsrun client, runc exec ($EXEC_RUNS runs each)"
runc run -d --bundle "$WORK/runc-sleep" "$RUNC_EXEC_ID" </dev/null >/dev/null 2>&1
"$BENCH" exec --layer "$ROOTFS" --scratch "$SCRATCH" --runc "$RUNC_EXEC_ID" \
    --runs "$EXEC_RUNS" --out "$RESULTS/exec.json"
runc delete -f "$RUNC_EXEC_ID"

log "stdio: 1 GiB from head -c through hcsrun run and a plain pipe ($STDIO_RUNS runs each)"
"$BENCH" stdio --bytes "$BYTES" --runs "$STDIO_RUNS" --out "$RESULTS/stdio-head.json" \
    --cmd "hcsrun=$HCSRUN run --rm --layer $ROOTFS -- head -c $BYTES /dev/zero" \
    --cmd "plain=$ROOTFS/bin/busybox head -c $BYTES /dev/zero"
log "stdio: 1 GiB from dd bs=1M ($STDIO_DD_RUNS runs each)"
"$BENCH" stdio --bytes "$BYTES" --runs "$STDIO_DD_RUNS" --out "$RESULTS/stdio-dd.json" \
    --cmd "hcsrun=$HCSRUN run --rm --layer $ROOTFS -- dd if=/dev/zero bs=1M count=1024 status=none" \
    --cmd "plain=$ROOTFS/bin/busybox dd if=/dev/zero bs=1M count=1024 status=none"

for count in 100 500; do
    log "scale: $count containers ($SCALE_ROUNDS rounds)"
    "$BENCH" scale --layer "$ROOTFS" --scratch "$SCRATCH" --count "$count" \
        --rounds "$SCALE_ROUNDS" --out "$RESULTS/scale-$count.json"
done

log "translation (criterion)"
cargo bench --locked -q -p hcsrun --bench translate >"$RESULTS/criterion.log" 2>&1 ||
    { cat "$RESULTS/criterion.log" >&2; exit 1; }

# The ftrace timelines read the kernel's tracepoints through tracefs, which
# not every machine mounts: mount it for the run (and unmount it after), or
# skip those timelines, saying so.
TRACEFS=/sys/kernel/tracing
if [ ! -e "$TRACEFS/trace" ] && mount -t tracefs nodev "$TRACEFS" 2>/dev/null; then
    TRACEFS_MOUNTED=1
    log "mounted tracefs at $TRACEFS for the profiles"
fi
if [ ! -e "$TRACEFS/trace" ]; then
    log "no tracefs at $TRACEFS, and it cannot be mounted: skipping the ftrace timelines"
    export BENCH_NO_FTRACE=1
fi
log "profiles"
bench/profile.sh "$HCSRUN" "$TOOLS" "$ROOTFS" "$WORK" "$RESULTS/profile"

"$BENCH" report --results "$RESULTS" --criterion "$REPO/target/criterion" \
    --analysis bench/analysis.md --out bench/RESULTS.md
log "container verbs: exec and ps"
bench/verbs.sh "$HCSRUN" "$TOOLS" "$ROOTFS" "$WORK" "$EXEC_RUNS"
cat "$RESULTS/oci.md" >>bench/RESULTS.md
rm -rf bench/out/profiles
mkdir -p bench/out
cp -r "$RESULTS/profile" bench/out/profiles
log "wrote bench/RESULTS.md and bench/out/profiles/"
# Image pulls and run IMAGE (issue 19): their own section of RESULTS.md.
bench/images.sh "$HCSRUN"
