//! The storage engine through its public API: commits, snapshots, scans, lookups,
//! partitioning, compaction, retention and locking.

use crate::common::*;
use logdb::{Db, Error, ScanOptions, Value};

fn sorted(mut v: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

#[test]
fn append_reopen_scan_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let schema = log_schema();
    let batch = log_batch(&schema, 1, T0, 1_000_000, 30_000);
    {
        let db = Db::builder()
            .max_segment_rows(10_000)
            .open(dir.path())
            .unwrap();
        db.create_table("logs", schema.clone()).unwrap();
        let stats = db.append("logs", &batch).unwrap();
        assert_eq!(stats.rows, 30_000);
        assert_eq!(stats.segments, 3);
    }
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(all_rows(&db, "logs"), batch_rows(&batch));
    let info = db.table_info("logs").unwrap();
    assert_eq!(info.rows, 30_000);
    assert_eq!(info.partitions.len(), 1);
    assert_eq!(info.partitions[0].key, "2024-05-01");
    assert_eq!(info.partitions[0].segments.len(), 3);
}

#[test]
fn late_rows_go_to_their_own_day_and_scans_prune_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let schema = log_schema();
    let db = Db::open(dir.path()).unwrap();
    db.create_table("logs", schema.clone()).unwrap();
    let day2 = log_batch(&schema, 2, T0 + DAY, 10_000_000, 5000);
    let day1_late = log_batch(&schema, 3, T0 + 3 * HOUR, 1_000_000, 3000);
    db.append("logs", &day2).unwrap();
    db.append("logs", &day1_late).unwrap();
    let keys: Vec<String> = db
        .table_info("logs")
        .unwrap()
        .partitions
        .iter()
        .map(|p| p.key.clone())
        .collect();
    assert_eq!(keys, ["2024-05-01", "2024-05-02"]);

    let snap = db.snapshot().unwrap();
    let range = (T0 + 3 * HOUR + 500_000_000, T0 + 3 * HOUR + 700_000_000);
    assert_eq!(snap.segments("logs", Some(range)).unwrap().len(), 1);
    let opts = ScanOptions {
        columns: Some(vec!["ts".into(), "status".into()]),
        time_range: Some(range),
    };
    let mut n = 0;
    for b in snap.scan("logs", &opts).unwrap() {
        let b = b.unwrap();
        assert_eq!(b.columns.len(), 2);
        for r in 0..b.num_rows() {
            let Value::Int(ts) = b.columns[0].value(r) else {
                panic!()
            };
            assert!((range.0..range.1).contains(&ts));
            n += 1;
        }
    }
    assert_eq!(n, 200);
}

