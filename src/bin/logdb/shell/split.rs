//! Cutting shell input into dot commands and SQL statements.
//!
//! Statements end at `;` outside string literals, quoted identifiers and comments.
//! A line whose first character is `.` is a dot command when no statement is pending
//! (comments alone do not count as a pending statement).

/// One unit of shell input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// A dot command line without its trailing newline, e.g. `.mode csv`.
    Dot(&'a str),
    /// A SQL statement without its `;`, leading whitespace trimmed.
    Sql(&'a str),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    /// Inside `'...'` (`''` is an escaped quote: leaving and re-entering is the same).
    Single,
    /// Inside `"..."`.
    Double,
    /// After `--` up to the end of the line.
    Line,
    /// Inside `/* ... */` (nesting depth).
    Block(u32),
}

/// What [`split`] found.
#[derive(Debug)]
pub struct Split<'a> {
    /// Complete dot commands and statements, in order.
    pub items: Vec<Item<'a>>,
    /// The text after the last complete item (untrimmed; may hold the start of a
    /// comment or literal).
    pub pending: &'a str,
    /// Whether `pending` holds SQL (not just blanks and comments).
    pub pending_sql: bool,
    /// Whether the text ends inside a string, quoted identifier or block comment.
    pub open: bool,
}

impl Split<'_> {
    /// The pending statement to run at the end of a script, if any.
    pub fn last_statement(&self) -> Option<&str> {
        (self.pending_sql || self.open && !self.pending.trim().is_empty())
            .then(|| self.pending.trim())
    }
}

/// Whether the input ends a statement (or is a dot command, or is blank): what the
/// interactive editor uses to decide between running the input and reading another
/// line.
pub fn is_complete(text: &str) -> bool {
    let s = split(text);
    !s.pending_sql && !s.open
}

/// Splits `text` into complete items and what follows them. Comments before a
/// statement are dropped with the blanks.
pub fn split(text: &str) -> Split<'_> {
    let bytes = text.as_bytes();
    let mut items = Vec::new();
    let mut state = State::Code;
    // Start of the pending statement and whether it has anything but blanks/comments.
    let mut start = 0;
    let mut content = false;
    let mut at_line_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        match state {
            State::Code => {
                if at_line_start && !content && b == b'.' {
                    let end = memchr_newline(bytes, i);
                    items.push(Item::Dot(text[i..end].trim_end()));
                    i = end;
                    start = end;
                    continue;
                }
                match b {
                    b'\'' => state = State::Single,
                    b'"' => state = State::Double,
                    b'-' if next == Some(b'-') => {
                        state = State::Line;
                        i += 1;
                    }
                    b'/' if next == Some(b'*') => {
                        state = State::Block(1);
                        i += 1;
                    }
                    b';' => {
                        if content {
                            items.push(Item::Sql(text[start..i].trim()));
                        }
                        start = i + 1;
                        content = false;
                    }
                    _ => {}
                }
                if !b.is_ascii_whitespace() && !matches!(state, State::Line | State::Block(_)) {
                    content |= b != b';';
                }
            }
            State::Single if b == b'\'' => state = State::Code,
            State::Double if b == b'"' => state = State::Code,
            State::Line if b == b'\n' => state = State::Code,
            State::Block(d) if b == b'*' && next == Some(b'/') => {
                state = if d == 1 {
                    State::Code
                } else {
                    State::Block(d - 1)
                };
                i += 1;
            }
            State::Block(d) if b == b'/' && next == Some(b'*') => {
                state = State::Block(d + 1);
                i += 1;
            }
            _ => {}
        }
        at_line_start = b == b'\n' || (at_line_start && (b == b' ' || b == b'\t'));
        if b == b'\n' && !content && state == State::Code {
            // Blank or comment-only lines are not part of the next statement.
            start = i + 1;
        }
        i += 1;
    }
    Split {
        items,
        pending: &text[start.min(text.len())..],
        pending_sql: content,
        open: matches!(state, State::Single | State::Double | State::Block(_)),
    }
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_end_at_semicolons_outside_quotes_and_comments() {
        let s = split("SELECT ';' FROM t; -- a; b\nSELECT \"x;\" /* ; */ FROM u;\nSELECT 3");
        assert_eq!(
            s.items,
            vec![
                Item::Sql("SELECT ';' FROM t"),
                Item::Sql("SELECT \"x;\" /* ; */ FROM u")
            ]
        );
        assert_eq!(s.last_statement(), Some("SELECT 3"));
    }

    #[test]
    fn dot_commands_only_between_statements() {
        let s = split(".mode csv\nSELECT 1\n.5;\n  .tables\n-- c\n.schema t\n/* x");
        assert_eq!(
            s.items,
            vec![
                Item::Dot(".mode csv"),
                Item::Sql("SELECT 1\n.5"),
                Item::Dot(".tables"),
                Item::Dot(".schema t"),
            ]
        );
        assert_eq!(s.pending, "/* x");
        assert!(!s.pending_sql && s.open);
    }

    #[test]
    fn completeness() {
        assert!(is_complete(""));
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete(".tables"));
        assert!(is_complete("-- only a comment"));
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT ';"));
        assert!(!is_complete("SELECT 1; /* ; "));
        assert!(is_complete("SELECT 1; SELECT\n2;"));
    }
}
