#!/usr/bin/env bash
# The containerd shim side by side with containerd's own runc shim, in one
# run on this machine (issue 17): `ctr run --rm IMAGE true` wall time, and
# the memory (PSS) each idle container's shim costs with 100 containers up.
# Writes the "containerd: hcsrun's shim and runc's" section of
# bench/RESULTS.md (run it after bench/run.sh, which rewrites that file).
#
#   bench/containerd.sh               # 200 runs each, 100 idle containers
#   BENCH_QUICK=1 bench/containerd.sh # 30 runs each, 20 containers
#
# A private containerd (own root, state and sockets under $WORK), the
# release shim and holder on its PATH, an offline busybox image. Leaves no
# container, mount, cgroup or process behind.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

[ "$(id -u)" -eq 0 ] || { echo "bench: run as root" >&2; exit 1; }
if [ -n "${BENCH_QUICK:-}" ]; then RUNS=30 IDLE=20; else RUNS=200 IDLE=100; fi
WORK=${BENCH_WORK:-/var/tmp/hcsrun-ctd-bench}
IMAGE=docker.io/library/busybox:hcsrun
HCSRUN=io.containerd.hcsrun.v1
RUNC=io.containerd.runc.v2
log() { echo "bench: $*" >&2; }

need=()
command -v containerd >/dev/null || need+=(containerd)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

log "building the shim and the holder (release)"
cargo build --release --locked -q -p containerd-shim-hcsrun-v1 -p hcsrun-shim

