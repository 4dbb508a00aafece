#!/usr/bin/env bash
# Installs what hcsrun needs to build and test on a fresh Debian machine.
# Idempotent: installs only what is missing.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }

have cc || need_apt+=(gcc)
have mkfs.ext4 || need_apt+=(e2fsprogs)
# hcsrun-seccomp compiles filters with libseccomp.
have pkg-config || need_apt+=(pkg-config)
[ -e /usr/include/seccomp.h ] || need_apt+=(libseccomp-dev)
# The image store's tests: a private registry, skopeo to push to it, and
# busybox-static to build images from.
have docker-registry || need_apt+=(docker-registry)
have skopeo || need_apt+=(skopeo)
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
# The README's Linux bundle is made with `runc spec`.
have runc || need_apt+=(runc)
# The containerd shim's tests run a private containerd 1.6 (with ctr) and
# speak its gRPC API and CRI, whose Rust bindings are built with protoc;
# `script` gives ctr a terminal.
have containerd || need_apt+=(containerd)
have protoc || need_apt+=(protobuf-compiler)
have script || need_apt+=(bsdutils)
# Its CRI test gives pods a bridge network (CNI plugins) and its namespace
# tests make a network namespace with `ip netns`.
[ -x /usr/lib/cni/bridge ] || need_apt+=(containernetworking-plugins)
have ip || need_apt+=(iproute2)
# hcsrun-oci's end-to-end test: podman drives it as its OCI runtime.
have podman || need_apt+=(podman)
# ... and so does docker (dockerd --add-runtime, through containerd's runc
# shim with hcsrun-oci as its binary).
have dockerd || need_apt+=(docker.io)
# The tests' containers run the host's tools: perl talks over sockets.
perl -MIO::Socket::UNIX -e1 2>/dev/null || need_apt+=(perl)

if ((${#need_apt[@]})); then
    echo "setup: installing ${need_apt[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! have cargo; then
    echo "setup: cargo not found; install Rust with rustup (https://rustup.rs)" >&2
    exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
