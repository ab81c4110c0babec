//! The checks behind logdb's fuzz targets, shared by the targets in `fuzz_targets/`
//! and by the seed-corpus writer in `examples/seeds.rs`.
//!
//! Every check takes arbitrary bytes. It may see errors from the library (that is the
//! expected answer to bad input) but panics on a broken invariant; libFuzzer reports
//! panics, aborts, timeouts and out-of-memory as crashes.
//!
//! Checksums would stop a mutation-based fuzzer at the first CRC, so the segment and
//! manifest checks run each input twice: as given, and with the checksum of its
//! footer (segment) or body (manifest) recomputed. The second run is what lets the
//! fuzzer reach the footer decoder and the readers behind it.

use std::path::PathBuf;

pub mod http;
pub mod sql;
pub use http::check_http_request;
pub use sql::check_sql;

use logdb::ingest::{parser_for, ParserOptions};
use logdb::storage::backend::FileBytes;
use logdb::storage::encoding as enc;
use logdb::storage::manifest::{Manifest, MANIFEST_HEADER_LEN, MANIFEST_MAGIC};
use logdb::storage::segment::{
    ColumnBlock, ColumnStorage, IndexKeys, ReadBuf, Segment, HEADER_LEN, TAIL_LEN,
};
use logdb::{BatchBuilder, Bitmap, StringVec, Value};

/// The nginx `log_format` the `parse_nginx` target uses: the combined format plus
/// typed extra variables (float, integer and text columns).
pub const NGINX_LOG_FORMAT: &str = concat!(
    r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "#,
    r#""$http_referer" "$http_user_agent" $request_time $upstream_response_time "#,
    r#"$request_length "$host""#
);

/// The parser options a fuzz target uses for `format`.
pub fn parser_options(format: &str) -> ParserOptions {
    ParserOptions {
        log_format: (format == "nginx").then(|| NGINX_LOG_FORMAT.to_string()),
        sample: sample_for(format).map(|s| s.to_vec()),
        ..ParserOptions::default()
    }
}

/// A fixed sample for the formats whose schema is inferred from the data, covering
/// every inferred type (timestamps, IPs, integers, doubles, booleans, text, nested).
pub fn sample_for(format: &str) -> Option<&'static [u8]> {
    match format {
        "jsonl" => Some(
            br#"{"time":"2024-05-01T10:00:00+02:00","remote_addr":"10.0.0.1","request_uri":"/a?uid=7","status":200,"duration_ms":12.5,"ok":true,"n":3,"tags":["x"],"user":{"id":1}}
{"time":1714557600,"remote_addr":"::1","request_uri":"/b","status":404,"duration_ms":1,"ok":false,"n":4,"note":"hi"}
"#,
        ),
        "csv" => Some(b"timestamp,client_ip,method,url,status,bytes,ratio,flag\n2024-05-01 10:00:00,10.0.0.1,GET,/x?uid=1,200,10,0.5,true\n"),
        "tsv" => Some(b"timestamp\tclient_ip\turl\tstatus\tnote\n2024-05-01T10:00:00Z\t10.0.0.1\t/x\t200\thello\n"),
        _ => None,
    }
}

/// The number of lines in `data` by the parsers' rules: lines end in `\n`, and a
/// final line without one is also a line.
fn count_lines(data: &[u8]) -> u64 {
    let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    newlines + u64::from(data.last().is_some_and(|&b| b != b'\n'))
}

