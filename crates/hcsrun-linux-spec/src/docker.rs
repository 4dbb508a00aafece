//! docker's defaults for what a container may see of `/proc` and `/sys`,
//! kept once: hcsrun's CLI writes them into the specs it builds, and the
//! holder applies them to configurations that carry no Linux spec.

/// docker's masked paths (Docker Engine 28 and later): root in the
/// container (even without capabilities) could otherwise read kernel
/// memory, keys, interrupts and timers of other processes, or the host's
/// firmware tables and power controls.
pub const MASKED_PATHS: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// docker's read-only paths: writable, they would let the container set
/// the host's kernel settings (`/proc/sys`: `core_pattern` runs a host
/// program) or reboot it (`sysrq-trigger`).
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];
