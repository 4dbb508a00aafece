use serde_json::json;

use super::*;

fn resources(r: serde_json::Value) -> FieldResult<Resources> {
    classify(&serde_json::from_value(r).unwrap(), false)
}

#[test]
fn zero_is_unset_and_minus_one_unlimited() {
    let r = resources(json!({"memory": {"limit": -1, "reservation": 0}, "cpu": {"quota": -1, "shares": 0, "period": 0},
                             "pids": {"limit": -1}}))
    .unwrap();
    assert_eq!(r.memory.limit, Some(Limit::Unlimited));
    assert_eq!(r.memory.reservation, None);
    assert_eq!(
        (r.cpu.quota, r.cpu.shares, r.cpu.period),
        (Some(Limit::Unlimited), None, None)
    );
    assert_eq!(r.pids_limit, Some(Limit::Unlimited));
    assert_eq!(
        resources(json!({"pids": {"limit": 0}})).unwrap().pids_limit,
        None
    );
    assert_eq!(resources(json!({})).unwrap(), Resources::default());
    // Docker's blockIO when no weight was asked for.
    let docker =
        json!({"blockIO": {"weight": 0, "weightDevice": [{"major": 8, "minor": 0, "weight": 0}]}});
    assert_eq!(resources(docker).unwrap().block_io, BlockIo::default());
    assert!(resources(json!({"blockIO": {"weight": 5}})).is_err());
    assert!(asks_nothing(
        &json!({"weight": 0, "throttleReadBpsDevice": []})
    ));
    assert!(!asks_nothing(&json!({"weight": 10})));
}

#[test]
fn cpu_lists() {
    for ok in ["0", "0-3", "0-3,6", "1,2,3", "0-0"] {
        assert!(is_cpu_list(ok), "{ok}");
    }
    for bad in ["", "a", "3-1", "0-", ",1", "1,,2", "-1", "0 - 1"] {
        assert!(!is_cpu_list(bad), "{bad}");
    }
}

#[test]
fn device_rules_default_to_every_device_and_access() {
    let r = resources(json!({"devices": [{"allow": false}, {"allow": true, "type": "b", "major": 8, "minor": -1, "access": "r"}]})).unwrap();
    let all = r.devices[0];
    assert_eq!(
        (all.kind, all.major, all.minor),
        (DeviceRuleKind::All, None, None)
    );
    assert!(all.access.read && all.access.write && all.access.mknod);
    let block = r.devices[1];
    assert_eq!(
        (block.kind, block.major, block.minor),
        (DeviceRuleKind::Block, Some(8), None)
    );
    assert!(block.access.read && !block.access.write && !block.access.mknod);
}

#[test]
fn empty_refused_sections_are_nothing() {
    let r =
        resources(json!({"hugepageLimits": [], "rdma": {}, "unified": {}, "network": {}})).unwrap();
    assert_eq!(r, Resources::default());
}
