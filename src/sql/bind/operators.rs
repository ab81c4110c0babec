//! Binding of operator spellings borrowed from DuckDB and PostgreSQL: regular
//! expression matches (`~`, `!~`, `~*`, `!~*`, `SIMILAR TO`), CIDR containment on
//! IP values (`<<=`, `>>=`), JSON access (`->`, `->>`), intervals with a
//! computed count (`INTERVAL (expr) MINUTE`) and `IS [NOT] DISTINCT FROM`.

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::{is_int, is_null_literal, parse_interval, Binder};
use crate::column::Value;
use crate::error::Result;
use crate::plan::{BinaryOp, Expr, JsonStep, Pattern, ScalarFunc};
use crate::schema::DataType;

impl Binder<'_> {
    /// `a IS [NOT] DISTINCT FROM b`: a comparison in which NULL equals NULL and
    /// differs from every value; never NULL. Bound as
    /// `CASE WHEN a IS NULL THEN b IS [NOT] NULL WHEN b IS NULL THEN d ELSE a <op> b END`.
    pub(super) fn bind_distinct_from(
        &mut self,
        left: &ast::Expr,
        right: &ast::Expr,
        distinct: bool,
    ) -> Result<Expr> {
        let l = self.bind_expr(left)?;
        let r = self.bind_expr(right)?;
        let (l, r) = self.coerce_compare(l, r, left.span(), right.span())?;
        let is_null = |e: &Expr, negated: bool| Expr::IsNull {
            expr: Box::new(e.clone()),
            negated,
        };
        let op = if distinct {
            BinaryOp::NotEq
        } else {
            BinaryOp::Eq
        };
        Ok(Expr::Case {
            whens: vec![
                (is_null(&l, false), is_null(&r, distinct)),
                (
                    is_null(&r, false),
                    Expr::literal(Value::Bool(distinct), DataType::Boolean),
                ),
            ],
            else_expr: Some(Box::new(Expr::Binary {
                op,
                left: Box::new(l),
                right: Box::new(r),
                data_type: DataType::Boolean,
            })),
            data_type: DataType::Boolean,
        })
    }

    /// `s ~ 'pattern'` (DuckDB: the pattern matches anywhere, as
    /// `regexp_matches`), `~*` case-insensitive, `!~` / `!~*` negated; and
    /// `s SIMILAR TO 'pattern'` (`full`: the whole string must match).
    pub(super) fn bind_regex_match(
        &mut self,
        left: &ast::Expr,
        right: &ast::Expr,
        case_insensitive: bool,
        negated: bool,
        full: bool,
    ) -> Result<Expr> {
        let s = self.bind_expr(left)?;
        let s = if is_null_literal(&s) {
            Expr::literal(Value::Null, DataType::Varchar)
        } else if s.data_type() == DataType::Varchar {
            s
        } else {
            return Err(self.err(
                left.span(),
                format!(
                    "a regular expression match needs a VARCHAR, not {}",
                    s.data_type()
                ),
            ));
        };
        let Some(pat) = self.pattern_literal(right, "regular expression patterns")? else {
            return Ok(Expr::literal(Value::Null, DataType::Boolean));
        };
        let text = if full {
            format!("^(?:{pat})$")
        } else {
            pat.to_string()
        };
        let re = regex::RegexBuilder::new(&text)
            .case_insensitive(case_insensitive)
            .build()
            .map_err(|e| self.err(right.span(), format!("invalid regular expression: {e}")))?;
        let m = Expr::Func {
            func: ScalarFunc::RegexpMatches(Pattern(std::sync::Arc::new(re))),
            args: vec![s],
            data_type: DataType::Boolean,
        };
        Ok(if negated { Expr::Not(Box::new(m)) } else { m })
    }

    /// `s GLOB pattern` (`NOT GLOB` is a NOT around it, from the dialect): two
    /// VARCHARs, as DuckDB's `~~~`; the pattern may be any expression.
    pub(super) fn bind_glob(&mut self, left: &ast::Expr, right: &ast::Expr) -> Result<Expr> {
        let mut args = Vec::with_capacity(2);
        for e in [left, right] {
            let x = self.bind_expr(e)?;
            args.push(if is_null_literal(&x) {
                Expr::literal(Value::Null, DataType::Varchar)
            } else if x.data_type() == DataType::Varchar {
                x
            } else {
                return Err(self.err(
                    e.span(),
                    format!("GLOB needs VARCHAR operands, not {}", x.data_type()),
                ));
            });
        }
        Ok(Expr::Func {
            func: ScalarFunc::Glob,
            args,
            data_type: DataType::Boolean,
        })
    }

    /// `ip <<= 'net/bits'` (the address lies in the network) and its mirror
    /// `'net/bits' >>= ip` (PostgreSQL's inet operators), bound as the range
    /// `ip BETWEEN first AND last` of the network, so zone maps prune by it.
    pub(super) fn bind_cidr_contains(
        &mut self,
        left: &ast::Expr,
        op: &str,
        right: &ast::Expr,
        span: Span,
    ) -> Result<Expr> {
        let (ip_ast, net_ast) = if op == "<<=" {
            (left, right)
        } else {
            (right, left)
        };
        let ip = self.bind_expr(ip_ast)?;
        let ip = if is_null_literal(&ip) {
            Expr::literal(Value::Null, DataType::Ip)
        } else if ip.data_type() == DataType::Ip {
            ip
        } else {
            return Err(self.err(
                ip_ast.span(),
                format!(
                    "{op} needs an IP on its {} side, not {}",
                    if op == "<<=" { "left" } else { "right" },
                    ip.data_type()
                ),
            ));
        };
        let text = match self.bind_expr(net_ast)? {
            Expr::Literal {
                value: Value::Str(s),
                ..
            } => s,
            Expr::Literal {
                value: Value::Null, ..
            } => return Ok(Expr::literal(Value::Null, DataType::Boolean)),
            _ => {
                return Err(self.unsupported(
                    span,
                    format!("{op} with a network other than a string literal 'net/bits'"),
                ))
            }
        };
        let (net, mask) = crate::ip::parse_cidr(&text).map_err(|m| self.err(net_ast.span(), m))?;
        let bound = |op: BinaryOp, v: u128| Expr::Binary {
            op,
            left: Box::new(ip.clone()),
            right: Box::new(Expr::literal(Value::Ip(v), DataType::Ip)),
            data_type: DataType::Boolean,
        };
        Ok(Expr::Binary {
            op: BinaryOp::And,
            left: Box::new(bound(BinaryOp::GtEq, net)),
            right: Box::new(bound(BinaryOp::LtEq, net | !mask)),
            data_type: DataType::Boolean,
        })
    }

    /// `json_extract(doc, path)` (`as_string` false: the element as JSON text) or
    /// `json_extract_string` / `->>` (true). The path is a string literal (a
    /// DuckDB JSON path, or one key) or an integer literal (an array index).
    pub(super) fn bind_json_extract(
        &mut self,
        name: &str,
        doc: &ast::Expr,
        path: &ast::Expr,
        as_string: bool,
    ) -> Result<Expr> {
        let d = self.bind_expr(doc)?;
        if !is_null_literal(&d) && d.data_type() != DataType::Varchar {
            return Err(self.err(
                doc.span(),
                format!("{name} needs VARCHAR JSON text, not {}", d.data_type()),
            ));
        }
        let steps = match self.bind_expr(path)? {
            Expr::Literal {
                value: Value::Str(p),
                ..
            } => crate::exec::json_path::parse_path(&p)
                .map_err(|m| self.unsupported(path.span(), m))?,
            Expr::Literal {
                value: Value::Int(i),
                data_type,
            } if i >= 0 && data_type.is_integer() => vec![JsonStep::Index(i as u64)],
            Expr::Literal {
                value: Value::Null, ..
            } => return Ok(Expr::literal(Value::Null, DataType::Varchar)),
            _ => {
                return Err(self.unsupported(
                    path.span(),
                    format!(
                        "{name} with a path other than a string or non-negative integer literal"
                    ),
                ))
            }
        };
        if is_null_literal(&d) {
            return Ok(Expr::literal(Value::Null, DataType::Varchar));
        }
        Ok(Expr::Func {
            func: ScalarFunc::JsonExtract(steps.into(), as_string),
            args: vec![d],
            data_type: DataType::Varchar,
        })
    }

    /// An INTERVAL as micros: a literal (`INTERVAL 5 MINUTE`, `INTERVAL '5
    /// minutes'`) folds to a BIGINT literal; `INTERVAL (expr) unit` with an
    /// integer expression becomes `expr * micros-per-unit` (BIGINT, overflow
    /// checked).
    pub(super) fn interval_expr(&mut self, iv: &ast::Interval, span: Span) -> Result<Expr> {
        let computed = !matches!(iv.value.as_ref(), ast::Expr::Value(_));
        if !computed {
            let micros = self.interval_micros(iv, span)?;
            return Ok(Expr::literal(Value::Int(micros), DataType::BigInt));
        }
        let Some(unit) = &iv.leading_field else {
            return Err(self.unsupported(span, "INTERVAL (expr) without a unit"));
        };
        if iv.last_field.is_some() || iv.fractional_seconds_precision.is_some() {
            return Err(self.unsupported(span, "INTERVAL ranges"));
        }
        let per = parse_interval(&format!("1 {unit}")).map_err(|m| self.err(span, m))?;
        let n = self.bind_expr(&iv.value)?;
        if is_null_literal(&n) {
            return Ok(Expr::literal(Value::Null, DataType::BigInt));
        }
        if !is_int(n.data_type()) {
            return Err(self.err(
                iv.value.span(),
                format!(
                    "INTERVAL (expr) needs an integer count, not {}",
                    n.data_type()
                ),
            ));
        }
        let n = self.coerce_to(n, DataType::BigInt, iv.value.span())?;
        Ok(Expr::Binary {
            op: BinaryOp::Mul,
            left: Box::new(n),
            right: Box::new(Expr::literal(Value::Int(per), DataType::BigInt)),
            data_type: DataType::BigInt,
        })
    }
}
