//! Layer GUIDs of the Linux compute service.

use hcs::Guid;
use uuid::Uuid;

/// The namespace of the service's name-based layer GUIDs:
/// UUIDv5(URL namespace, "https://hcsrun.dev/ns/layer").
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://hcsrun.dev/ns/layer")
}

/// The GUID the Linux compute service assigns to a layer folder name: an
/// RFC 4122 version-5 GUID of the name's UTF-8 bytes. Windows derives its
/// GUIDs the same way but from a namespace that is not public, so the two
/// services give different GUIDs for the same name.
pub fn name_to_guid(name: &str) -> Guid {
    Guid::from_rfc4122_bytes(*Uuid::new_v5(&namespace(), name.as_bytes()).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_5_and_stable() {
        let g = name_to_guid("65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c");
        assert_eq!(g.data3 >> 12, 5, "version nibble");
        assert_eq!(g.data4[0] >> 6, 0b10, "RFC 4122 variant");
        assert_eq!(
            g,
            name_to_guid("65bf96e5760a09edf1790cb229e2dfb2dbd0fcdc0bf7451bae099106bfbfea0c")
        );
        assert_ne!(g, name_to_guid("4"));
        // Pinned so that a change of namespace or encoding is noticed: layer
        // ids already handed out would change with it.
        // (Computed independently with Python's uuid.uuid5.)
        assert_eq!(
            name_to_guid("4").to_string(),
            "1b35a1c7-20ac-5fdf-ba5d-0f513df5585f"
        );
    }
}
