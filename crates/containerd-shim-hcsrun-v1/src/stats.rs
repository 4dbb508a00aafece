//! How `Stats` encodes metrics for containerd 1.6 (`ctr task metrics`, CRI's
//! `ContainerStats`): `StatsResponse.stats` is an `Any` whose `type_url` is
//! the proto's full name (no `types.containerd.io/` prefix: runc's shim
//! answers exactly that), and whose value is the encoded message. As with
//! runc's shim, the host's cgroup version chooses the proto:
//! `io.containerd.cgroups.v1.Metrics` on a v1 (or hybrid) host,
//! `io.containerd.cgroups.v2.Metrics` on a unified one. containerd resolves
//! those names; `ctr task metrics` prints nothing useful for any other type,
//! and CRI refuses other types.

use containerd_shim::protos::{
    cgroups::metrics as v1,
    cgroups_v2::metrics as v2,
    protobuf::{well_known_types::any::Any, MessageFull, Result},
};
use hcsrun_cgroup::{BlkioEntry, Counters, V1Counters, V1MemoryEntry, V2Counters};

/// Wraps a container's counters for `StatsResponse.stats`, in the metrics
/// type of their cgroup version.
pub fn metrics_any(counters: &Counters) -> Result<Any> {
    match counters {
        Counters::V1(c) => any(&v1_metrics(c)),
        Counters::V2(c) => any(&v2_metrics(c)),
    }
}

fn any<M: MessageFull>(m: &M) -> Result<Any> {
    Ok(Any {
        type_url: M::descriptor().full_name().to_string(),
        value: m.write_to_bytes()?,
        ..Default::default()
    })
}

/// containerd's cgroup v1 metrics. Controllers the container has no cgroup
/// in are left empty.
fn v1_metrics(c: &V1Counters) -> v1::Metrics {
    let mut m = v1::Metrics::new();
    let mem = &c.memory;
    let s = |k: &str| mem.stat.get(k);
    let entry = |e: &V1MemoryEntry| v1::MemoryEntry {
        limit: e.limit,
        usage: e.usage,
        max: e.max,
        failcnt: e.failcnt,
        ..Default::default()
    };
    m.memory = Some(v1::MemoryStat {
        cache: s("cache"),
        rss: s("rss"),
        rss_huge: s("rss_huge"),
        mapped_file: s("mapped_file"),
        dirty: s("dirty"),
        writeback: s("writeback"),
        pg_pg_in: s("pgpgin"),
        pg_pg_out: s("pgpgout"),
        pg_fault: s("pgfault"),
        pg_maj_fault: s("pgmajfault"),
        inactive_anon: s("inactive_anon"),
        active_anon: s("active_anon"),
        inactive_file: s("inactive_file"),
        active_file: s("active_file"),
        unevictable: s("unevictable"),
        hierarchical_memory_limit: s("hierarchical_memory_limit"),
        hierarchical_swap_limit: s("hierarchical_memsw_limit"),
        total_cache: s("total_cache"),
        total_rss: s("total_rss"),
        total_rss_huge: s("total_rss_huge"),
        total_mapped_file: s("total_mapped_file"),
        total_dirty: s("total_dirty"),
        total_writeback: s("total_writeback"),
        total_pg_pg_in: s("total_pgpgin"),
        total_pg_pg_out: s("total_pgpgout"),
        total_pg_fault: s("total_pgfault"),
        total_pg_maj_fault: s("total_pgmajfault"),
        total_inactive_anon: s("total_inactive_anon"),
        total_active_anon: s("total_active_anon"),
        total_inactive_file: s("total_inactive_file"),
        total_active_file: s("total_active_file"),
        total_unevictable: s("total_unevictable"),
        usage: Some(entry(&mem.usage)).into(),
        swap: Some(entry(&mem.swap)).into(),
        kernel: Some(entry(&mem.kernel)).into(),
        kernel_tcp: Some(entry(&mem.kernel_tcp)).into(),
        ..Default::default()
    })
    .into();
    m.memory_oom_control = Some(v1::MemoryOomControl {
        oom_kill_disable: mem.oom_control.get("oom_kill_disable"),
        under_oom: mem.oom_control.get("under_oom"),
        oom_kill: mem.oom_control.get("oom_kill"),
        ..Default::default()
    })
    .into();
    if let Some(cpu) = &c.cpu {
        m.cpu = Some(v1::CPUStat {
            usage: Some(v1::CPUUsage {
                total: cpu.usage_ns,
                kernel: cpu.kernel_ns,
                user: cpu.user_ns,
                per_cpu: cpu.per_cpu_ns.clone(),
                ..Default::default()
            })
            .into(),
            throttling: c
                .throttling
                .as_ref()
                .map(|t| v1::Throttle {
                    periods: t.get("nr_periods"),
                    throttled_periods: t.get("nr_throttled"),
                    throttled_time: t.get("throttled_time"),
                    ..Default::default()
                })
                .into(),
            ..Default::default()
        })
        .into();
    }
    m.pids = Some(v1::PidsStat {
        current: c.pids.current,
        // cgroup v1's "max" (no limit) is reported as 0, as runc's shim does.
        limit: c.pids.limit.unwrap_or(0),
        ..Default::default()
    })
    .into();
    if let Some((bytes, ops)) = &c.blkio {
        let entries = |es: &[BlkioEntry]| {
            es.iter()
                .map(|e| v1::BlkIOEntry {
                    op: e.op.clone(),
                    major: e.major,
                    minor: e.minor,
                    value: e.value,
                    ..Default::default()
                })
                .collect()
        };
        m.blkio = Some(v1::BlkIOStat {
            io_service_bytes_recursive: entries(bytes),
            io_serviced_recursive: entries(ops),
            ..Default::default()
        })
        .into();
    }
    m
}

