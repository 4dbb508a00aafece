#!/usr/bin/env bash
# The main job: build hcsrun and show it working.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo build --release --locked -p hcsrun-cli
./target/release/hcsrun --help
