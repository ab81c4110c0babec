//! Property tests for the block encodings: every codec round-trips adversarial data
//! exactly, and every decoder survives random and damaged input without panicking.

use logdb::storage::encoding::*;
use logdb::{Bitmap, StringVec};
use proptest::collection::vec;
use proptest::prelude::*;

// ---------- strategies ----------

/// Integers that stress the width computations: extremes mixed with small values.
fn wide_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0i64),
        Just(-1i64),
        -1000i64..1000,
        any::<i64>(),
    ]
}

/// Sorted microsecond timestamps with jitter, sometimes with equal neighbours.
fn sorted_timestamps() -> impl Strategy<Value = Vec<i64>> {
    (
        1_600_000_000_000_000i64..1_800_000_000_000_000,
        vec(0i64..5_000, 0..600),
    )
        .prop_map(|(start, gaps)| {
            let mut t = start;
            gaps.iter()
                .map(|g| {
                    t += g;
                    t
                })
                .collect()
        })
}

/// Timestamps that are mostly increasing with some out-of-order rows.
fn unsorted_timestamps() -> impl Strategy<Value = Vec<i64>> {
    (sorted_timestamps(), vec(-2_000_000i64..2_000_000, 0..600)).prop_map(|(mut ts, jit)| {
        for (t, j) in ts.iter_mut().zip(jit.iter().step_by(3)) {
            *t += j;
        }
        ts
    })
}

/// Long runs of a few values.
fn runs<T: Clone + std::fmt::Debug>(
    value: impl Strategy<Value = T>,
) -> impl Strategy<Value = Vec<T>> {
    vec((value, 1usize..300), 0..20).prop_map(|rs| {
        rs.into_iter()
            .flat_map(|(v, n)| std::iter::repeat_n(v, n))
            .collect()
    })
}

fn i64_blocks() -> impl Strategy<Value = Vec<i64>> {
    prop_oneof![
        vec(wide_i64(), 0..300),
        vec(any::<i64>(), 0..100),
        (wide_i64(), 0usize..1000).prop_map(|(v, n)| vec![v; n]),
        sorted_timestamps(),
        unsorted_timestamps(),
        runs(wide_i64()),
        vec(
            prop_oneof![Just(200i64), Just(304), Just(404), Just(500)],
            0..1000
        ),
    ]
}

fn u32_blocks() -> impl Strategy<Value = Vec<u32>> {
    prop_oneof![
        vec(any::<u32>(), 0..300),
        vec(prop_oneof![Just(0u32), Just(u32::MAX), 0u32..100], 0..300),
        (any::<u32>(), 0usize..1000).prop_map(|(v, n)| vec![v; n]),
        runs(0u32..50),
        vec(0u32..100_000, 0..1000).prop_map(|mut v| {
            v.sort_unstable();
            v
        }),
    ]
}

fn f64_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::from_bits(0x7ff0_0000_0000_0001)),
        Just(-0.0),
        Just(0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        (0i64..2500).prop_map(|ms| ms as f64 / 1000.0),
        any::<i32>().prop_map(f64::from),
    ]
}

fn f64_blocks() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        vec(f64_value(), 0..300),
        // Request times with three decimals, as parsed from text.
        vec(
            (1u32..2500).prop_map(|ms| format!("{}.{:03}", ms / 1000, ms % 1000)),
            0..500
        )
        .prop_map(|v| v.iter().map(|s| s.parse().unwrap()).collect()),
        vec(-1_000_000i64..1_000_000, 0..300)
            .prop_map(|v| v.iter().map(|&x| x as f64 / 100.0).collect()),
        (f64_value(), 0usize..500).prop_map(|(v, n)| vec![v; n]),
    ]
}

fn ip_blocks() -> impl Strategy<Value = Vec<u128>> {
    prop_oneof![
        vec(any::<u128>(), 0..200),
        vec(
            any::<u32>().prop_map(|v| (0xffffu128 << 32) | v as u128),
            0..500
        ),
        vec(
            prop_oneof![
                any::<u32>().prop_map(|v| (0xffffu128 << 32) | v as u128),
                any::<u128>(),
                Just(0u128),
                Just(u128::MAX),
            ],
            0..300
        ),
    ]
}

