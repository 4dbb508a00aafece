//! Helpers for the translation tests.

use std::{
    io,
    sync::{Arc, Mutex},
};

use hcs::Guid;
use hcs_schema::ContainerConfig;

use super::*;

pub fn spec(json: &str) -> Spec {
    Spec::from_json(json).unwrap()
}

pub fn options(json: &str) -> CreateOptions {
    CreateOptions::from_json(json).unwrap()
}

/// A host with 4 processors whose service maps pipes and has no Windows
/// build.
pub fn host() -> HostFacts {
    HostFacts {
        service: "test".into(),
        cpu_count: 4,
        os_build: None,
        named_pipe_mounts: true,
        owner: "hcsrun".into(),
        native_linux: false,
        hyperv: hcs::HypervIsolation::Hypervisor,
    }
}

/// `vmcompute!NameToGuid` for the names whose GUIDs are known (reference
/// §4); any other name gets a GUID made from its bytes.
pub fn windows_guids(name: &str) -> hcs::Result<Guid> {
    Ok(match name {
        "65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c" => {
            "18955d65-d45a-557b-bf1c-49d6dfefc526".parse().unwrap()
        }
        "4" => "bd9c3ef9-f239-59b5-a27e-15c523b1d149".parse().unwrap(),
        other => {
            let mut b = [0u8; 16];
            for (i, c) in other.bytes().enumerate() {
                b[i % 16] ^= c;
            }
            Guid::from_rfc4122_bytes(b)
        }
    })
}

/// The container config of `spec` with `options` on [`host`].
pub fn config(spec_json: &str, options_json: &str) -> Result<ContainerConfig, TranslateError> {
    container_config(
        "c1",
        &spec(spec_json),
        &options(options_json),
        &host(),
        &windows_guids,
    )
}

/// Encoded as HCS receives it.
pub fn json<T: serde::Serialize>(value: &T) -> String {
    hcs_schema::to_string(value).unwrap()
}

/// Runs `f` with every event at every level written to a buffer; returns
/// `f`'s result and what was written.
pub fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Buffer {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    (result, text)
}
