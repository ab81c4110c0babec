//! The one-way rule of the source tree (ARCHITECTURE.md): every `crate::` and
//! `super::` path of every library file under src/ is resolved to the top-level
//! module it names, and a file may only name its own module or one of the modules
//! its layer stands on. The binary (src/bin/) may use anything; the library never
//! reaches into the binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, top to bottom, and what each may import besides itself.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "lib",
        &[
            "export",
            "arrow_import",
            "http",
            "sql",
            "exec",
            "plan",
            "import",
            "db",
            "index",
            "ingest",
            "arrow",
            "storage",
            "ground",
        ],
    ),
    (
        "export",
        &["sql", "exec", "plan", "db", "arrow", "storage", "ground"],
    ),
    ("http", &["sql", "ground"]),
    (
        "sql",
        &[
            "exec", "plan", "import", "db", "index", "ingest", "arrow", "storage", "ground",
        ],
    ),
    (
        "arrow_import",
        &["import", "db", "ingest", "arrow", "storage", "ground"],
    ),
    ("import", &["db", "ingest", "arrow", "storage", "ground"]),
    ("db", &["storage", "ground"]),
    (
        "exec",
        &["plan", "index", "ingest", "arrow", "storage", "ground"],
    ),
    ("plan", &["index", "storage", "ground"]),
    ("index", &["storage", "ground"]),
    ("ingest", &["ground"]),
    ("arrow", &["ground"]),
    ("storage", &["ground"]),
    ("ground", &[]),
];

/// The ground types: what every layer may use.
const GROUND: &[&str] = &[
    "error",
    "schema",
    "column",
    "value",
    "decimal",
    "time",
    "time_units",
    "ip",
    "interval",
    "list",
];

/// The layer of a top-level module of the library.
fn layer_of(module: &str) -> Option<&'static str> {
    if GROUND.contains(&module) {
        return Some("ground");
    }
    LAYERS
        .iter()
        .map(|(l, _)| *l)
        .find(|l| *l == module && *l != "ground" && *l != "lib")
}

/// The module path of a library file: `src/exec/mod.rs` is `[exec]`,
/// `src/sql/bind/from.rs` is `[sql, bind, from]`, `src/lib.rs` is `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .skip(1) // "src"
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_string());
        }
    }
    parts
}

