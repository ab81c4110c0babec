//! Binding of the string functions of `exec/strings.rs`: `instr` (`strpos`,
//! `position`), `concat_ws`, `translate`, `lpad`/`rpad` and the edit distances
//! and similarities, and the basic ones of `exec/text.rs` (`replace`, `repeat`,
//! `left`, ...).

use sqlparser::ast;
use sqlparser::tokenizer::Span;

use super::Binder;
use crate::error::Result;
use crate::plan::{Expr, ScalarFunc, TextFunc};
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
            "jaro_similarity" => (ScalarFunc::Jaro, 2, DataType::Double),
            "jaro_winkler_similarity" => (ScalarFunc::JaroWinkler, 2, DataType::Double),
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
            "repeat" => (TextFunc::Repeat, "sn", DataType::Varchar),
            "left" => (TextFunc::Left, "sn", DataType::Varchar),
            "right" => (TextFunc::Right, "sn", DataType::Varchar),
            "ascii" => (TextFunc::Ascii, "s", DataType::Integer),
            "chr" => (TextFunc::Chr, "n", DataType::Varchar),
            "strlen" => (TextFunc::Strlen, "s", DataType::BigInt),
            "bit_length" => (TextFunc::BitLength, "s", DataType::BigInt),
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
            .map(|(k, kind)| {
                if kind == b's' {
                    self.varchar_arg(name, args, k)
                } else {
                    self.int_arg(name, args, k)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Expr::Func {
            func: ScalarFunc::Text(func),
            args: a,
            data_type,
        }))
    }
}
