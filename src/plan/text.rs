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
    /// `reverse(s)`: the characters in reverse order.
    Reverse,
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
}