#[test]
fn index_lookup_and_counts_match_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    let schema = log_schema();
    let db = Db::builder()
        .max_segment_rows(7_000)
        .open(dir.path())
        .unwrap();
    db.create_table("logs", schema.clone()).unwrap();
    let batch = log_batch(&schema, 4, T0, 100_000, 20_000);
    db.append("logs", &batch).unwrap();
    let rows = batch_rows(&batch);
    let snap = db.snapshot().unwrap();

    let want = rows.iter().filter(|r| r[3] == Value::from("u1000")).count() as u64;
    let hits: u64 = snap
        .lookup("logs", "uid", &Value::from("u1000"))
        .unwrap()
        .iter()
        .map(|(_, b)| b.len())
        .sum();
    assert!(want > 1000);
    assert_eq!(hits, want);
    // Every hit really holds the value.
    for (seg, bm) in snap.lookup("logs", "status", &Value::Int(404)).unwrap() {
        let col = seg.column_index("status").unwrap();
        let data = &seg.read_columns(&[col]).unwrap()[0];
        for r in bm.iter() {
            assert_eq!(data.value(r as usize), Value::Int(404));
        }
    }
    assert!(snap
        .lookup("logs", "uid", &Value::from("nobody"))
        .unwrap()
        .is_empty());

    let counts = snap.value_counts("logs", "status").unwrap();
    for (v, c) in counts {
        assert_eq!(c, rows.iter().filter(|r| r[4] == v).count() as u64);
    }
    let err = snap
        .lookup("logs", "bytes", &Value::Int(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no bitmap index"), "{err}");
}

#[test]
fn a_busy_day_is_split_by_hour() {
    let dir = tempfile::tempdir().unwrap();
    let schema = log_schema();
    let db = Db::builder()
        .hour_split_rows(5_000)
        .open(dir.path())
        .unwrap();
    db.create_table("logs", schema.clone()).unwrap();
    let first = log_batch(&schema, 5, T0, 1_000_000, 4_000); // 0:00 - 1:06
    db.append("logs", &first).unwrap();
    assert_eq!(
        db.table_info("logs").unwrap().partitions[0].key,
        "2024-05-01"
    );
    let second = log_batch(&schema, 6, T0 + 2 * HOUR, 1_000_000, 4_000);
    db.append("logs", &second).unwrap();
    let keys: Vec<String> = db
        .table_info("logs")
        .unwrap()
        .partitions
        .iter()
        .map(|p| p.key.clone())
        .collect();
    assert_eq!(
        keys,
        [
            "2024-05-01T00",
            "2024-05-01T01",
            "2024-05-01T02",
            "2024-05-01T03"
        ]
    );
    let mut want = batch_rows(&first);
    want.extend(batch_rows(&second));
    assert_eq!(sorted(all_rows(&db, "logs")), sorted(want));
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn compaction_merges_small_segments_and_keeps_rows() {
    let dir = tempfile::tempdir().unwrap();
    let schema = log_schema();
    let db = Db::builder()
        .max_segment_rows(10_000)
        .open(dir.path())
        .unwrap();
    db.create_table("logs", schema.clone()).unwrap();
    let mut want = Vec::new();
    for i in 0..12 {
        let b = log_batch(&schema, 10 + i, T0 + i as i64 * 600_000_000, 1_000, 500);
        want.extend(batch_rows(&b));
        db.append("logs", &b).unwrap();
    }
    let reader = db.snapshot().unwrap();
    let stats = db.compact("logs").unwrap();
    assert_eq!(stats.segments_before, 12);
    assert_eq!(stats.segments_after, 1);
    assert_eq!(all_rows(&db, "logs"), want);
    // A snapshot taken before the compaction still reads its own segments.
    let mut n = 0;
    for b in reader.scan("logs", &ScanOptions::default()).unwrap() {
        n += b.unwrap().num_rows();
    }
    assert_eq!(n, 6000);
    assert!(db.check().unwrap().is_ok());
    let hits: u64 = db
        .snapshot()
        .unwrap()
        .lookup("logs", "uid", &Value::from("u1000"))
        .unwrap()
        .iter()
        .map(|(_, b)| b.len())
        .sum();
    assert_eq!(
        hits,
        want.iter().filter(|r| r[3] == Value::from("u1000")).count() as u64
    );
}

#[test]
fn retention_drops_whole_old_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let schema = log_schema();
    let db = Db::open(dir.path()).unwrap();
    db.create_table("logs", schema.clone()).unwrap();
    for d in 0..4 {
        db.append(
            "logs",
            &log_batch(&schema, d as u64, T0 + d * DAY, 1_000_000, 1000),
        )
        .unwrap();
    }
    assert_eq!(
        db.drop_partitions_before("logs", T0 + 2 * DAY + HOUR)
            .unwrap(),
        2
    );
    assert_eq!(db.drop_partition("logs", "2024-05-04").unwrap(), 1);
    assert!(db.drop_partition("logs", "2024-05-04").is_err());
    let info = db.table_info("logs").unwrap();
    assert_eq!(info.partitions.len(), 1);
    assert_eq!(info.rows, 1000);
    drop(db);
    // Dropped files are gone from disk.
    let parts: Vec<_> = std::fs::read_dir(dir.path().join("tables/logs"))
        .unwrap()
        .collect();
    assert_eq!(parts.len(), 1);
}

#[test]
fn second_writer_gets_a_clear_error_and_readers_follow_commits() {
    let dir = tempfile::tempdir().unwrap();
    let schema = log_schema();
    let db = Db::open(dir.path()).unwrap();
    let err = Db::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(
        err.to_string().contains("locked by another writer"),
        "{err}"
    );

    let reader = Db::builder().read_only(true).open(dir.path()).unwrap();
    db.create_table("logs", schema.clone()).unwrap();
    db.append("logs", &log_batch(&schema, 1, T0, 1_000, 100))
        .unwrap();
    assert_eq!(reader.table_info("logs").unwrap().rows, 100);
    assert!(reader
        .append("logs", &log_batch(&schema, 1, T0, 1_000, 1))
        .is_err());
}

/// A forked child shares this process's open files until it execs, the writer lock
/// included; closing a `Db` and reopening it while other threads spawn processes must
/// still succeed.
#[test]
fn a_writer_reopens_while_other_threads_spawn_processes() {
    let dir = tempfile::tempdir().unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::process::Command::new("true").status();
                }
            });
        }
        for _ in 0..300 {
            let opened = Db::open(dir.path());
            if opened.is_err() {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            drop(opened.unwrap());
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}

#[test]
fn tables_without_time_column_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let users = logdb::TableSchema::new(vec![
        logdb::Field::not_null("uid", logdb::DataType::Varchar),
        logdb::Field::new("country", logdb::DataType::Varchar),
    ]);
    db.create_table("users", users.clone()).unwrap();
    let mut b = logdb::BatchBuilder::new(&users);
    b.push_str(0, "u1");
    b.push_str(1, "fr");
    b.push_str(0, "u2");
    b.push_null(1);
    db.append("users", &b.finish()).unwrap();
    assert_eq!(all_rows(&db, "users").len(), 2);
    assert!(db
        .create_table("USERS", users)
        .unwrap_err()
        .to_string()
        .contains("already exists"));
    let e = db
        .append("nope", &log_batch(&log_schema(), 1, T0, 1, 1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not exist; tables: users"), "{e}");
    let e = db
        .drop_partition("users", "2024-01-01")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no time column"), "{e}");
    db.drop_table("users").unwrap();
    assert!(db.table_names().unwrap().is_empty());
}

#[test]
fn rewriting_a_plain_table_replaces_its_rows_unless_it_changed_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let users = logdb::TableSchema::new(vec![logdb::Field::not_null(
        "uid",
        logdb::DataType::Varchar,
    )]);
    db.create_table("users", users.clone()).unwrap();
    let batch = |names: &[&str]| {
        let mut b = logdb::BatchBuilder::new(&users);
        for n in names {
            b.push_str(0, n);
        }
        b.finish()
    };
    db.append("users", &batch(&["u1", "u2"])).unwrap();
    let read = db.snapshot().unwrap();
    db.replace_table_rows(&read, "users", &batch(&["u3"]))
        .unwrap();
    assert_eq!(all_rows(&db, "users"), vec![vec![Value::Str("u3".into())]]);
    // `read` is stale now: a second rewrite from it would lose the first one.
    let e = db
        .replace_table_rows(&read, "users", &batch(&["u4"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("changed while the statement ran"), "{e}");
    assert_eq!(all_rows(&db, "users"), vec![vec![Value::Str("u3".into())]]);
    // No rows at all is a table with no rows.
    db.replace_table_rows(&db.snapshot().unwrap(), "users", &batch(&[]))
        .unwrap();
    assert!(all_rows(&db, "users").is_empty());
    // A log table is rewritten a partition at a time, never here.
    db.create_table("logs", log_schema()).unwrap();
    let e = db
        .replace_table_rows(
            &db.snapshot().unwrap(),
            "logs",
            &log_batch(&log_schema(), 1, T0, 1, 1),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("log table"), "{e}");
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn opening_a_foreign_directory_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    let err = Db::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a logdb database"), "{err}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names.iter().all(|n| n == "notes.txt" || n == "LOCK"),
        "{names:?}"
    );
}

#[test]
fn readers_see_whole_commits_while_a_writer_appends_and_compacts() {
    let dir = tempfile::tempdir().unwrap();
    let schema = log_schema();
    let db = Db::builder()
        .max_segment_rows(2_000)
        .open(dir.path())
        .unwrap();
    db.create_table("logs", schema.clone()).unwrap();
    const BATCH: usize = 250;
    const BATCHES: usize = 40;
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut seen = 0;
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        let snap = db.snapshot().unwrap();
                        let want = snap.table("logs").unwrap().rows();
                        let mut rows = 0;
                        for b in snap.scan("logs", &ScanOptions::default()).unwrap() {
                            rows += b.unwrap().num_rows() as u64;
                        }
                        assert_eq!(rows, want, "a snapshot changed under its reader");
                        assert_eq!(rows % BATCH as u64, 0, "a partial commit was visible");
                        seen += 1;
                    }
                    seen
                })
            })
            .collect();
        for i in 0..BATCHES {
            let b = log_batch(
                &schema,
                100 + i as u64,
                T0 + i as i64 * 600_000_000,
                1_000,
                BATCH,
            );
            db.append("logs", &b).unwrap();
            if i % 10 == 9 {
                db.compact("logs").unwrap();
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
    });
    assert_eq!(
        db.table_info("logs").unwrap().rows,
        (BATCH * BATCHES) as u64
    );
    assert!(db.check().unwrap().is_ok());
}