/// Parses `data` with the `format` parser in two chunks (split after a newline near
/// the middle, as an import splits its input) into one batch, and checks that every
/// line is either a row or a reject, that rejects carry increasing line numbers in
/// range, and that the batch is valid for the parser's schema.
pub fn check_parser(format: &str, data: &[u8]) {
    let mut parser = parser_for(format, &parser_options(format)).expect("known format");
    let mut out = BatchBuilder::new(parser.schema());
    let mut rejects = Vec::new();
    let split = data[data.len() / 2..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(data.len(), |i| data.len() / 2 + i + 1);
    let (first, second) = data.split_at(split);
    let mut lines = 0u64;
    // Chunks are numbered by physical lines, as the importer does (for csv a record
    // spanning lines counts once, so `lines` can lag behind).
    let mut next_line = 1u64;
    for chunk in [first, second] {
        if chunk.is_empty() {
            continue;
        }
        let seen = parser.parse_chunk(chunk, next_line, &mut out, &mut rejects);
        next_line += count_lines(chunk);
        // csv/tsv skip their header and count a multi-line record once.
        if !matches!(format, "csv" | "tsv") {
            assert_eq!(seen, count_lines(chunk), "lines seen in a chunk");
        }
        lines += seen;
    }
    assert_eq!(
        lines,
        out.len() as u64 + rejects.len() as u64,
        "every line is a row or a reject"
    );
    assert!(
        rejects.windows(2).all(|w| w[0].line < w[1].line),
        "reject line numbers increase"
    );
    let physical = count_lines(data).max(lines);
    assert!(
        rejects.iter().all(|r| (1..=physical).contains(&r.line)),
        "reject line numbers in range"
    );
    let batch = out.finish();
    assert_eq!(batch.num_rows() as u64, lines - rejects.len() as u64);
    if let Err(e) = batch.validate(parser.schema()) {
        panic!("{format} parser produced an invalid batch: {e}");
    }
}

// Segment tail layout (spec/format.md): footer length (u64), footer CRC-32 (u32),
// format version (u32), tail magic.
const TAIL_FOOTER_CRC_OFFSET: usize = 8;

/// The footer length and start stated by a segment's tail, if they fit the file.
fn footer_range(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    if bytes.len() < HEADER_LEN + TAIL_LEN {
        return None;
    }
    let tail = bytes.len() - TAIL_LEN;
    let len = u64::from_le_bytes(bytes[tail..tail + 8].try_into().ok()?);
    if len > (tail - HEADER_LEN) as u64 {
        return None;
    }
    Some(tail - len as usize..tail)
}

/// `bytes` with the footer CRC in the tail recomputed, if the tail can be read.
pub fn with_footer_crc(bytes: &[u8]) -> Option<Vec<u8>> {
    let footer = footer_range(bytes)?;
    let crc = crc32(&bytes[footer.clone()]);
    let mut fixed = bytes.to_vec();
    let at = footer.end + TAIL_FOOTER_CRC_OFFSET;
    fixed[at..at + 4].copy_from_slice(&crc.to_le_bytes());
    Some(fixed)
}

/// `bytes` (a well-formed segment) rewritten with its footer stored uncompressed, so
/// that byte mutations of the footer are mutations of its fields, not of a zstd frame.
/// The data chunks before the footer do not move.
pub fn with_stored_footer(bytes: &[u8]) -> Option<Vec<u8>> {
    let footer = footer_range(bytes)?;
    let mut scratch = Vec::new();
    let raw = enc::decompress(&bytes[footer.clone()], &mut scratch, 1 << 24).ok()?;
    let mut out = bytes[..footer.start].to_vec();
    out.push(0); // the STORED compression tag
    out.extend_from_slice(raw);
    let new_len = (out.len() - footer.start) as u64;
    out.extend_from_slice(&bytes[footer.end..]);
    let tail = out.len() - TAIL_LEN;
    out[tail..tail + 8].copy_from_slice(&new_len.to_le_bytes());
    with_footer_crc(&out)
}

/// Opens `data` as a segment and, if that works, reads everything in it; see
/// [`read_segment`]. Runs again with the footer checksum fixed, and once more with
/// the chunk checksums in an uncompressed footer fixed too.
pub fn check_segment(data: &[u8]) {
    read_segment(data);
    let Some(fixed) = with_footer_crc(data) else {
        return;
    };
    if fixed != data {
        read_segment(&fixed);
    }
    if let Some(all) = with_chunk_crcs(&fixed) {
        if all != fixed {
            read_segment(&all);
        }
    }
}

/// `bytes` (a segment with a valid, uncompressed footer) with every chunk checksum in
/// the footer set to the checksum of the chunk's bytes, and the footer checksum
/// recomputed. A chunk is written in the footer as offset (u64), length (u32) and
/// CRC-32 (u32), so its old 16 bytes are found and patched in place.
pub fn with_chunk_crcs(bytes: &[u8]) -> Option<Vec<u8>> {
    let footer = footer_range(bytes)?;
    if bytes.get(footer.start) != Some(&0) {
        return None; // compressed footer
    }
    let path = "fuzz.lseg";
    let seg = Segment::from_bytes(
        path,
        PathBuf::from(path),
        FileBytes::from_vec(bytes.to_vec()),
    )
    .ok()?;
    let meta = seg.meta();
    let mut chunks = Vec::new();
    for cm in &meta.columns {
        if let ColumnStorage::Dictionary { pages, .. } = &cm.storage {
            chunks.extend(pages.iter().map(|p| p.chunk));
        }
        for b in &cm.blocks {
            chunks.push(b.values);
            chunks.extend(b.validity);
        }
    }
    for e in &meta.indexes {
        // The directory is listed in the footer; its pages in the directory (fixed
        // only where the footer holds them, as in version 1 files).
        chunks.extend(e.directory);
        if let Ok(Some(ix)) = seg.index(e.column) {
            chunks.extend(ix.pages.iter().map(|p| p.chunk));
            chunks.extend(ix.counts_chunk);
        }
    }
    let mut out = bytes.to_vec();
    for c in chunks {
        let Some(data) = usize::try_from(c.offset)
            .ok()
            .and_then(|start| bytes.get(start..start.checked_add(c.len as usize)?))
        else {
            continue;
        };
        let crc = crc32(data);
        if crc == c.crc {
            continue;
        }
        let mut old = [0u8; 16];
        old[..8].copy_from_slice(&c.offset.to_le_bytes());
        old[8..12].copy_from_slice(&c.len.to_le_bytes());
        old[12..].copy_from_slice(&c.crc.to_le_bytes());
        let region = &mut out[footer.clone()];
        if let Some(at) = region.windows(16).position(|w| w == old) {
            region[at + 12..at + 16].copy_from_slice(&crc.to_le_bytes());
        }
    }
    with_footer_crc(&out)
}

/// At most this many index keys are looked up one by one (an index may claim 2^32).
const MAX_KEY_LOOKUPS: usize = 64;

/// Opens a segment from `bytes` and reads every dictionary, block, whole column and
/// index bitmap, then runs `verify`. Errors are fine; panics are not.
pub fn read_segment(bytes: &[u8]) {
    let path = "fuzz.lseg";
    let Ok(seg) = Segment::from_bytes(
        path,
        PathBuf::from(path),
        FileBytes::from_vec(bytes.to_vec()),
    ) else {
        return;
    };
    let meta = seg.meta();
    let mut block = ColumnBlock::default();
    let mut scratch = ReadBuf::default();
    for (c, cm) in meta.columns.iter().enumerate() {
        let _ = seg.dictionary(c);
        for b in 0..cm.blocks.len() {
            if seg.read_block(c, b, &mut block, &mut scratch).is_ok() {
                assert_eq!(
                    block.len(),
                    cm.blocks[b].rows as usize,
                    "rows of a read block"
                );
                let column = block.to_column();
                assert_eq!(column.len(), block.len());
            }
        }
        if let Ok(columns) = seg.read_columns(&[c]) {
            assert_eq!(columns[0].len() as u64, meta.rows, "rows of a read column");
        }
        if let Ok(Some(ix)) = seg.index(c) {
            let _ = seg.for_each_bitmap(c, |k, _| seg.index_value(c, k).map(drop));
            for k in 0..ix.keys.len().min(MAX_KEY_LOOKUPS) {
                if seg.index_bitmap(c, k).is_ok() {
                    let _ = seg.index_value(c, k);
                }
            }
            let probe = match &ix.keys {
                IndexKeys::Codes(_) => Value::Str("/".into()),
                IndexKeys::Ints(v) => Value::Int(v.first().copied().unwrap_or(200)),
                // Version 4: the first key, read through its key page.
                IndexKeys::Paged(_) => seg.index_value(c, 0).unwrap_or(Value::Int(200)),
            };
            let _ = seg.lookup(c, &probe);
        }
    }
    let _ = seg.verify();
}

/// Decodes `data` as a manifest and exercises what the database reads from one.
/// Runs a second time with the header's body length and checksum fixed.
pub fn check_manifest(data: &[u8]) {
    read_manifest(data);
    if data.len() >= MANIFEST_HEADER_LEN && data[..MANIFEST_MAGIC.len()] == MANIFEST_MAGIC {
        let mut fixed = data.to_vec();
        let body = &data[MANIFEST_HEADER_LEN..];
        // Header: magic, version (u32), body length (u64), body CRC-32 (u32).
        let len_at = MANIFEST_MAGIC.len() + 4;
        fixed[len_at..len_at + 8].copy_from_slice(&(body.len() as u64).to_le_bytes());
        fixed[len_at + 8..len_at + 12].copy_from_slice(&crc32(body).to_le_bytes());
        if fixed != data {
            read_manifest(&fixed);
        }
    }
}

fn read_manifest(bytes: &[u8]) {
    let Ok(m) = Manifest::decode(bytes, PathBuf::from("MANIFEST-fuzz")) else {
        return;
    };
    for t in m.tables.values() {
        let _ = t.rows();
        for p in &t.partitions {
            let _ = (p.end(), p.key(), p.rows(), p.bytes());
        }
    }
    let encoded = m.encode().expect("a decoded manifest encodes");
    let again = Manifest::decode(&encoded, PathBuf::from("MANIFEST-fuzz"))
        .expect("a re-encoded manifest decodes");
    assert_eq!(again, m, "manifest round trip");
}

/// The largest row count the encoding target asks a decoder for.
pub const MAX_ENCODING_ROWS: usize = 65536;

/// Runs every block decoder on `data[3..]` with the row count given by `data[..3]`
/// (at most [`MAX_ENCODING_ROWS`]). A successful decode must yield exactly that many
/// values, and re-encoding them must decode to the same values.
pub fn check_encoding(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let n = (usize::from(data[0]) | usize::from(data[1]) << 8 | usize::from(data[2]) << 16)
        % (MAX_ENCODING_ROWS + 1);
    let src = &data[3..];
    let mut buf = Vec::new();

    let mut ints = Vec::new();
    if enc::decode_i64(src, n, &mut ints).is_ok() {
        assert_eq!(ints.len(), n);
        enc::encode_i64(&ints, &mut buf);
        let mut again = Vec::new();
        enc::decode_i64(&buf, n, &mut again).expect("re-encoded i64 block decodes");
        assert_eq!(again, ints, "i64 round trip");
    }

    let mut codes = Vec::new();
    if enc::decode_u32(src, n, &mut codes).is_ok() {
        assert_eq!(codes.len(), n);
        buf.clear();
        enc::encode_u32(&codes, &mut buf);
        let mut again = Vec::new();
        enc::decode_u32(&buf, n, &mut again).expect("re-encoded u32 block decodes");
        assert_eq!(again, codes, "u32 round trip");
    }

    let mut floats = Vec::new();
    if enc::decode_f64(src, n, &mut floats).is_ok() {
        assert_eq!(floats.len(), n);
        buf.clear();
        enc::encode_f64(&floats, &mut buf);
        let mut again = Vec::new();
        enc::decode_f64(&buf, n, &mut again).expect("re-encoded f64 block decodes");
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&again), bits(&floats), "f64 round trip");
    }

    let mut bools = Vec::new();
    if enc::decode_bool(src, n, &mut bools).is_ok() {
        assert_eq!(bools.len(), n);
        buf.clear();
        enc::encode_bool(&bools, &mut buf);
        let mut again = Vec::new();
        enc::decode_bool(&buf, n, &mut again).expect("re-encoded bool block decodes");
        assert_eq!(again, bools, "bool round trip");
    }

    let mut ips = Vec::new();
    if enc::decode_ip(src, n, &mut ips).is_ok() {
        assert_eq!(ips.len(), n);
        buf.clear();
        enc::encode_ip(&ips, &mut buf);
        let mut again = Vec::new();
        enc::decode_ip(&buf, n, &mut again).expect("re-encoded ip block decodes");
        assert_eq!(again, ips, "ip round trip");
    }

    if let Ok(valid) = enc::decode_validity(src, n) {
        assert_eq!(valid.len(), n);
        buf.clear();
        enc::encode_validity(&valid, &mut buf);
        let again = enc::decode_validity(&buf, n).expect("re-encoded validity decodes");
        assert!(same_bits(&again, &valid), "validity round trip");
    }

    let mut strings = StringVec::new();
    if enc::decode_strings(src, n, &mut strings).is_ok() {
        assert_eq!(strings.len(), n);
        buf.clear();
        enc::encode_strings(&strings, 0..n, &mut buf);
        let mut again = StringVec::new();
        enc::decode_strings(&buf, n, &mut again).expect("re-encoded strings decode");
        assert!(again.iter().eq(strings.iter()), "strings round trip");
    }

    if let Ok(dict) = enc::decode_dictionary(src, n) {
        assert_eq!(dict.len(), n);
        buf.clear();
        enc::encode_dictionary(&dict, &mut buf);
        let again = enc::decode_dictionary(&buf, n).expect("re-encoded dictionary decodes");
        assert!(again.iter().eq(dict.iter()), "dictionary round trip");
    }

    let mut scratch = Vec::new();
    if let Ok(raw) = enc::decompress(src, &mut scratch, 1 << 20) {
        assert!(raw.len() <= 1 << 20);
    }
}

