//! Statistics and process lists in the schema v1 shapes, read from the
//! system's cgroups and `/proc`.

use std::{fs, io, sync::OnceLock, time::SystemTime};

use chrono::{DateTime, Utc};
use hcs_schema::{
    MemoryStats, NetworkStats, ProcessListItem, ProcessorStats, Statistics, StorageStats, Timestamp,
};

use crate::cgroup::CgroupStats;

/// Statistics from cgroup counters, network counters and the start time.
pub fn statistics(
    cgroup: &CgroupStats,
    network: Vec<NetworkStats>,
    started: SystemTime,
) -> Statistics {
    let now = SystemTime::now();
    let uptime = now.duration_since(started).unwrap_or_default();
    Statistics {
        timestamp: Timestamp::from(DateTime::<Utc>::from(now)),
        container_start_time: Timestamp::from(DateTime::<Utc>::from(started)),
        uptime_100ns: (uptime.as_nanos() / 100) as u64,
        memory: MemoryStats {
            usage_commit_bytes: cgroup.memory_usage,
            usage_commit_peak_bytes: cgroup.memory_peak,
            usage_private_working_set_bytes: cgroup.memory_private,
        },
        processor: ProcessorStats {
            total_runtime_100ns: cgroup.cpu_total_ns / 100,
            runtime_user_100ns: cgroup.cpu_user_ns / 100,
            runtime_kernel_100ns: cgroup.cpu_kernel_ns / 100,
        },
        storage: StorageStats {
            read_count_normalized: cgroup.io_reads,
            read_size_bytes: cgroup.io_read_bytes,
            write_count_normalized: cgroup.io_writes,
            write_size_bytes: cgroup.io_write_bytes,
        },
        network,
    }
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// When the machine booted, in seconds since the epoch.
fn boot_time() -> u64 {
    static BOOT: OnceLock<u64> = OnceLock::new();
    *BOOT.get_or_init(|| {
        fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
            })
            .unwrap_or(0)
    })
}

/// The host pid of the system's pid 1 among the system's processes.
pub fn init_pid(host_pids: &[i32]) -> Option<i32> {
    host_pids.iter().copied().find(|pid| {
        fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .is_some_and(|ns| ns.split_whitespace().last() == Some("1"))
        })
    })
}

/// Counters of each interface in the network namespace of `host_pid`.
pub fn network(host_pid: i32) -> io::Result<Vec<NetworkStats>> {
    Ok(parse_net_dev(&fs::read_to_string(format!(
        "/proc/{host_pid}/net/dev"
    ))?))
}

/// Reads `/proc/net/dev`: after two header lines, `name: ` then eight
/// receive and eight transmit counters.
fn parse_net_dev(text: &str) -> Vec<NetworkStats> {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, counters) = line.split_once(':')?;
            let n: Vec<u64> = counters
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            (n.len() >= 16).then(|| NetworkStats {
                bytes_received: n[0],
                packets_received: n[1],
                dropped_packets_incoming: n[3],
                bytes_sent: n[8],
                packets_sent: n[9],
                dropped_packets_outgoing: n[11],
                endpoint_id: name.trim().to_owned(),
                instance_id: String::new(),
            })
        })
        .collect()
}

/// The entry of one process (by host pid), or `None` if it is gone.
pub fn process_item(host_pid: i32) -> Option<ProcessListItem> {
    let stat = fs::read_to_string(format!("/proc/{host_pid}/stat")).ok()?;
    let status = fs::read_to_string(format!("/proc/{host_pid}/status")).ok()?;
    parse_process(&stat, &status, clock_ticks(), boot_time())
}

