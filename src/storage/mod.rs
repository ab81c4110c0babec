//! The storage engine: backends, encodings, segments, manifests and commits.

pub mod backend;
pub mod cache;
pub mod encoding;
pub mod manifest;
pub mod mem;
pub mod segment;
pub mod wire;
