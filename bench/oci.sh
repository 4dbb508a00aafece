#!/usr/bin/env bash
# hcsrun-oci against runc (issue 16): `hcsrun-oci run` vs `runc run` on one
# bundle, and `podman --runtime hcsrun-oci run --rm IMAGE true` vs podman
# with runc, back to back. Goal: hcsrun-oci at most 0.5x runc's wall time.
#
#   bench/oci.sh TOOLS OCI ROOTFS BUNDLE WORK OUT RUNS
#
# TOOLS is bench-tools, OCI hcsrun-oci (release), ROOTFS a busybox root,
# BUNDLE a runc bundle running `true` without a terminal, WORK a scratch
# directory, OUT the results directory. Called by bench/run.sh; writes
# OUT/oci.json and OUT/oci-podman.json and prints a Markdown section.
set -euo pipefail
TOOLS=$1 OCI=$2 ROOTFS=$3 BUNDLE=$4 WORK=$5 OUT=$6 RUNS=$7

log() { echo "bench: $*" >&2; }
command -v podman >/dev/null || {
    log "installing podman"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null
}

log "hcsrun-oci run vs runc run ($RUNS runs each)"
# Each command once more than timed by hand first: the bundle's spec
# through hcsrun-oci's refusals.
"$OCI" --root "$WORK/oci-root" run --bundle "$BUNDLE" bench-oci-check >/dev/null
"$TOOLS" time --warmup 5 --runs "$RUNS" --out "$OUT/oci.json" \
    --cmd "hcsrun-oci=$OCI --root $WORK/oci-root run --bundle $BUNDLE {id}" \
    --cmd "runc=runc run --bundle $BUNDLE {id}"

# podman in a private store, with an image made from the busybox root (no
# network).
PODMAN="podman --root $WORK/podman/storage --runroot $WORK/podman/run --tmpdir $WORK/podman/tmp
    --storage-driver overlay
    --cgroup-manager cgroupfs --events-backend file"
IMAGE=localhost/hcsrun-bench:busybox
tar -C "$ROOTFS" -c . | $PODMAN import - "$IMAGE" >/dev/null
RUN="run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 $IMAGE true"
PODMAN_RUNS=$((RUNS / 2 > 5 ? RUNS / 2 : 5))
log "podman run --rm with hcsrun-oci and runc ($PODMAN_RUNS runs each)"
"$TOOLS" time --warmup 2 --runs "$PODMAN_RUNS" --out "$OUT/oci-podman.json" \
    --cmd "podman-hcsrun-oci=$PODMAN --runtime $OCI $RUN" \
    --cmd "podman-runc=$PODMAN --runtime /usr/sbin/runc $RUN"
$PODMAN system reset --force >/dev/null 2>&1 || true
umount -R "$WORK/podman/storage/overlay" 2>/dev/null || true
rm -rf "$WORK/podman" "$WORK/oci-root"

python3 - "$OUT/oci.json" "$OUT/oci-podman.json" <<'EOF'
import json, sys
print("\n## hcsrun-oci (runc's command line) vs runc\n")
print("Wall time per container, in ms (bench/oci.sh; goal: hcsrun-oci at most 0.5x runc).\n")
print("| what | median | p10 | p90 | n | vs runc (median) |")
print("|---|---|---|---|---|---|")
for path in sys.argv[1:]:
    series = json.load(open(path))["series"]
    base = series[-1]["summary"]["median"]
    for s in series:
        m = s["summary"]
        print(f"| `{s['name']}` | {m['median']:.1f} | {m['p10']:.1f} | {m['p90']:.1f} | {m['n']} | {m['median'] / base:.2f}x |")
EOF
