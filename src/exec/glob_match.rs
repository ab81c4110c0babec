//! `s GLOB pattern` as DuckDB matches it: `*` any run of bytes, `?` one byte,
//! `[...]` one byte of a class (ranges `a-z`, `[!...]` negated, a `]` right
//! after `[` or `[!` is a member), `\` makes the next byte literal. Matching is
//! by bytes and case-sensitive, as DuckDB's (`'é' GLOB '?'` is false: two
//! bytes). A pattern with an unclosed `[` or a trailing `\` matches nothing.

/// One element of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Byte(u8),
    /// `?`
    Any,
    /// `*` (runs collapsed)
    Star,
    /// `[...]`: inclusive byte ranges.
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
}

impl Token {
    fn matches(&self, b: u8) -> bool {
        match self {
            Token::Byte(x) => *x == b,
            Token::Any => true,
            Token::Star => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= b && b <= hi) != *negated
            }
        }
    }
}

/// A parsed GLOB pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobPattern {
    tokens: Vec<Token>,
    /// Malformed (unclosed `[`, trailing `\`): matches nothing.
    never: bool,
}

impl GlobPattern {
    pub fn new(pattern: &str) -> GlobPattern {
        let p = pattern.as_bytes();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < p.len() {
            match p[i] {
                b'*' => {
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                    i += 1;
                }
                b'?' => {
                    tokens.push(Token::Any);
                    i += 1;
                }
                b'\\' => match p.get(i + 1) {
                    Some(&b) => {
                        tokens.push(Token::Byte(b));
                        i += 2;
                    }
                    None => return GlobPattern::nothing(),
                },
                b'[' => {
                    let mut j = i + 1;
                    let negated = p.get(j) == Some(&b'!');
                    if negated {
                        j += 1;
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let Some(&b) = p.get(j) else {
                            return GlobPattern::nothing();
                        };
                        if b == b']' && !first {
                            j += 1;
                            break;
                        }
                        first = false;
                        match (p.get(j + 1), p.get(j + 2)) {
                            (Some(b'-'), Some(&hi)) if hi != b']' => {
                                ranges.push((b, hi));
                                j += 3;
                            }
                            _ => {
                                ranges.push((b, b));
                                j += 1;
                            }
                        }
                    }
                    tokens.push(Token::Class { negated, ranges });
                    i = j;
                }
                b => {
                    tokens.push(Token::Byte(b));
                    i += 1;
                }
            }
        }
        GlobPattern {
            tokens,
            never: false,
        }
    }

    fn nothing() -> GlobPattern {
        GlobPattern {
            tokens: Vec::new(),
            never: true,
        }
    }

    /// Whether `s` matches the whole pattern. At most (pattern length x text
    /// length) steps: a mismatch after a `*` restarts one byte further from it.
    pub fn matches(&self, s: &str) -> bool {
        if self.never {
            return false;
        }
        let (t, s) = (&self.tokens, s.as_bytes());
        let (mut p, mut i) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while i < s.len() {
            if let Some(tok) = t.get(p) {
                if *tok == Token::Star {
                    star = Some((p, i));
                    p += 1;
                    continue;
                }
                if tok.matches(s[i]) {
                    p += 1;
                    i += 1;
                    continue;
                }
            }
            match star {
                Some((sp, si)) => {
                    p = sp + 1;
                    i = si + 1;
                    star = Some((sp, si + 1));
                }
                None => return false,
            }
        }
        t[p..].iter().all(|tok| *tok == Token::Star)
    }
}

#[cfg(test)]
mod tests {
    use super::GlobPattern;

    #[test]
    fn globs_match_as_duckdb() {
        let yes = [
            ("aaa", "aaa"),
            ("aaa", "*"),
            ("aaa", "*a"),
            ("aaa", "a?a"),
            ("aaa", "??*"),
            ("ababac", "*abac"),
            ("3", "[0-9]"),
            ("b3", "[abc0-9][abc0-9]"),
            ("a", "[!0-9]"),
            ("*", "\\*"),
            ("\\", "\\\\"),
            ("3]", "[]3][]]"),
            ("1245", "**1***2*******4*5***"),
            ("?", "[?]"),
            ("6", "[1-35-7]"),
            ("a-c", "a[a-]c"),
            ("abc", "[^a]bc"),
            ("", ""),
            ("", "*"),
            ("aé", "a??"),
            ("aaaaaaaaaaaaaaaaaaaaaaa", "*a"),
        ];
        for (s, p) in yes {
            assert!(GlobPattern::new(p).matches(s), "{s} GLOB {p}");
        }
        let no = [
            ("aaa", "bbb"),
            ("aaa", "*b"),
            ("aaa", "a?"),
            ("aaa", "????*"),
            ("a", "[0-9]"),
            ("012a", "[0-9][0-9][0-9]"),
            ("1", "[!0-9]"),
            ("a", "\\*"),
            ("3", "[3"),
            ("3", "[3-"),
            ("3", "\\"),
            ("4", "["),
            ("4", "[1-35-7]"),
            ("abc", "A*"),
            ("aé", "a?"),
            ("b", "[c-a]"),
            ("abc", ""),
            ("xbc", "[^a]bc"),
        ];
        for (s, p) in no {
            assert!(!GlobPattern::new(p).matches(s), "{s} NOT GLOB {p}");
        }
    }

    #[test]
    fn many_stars_stay_linear_per_restart() {
        let s = "a".repeat(5000);
        let p = format!("{}b", "*a".repeat(50));
        assert!(!GlobPattern::new(&p).matches(&s));
    }
}
