use std::fs;

use containerd_shim::protos::{cgroups::metrics::PidsStat, protobuf::Message};
use hcsrun_cgroup::{Pids, V1Counters};

use super::*;

#[test]
fn v1_counters_are_v1_metrics() {
    let c = V1Counters {
        pids: Pids {
            current: 3,
            limit: Some(10),
        },
        ..Default::default()
    };
    let any = metrics_any(&Counters::V1(c)).unwrap();
    assert_eq!(any.type_url, "io.containerd.cgroups.v1.Metrics");
    let back = v1::Metrics::parse_from_bytes(&any.value).unwrap();
    assert_eq!(
        *back.pids,
        PidsStat {
            current: 3,
            limit: 10,
            ..Default::default()
        }
    );
    // No cpuacct or blkio hierarchy: no such section.
    assert!(back.cpu.is_none() && back.blkio.is_none());
}

/// A container's cgroup v2 directory as Linux 6.1 writes it (cpu, io,
/// memory and pids enabled; a memory limit, no swap limit).
fn v2_tree(dir: &std::path::Path) {
    for (name, text) in [
        ("cgroup.controllers", "cpuset cpu io memory pids\n"),
        ("memory.current", "8945664\n"),
        ("memory.max", "52428800\n"),
        ("memory.swap.current", "0\n"),
        ("memory.swap.max", "max\n"),
        (
            "memory.stat",
            "anon 3964928\nfile 4530176\nkernel_stack 32768\nsock 0\nshmem 0\n\
             file_mapped 3649536\nfile_dirty 4096\nfile_writeback 0\nanon_thp 0\n\
             inactive_anon 3936256\nactive_anon 28672\ninactive_file 2707456\n\
             active_file 1822720\nunevictable 0\nslab_reclaimable 118120\n\
             slab_unreclaimable 111800\nslab 229920\nworkingset_refault_anon 5\n\
             workingset_refault_file 7\nworkingset_nodereclaim 0\npgfault 2657\n\
             pgmajfault 34\nthp_fault_alloc 0\n",
        ),
        (
            "memory.events",
            "low 1\nhigh 2\nmax 17\noom 3\noom_kill 1\noom_group_kill 0\n",
        ),
        (
            "cpu.stat",
            "usage_usec 51234\nuser_usec 30120\nsystem_usec 21114\nnr_periods 40\n\
             nr_throttled 3\nthrottled_usec 9876\n",
        ),
        ("pids.current", "4\n"),
        ("pids.max", "max\n"),
        (
            "io.stat",
            "8:0 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n",
        ),
    ] {
        fs::write(dir.join(name), text).unwrap();
    }
}

#[test]
fn v2_counters_are_v2_metrics_containerd_can_decode() {
    let dir = tempfile::tempdir().unwrap();
    v2_tree(dir.path());
    let counters = Counters::V2(V2Counters::read(dir.path()).unwrap());
    let any = metrics_any(&counters).unwrap();
    assert_eq!(any.type_url, "io.containerd.cgroups.v2.Metrics");
    let m = v2::Metrics::parse_from_bytes(&any.value).unwrap();
    assert_eq!(
        (m.pids.current, m.pids.limit),
        (4, u64::MAX),
        "max: no limit"
    );
    let cpu = &m.cpu;
    assert_eq!(
        (cpu.usage_usec, cpu.user_usec, cpu.system_usec),
        (51234, 30120, 21114)
    );
    assert_eq!(
        (cpu.nr_periods, cpu.nr_throttled, cpu.throttled_usec),
        (40, 3, 9876)
    );
    let mem = &m.memory;
    assert_eq!((mem.usage, mem.usage_limit), (8945664, 52428800));
    assert_eq!((mem.swap_usage, mem.swap_limit), (0, u64::MAX));
    assert_eq!((mem.anon, mem.file), (3964928, 4530176));
    assert_eq!(
        (mem.file_dirty, mem.slab, mem.pgmajfault),
        (4096, 229920, 34)
    );
    assert_eq!(mem.workingset_refault, 12, "anon and file added up");
    assert_eq!(mem.max_usage, 0, "no memory.peak before Linux 5.19");
    let ev = &m.memory_events;
    assert_eq!(
        (ev.low, ev.high, ev.max, ev.oom, ev.oom_kill),
        (1, 2, 17, 3, 1)
    );
    assert_eq!(m.io.usage.len(), 1);
    let io = &m.io.usage[0];
    assert_eq!(
        (io.major, io.minor, io.rbytes, io.wbytes, io.rios, io.wios),
        (8, 0, 1459200, 314773504, 192, 353)
    );
}

/// containerd 1.6 decodes with its own, older copy of the v2 proto: the
/// fields it knows must keep their numbers. Checked on the wire: field 1
/// (pids) holds 1 (current), field 4 (memory) holds 32 (usage), field 8
/// (memory_events) holds 1 to 5 (low, high, max, oom, oom_kill).
#[test]
fn v2_field_numbers_are_those_containerd_1_6_reads() {
    let dir = tempfile::tempdir().unwrap();
    v2_tree(dir.path());
    let m = v2_metrics(&V2Counters::read(dir.path()).unwrap());
    let pids = m.pids.write_to_bytes().unwrap();
    assert_eq!(&pids[..2], &[1 << 3, 4]);
    let mem = m.memory.write_to_bytes().unwrap();
    // usage = 32: tag (32 << 3) as a varint is [0x80, 0x02].
    assert!(mem.windows(2).any(|w| w == [0x80, 0x02]));
    let whole = m.write_to_bytes().unwrap();
    let events = [
        8 << 3 | 2,
        10,
        1 << 3,
        1,
        2 << 3,
        2,
        3 << 3,
        17,
        4 << 3,
        3,
        5 << 3,
        1,
    ];
    assert!(whole.windows(events.len()).any(|w| w == events));
}
