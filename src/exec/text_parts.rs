//! Parts of a string: grapheme clusters (`*_grapheme`), slices and single
//! characters by position (`array_slice`, `array_extract` of a string), and the
//! components of a file path (`parse_filename`, `parse_dirname`,
//! `parse_dirpath`).

use unicode_segmentation::UnicodeSegmentation;

use crate::plan::PathSep;

/// The grapheme clusters of `s`.
pub fn grapheme_count(s: &str) -> i64 {
    s.graphemes(true).count() as i64
}

/// The grapheme clusters of `s` from the last to the first (`reverse`).
pub fn graphemes_reversed(s: &str) -> impl Iterator<Item = &str> {
    s.graphemes(true).rev()
}

/// The byte offset after the first `k` grapheme clusters of `s`.
fn grapheme_offset(s: &str, k: usize) -> usize {
    s.grapheme_indices(true).nth(k).map_or(s.len(), |(b, _)| b)
}

/// `left_grapheme(s, n)` (`from_left`) or `right_grapheme(s, n)`: n clusters
/// from that end; a negative n drops -n clusters from the other end.
pub fn grapheme_left_right(s: &str, n: i64, from_left: bool) -> &str {
    let count = grapheme_count(s);
    let keep = if n >= 0 {
        n.min(count)
    } else {
        (count + n).max(0)
    };
    if from_left {
        &s[..grapheme_offset(s, keep as usize)]
    } else {
        &s[grapheme_offset(s, (count - keep) as usize)..]
    }
}

/// `substring_grapheme(s, start, length)` with `substr`'s rules (1-based, a
/// negative start from the end, a negative length before the start); `length`
/// None means to the end.
pub fn grapheme_substring(s: &str, start: i64, length: Option<i64>) -> &str {
    match super::functions::substr_window(grapheme_count(s), start, length) {
        Some((lo, hi)) => &s[grapheme_offset(s, lo)..grapheme_offset(s, hi)],
        None => "",
    }
}

/// The byte offset of character `k` of `s` (its length at or past the end).
fn char_offset(s: &str, k: usize) -> usize {
    s.char_indices().nth(k).map_or(s.len(), |(b, _)| b)
}

/// `array_slice(s, begin, end)` of a string: characters begin..=end, 1-based,
/// negative positions counted from the end, 0 as 1 (DuckDB's list slicing).
pub fn slice(s: &str, begin: i64, end: i64) -> &str {
    let n = s.chars().count() as i64;
    let b = if begin < 0 {
        (n + begin).max(0)
    } else {
        (begin - 1).max(0)
    };
    let e = if end < 0 { n + end + 1 } else { end.min(n) };
    if b >= e {
        return "";
    }
    &s[char_offset(s, b as usize)..char_offset(s, e as usize)]
}

/// `array_extract(s, i)` of a string: character i (1-based, negative from the
/// end), `''` for 0 and outside the string.
pub fn extract(s: &str, i: i64) -> &str {
    let n = s.chars().count() as i64;
    let k = if i < 0 { n + i } else { i - 1 };
    if i == 0 || k < 0 || k >= n {
        return "";
    }
    let a = char_offset(s, k as usize);
    let len = s[a..].chars().next().map_or(0, char::len_utf8);
    &s[a..a + len]
}

/// `parse_filename(path, trim_extension, sep)`: the text after the last
/// separator; with `trim_extension`, without its last `.ext`.
pub fn filename(path: &str, trim_extension: bool, sep: PathSep) -> &str {
    let name = path
        .rfind(|c| sep.is_sep(c))
        .map_or(path, |i| &path[i + 1..]);
    match name.rfind('.') {
        Some(dot) if trim_extension && dot > 0 => &name[..dot],
        _ if trim_extension && name.starts_with('.') => "",
        _ => name,
    }
}

/// `parse_dirname(path, sep)`: the first component (`/` for an absolute path
/// whose first component is the root), `''` without a separator.
pub fn dirname(path: &str, sep: PathSep) -> &str {
    match path.find(|c| sep.is_sep(c)) {
        None => "",
        Some(0) => &path[..1],
        Some(i) => &path[..i],
    }
}

/// `parse_dirpath(path, sep)`: everything before the last separator, `''`
/// without one (so also for a file in the root, `/file.csv`; the root alone is
/// itself).
pub fn dirpath(path: &str, sep: PathSep) -> &str {
    match path.rfind(|c| sep.is_sep(c)) {
        Some(0) if path.len() == 1 => path,
        None => "",
        Some(i) => &path[..i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_and_extracts_count_characters_like_duckdb_lists() {
        assert_eq!(slice("hello", 0, 2), "he");
        assert_eq!(slice("hello", 2, 3), "el");
        assert_eq!(slice("hello", -3, -1), "llo");
        assert_eq!(slice("b", 2, 3), "");
        assert_eq!(slice("🦆ab", 1, 2), "🦆a");
        assert_eq!(
            (extract("abc", 0), extract("abc", -1), extract("abc", 4)),
            ("", "c", "")
        );
        assert_eq!(extract("🦆ab", 1), "🦆");
    }

    #[test]
    fn grapheme_functions_keep_clusters_whole() {
        let face = "🤦🏼\u{200d}♂\u{fe0f}";
        let s = format!("{face}x");
        assert_eq!(grapheme_count(&s), 2);
        assert_eq!(grapheme_substring(&s, 2, Some(1)), "x");
        assert_eq!(grapheme_left_right(&s, 1, true), face);
        assert_eq!(grapheme_substring("abcdef", -2, Some(3)), "ef");
        assert_eq!(grapheme_substring("abcdef", 2, None), "bcdef");
        assert_eq!(grapheme_substring("hello", 2, Some(-2)), "h");
        assert_eq!(grapheme_substring("hello", -2, Some(-2)), "el");
        assert_eq!(grapheme_left_right("abc", -1, false), "bc");
        let reversed: String = graphemes_reversed(&format!("{face} L")).collect();
        assert_eq!(reversed, format!("L {face}"));
    }

    #[test]
    fn path_parts_follow_duckdb() {
        let both = PathSep::Both;
        assert_eq!(filename("path/to/file.csv", false, both), "file.csv");
        assert_eq!(filename("path/to/file.csv", true, both), "file");
        assert_eq!(filename("a\\b/c.d.e", true, both), "c.d");
        assert_eq!(filename("a.b/", false, both), "");
        assert_eq!(filename(".bashrc", true, both), "");
        assert_eq!(dirname("path/to/file.csv", both), "path");
        assert_eq!(dirname("/path/to/file.csv", both), "/");
        assert_eq!(dirname("file.csv", both), "");
        assert_eq!(dirpath("path/to/file.csv", both), "path/to");
        assert_eq!(dirpath("/file.csv", both), "");
        assert_eq!(dirpath("/", both), "/");
        assert_eq!(dirpath("//a", both), "/");
        assert_eq!(dirpath("a//b", both), "a/");
        assert_eq!(dirname("a/b\\c/d", PathSep::Forward), "a");
        assert_eq!(dirpath("a/b\\c/d", PathSep::Backslash), "a/b");
    }
}