/// The database directory may hold files logdb did not write (an editor's backup,
/// a README, a file where a directory is expected) and partition directories that
/// are links to another disk: opening a writer leaves every one of them alone and
/// still opens, removes only unfinished segment files, and `check` names the
/// foreign ones. A stray file in a table directory stopped every writer open ("Not
/// a directory"), and unknown files in partition directories were deleted.
#[test]
fn foreign_files_and_linked_directories_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let schema = log_schema();
    {
        let db = Db::open(&path).unwrap();
        db.create_table("logs", schema.clone()).unwrap();
        db.append("logs", &log_batch(&schema, 3, T0, 1_000_000, 500))
            .unwrap();
    }
    let tdir = path.join("tables").join("logs");
    let part = std::fs::read_dir(&tdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    std::fs::write(tdir.join("README"), "notes").unwrap();
    std::fs::write(part.join("notes.txt~"), "backup").unwrap();
    std::fs::write(part.join("00000000000000ff.lseg.tmp"), "unfinished").unwrap();
    let elsewhere = dir.path().join("other-disk");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("precious.txt"), "keep me").unwrap();
    std::os::unix::fs::symlink(&elsewhere, tdir.join("2099-01-01")).unwrap();

    let db = Db::open(&path).unwrap();
    assert_eq!(db.table_info("logs").unwrap().rows, 500);
    assert!(tdir.join("README").exists());
    assert!(part.join("notes.txt~").exists());
    assert!(elsewhere.join("precious.txt").exists());
    assert!(tdir.join("2099-01-01").exists(), "the link stays");
    assert!(
        !part.join("00000000000000ff.lseg.tmp").exists(),
        "ours, unfinished"
    );
    // Writing and compacting still work beside them.
    db.append("logs", &log_batch(&schema, 4, T0, 1_000_000, 10))
        .unwrap();
    db.compact("logs").unwrap();
    assert_eq!(db.table_info("logs").unwrap().rows, 510);
    let report = db.check().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let notes = report.notes.join("\n");
    for name in ["README", "notes.txt~", "precious.txt"] {
        assert!(
            notes.contains(name) && notes.contains("not written by logdb"),
            "{notes}"
        );
    }
    drop(db);
    assert!(elsewhere.join("precious.txt").exists());
}

