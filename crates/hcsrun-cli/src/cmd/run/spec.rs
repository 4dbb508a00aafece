//! What `hcsrun run`'s flags (or a bundle) describe: the container's spec
//! and create options. On a service that runs Linux containers natively
//! (the Linux compute service) that is a Linux OCI spec with docker's
//! defaults (`linux/`); elsewhere the Windows-schema spec of the seed
//! (`windows.rs`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Error};
use hcsrun::translate::{
    read_document, CreateOptions, LayerOption, LinuxSpec, NetworkOption, Spec,
};
use serde_json::Value;

use super::{
    args::Args,
    linux::{self, Facts},
    place::check_scratch,
    windows::{self, Bundle},
};

/// Everything needed to create the container.
pub struct Plan {
    pub container: Container,
    pub options: CreateOptions,
    /// The scratch folder, made if missing (`None` where the spec's
    /// `windows.layerFolders` name it, or a Linux bundle's root is used in
    /// place), and whether it is hcsrun's own (made by this run, which
    /// removes it unless --keep).
    pub scratch: Option<PathBuf>,
    pub scratch_is_ours: bool,
}

/// The container's spec, of the kind the service runs.
pub enum Container {
    /// The seed's OCI spec, translated to the Windows schema.
    Windows(Box<Spec>),
    /// A Linux OCI spec, run by a service that runs Linux natively.
    Linux(Box<LinuxSpec>),
}

/// The seed's spec, parsed from what was built.
fn windows_spec(spec: &Value) -> anyhow::Result<Spec> {
    Spec::from_json(&spec.to_string()).context("the spec")
}

/// The terminal size to give the container: (height, width).
pub type ConsoleSize = (u16, u16);

/// What `plan` needs to know of the host and its compute service.
pub struct Host<'a> {
    /// The service's name, for messages.
    pub service: &'a str,
    /// The service runs Linux containers natively: Linux specs.
    pub native_linux: bool,
    /// The host's processors.
    pub cpus: u64,
}

/// Builds the spec and options for container `id`; `kept` when the
/// container outlives the command (`run -d`, `create`), so its scratch
/// folder is not deleted at its exit.
pub fn plan(
    id: &str,
    args: &Args,
    host: &Host<'_>,
    console: Option<ConsoleSize>,
    kept: bool,
) -> anyhow::Result<Plan> {
    for layer in &args.layers {
        if !layer.exists() {
            bail!("layer {} does not exist", layer.display());
        }
    }
    let bundle = args.bundle.as_deref().map(Bundle::read).transpose()?;
    let linux = host.native_linux && bundle.as_ref().is_none_or(Bundle::is_linux);
    if bundle.is_some() {
        linux::refuse_with_bundle(args, linux)?;
    }
    if !linux {
        linux::refuse_without_linux(args, host.service)?;
    }
    let mut options = match &args.options {
        Some(path) => {
            let text =
                read_document(path).with_context(|| format!("reading {}", path.display()))?;
            CreateOptions::from_json(&text)
                .with_context(|| format!("create options {}", path.display()))?
        }
        None => CreateOptions::default(),
    };
    let (mut scratch, mut scratch_is_ours) = match &args.scratch {
        Some(dir) => (dir.clone(), false),
        None => (PathBuf::from("/var/lib/hcsrun/scratch").join(id), true),
    };
    let windows_bundle = match &bundle {
        Some(b) if !linux => Some(windows::bundle_spec(b, args)?),
        _ => None,
    };
    let spec_layers = windows_bundle.as_ref().is_some_and(|(spec, _)| {
        spec.pointer("/windows/layerFolders")
            .and_then(Value::as_array)
            .is_some_and(|l| !l.is_empty())
    });
    let linux_bundle = linux && bundle.is_some();
    if !args.layers.is_empty() || (options.layers.is_none() && !spec_layers && !linux_bundle) {
        let layers = if !args.layers.is_empty() {
            args.layers.clone()
        } else if let Some(root) = windows_bundle.as_ref().and_then(|(_, root)| root.clone()) {
            vec![root]
        } else {
            vec![PathBuf::from("/")]
        };
        options.layers = Some(LayerOption {
            layer_folder_path: scratch.to_string_lossy().into_owned(),
            layer_paths: layers
                .iter()
                .map(|l| l.to_string_lossy().into_owned())
                .collect(),
        });
    } else {
        // The options file's layers, the spec's, or a Linux bundle's root
        // used in place: any scratch folder is the user's, made if it is a
        // (Unix) path that does not exist yet.
        scratch_is_ours = false;
        scratch = options
            .layers
            .as_ref()
            .map(|l| PathBuf::from(&l.layer_folder_path))
            .unwrap_or_default();
    }
    if let Some(layers) = options.layers.as_ref() {
        if !layers.layer_folder_path.is_empty() {
            let paths: Vec<PathBuf> = layers.layer_paths.iter().map(PathBuf::from).collect();
            check_scratch(Path::new(&layers.layer_folder_path), &paths).map_err(Error::msg)?;
        }
    }
    if options.ignore_flushes_during_boot.is_none() && scratch_is_ours && !args.keep && !kept {
        // The scratch folder is deleted at exit: syncing it is wasted work.
        options.ignore_flushes_during_boot = Some(true);
    }
    let container = match (&bundle, windows_bundle) {
        (_, Some((spec, _))) => Container::Windows(Box::new(windows_spec(&spec)?)),
        (Some(b), None) => Container::Linux(Box::new(linux::bundle_spec(b, args, console)?)),
        (None, None) if linux => {
            let facts = Facts::probe(host.cpus).map_err(Error::msg)?;
            let spec = linux::flags_spec(id, args, &facts, options.layers.as_ref(), console)?;
            Container::Linux(Box::new(spec))
        }
        (None, None) => {
            let spec = windows::flags_spec(id, args, host.cpus, console)?;
            Container::Windows(Box::new(windows_spec(&spec)?))
        }
    };
    if args.isolation == "hyperv" {
        // Where the service emulates Hyper-V isolation (the Linux one), no
        // utility VM is needed; where it runs one, translation finds it in
        // the layers or the spec names it.
        options.hyperv = Some(hcsrun::translate::HypervOption { is_hyperv: true });
    }
    match args.network.as_str() {
        "none" => {}
        mode => match mode.strip_prefix("container:") {
            Some(other) if !other.is_empty() => {
                options.network = Some(NetworkOption {
                    network_shared_container_id: other.to_owned(),
                    ..Default::default()
                });
            }
            _ => bail!("--network {mode:?}: use none or container:ID"),
        },
    }
    Ok(Plan {
        container,
        options,
        scratch: scratch.is_absolute().then_some(scratch),
        scratch_is_ours,
    })
}
