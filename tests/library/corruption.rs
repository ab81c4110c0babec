//! Damaged files: truncation, bit flips and missing files are detected by open, scan
//! or check with an error naming the file; never a panic, never a wrong answer.

use std::path::{Path, PathBuf};

use crate::common::*;
use logdb::db::check_backend;
use logdb::storage::backend::FileBackend;
use logdb::{Db, Error, Value};

/// Builds a database with two segments and returns it with the expected rows.
fn build(dir: &Path) -> Vec<Vec<Value>> {
    let schema = log_schema();
    let db = Db::builder().max_segment_rows(6_000).open(dir).unwrap();
    db.create_table("logs", schema.clone()).unwrap();
    let batch = log_batch(&schema, 7, T0, 1_000_000, 10_000);
    db.append("logs", &batch).unwrap();
    batch_rows(&batch)
}

/// The segment files and the current (newest) manifest.
fn live_files(dir: &Path) -> Vec<PathBuf> {
    let mut v = files_of(dir, |n| n.ends_with(".lseg"));
    v.push(files_of(dir, |n| n.starts_with("MANIFEST-")).pop().unwrap());
    v
}

fn files_of(dir: &Path, pred: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if pred(p.file_name().unwrap().to_str().unwrap()) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The error of reading every row (segments are opened on first use).
fn read_error(dir: &Path) -> Error {
    let db = Db::builder().read_only(true).open(dir).unwrap();
    let snap = db.snapshot().unwrap();
    match snap
        .scan("logs", &Default::default())
        .and_then(|s| s.collect::<logdb::Result<Vec<_>>>())
    {
        Err(e) => e,
        Ok(_) => panic!("reading a damaged database succeeded"),
    }
}

enum Outcome {
    /// Every path detected the damage with an error naming `file`.
    Detected,
    /// The damage changed nothing observable and the answers were right.
    Harmless,
}

/// Opens the database read-only, reads every row, looks up an indexed value and runs
/// check. Panics (failing the test) on a wrong answer or an error that does not
/// name the damaged file.
fn probe(dir: &Path, file: &Path, want: &[Vec<Value>]) -> Outcome {
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    let names_file = |e: &Error| {
        let msg = e.to_string();
        assert!(msg.contains(&name), "error does not name {name}: {msg}");
    };
    let report = check_backend(&FileBackend::new(dir)).unwrap();
    let read = (|| -> logdb::Result<(Vec<Vec<Value>>, u64)> {
        let db = Db::builder().read_only(true).open(dir)?;
        let snap = db.snapshot()?;
        let mut rows = Vec::new();
        for b in snap.scan("logs", &Default::default())? {
            let b = b?;
            for r in 0..b.num_rows() {
                rows.push(b.columns.iter().map(|c| c.value(r)).collect());
            }
        }
        let hits = snap
            .lookup("logs", "uid", &Value::from("u1000"))?
            .iter()
            .map(|(_, b)| b.len())
            .sum();
        Ok((rows, hits))
    })();
    match read {
        Ok((rows, hits)) => {
            assert!(rows == want, "wrong answer after damaging {name}");
            let want_hits = want.iter().filter(|r| r[3] == Value::from("u1000")).count() as u64;
            assert_eq!(hits, want_hits, "wrong lookup after damaging {name}");
            if report.is_ok() {
                Outcome::Harmless
            } else {
                assert!(
                    report.problems.iter().any(|p| p.contains(&name)),
                    "{:?}",
                    report.problems
                );
                Outcome::Detected
            }
        }
        Err(e) => {
            names_file(&e);
            assert!(!report.is_ok(), "check passed but reading failed: {e}");
            assert!(
                report.problems.iter().any(|p| p.contains(&name)),
                "{:?}",
                report.problems
            );
            Outcome::Detected
        }
    }
}

fn sweep(
    dir: &Path,
    file: &Path,
    want: &[Vec<Value>],
    damage: impl Fn(&[u8], usize) -> Option<Vec<u8>>,
) -> (usize, usize) {
    let pristine = std::fs::read(file).unwrap();
    let (mut detected, mut harmless) = (0, 0);
    let mut i = 0;
    while let Some(bytes) = damage(&pristine, i) {
        std::fs::write(file, &bytes).unwrap();
        match probe(dir, file, want) {
            Outcome::Detected => detected += 1,
            Outcome::Harmless => harmless += 1,
        }
        i += 1;
    }
    std::fs::write(file, &pristine).unwrap();
    (detected, harmless)
}

/// Offsets spread over the whole file, denser at both ends where the headers are.
fn offsets(len: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..64.min(len)).collect();
    v.extend((0..64.min(len)).map(|i| len - 1 - i));
    v.extend((0..len).step_by((len / 300).max(1)));
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn truncated_segments_and_manifests_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let want = build(dir.path());
    for file in live_files(dir.path()) {
        let len = std::fs::metadata(&file).unwrap().len() as usize;
        let cuts = offsets(len);
        let (detected, harmless) = sweep(dir.path(), &file, &want, |b, i| {
            cuts.get(i).map(|&c| b[..c].to_vec())
        });
        assert_eq!(
            harmless,
            0,
            "a truncation of {} went unnoticed",
            file.display()
        );
        assert_eq!(detected, cuts.len());
    }
}

#[test]
fn bit_flips_in_every_file_type_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let want = build(dir.path());
    let mut total = 0;
    for file in live_files(dir.path()) {
        let len = std::fs::metadata(&file).unwrap().len() as usize;
        let at = offsets(len);
        let (detected, harmless) = sweep(dir.path(), &file, &want, |b, i| {
            at.get(i).map(|&o| {
                let mut v = b.to_vec();
                v[o] ^= 1 << (i % 8);
                v
            })
        });
        assert_eq!(
            harmless,
            0,
            "a bit flip in {} went unnoticed",
            file.display()
        );
        total += detected;
    }
    assert!(total > 500);
}

#[test]
fn a_missing_segment_is_named() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let seg = &files_of(dir.path(), |n| n.ends_with(".lseg"))[0];
    std::fs::remove_file(seg).unwrap();
    let name = seg.file_name().unwrap().to_str().unwrap();
    let err = read_error(dir.path()).to_string();
    assert!(err.contains(name), "{err}");
    let report = check_backend(&FileBackend::new(dir.path())).unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains(name)),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_newer_format_version_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let seg = &files_of(dir.path(), |n| n.ends_with(".lseg"))[0];
    let mut bytes = std::fs::read(seg).unwrap();
    bytes[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(seg, &bytes).unwrap();
    let err = read_error(dir.path());
    assert!(
        matches!(err, Error::IncompatibleVersion { found: 99, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("this build reads up to v5"),
        "{err}"
    );
}

#[test]
fn a_segment_truncated_while_open_fails_its_reads_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let path = files_of(dir.path(), |n| n.ends_with(".lseg")).remove(0);
    let rel = path.strip_prefix(dir.path()).unwrap().to_str().unwrap();
    let backend = FileBackend::new(dir.path());
    let seg = logdb::storage::segment::Segment::open(&backend, rel).unwrap();
    // Opening read the footer; the blocks, dictionaries and indexes come later, from
    // a file that is now shorter than when it was opened.
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 4)
        .unwrap();
    let cols: Vec<usize> = (0..seg.meta().columns.len()).collect();
    let err = seg.read_columns(&cols).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    let text = err.to_string();
    assert!(text.contains(rel) && text.contains("short read"), "{text}");
    let uid = seg.column_index("uid").unwrap();
    let err = seg.lookup(uid, &Value::from("u1000")).unwrap_err();
    assert!(err.to_string().contains(rel), "{err}");
}