/// Every command that deletes (dropping partitions by age as `retention` does, by
/// key, a time range, the whole table) removes logdb's own files, through a link
/// when a partition lives on another disk, and nothing else: foreign files stay,
/// links stay, and the database opens afterwards.
#[test]
fn deleting_commands_remove_only_their_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let schema = log_schema();
    let db = Db::open(&path).unwrap();
    db.create_table("logs", schema.clone()).unwrap();
    // Four days, one partition each.
    db.append("logs", &log_batch(&schema, 5, T0, DAY / 100, 400))
        .unwrap();
    let tdir = path.join("tables").join("logs");
    let mut parts: Vec<_> = std::fs::read_dir(&tdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    assert_eq!(parts.len(), 4, "{parts:?}");
    // The first day lives on "another disk", linked back; every day holds a
    // foreign file, and so does the table directory.
    let other = dir.path().join("other-disk");
    std::fs::rename(&parts[0], &other).unwrap();
    std::os::unix::fs::symlink(&other, &parts[0]).unwrap();
    for p in &parts {
        std::fs::write(p.join("keep.txt"), "not logdb's").unwrap();
    }
    std::fs::write(tdir.join("README"), "not logdb's").unwrap();
    drop(db);

    let db = Db::open(&path).unwrap();
    let key = |p: &std::path::Path| p.file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(db.drop_partitions_before("logs", T0 + DAY).unwrap(), 1);
    assert_eq!(db.drop_partition("logs", &key(&parts[1])).unwrap(), 1);
    db.delete_time_range("logs", T0 + 2 * DAY, T0 + 3 * DAY)
        .unwrap();
    assert_eq!(db.table_info("logs").unwrap().rows, 100);
    db.drop_table("logs").unwrap();
    drop(db);

    for p in &parts {
        assert!(p.join("keep.txt").exists(), "{}", p.display());
        let ours: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".lseg"))
            .collect();
        assert!(ours.is_empty(), "{}: {ours:?}", p.display());
    }
    assert!(tdir.join("README").exists());
    assert!(std::fs::symlink_metadata(&parts[0]).unwrap().is_symlink());
    let db = Db::open(&path).unwrap();
    assert!(db.check().unwrap().problems.is_empty());
    db.create_table("logs", schema.clone()).unwrap();
    db.append("logs", &log_batch(&schema, 6, T0, DAY / 100, 10))
        .unwrap();
    assert_eq!(db.table_info("logs").unwrap().rows, 10);
}

