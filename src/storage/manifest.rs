//! The manifest: the single commit point. It lists every table's schema and the live
//! segments of each partition. A commit writes `MANIFEST-<generation>` whole
//! (temporary file, fsync, rename, fsync of the directory); the highest generation
//! present is the database's state. Layout in spec/format.md ("Manifest files").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::TableSchema;
use crate::storage::backend::Backend;
use crate::time::{self, MICROS_PER_DAY, MICROS_PER_HOUR};

/// The first bytes of every manifest file.
pub const MANIFEST_MAGIC: [u8; 8] = *b"LOGDBMAN";
/// The newest manifest format version this build reads and writes. Version 2
/// adds views; a manifest without views is still written as version 1, so that
/// builds without views keep reading it.
pub const MANIFEST_FORMAT_VERSION: u32 = 2;
/// The version of a manifest without views.
const MANIFEST_VERSION_NO_VIEWS: u32 = 1;
const VERSION_OFFSET: usize = MANIFEST_MAGIC.len();
const BODY_LEN_OFFSET: usize = VERSION_OFFSET + 4;
const BODY_CRC_OFFSET: usize = BODY_LEN_OFFSET + 8;
/// Magic, version (u32), body length (u64), body CRC-32 (u32); the JSON body follows.
pub const MANIFEST_HEADER_LEN: usize = BODY_CRC_OFFSET + 4;
/// Manifest file names: this prefix and a zero-padded generation.
pub const MANIFEST_PREFIX: &str = "MANIFEST-";

/// How much time one partition covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// One UTC day.
    Day,
    /// One UTC hour (a day that passed the table's hour-split threshold).
    Hour,
    /// The single partition of a table without a time column.
    All,
}

/// One live segment file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    pub id: u64,
    /// Path relative to the database root.
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub min_ts: i64,
    pub max_ts: i64,
    /// The segment's footer checksum: ties the manifest to this exact file.
    pub footer_crc: u32,
}

/// A partition: a time range and its segments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionEntry {
    /// Start of the covered time (UTC micros); 0 for [`Granularity::All`].
    pub start: i64,
    pub granularity: Granularity,
    pub segments: Vec<SegmentEntry>,
}

impl PartitionEntry {
    /// End of the covered time, exclusive.
    pub fn end(&self) -> i64 {
        match self.granularity {
            Granularity::Day => self.start.saturating_add(MICROS_PER_DAY),
            Granularity::Hour => self.start.saturating_add(MICROS_PER_HOUR),
            Granularity::All => i64::MAX,
        }
    }

    /// The partition's name: `2024-05-01`, `2024-05-01T13` or `all`.
    pub fn key(&self) -> String {
        match self.granularity {
            Granularity::Day => time::format_date(self.start),
            Granularity::Hour => {
                format!(
                    "{}T{:02}",
                    time::format_date(self.start),
                    self.start.rem_euclid(MICROS_PER_DAY) / MICROS_PER_HOUR
                )
            }
            Granularity::All => "all".into(),
        }
    }

    pub fn rows(&self) -> u64 {
        self.segments.iter().map(|s| s.rows).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }
}

/// Per-table settings, fixed when the table is created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableOptions {
    /// A day whose rows pass this count is partitioned by hour.
    pub hour_split_rows: u64,
}

/// A table: schema, settings and partitions ordered by start time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    pub schema: TableSchema,
    pub options: TableOptions,
    pub partitions: Vec<PartitionEntry>,
    /// Small key/value records committed atomically with the rows, e.g. how far a
    /// followed log file has been imported (`follow:<path>`), so that a restart
    /// resumes exactly where the last commit ended.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checkpoints: BTreeMap<String, String>,
}

impl TableEntry {
    pub fn rows(&self) -> u64 {
        self.partitions.iter().map(PartitionEntry::rows).sum()
    }
}

/// The state of the whole database at one commit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub generation: u64,
    pub next_segment_id: u64,
    pub tables: BTreeMap<String, TableEntry>,
    /// Views by name (format version 2).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub views: BTreeMap<String, ViewEntry>,
}

/// A view: its query as SQL text, bound anew wherever the view is read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewEntry {
    /// The query (`SELECT ...`), as the parser printed it.
    pub sql: String,
    /// Names given to the query's columns (`CREATE VIEW v(a, b)`); may be fewer
    /// than the columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
}