fn string_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z/._-]{0,40}",
        any::<String>(),
        "\\PC{0,20}",
        Just("日本語🦀é\u{0}".to_string()),
    ]
}

fn to_string_vec(items: &[String]) -> StringVec {
    let mut v = StringVec::new();
    for s in items {
        v.push(s);
    }
    v
}

fn to_bitmap(bits: &[bool]) -> Bitmap {
    let mut b = Bitmap::new(0, false);
    for &x in bits {
        b.push(x);
    }
    b
}

fn validity_blocks() -> impl Strategy<Value = Vec<bool>> {
    prop_oneof![
        vec(any::<bool>(), 0..600),
        (any::<bool>(), 0usize..2000).prop_map(|(v, n)| vec![v; n]),
        runs(any::<bool>()),
    ]
}

fn f64_bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

// ---------- round trips ----------

proptest! {
    #[test]
    fn i64_round_trips(values in i64_blocks()) {
        let mut enc = vec![0xAA];
        encode_i64(&values, &mut enc);
        let mut out = vec![7];
        decode_i64(&enc[1..], values.len(), &mut out).unwrap();
        prop_assert_eq!(out, values);
    }

    #[test]
    fn u32_round_trips(values in u32_blocks()) {
        let mut enc = Vec::new();
        encode_u32(&values, &mut enc);
        let mut out = Vec::new();
        decode_u32(&enc, values.len(), &mut out).unwrap();
        prop_assert_eq!(out, values);
    }

    #[test]
    fn f64_round_trips_bit_exactly(values in f64_blocks()) {
        let mut enc = Vec::new();
        encode_f64(&values, &mut enc);
        let mut out = vec![1.0];
        decode_f64(&enc, values.len(), &mut out).unwrap();
        prop_assert_eq!(f64_bits(&out), f64_bits(&values));
    }

    #[test]
    fn bool_round_trips(values in validity_blocks()) {
        let mut enc = Vec::new();
        encode_bool(&values, &mut enc);
        let mut out = vec![true];
        decode_bool(&enc, values.len(), &mut out).unwrap();
        prop_assert_eq!(out, values);
    }

    #[test]
    fn validity_round_trips(bits in validity_blocks()) {
        let valid = to_bitmap(&bits);
        let mut enc = Vec::new();
        encode_validity(&valid, &mut enc);
        prop_assert_eq!(decode_validity(&enc, bits.len()).unwrap(), valid);
    }

    #[test]
    fn ip_round_trips(values in ip_blocks()) {
        let mut enc = Vec::new();
        encode_ip(&values, &mut enc);
        let mut out = Vec::new();
        decode_ip(&enc, values.len(), &mut out).unwrap();
        prop_assert_eq!(out, values);
    }

    #[test]
    fn strings_round_trip(items in vec(string_value(), 0..100), a in 0usize..100, b in 0usize..100) {
        let all = to_string_vec(&items);
        let (lo, hi) = (a.min(b).min(items.len()), a.max(b).min(items.len()));
        let mut enc = Vec::new();
        encode_strings(&all, lo..hi, &mut enc);
        let mut out = to_string_vec(&["left over".to_string()]);
        decode_strings(&enc, hi - lo, &mut out).unwrap();
        prop_assert_eq!(out, to_string_vec(&items[lo..hi]));
    }

    #[test]
    fn dictionary_round_trips(
        rows in vec((prop_oneof![Just(String::new()), "[a-c]{0,3}", "\\PC{0,4}"], any::<bool>()), 0..400),
        with_nulls in any::<bool>(),
    ) {
        let strings: Vec<String> = rows.iter().map(|(s, _)| s.clone()).collect();
        let values = to_string_vec(&strings);
        let valid = to_bitmap(&rows.iter().map(|(_, v)| *v || !with_nulls).collect::<Vec<_>>());
        let (dict, codes) = build_dictionary(&values, with_nulls.then_some(&valid));

        let mut expected: Vec<&str> = strings
            .iter()
            .enumerate()
            .filter(|&(i, _)| valid.get(i))
            .map(|(_, s)| s.as_str())
            .collect();
        expected.sort_unstable();
        expected.dedup();
        prop_assert_eq!(dict.iter().collect::<Vec<_>>(), expected);
        prop_assert_eq!(codes.len(), strings.len());
        for (i, s) in strings.iter().enumerate() {
            if valid.get(i) {
                prop_assert_eq!(dict.get(codes[i] as usize), s.as_str());
            } else {
                prop_assert_eq!(codes[i], 0);
            }
        }

        let mut enc = Vec::new();
        encode_dictionary(&dict, &mut enc);
        prop_assert_eq!(decode_dictionary(&enc, dict.len()).unwrap(), dict.clone());
        let mut codes_enc = Vec::new();
        encode_u32(&codes, &mut codes_enc);
        let mut back = Vec::new();
        decode_u32(&codes_enc, codes.len(), &mut back).unwrap();
        prop_assert_eq!(back, codes);
    }

    #[test]
    fn compress_round_trips(
        raw in prop_oneof![
            vec(any::<u8>(), 0..3000),
            (vec(any::<u8>(), 1..20), 0usize..400).prop_map(|(p, n)| p.repeat(n)),
        ]
    ) {
        let mut enc = vec![3];
        compress(&raw, &mut enc);
        prop_assert!(enc.len() <= raw.len() + 2);
        let mut scratch = Vec::new();
        prop_assert_eq!(decompress(&enc[1..], &mut scratch, raw.len()).unwrap(), &raw[..]);
        if !raw.is_empty() {
            prop_assert!(decompress(&enc[1..], &mut scratch, raw.len() - 1).is_err());
        }
    }
}