#[test]
fn a_handle_locking_on_first_write_reads_without_the_lock_and_writes_after_others() {
    let dir = tempfile::tempdir().unwrap();
    let schema = log_schema();
    let first = log_batch(&schema, 5, T0, 1_000_000, 1000);
    {
        let db = Db::open(dir.path()).unwrap();
        db.create_table("logs", schema.clone()).unwrap();
        db.append("logs", &first).unwrap();
    }
    std::fs::remove_file(dir.path().join("LOCK")).unwrap();
    let lazy = Db::builder()
        .lock_on_first_write(true)
        .open(dir.path())
        .unwrap();
    assert_eq!(lazy.table_info("logs").unwrap().rows, 1000);
    assert!(!dir.path().join("LOCK").exists(), "opening took the lock");

    // Another writer can open and commit meanwhile; the lazy handle sees it.
    let other = Db::open(dir.path()).unwrap();
    other
        .append("logs", &log_batch(&schema, 6, T0, 1_000_000, 500))
        .unwrap();
    assert_eq!(lazy.table_info("logs").unwrap().rows, 1500);
    let err = lazy.append("logs", &first).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");

    // Once it is gone, the first write takes the lock and builds on its commit.
    drop(other);
    lazy.append("logs", &first).unwrap();
    assert_eq!(lazy.table_info("logs").unwrap().rows, 2500);
    assert!(matches!(
        Db::open(dir.path()).unwrap_err(),
        Error::Locked { .. }
    ));
    drop(lazy);
    assert_eq!(
        Db::open(dir.path())
            .unwrap()
            .table_info("logs")
            .unwrap()
            .rows,
        2500
    );
}

