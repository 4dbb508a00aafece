#!/usr/bin/env python3
"""Writes an OCI image layout tarball for `ctr image import`, offline, from
the host's busybox-static: mk-oci-image.py OUT.tar NAME [CMD...]."""
import gzip, hashlib, io, json, sys, tarfile

out = sys.argv[1]
name = sys.argv[2] if len(sys.argv) > 2 else "docker.io/library/busybox:hcsrun"
cmd = sys.argv[3:] or ["/bin/sh"]


def add_bytes(t, path, data, mode=0o644):
    ti = tarfile.TarInfo(path)
    ti.size, ti.mode, ti.mtime = len(data), mode, 0
    t.addfile(ti, io.BytesIO(data))


lb = io.BytesIO()
with tarfile.open(fileobj=lb, mode="w", format=tarfile.PAX_FORMAT) as t:
    for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "run"]:
        ti = tarfile.TarInfo(d)
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        t.addfile(ti)
    add_bytes(t, "bin/busybox", open("/bin/busybox", "rb").read(), 0o755)
    for a in ["sh", "true", "echo", "cat", "sleep", "ls"]:
        ti = tarfile.TarInfo("bin/" + a)
        ti.type, ti.linkname = tarfile.SYMTYPE, "busybox"
        t.addfile(ti)
layer_tar = lb.getvalue()
layer_gz = gzip.compress(layer_tar, mtime=0)
sha = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
config = json.dumps({
    "architecture": "amd64", "os": "linux",
    "config": {"Env": ["PATH=/bin"], "Cmd": cmd},
    "rootfs": {"type": "layers", "diff_ids": [sha(layer_tar)]},
}).encode()
manifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": sha(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": sha(layer_gz), "size": len(layer_gz)}],
}).encode()
index = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "digest": sha(manifest), "size": len(manifest),
                   "platform": {"architecture": "amd64", "os": "linux"},
                   "annotations": {"io.containerd.image.name": name,
                                   "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]}}],
}).encode()
with tarfile.open(out, "w") as t:
    add_bytes(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add_bytes(t, "index.json", index)
    for blob in (layer_gz, config, manifest):
        add_bytes(t, "blobs/sha256/" + sha(blob)[7:], blob)