impl Manifest {
    /// The stored name of table `name` (names match case-insensitively).
    pub fn table_key(&self, name: &str) -> Result<String> {
        if self.tables.contains_key(name) {
            return Ok(name.to_string());
        }
        self.tables
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| {
                let known: Vec<&str> = self.tables.keys().map(String::as_str).collect();
                Error::NotFound(if known.is_empty() {
                    format!("table '{name}' does not exist (the database has no tables)")
                } else {
                    format!(
                        "table '{name}' does not exist; tables: {}",
                        known.join(", ")
                    )
                })
            })
    }

    /// The file name of generation `g`.
    pub fn file_name(g: u64) -> String {
        format!("{MANIFEST_PREFIX}{g:020}")
    }

    /// The generation of a manifest file name, if it is one.
    pub fn parse_file_name(name: &str) -> Option<u64> {
        let digits = name.strip_prefix(MANIFEST_PREFIX)?;
        if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    /// Serializes the manifest with its header.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let body = serde_json::to_vec(self)
            .map_err(|e| Error::Internal(format!("manifest serialization: {e}")))?;
        let mut out = Vec::with_capacity(MANIFEST_HEADER_LEN + body.len());
        out.extend_from_slice(&MANIFEST_MAGIC);
        let version = if self.views.is_empty() {
            MANIFEST_VERSION_NO_VIEWS
        } else {
            MANIFEST_FORMAT_VERSION
        };
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Parses and checks a manifest file's bytes; `path` names it in errors.
    pub fn decode(bytes: &[u8], path: std::path::PathBuf) -> Result<Manifest> {
        let corrupt = |d: &str| Error::corrupt(path.clone(), d);
        if bytes.len() < MANIFEST_HEADER_LEN {
            return Err(corrupt("manifest shorter than its header (truncated?)"));
        }
        if bytes[..VERSION_OFFSET] != MANIFEST_MAGIC {
            return Err(corrupt("not a logdb manifest (bad magic)"));
        }
        let u32_at =
            |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let version = u32_at(VERSION_OFFSET);
        if version == 0 || version > MANIFEST_FORMAT_VERSION {
            return Err(Error::IncompatibleVersion {
                path,
                found: version,
                supported: MANIFEST_FORMAT_VERSION,
            });
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[BODY_LEN_OFFSET..BODY_LEN_OFFSET + 8]);
        let body_len = u64::from_le_bytes(len);
        let body = &bytes[MANIFEST_HEADER_LEN..];
        if body.len() as u64 != body_len {
            return Err(corrupt(&format!(
                "manifest body is {} bytes, header says {body_len} (truncated?)",
                body.len()
            )));
        }
        if crc32fast::hash(body) != u32_at(BODY_CRC_OFFSET) {
            return Err(corrupt("manifest checksum mismatch"));
        }
        let m: Manifest =
            serde_json::from_slice(body).map_err(|e| corrupt(&format!("manifest body: {e}")))?;
        m.validate().map_err(|e| corrupt(&e))?;
        Ok(m)
    }

    /// Structural checks that a well-formed JSON body must also pass.
    fn validate(&self) -> std::result::Result<(), String> {
        let mut ids = std::collections::HashSet::new();
        for (name, t) in &self.tables {
            t.schema
                .validate()
                .map_err(|e| format!("table '{name}': {e}"))?;
            for w in t.partitions.windows(2) {
                if w[0].start >= w[1].start || w[0].end() > w[1].start {
                    return Err(format!(
                        "table '{name}': partitions overlap or are out of order"
                    ));
                }
            }
            for p in &t.partitions {
                for s in &p.segments {
                    if s.id >= self.next_segment_id || !ids.insert(s.id) {
                        return Err(format!(
                            "table '{name}': segment id {} is reused or beyond the next id",
                            s.id
                        ));
                    }
                    if s.file.contains("..") || s.file.starts_with('/') {
                        return Err(format!(
                            "table '{name}': segment path '{}' leaves the database",
                            s.file
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The newest manifest generation among `names` (a directory listing).
    pub fn latest(names: &[String]) -> Option<u64> {
        names
            .iter()
            .filter_map(|n| Manifest::parse_file_name(n))
            .max()
    }

    /// Loads generation `g` from the backend.
    pub fn load(backend: &dyn Backend, g: u64) -> Result<Manifest> {
        let name = Manifest::file_name(g);
        let bytes = backend.read(&name)?;
        let m = Manifest::decode(&bytes, backend.display_path(&name))?;
        if m.generation != g {
            return Err(Error::corrupt(
                backend.display_path(&name),
                format!(
                    "manifest holds generation {}, its name says {g}",
                    m.generation
                ),
            ));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version_of(bytes: &[u8]) -> u32 {
        u32::from_le_bytes(
            bytes[VERSION_OFFSET..VERSION_OFFSET + 4]
                .try_into()
                .unwrap(),
        )
    }

    #[test]
    fn a_manifest_is_version_1_until_it_holds_a_view() {
        let mut m = Manifest::default();
        let bytes = m.encode().unwrap();
        assert_eq!(version_of(&bytes), 1);
        assert!(!String::from_utf8_lossy(&bytes).contains("views"));
        m.views.insert(
            "v".into(),
            ViewEntry {
                sql: "SELECT 1".into(),
                columns: vec!["one".into()],
            },
        );
        let bytes = m.encode().unwrap();
        assert_eq!(version_of(&bytes), MANIFEST_FORMAT_VERSION);
        let back = Manifest::decode(&bytes, "MANIFEST-1".into()).unwrap();
        assert_eq!(back, m);
        // A newer version than this build reads is refused, not misread.
        let mut newer = bytes.clone();
        newer[VERSION_OFFSET..VERSION_OFFSET + 4]
            .copy_from_slice(&(MANIFEST_FORMAT_VERSION + 1).to_le_bytes());
        assert!(matches!(
            Manifest::decode(&newer, "MANIFEST-1".into()),
            Err(Error::IncompatibleVersion { .. })
        ));
    }
}