/// The first segment of each path in a `{a::b, c, d::{e}}` group that starts at
/// `text[0] == '{'`.
fn group_heads(text: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = false;
    let mut ident = String::new();
    for ch in text.chars() {
        match ch {
            '{' => {
                depth += 1;
                if depth == 1 {
                    expect_head = true;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => expect_head = true,
            c if expect_head && (c.is_alphanumeric() || c == '_') => ident.push(c),
            _ => {}
        }
        if expect_head && !ident.is_empty() && !(ch.is_alphanumeric() || ch == '_') {
            heads.push(std::mem::take(&mut ident));
            expect_head = false;
        }
    }
    heads
}

fn ident_at(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level modules of the crate that `source` (the text of the file at
/// module path `module`) names through `crate::` and `super::` paths. Comments are
/// skipped; `super::` is resolved against the file's module path.
fn imported_modules(module: &[String], source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut module = module.to_vec();
    for line in source.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        // An inline module (`mod tests {`, at the end of a file) is one level down.
        if let Some(name) = code
            .strip_prefix("mod ")
            .or_else(|| code.strip_prefix("pub mod "))
            .and_then(|r| r.strip_suffix(" {"))
        {
            module.push(name.to_string());
            continue;
        }
        let code = match code.find(" //") {
            Some(i) => &code[..i],
            None => code,
        };
        let bytes = code.as_bytes();
        let mut i = 0;
        while i < code.len() {
            let rest = &code[i..];
            let prev_ident =
                i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
            if !prev_ident && rest.starts_with("crate::") {
                let after = &rest["crate::".len()..];
                if after.starts_with('{') {
                    out.extend(group_heads(after));
                } else {
                    out.insert(ident_at(after));
                }
                i += "crate::".len();
                continue;
            }
            if !prev_ident && rest.starts_with("super::") {
                // Count the chain of `super::`.
                let mut ups = 0;
                let mut tail = rest;
                while let Some(t) = tail.strip_prefix("super::") {
                    ups += 1;
                    tail = t;
                }
                let base: Vec<&String> = module
                    .iter()
                    .take(module.len().saturating_sub(ups))
                    .collect();
                let heads = if tail.starts_with('{') {
                    group_heads(tail)
                } else {
                    vec![ident_at(tail)]
                };
                for h in heads {
                    out.insert(match base.first() {
                        Some(top) => (*top).clone(),
                        None => h,
                    });
                }
                i += "super::".len() * ups;
                continue;
            }
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out.retain(|m| !m.is_empty() && m != "self");
    out
}

/// The forbidden imports of one file, as "src/x.rs imports crate::y (layer a may
/// not import layer b)".
fn violations(rel: &Path, source: &str) -> Vec<String> {
    let module = module_path(rel);
    let own = module.first().map(String::as_str).unwrap_or("lib");
    let Some(from) = (if own == "lib" {
        Some("lib")
    } else {
        layer_of(own)
    }) else {
        return vec![format!(
            "{}: module '{own}' has no layer: add it to LAYERS in tests/library/architecture.rs",
            rel.display()
        )];
    };
    let allowed = LAYERS.iter().find(|(l, _)| *l == from).unwrap().1;
    let mut out = Vec::new();
    if source.contains("bin/logdb") && (source.contains("#[path") || source.contains("include!")) {
        out.push(format!(
            "{}: the library includes the binary",
            rel.display()
        ));
    }
    for m in imported_modules(&module, source) {
        if m == own {
            continue;
        }
        let Some(to) = layer_of(&m) else {
            out.push(format!(
                "{}: imports unknown module crate::{m}",
                rel.display()
            ));
            continue;
        };
        if to != from && !allowed.contains(&to) {
            out.push(format!(
                "{}: imports crate::{m} (layer '{from}' may not import layer '{to}')",
                rel.display()
            ));
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn library_files_import_only_downwards() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in files {
        let rel = path.strip_prefix(root).unwrap();
        if rel.starts_with("src/bin") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        problems.extend(violations(rel, &source));
        checked += 1;
    }
    assert!(
        checked > 40,
        "only {checked} library files found under src/"
    );
    assert!(
        problems.is_empty(),
        "forbidden imports:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_layers_form_no_cycle() {
    let graph: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    // Depth-first search from every layer; a layer met again on its own path is a cycle.
    fn visit<'a>(
        l: &'a str,
        graph: &BTreeMap<&'a str, &'a [&'a str]>,
        path: &mut Vec<&'a str>,
    ) -> Result<(), String> {
        if path.contains(&l) {
            return Err(format!("{} -> {l}", path.join(" -> ")));
        }
        path.push(l);
        for next in graph[l].iter() {
            visit(next, graph, path)?;
        }
        path.pop();
        Ok(())
    }
    for l in graph.keys() {
        visit(l, &graph, &mut Vec::new()).unwrap();
    }
}

#[test]
fn a_planted_upward_import_is_found() {
    let v = |file: &str, src: &str| violations(Path::new(file), src);
    // Each of these is a violation the rule exists to stop.
    assert_eq!(
        v("src/storage/segment/reader.rs", "use crate::sql::parse;\n").len(),
        1
    );
    assert_eq!(
        v(
            "src/exec/mod.rs",
            "use crate::{column::Value, sql::Session};\n"
        )
        .len(),
        1
    );
    assert_eq!(
        v("src/exec/agg.rs", "    let p = crate::db::Db::open(x);\n").len(),
        1
    );
    assert_eq!(
        v("src/plan/optimize.rs", "use crate::exec::execute;\n").len(),
        1
    );
    assert_eq!(
        v("src/ingest/clf.rs", "use crate::storage::segment;\n").len(),
        1
    );
    assert_eq!(v("src/db.rs", "use crate::exec::QueryResult;\n").len(), 1);
    assert_eq!(
        v("src/schema.rs", "use crate::storage::Snapshot;\n").len(),
        1
    );
    assert_eq!(
        v("src/index/bitmap.rs", "use crate::plan::BinaryOp;\n").len(),
        1
    );
    assert_eq!(
        v("src/storage/segment/reader.rs", "use crate::index::Cmp;\n").len(),
        1
    );
    // `super::` out of a top-level module's mod.rs names a sibling module.
    assert_eq!(v("src/exec/mod.rs", "use super::sql::Session;\n").len(), 1);
    assert_eq!(
        v(
            "src/sql/bind/from.rs",
            "use super::super::super::exec::x;\n"
        )
        .len(),
        0
    );
    assert_eq!(
        v("src/storage/cache.rs", "use super::super::sql::x;\n").len(),
        1
    );
    assert_eq!(
        v(
            "src/storage/x.rs",
            "#[path = \"../bin/logdb/main.rs\"]\nmod m;\n"
        )
        .len(),
        1
    );
    // Allowed: downwards, within a module, comments, and unrelated words.
    assert!(v(
        "src/exec/stream.rs",
        "use crate::plan::{Expr, LogicalPlan};\nuse super::agg;\n"
    )
    .is_empty());
    assert!(v(
        "src/storage/segment/reader.rs",
        "// see crate::sql::parse\nuse crate::{column::Value, error::Result};\n"
    )
    .is_empty());
    assert!(v(
        "src/sql/mod.rs",
        "use crate::exec::execute; // runs crate::exec\n"
    )
    .is_empty());
    assert!(v("src/ingest/mod.rs", "let supercrate::x = 1;\n").is_empty());
    // Inside an inline test module, `super::` is the file's own module.
    assert!(v(
        "src/ip.rs",
        "mod tests {\n    use super::{format, parse};\n}\n"
    )
    .is_empty());
    assert_eq!(
        v(
            "src/ip.rs",
            "mod tests {\n    use super::super::sql::x;\n}\n"
        )
        .len(),
        1
    );
}

/// The physical planner (src/exec/physical.rs) is the only code of the executor
/// that calls the optimizer: the other executor files may name its types, never
/// its functions.
#[test]
fn only_the_physical_planner_calls_the_optimizer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/exec"), &mut files);
    let mut problems = Vec::new();
    for path in files {
        if path.ends_with("physical.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for (n, line) in source.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for (i, _) in code.match_indices("optimize::") {
                let after = &code[i + "optimize::".len()..];
                if after.starts_with(|c: char| c.is_ascii_lowercase() || c == '{') {
                    problems.push(format!("{}:{}: {code}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "optimizer calls outside the planner:\n{}",
        problems.join("\n")
    );
}
