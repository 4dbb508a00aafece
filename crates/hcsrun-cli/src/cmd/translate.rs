//! `hcsrun translate`: the HCS documents an OCI spec becomes.

use std::path::{Path, PathBuf};

use anyhow::Context;
use hcsrun::{
    service::ServiceFacts,
    translate::{
        container_config, init_process_config, read_document, CreateOptions, HostFacts, Spec,
        DEFAULT_OWNER,
    },
};
use serde::Serialize;

/// Print the ContainerConfig an OCI spec translates to, as the compute
/// service receives it (compact JSON).
///
/// Host facts default to this machine and the selected compute service; the
/// flags override them, to show what another host would receive.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The container id.
    #[arg(long)]
    id: String,
    /// Create options: a JSON file (see the README for its keys).
    #[arg(long, value_name = "FILE")]
    options: Option<PathBuf>,
    /// Processors of the host [default: this machine's].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    host_cpus: Option<u64>,
    /// Windows build of the host [default: the compute service's].
    #[arg(long, value_name = "N")]
    os_build: Option<u32>,
    /// Owner tag of the compute system.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_OWNER)]
    owner: String,
    /// Print the init ProcessConfig instead.
    #[arg(long, conflicts_with = "both")]
    process: bool,
    /// Print {"ContainerConfig": ..., "ProcessConfig": ...}.
    #[arg(long)]
    both: bool,
    /// A config.json, or a bundle directory holding one.
    spec: PathBuf,
}

pub fn run(args: Args, service: &ServiceFacts) -> anyhow::Result<()> {
    let spec = Spec::load(&args.spec)?;
    let options = match &args.options {
        Some(path) => read_options(path)?,
        None => CreateOptions::default(),
    };
    let mut host = HostFacts::new(service.features());
    host.owner = args.owner;
    if let Some(cpus) = args.host_cpus {
        host.cpu_count = cpus;
    }
    if let Some(build) = args.os_build {
        host.os_build = Some(build);
    }

    let process = || init_process_config(&args.id, &spec, &options);
    let output = if args.process {
        encode(&process()?)?
    } else {
        let name_to_guid = |name: &str| service.name_to_guid(name);
        let config = encode(&container_config(
            &args.id,
            &spec,
            &options,
            &host,
            &name_to_guid,
        )?)?;
        if args.both {
            let process = encode(&process()?)?;
            format!(r#"{{"ContainerConfig":{config},"ProcessConfig":{process}}}"#)
        } else {
            config
        }
    };
    Ok(crate::output::print(&format!("{output}\n"))?)
}

fn read_options(path: &Path) -> anyhow::Result<CreateOptions> {
    let text = read_document(path).with_context(|| format!("reading {}", path.display()))?;
    CreateOptions::from_json(&text)
        .with_context(|| format!("invalid create options in {}", path.display()))
}

/// As the compute service receives it.
fn encode<T: Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(hcs_schema::to_string(value)?)
}
