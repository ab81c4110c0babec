//! Query-side kernels on one million generated access-log lines (`logdb generate`,
//! imported as `combined`): roaring-bitmap operations on the real uid/uri/status
//! indexes and `Snapshot::lookup`, and the filter kernels over decoded blocks
//! (comparisons on integer, double and dictionary-code vectors, LIKE on plain and
//! dictionary strings), swept over selectivity.
//!
//! Run with `cargo bench --bench query`; the data is generated, imported and decoded
//! once, outside the timed loops. Each case prints its selectivity or cardinality once.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logdb::exec::vector::{compare, eval, selection, Vector};
use logdb::import::{import, ImportObserver, ImportOptions, Source};
use logdb::ingest::generate::{generate, GenOptions, Profile};
use logdb::plan::{BinaryOp, Expr};
use logdb::storage::segment::{ColumnBlock, ReadBuf, Segment};
use logdb::{DataType, Db, Snapshot, Value};
use roaring::RoaringBitmap;

const LINES: u64 = 1_000_000;

struct Quiet;
impl ImportObserver for Quiet {}

/// A database holding `LINES` generated lines, and its biggest segment.
struct Fixture {
    _dir: tempfile::TempDir,
    snap: Snapshot,
    seg: Arc<Segment>,
    hot_uid: String,
    rare_uid: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    // The simple profile: the figures in BENCHMARKS.md were measured on it.
    let opts = GenOptions {
        profile: Profile::Simple,
        lines: LINES,
        ..GenOptions::default()
    };
    let mut w = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    generate(&opts, &mut w).unwrap();
    drop(w);
    let db = Db::open(dir.path().join("db")).unwrap();
    import(
        &db,
        &[Source::Path(log.clone())],
        &ImportOptions::new("combined"),
        &mut Quiet,
    )
    .unwrap();
    std::fs::remove_file(&log).unwrap();
    let snap = db.snapshot().unwrap();
    let seg = snap
        .segments("logs", None)
        .unwrap()
        .into_iter()
        .max_by_key(|s| s.meta().rows)
        .unwrap();
    // The busiest uid, and a uid with exactly 3 requests of which the segment holds
    // some (the first by value).
    let counts = snap.value_counts("logs", "uid").unwrap();
    let uid_col = seg.column_index("uid").unwrap();
    let text = |v: &Value| match v {
        Value::Str(s) => s.to_string(),
        other => panic!("uid is not text: {other:?}"),
    };
    let hot = counts.iter().max_by_key(|(_, n)| *n).map(|(v, _)| text(v));
    let rare = counts
        .iter()
        .filter(|(_, n)| *n == 3)
        .find(|(v, _)| {
            seg.lookup(uid_col, v)
                .unwrap()
                .is_some_and(|b| !b.is_empty())
        })
        .map(|(v, _)| text(v));
    println!(
        "fixture: {LINES} lines, {} segments, biggest {} rows",
        snap.segments("logs", None).unwrap().len(),
        seg.meta().rows
    );
    Fixture {
        _dir: dir,
        snap,
        seg,
        hot_uid: hot.unwrap(),
        rare_uid: rare.unwrap(),
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

fn lookup(seg: &Segment, column: &str, value: Value) -> RoaringBitmap {
    let col = seg.column_index(column).unwrap();
    seg.lookup(col, &value).unwrap().unwrap_or_default()
}

fn bitmaps(c: &mut Criterion, f: &Fixture) {
    let seg = &f.seg;
    let hot = lookup(seg, "uid", Value::from(f.hot_uid.as_str()));
    let rare = lookup(seg, "uid", Value::from(f.rare_uid.as_str()));
    let root = lookup(seg, "uri", Value::from("/"));
    let ok = lookup(seg, "status", Value::Int(200));
    let errors: Vec<RoaringBitmap> = [500, 502, 503, 504]
        .into_iter()
        .map(|s| lookup(seg, "status", Value::Int(s)))
        .collect();
    let e404 = lookup(seg, "status", Value::Int(404));
    println!(
        "segment bitmaps: hot uid {}, rare uid {}, uri '/' {}, status 200 {}, 404 {}, 5xx {}",
        hot.len(),
        rare.len(),
        root.len(),
        ok.len(),
        e404.len(),
        errors.iter().map(RoaringBitmap::len).sum::<u64>()
    );

    let mut g = c.benchmark_group("bitmap");
    // Throughput: set bits in the inputs.
    let pairs = [
        ("and_hot_uid_status_200", &hot, &ok),
        ("and_uri_root_status_404", &root, &e404),
        ("and_rare_uid_status_200", &rare, &ok),
    ];
    for (name, a, b) in pairs {
        g.throughput(Throughput::Elements(a.len() + b.len()));
        g.bench_function(name, |bch| bch.iter(|| black_box(a) & black_box(b)));
        g.bench_function(format!("{name}_len"), |bch| {
            bch.iter(|| black_box(a).intersection_len(black_box(b)))
        });
    }
    let total: u64 = errors.iter().map(RoaringBitmap::len).sum();
    g.throughput(Throughput::Elements(total));
    g.bench_function("or_status_5xx_in_list", |bch| {
        bch.iter(|| {
            let mut acc = RoaringBitmap::new();
            for e in &errors {
                acc |= black_box(e);
            }
            acc
        })
    });
    g.throughput(Throughput::Elements(ok.len()));
    g.bench_function("cardinality_status_200", |bch| {
        bch.iter(|| black_box(&ok).len())
    });
    g.bench_function("iter_status_200", |bch| {
        bch.iter(|| black_box(&ok).iter().map(u64::from).sum::<u64>())
    });
    g.finish();

    // Snapshot::lookup: every segment's bitmap for one value, from the index alone.
    let mut g = c.benchmark_group("snapshot_lookup");
    let cases = [
        ("uid_hot", "uid", Value::from(f.hot_uid.as_str())),
        ("uid_rare", "uid", Value::from(f.rare_uid.as_str())),
        ("uri_root", "uri", Value::from("/")),
        ("status_200", "status", Value::Int(200)),
    ];
    for (name, column, value) in &cases {
        let rows: u64 = f
            .snap
            .lookup("logs", column, value)
            .unwrap()
            .iter()
            .map(|(_, b)| b.len())
            .sum();
        println!("lookup {name}: {rows} rows");
        g.throughput(Throughput::Elements(rows.max(1)));
        g.bench_function(*name, |b| {
            b.iter(|| f.snap.lookup("logs", column, black_box(value)).unwrap())
        });
    }
    g.finish();
}

/// All blocks of one column of the segment, decoded.
fn decode(seg: &Segment, column: &str) -> Vec<Vector> {
    let col = seg.column_index(column).unwrap();
    let blocks = seg.meta().columns[col].blocks.len();
    let mut scratch = ReadBuf::default();
    (0..blocks)
        .map(|b| {
            let mut block = ColumnBlock::default();
            seg.read_block(col, b, &mut block, &mut scratch).unwrap();
            Vector::take_block(&mut block)
        })
        .collect()
}

fn column(index: usize, name: &str, data_type: DataType) -> Expr {
    Expr::Column {
        index,
        name: name.into(),
        data_type,
    }
}

fn filters(c: &mut Criterion, f: &Fixture) {
    let seg = &f.seg;
    let rows = seg.meta().rows;
    let lens: Vec<usize> = decode(seg, "status")
        .iter()
        .map(|v| match &v.data {
            logdb::exec::vector::VData::Int(x) => x.len(),
            _ => panic!("status is not an integer vector"),
        })
        .collect();
    let mut sel = Vec::new();

    // Comparison with a constant, then the selection of passing rows: the work a WHERE
    // conjunct does per block. Selectivity sweeps from a few rows to nearly all.
    let mut g = c.benchmark_group("filter_compare");
    g.throughput(Throughput::Elements(rows));
    let numeric = [
        (
            "status",
            DataType::SmallInt,
            BinaryOp::Eq,
            Value::Int(200),
            "status_eq_200",
        ),
        (
            "status",
            DataType::SmallInt,
            BinaryOp::GtEq,
            Value::Int(500),
            "status_ge_500",
        ),
        (
            "bytes",
            DataType::BigInt,
            BinaryOp::Gt,
            Value::Int(100_000),
            "bytes_gt_100k",
        ),
        (
            "request_time",
            DataType::Double,
            BinaryOp::Gt,
            Value::Float(1.0),
            "request_time_gt_1",
        ),
        (
            "request_time",
            DataType::Double,
            BinaryOp::Gt,
            Value::Float(0.05),
            "request_time_gt_0.05",
        ),
        (
            "uri",
            DataType::Varchar,
            BinaryOp::Eq,
            Value::from("/"),
            "uri_eq_root_dict",
        ),
        (
            "uri",
            DataType::Varchar,
            BinaryOp::Lt,
            Value::from("/b"),
            "uri_lt_b_dict",
        ),
        (
            "user_agent",
            DataType::Varchar,
            BinaryOp::Eq,
            Value::from("curl/8.4.0"),
            "user_agent_eq_dict",
        ),
    ];
    for (col, t, op, lit, name) in numeric {
        let vecs = decode(seg, col);
        let rhs = Vector::constant(lit);
        let mut passed = 0;
        for (v, &len) in vecs.iter().zip(&lens) {
            let m = compare(op, v, &rhs, t, len).unwrap();
            selection(&m, len, &mut sel).unwrap();
            passed += sel.len();
        }
        println!("{name}: selectivity {:.4}", passed as f64 / rows as f64);
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0;
                for (v, &len) in vecs.iter().zip(&lens) {
                    let m = compare(op, black_box(v), &rhs, t, len).unwrap();
                    selection(&m, len, &mut sel).unwrap();
                    n += sel.len();
                }
                n
            })
        });
    }
    g.finish();

    // LIKE: on `url` (plain strings, one match per row) and on dictionary columns
    // (one match per dictionary entry, then a code lookup per row).
    let mut g = c.benchmark_group("filter_like");
    let likes = [
        ("url", "%uid=1000%", "url_contains_uid"),
        ("url", "/api/%", "url_prefix_api"),
        ("url", "%lang=en", "url_suffix_lang"),
        ("uri", "/api/%", "uri_prefix_api_dict"),
        ("user_agent", "%iPhone%", "user_agent_contains_iphone_dict"),
    ];
    for (col, pattern, name) in likes {
        let vecs = decode(seg, col);
        let bytes: usize = vecs
            .iter()
            .zip(&lens)
            .map(|(v, &len)| (0..len).map(|i| v.str_at(i).len()).sum::<usize>())
            .sum();
        let expr = Expr::Like {
            expr: Box::new(column(0, col, DataType::Varchar)),
            pattern: pattern.into(),
            escape: None,
            case_insensitive: false,
            negated: false,
        };
        let cols: Vec<[Vector; 1]> = vecs.into_iter().map(|v| [v]).collect();
        let mut passed = 0;
        for (cv, &len) in cols.iter().zip(&lens) {
            let m = eval(&expr, cv, len).unwrap();
            selection(&m, len, &mut sel).unwrap();
            passed += sel.len();
        }
        println!(
            "{name}: selectivity {:.4}, {:.1} bytes/row",
            passed as f64 / rows as f64,
            bytes as f64 / rows as f64
        );
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0;
                for (cv, &len) in cols.iter().zip(&lens) {
                    let m = eval(black_box(&expr), cv, len).unwrap();
                    selection(&m, len, &mut sel).unwrap();
                    n += sel.len();
                }
                n
            })
        });
    }
    g.finish();
}

fn query(c: &mut Criterion) {
    let f = fixture();
    bitmaps(c, &f);
    filters(c, &f);
}

criterion_group! {
    name = benches;
    config = config();
    targets = query
}
criterion_main!(benches);
