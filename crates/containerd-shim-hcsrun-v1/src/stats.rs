//! How `Stats` encodes metrics for containerd 1.6 (`ctr task metrics`, CRI's
//! `ContainerStats`): `StatsResponse.stats` is an `Any` whose `type_url` is
//! the proto's full name, `io.containerd.cgroups.v1.Metrics` (no
//! `types.containerd.io/` prefix: runc's shim answers exactly that), and
//! whose value is the encoded message. containerd resolves that name; `ctr
//! task metrics` prints nothing useful for any other type, and CRI refuses
//! other types.

use containerd_shim::protos::{
    cgroups::metrics::Metrics,
    protobuf::{well_known_types::any::Any, Message, MessageFull},
};

/// Wraps cgroup v1 metrics for `StatsResponse.stats`.
pub fn v1_any(m: &Metrics) -> containerd_shim::protos::protobuf::Result<Any> {
    Ok(Any {
        type_url: Metrics::descriptor().full_name().to_string(),
        value: m.write_to_bytes()?,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use containerd_shim::protos::cgroups::metrics::PidsStat;

    use super::*;

    #[test]
    fn the_type_url_is_the_one_containerd_resolves() {
        let mut m = Metrics::new();
        m.pids = Some(PidsStat {
            current: 3,
            limit: 10,
            ..Default::default()
        })
        .into();
        let any = v1_any(&m).unwrap();
        assert_eq!(any.type_url, "io.containerd.cgroups.v1.Metrics");
        let back = Metrics::parse_from_bytes(&any.value).unwrap();
        assert_eq!(back.pids.current, 3);
    }
}
