//! Format detection (`--format auto`): which log format a sample of an input is in,
//! and whether the input is compressed.
//!
//! # Compression
//! By magic bytes: gzip starts `1f 8b`, zstd `28 b5 2f fd` ([`Compression`]).
//!
//! # Formats
//! The first [`DETECT_LINES`] complete lines of the (decompressed) sample are parsed
//! by every format of [`DETECTED_FORMATS`]; the format that stores the largest share
//! of them wins, if that share is at least half. `combined` and `common` include
//! their variant with a trailing request time (reported as such). `csv` and `tsv`
//! need a header of at least two fields. A tie between two formats at the top is
//! ambiguous, except `csv` against `tsv`, where the one whose header has more fields
//! wins. Ambiguity or no fit is an error that lists the formats tried and the best
//! share, and says to pass `--format`.

use super::{col, parser_for, ParserOptions};
use crate::column::BatchBuilder;
use crate::error::{Error, Result};

/// The magic bytes of a gzip stream.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The magic bytes of a zstd frame.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Bytes needed to tell every [`Compression`] apart.
pub const MAGIC_LEN: usize = ZSTD_MAGIC.len();

/// Lines of a sample that detection parses, at most.
pub const DETECT_LINES: usize = 200;

/// The formats `auto` chooses from, in the order they are reported.
pub const DETECTED_FORMATS: &[&str] = &["combined", "common", "elb", "alb", "jsonl", "csv", "tsv"];

