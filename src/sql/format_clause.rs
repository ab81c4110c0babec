//! ClickHouse's trailing `FORMAT name` clause (`SELECT ... FORMAT CSV`): the shell
//! and the HTTP interface split it off a statement before parsing it, and answer
//! in the named format.

/// Splits off a trailing `FORMAT <mode>` (ClickHouse style) from a statement,
/// outside literals and comments. Returns the statement without it and the mode
/// name as written.
pub fn strip_format(sql: &str) -> (&str, Option<&str>) {
    let words = code_words(sql);
    let n = words.len();
    if n >= 3 {
        let (fs, fe) = words[n - 2];
        let (ms, me) = words[n - 1];
        if sql[fs..fe].eq_ignore_ascii_case("format")
            && sql[ms..me]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return (sql[..fs].trim_end(), Some(&sql[ms..me]));
        }
    }
    (sql, None)
}

/// Byte ranges of the tokens of `sql` outside comments: identifier-like words, and
/// every other non-blank character (quoted text included) as its own token so that
/// the last two tokens are really adjacent words.
fn code_words(sql: &str) -> Vec<(usize, usize)> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        if b.is_ascii_whitespace() {
            i += 1;
        } else if b == b'-' && next == Some(b'-') {
            i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |p| i + p);
        } else if b == b'/' && next == Some(b'*') {
            let mut depth = 0u32;
            while i < bytes.len() {
                if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b == b'\'' || b == b'"' {
            let s = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b {
                i += 1;
            }
            i = (i + 1).min(bytes.len());
            out.push((s, i));
        } else if b.is_ascii_alphanumeric() || b == b'_' {
            let s = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push((s, i));
        } else {
            // One character (whole UTF-8 sequence) per token.
            let len = sql[i..].chars().next().map_or(1, char::len_utf8);
            out.push((i, i + len));
            i += len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_format_is_stripped() {
        assert_eq!(
            strip_format("SELECT 1 FORMAT csv"),
            ("SELECT 1", Some("csv"))
        );
        assert_eq!(
            strip_format("SELECT 1 format JSON -- x"),
            ("SELECT 1", Some("JSON"))
        );
        assert_eq!(
            strip_format("SELECT 'a FORMAT csv'"),
            ("SELECT 'a FORMAT csv'", None)
        );
        assert_eq!(strip_format("SELECT format"), ("SELECT format", None));
        assert_eq!(strip_format("FORMAT csv"), ("FORMAT csv", None));
    }

    proptest::proptest! {
        /// Any text splits without panicking, and what is split off is a word
        /// at the end of the statement.
        #[test]
        fn any_text_splits(sql in "\\PC*") {
            let (rest, name) = strip_format(&sql);
            proptest::prop_assert!(sql.starts_with(rest));
            if let Some(name) = name {
                proptest::prop_assert!(!name.is_empty() && !rest.is_empty());
            }
        }
    }
}