#[test]
fn very_long_strings_round_trip() {
    let long = "ab\u{e9}\u{1F980}".repeat(100 * 1024 / 8);
    let items = vec![long.clone(), String::new(), long.clone() + "x", "z".into()];
    let values = to_string_vec(&items);
    let mut enc = Vec::new();
    encode_strings(&values, 0..items.len(), &mut enc);
    let mut out = StringVec::new();
    decode_strings(&enc, items.len(), &mut out).unwrap();
    assert_eq!(out, values);

    let (dict, codes) = build_dictionary(&values, None);
    assert_eq!(codes, [1, 0, 2, 3]);
    let mut enc = Vec::new();
    encode_dictionary(&dict, &mut enc);
    assert_eq!(decode_dictionary(&enc, 4).unwrap(), dict);

    let mut packed = Vec::new();
    compress(&enc, &mut packed);
    assert!(packed.len() < enc.len() / 8);
    let mut scratch = Vec::new();
    assert_eq!(
        decompress(&packed, &mut scratch, enc.len()).unwrap(),
        &enc[..]
    );
}

#[test]
fn all_null_validity_and_empty_blocks() {
    let mut enc = Vec::new();
    encode_validity(&Bitmap::new(8192, false), &mut enc);
    assert!(enc.len() <= 2);
    assert_eq!(
        decode_validity(&enc, 8192).unwrap(),
        Bitmap::new(8192, false)
    );

    let empty = Bitmap::new(0, false);
    enc.clear();
    encode_validity(&empty, &mut enc);
    assert_eq!(decode_validity(&enc, 0).unwrap(), empty);

    let (dict, codes) = build_dictionary(
        &to_string_vec(&["a".into(), "b".into()]),
        Some(&Bitmap::new(2, false)),
    );
    assert!(dict.is_empty());
    assert_eq!(codes, [0, 0]);
}

// ---------- decoders never panic ----------

/// Feeds `bytes` with row count `n` to every decoder; any result but a panic is fine.
fn decode_everything(bytes: &[u8], n: usize) {
    let _ = decode_i64(bytes, n, &mut Vec::new());
    let _ = decode_u32(bytes, n, &mut Vec::new());
    let _ = decode_f64(bytes, n, &mut Vec::new());
    let _ = decode_bool(bytes, n, &mut Vec::new());
    let _ = decode_ip(bytes, n, &mut Vec::new());
    let _ = decode_strings(bytes, n, &mut StringVec::new());
    let _ = decode_validity(bytes, n);
    let _ = decode_dictionary(bytes, n);
    let mut scratch = Vec::new();
    let _ = decompress(bytes, &mut scratch, n.max(64).saturating_mul(16));
    if let Ok(raw) = decompress(bytes, &mut scratch, 1 << 20) {
        let raw = raw.to_vec();
        let _ = decode_i64(&raw, n, &mut Vec::new());
        let _ = decode_strings(&raw, n, &mut StringVec::new());
    }
}

