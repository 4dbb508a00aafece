//! Network settings, for Windows and Linux containers alike: the network
//! option, else the spec's `windows.network`.

use hcs_schema::ContainerConfig;

use super::{options::CreateOptions, spec::Spec};

/// Sets the endpoints, DNS settings and shared network stack of `config`.
pub(crate) fn apply(config: &mut ContainerConfig, spec: &Spec, options: &CreateOptions) {
    if let Some(n) = &options.network {
        config.endpoint_list = n.endpoints.clone();
        config.allow_unqualified_dns_query = n.allow_unqualified_dns_query;
        config.dns_search_list = n.dns_search_list.join(",");
        config.network_shared_container_name = n.network_shared_container_id.clone();
    } else if let Some(n) = spec.windows().and_then(|w| w.network.as_ref()) {
        config.endpoint_list = n.endpoint_list.clone();
        config.allow_unqualified_dns_query = n.allow_unqualified_dns_query;
        config.dns_search_list = n.dns_search_list.join(",");
        config.network_shared_container_name = n.network_shared_container_name.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::options::NetworkOption;

    const SPEC: &str = r#"{"windows":{"network":{"endpointList":["s1","s2"],
        "allowUnqualifiedDNSQuery":true,"DNSSearchList":["a.com","b.com","c.com"],
        "networkSharedContainerName":"other"}}}"#;

    fn configured(spec: &str, options: &CreateOptions) -> ContainerConfig {
        let mut c = ContainerConfig::default();
        apply(&mut c, &Spec::from_json(spec).unwrap(), options);
        c
    }

    #[test]
    fn from_the_spec() {
        let c = configured(SPEC, &CreateOptions::default());
        assert_eq!(c.endpoint_list, ["s1", "s2"]);
        assert!(c.allow_unqualified_dns_query);
        assert_eq!(c.dns_search_list, "a.com,b.com,c.com");
        assert_eq!(c.network_shared_container_name, "other");
    }

    #[test]
    fn the_option_replaces_the_spec() {
        let o = CreateOptions {
            network: Some(NetworkOption {
                endpoints: vec!["o1".into()],
                allow_unqualified_dns_query: false,
                dns_search_list: vec!["x.org".into()],
                network_shared_container_id: "c0".into(),
            }),
            ..Default::default()
        };
        let c = configured(SPEC, &o);
        assert_eq!(c.endpoint_list, ["o1"]);
        assert!(!c.allow_unqualified_dns_query);
        assert_eq!(c.dns_search_list, "x.org");
        assert_eq!(c.network_shared_container_name, "c0");
    }

    #[test]
    fn nothing_without_either() {
        assert_eq!(
            configured("{}", &CreateOptions::default()),
            ContainerConfig::default()
        );
    }
}
