//! The basic string functions a [`ScalarFunc::Text`] names (`replace`, `repeat`,
//! `left`, ...), with DuckDB's meaning; their kernels are in `exec/text.rs`.
//!
//! [`ScalarFunc::Text`]: super::ScalarFunc::Text

/// One string function; positions and counts are characters (code points)
/// unless noted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextFunc {
    /// `replace(s, from, to)`: every `from` replaced; an empty `from` changes nothing.
    Replace,
    /// `reverse(s)`: the grapheme clusters in reverse order.
    Reverse,
    /// `md5(s)`: the MD5 digest of the string's bytes as lower-case hex.
    Md5,
    /// `sha1(s)`: the SHA-1 digest, likewise.
    Sha1,
    /// `sha256(s)`: the SHA-256 digest, likewise.
    Sha256,
    /// `repeat(s, n)`: s n times (`''` for n ≤ 0); the result is bounded.
    Repeat,
    /// `left(s, n)`: the first n characters; n < 0: all but the last -n.
    Left,
    /// `right(s, n)`: the last n characters; n < 0: all but the first -n.
    Right,
    /// `ascii(s)`: the code point of the first character (0 for `''`), INTEGER.
    Ascii,
    /// `chr(n)`: the character of code point n; an invalid one is an error.
    Chr,
    /// `strlen(s)`: bytes, BIGINT.
    Strlen,
    /// `bit_length(s)`: bits, BIGINT.
    BitLength,
    /// `trim(s [, chars])` (`leading` and `trailing`), `ltrim` (`leading`),
    /// `rtrim` (`trailing`): the characters of `chars` (default a space, only)
    /// removed from that end or both.
    Trim { leading: bool, trailing: bool },
    /// `regexp_escape(s)`: s with every regular-expression metacharacter escaped.
    RegexpEscape,
    /// `url_encode(s)`: percent-encoding of every byte but `A-Z a-z 0-9 - _ . ~`.
    UrlEncode,
    /// `url_decode(s)`: `%XX` sequences decoded (others kept as they are).
    UrlDecode,
    /// `unicode(s)` / `ord(s)`: the first code point, -1 for `''`, INTEGER.
    Unicode,
    /// `length_grapheme(s)`: grapheme clusters, BIGINT.
    LengthGrapheme,
    /// `left_grapheme(s, n)`: `left` counted in grapheme clusters.
    LeftGrapheme,
    /// `right_grapheme(s, n)`.
    RightGrapheme,
    /// `substring_grapheme(s, start [, length])`: `substring` in grapheme clusters.
    SubstringGrapheme,
    /// `array_slice(s, begin, end)` / `list_slice` of a string: the characters
    /// from begin to end, both 1-based and inclusive, negative from the end.
    Slice,
    /// `array_extract(s, i)` / `list_extract` of a string: character i (1-based,
    /// negative from the end), `''` outside.
    Extract,
    /// `parse_formatted_bytes(s)`: `'1.5 MB'` as 1500000, BIGINT.
    ParseFormattedBytes,
    /// `to_base(n, radix [, min_length])`: n in base 2..36, upper-case digits,
    /// zero-padded to min_length.
    ToBase,
    /// `bar(x, min, max [, width])`: a bar of block characters, `width` (80)
    /// cells for max, in eighths of a cell.
    Bar,
    /// `parse_filename(path [, trim_extension [, separator]])`: the last
    /// component of a path.
    ParseFilename { trim_extension: bool, sep: PathSep },
    /// `parse_dirname(path [, separator])`: the first component of the path.
    ParseDirname { sep: PathSep },
    /// `parse_dirpath(path [, separator])`: the path before the last component.
    ParseDirpath { sep: PathSep },
}

/// The separators of a path for the `parse_*` functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathSep {
    /// `'system'` / `'both_slash'` (the default): `/` and `\`.
    Both,
    /// `'forward_slash'`.
    Forward,
    /// `'backslash'`.
    Backslash,
}

impl PathSep {
    /// The separator DuckDB's name stands for.
    pub fn of_name(name: &str) -> Option<PathSep> {
        Some(match name.to_ascii_lowercase().as_str() {
            "both_slash" => PathSep::Both,
            "system" | "forward_slash" => PathSep::Forward,
            "backslash" => PathSep::Backslash,
            _ => return None,
        })
    }

    pub fn is_sep(self, c: char) -> bool {
        match self {
            PathSep::Both => c == '/' || c == '\\',
            PathSep::Forward => c == '/',
            PathSep::Backslash => c == '\\',
        }
    }
}
