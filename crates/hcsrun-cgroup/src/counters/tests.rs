use super::*;

/// Writes `files` into `dir`.
fn tree(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        fs::write(dir.join(name), text).unwrap();
    }
}

/// A container's directory on a cgroup v2 machine, in the kernel's formats
/// (Linux 6.1, memory and io and pids and cpu enabled, no swap limit).
const V2: &[(&str, &str)] = &[
    (
        "cgroup.controllers",
        "cpuset cpu io memory hugetlb pids rdma misc\n",
    ),
    ("memory.current", "8945664\n"),
    ("memory.max", "52428800\n"),
    ("memory.peak", "10485760\n"),
    ("memory.swap.current", "4096\n"),
    ("memory.swap.max", "max\n"),
    (
        "memory.stat",
        "anon 3964928\nfile 4530176\nkernel 380928\nkernel_stack 32768\npagetables 98304\n\
         sec_pagetables 0\npercpu 0\nsock 0\nvmalloc 0\nshmem 0\nzswap 0\nzswapped 0\n\
         file_mapped 3649536\nfile_dirty 0\nfile_writeback 0\nswapcached 0\nanon_thp 0\n\
         file_thp 0\nshmem_thp 0\ninactive_anon 3936256\nactive_anon 28672\n\
         inactive_file 2707456\nactive_file 1822720\nunevictable 0\nslab_reclaimable 118120\n\
         slab_unreclaimable 111800\nslab 229920\nworkingset_refault_anon 0\n\
         workingset_refault_file 0\nworkingset_activate_anon 0\nworkingset_activate_file 0\n\
         workingset_restore_anon 0\nworkingset_restore_file 0\nworkingset_nodereclaim 0\n\
         pgscan 0\npgsteal 0\npgscan_kswapd 0\npgscan_direct 0\npgsteal_kswapd 0\n\
         pgsteal_direct 0\npgfault 2657\npgmajfault 34\npgrefill 0\npgactivate 447\n\
         pgdeactivate 0\npglazyfree 0\npglazyfreed 0\nzswpin 0\nzswpout 0\n\
         thp_fault_alloc 0\nthp_collapse_alloc 0\n",
    ),
    (
        "memory.events",
        "low 0\nhigh 0\nmax 17\noom 2\noom_kill 1\noom_group_kill 0\n",
    ),
    (
        "cpu.stat",
        "usage_usec 51234\nuser_usec 30120\nsystem_usec 21114\nnr_periods 40\n\
         nr_throttled 3\nthrottled_usec 9876\nnr_bursts 0\nburst_usec 0\n",
    ),
    ("pids.current", "4\n"),
    ("pids.max", "100\n"),
    (
        "io.stat",
        "8:0 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n\
         253:1 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
    ),
];

#[test]
fn a_v2_directory_reads_in_the_kernels_formats() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path(), V2);
    let c = V2Counters::read(dir.path()).unwrap();
    assert_eq!(
        c.pids,
        Pids {
            current: 4,
            limit: Some(100)
        }
    );
    assert_eq!(c.cpu_stat.get("usage_usec"), 51234);
    assert_eq!(c.cpu_stat.get("throttled_usec"), 9876);
    assert_eq!(c.memory_current, 8945664);
    assert_eq!(c.memory_max, Some(52428800));
    assert_eq!(c.memory_peak, Some(10485760));
    assert_eq!(c.swap_current, 4096);
    assert_eq!(c.swap_max, None, "max is no limit");
    assert_eq!(c.swap_peak, None, "no such file before Linux 6.5");
    assert_eq!(c.memory_stat.get("anon"), 3964928);
    assert_eq!(c.memory_stat.get("pgmajfault"), 34);
    assert_eq!(c.memory_stat.get("no_such_key"), 0);
    assert_eq!(c.memory_events.get("max"), 17);
    assert_eq!(c.memory_events.get("oom_kill"), 1);
    assert_eq!(
        c.io,
        vec![
            IoEntry {
                major: 8,
                minor: 0,
                rbytes: 1459200,
                wbytes: 314773504,
                rios: 192,
                wios: 353,
            },
            IoEntry {
                major: 253,
                minor: 1,
                rbytes: 4096,
                rios: 1,
                ..IoEntry::default()
            },
        ]
    );
}

#[test]
fn v2_controllers_not_enabled_read_as_nothing() {
    // Only what every v2 cgroup has (cpu.stat's usage without the cpu
    // controller); no memory, io or pids controller enabled.
    let dir = tempfile::tempdir().unwrap();
    tree(
        dir.path(),
        &[
            ("cgroup.controllers", ""),
            ("cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\n"),
        ],
    );
    let c = V2Counters::read(dir.path()).unwrap();
    assert_eq!(c.cpu_stat.get("usage_usec"), 10);
    assert_eq!(c.cpu_stat.get("nr_periods"), 0);
    assert_eq!(c.pids, Pids::default());
    assert_eq!(c.memory_max, None);
    assert!(c.io.is_empty());
}

#[test]
fn a_removed_v2_cgroup_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let err = V2Counters::read(&dir.path().join("c1")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("c1"), "{err}");
}

#[test]
fn v1_memory_and_blkio_files_read_in_the_kernels_formats() {
    let dir = tempfile::tempdir().unwrap();
    tree(
        dir.path(),
        &[
            ("memory.stat", "cache 4096\nrss 8192\ntotal_rss 8192\n"),
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
            ),
            ("memory.limit_in_bytes", "9223372036854771712\n"),
            ("memory.usage_in_bytes", "12288\n"),
            ("memory.max_usage_in_bytes", "20480\n"),
            ("memory.failcnt", "0\n"),
            (
                "blkio.throttle.io_service_bytes_recursive",
                "8:0 Read 4096\n8:0 Write 0\n8:0 Sync 4096\n8:0 Async 0\n8:0 Discard 0\n\
                 8:0 Total 4096\nTotal 4096\n",
            ),
        ],
    );
    let m = v1_memory(dir.path()).unwrap();
    assert_eq!(m.stat.get("rss"), 8192);
    assert_eq!(m.oom_control.get("oom_kill"), 2);
    assert_eq!(m.usage.usage, 12288);
    assert_eq!(m.usage.max, 20480);
    assert_eq!(m.swap, V1MemoryEntry::default(), "no swap accounting");
    let b = blkio_entries(dir.path(), "blkio.throttle.io_service_bytes_recursive").unwrap();
    assert_eq!(b.len(), 6, "the closing Total names no device");
    assert_eq!(
        b[0],
        BlkioEntry {
            major: 8,
            minor: 0,
            op: "Read".into(),
            value: 4096
        }
    );
    assert!(
        blkio_entries(dir.path(), "blkio.throttle.io_serviced_recursive")
            .unwrap()
            .is_empty()
    );
}
