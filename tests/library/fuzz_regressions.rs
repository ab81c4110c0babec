//! Inputs that crashed a fuzz target (fuzz/, run by tools/fuzz.sh), fed through the
//! same API so that they stay fixed. Each test is named after what it caught.

use std::path::PathBuf;

use logdb::storage::backend::FileBytes;
use logdb::storage::encoding::decompress;
use logdb::storage::segment::{ColumnBlock, ColumnStorage, ReadBuf, Segment, HEADER_LEN, TAIL_LEN};

const GOLDEN_SEGMENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/golden/v1/tables/logs/2024-05-02/0000000000000004.lseg"
);

/// Opens `bytes` as a segment and reads everything, as the `segment` target does.
/// Errors are the expected outcome; a panic fails the test.
fn read_everything(bytes: Vec<u8>) -> logdb::Result<()> {
    let seg = Segment::from_bytes(
        "fuzz.lseg",
        PathBuf::from("fuzz.lseg"),
        FileBytes::from_vec(bytes),
    )?;
    let mut block = ColumnBlock::default();
    let mut scratch = ReadBuf::default();
    for (c, cm) in seg.meta().columns.iter().enumerate() {
        seg.dictionary(c)?;
        for b in 0..cm.blocks.len() {
            seg.read_block(c, b, &mut block, &mut scratch)?;
        }
        if seg.index(c)?.is_some() {
            seg.for_each_bitmap(c, |_, _| Ok(()))?;
        }
    }
    seg.verify()
}

/// A golden segment rewritten with an uncompressed footer (compression tag 0), so
/// that footer fields can be edited in place; returns the bytes and the footer's range.
fn segment_with_stored_footer() -> (Vec<u8>, std::ops::Range<usize>) {
    let bytes = std::fs::read(GOLDEN_SEGMENT).expect("golden segment");
    let tail = bytes.len() - TAIL_LEN;
    let footer_len = u64::from_le_bytes(bytes[tail..tail + 8].try_into().unwrap()) as usize;
    let footer_start = tail - footer_len;
    let mut scratch = Vec::new();
    let raw = decompress(&bytes[footer_start..tail], &mut scratch, 1 << 24).expect("footer");
    let mut out = bytes[..footer_start].to_vec();
    out.push(0);
    out.extend_from_slice(raw);
    let footer = footer_start..out.len();
    out.extend_from_slice(&bytes[tail..]);
    let tail = out.len() - TAIL_LEN;
    out[tail..tail + 8].copy_from_slice(&(footer.len() as u64).to_le_bytes());
    fix_footer_crc(&mut out, footer.clone());
    (out, footer)
}

fn fix_footer_crc(bytes: &mut [u8], footer: std::ops::Range<usize>) {
    let crc = crc32fast::hash(&bytes[footer.clone()]);
    // Tail: footer length (u64), footer CRC-32 (u32), version (u32), magic.
    bytes[footer.end + 8..footer.end + 12].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn segment_with_stored_footer_still_reads() {
    let (bytes, _) = segment_with_stored_footer();
    read_everything(bytes).expect("a stored footer is valid");
}

/// A chunk offset near `u64::MAX` overflowed `offset + len` in the footer's bounds
/// check ("attempt to add with overflow" in builds with overflow checks).
#[test]
fn chunk_offset_near_u64_max_is_corruption_not_overflow() {
    let (mut bytes, footer) = segment_with_stored_footer();
    // The first chunk of the file starts right after the header; its offset is the
    // first occurrence of that value in the footer.
    let first = (HEADER_LEN as u64).to_le_bytes();
    let at = footer.start
        + bytes[footer.clone()]
            .windows(8)
            .position(|w| w == first)
            .expect("first chunk offset in the footer");
    bytes[at..at + 8].copy_from_slice(&(u64::MAX - 2).to_le_bytes());
    fix_footer_crc(&mut bytes, footer);
    let err = read_everything(bytes).unwrap_err();
    assert!(err.to_string().contains("outside the data region"), "{err}");
}

/// A dictionary entry count of 2^30 in a footer made the dictionary decoder reserve
/// 4 GiB for string lengths (libFuzzer: out-of-memory, malloc(4294967304)).
#[test]
fn dictionary_longer_than_the_segment_is_corruption() {
    let (mut bytes, footer) = segment_with_stored_footer();
    let seg = Segment::from_bytes("t", PathBuf::from("t"), FileBytes::from_vec(bytes.clone()))
        .expect("opens");
    let chunk = seg
        .meta()
        .columns
        .iter()
        .find_map(|c| match &c.storage {
            ColumnStorage::Dictionary { pages, .. } => Some(pages[0].chunk),
            _ => None,
        })
        .expect("a dictionary column");
    // In a version 1 footer a dictionary is its chunk (offset u64, len u32, crc
    // u32), then its entry count (u32).
    let mut pattern = chunk.offset.to_le_bytes().to_vec();
    pattern.extend_from_slice(&chunk.len.to_le_bytes());
    pattern.extend_from_slice(&chunk.crc.to_le_bytes());
    let at = footer.start
        + bytes[footer.clone()]
            .windows(16)
            .position(|w| w == pattern)
            .expect("dictionary chunk in the footer")
        + 16;
    bytes[at..at + 4].copy_from_slice(&(1u32 << 30).to_le_bytes());
    fix_footer_crc(&mut bytes, footer);
    let err = read_everything(bytes).unwrap_err();
    assert!(err.to_string().contains("entries for"), "{err}");
}

/// The `http_request` target: an INTEGER column against an IN list with a DOUBLE
/// (`0/1`) after integers kept the column's type, so evaluation met a list of two
/// types and the server answered 500 ("internal error: expression evaluation:
/// expected integers"). The request as found, through the HTTP query protocol.
#[test]
fn in_list_with_a_double_after_integers_is_answered() {
    use logdb::http::{error_status, Format, QueryRequest, Target};

    let sql = "SELECT id, x NOT IN (-20,-19,-18,-17,-16,-15,-14,-13,-12,-11,-10,-9,-8,-7,\
               -6,-5,-4,-3,-2,-1,0/1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,15,17,18,19, NULL) \
               FROM t ORDER BY id";
    let target = Target::parse("/query?default_format=json").unwrap();
    let query = QueryRequest::parse(&target, None, sql.as_bytes(), Format::Json, 4096).unwrap();
    let db = logdb::Db::builder()
        .open_backend(std::sync::Arc::new(logdb::storage::mem::MemBackend::new()))
        .unwrap();
    let mut session = logdb::Session::new(db);
    session
        .execute("CREATE TABLE t (id BIGINT, x INTEGER)")
        .unwrap();
    session
        .execute("INSERT INTO t VALUES (1, 10), (2, NULL), (3, 0), (4, 100)")
        .unwrap();
    let result = session.execute(&query.sql);
    if let Err(e) = &result {
        panic!("{:?}: {e}", error_status(e));
    }
    let rows: Vec<String> = result
        .unwrap()
        .text_rows()
        .iter()
        .map(|r| r.join(" "))
        .collect();
    // 0 = 0/1 (0.0); 100 is in no item, but the list has a NULL.
    assert_eq!(rows, ["1 false", "2 NULL", "3 false", "4 NULL"]);
}
