//! Dot commands (`.tables`, `.mode csv`, ...): shell settings and helpers that are
//! not SQL. Each takes the rest of its line, split into words like a shell does
//! ("double" or 'single' quotes keep spaces).

use std::io::Write;
use std::path::Path;

use clap::Parser;

use super::render::{self, Mode};
use super::{open_db, Shell, Sink, Step};
use crate::import_cmd;

/// Every dot command with its arguments and a one-line description, for `.help`
/// and completion.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (
        ".bail",
        "on|off",
        "stop a script at the first error (default on)",
    ),
    (
        ".chart",
        "",
        "show the last result as a bar chart (label, number)",
    ),
    (".exit", "", "leave the shell"),
    (".help", "", "show this message"),
    (
        ".import",
        "FILE [--format F] [--table T] [...]",
        "import log files into a table (options of `logdb import`)",
    ),
    (
        ".maxrows",
        "N",
        "rows shown by box mode (head and tail; 0 = all)",
    ),
    (
        ".mode",
        "MODE",
        "box, csv, tsv, json, jsonl, markdown, line or bar",
    ),
    (".once", "FILE", "write the next result to FILE"),
    (
        ".open",
        "[--read-only] [DB]",
        "close this database and open DB (none: in-memory)",
    ),
    (
        ".output",
        "[FILE]",
        "write results to FILE, or back to stdout",
    ),
    (".quit", "", "leave the shell"),
    (
        ".read",
        "FILE",
        "run the statements and dot commands of FILE",
    ),
    (".schema", "[TABLE]", "show table definitions"),
    (".tables", "", "list tables"),
    (
        ".timer",
        "on|off",
        "print each statement's run time on stderr",
    ),
];

/// Splits a dot command's arguments into words, honouring quotes.
pub fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for ch in line.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(ch);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

fn on_off(name: &str, args: &[String]) -> Result<bool, String> {
    match args {
        [v] if matches!(v.as_str(), "on" | "true" | "1" | "yes") => Ok(true),
        [v] if matches!(v.as_str(), "off" | "false" | "0" | "no") => Ok(false),
        _ => Err(format!("usage: {name} on|off")),
    }
}

/// Arguments of `.import`: those of `logdb import`, the database being the shell's.
#[derive(Parser, Debug)]
#[command(name = ".import", no_binary_name = true, disable_help_flag = true)]
struct DotImport {
    #[command(flatten)]
    args: import_cmd::ImportArgs,
}

/// The format a file name suggests, for `.import` without `--format`.
fn guess_format(file: &str) -> &'static str {
    let base = file
        .trim_end_matches(".gz")
        .trim_end_matches(".zst")
        .to_ascii_lowercase();
    if base.ends_with(".jsonl") || base.ends_with(".ndjson") || base.ends_with(".json") {
        "jsonl"
    } else if base.ends_with(".csv") {
        "csv"
    } else if base.ends_with(".tsv") {
        "tsv"
    } else {
        "auto"
    }
}