/// containerd's cgroup v2 metrics (the fields its 1.6 proto has, plus the
/// peaks newer ones read). A limit of `max` is `u64::MAX`, as containerd
/// reports it.
fn v2_metrics(c: &V2Counters) -> v2::Metrics {
    let limit = |l: Option<u64>| l.unwrap_or(u64::MAX);
    let cpu = |k: &str| c.cpu_stat.get(k);
    let s = |k: &str| c.memory_stat.get(k);
    let events = |k: &str| c.memory_events.get(k);
    v2::Metrics {
        pids: Some(v2::PidsStat {
            current: c.pids.current,
            limit: limit(c.pids.limit),
            ..Default::default()
        })
        .into(),
        cpu: Some(v2::CPUStat {
            usage_usec: cpu("usage_usec"),
            user_usec: cpu("user_usec"),
            system_usec: cpu("system_usec"),
            nr_periods: cpu("nr_periods"),
            nr_throttled: cpu("nr_throttled"),
            throttled_usec: cpu("throttled_usec"),
            ..Default::default()
        })
        .into(),
        memory: Some(v2::MemoryStat {
            anon: s("anon"),
            file: s("file"),
            kernel_stack: s("kernel_stack"),
            slab: s("slab"),
            sock: s("sock"),
            shmem: s("shmem"),
            file_mapped: s("file_mapped"),
            file_dirty: s("file_dirty"),
            file_writeback: s("file_writeback"),
            anon_thp: s("anon_thp"),
            inactive_anon: s("inactive_anon"),
            active_anon: s("active_anon"),
            inactive_file: s("inactive_file"),
            active_file: s("active_file"),
            unevictable: s("unevictable"),
            slab_reclaimable: s("slab_reclaimable"),
            slab_unreclaimable: s("slab_unreclaimable"),
            pgfault: s("pgfault"),
            pgmajfault: s("pgmajfault"),
            // Split into _anon and _file since Linux 5.9.
            workingset_refault: s("workingset_refault")
                + s("workingset_refault_anon")
                + s("workingset_refault_file"),
            workingset_activate: s("workingset_activate")
                + s("workingset_activate_anon")
                + s("workingset_activate_file"),
            workingset_nodereclaim: s("workingset_nodereclaim"),
            pgrefill: s("pgrefill"),
            pgscan: s("pgscan"),
            pgsteal: s("pgsteal"),
            pgactivate: s("pgactivate"),
            pgdeactivate: s("pgdeactivate"),
            pglazyfree: s("pglazyfree"),
            pglazyfreed: s("pglazyfreed"),
            thp_fault_alloc: s("thp_fault_alloc"),
            thp_collapse_alloc: s("thp_collapse_alloc"),
            usage: c.memory_current,
            usage_limit: limit(c.memory_max),
            swap_usage: c.swap_current,
            swap_limit: limit(c.swap_max),
            max_usage: c.memory_peak.unwrap_or(0),
            swap_max_usage: c.swap_peak.unwrap_or(0),
            ..Default::default()
        })
        .into(),
        memory_events: Some(v2::MemoryEvents {
            low: events("low"),
            high: events("high"),
            max: events("max"),
            oom: events("oom"),
            oom_kill: events("oom_kill"),
            oom_group_kill: events("oom_group_kill"),
            ..Default::default()
        })
        .into(),
        io: Some(v2::IOStat {
            usage: c
                .io
                .iter()
                .map(|e| v2::IOEntry {
                    major: e.major,
                    minor: e.minor,
                    rbytes: e.rbytes,
                    wbytes: e.wbytes,
                    rios: e.rios,
                    wios: e.wios,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .into(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
