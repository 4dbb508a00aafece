//! Bounds on what one layer may hold, so that a hostile layer cannot fill the
//! disk, exhaust inodes or memory, or make extraction run for ever.

/// Bounds applied while unpacking each layer. Exceeding one fails the
/// layer with [`crate::ErrorKind::Limit`], which names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The layer's decompressed tar stream, headers included, in bytes. This
    /// is also what bounds a compression bomb. Default 64 GiB.
    pub max_layer_bytes: u64,
    /// Entries in one layer. Default 4 million.
    pub max_entries: u64,
    /// One entry's path (or link target), in bytes. Default 4096 (`PATH_MAX`).
    pub max_path_len: usize,
    /// Extended attributes of one entry (names and values), in bytes.
    /// Default 256 KiB; one value is also bounded by the kernel (64 KiB).
    pub max_xattr_bytes: usize,
    /// A manifest, index or image config, in bytes. Default 4 MiB.
    pub max_document_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_layer_bytes: 64 << 30,
            max_entries: 4_000_000,
            max_path_len: 4096,
            max_xattr_bytes: 256 << 10,
            max_document_bytes: 4 << 20,
        }
    }
}
