//! The target of a request (`/query?sql=SELECT+1&format=csv`): its path and its
//! query-string parameters, `%XX` escapes and `+` decoded into UTF-8 text.

/// The path and the decoded parameters of a request URL, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub path: String,
    pub params: Vec<(String, String)>,
}

impl Target {
    /// Splits `url` at its first `?` and the query string at `&` and `=`; a
    /// parameter without `=` has the empty value. Errs with a message for the
    /// client on a bad `%` escape or decoded bytes that are not UTF-8.
    pub fn parse(url: &str) -> Result<Target, String> {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let mut params = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            params.push((percent_decode(name)?, percent_decode(value)?));
        }
        Ok(Target {
            path: percent_decode(path)?,
            params,
        })
    }

    /// The value of the first parameter named any of `names`.
    pub fn param(&self, names: &[&str]) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| names.contains(&n.as_str()))
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes `%XX` escapes and `+` (a space in a query string) into UTF-8 text.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        format!("bad percent escape at byte {i} of the URL part '{text}'")
                    })?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| {
        format!(
            "the URL part '{text}' decodes to bytes that are not UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_escapes_and_plus() {
        let t = Target::parse("/query?sql=SELECT+1%2C%202&format=csv&flag").unwrap();
        assert_eq!(t.path, "/query");
        assert_eq!(t.param(&["sql"]), Some("SELECT 1, 2"));
        assert_eq!(t.param(&["query", "format"]), Some("csv"));
        assert_eq!(t.param(&["flag"]), Some(""));
        assert_eq!(t.param(&["missing"]), None);
    }

    #[test]
    fn bad_escapes_are_errors_not_panics() {
        for url in [
            "/q?sql=%",
            "/q?sql=%4",
            "/q?sql=%zz",
            "/q?sql=%+1",
            "/q?sql=%ff",
            "/%c3%28",
        ] {
            assert!(Target::parse(url).is_err(), "{url}");
        }
        // A multi-byte character right after '%' must not be sliced mid-character.
        assert!(Target::parse("/q?sql=%é").is_err());
    }

    proptest::proptest! {
        /// Any URL text decodes or is refused, never panics; what decodes
        /// round-trips through percent-encoding.
        #[test]
        fn any_url_decodes_or_is_refused(url in "\\PC*", value in "\\PC*") {
            let _ = Target::parse(&url);
            let encoded: String = value
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect();
            let t = Target::parse(&format!("/query?sql={encoded}")).unwrap();
            proptest::prop_assert_eq!(t.param(&["sql"]), Some(value.as_str()));
        }
    }
}
