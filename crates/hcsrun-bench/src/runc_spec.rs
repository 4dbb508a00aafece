//! The runc side's bundles: `runc spec`'s default, pointed at the bench's
//! root file system and given the command to run.

use std::{fs, path::Path};

use anyhow::Context;
use serde_json::{json, Value};

/// Rewrites the `config.json` that `runc spec` made in `bundle`: root at
/// `rootfs` (read-only, as runc's default), `args`, no terminal.
pub fn edit(bundle: &Path, rootfs: &Path, args: &[String]) -> anyhow::Result<()> {
    let path = bundle.join("config.json");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut spec: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    set(&mut spec, rootfs, args).with_context(|| format!("editing {}", path.display()))?;
    let text = serde_json::to_string_pretty(&spec)?;
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

fn set(spec: &mut Value, rootfs: &Path, args: &[String]) -> anyhow::Result<()> {
    let process = spec
        .get_mut("process")
        .and_then(Value::as_object_mut)
        .context("no process object")?;
    process.insert("args".into(), json!(args));
    process.insert("terminal".into(), json!(false));
    let root = spec
        .get_mut("root")
        .and_then(Value::as_object_mut)
        .context("no root object")?;
    root.insert("path".into(), json!(rootfs));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_args_terminal_and_root() {
        let mut spec = json!({
            "process": {"terminal": true, "args": ["sh"], "cwd": "/"},
            "root": {"path": "rootfs", "readonly": true},
        });
        set(&mut spec, Path::new("/srv/rootfs"), &["true".into()]).unwrap();
        assert_eq!(
            spec,
            json!({
                "process": {"terminal": false, "args": ["true"], "cwd": "/"},
                "root": {"path": "/srv/rootfs", "readonly": true},
            })
        );
        assert!(set(&mut json!({}), Path::new("/"), &[]).is_err());
    }
}