/// Valid encodings of every kind, the raw material for mutations.
fn valid_encoding() -> impl Strategy<Value = (Vec<u8>, usize)> {
    prop_oneof![
        i64_blocks().prop_map(|v| {
            let mut e = Vec::new();
            encode_i64(&v, &mut e);
            (e, v.len())
        }),
        u32_blocks().prop_map(|v| {
            let mut e = Vec::new();
            encode_u32(&v, &mut e);
            (e, v.len())
        }),
        f64_blocks().prop_map(|v| {
            let mut e = Vec::new();
            encode_f64(&v, &mut e);
            (e, v.len())
        }),
        validity_blocks().prop_map(|v| {
            let mut e = Vec::new();
            encode_bool(&v, &mut e);
            (e, v.len())
        }),
        validity_blocks().prop_map(|v| {
            let mut e = Vec::new();
            encode_validity(&to_bitmap(&v), &mut e);
            (e, v.len())
        }),
        ip_blocks().prop_map(|v| {
            let mut e = Vec::new();
            encode_ip(&v, &mut e);
            (e, v.len())
        }),
        vec(string_value(), 0..50).prop_map(|v| {
            let sv = to_string_vec(&v);
            let mut e = Vec::new();
            encode_strings(&sv, 0..v.len(), &mut e);
            (e, v.len())
        }),
        vec(string_value(), 0..50).prop_map(|v| {
            let (dict, _) = build_dictionary(&to_string_vec(&v), None);
            let mut e = Vec::new();
            encode_dictionary(&dict, &mut e);
            (e, dict.len())
        }),
        i64_blocks().prop_map(|v| {
            let mut e = Vec::new();
            encode_i64(&v, &mut e);
            let mut c = Vec::new();
            compress(&e, &mut c);
            (c, v.len())
        }),
    ]
}

#[derive(Debug, Clone)]
enum Damage {
    Truncate(usize),
    FlipBit(usize, u8),
    SetByte(usize, u8),
    Append(u8),
    CountOffBy(i8),
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    vec(
        prop_oneof![
            any::<usize>().prop_map(Damage::Truncate),
            (any::<usize>(), 0u8..8).prop_map(|(i, b)| Damage::FlipBit(i, b)),
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::SetByte(i, b)),
            any::<u8>().prop_map(Damage::Append),
            (-3i8..=3).prop_map(Damage::CountOffBy),
        ],
        1..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn decoders_survive_random_bytes(bytes in vec(any::<u8>(), 0..200), n in 0usize..5000) {
        decode_everything(&bytes, n);
        // Also with each known tag in front, to get past the first check.
        for tag in 0u8..6 {
            let mut b = vec![tag];
            b.extend_from_slice(&bytes);
            decode_everything(&b, n);
        }
    }

    #[test]
    fn decoders_survive_damaged_encodings((mut bytes, mut n) in valid_encoding(), hits in damage()) {
        for d in hits {
            match d {
                Damage::Truncate(at) => {
                    let at = at % (bytes.len() + 1);
                    bytes.truncate(at);
                }
                Damage::FlipBit(i, bit) if !bytes.is_empty() => {
                    let i = i % bytes.len();
                    bytes[i] ^= 1 << bit;
                }
                Damage::SetByte(i, v) if !bytes.is_empty() => {
                    let i = i % bytes.len();
                    bytes[i] = v;
                }
                Damage::Append(v) => bytes.push(v),
                Damage::CountOffBy(k) => n = n.saturating_add_signed(k as isize),
                _ => {}
            }
        }
        decode_everything(&bytes, n);
    }
}