/// A dictionary larger than one page (format v3) answers equality and range
/// lookups from the one page that would hold the value, reopened in a fresh
/// process as a query would meet it: the first and last entries of pages, values
/// between pages, before the first and after the last entry, all agree with a
/// scan that uses no index.
#[test]
fn paged_dictionaries_answer_lookups_at_page_boundaries() {
    use logdb::storage::segment::ColumnStorage;
    let dir = tempfile::tempdir().unwrap();
    let schema = logdb::TableSchema::new(vec![
        logdb::Field::not_null("ts", logdb::DataType::Timestamp),
        logdb::Field::new("uid", logdb::DataType::Varchar),
    ])
    .with_time_column("ts")
    .with_indexes(["uid"]);
    {
        let db = Db::builder().open(dir.path()).unwrap();
        db.create_table("t", schema.clone()).unwrap();
        let mut b = logdb::BatchBuilder::new(&schema);
        for i in 0..30_000u64 {
            b.push_i64(0, T0 + i as i64 * 1_000_000);
            if i % 97 == 0 {
                b.push_null(1);
            } else {
                // About 25 bytes each: several 32 KiB pages; some values repeat.
                b.push_str(
                    1,
                    &format!(
                        "user-{:07}-{}",
                        (i * 7919) % 20_011,
                        "x".repeat((i % 9) as usize)
                    ),
                );
            }
        }
        db.append("t", &b.finish()).unwrap();
    }
    let db = Db::builder().read_only(true).open(dir.path()).unwrap();
    let snap = db.snapshot().unwrap();
    let segs = snap.segments("t", None).unwrap();
    let col = segs[0].column_index("uid").unwrap();
    let ColumnStorage::Dictionary { pages, .. } = &segs[0].meta().columns[col].storage else {
        panic!("uid has a dictionary");
    };
    assert!(pages.len() > 3, "{} pages", pages.len());
    let mut probes: Vec<String> = vec!["".into(), "a".into(), "zzz".into()];
    for p in pages {
        let first = p.first.as_deref().unwrap().to_string();
        probes.push(format!("{first}!"));
        let mut before = first.clone();
        before.pop();
        probes.push(before);
        probes.push(first);
    }
    let dict = segs[0].dictionary(col).unwrap().unwrap();
    for p in pages.iter().skip(1) {
        probes.push(dict.get(p.first_code as usize - 1).to_string());
    }
    for v in &probes {
        let lit = v.replace('\'', "''");
        for op in ["=", "<", "<=", ">", ">="] {
            // A fresh database handle for each query: nothing decoded before.
            let db = Db::builder().read_only(true).open(dir.path()).unwrap();
            let sql = format!("SELECT count(*), min(uid), max(uid) FROM t WHERE uid {op} '{lit}'");
            let with = run_sql(&db, &sql, true).text_rows();
            let without = run_sql(&db, &sql, false).text_rows();
            assert_eq!(with, without, "{sql}");
        }
    }
}

/// `count(*) GROUP BY` an indexed string column over several segments whose
/// dictionaries span many pages is answered from the indexes. When the
/// dictionaries are larger than half the open-segment cache, each is read a page
/// at a time and the segments keep none of the pages the merge read; when they
/// fit, they are decoded whole and kept for the next query. Either way the counts
/// (all of them, and a top-N) agree with the scan.
#[test]
fn index_only_counts_read_paged_dictionaries_without_keeping_them() {
    use logdb::storage::segment::ColumnStorage;
    let dir = tempfile::tempdir().unwrap();
    let schema = logdb::TableSchema::new(vec![
        logdb::Field::not_null("ts", logdb::DataType::Timestamp),
        logdb::Field::new("uri", logdb::DataType::Varchar),
    ])
    .with_time_column("ts")
    .with_indexes(["uri"]);
    {
        let db = Db::builder().open(dir.path()).unwrap();
        db.create_table("t", schema.clone()).unwrap();
        // Three commits: three segments whose key sets overlap in part.
        for part in 0..3u64 {
            let mut b = logdb::BatchBuilder::new(&schema);
            for i in 0..20_000u64 {
                b.push_i64(0, T0 + (part * 20_000 + i) as i64 * 1_000_000);
                if i % 101 == 0 {
                    b.push_null(1);
                } else {
                    let k = (i * 7919 + part * 5_003) % 12_007;
                    b.push_str(1, &format!("/item/{k:06}/{}", "p".repeat((k % 7) as usize)));
                }
            }
            db.append("t", &b.finish()).unwrap();
        }
    }
    // Dictionaries of about 200 KiB each against a 256 KiB segment cache.
    let db = Db::builder()
        .read_only(true)
        .segment_cache_bytes(256 << 10)
        .open(dir.path())
        .unwrap();
    let snap = db.snapshot().unwrap();
    let segs = snap.segments("t", None).unwrap();
    assert!(segs.len() >= 3, "{} segments", segs.len());
    for seg in &segs {
        let col = seg.column_index("uri").unwrap();
        let ColumnStorage::Dictionary { pages, .. } = &seg.meta().columns[col].storage else {
            panic!("uri has a dictionary");
        };
        assert!(pages.len() > 3, "{} pages", pages.len());
    }
    let held = |segs: &[std::sync::Arc<logdb::storage::segment::Segment>]| -> usize {
        segs.iter().map(|s| s.dictionary_memory()).sum()
    };
    let queries = [
        "SELECT uri, count(*) AS n FROM t GROUP BY uri",
        "SELECT uri, count(*) AS n FROM t GROUP BY uri ORDER BY n DESC, uri LIMIT 5",
        "SELECT uri, count(*) AS n FROM t GROUP BY uri ORDER BY n, uri LIMIT 3",
    ];
    let sorted = |r: logdb::QueryResult| {
        let mut rows = r.text_rows();
        rows.sort();
        rows
    };
    let mut answers = Vec::new();
    for sql in queries {
        answers.push(sorted(run_sql(&db, sql, true)));
        assert_eq!(held(&segs), 0, "{sql}: dictionary pages kept");
    }
    // Under the default budget the merge keeps them.
    let roomy = Db::builder().read_only(true).open(dir.path()).unwrap();
    let roomy_segs = roomy.snapshot().unwrap().segments("t", None).unwrap();
    let kept = sorted(run_sql(&roomy, queries[0], true));
    assert!(held(&roomy_segs) > 0, "dictionaries not kept");
    // The scans (which do keep the dictionaries they decode) after them.
    for (sql, with) in queries.iter().zip(answers) {
        assert_eq!(with, sorted(run_sql(&db, sql, false)), "{sql}");
    }
    assert_eq!(kept, sorted(run_sql(&db, queries[0], false)));
    let explain = db.query("EXPLAIN SELECT uri, count(*) FROM t GROUP BY uri");
    let text = format!("{:?}", explain.unwrap().text_rows());
    assert!(text.contains("IndexOnlyAggregate"), "{text}");
}

