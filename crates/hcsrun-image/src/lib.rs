//! hcsrun's image store.
#![warn(missing_docs)]

pub mod digest;
pub mod reference;

pub use digest::Digest;
pub use reference::Reference;
