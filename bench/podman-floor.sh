#!/usr/bin/env bash
# How much of `podman run --rm IMAGE true` is the OCI runtime's (issue 16's
# podman goal): podman runs hcsrun-oci and runc through a wrapper that
# times each runtime invocation (create, start, delete); what is left of
# the wall time is podman's and conmon's own, which no runtime can remove.
# Prints, for each runtime, the median wall time, the runtime's share and
# the rest, and the ratio podman would reach with a runtime taking no time.
#
#   bench/podman-floor.sh [ROUNDS]   # default 12 (the first 2 warm up)
#
# Needs root, podman, runc, a release hcsrun-oci (target/release) and the
# busybox root bench/run.sh builds (/var/tmp/hcsrun-bench/rootfs). Leaves
# nothing behind.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${1:-12}
ROOTFS=/var/tmp/hcsrun-bench/rootfs
OCI=$REPO/target/release/hcsrun-oci
[ -x "$OCI" ] && [ -d "$ROOTFS" ] || {
    echo "podman-floor: needs $OCI and $ROOTFS (bench/run.sh builds both)" >&2
    exit 1
}
W=$(mktemp -d /tmp/podman-floor.XXXXXX)
P="podman --root $W/storage --runroot $W/run --tmpdir $W/tmp --storage-driver overlay"
P="$P --cgroup-manager cgroupfs --events-backend file"
U="--network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
cleanup() {
    $P system reset --force >/dev/null 2>&1 || true
    umount -R "$W/storage/overlay" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
tar -C "$ROOTFS" -c . | $P import - floor:bench >/dev/null
for name in hcsrun-oci runc; do
    real=$OCI
    [ $name = runc ] && real=$(command -v runc)
    cat >"$W/wrap-$name" <<WRAP
#!/bin/bash
s=\$(date +%s%N); "$real" "\$@"; rc=\$?; e=\$(date +%s%N)
echo "\$(( (e - s) / 1000 ))" >> $W/log-$name
exit \$rc
WRAP
    chmod +x "$W/wrap-$name"
done
for i in $(seq "$ROUNDS"); do
    for name in hcsrun-oci runc; do
        : >"$W/log-$name"
        s=$(date +%s%N)
        $P --runtime "$W/wrap-$name" run --rm $U floor:bench true
        e=$(date +%s%N)
        runtime=$(awk '{t += $1} END {print t}' "$W/log-$name")
        calls=$(wc -l <"$W/log-$name")
        [ "$i" -gt 2 ] && echo "$name $(((e - s) / 1000)) $runtime $calls" >>"$W/results"
    done
done
python3 - "$W/results" <<'PY'
import statistics as st
import sys

rows = {}
for line in open(sys.argv[1]):
    name, total, runtime, calls = line.split()
    rows.setdefault(name, []).append((int(total) / 1000, int(runtime) / 1000, int(calls)))
for name, v in rows.items():
    total = st.median(x[0] for x in v)
    runtime = st.median(x[1] for x in v)
    rest = st.median(x[0] - x[1] for x in v)
    print(f"{name}: {total:.1f} ms, of which the runtime's {v[0][2]} calls "
          f"{runtime:.1f} ms and podman+conmon {rest:.1f} ms ({len(v)} runs)")
total = {name: st.median(x[0] for x in v) for name, v in rows.items()}
floor = st.median(x[0] - x[1] for x in rows["hcsrun-oci"])
print(f"ratio {total['hcsrun-oci'] / total['runc']:.2f}; "
      f"with a runtime taking no time at all {floor / total['runc']:.2f}")
PY