impl Shell {
    /// Runs one dot command line.
    pub(super) fn dot(&mut self, line: &str) -> Step {
        let words = match words(line) {
            Ok(w) => w,
            Err(e) => return self.error(&format!("{line}: {e}"), None),
        };
        let Some((name, args)) = words.split_first() else {
            return Step::Ok;
        };
        let result = match name.as_str() {
            ".quit" | ".exit" | ".q" => return Step::Quit,
            ".help" => self.write_out(&help()),
            ".tables" => self.tables(args),
            ".schema" => self.schema(args),
            ".mode" => match args {
                [] => self.write_out(&format!("{}\n", self.mode.name())),
                [m] => Mode::parse(m).map(|m| self.mode = m),
                _ => Err("usage: .mode MODE".into()),
            },
            ".timer" => on_off(name, args).map(|v| self.timer = v),
            ".bail" => on_off(name, args).map(|v| self.bail = v),
            ".maxrows" => match args {
                [n] => n
                    .parse::<usize>()
                    .map(|n| self.max_rows = Some((n > 0).then_some(n)))
                    .map_err(|_| format!("'{n}' is not a row count")),
                _ => Err("usage: .maxrows N".into()),
            },
            ".output" => match args {
                [] => {
                    let _ = self.out.writer.flush();
                    self.out = Sink::stdout();
                    Ok(())
                }
                [f] => Sink::file(Path::new(f))
                    .map(|s| {
                        let _ = self.out.writer.flush();
                        self.out = s;
                    })
                    .map_err(|e| format!("{e:#}")),
                _ => Err("usage: .output [FILE]".into()),
            },
            ".once" => match args {
                [f] => Sink::file(Path::new(f))
                    .map(|s| self.once = Some(s))
                    .map_err(|e| format!("{e:#}")),
                _ => Err("usage: .once FILE".into()),
            },
            ".read" => match args {
                [f] => return self.run_file(Path::new(f)),
                _ => Err("usage: .read FILE".into()),
            },
            ".open" => self.open(args),
            ".import" => self.import(args),
            ".chart" => match self.last.take() {
                Some(last) => {
                    let step = self.show(&last, Mode::Bar);
                    self.last = Some(last);
                    return step;
                }
                None => Err("no result to chart yet: run a query first".into()),
            },
            other => {
                let known: Vec<&str> = COMMANDS.iter().map(|c| c.0).collect();
                Err(format!(
                    "unknown command {other}; known commands: {}",
                    known.join(", ")
                ))
            }
        };
        match result {
            Ok(()) => Step::Ok,
            Err(e) => self.error(&e, None),
        }
    }

    /// Writes text to the current output (dot command answers are results too).
    fn write_out(&mut self, text: &str) -> Result<(), String> {
        let w: &mut dyn Write = match &mut self.once {
            Some(s) => &mut s.writer,
            None => &mut self.out.writer,
        };
        let r = w.write_all(text.as_bytes()).and_then(|()| w.flush());
        self.once = None;
        r.map_err(|e| format!("cannot write output: {e}"))
    }

    fn table_names(&self) -> Result<Vec<String>, String> {
        self.session.db().table_names().map_err(|e| e.to_string())
    }

    fn tables(&mut self, args: &[String]) -> Result<(), String> {
        if !args.is_empty() {
            return Err("usage: .tables".into());
        }
        let mut text = String::new();
        for t in self.table_names()? {
            text.push_str(&t);
            text.push('\n');
        }
        self.write_out(&text)
    }

    fn schema(&mut self, args: &[String]) -> Result<(), String> {
        let names = self.table_names()?;
        let wanted: Vec<String> = match args {
            [] => names.clone(),
            [t] => match names.iter().find(|n| n.eq_ignore_ascii_case(t)) {
                Some(n) => vec![n.clone()],
                None => {
                    return Err(format!(
                        "unknown table '{t}'; known tables: {}",
                        if names.is_empty() {
                            "(none)".to_string()
                        } else {
                            names.join(", ")
                        }
                    ))
                }
            },
            _ => return Err("usage: .schema [TABLE]".into()),
        };
        let snapshot = self.session.db().snapshot().map_err(|e| e.to_string())?;
        let mut text = String::new();
        for name in wanted {
            let entry = snapshot.table(&name).map_err(|e| e.to_string())?;
            let schema = &entry.schema;
            text.push_str(&format!("CREATE TABLE {name} (\n"));
            for (i, f) in schema.fields.iter().enumerate() {
                text.push_str(&format!(
                    "    {} {}{}{}\n",
                    f.name,
                    f.data_type,
                    if f.nullable { "" } else { " NOT NULL" },
                    if i + 1 < schema.fields.len() { "," } else { "" }
                ));
            }
            text.push_str(");");
            let mut notes = Vec::new();
            if let Some(tc) = &schema.time_column {
                notes.push(format!("time column: {tc}"));
            }
            if !schema.indexed.is_empty() {
                notes.push(format!("indexed: {}", schema.indexed.join(", ")));
            }
            if !notes.is_empty() {
                text.push_str(&format!(" -- {}", notes.join("; ")));
            }
            text.push('\n');
        }
        self.write_out(&text)
    }

