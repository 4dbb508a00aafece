#!/usr/bin/env bash
# The container verbs of issue 15, timed on this machine: `hcsrun exec ID
# true` into a detached container against `runc exec ID true` into a runc
# container of the same busybox root (goal: at most half runc's time), and
# `hcsrun ps -a` / `hcsrun ps` with 500 containers recorded (goal: under
# 100 ms). Writes its section of bench/RESULTS.md, replacing an earlier one.
#
#   bench/verbs.sh HCSRUN BENCH_TOOLS ROOTFS WORK RUNS
#
# bench/run.sh calls it with what it built (release) and its busybox root
# and `runc spec` bundle; it can be run alone after bench/run.sh has made
# them. Leaves no container of its own behind.
set -euo pipefail
cd "$(dirname "$0")/.."
HCSRUN=$1 TOOLS=$2 ROOTFS=$3 WORK=$4 RUNS=$5
OUT=$WORK/results/verbs
PS_COUNT=500
EXEC_ID=bench-verbs-exec
RUNC_ID=bench-verbs-runc-$$
log() { echo "bench: $*" >&2; }
command -v jq >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null
}

cleanup() {
    runc delete -f "$RUNC_ID" >/dev/null 2>&1 || true
    ids=$("$HCSRUN" ps -aq | grep -E "^($EXEC_ID|bench-ps-[0-9]+)$" || true)
    [ -z "$ids" ] || "$HCSRUN" rm -f $ids >/dev/null
}
trap cleanup EXIT
cleanup
mkdir -p "$OUT"
load=$(cut -d' ' -f1-3 /proc/loadavg)

log "verbs: exec into a running container, hcsrun and runc ($RUNS runs each)"
"$HCSRUN" run -d --name "$EXEC_ID" --layer "$ROOTFS" -- sleep 1000000 >/dev/null
runc run -d --bundle "$WORK/runc-sleep" "$RUNC_ID" </dev/null >/dev/null 2>&1
"$TOOLS" time --warmup 10 --runs "$RUNS" --out "$OUT/exec.json" \
    --cmd "hcsrun exec=$HCSRUN exec $EXEC_ID true" \
    --cmd "runc exec=runc exec $RUNC_ID true"

log "verbs: ps with $PS_COUNT containers recorded ($RUNS runs)"
for n in $(seq 1 "$PS_COUNT"); do
    "$HCSRUN" create --name "bench-ps-$n" --layer "$ROOTFS" -- true >/dev/null
done
"$TOOLS" time --warmup 3 --runs "$RUNS" --out "$OUT/ps.json" \
    --cmd "hcsrun ps -a=$HCSRUN ps -a" \
    --cmd "hcsrun ps=$HCSRUN ps" \
    --cmd "hcsrun ps -aq=$HCSRUN ps -aq"
containers=$("$HCSRUN" ps -aq | wc -l)

# --- the report section ------------------------------------------------------
row() { # FILE: one table row per series: name, median, p10-p90, min-max
    jq -r '.series[] | "| \(.name) | \(.summary.median*100|round/100) | \(.summary.p10*100|round/100)–\(.summary.p90*100|round/100) | \(.summary.min*100|round/100)–\(.summary.max*100|round/100) |"' "$1"
}
median() { jq -r --arg n "$2" '.series[] | select(.name == $n) | .summary.median' "$1"; }
ratio=$(jq -n --argjson a "$(median "$OUT/exec.json" "hcsrun exec")" \
    --argjson b "$(median "$OUT/exec.json" "runc exec")" '$a / $b * 100 | round / 100')
ps_median=$(jq -n --argjson m "$(median "$OUT/ps.json" "hcsrun ps -a")" '$m * 100 | round / 100')
section=$(cat <<MD
## Container verbs (issue 15)

Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs ($(uname -r),
$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), release build, $RUNS runs
each after warm-up, by \`bench/verbs.sh\` (called from \`bench/run.sh\`); load
average when it began: $load (other work on the machine widens the spread).
Times in ms: median, 10th–90th percentile, min–max.

**exec**: \`hcsrun exec ID true\` into a detached \`sleep\` container against
\`runc exec ID true\` into a runc container of the same busybox root.
Ratio of medians: **${ratio}×** runc exec (goal ≤ 0.5×).

| command | median | p10–p90 | min–max |
|---|---|---|---|
$(row "$OUT/exec.json")

**ps**: $containers containers recorded (created by \`hcsrun create\`; one
running: the exec bench's). Median of \`ps -a\`:
**${ps_median} ms** (goal < 100 ms).

| command | median | p10–p90 | min–max |
|---|---|---|---|
$(row "$OUT/ps.json")
MD
)
results=bench/RESULTS.md
touch "$results"
# Replace an earlier section (up to the next "## " heading or the end).
awk -v section="$section" '
    /^## Container verbs \(issue 15\)/ { skip = 1; print section; printed = 1; next }
    skip && /^## / { skip = 0 }
    !skip { print }
    END { if (!printed) { print ""; print section } }
' "$results" >"$results.new"
mv "$results.new" "$results"
log "wrote the verbs section of $results"
