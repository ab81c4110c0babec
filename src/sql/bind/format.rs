//! Binding of `format(fmt, args...)` and `printf(fmt, args...)`
//! (`exec/format.rs`): integers, DOUBLEs, booleans and text pass as they are,
//! every other type as its text (as DuckDB passes dates and timestamps); a
//! constant format string is parsed and checked against the arguments' types
//! here, so its mistakes point at the call.

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::{is_null_literal, Binder};
use crate::column::Value;
use crate::error::Result;
use crate::exec::format::{passes_as_is, sample_arg, Style, Template};
use crate::plan::{Expr, ScalarFunc};
use crate::schema::DataType;

impl Binder<'_> {
    /// `format(...)` or `printf(...)` (`printf` true).
    pub(super) fn bind_format(
        &mut self,
        printf: bool,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Expr> {
        let (name, style) = if printf {
            ("printf", Style::Printf)
        } else {
            ("format", Style::Fmt)
        };
        if args.is_empty() {
            return Err(self.err(span, format!("{name} takes at least 1 argument, 0 given")));
        }
        let mut bound = vec![self.varchar_arg(name, args, 0)?];
        for a in &args[1..] {
            let e = self.bind_expr(a)?;
            let e = if is_null_literal(&e) || passes_as_is(e.data_type()) {
                e
            } else if e.data_type().decimal().is_some() {
                // DuckDB formats a DECIMAL as the DOUBLE nearest to it.
                self.cast(e, DataType::Double, a.span())?
            } else {
                self.cast(e, DataType::Varchar, a.span())?
            };
            bound.push(e);
        }
        if let Expr::Literal {
            value: Value::Str(text),
            ..
        } = &bound[0]
        {
            let template = Template::parse(style, text)
                .map_err(|m| self.err(args[0].span(), format!("{name}: {m}")))?;
            let kinds: Vec<_> = bound[1..]
                .iter()
                .map(|e| {
                    if is_null_literal(e) {
                        None
                    } else {
                        sample_arg(e.data_type())
                    }
                })
                .collect();
            template
                .check(&kinds)
                .map_err(|m| self.err(span, format!("{name}: {m}")))?;
        }
        Ok(Expr::Func {
            func: ScalarFunc::Format { printf },
            args: bound,
            data_type: DataType::Varchar,
        })
    }
}
