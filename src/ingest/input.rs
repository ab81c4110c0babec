//! The inputs of an import or a file-reading query: which files a list of paths,
//! directories and glob patterns names ([`expand_sources`]), opening one with
//! decompression by name or magic bytes ([`open_source`]), and reading its first
//! lines ahead for format detection and schema inference ([`Sampled`]).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::Compression;
use crate::error::{Error, Result};

/// Where lines come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file (plain, `.gz` or `.zst`) or a directory (all files below it, sorted).
    Path(PathBuf),
    /// Standard input.
    Stdin,
}

/// Expands sources into the list of inputs, directories recursively in sorted order.
///
/// Symbolic links are followed, but each directory and each file a walk reaches is
/// taken once, however many paths lead to it: a link cycle (`ln -s . dir/me`) ends,
/// and a log reachable through two links is not imported twice. Files named
/// explicitly are always taken. A path that does not exist and holds `*`, `?` or
/// `[` is a pattern ([`super::glob`]): the files it matches, in sorted order.
pub fn expand_sources(sources: &[Source]) -> Result<Vec<Source>> {
    #[derive(Default)]
    struct Walk {
        dirs: HashSet<(u64, u64)>,
        files: HashSet<(u64, u64)>,
        out: Vec<Source>,
    }
    impl Walk {
        fn dir(&mut self, dir: &Path) -> Result<()> {
            let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
            if !self.dirs.insert(file_identity(&meta)) {
                return Ok(());
            }
            let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| Error::io(dir, e))?
                .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
                .collect::<Result<_>>()?;
            entries.sort();
            for p in entries {
                // Follows links; a dangling link is an error naming it.
                let meta = std::fs::metadata(&p).map_err(|e| Error::io(&p, e))?;
                if meta.is_dir() {
                    self.dir(&p)?;
                } else if !meta.is_file() {
                    // A pipe, socket or device found by the walk is not a log
                    // file (reading a pipe would wait for a writer forever); named
                    // on the command line, it is read like stdin.
                    continue;
                } else if self.files.insert(file_identity(&meta)) {
                    self.out.push(Source::Path(p));
                }
            }
            Ok(())
        }
    }
    let mut walk = Walk::default();
    for s in sources {
        match s {
            Source::Path(p) if p.is_dir() => walk.dir(p)?,
            Source::Path(p) if !p.exists() && super::glob::is_pattern(&p.to_string_lossy()) => {
                for f in super::glob::expand(&p.to_string_lossy())? {
                    let meta = std::fs::metadata(&f).map_err(|e| Error::io(&f, e))?;
                    if walk.files.insert(file_identity(&meta)) {
                        walk.out.push(Source::Path(f));
                    }
                }
            }
            Source::Path(p) => {
                let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
                walk.files.insert(file_identity(&meta));
                walk.out.push(s.clone());
            }
            Source::Stdin => walk.out.push(Source::Stdin),
        }
    }
    Ok(walk.out)
}

/// The name of a source in messages: its path, or `<stdin>`.
pub fn source_name(s: &Source) -> String {
    match s {
        Source::Path(p) => p.display().to_string(),
        Source::Stdin => "<stdin>".into(),
    }
}

/// Opens a source, decompressing by file extension (`.gz`, `.zst`) or, without one,
/// by the magic bytes it starts with (so compressed stdin works too).
pub fn open_source(s: &Source) -> Result<(Box<dyn Read + Send>, Compression)> {
    let name = source_name(s);
    let (mut raw, by_name): (Box<dyn Read + Send>, Option<Compression>) = match s {
        Source::Stdin => (Box::new(io::stdin()), None),
        Source::Path(p) => {
            let f = File::open(p).map_err(|e| Error::io(p, e))?;
            (
                Box::new(f),
                Compression::from_extension(&p.to_string_lossy()),
            )
        }
    };
    let compression = match by_name {
        Some(c) => c,
        None => {
            // Peek at the magic bytes, then put them back in front.
            let mut head = Vec::with_capacity(super::detect::MAGIC_LEN);
            (&mut raw)
                .take(super::detect::MAGIC_LEN as u64)
                .read_to_end(&mut head)
                .map_err(|e| Error::io(&name, e))?;
            let c = Compression::from_magic(&head);
            raw = Box::new(io::Cursor::new(head).chain(raw));
            c
        }
    };
    let input: Box<dyn Read + Send> = match compression {
        Compression::None => raw,
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(raw))),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::new(raw).map_err(|e| Error::io(&name, e))?)
        }
    };
    Ok((input, compression))
}

/// Lines and bytes of input read up front for schema inference.
pub const SAMPLE_LINES: usize = 1000;
pub const SAMPLE_BYTES: usize = 1 << 20;

/// Reads from `input` onto `sample` until it holds `lines` lines, [`SAMPLE_BYTES`]
/// bytes, or the input ends.
pub fn read_sample(input: &mut dyn Read, sample: &mut Vec<u8>, lines: usize) -> io::Result<()> {
    let mut buf = [0u8; 64 * 1024];
    while sample.len() < SAMPLE_BYTES && memchr::memchr_iter(b'\n', sample).count() < lines {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sample.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

/// The first lines of an input, read up front for detection and schema inference,
/// and the input to read on after them.
pub struct Sampled {
    pub name: String,
    pub sample: Vec<u8>,
    pub compression: Compression,
    pub input: Box<dyn Read + Send>,
}

impl Sampled {
    pub fn open(src: &Source, lines: usize) -> Result<Sampled> {
        let (input, compression) = open_source(src)?;
        Sampled::read(source_name(src), input, compression, lines)
    }

    /// The first `lines` lines of an input already open (named `name`).
    pub fn read(
        name: String,
        mut input: Box<dyn Read + Send>,
        compression: Compression,
        lines: usize,
    ) -> Result<Sampled> {
        let mut sample = Vec::new();
        read_sample(&mut input, &mut sample, lines).map_err(|e| read_error(&name, e))?;
        Ok(Sampled {
            name,
            sample,
            compression,
            input,
        })
    }

    /// Reads on to `lines` lines.
    pub fn extend(&mut self, lines: usize) -> Result<()> {
        read_sample(&mut self.input, &mut self.sample, lines).map_err(|e| read_error(&self.name, e))
    }

    /// The whole input: the sample, then the rest.
    pub fn into_reader(self) -> Box<dyn Read + Send> {
        Box::new(io::Cursor::new(self.sample).chain(self.input))
    }
}

/// An error reading input `name`: a broken JSON array is bad input (where it
/// breaks is in its message), anything else an I/O error.
fn read_error(name: &str, e: io::Error) -> Error {
    match super::json_array::malformed(&e) {
        Some(m) => Error::InvalidInput(format!("{name}: {m}")),
        None => Error::io(name, e),
    }
}

/// A file's device and inode: the same file reached by two paths has one identity.
pub fn file_identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}