cpid=
cleanup() {
    set +e
    if [ -S "$WORK/containerd.sock" ]; then
        for id in $(ctr -a "$WORK/containerd.sock" task ls -q 2>/dev/null); do
            ctr -a "$WORK/containerd.sock" task kill -s 9 "$id" >/dev/null 2>&1
            ctr -a "$WORK/containerd.sock" task rm -f "$id" >/dev/null 2>&1
        done
        for id in $(ctr -a "$WORK/containerd.sock" c ls -q 2>/dev/null); do
            ctr -a "$WORK/containerd.sock" c rm "$id" >/dev/null 2>&1
        done
    fi
    [ -n "$cpid" ] && kill "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
    mount | awk -v w="$WORK" '$3 ~ "^"w {print $3}' | sort -r | xargs -r -n1 umount -l
    # The shim's cgroup parent for this containerd: hcsrun-<ns>-<FNV-1a of
    # the state directory> (service.rs Placement), empty once its
    # containers are gone.
    parent=$(python3 -c 'import sys
h = 0xcbf29ce484222325
for b in sys.argv[1].encode():
    h = ((h ^ b) * 0x100000001b3) & (2**64 - 1)
print("hcsrun-default-%08x" % (h & 0xffffffff))' "$WORK/state")
    rmdir /sys/fs/cgroup/*/"$parent" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
rm -rf "$WORK"
mkdir -p "$WORK/bin"
ln -s "$REPO/target/release/containerd-shim-hcsrun-v1" "$WORK/bin/"
ln -s "$REPO/target/release/hcsrun-shim" "$WORK/bin/"
cat >"$WORK/config.toml" <<TOML
version = 2
root = "$WORK/root"
state = "$WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$WORK/containerd.sock"
[ttrpc]
  address = "$WORK/containerd.sock.ttrpc"
TOML
PATH="$WORK/bin:$PATH" containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
cpid=$!
for _ in $(seq 100); do [ -S "$WORK/containerd.sock" ] && break; sleep 0.1; done
C=(ctr -a "$WORK/containerd.sock")
python3 bench/tools/mk-oci-image.py "$WORK/busybox.tar" "$IMAGE"
"${C[@]}" image import "$WORK/busybox.tar" >/dev/null

# --- ctr run --rm IMAGE true, alternating the runtimes ----------------------
load_before=$(cut -d' ' -f1 /proc/loadavg)
now() { date +%s%N; }
declare -A times
for rt in $RUNC $HCSRUN; do "${C[@]}" run --rm --runtime $rt $IMAGE warm-$$ true; done
log "$RUNS runs of \`ctr run --rm IMAGE true\` with each shim"
for i in $(seq "$RUNS"); do
    for rt in $RUNC $HCSRUN; do
        t0=$(now)
        "${C[@]}" run --rm --runtime $rt $IMAGE "r$i" true
        times[$rt]+="$(( ($(now) - t0) / 1000 )) "
    done
done
stats() { # microseconds... -> "median p90 mean" in ms
    tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1; s+=$1} END {
        printf "%.1f %.1f %.1f", a[int((NR+1)/2)]/1000, a[int(NR*0.9)]/1000, s/NR/1000 }'
}
read -r runc_med runc_p90 runc_mean <<<"$(echo "${times[$RUNC]}" | stats)"
read -r hcs_med hcs_p90 hcs_mean <<<"$(echo "${times[$HCSRUN]}" | stats)"
ratio=$(awk -v a="$hcs_med" -v b="$runc_med" 'BEGIN {printf "%.2f", a/b}')
load_after=$(cut -d' ' -f1 /proc/loadavg)

# --- PSS of idle containers' shims ------------------------------------------
pss_kib() { # pids... -> summed Pss in KiB
    local sum=0 p v
    for p in "$@"; do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        sum=$((sum + ${v:-0}))
    done
    echo $sum
}
children_named() { # name -> pids whose comm is name and whose cwd is under $WORK
    local p
    for p in $(pgrep -x "$1"); do
        [[ $(readlink "/proc/$p/cwd" 2>/dev/null) == "$WORK"* ]] && echo "$p"
    done
}
declare -A pss holder_pss
for rt in $RUNC $HCSRUN; do
    log "$IDLE idle containers with $rt"
    for i in $(seq "$IDLE"); do "${C[@]}" run -d --runtime $rt $IMAGE "idle$i" sleep 100000; done
    sleep 2
    if [ $rt = $RUNC ]; then
        shims=$(pgrep -f "containerd-shim-runc-v2 -namespace default -id idle" || true)
    else
        shims=$(pgrep -f "containerd-shim-hcsrun-v1 -namespace default -id idle" || true)
        # The holders: one per container, children of the shims.
        holders=$(for s in $shims; do pgrep -P "$s" -x hcsrun-shim; done || true)
        holder_pss[$rt]=$(pss_kib $holders)
    fi
    n=$(echo $shims | wc -w)
    pss[$rt]=$(pss_kib $shims)
    log "$rt: $n shims, $(( ${pss[$rt]} / n )) KiB PSS each"
    for i in $(seq "$IDLE"); do
        "${C[@]}" task kill -s 9 "idle$i" >/dev/null
    done
    sleep 1
    for i in $(seq "$IDLE"); do
        "${C[@]}" task rm "idle$i" >/dev/null 2>&1 || true
        "${C[@]}" c rm "idle$i" >/dev/null
    done
done
per() { awk -v a="$1" -v n="$IDLE" 'BEGIN {printf "%.2f", a/n/1024}'; }

section=$(cat <<EOF
<!-- containerd-shim: written by bench/containerd.sh -->
## containerd: hcsrun's shim and runc's (issue 17)

One private containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}'), the shims alternating, $(date -u +%Y-%m-%d),
$(nproc) CPUs, load average $load_before before the runs and $load_after after
(other work on the machine slows both runtimes alike).

| \`ctr run --rm IMAGE true\` ($RUNS each) | median | p90 | mean |
|---|---|---|---|
| io.containerd.runc.v2 | $runc_med ms | $runc_p90 ms | $runc_mean ms |
| io.containerd.hcsrun.v1 | $hcs_med ms | $hcs_p90 ms | $hcs_mean ms |

hcsrun's shim takes **${ratio}×** runc's shim's wall time (goal ≤ 0.6×). The
time includes what containerd and ctr do for either runtime (snapshot,
container record, FIFOs, events).

| $IDLE idle containers (\`sleep\`) | PSS per container |
|---|---|
| runc.v2's shim | $(per "${pss[$RUNC]}") MiB |
| hcsrun's shim | $(per "${pss[$HCSRUN]}") MiB (goal ≤ 2 MiB) |
| hcsrun's holder (\`hcsrun-shim\`, one per container) | $(per "${holder_pss[$HCSRUN]}") MiB |

runc's shim keeps no process of its own per container besides the shim
(runc exits after start); hcsrun keeps the shim and the container's holder.
<!-- /containerd-shim -->
EOF
)
python3 - "$REPO/bench/RESULTS.md" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
pat = re.compile(r"<!-- containerd-shim:.*?<!-- /containerd-shim -->\n?", re.S)
text = pat.sub("", text).rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
log "wrote the containerd section of bench/RESULTS.md"
echo "$section"
