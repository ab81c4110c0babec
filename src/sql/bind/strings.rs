//! Binding of the string functions of `exec/strings.rs`: `instr` (`strpos`,
//! `position`), `concat_ws`, `translate`, `lpad`/`rpad` and the edit distances
//! and similarities, and the basic ones of `exec/text.rs` (`replace`, `repeat`,
//! `left`, ...).

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::Binder;
use crate::column::Value;
use crate::error::Result;
use crate::plan::{Expr, PathSep, ScalarFunc, TextFunc};
use crate::schema::DataType;

impl Binder<'_> {
    /// Binds `name` when it is one of this file's functions; `None` otherwise.
    pub(super) fn bind_string_function(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Option<Expr>> {
        let (func, arity, data_type) = match name {
            "instr" | "strpos" | "position" => (ScalarFunc::Instr, 2, DataType::BigInt),
            "translate" => (ScalarFunc::Translate, 3, DataType::Varchar),
            "levenshtein" | "editdist3" => (ScalarFunc::Levenshtein, 2, DataType::BigInt),
            "damerau_levenshtein" => (ScalarFunc::DamerauLevenshtein, 2, DataType::BigInt),
            "jaro_similarity" | "jaro_winkler_similarity" if args.len() == 3 => {
                // With a score cutoff: 0 below it (DuckDB).
                let func = if name == "jaro_similarity" {
                    ScalarFunc::Jaro
                } else {
                    ScalarFunc::JaroWinkler
                };
                let mut a = vec![
                    self.varchar_arg(name, args, 0)?,
                    self.varchar_arg(name, args, 1)?,
                ];
                let cutoff = self.bind_expr(args[2])?;
                a.push(self.double_arg(cutoff, name, args[2].span())?);
                return Ok(Some(Expr::Func {
                    func,
                    args: a,
                    data_type: DataType::Double,
                }));
            }
            "jaro_similarity" => (ScalarFunc::Jaro, 2, DataType::Double),
            "jaro_winkler_similarity" => (ScalarFunc::JaroWinkler, 2, DataType::Double),
            "jaccard" => (ScalarFunc::Jaccard, 2, DataType::Double),
            "hamming" | "mismatches" => (ScalarFunc::Hamming, 2, DataType::BigInt),
            "lpad" | "rpad" => {
                if args.len() != 3 {
                    return Err(self.err(
                        span,
                        format!("{name} takes 3 argument(s), got {}", args.len()),
                    ));
                }
                let a = vec![
                    self.varchar_arg(name, args, 0)?,
                    self.int_arg(name, args, 1)?,
                    self.varchar_arg(name, args, 2)?,
                ];
                return Ok(Some(Expr::Func {
                    func: ScalarFunc::Pad {
                        left: name == "lpad",
                    },
                    args: a,
                    data_type: DataType::Varchar,
                }));
            }
            "concat_ws" => {
                if args.len() < 2 {
                    return Err(self.err(
                        span,
                        format!("concat_ws takes at least 2 argument(s), got {}", args.len()),
                    ));
                }
                let mut a = vec![self.varchar_arg(name, args, 0)?];
                for e in &args[1..] {
                    a.push(self.as_text(e)?);
                }
                return Ok(Some(Expr::Func {
                    func: ScalarFunc::ConcatWs,
                    args: a,
                    data_type: DataType::Varchar,
                }));
            }
            _ => return self.bind_text_function(name, args, span),
        };
        if args.len() != arity {
            // DuckDB's similarities take an optional score cutoff; not here.
            return Err(self.err(
                span,
                format!("{name} takes {arity} argument(s), got {}", args.len()),
            ));
        }
        let a = (0..arity)
            .map(|k| self.varchar_arg(name, args, k))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Expr::Func {
            func,
            args: a,
            data_type,
        }))
    }

    /// Binds `name` when it is one of `exec/text.rs`'s functions; `None` otherwise.
    fn bind_text_function(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Option<Expr>> {
        // Argument kinds: 's' VARCHAR, 'n' integer.
        let (func, kinds, data_type) = match name {
            "replace" => (TextFunc::Replace, "sss", DataType::Varchar),
            "reverse" => (TextFunc::Reverse, "s", DataType::Varchar),
            "md5" => (TextFunc::Md5, "s", DataType::Varchar),
            "sha1" => (TextFunc::Sha1, "s", DataType::Varchar),
            "sha256" => (TextFunc::Sha256, "s", DataType::Varchar),
            "repeat" => (TextFunc::Repeat, "sn", DataType::Varchar),
            "left" => (TextFunc::Left, "sn", DataType::Varchar),
            "right" => (TextFunc::Right, "sn", DataType::Varchar),
            "ascii" => (TextFunc::Ascii, "s", DataType::Integer),
            "chr" => (TextFunc::Chr, "n", DataType::Varchar),
            "strlen" => (TextFunc::Strlen, "s", DataType::BigInt),
            "bit_length" => (TextFunc::BitLength, "s", DataType::BigInt),
            "unicode" | "ord" => (TextFunc::Unicode, "s", DataType::Integer),
            "regexp_escape" => (TextFunc::RegexpEscape, "s", DataType::Varchar),
            "url_encode" => (TextFunc::UrlEncode, "s", DataType::Varchar),
            "url_decode" => (TextFunc::UrlDecode, "s", DataType::Varchar),
            "length_grapheme" => (TextFunc::LengthGrapheme, "s", DataType::BigInt),
            "left_grapheme" => (TextFunc::LeftGrapheme, "sn", DataType::Varchar),
            "right_grapheme" => (TextFunc::RightGrapheme, "sn", DataType::Varchar),
            "substring_grapheme" => (
                TextFunc::SubstringGrapheme,
                if args.len() == 3 { "snn" } else { "sn" },
                DataType::Varchar,
            ),
            "parse_formatted_bytes" => (TextFunc::ParseFormattedBytes, "s", DataType::BigInt),
            "to_base" => (
                TextFunc::ToBase,
                if args.len() == 3 { "nnn" } else { "nn" },
                DataType::Varchar,
            ),
            "bar" => (
                TextFunc::Bar,
                if args.len() == 4 { "ffff" } else { "fff" },
                DataType::Varchar,
            ),
            "array_slice" | "list_slice" if self.is_varchar_arg(args.first())? => {
                (TextFunc::Slice, "snn", DataType::Varchar)
            }
            "array_extract" | "list_extract" if self.is_varchar_arg(args.first())? => {
                (TextFunc::Extract, "sn", DataType::Varchar)
            }
            "parse_filename" | "parse_dirname" | "parse_dirpath" => {
                return self.bind_path_function(name, args, span).map(Some)
            }
            "trim" | "ltrim" | "rtrim" => {
                let f = TextFunc::Trim {
                    leading: name != "rtrim",
                    trailing: name != "ltrim",
                };
                (
                    f,
                    if args.len() == 2 { "ss" } else { "s" },
                    DataType::Varchar,
                )
            }
            _ => return Ok(None),
        };
        if args.len() != kinds.len() {
            return Err(self.err(
                span,
                format!(
                    "{name} takes {} argument(s), got {}",
                    kinds.len(),
                    args.len()
                ),
            ));
        }
        let a = kinds
            .bytes()
            .enumerate()
            .map(|(k, kind)| match kind {
                b's' => self.varchar_arg(name, args, k),
                b'f' => {
                    let x = self.bind_expr(args[k])?;
                    self.double_arg(x, name, args[k].span())
                }
                _ => self.int_arg(name, args, k),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Expr::Func {
            func: ScalarFunc::Text(func),
            args: a,
            data_type,
        }))
    }

    /// Whether the first argument is a string (or NULL): `array_slice` and
    /// `array_extract` of a string are string functions; of a list they need
    /// LIST values.
    fn is_varchar_arg(&mut self, first: Option<&&ast::Expr>) -> Result<bool> {
        let Some(e) = first else {
            return Ok(false);
        };
        let t = self.bind_expr(e)?.data_type();
        Ok(t == DataType::Varchar)
    }

    /// `parse_filename(path [, trim_extension [, separator]])`, `parse_dirname(path
    /// [, separator])`, `parse_dirpath(path [, separator])`; the options are
    /// constants.
    fn bind_path_function(&mut self, name: &str, args: &[&ast::Expr], span: Span) -> Result<Expr> {
        let is_file = name == "parse_filename";
        let max = if is_file { 3 } else { 2 };
        if args.is_empty() || args.len() > max {
            return Err(self.err(
                span,
                format!("{name} takes 1 to {max} argument(s), got {}", args.len()),
            ));
        }
        let path = self.varchar_arg(name, args, 0)?;
        let mut trim_extension = false;
        let mut sep_arg = args.get(1);
        // parse_filename(path, sep) when the second argument is text, else
        // parse_filename(path, trim_extension [, sep]).
        let second = match args.get(1) {
            Some(e) if is_file => Some(self.bind_expr(e)?),
            _ => None,
        };
        let text_second = matches!(
            &second,
            Some(Expr::Literal {
                value: Value::Str(_),
                ..
            })
        );
        if let Some(b) = second.filter(|_| args.len() == 3 || !text_second) {
            trim_extension = match b {
                Expr::Literal {
                    value: Value::Bool(b),
                    ..
                } => b,
                Expr::Literal {
                    value: Value::Str(t),
                    ..
                } if matches!(t.to_ascii_lowercase().as_str(), "true" | "false") => {
                    t.eq_ignore_ascii_case("true")
                }
                _ => {
                    return Err(self.unsupported(
                        args[1].span(),
                        "trim_extension of parse_filename other than TRUE or FALSE",
                    ))
                }
            };
            sep_arg = args.get(2);
        }
        let sep = match sep_arg {
            None => PathSep::Both,
            Some(e) => {
                let text = self.string_arg(e, "the separator")?;
                PathSep::of_name(&text).ok_or_else(|| {
                    self.err(
                        e.span(),
                        format!(
                            "{name}: separator must be 'system', 'both_slash', \
                             'forward_slash' or 'backslash', not '{text}'"
                        ),
                    )
                })?
            }
        };
        let func = match name {
            "parse_filename" => TextFunc::ParseFilename {
                trim_extension,
                sep,
            },
            "parse_dirname" => TextFunc::ParseDirname { sep },
            _ => TextFunc::ParseDirpath { sep },
        };
        Ok(Expr::Func {
            func: ScalarFunc::Text(func),
            args: vec![path],
            data_type: DataType::Varchar,
        })
    }
}