/// How an input is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression whose magic bytes `head` (the input's first bytes) starts with.
    pub fn from_magic(head: &[u8]) -> Compression {
        if head.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// The compression a file name asks for: `.gz` and `.zst` (DuckDB's rule, for
    /// reading and for COPY TO), `None` for any other name.
    pub fn from_extension(name: &str) -> Option<Compression> {
        if name.ends_with(".gz") {
            Some(Compression::Gzip)
        } else if name.ends_with(".zst") {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// How well one format fits a sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fit {
    pub format: &'static str,
    /// Lines (records) of the sample the format parsed.
    pub lines: u64,
    /// Of those, the lines it stored.
    pub stored: u64,
    /// Header fields (`csv`, `tsv`), else 0.
    pub columns: usize,
    /// Some stored line carried a trailing request time (`combined`, `common`).
    pub request_time: bool,
}

impl Fit {
    fn share(&self) -> f64 {
        if self.lines == 0 {
            0.0
        } else {
            self.stored as f64 / self.lines as f64
        }
    }
}

/// What [`detect`] chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    pub format: &'static str,
    /// `combined` / `common` lines with a trailing request time.
    pub request_time: bool,
    pub lines: u64,
    pub stored: u64,
}

impl Detection {
    /// The format and its variant, e.g. `combined with a trailing request time`.
    pub fn describe(&self) -> String {
        if self.request_time {
            format!("{} with a trailing request time", self.format)
        } else {
            self.format.to_string()
        }
    }
}

/// The first [`DETECT_LINES`] lines of `sample`. A last line without its newline is
/// left out when there are others: the sample may have cut it.
fn head_lines(sample: &[u8]) -> &[u8] {
    let mut end = 0;
    let mut lines = 0;
    for i in memchr::memchr_iter(b'\n', sample) {
        end = i + 1;
        lines += 1;
        if lines == DETECT_LINES {
            break;
        }
    }
    if end == 0 {
        sample
    } else {
        &sample[..end]
    }
}

/// How well `format` fits `sample` (its first [`DETECT_LINES`] lines).
pub fn fit(format: &'static str, sample: &[u8]) -> Fit {
    let head = head_lines(sample);
    let mut fit = Fit {
        format,
        lines: 0,
        stored: 0,
        columns: 0,
        request_time: false,
    };
    let options = ParserOptions {
        sample: Some(head.to_vec()),
        ..Default::default()
    };
    let Ok(mut parser) = parser_for(format, &options) else {
        return fit;
    };
    if matches!(format, "csv" | "tsv") {
        fit.columns = parser.schema().fields.len();
        if fit.columns < 2 {
            return fit;
        }
    }
    let mut out = BatchBuilder::new(parser.schema());
    let mut rejects = Vec::new();
    fit.lines = parser.parse_chunk(head, 1, &mut out, &mut rejects);
    fit.stored = out.len() as u64;
    if matches!(format, "combined" | "common") {
        let batch = out.finish();
        fit.request_time = batch
            .columns
            .get(col::REQUEST_TIME)
            .is_some_and(|c| c.null_count() < c.len());
    }
    fit
}

/// Detects the format of `sample` (the first lines of an input, decompressed).
/// `name` names the input in errors.
pub fn detect(sample: &[u8], name: &str) -> Result<Detection> {
    let mut fits: Vec<Fit> = DETECTED_FORMATS.iter().map(|&f| fit(f, sample)).collect();
    // Best share first; among equals, more stored lines, then more header fields.
    fits.sort_by(|a, b| {
        b.share()
            .total_cmp(&a.share())
            .then(b.stored.cmp(&a.stored))
            .then(b.columns.cmp(&a.columns))
    });
    let tried = DETECTED_FORMATS.join(", ");
    let best = &fits[0];
    if best.stored == 0 || best.share() < 0.5 {
        let text = sample.iter().take(4096).all(|&c| c != 0)
            && std::str::from_utf8(head_lines(sample)).is_ok();
        let what = if sample.is_empty() {
            "it is empty".to_string()
        } else if !text {
            "it is not text (compressed in a way other than gzip or zstd?)".to_string()
        } else if best.stored == 0 {
            "no format fits any of its first lines".to_string()
        } else {
            format!(
                "the best fit, {}, reads only {} of its first {} lines",
                best.format, best.stored, best.lines
            )
        };
        return Err(Error::InvalidInput(format!(
            "cannot detect the log format of {name}: {what}; tried {tried} (and combined/common \
             with a trailing request time); pass --format FORMAT (other layouts: --format nginx \
             --log-format '...')"
        )));
    }
    let second = &fits[1];
    let csv_pair = matches!(
        (best.format, second.format),
        ("csv", "tsv") | ("tsv", "csv")
    );
    let tie = second.share() == best.share() && second.stored == best.stored;
    if tie && !(csv_pair && best.columns != second.columns) {
        return Err(Error::InvalidInput(format!(
            "cannot detect the log format of {name}: both {} and {} read {} of its first {} \
             lines; tried {tried}; pass --format FORMAT",
            best.format, second.format, best.stored, best.lines
        )));
    }
    Ok(Detection {
        format: best.format,
        request_time: best.request_time,
        lines: best.lines,
        stored: best.stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMBINED: &str = "10.0.0.1 - - [01/May/2024:10:00:00 +0000] \"GET /a?uid=7 HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n";
    const COMMON: &str = "10.0.0.1 - bob [01/May/2024:10:00:00 +0000] \"GET /a HTTP/1.0\" 404 -\n";
    // The real samples, as they are (see tests/data/real/README.md).
    const ELB: &str = include_str!("../../tests/data/real/elb_classic_samples.log");
    const ALB: &str = include_str!("../../tests/data/real/alb_samples.log");

    fn many(line: &str, n: usize) -> String {
        line.repeat(n)
    }

    fn detected(sample: &str) -> Result<Detection> {
        detect(sample.as_bytes(), "sample")
    }

    #[test]
    fn each_line_format() {
        assert_eq!(detected(&many(COMBINED, 5)).unwrap().format, "combined");
        assert_eq!(detected(&many(COMMON, 5)).unwrap().format, "common");
        assert_eq!(detected(ELB).unwrap().format, "elb");
        assert_eq!(detected(ALB).unwrap().format, "alb");
        let timed = COMBINED.replace('\n', " 0.125\n");
        let d = detected(&many(&timed, 4)).unwrap();
        assert_eq!((d.format, d.request_time), ("combined", true));
        assert_eq!(d.describe(), "combined with a trailing request time");
        let d = detected(&many(COMMON, 5)).unwrap();
        assert!(!d.request_time);
    }

    #[test]
    fn records_formats() {
        let jsonl = "{\"ts\":\"2024-05-01T00:00:00Z\",\"a\":1}\n{\"ts\":\"2024-05-01T00:00:01Z\",\"a\":2}\n";
        assert_eq!(detected(jsonl).unwrap().format, "jsonl");
        let csv =
            "user_id,access_time,module\n1,2024-05-01 10:00:00,a\n2,2024-05-01 10:00:01,\"b,c\"\n";
        assert_eq!(detected(csv).unwrap().format, "csv");
        let tsv =
            "user_id\taccess_time\tnote\n1\t2024-05-01 10:00:00\ta, b\n2\t2024-05-01 10:00:01\tc\n";
        assert_eq!(detected(tsv).unwrap().format, "tsv");
    }

    #[test]
    fn a_cut_last_line_and_a_few_bad_lines_do_not_matter() {
        let mut s = many(COMBINED, 9);
        s.push_str("garbage\n");
        s.push_str(&COMBINED[..30]);
        assert_eq!(detected(&s).unwrap().format, "combined");
    }

    #[test]
    fn garbage_ambiguity_and_binary_are_errors() {
        let err = detected("hello world\nnothing here\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tried combined, common, elb, alb, jsonl, csv, tsv"),
            "{err}"
        );
        assert!(err.contains("--format"), "{err}");
        let err = detect(&[0x00, 0xff, 0xfe, 0x01, b'\n'], "bin")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not text"), "{err}");
        let err = detected("").unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        // One field per line, same count with either separator: neither csv nor tsv
        // (a header needs two fields), and nothing else fits.
        let err = detected("a\nb\nc\n").unwrap_err().to_string();
        assert!(err.contains("cannot detect"), "{err}");
        // Fields split the same way by a comma as by a tab: csv or tsv?
        let err = detected("a,b\tc\n1,2\t3\n4,5\t6\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("both csv and tsv") || err.contains("both tsv and csv"),
            "{err}"
        );
    }

    #[test]
    fn compression_by_magic() {
        assert_eq!(
            Compression::from_magic(&[0x1f, 0x8b, 8, 0]),
            Compression::Gzip
        );
        assert_eq!(Compression::from_magic(&ZSTD_MAGIC), Compression::Zstd);
        assert_eq!(Compression::from_magic(b"10.0"), Compression::None);
        assert_eq!(Compression::from_magic(&[0x1f]), Compression::None);
    }
}