/// The paths under `dir` that this process has mapped into memory.
#[cfg(target_os = "linux")]
fn mapped_files_under(dir: &std::path::Path) -> Vec<String> {
    let dir = dir.canonicalize().unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut v: Vec<String> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| std::path::Path::new(p).starts_with(&dir))
        .map(str::to_string)
        .collect();
    v.dedup();
    v
}

/// Segments are read with positioned reads into owned buffers: opening them,
/// answering from their metadata and indexes, point reads and full scans map none
/// of their files (mapped file pages would count in the process's memory, a whole
/// large folio per fault).
#[cfg(target_os = "linux")]
#[test]
fn reading_segments_maps_none_of_their_files() {
    let dir = tempfile::tempdir().unwrap();
    drop(indexed_logs_db(dir.path(), 11, 20_000));
    let db = Db::builder().read_only(true).open(dir.path()).unwrap();
    let snap = db.snapshot().unwrap();
    let segs = snap.segments("logs", None).unwrap();
    assert!(segs.len() > 5, "{} segments", segs.len());
    let queries = [
        "SELECT count(*) FROM logs",
        "SELECT status, count(*) FROM logs GROUP BY status",
        "SELECT count(*) FROM logs WHERE uid = 'u1000'",
        "SELECT ts, uri, bytes FROM logs WHERE uid = 'u1000' AND status = 404",
        "SELECT uri, sum(bytes), max(request_time) FROM logs GROUP BY uri",
        "SELECT min(ts), max(ts) FROM logs WHERE bytes > 1000",
    ];
    for sql in queries {
        for use_indexes in [true, false] {
            run_sql(&db, sql, use_indexes);
        }
    }
    assert!(db.check().unwrap().problems.is_empty());
    let mapped = mapped_files_under(dir.path());
    assert!(mapped.is_empty(), "mapped: {mapped:?}");
}

/// A segment file opened when descriptors run short is mapped instead and reads the
/// same bytes, with the same errors past its end.
#[test]
fn a_mapped_read_file_reads_what_a_positioned_one_does() {
    use logdb::storage::backend::ReadFile;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let open = |map| ReadFile::with_file(&path, std::fs::File::open(&path).unwrap(), map);
    let (plain, mapped) = (open(false).unwrap(), open(true).unwrap());
    assert!(!plain.is_mapped() && mapped.is_mapped());
    for f in [&plain, &mapped] {
        let mut buf = Vec::new();
        f.read_into(1234, 4000, &mut buf).unwrap();
        assert_eq!(buf, &bytes[1234..5234]);
        f.read_into(9_990, 10, &mut buf).unwrap();
        assert_eq!(buf, &bytes[9_990..]);
        let err = f.read_into(9_990, 11, &mut buf).unwrap_err();
        assert!(err.is_corruption() && err.to_string().contains("outside the file"));
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}
