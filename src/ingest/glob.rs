//! File name patterns (`logs/*.log`, `2024-0?/**/access.log.gz`): which files a
//! pattern names, in sorted order. `*` matches any run of characters within one
//! path component, `?` one character, `[abc]` / `[a-z]` / `[!a]` one character of
//! (or not of) a set, and a `**` component any number of directories. Hidden
//! entries (a leading `.`) match only a pattern that starts with `.`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Whether `path` is a pattern (holds `*`, `?` or `[`).
pub fn is_pattern(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// The files (not directories) `pattern` names, sorted; none is an error naming
/// the pattern.
pub fn expand(pattern: &str) -> Result<Vec<PathBuf>> {
    let absolute = pattern.starts_with('/');
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    // The leading components without wildcards name the directory to start in.
    let fixed = parts.iter().take_while(|p| !is_pattern(p)).count();
    let mut base = PathBuf::from(if absolute { "/" } else { "." });
    for p in &parts[..fixed] {
        base.push(p);
    }
    let mut out = Vec::new();
    if fixed == parts.len() {
        if base.is_file() {
            out.push(base);
        }
    } else {
        walk(&base, &parts[fixed..], &mut out, 0)?;
    }
    let strip = |p: PathBuf| -> PathBuf {
        if absolute {
            p
        } else {
            p.strip_prefix(".").map(Path::to_path_buf).unwrap_or(p)
        }
    };
    let mut out: Vec<PathBuf> = out.into_iter().map(strip).collect();
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(Error::NotFound(format!("no files match '{pattern}'")));
    }
    Ok(out)
}

/// Directory depth at which `**` stops descending (a guard against link cycles).
const MAX_DEPTH: usize = 64;

fn walk(dir: &Path, parts: &[&str], out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    let Some((&first, rest)) = parts.split_first() else {
        if dir.is_file() {
            out.push(dir.to_path_buf());
        }
        return Ok(());
    };
    if depth > MAX_DEPTH {
        return Ok(());
    }
    if !is_pattern(first) {
        return walk(&dir.join(first), rest, out, depth + 1);
    }
    if !dir.is_dir() {
        return Ok(());
    }
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        names.push((e.file_name().to_string_lossy().into_owned(), e.path()));
    }
    if first == "**" {
        // Zero directories, then one more level with `**` still in front.
        walk(dir, rest, out, depth + 1)?;
        for (name, path) in &names {
            if !name.starts_with('.') && path.is_dir() {
                walk(path, parts, out, depth + 1)?;
            }
        }
        return Ok(());
    }
    for (name, path) in names {
        if (name.starts_with('.') && !first.starts_with('.')) || !matches(first, &name) {
            continue;
        }
        walk(&path, rest, out, depth + 1)?;
    }
    Ok(())
}

/// Whether `name` matches the one-component pattern `pat`.
pub fn matches(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matching with backtracking to the last `*`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() {
            match p[i] {
                '*' => {
                    star = Some((i, j));
                    i += 1;
                    continue;
                }
                '?' => {
                    i += 1;
                    j += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, len)) = class(&p[i..], n[j]) {
                        if ok {
                            i += len;
                            j += 1;
                            continue;
                        }
                    } else if n[j] == '[' {
                        i += 1;
                        j += 1;
                        continue;
                    }
                }
                c if c == n[j] => {
                    i += 1;
                    j += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((si, sj)) => {
                i = si + 1;
                j = sj + 1;
                star = Some((si, sj + 1));
            }
            None => return false,
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// A `[...]` class at the start of `p`: whether `c` is in it and the class's
/// length; `None` when the `[` is not closed (it is then a literal).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut k = 1;
    let negate = matches!(p.get(k), Some('!' | '^'));
    if negate {
        k += 1;
    }
    let mut hit = false;
    let mut first = true;
    while k < p.len() {
        if p[k] == ']' && !first {
            return Some((hit != negate, k + 1));
        }
        first = false;
        if k + 2 < p.len() && p[k + 1] == '-' && p[k + 2] != ']' {
            hit |= p[k] <= c && c <= p[k + 2];
            k += 3;
        } else {
            hit |= p[k] == c;
            k += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_one_component() {
        assert!(matches("*.log", "access.log"));
        assert!(!matches("*.log", "access.log.gz"));
        assert!(matches("*.log*", "access.log.gz"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("[ab]x", "bx"));
        assert!(!matches("[!ab]x", "bx"));
        assert!(matches("[0-9][0-9]", "42"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
        assert!(matches("[x", "[x"));
    }

    #[test]
    fn globs_walk_directories() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        for f in ["x.log", "y.csv", "a/z.log", "a/b/w.log", ".hidden.log"] {
            std::fs::write(d.join(f), "x\n").unwrap();
        }
        let names = |pat: &str| -> Vec<String> {
            expand(&format!("{}/{pat}", d.display()))
                .unwrap()
                .iter()
                .map(|p| p.strip_prefix(d).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(names("*.log"), ["x.log"]);
        assert_eq!(names("*/*.log"), ["a/z.log"]);
        assert_eq!(names("**/*.log"), ["a/b/w.log", "a/z.log", "x.log"]);
        assert!(expand(&format!("{}/*.json", d.display()))
            .unwrap_err()
            .to_string()
            .contains("no files match"));
    }
}