    fn open(&mut self, args: &[String]) -> Result<(), String> {
        let (read_only, rest) = match args.split_first() {
            Some((f, rest)) if f == "--read-only" => (true, rest),
            _ => (false, args),
        };
        let path = match rest {
            [] => None,
            [p] => Some(Path::new(p)),
            _ => return Err("usage: .open [--read-only] [DB]".into()),
        };
        let db = open_db(path, read_only).map_err(|e| format!("{e:#}"))?;
        // Session settings (threads, memory limit, ...) carry over.
        let options = self.session.options().clone();
        self.session = logdb::sql::Session::new(db);
        *self.session.options_mut() = options;
        self.read_only = self.session.db().options().read_only;
        self.db_label = super::label(path);
        self.last = None;
        Ok(())
    }

    /// `.import`: the same pipeline and summary as `logdb import`, into the shell's
    /// database. The summary goes to stderr (it is a report, not a result).
    fn import(&mut self, args: &[String]) -> Result<(), String> {
        if args.is_empty() {
            return Err("usage: .import FILE... [--format F] [--table T]".into());
        }
        let mut argv: Vec<String> = vec![self.db_label.clone()];
        argv.extend(args.iter().cloned());
        let has_format = args
            .iter()
            .any(|a| a == "-f" || a.starts_with("--format") || a.starts_with("-f"));
        if !has_format {
            let first = args.iter().find(|a| !a.starts_with('-')).map_or("", |s| s);
            argv.push("--format".into());
            argv.push(guess_format(first).into());
        }
        let parsed = DotImport::try_parse_from(&argv).map_err(|e| {
            e.to_string()
                .lines()
                .next()
                .unwrap_or("bad arguments")
                .trim_start_matches("error: ")
                .to_string()
        })?;
        if parsed.args.follow.is_some() {
            return Err(".import cannot --follow; use `logdb import DB --follow FILE`".into());
        }
        if parsed.args.segment_rows.is_some() {
            return Err(
                "--segment-rows is fixed when the database is opened; use `logdb import`".into(),
            );
        }
        if parsed.args.inputs.iter().any(|i| i == "-") {
            return Err(".import cannot read stdin; name a file".into());
        }
        let mut err = std::io::stderr().lock();
        let complete = import_cmd::run_on(self.session.db(), &parsed.args, &mut err)
            .map_err(|e| format!("{e:#}"))?;
        if complete {
            Ok(())
        } else {
            Err("the import did not read every file to its end (see above)".into())
        }
    }
}

fn help() -> String {
    let mut s = String::from(
        "Statements end with ';'. Append FORMAT MODE to a statement for one result in MODE.\n",
    );
    let w = COMMANDS
        .iter()
        .map(|(n, a, _)| n.len() + a.len() + 1)
        .max()
        .unwrap_or(0);
    for (name, args, what) in COMMANDS {
        let usage = format!("{name} {args}");
        s.push_str(&format!("{usage:<w$}  {what}\n"));
    }
    s.push_str(&format!(
        "Modes: {}\n",
        render::MODES
            .iter()
            .map(|(n, _)| n[0])
            .collect::<Vec<_>>()
            .join(", ")
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_honour_quotes() {
        assert_eq!(
            words(r#".import "my logs/a.log" --table 't 1'"#).unwrap(),
            vec![".import", "my logs/a.log", "--table", "t 1"]
        );
        assert!(words(".read 'x").is_err());
        assert_eq!(words("  ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn formats_are_guessed_from_names() {
        assert_eq!(guess_format("a.log.gz"), "auto");
        assert_eq!(guess_format("b.JSONL.zst"), "jsonl");
        assert_eq!(guess_format("c.csv"), "csv");
    }
}
