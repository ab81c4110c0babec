//! The commit protocol's file-level steps: finding the newest durable manifest and
//! writing a new one (temporary file, fsync, rename, directory fsync); see
//! spec/durability.md.

use crate::error::{Error, Result};
use crate::storage::backend::Backend;
use crate::storage::manifest::{self, Manifest};

/// Lists the database directory and loads its newest manifest (`None`: there is
/// none, or it is generation `known`). A writer in another process may replace
/// the newest manifest between the listing and the read; that is retried.
pub(crate) fn newest_manifest(
    backend: &dyn Backend,
    known: Option<u64>,
) -> Result<(Vec<String>, Option<Manifest>)> {
    for _ in 0..8 {
        let names = backend.list("")?;
        let Some(g) = Manifest::latest(&names) else {
            return Ok((names, None));
        };
        if Some(g) == known {
            return Ok((names, None));
        }
        match Manifest::load(backend, g) {
            Err(Error::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {}
            r => return Ok((names, Some(r?))),
        }
    }
    Err(Error::Io {
        path: backend.display_path(""),
        error: std::io::Error::other("the database kept changing while its manifest was read"),
    })
}

/// Whether `name` is a manifest's temporary file (see [`write_manifest`]).
pub(crate) fn is_manifest_tmp(name: &str) -> bool {
    name.starts_with(manifest::MANIFEST_PREFIX) && name.ends_with(".tmp")
}

/// Writes manifest generation `g` durably: temporary file, fsync, rename, fsync of
/// the root directory.
pub(crate) fn write_manifest(b: &dyn Backend, m: &Manifest, g: u64) -> Result<Manifest> {
    let mut m = m.clone();
    m.generation = g;
    let name = Manifest::file_name(g);
    let tmp = format!("{name}.tmp");
    b.write(&tmp, &m.encode()?)?;
    b.sync(&tmp)?;
    b.rename(&tmp, &name)?;
    b.sync_dir("")?;
    Ok(m)
}

/// The entries of `dir`, or `None` when `dir` is not a directory (a foreign file
/// where logdb keeps directories: left alone).
pub(crate) fn list_dir(b: &dyn Backend, dir: &str) -> Result<Option<Vec<String>>> {
    match b.list(dir) {
        Ok(names) => Ok(Some(names)),
        Err(Error::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotADirectory => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Whether `name` is one logdb gives segment files: 16 hex digits and `.lseg`,
/// or `.lseg.tmp` while being written.
pub(crate) fn is_segment_file_name(name: &str) -> bool {
    let stem = name
        .strip_suffix(".lseg")
        .or_else(|| name.strip_suffix(".lseg.tmp"));
    stem.is_some_and(|s| s.len() == 16 && s.bytes().all(|c| c.is_ascii_hexdigit()))
}