/// Builds a list entry from `/proc/PID/stat` and `/proc/PID/status`.
pub fn parse_process(stat: &str, status: &str, ticks: u64, boot: u64) -> Option<ProcessListItem> {
    // The name is in parentheses and may itself contain ") ".
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = &stat[open + 1..close];
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    // Fields after the name start at field 3 (state): utime is 14, stime 15,
    // starttime 22.
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let to_100ns = |t: u64| t * 10_000_000 / ticks;
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| {
                l.strip_prefix(key)?
                    .trim()
                    .strip_suffix(" kB")?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .unwrap_or(0)
            * 1024
    };
    // NSpid lists the pid in each namespace, innermost last.
    let pid = status.lines().find_map(|l| {
        l.strip_prefix("NSpid:")?
            .split_whitespace()
            .last()?
            .parse()
            .ok()
    })?;
    let started_ns =
        boot as u128 * 1_000_000_000 + field(22)? as u128 * 1_000_000_000 / ticks as u128;
    let created = DateTime::<Utc>::from_timestamp_nanos(started_ns as i64);
    Some(ProcessListItem {
        create_timestamp: Timestamp::from(created),
        image_name: name.to_owned(),
        kernel_time_100ns: to_100ns(field(15)?),
        memory_commit_bytes: kb("RssAnon:") + kb("VmSwap:"),
        memory_working_set_private_bytes: kb("RssAnon:"),
        memory_working_set_shared_bytes: kb("RssFile:") + kb("RssShmem:"),
        process_id: pid,
        user_time_100ns: to_100ns(field(14)?),
    })
}

/// The list entries of `host_pids`, skipping those that exited meanwhile.
pub fn process_list(host_pids: &[i32]) -> io::Result<Vec<ProcessListItem>> {
    let mut items: Vec<ProcessListItem> =
        host_pids.iter().filter_map(|&p| process_item(p)).collect();
    items.sort_by_key(|i| i.process_id);
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 120 0 0 0 250 50 0 0 20 0 1 0 1000 10000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
    const STATUS: &str = "Name:\tsh\nNSpid:\t4242\t7\nVmRSS:\t    1200 kB\nRssAnon:\t     400 kB\nRssFile:\t     700 kB\nRssShmem:\t     100 kB\nVmSwap:\t       8 kB\n";

    #[test]
    fn parses_proc_entries() {
        let item = parse_process(STAT, STATUS, 100, 1_700_000_000).unwrap();
        assert_eq!(item.image_name, "my (odd) name");
        assert_eq!(item.process_id, 7, "the pid inside the container");
        assert_eq!(item.user_time_100ns, 250 * 100_000);
        assert_eq!(item.kernel_time_100ns, 50 * 100_000);
        assert_eq!(item.memory_working_set_private_bytes, 400 * 1024);
        assert_eq!(item.memory_working_set_shared_bytes, 800 * 1024);
        assert_eq!(item.memory_commit_bytes, 408 * 1024);
        assert_eq!(item.create_timestamp.to_string(), "2023-11-14T22:13:30Z");
    }

    #[test]
    fn reads_proc_net_dev() {
        let text = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1234      10    0    1    0     0          0         0     1234      10    0    2    0     0       0          0
  eth0: 99 1 0 0 0 0 0 0 77 2 0 0 0 0 0 0
";
        let stats = parse_net_dev(text);
        assert_eq!(stats.len(), 2);
        assert_eq!(stats[0].endpoint_id, "lo");
        assert_eq!(
            (stats[0].bytes_received, stats[0].packets_received),
            (1234, 10)
        );
        assert_eq!(
            (
                stats[0].dropped_packets_incoming,
                stats[0].dropped_packets_outgoing
            ),
            (1, 2)
        );
        assert_eq!((stats[1].bytes_sent, stats[1].packets_sent), (77, 2));
    }

    #[test]
    fn garbage_is_skipped() {
        assert!(parse_process("nonsense", STATUS, 100, 0).is_none());
        assert!(parse_process(STAT, "Name:\tx\n", 100, 0).is_none());
    }

    #[test]
    fn statistics_convert_units() {
        let counters = CgroupStats {
            memory_usage: 10,
            memory_peak: 20,
            memory_private: 5,
            cpu_total_ns: 1_000,
            cpu_user_ns: 600,
            cpu_kernel_ns: 400,
            io_read_bytes: 1,
            io_write_bytes: 2,
            io_reads: 3,
            io_writes: 4,
        };
        let started = SystemTime::now() - std::time::Duration::from_secs(2);
        let s = statistics(&counters, vec![], started);
        assert_eq!(s.processor.total_runtime_100ns, 10);
        assert_eq!(
            (
                s.processor.runtime_user_100ns,
                s.processor.runtime_kernel_100ns
            ),
            (6, 4)
        );
        assert_eq!(s.memory.usage_commit_peak_bytes, 20);
        assert_eq!(s.storage.write_count_normalized, 4);
        assert!(s.uptime_100ns >= 20_000_000, "{}", s.uptime_100ns);
        assert!(s.timestamp > s.container_start_time);
    }
}
