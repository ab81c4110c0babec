//! `logdb check`: every manifest entry, segment checksum, structure, index and zone
//! map verified, problems collected rather than returned as errors.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::storage::backend::{self, Backend};
use crate::storage::commit::{is_segment_file_name, list_dir};
use crate::storage::manifest::{Manifest, PartitionEntry, SegmentEntry, TableEntry};
use crate::storage::segment::Segment;

/// The findings of [`Db::check`](crate::Db::check).
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub generation: u64,
    pub tables: usize,
    pub segments: usize,
    pub rows: u64,
    pub bytes: u64,
    /// Damage: any entry means the database is not intact.
    pub problems: Vec<String>,
    /// Harmless findings (e.g. files no commit refers to, left by a crash).
    pub notes: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// [`Db::check`](crate::Db::check) on a database that need not open: damage that
/// stops [`Db::open`](crate::Db::open)
/// is reported as a problem like any other.
pub fn check_backend(b: &dyn Backend) -> Result<CheckReport> {
    {
        let mut report = CheckReport::default();
        let names = b.list("")?;
        let Some(g) = Manifest::latest(&names) else {
            report
                .problems
                .push(format!("{}: no manifest", b.display_path("").display()));
            return Ok(report);
        };
        let manifest = match Manifest::load(b, g) {
            Ok(m) => m,
            Err(e) => {
                report.problems.push(e.to_string());
                return Ok(report);
            }
        };
        report.generation = g;
        report.tables = manifest.tables.len();
        let mut live = HashSet::new();
        for (name, t) in &manifest.tables {
            for p in &t.partitions {
                for s in &p.segments {
                    live.insert(s.file.clone());
                    report.segments += 1;
                    report.rows += s.rows;
                    report.bytes += s.bytes;
                    let seg = match Segment::open(b, &s.file) {
                        Ok(seg) => seg,
                        Err(e) => {
                            report.problems.push(e.to_string());
                            continue;
                        }
                    };
                    if let Err(e) = check_segment_entry(&seg, s, t, p) {
                        report.problems.push(format!("table '{name}': {e}"));
                        continue;
                    }
                    if let Err(e) = seg.verify() {
                        report.problems.push(e.to_string());
                    }
                }
            }
        }
        let foreign = |path: &str| {
            format!(
                "{}: not written by logdb (left alone)",
                b.display_path(path).display()
            )
        };
        for table in b.list("tables")? {
            let tdir = backend::join("tables", &table);
            let Some(parts) = list_dir(b, &tdir)? else {
                report.notes.push(foreign(&tdir));
                continue;
            };
            for part in parts {
                let pdir = backend::join(&tdir, &part);
                let Some(files) = list_dir(b, &pdir)? else {
                    report.notes.push(foreign(&pdir));
                    continue;
                };
                for f in files {
                    let path = backend::join(&pdir, &f);
                    if !is_segment_file_name(&f) {
                        report.notes.push(foreign(&path));
                    } else if !live.contains(&path) {
                        report.notes.push(format!(
                            "{}: not referenced by the manifest (removed when a writer opens)",
                            b.display_path(&path).display()
                        ));
                    }
                }
            }
        }
        Ok(report)
    }
}

/// Checks that an opened segment is the file the manifest describes.
pub(crate) fn check_segment_entry(
    seg: &Segment,
    s: &SegmentEntry,
    t: &TableEntry,
    p: &PartitionEntry,
) -> Result<()> {
    let m = seg.meta();
    let bad = |d: String| Err(Error::corrupt(seg.display_path(), d));
    if seg.footer_crc() != s.footer_crc || seg.file_len() != s.bytes {
        return bad(
            "file differs from the one the manifest committed (size or footer checksum)".into(),
        );
    }
    if m.segment_id != s.id || m.rows != s.rows || m.min_ts != s.min_ts || m.max_ts != s.max_ts {
        return bad("segment header disagrees with the manifest (id, rows or time range)".into());
    }
    let fields: Vec<_> = m.columns.iter().map(|c| &c.field).collect();
    if fields.len() != t.schema.fields.len()
        || fields.iter().zip(&t.schema.fields).any(|(a, b)| *a != b)
    {
        return bad("segment columns differ from the table schema".into());
    }
    if t.schema.time_index().is_some() && s.rows > 0 && (s.min_ts < p.start || s.max_ts >= p.end())
    {
        return bad(format!("rows outside partition {}", p.key()));
    }
    Ok(())
}
