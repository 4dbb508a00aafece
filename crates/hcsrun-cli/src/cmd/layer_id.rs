//! `hcsrun layer-id NAME`: the GUID a compute service gives a layer folder.

use hcsrun::{service::ServiceFacts, translate::layer_id};

/// Print the GUID the compute service assigns to a layer folder name.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A layer folder name, or a path whose last element (after `/` or `\`)
    /// is one, as `translate` reads layer paths.
    name: String,
}

pub fn run(args: Args, service: &ServiceFacts) -> anyhow::Result<()> {
    let guid = layer_id(&args.name, &|name| service.name_to_guid(name))?;
    Ok(crate::output::print(&format!("{guid}\n"))?)
}
