#!/usr/bin/env bash
# Image pulls (issue 19): `hcsrun pull` against `podman pull` of the same
# ~100 MB multi-layer image from a private docker-registry on 127.0.0.1,
# each into a fresh store, in turn (A, B, A, B, ...); then `hcsrun run
# IMAGE true` against `runc run` on the same image's root file system.
# Writes its section of bench/RESULTS.md (between the images.sh markers).
# Run as root:
#
#   bench/images.sh [HCSRUN]     # BENCH_PULL_RUNS=5 BENCH_RUN_RUNS=60 by default
#
# Leaves nothing behind: the registry, stores and bundles live in a temporary
# directory removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
HCSRUN=${1:-$REPO/target/release/hcsrun}
PULL_RUNS=${BENCH_PULL_RUNS:-5}
RUN_RUNS=${BENCH_RUN_RUNS:-60}
log() { echo "bench images: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "run as root"
    exit 1
fi
need=()
for tool in docker-registry skopeo podman runc; do
    command -v "$tool" >/dev/null || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -x "$HCSRUN" ]; then
    log "building hcsrun (release)"
    cargo build --release --locked -q -p hcsrun-cli -p hcsrun-shim
fi

WORK=$(mktemp -d /var/tmp/hcsrun-bench-images.XXXXXX)
REGISTRY_PID=
cleanup() {
    if [ -n "$REGISTRY_PID" ]; then
        kill "$REGISTRY_PID" 2>/dev/null || true
        wait "$REGISTRY_PID" 2>/dev/null || true
    fi
    runc delete -f bench-images-runc >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- the image: busybox and three layers of real files and random data -----
log "building the image"
python3 - "$WORK/image.tar" <<'EOF'
import hashlib, io, json, os, random, sys, tarfile
out = sys.argv[1]
rng = random.Random(19)
def layer(add):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        add(t)
    return buf.getvalue()
def put(t, name, data, mode=0o644):
    info = tarfile.TarInfo(name); info.size = len(data); info.mode = mode
    t.addfile(info, io.BytesIO(data))
def base(t):
    for d in ["bin", "etc", "tmp"]:
        i = tarfile.TarInfo(d); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
    put(t, "bin/busybox", open("/bin/busybox", "rb").read(), 0o755)
    for applet in ["sh", "true", "echo"]:
        i = tarfile.TarInfo("bin/" + applet); i.type = tarfile.SYMTYPE; i.linkname = "busybox"
        t.addfile(i)
    put(t, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
# Real files (compressible, many) and random data (incompressible, large).
sources = sorted(p for p in (os.path.join(r, f) for r, _, fs in os.walk("/usr/lib")
                             for f in fs) if os.path.isfile(p) and not os.path.islink(p))
def files(n):
    def add(t):
        budget = 18 << 20
        for p in sources[n::3]:
            size = os.path.getsize(p)
            if size > budget: continue
            budget -= size
            put(t, "data%d" % n + p, open(p, "rb").read())
            if budget <= 0: break
        put(t, "random%d.bin" % n, rng.randbytes(14 << 20))
    return add
layers = [layer(base)] + [layer(files(n)) for n in range(3)]
diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
                     "config": {"Cmd": ["true"], "Env": ["PATH=/bin"]},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
with tarfile.open(out, "w") as t:
    put(t, "config.json", config)
    names = []
    for i, l in enumerate(layers):
        put(t, "l%d.tar" % i, l); names.append("l%d.tar" % i)
    put(t, "manifest.json", json.dumps([{"Config": "config.json",
        "RepoTags": ["bench/big:1"], "Layers": names}]).encode())
EOF

# --- a private registry holding it ------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HOST=127.0.0.1:$PORT
cat >"$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry
http:
  addr: $HOST
EOF
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://$HOST/v2/')" 2>/dev/null && break
    sleep 0.1
done
log "pushing to $HOST"
skopeo --insecure-policy copy -q --dest-tls-verify=false \
    "docker-archive:$WORK/image.tar" "docker://$HOST/bench/big:1"
REF=$HOST/bench/big:1
BLOBS=$(du -sb "$WORK/registry" | cut -f1)

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{($2-$1)*1000:.1f}')"; }

# --- pull + unpack, in turn ---------------------------------------------------
hcsrun_ms=() podman_ms=()
for i in $(seq "$PULL_RUNS"); do
    store=$WORK/store-$i
    t0=$(now)
    HCSRUN_IMAGE_ROOT=$store "$HCSRUN" pull -q --insecure-registry "$HOST" "$REF" >/dev/null
    t1=$(now)
    hcsrun_ms+=("$(elapsed "$t0" "$t1")")
    if [ "$i" -lt "$PULL_RUNS" ]; then rm -rf "$store"; fi

    proot=$WORK/podman-$i
    t0=$(now)
    podman --root "$proot/root" --runroot "$proot/run" --storage-driver overlay \
        pull -q --tls-verify=false "$REF" >/dev/null
    t1=$(now)
    podman_ms+=("$(elapsed "$t0" "$t1")")
    podman --root "$proot/root" --runroot "$proot/run" --storage-driver overlay \
        system reset -f >/dev/null 2>&1 || true
    rm -rf "$proot"
    log "pull $i: hcsrun ${hcsrun_ms[-1]} ms, podman ${podman_ms[-1]} ms"
done
STORE=$WORK/store-$PULL_RUNS
UNPACKED=$(du -sb "$STORE/layers" | cut -f1)

# --- hcsrun run IMAGE true against runc run on the unpacked root ------------
log "lifecycle: hcsrun run IMAGE true vs runc run"
bundle=$WORK/bundle
mkdir -p "$bundle/rootfs"
for layer in $(ls -d "$STORE"/layers/*); do cp -a "$layer"/. "$bundle/rootfs/"; done
(cd "$bundle" && runc spec && python3 - <<'EOF'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
json.dump(c, open("config.json", "w"))
EOF
)
LAYERS=()
for layer in "$STORE"/layers/*; do LAYERS+=(--layer "$layer"); done
# Timed by bench-tools, from each command's fork to its exit, in turn: a
# shell's `date` before and after would add its own two processes (about
# 1.5 ms) to both sides and pull the ratio towards 1.
BENCH_TOOLS=$REPO/target/release/bench-tools
[ -x "$BENCH_TOOLS" ] || cargo build --release --locked -q -p bench-tools
HCSRUN_IMAGE_ROOT=$STORE "$BENCH_TOOLS" time --runs "$RUN_RUNS" \
    --cmd "image=$HCSRUN run --rm $REF true" \
    --cmd "layers=$HCSRUN run --rm ${LAYERS[*]} -- true" \
    --cmd "runc=runc run --bundle $bundle {id}" \
    --out "$WORK/runs.json" >/dev/null
samples() {
    python3 -c "import json,sys; print(*(round(x, 2) for x in next(s['samples_ms'] for s in json.load(open(sys.argv[1]))['series'] if s['name'] == sys.argv[2])))" "$WORK/runs.json" "$1"
}
read -ra run_ms <<<"$(samples image)"
read -ra layer_ms <<<"$(samples layers)"
read -ra runc_ms <<<"$(samples runc)"

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo "–" hi}'; }
H=$(median "${hcsrun_ms[@]}") P=$(median "${podman_ms[@]}")
R=$(median "${run_ms[@]}") C=$(median "${runc_ms[@]}") LY=$(median "${layer_ms[@]}")
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
verdict() { python3 -c "print('met' if $1 <= $2 else '**missed**')"; }
PULL_RATIO=$(ratio "$H" "$P") RUN_RATIO=$(ratio "$R" "$C")

section=$(cat <<EOF
<!-- images.sh: begin -->
## 6. Images: pull + unpack, and run IMAGE (issue 19)

Written by \`bench/images.sh\` on $(date -u '+%Y-%m-%d %H:%M:%S UTC') (hcsrun $(git rev-parse --short HEAD)$(git diff --quiet || echo ' + uncommitted changes'), $(podman --version)). A 4-layer image (busybox; three layers each of ~18 MB of /usr/lib files and 14 MiB of random data), $((BLOBS / 1000000)) MB in the registry (gzip), $((UNPACKED / 1000000)) MB unpacked, from Debian's docker-registry on 127.0.0.1 over plain HTTP; each pull into a fresh, empty store (\`HCSRUN_IMAGE_ROOT\`; podman \`--root\` with the overlay driver), the two in turn, $PULL_RUNS times each. Then \`hcsrun run IMAGE true\` (process isolation, the image's layers under an overlay) against \`runc run\` of a bundle whose rootfs is the same layers copied into one folder, in turn, $RUN_RUNS times each. Load average $LOAD_BEFORE before, $LOAD_AFTER after (the machine's 2 cores are shared: compare the ratios, which load weighs on alike, rather than the times).

| target | measured | |
| --- | --- | --- |
| pull + unpack ≤ 1.0× podman pull | hcsrun/podman = $PULL_RATIO ($H ms vs $P ms; hcsrun $(range "${hcsrun_ms[@]}") ms, podman $(range "${podman_ms[@]}") ms) | $(verdict "$PULL_RATIO" 1.0) |
| \`hcsrun run IMAGE true\` ≤ 0.5× \`runc run\` | hcsrun/runc = $RUN_RATIO ($R ms vs $C ms; hcsrun $(range "${run_ms[@]}") ms, runc $(range "${runc_ms[@]}") ms) | $(verdict "$RUN_RATIO" 0.5) |

What the image adds to a run: \`hcsrun run --layer … -- true\` on the same unpacked layers, in the same turns, took $LY ms (median; $(range "${layer_ms[@]}") ms), so finding the image, its config and its record cost $(python3 -c "print(f'{$R-$LY:.1f}')") ms of the $R ms.
<!-- images.sh: end -->
EOF
)
python3 - "$REPO/bench/RESULTS.md" "$section" <<'EOF'
import re, sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
pattern = re.compile(r"<!-- images.sh: begin -->.*?<!-- images.sh: end -->", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section, text)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
EOF
log "pull: hcsrun $H ms vs podman $P ms ($PULL_RATIO); run: hcsrun $R ms vs runc $C ms ($RUN_RATIO)"
log "wrote its section of bench/RESULTS.md"
