#!/usr/bin/env bash
# The main job: build hcsrun and run a container that prints something.
# The Linux compute service needs root; run this as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# hcsrun and the holder it starts for each container (hcsrun-shim), side by
# side in target/release.
cargo build --release --locked -p hcsrun-cli -p hcsrun-shim -p hcsrun-oci
if [ "$(id -u)" -ne 0 ]; then
    echo "demo: hcsrun run needs root; run: sudo scripts/demo.sh" >&2
    exit 1
fi
./target/release/hcsrun run -- echo "hello from a container run by hcsrun"