#[test]
fn decoders_refuse_absurd_row_counts() {
    for bytes in [
        &[1u8, 0, 0, 0, 0, 0, 0, 0, 0][..],
        &[0],
        &[1],
        &[2, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ] {
        for n in [usize::MAX, usize::MAX / 2, 1 << 62] {
            decode_everything(bytes, n);
        }
    }
}

// ---------- integer index keys in pages (segment format v4) ----------

/// A segment of one indexed BIGINT column holding `values` (NULL where `None`).
fn int_index_segment(values: &[Option<i64>]) -> logdb::storage::segment::Segment {
    use logdb::storage::backend::FileBytes;
    use logdb::storage::segment::{write_segment, Segment};
    use logdb::{BatchBuilder, DataType, Field, TableSchema};
    let schema = TableSchema::new(vec![Field::new("k", DataType::BigInt)]).with_indexes(["k"]);
    let mut b = BatchBuilder::new(&schema);
    for v in values {
        match v {
            Some(v) => b.push_i64(0, *v),
            None => b.push_null(0),
        }
    }
    let enc = write_segment(&schema, &b.finish(), 1, 2048).unwrap();
    let path = std::path::PathBuf::from("k.lseg");
    Segment::from_bytes("k.lseg", path, FileBytes::from_vec(enc.bytes)).unwrap()
}

/// Column values: many distinct keys (so several key pages), some repeated, some
/// NULL, extremes included.
fn index_values() -> impl Strategy<Value = Vec<Option<i64>>> {
    let value = prop_oneof![
        6 => (-50_000i64..50_000).prop_map(Some),
        2 => wide_i64().prop_map(Some),
        1 => Just(None),
    ];
    vec(value, 0..6000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn paged_int_index_keys_round_trip(values in index_values(), probes in vec(wide_i64(), 0..40)) {
        use logdb::storage::segment::IndexKeys;
        use logdb::Value;
        let seg = int_index_segment(&values);
        let mut distinct: Vec<i64> = values.iter().flatten().copied().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let ix = seg.index(0).unwrap().unwrap();
        prop_assert_eq!(&ix.keys, &IndexKeys::Paged(distinct.len() as u32));
        // The directory lists pages, not keys: each page's first key is its first value.
        for p in &ix.pages {
            prop_assert_eq!(p.keys.map(|k| k.first), Some(distinct[p.first_key as usize]));
        }
        // A walk gives every key in order.
        let mut walked = Vec::new();
        seg.for_each_int_key(0, |k, v| {
            assert_eq!(k, walked.len());
            walked.push(v);
            Ok(())
        }).unwrap();
        prop_assert_eq!(&walked, &distinct);
        // Every value and every probe finds its key position and rows.
        for &v in distinct.iter().step_by(1 + distinct.len() / 200).chain(&probes) {
            let lower = distinct.partition_point(|&k| k < v);
            let upper = distinct.partition_point(|&k| k <= v);
            prop_assert_eq!(seg.int_keys_around(0, v).unwrap(), Some((lower, upper)));
            let rows: Vec<u32> = seg.lookup(0, &Value::Int(v)).unwrap().unwrap().iter().collect();
            let want: Vec<u32> = (0..values.len() as u32)
                .filter(|&r| values[r as usize] == Some(v))
                .collect();
            prop_assert_eq!(rows, want);
            if lower < upper {
                prop_assert_eq!(seg.index_value(0, lower).unwrap(), Value::Int(v));
            }
        }
        seg.verify().unwrap();
    }
}

// ---------- joined string columns (segment format v5) ----------

/// One row of a request table: the target is the path, `sep` and the query (the
/// path alone without a query), NULL, or unrelated (`odd`).
#[derive(Clone, Debug)]
struct Request {
    path: Option<String>,
    query: Option<String>,
    target: TargetKind,
}

#[derive(Clone, Copy, Debug)]
enum TargetKind {
    Joined,
    Null,
    Odd,
}

fn requests() -> impl Strategy<Value = Vec<Request>> {
    let text = "[a-z/=&é]{0,12}";
    // NULL paths and unrelated targets are rare, so that most blocks join and
    // some do not.
    let path = prop_oneof![400 => text.prop_map(Some), 1 => Just(None)];
    let query = prop_oneof![3 => text.prop_map(Some), 1 => Just(None)];
    let target = prop_oneof![
        2000 => Just(TargetKind::Joined),
        200 => Just(TargetKind::Null),
        1 => Just(TargetKind::Odd),
    ];
    let row = (path, query, target).prop_map(|(path, query, target)| Request {
        path,
        query,
        target,
    });
    vec(row, 0..5000)
}

/// The target of `r`: `None` for NULL.
fn target_of(r: &Request, i: usize) -> Option<String> {
    match (r.target, &r.path, &r.query) {
        (TargetKind::Null, _, _) => None,
        // A path of NULL cannot be joined from: the row holds its own value.
        (TargetKind::Odd, _, _) | (_, None, _) => Some(format!("#{i}")),
        (TargetKind::Joined, Some(p), Some(q)) => Some(format!("{p}?{q}")),
        (TargetKind::Joined, Some(p), None) => Some(p.clone()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A string column that is two others joined by `?` where it can be reads
    /// back as written, block by block joined or plain, and checks clean.
    #[test]
    fn joined_columns_round_trip(rows in requests()) {
        use logdb::storage::backend::FileBytes;
        use logdb::storage::segment::{write_segment, Segment};
        use logdb::{BatchBuilder, ColumnData, DataType, Field, TableSchema};
        let schema = TableSchema::new(vec![
            Field::new("target", DataType::Varchar),
            Field::new("path", DataType::Varchar),
            Field::new("query", DataType::Varchar),
        ]);
        let mut b = BatchBuilder::new(&schema);
        let mut want = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let t = target_of(r, i);
            for (c, v) in [&t, &r.path, &r.query].into_iter().enumerate() {
                match v {
                    Some(s) => b.push_str(c, s),
                    None => b.push_null(c),
                }
            }
            want.push(t);
        }
        let enc = write_segment(&schema, &b.finish(), 1, 2048).unwrap();
        let version = u32::from_le_bytes(enc.bytes[8..12].try_into().unwrap());
        let seg = Segment::from_bytes("t.lseg", "t.lseg".into(), FileBytes::from_vec(enc.bytes)).unwrap();
        let joined = seg.meta().columns[0].blocks.iter().filter(|b| b.joined).count();
        prop_assert_eq!(version, if joined > 0 { 5 } else { 4 });
        let col = &seg.read_columns(&[0]).unwrap()[0];
        let ColumnData::Utf8(got) = &col.data else { panic!("{:?}", col.data) };
        for (i, w) in want.iter().enumerate() {
            let valid = col.validity.as_ref().is_none_or(|v| v.get(i));
            prop_assert_eq!(valid.then(|| got.get(i).to_string()), w.clone(), "row {}", i);
        }
        seg.verify().unwrap();
    }
}

/// Where every target is its path and query joined, the segment stores no
/// target values and says so with version 5; without joins it stays version 4.
#[test]
fn joined_targets_store_no_values() {
    use logdb::storage::segment::write_segment;
    use logdb::{BatchBuilder, DataType, Field, TableSchema};
    let schema = TableSchema::new(vec![
        Field::new("path", DataType::Varchar),
        Field::new("query", DataType::Varchar),
        Field::new("target", DataType::Varchar),
    ]);
    let write = |joined: bool| {
        let mut b = BatchBuilder::new(&schema);
        for i in 0..10_000 {
            let (p, q) = (format!("/item/{}", i % 300), format!("id={i}"));
            b.push_str(0, &p);
            b.push_str(1, &q);
            b.push_str(
                2,
                &if joined {
                    format!("{p}?{q}")
                } else {
                    format!("{q}:{}", i * 7)
                },
            );
        }
        write_segment(&schema, &b.finish(), 1, 2048).unwrap().bytes
    };
    let (joined, plain) = (write(true), write(false));
    assert_eq!(joined[8..12], 5u32.to_le_bytes());
    assert_eq!(plain[8..12], 4u32.to_le_bytes());
    assert!(
        joined.len() * 2 < plain.len(),
        "{} vs {}",
        joined.len(),
        plain.len()
    );
    // The joined column is the last: its blocks, which have no values chunk,
    // end the footer's columns.
    use logdb::storage::backend::FileBytes;
    use logdb::storage::segment::Segment;
    let seg = Segment::from_bytes("j.lseg", "j.lseg".into(), FileBytes::from_vec(joined)).unwrap();
    let col = &seg.read_columns(&[2]).unwrap()[0];
    assert_eq!(col.value(9_999), logdb::Value::from("/item/99?id=9999"));
    seg.verify().unwrap();
}
