//! The spec's own options on the standard mounts (`/dev`, `/dev/shm`,
//! `/sys`, ...): what docker's `--shm-size`, `--privileged` and its `/dev`
//! without `noexec` ask for, through the binary.

mod common;

use common::*;
use serde_json::json;

#[test]
#[ignore = "needs root"]
fn the_specs_options_on_standard_mounts_are_applied() {
    let script = "df -k /dev/shm | tail -1; stat -c '%a' /dev/shm; \
                  grep -E ' /(dev|dev/shm|sys|proc) ' /proc/self/mountinfo";
    let env = Env::new(&["true"]);
    let mut spec = spec(&["sh", "-c", script]);
    spec["mounts"] = json!([
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "nodev", "mode=1770", "size=4m"]},
        // --privileged: /sys without "ro".
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev"]}
    ]);
    env.write_spec(spec);
    let out = env.output(&["run", "--bundle", env.bundle().to_str().unwrap(), "m1"]);
    assert_ok(&out, &["run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let mount = |dest: &str| {
        text.lines()
            .find(|l| l.split(' ').nth(4) == Some(dest))
            .unwrap_or_else(|| panic!("no {dest} in {text}"))
            .to_owned()
    };
    assert!(
        text.lines().next().unwrap().split_whitespace().nth(1) == Some("4096"),
        "/dev/shm is 4 MiB: {text}"
    );
    assert_eq!(text.lines().nth(1), Some("1770"), "{text}");
    let shm = mount("/dev/shm");
    assert!(!shm.contains("noexec"), "the spec has no noexec: {shm}");
    let dev = mount("/dev");
    assert!(
        !dev.contains("noexec"),
        "docker's /dev has no noexec: {dev}"
    );
    let sys = mount("/sys");
    assert!(
        sys.contains(" /sys rw,"),
        "the spec's /sys is writable: {sys}"
    );
    let proc = mount("/proc");
    assert!(proc.contains("nosuid,nodev,noexec"), "{proc}");
}

#[test]
#[ignore = "needs root"]
fn a_tmpcopyup_tmpfs_starts_with_what_the_image_has_there() {
    // The program itself is found on the copy: /bin holds busybox's links.
    let script = "ls -l /bin/sh | grep -q -- '->' && echo link; cat /etc/passwd | head -1; \
                  stat -c '%a %u' /etc; touch /etc/new && echo written; \
                  grep ' /etc ' /proc/self/mountinfo | grep -c tmpfs";
    let env = Env::new(&["true"]);
    let rootfs = env.bundle().join("rootfs");
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::os::unix::fs::symlink("passwd", rootfs.join("etc/passwd.link")).unwrap();
    nix::unistd::mkfifo(
        &rootfs.join("etc/fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    std::fs::set_permissions(
        rootfs.join("etc"),
        std::os::unix::fs::PermissionsExt::from_mode(0o751),
    )
    .unwrap();
    let mut spec = spec(&["sh", "-c", script]);
    spec["mounts"] = json!([
        {"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "tmpcopyup"]},
        {"destination": "/bin", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]}
    ]);
    env.write_spec(spec.clone());
    let out = env.output(&["run", "--bundle", env.bundle().to_str().unwrap(), "c1"]);
    assert_ok(&out, &["run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "link",
            "root:x:0:0:root:/root:/bin/sh",
            "751 0",
            "written",
            "1"
        ],
        "{text}"
    );
    assert!(
        !rootfs.join("etc/new").exists(),
        "the write went to the image"
    );

    // A socket cannot be copied: the mount fails, naming it.
    let _socket = std::os::unix::net::UnixListener::bind(rootfs.join("etc/sock")).unwrap();
    let out = env.output(&["run", "--bundle", env.bundle().to_str().unwrap(), "c2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("mounts: /etc (tmpcopyup): sock"),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs root"]
fn binds_listed_after_a_tmpfs_below_it_stay_on_top_of_it() {
    // podman's --tmpfs /etc: its /etc/hosts and /etc/hostname binds come
    // after the tmpfs in the spec, as runc mounts them.
    let script = "cat /etc/hostname; ls /etc/data; [ -S /etc/app.sock ] && echo socket; \
                  [ -f /etc/passwd ] && echo copied; \
                  grep -E ' /etc/(hostname|data) ' /proc/self/mountinfo | cut -d' ' -f5,6";
    let env = Env::new(&["true"]);
    let host_file = env.dir.path().join("hostname");
    std::fs::write(&host_file, "from-the-host\n").unwrap();
    let host_dir = env.dir.path().join("data");
    std::fs::create_dir(&host_dir).unwrap();
    std::fs::write(host_dir.join("f"), "").unwrap();
    // A socket bound below a tmpcopyup tmpfs (podman's API socket under a
    // read-only container's /run): not the image's, so not copied.
    let socket = env.dir.path().join("app.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let mut spec = spec(&["sh", "-c", script]);
    spec["mounts"] = json!([
        {"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
         "options": ["rprivate", "nosuid", "nodev", "ro", "tmpcopyup"]},
        {"destination": "/etc/hostname", "type": "bind", "source": host_file, "options": ["bind", "ro"]},
        {"destination": "/etc/data", "type": "bind", "source": host_dir, "options": ["rbind"]},
        {"destination": "/etc/app.sock", "type": "bind", "source": socket, "options": ["bind"]}
    ]);
    env.write_spec(spec);
    let out = env.output(&["run", "--bundle", env.bundle().to_str().unwrap(), "r1"]);
    assert_ok(&out, &["run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "from-the-host",
            "f",
            "socket",
            "copied",
            "/etc/hostname ro,relatime",
            "/etc/data rw,relatime"
        ],
        "each bind once, on the read-only tmpfs, with its own flags only: {text}"
    );
}