fn same_bits(a: &Bitmap, b: &Bitmap) -> bool {
    a.len() == b.len() && (0..a.len()).all(|i| a.get(i) == b.get(i))
}

/// CRC-32 (IEEE), as the file formats use.
fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden_segment() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/golden/v1/tables/logs/2024-05-02/0000000000000004.lseg"
        );
        std::fs::read(path).expect("golden segment")
    }

    fn open(bytes: &[u8]) -> logdb::Result<Segment> {
        Segment::from_bytes("t", PathBuf::from("t"), FileBytes::from_vec(bytes.to_vec()))
    }

    #[test]
    fn stored_footer_opens_and_verifies() {
        let stored = with_stored_footer(&golden_segment()).expect("stored footer");
        open(&stored).expect("opens").verify().expect("verifies");
        // Already consistent: fixing checksums changes nothing.
        assert_eq!(with_chunk_crcs(&stored).as_deref(), Some(&stored[..]));
    }

    #[test]
    fn fixed_chunk_checksums_let_damaged_data_reach_the_decoders() {
        let mut bytes = with_stored_footer(&golden_segment()).expect("stored footer");
        // The first chunk starts right after the header; damage its body.
        bytes[HEADER_LEN + 3] ^= 0x5a;
        let err = open(&bytes).expect("footer intact").verify().unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
        let fixed = with_chunk_crcs(&bytes).expect("patchable");
        if let Err(e) = open(&fixed).expect("opens").verify() {
            assert!(!e.to_string().contains("checksum"), "{e}");
        }
    }
}
