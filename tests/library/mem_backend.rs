//! Tests of the in-memory crash model itself: what survives a crash, how torn writes
//! look, determinism by seed, fault injection and the writer lock.

use std::io;

use logdb::storage::backend::Backend;
use logdb::storage::mem::{CrashMode, FaultKind, MemBackend, INJECTED_CRASH};
use logdb::Error;

fn read(b: &MemBackend, path: &str) -> Option<Vec<u8>> {
    match b.read(path) {
        Ok(bytes) => Some(bytes.to_vec()),
        Err(Error::Io { error, .. }) if error.kind() == io::ErrorKind::NotFound => None,
        Err(e) => panic!("unexpected error reading {path}: {e}"),
    }
}

fn io_kind(r: logdb::Result<()>) -> io::ErrorKind {
    match r {
        Err(Error::Io { error, .. }) => error.kind(),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

fn io_message(r: logdb::Result<()>) -> String {
    match r {
        Err(Error::Io { error, .. }) => error.to_string(),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

/// A backend holding `d/f` with `old` bytes, fully durable.
fn durable_file(old: &[u8]) -> MemBackend {
    let b = MemBackend::new();
    b.create_dir_all("d").unwrap();
    b.write("d/f", old).unwrap();
    b.sync("d/f").unwrap();
    b.sync_dir("d").unwrap();
    b
}

#[test]
fn missing_file_is_io_not_found_with_path() {
    let b = MemBackend::new();
    match b.read("a/b") {
        Err(Error::Io { path, error }) => {
            assert_eq!(error.kind(), io::ErrorKind::NotFound);
            assert_eq!(path, std::path::PathBuf::from("mem://a/b"));
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(b.display_path("x/y"), std::path::PathBuf::from("mem://x/y"));
}

#[test]
fn basic_operations() {
    let b = MemBackend::new();
    b.create_dir_all("a/b").unwrap();
    b.write("a/b/x", b"1").unwrap();
    b.write("a/y", b"22").unwrap();
    assert_eq!(b.list("").unwrap(), vec!["a"]);
    assert_eq!(b.list("a").unwrap(), vec!["b", "y"]);
    assert_eq!(b.list("a/b").unwrap(), vec!["x"]);
    assert!(b.list("nope").unwrap().is_empty());
    b.write("a/y", b"333").unwrap();
    assert_eq!(read(&b, "a/y").unwrap(), b"333");
    b.rename("a/y", "a/b/x").unwrap();
    assert_eq!(read(&b, "a/b/x").unwrap(), b"333");
    assert_eq!(read(&b, "a/y"), None);
    assert_eq!(b.files(), vec![("a/b/x".to_string(), 3)]);
    b.remove("a/b/x").unwrap();
    b.remove("a/b/x").unwrap(); // missing: fine
    b.remove_dir("a/b").unwrap();
    b.remove_dir("a/b").unwrap(); // missing: fine
    assert_eq!(b.list("a").unwrap(), Vec::<String>::new());
    // A file needs an existing parent directory.
    assert_eq!(io_kind(b.write("zz/f", b"")), io::ErrorKind::NotFound);
    // A non-empty directory cannot be removed.
    b.write("a/f", b"").unwrap();
    assert_eq!(io_kind(b.remove_dir("a")), io::ErrorKind::DirectoryNotEmpty);
}

#[test]
fn unsynced_write_vanishes_on_drop_crash() {
    let b = durable_file(b"old");
    b.write("d/f", b"new bytes").unwrap();
    b.write("d/g", b"never synced").unwrap();
    b.sync_dir("d").unwrap();
    b.crash(1, CrashMode::Drop);
    assert_eq!(read(&b, "d/f").unwrap(), b"old");
    // The name of g is durable but its bytes never were.
    assert_eq!(read(&b, "d/g").unwrap(), b"");
}

#[test]
fn synced_new_file_without_sync_dir_loses_its_name() {
    let b = MemBackend::new();
    b.create_dir_all("d").unwrap();
    b.write("d/f", b"data").unwrap();
    b.sync("d/f").unwrap();
    b.crash(2, CrashMode::Drop);
    assert_eq!(read(&b, "d/f"), None);
    assert!(b.list("d").unwrap().is_empty());
    // Directories are durable at once.
    assert_eq!(b.list("").unwrap(), vec!["d"]);

    // With sync_dir the file survives, bytes and all.
    b.write("d/f", b"data").unwrap();
    b.sync("d/f").unwrap();
    b.sync_dir("d").unwrap();
    b.crash(2, CrashMode::Drop);
    assert_eq!(read(&b, "d/f").unwrap(), b"data");
}

#[test]
fn rename_durable_only_after_sync_dir() {
    let b = durable_file(b"v1");
    b.write("d/tmp", b"v2").unwrap();
    b.sync("d/tmp").unwrap();
    b.rename("d/tmp", "d/f").unwrap();
    assert_eq!(read(&b, "d/f").unwrap(), b"v2");
    b.crash(3, CrashMode::Mixed);
    assert_eq!(read(&b, "d/f").unwrap(), b"v1");
    assert_eq!(read(&b, "d/tmp"), None);

    b.write("d/tmp", b"v2").unwrap();
    b.sync("d/tmp").unwrap();
    b.rename("d/tmp", "d/f").unwrap();
    b.sync_dir("d").unwrap();
    b.crash(3, CrashMode::Mixed);
    assert_eq!(read(&b, "d/f").unwrap(), b"v2");
    assert_eq!(read(&b, "d/tmp"), None);
}

#[test]
fn remove_durable_only_after_sync_dir() {
    let b = durable_file(b"keep");
    b.remove("d/f").unwrap();
    b.crash(4, CrashMode::Drop);
    assert_eq!(read(&b, "d/f").unwrap(), b"keep");
    b.remove("d/f").unwrap();
    b.sync_dir("d").unwrap();
    b.crash(4, CrashMode::Drop);
    assert_eq!(read(&b, "d/f"), None);
}

#[test]
fn cross_directory_rename_needs_both_sync_dirs() {
    let b = durable_file(b"x");
    b.create_dir_all("e").unwrap();
    b.rename("d/f", "e/f").unwrap();
    b.sync_dir("e").unwrap();
    b.crash(5, CrashMode::Drop);
    // The new name is durable, the removal of the old one is not: both exist.
    assert_eq!(read(&b, "d/f").unwrap(), b"x");
    assert_eq!(read(&b, "e/f").unwrap(), b"x");
}

#[test]
fn directory_rename_is_durable_at_once() {
    let b = durable_file(b"seg");
    b.rename("d", "seg1").unwrap();
    assert_eq!(b.list("").unwrap(), vec!["seg1"]);
    b.crash(6, CrashMode::Drop);
    assert_eq!(read(&b, "seg1/f").unwrap(), b"seg");
    assert_eq!(read(&b, "d/f"), None);
}

/// The `sector`-th block of `bytes`, zero-filled to `len` bytes.
fn block(bytes: &[u8], start: usize, len: usize) -> Vec<u8> {
    (start..start + len)
        .map(|i| bytes.get(i).copied().unwrap_or(0))
        .collect()
}

fn check_torn(old: &[u8], new: &[u8], sector: usize) {
    let (mut saw_old, mut saw_new) = (false, false);
    let mut lengths = std::collections::BTreeSet::new();
    for seed in 0..64 {
        let b = durable_file(old);
        b.write("d/f", new).unwrap();
        b.crash(seed, CrashMode::Torn { sector });
        let got = read(&b, "d/f").unwrap();
        let (lo, hi) = (old.len().min(new.len()), old.len().max(new.len()));
        assert!(
            (lo..=hi).contains(&got.len()),
            "length {} not in {lo}..={hi}",
            got.len()
        );
        lengths.insert(got.len());
        for (i, chunk) in got.chunks(sector).enumerate() {
            let start = i * sector;
            let from_old = chunk == block(old, start, chunk.len()).as_slice();
            let from_new = chunk == block(new, start, chunk.len()).as_slice();
            assert!(
                from_old || from_new,
                "seed {seed}: sector {i} is neither old nor new"
            );
            saw_old |= from_old && !from_new;
            saw_new |= from_new && !from_old;
        }
    }
    assert!(
        saw_old && saw_new,
        "64 seeds never mixed old and new sectors"
    );
    if old.len() != new.len() {
        assert!(lengths.len() > 1, "length never varied: {lengths:?}");
    }
}

#[test]
fn torn_writes_mix_sectors_within_length_bounds() {
    let old: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8 + 1).collect();
    let new: Vec<u8> = (0..9000u32).map(|i| (i % 241) as u8 + 1).rev().collect();
    check_torn(&old, &new, 512);
    check_torn(&old, &new, 4096);
    check_torn(&new, &old, 512); // shrinking rewrite
    check_torn(&old[..4096], &new[..4096], 512);
}

#[test]
fn synced_files_are_never_torn() {
    let b = durable_file(&[7; 3000]);
    b.write("d/f", &[9; 5000]).unwrap();
    b.sync("d/f").unwrap();
    b.crash(11, CrashMode::Torn { sector: 512 });
    assert_eq!(read(&b, "d/f").unwrap(), vec![9; 5000]);
}

/// A workload touching several files, then a crash; returns the resulting files.
fn crash_outcome(seed: u64, mode: CrashMode) -> Vec<(String, Vec<u8>)> {
    let b = MemBackend::new();
    b.create_dir_all("d").unwrap();
    for i in 0..8u8 {
        let path = format!("d/f{i}");
        b.write(&path, &vec![i; 2000]).unwrap();
        b.sync(&path).unwrap();
    }
    b.sync_dir("d").unwrap();
    for i in 0..8u8 {
        b.write(&format!("d/f{i}"), &vec![100 + i; 1000 + 700 * i as usize])
            .unwrap();
    }
    b.crash(seed, mode);
    b.files()
        .into_iter()
        .map(|(p, _)| {
            let bytes = read(&b, &p).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn crash_is_deterministic_by_seed() {
    for mode in [CrashMode::Torn { sector: 512 }, CrashMode::Mixed] {
        assert_eq!(crash_outcome(42, mode), crash_outcome(42, mode));
        assert_ne!(crash_outcome(42, mode), crash_outcome(43, mode));
    }
    assert_eq!(
        crash_outcome(1, CrashMode::Drop),
        crash_outcome(2, CrashMode::Drop)
    );
}

#[test]
fn mixed_mode_varies_per_file() {
    let files = crash_outcome(9, CrashMode::Mixed);
    let old = files
        .iter()
        .filter(|(p, b)| b.iter().all(|&x| x == p.as_bytes()[3] - b'0'))
        .count();
    assert!(
        old > 0 && old < files.len(),
        "{old} of {} kept old bytes",
        files.len()
    );
}

#[test]
fn after_crash_backend_works_normally() {
    let b = durable_file(b"a");
    b.write("d/f", b"b").unwrap();
    b.crash(0, CrashMode::Torn { sector: 512 });
    let after = read(&b, "d/f").unwrap();
    // current = durable now: a second crash changes nothing.
    b.crash(99, CrashMode::Mixed);
    assert_eq!(read(&b, "d/f").unwrap(), after);
    b.write("d/f", b"c").unwrap();
    b.sync("d/f").unwrap();
    b.crash(1, CrashMode::Drop);
    assert_eq!(read(&b, "d/f").unwrap(), b"c");
}

/// Every kind of mutating operation once; `n` ops in all.
fn workload(b: &MemBackend) -> Vec<logdb::Result<()>> {
    vec![
        b.create_dir_all("d"),
        b.write("d/a", b"aaaa"),
        b.sync("d/a"),
        b.write("d/b", b"bbbb"),
        b.rename("d/b", "d/c"),
        b.sync_dir("d"),
        b.remove("d/a"),
        b.create_dir_all("e"),
        b.remove_dir("e"),
    ]
}

#[test]
fn op_count_counts_mutating_ops_only() {
    let b = MemBackend::new();
    assert!(workload(&b).iter().all(|r| r.is_ok()));
    assert_eq!(b.op_count(), 9);
    b.read("d/c").unwrap();
    b.list("d").unwrap();
    drop(b.lock_writer().unwrap());
    assert_eq!(b.op_count(), 9);
    b.reset_faults();
    assert_eq!(b.op_count(), 0);
}

#[test]
fn fail_at_hits_exactly_the_nth_op() {
    for n in 1..=9 {
        for kind in [FaultKind::Eio, FaultKind::Enospc] {
            let b = MemBackend::new();
            b.fail_at(n, kind);
            let results = workload(&b);
            for (i, r) in results.into_iter().enumerate() {
                let i = i as u64 + 1;
                if i == n {
                    let expect = match kind {
                        FaultKind::Eio => io::ErrorKind::Other,
                        _ => io::ErrorKind::StorageFull,
                    };
                    assert_eq!(io_kind(r), expect, "op {i}");
                } else if i < n {
                    assert!(r.is_ok(), "op {i} before the fault at {n}: {r:?}");
                }
            }
        }
    }
}

#[test]
fn failed_op_has_no_effect() {
    let b = durable_file(b"old");
    let n = b.op_count();
    b.fail_at(n + 1, FaultKind::Eio);
    assert_eq!(io_message(b.write("d/f", b"new")), "injected EIO");
    assert_eq!(read(&b, "d/f").unwrap(), b"old");
    b.fail_at(n + 2, FaultKind::Enospc);
    assert_eq!(io_kind(b.rename("d/f", "d/g")), io::ErrorKind::StorageFull);
    assert_eq!(read(&b, "d/f").unwrap(), b"old");
    // Later ops work again.
    b.write("d/f", b"new").unwrap();
    assert_eq!(read(&b, "d/f").unwrap(), b"new");
}

#[test]
fn short_write_stores_a_prefix() {
    let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let mut lengths = std::collections::BTreeSet::new();
    for n in 1..=20 {
        let b = MemBackend::new();
        b.fail_at(n, FaultKind::ShortWrite);
        for _ in 1..n {
            b.create_dir_all("d").unwrap();
        }
        assert!(b.write("f", &data).is_err());
        let got = read(&b, "f").unwrap();
        assert!(got.len() < data.len());
        assert_eq!(got, data[..got.len()]);
        lengths.insert(got.len());
    }
    assert!(lengths.len() > 1, "prefix length never varied");
}

#[test]
fn crash_at_freezes_state() {
    let b = MemBackend::new();
    b.crash_at(4);
    let results = workload(&b);
    assert!(results[..3].iter().all(|r| r.is_ok()));
    for r in results.into_iter().skip(3) {
        assert_eq!(io_message(r), INJECTED_CRASH);
    }
    // Nothing from op 4 on happened; reads still work.
    assert_eq!(b.files(), vec![("d/a".to_string(), 4)]);
    assert_eq!(b.list("").unwrap(), vec!["d"]);
    // d/a was synced but its name never was.
    b.crash(0, CrashMode::Drop);
    assert!(b.files().is_empty());
    // The crash re-enables the backend.
    assert!(workload(&b).iter().all(|r| r.is_ok()));
}

#[test]
fn crash_sweep_over_every_op() {
    let count = {
        let b = MemBackend::new();
        workload(&b);
        b.op_count()
    };
    for n in 1..=count {
        let b = MemBackend::new();
        b.crash_at(n);
        workload(&b);
        b.crash(n, CrashMode::Mixed);
        // Names become durable at op 6 (sync_dir): d/a, synced, and d/c, whose
        // bytes never were; the later remove of d/a is never made durable.
        let files = b.files();
        if n <= 6 {
            assert!(files.is_empty(), "crash at {n}: {files:?}");
        } else {
            assert_eq!(files.len(), 2, "crash at {n}: {files:?}");
            assert_eq!(read(&b, "d/a").unwrap(), b"aaaa");
            let c = read(&b, "d/c").unwrap();
            assert!(c.len() <= 4 && c.iter().all(|&x| x == 0 || x == b'b'));
        }
    }
}

#[test]
fn lock_is_exclusive_and_released_on_drop() {
    let b = MemBackend::new();
    let other = b.clone();
    let guard = b.lock_writer().unwrap();
    assert!(matches!(other.lock_writer(), Err(Error::Locked { .. })));
    drop(guard);
    let guard2 = other.lock_writer().unwrap();
    assert!(matches!(b.lock_writer(), Err(Error::Locked { .. })));
    drop(guard2);
}

#[test]
fn crash_releases_lock() {
    let b = MemBackend::new();
    let stale = b.lock_writer().unwrap();
    b.crash(0, CrashMode::Drop);
    let fresh = b.lock_writer().unwrap();
    // The dead process's guard must not release the new holder's lock.
    drop(stale);
    assert!(matches!(b.lock_writer(), Err(Error::Locked { .. })));
    drop(fresh);
    b.lock_writer().unwrap();
}

#[test]
fn corrupt_changes_current_and_durable_bytes() {
    let b = durable_file(b"abc");
    b.corrupt("d/f", |v| v[1] ^= 0xff).unwrap();
    assert_eq!(read(&b, "d/f").unwrap(), b"a\x9dc");
    b.crash(0, CrashMode::Drop);
    assert_eq!(read(&b, "d/f").unwrap(), b"a\x9dc");
    assert!(b.corrupt("d/missing", |v| v.clear()).is_err());
}

#[test]
fn snapshot_and_restore() {
    let b = durable_file(b"base");
    let snap = b.snapshot();
    b.write("d/f", b"changed").unwrap();
    b.write("d/g", b"new").unwrap();
    b.restore(&snap);
    assert_eq!(b.files(), vec![("d/f".to_string(), 4)]);
    assert_eq!(read(&b, "d/f").unwrap(), b"base");
}
