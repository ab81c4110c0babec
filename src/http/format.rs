//! The formats of a query's answer over HTTP, by name (ClickHouse's names
//! included: `JSONEachRow`, `CSVWithNames`, `TabSeparated`, ...) and by the media
//! type of an `Accept` header. Writing them is the server's part.

/// A format an HTTP client can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `{"meta": [...], "data": [...], "rows": n, "statistics": {...}}`, as
    /// ClickHouse's JSON format.
    Json,
    /// One JSON object per row and line.
    Ndjson,
    /// RFC 4180 with a header line.
    Csv,
    /// Tab-separated with a header line.
    Tsv,
    /// An Arrow IPC stream (`application/vnd.apache.arrow.stream`).
    Arrow,
}

/// Every format with its names, lower case (the first is the canonical one). The
/// same spellings name the shell's output modes (spec/shell.md).
pub const NAMES: &[(&[&str], Format)] = &[
    (&["json"], Format::Json),
    (&["ndjson", "jsonl", "jsoneachrow"], Format::Ndjson),
    (&["csv", "csvwithnames"], Format::Csv),
    (
        &["tsv", "tabs", "tabseparated", "tabseparatedwithnames"],
        Format::Tsv,
    ),
    (&["arrow", "arrowstream"], Format::Arrow),
];

impl Format {
    /// A format by name, case-insensitively.
    pub fn from_name(name: &str) -> Result<Format, String> {
        let lower = name.to_ascii_lowercase();
        NAMES
            .iter()
            .find(|(names, _)| names.contains(&lower.as_str()))
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                format!(
                    "unknown format '{name}'; over HTTP: json, ndjson (jsonl, JSONEachRow), \
                     csv (CSVWithNames), tsv (TabSeparated) or arrow (ArrowStream)"
                )
            })
    }

    /// The format of the first media type of an `Accept` header that names one
    /// (parameters such as `;q=0.9` are ignored, and so is the order they give).
    pub fn from_accept(accept: &str) -> Option<Format> {
        accept.split(',').find_map(|item| {
            let media = item.split(';').next().unwrap_or("").trim();
            match media.to_ascii_lowercase().as_str() {
                "application/json" => Some(Format::Json),
                "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
                    Some(Format::Ndjson)
                }
                "text/csv" => Some(Format::Csv),
                "text/tab-separated-values" => Some(Format::Tsv),
                "application/vnd.apache.arrow.stream" => Some(Format::Arrow),
                _ => None,
            }
        })
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Ndjson => "application/x-ndjson; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Tsv => "text/tab-separated-values; charset=utf-8",
            Format::Arrow => "application/vnd.apache.arrow.stream",
        }
    }

    /// The canonical name (`json`, `ndjson`, `csv`, `tsv`, `arrow`).
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("json", |(names, _)| names[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name_and_accept_header() {
        assert_eq!(Format::from_name("JSONEachRow"), Ok(Format::Ndjson));
        assert_eq!(Format::from_name("CSVWithNames"), Ok(Format::Csv));
        assert_eq!(Format::from_name("TabSeparated"), Ok(Format::Tsv));
        assert_eq!(Format::from_name("ArrowStream"), Ok(Format::Arrow));
        assert!(Format::from_name("box").is_err());
        assert_eq!(
            Format::from_accept("text/html;q=0.9, text/csv;q=0.8"),
            Some(Format::Csv)
        );
        assert_eq!(Format::from_accept("*/*"), None);
        assert_eq!(
            Format::from_accept("application/vnd.apache.arrow.stream"),
            Some(Format::Arrow)
        );
        assert_eq!(
            Format::from_accept("application/x-ndjson"),
            Some(Format::Ndjson)
        );
        for (names, format) in NAMES {
            assert_eq!(format.name(), names[0]);
            for name in *names {
                assert_eq!(Format::from_name(&name.to_uppercase()), Ok(*format));
            }
        }
    }
}
