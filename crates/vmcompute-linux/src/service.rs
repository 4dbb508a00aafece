//! The service-wide exports.

use hcs::{ComputeService, Guid};
use hcs_schema::ComputeSystemQuery;
use serde::Deserialize;

use crate::{
    ffi::{parse, Failure},
    runtime::{self, block},
};

/// `HcsEnumerateComputeSystems`: a JSON array of `ContainerProperties`.
pub fn enumerate(query: &str) -> Result<String, Failure> {
    let query: ComputeSystemQuery = parse("HcsEnumerateComputeSystems", "query", query)?;
    let service = runtime::service()?;
    let systems = block(async move { service.enumerate(&query).await })?;
    Ok(hcs_schema::to_string(&systems).expect("a system list always encodes"))
}

/// A service property query: any property names.
#[derive(Deserialize)]
#[serde(default, rename_all = "PascalCase")]
#[derive(Default)]
struct ServiceQuery {
    property_types: Vec<String>,
}

/// `HcsGetServiceProperties`: for `"Basic"` (or no type), the schema
/// versions served, 1.0 only; no other property is known.
pub fn properties(query: &str) -> Result<String, Failure> {
    let query: ServiceQuery = parse("HcsGetServiceProperties", "property query", query)?;
    let basic = query.property_types.is_empty()
        || query
            .property_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case("Basic"));
    Ok(if basic {
        r#"{"Properties":[{"SupportedSchemaVersions":[{"Major":1,"Minor":0}]}]}"#
    } else {
        r#"{"Properties":[]}"#
    }
    .to_owned())
}

/// `NameToGuid`: the Linux service's layer GUID of `name`.
pub fn name_to_guid(name: &str) -> Guid {
    hcs_linux::name_to_guid(name)
}
