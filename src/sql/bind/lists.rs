//! Binding of LIST values: `[a, b]` and `ARRAY[a, b]` literals, `l[i]` and
//! `l[a:b]` subscripts, and the list functions (`len`, `list_contains`,
//! `list_sort`, `regexp_extract_all`, `string_split`, ...). A call whose
//! arguments are all literals is computed here, once.

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::{common_type, is_null_literal, is_number, Binder};
use crate::column::Value;
use crate::error::Result;
use crate::plan::{Expr, ListAggregate, ListFunc, Pattern, ScalarFunc};
use crate::schema::DataType;

impl Binder<'_> {
    /// `[a, ...]` / `ARRAY[a, ...]`: the elements brought to one type (an empty
    /// list or one of NULLs is INTEGER[]).
    pub(super) fn bind_list_literal(&mut self, elems: &[ast::Expr], span: Span) -> Result<Expr> {
        let items = elems
            .iter()
            .map(|e| self.bind_expr(e))
            .collect::<Result<Vec<_>>>()?;
        let spans: Vec<Span> = elems.iter().map(Spanned::span).collect();
        self.list_value(items, &spans, span)
    }

    fn list_value(&mut self, items: Vec<Expr>, spans: &[Span], span: Span) -> Result<Expr> {
        let mut elem: Option<DataType> = None;
        for (e, s) in items.iter().zip(spans) {
            if is_null_literal(e) {
                continue;
            }
            let t = e.data_type();
            elem = Some(match elem {
                None => t,
                Some(u) => match common_type(u, t) {
                    Some(c) => c,
                    None if u == DataType::Varchar || t == DataType::Varchar => {
                        // DuckDB converts the other elements to the first's type.
                        u
                    }
                    None => {
                        return Err(self.err(
                            *s,
                            format!("list elements of types {u} and {t} have no common type"),
                        ))
                    }
                },
            });
        }
        let elem = elem.unwrap_or(DataType::Integer);
        let items = items
            .into_iter()
            .zip(spans)
            .map(|(e, s)| self.list_elem(e, elem, *s))
            .collect::<Result<Vec<_>>>()?;
        self.list_call(ListFunc::Value, items, DataType::list_of(elem), span)
    }

    /// `e` as an element of a list of `elem`.
    fn list_elem(&self, e: Expr, elem: DataType, span: Span) -> Result<Expr> {
        if e.data_type() == elem {
            return Ok(e);
        }
        if is_null_literal(&e) {
            return Ok(Expr::literal(Value::Null, elem));
        }
        match self.coerce_to(e.clone(), elem, span) {
            Ok(x) => Ok(x),
            Err(_) => self.cast(e, elem, span),
        }
    }

    /// A list function call, computed now when every argument is a literal.
    fn list_call(
        &self,
        func: ListFunc,
        args: Vec<Expr>,
        data_type: DataType,
        span: Span,
    ) -> Result<Expr> {
        let literals: Option<Vec<Value>> = args
            .iter()
            .map(|a| match a {
                Expr::Literal { value, .. } => Some(value.clone()),
                _ => None,
            })
            .collect();
        if let Some(values) = literals {
            let v = crate::exec::list::apply(&func, &values, data_type)
                .map_err(|e| self.err(span, e.to_string()))?;
            return Ok(Expr::literal(v, data_type));
        }
        Ok(Expr::Func {
            func: ScalarFunc::List(func),
            args,
            data_type,
        })
    }

    /// `root[i]`, `root[a:b]`, chained; `None` when the root is not a list (a
    /// string's subscripts are string functions).
    pub(super) fn bind_subscripts(
        &mut self,
        root: &ast::Expr,
        chain: &[ast::AccessExpr],
        span: Span,
    ) -> Result<Expr> {
        let mut x = self.bind_expr(root)?;
        for access in chain {
            let ast::AccessExpr::Subscript(sub) = access else {
                return Err(self.unsupported(span, "field access (there is no STRUCT type)"));
            };
            let t = x.data_type();
            let Some(elem) = t.list_elem() else {
                return self.string_subscript(root, chain, span, t);
            };
            x = match sub {
                ast::Subscript::Index { index } => {
                    let i = self.position_arg(index)?;
                    self.list_call(ListFunc::Extract, vec![x, i], elem, span)?
                }
                ast::Subscript::Slice {
                    lower_bound,
                    upper_bound,
                    stride: None,
                } => {
                    let bound = |b: &mut Self, e: &Option<ast::Expr>| match e {
                        Some(e) => b.position_arg(e),
                        None => Ok(Expr::literal(Value::Null, DataType::BigInt)),
                    };
                    let lo = bound(self, lower_bound)?;
                    let hi = bound(self, upper_bound)?;
                    self.list_call(ListFunc::Slice, vec![x, lo, hi], t, span)?
                }
                ast::Subscript::Slice { .. } => {
                    return Err(self.unsupported(span, "list slices with a step"))
                }
            };
        }
        Ok(x)
    }

    /// `s[i]` and `s[a:b]` of a string: DuckDB's `array_extract`/`array_slice`.
    fn string_subscript(
        &mut self,
        root: &ast::Expr,
        chain: &[ast::AccessExpr],
        span: Span,
        t: DataType,
    ) -> Result<Expr> {
        let sub = match chain {
            [ast::AccessExpr::Subscript(sub)] if t == DataType::Varchar => sub,
            _ => return Err(self.err(span, format!("cannot subscript a value of type {t}"))),
        };
        // An open bound: DuckDB's slice from the start or to the end.
        let start = ast::Expr::value(ast::Value::Number("0".into(), false));
        let end = ast::Expr::value(ast::Value::Number(i32::MAX.to_string(), false));
        let (name, args): (&str, Vec<&ast::Expr>) = match sub {
            ast::Subscript::Index { index } => ("array_extract", vec![root, index]),
            ast::Subscript::Slice {
                lower_bound,
                upper_bound,
                stride: None,
            } => (
                "array_slice",
                vec![
                    root,
                    lower_bound.as_ref().unwrap_or(&start),
                    upper_bound.as_ref().unwrap_or(&end),
                ],
            ),
            ast::Subscript::Slice { .. } => {
                return Err(self.unsupported(span, "string slices with a step"))
            }
        };
        self.bind_string_function(name, &args, span)?
            .ok_or_else(|| self.unsupported(span, name))
    }

    /// A position or bound: an integer (BIGINT).
    fn position_arg(&mut self, e: &ast::Expr) -> Result<Expr> {
        let x = self.bind_expr(e)?;
        if is_null_literal(&x) {
            return Ok(Expr::literal(Value::Null, DataType::BigInt));
        }
        if !super::is_int(x.data_type()) {
            return Err(self.err(
                e.span(),
                format!("a list position must be an integer, not {}", x.data_type()),
            ));
        }
        self.coerce_to(x, DataType::BigInt, e.span())
    }

    /// Binds `name` when it is a list function (or `len` of a list); `None`
    /// otherwise.
    pub(super) fn bind_list_function(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Option<Expr>> {
        let arity = |b: &Self, lo: usize, hi: usize| -> Result<()> {
            if (lo..=hi).contains(&args.len()) {
                return Ok(());
            }
            let want = if lo == hi {
                lo.to_string()
            } else {
                format!("{lo} to {hi}")
            };
            Err(b.err(
                span,
                format!("{name} takes {want} argument(s), got {}", args.len()),
            ))
        };
        match name {
            "list_value" | "list_pack" => {
                let items = args
                    .iter()
                    .map(|e| self.bind_expr(e))
                    .collect::<Result<Vec<_>>>()?;
                let spans: Vec<Span> = args.iter().map(|e| e.span()).collect();
                return self.list_value(items, &spans, span).map(Some);
            }
            "regexp_extract_all" => return self.bind_extract_all(args, span).map(Some),
            "concat" => {
                // concat() of lists is list_concat; of a list and a string, an error.
                let mut items = Vec::with_capacity(args.len());
                for a in args {
                    items.push(self.bind_expr(a)?);
                }
                let lists = items
                    .iter()
                    .filter(|e| e.data_type().list_elem().is_some())
                    .count();
                if lists == 0 {
                    return Ok(None);
                }
                if lists < items.iter().filter(|e| !is_null_literal(e)).count() {
                    return Err(self.err(span, "concat of a list and a value that is not a list"));
                }
                let mut acc = items.remove(0);
                for (e, a) in items.into_iter().zip(&args[1..]) {
                    let t = match (acc.data_type().list_elem(), e.data_type().list_elem()) {
                        (Some(x), Some(y)) => {
                            DataType::list_of(common_type(x, y).ok_or_else(|| {
                                self.err(
                                    a.span(),
                                    "concat of lists whose elements have no common type",
                                )
                            })?)
                        }
                        (Some(_), None) => acc.data_type(),
                        _ => e.data_type(),
                    };
                    let l = self.list_elem(acc, t, span)?;
                    let r = self.list_elem(e, t, a.span())?;
                    acc = self.list_call(ListFunc::Concat, vec![l, r], t, span)?;
                }
                return Ok(Some(acc));
            }
            "string_split" | "str_split" | "string_to_array" | "split" => {
                arity(self, 2, 2)?;
                let s = self.varchar_arg(name, args, 0)?;
                let sep = self.varchar_arg(name, args, 1)?;
                let t = DataType::list_of(DataType::Varchar);
                return self
                    .list_call(ListFunc::StringSplit, vec![s, sep], t, span)
                    .map(Some);
            }
            "string_split_regex" | "str_split_regex" | "regexp_split_to_array" => {
                arity(self, 2, 2)?;
                let s = self.varchar_arg(name, args, 0)?;
                let Some(p) = self.literal_text(name, args, 1)? else {
                    return Ok(Some(Expr::literal(
                        Value::Null,
                        DataType::list_of(DataType::Varchar),
                    )));
                };
                let t = DataType::list_of(DataType::Varchar);
                if p.is_empty() {
                    // As DuckDB: an empty pattern splits into characters.
                    let sep = Expr::literal(Value::Str("".into()), DataType::Varchar);
                    return self
                        .list_call(ListFunc::StringSplit, vec![s, sep], t, span)
                        .map(Some);
                }
                let p = self.regex(&p, "", args[1].span())?;
                return self
                    .list_call(ListFunc::RegexpSplit(p), vec![s], t, span)
                    .map(Some);
            }
            _ => {}
        }
        let func = match name {
            "len" | "length" | "array_length" => ListFunc::Length,
            "list_extract" | "list_element" | "array_extract" => ListFunc::Extract,
            "list_slice" | "array_slice" => ListFunc::Slice,
            "list_contains" | "list_has" | "array_contains" | "array_has" => ListFunc::Contains,
            "list_position" | "list_indexof" | "array_position" | "array_indexof" => {
                ListFunc::Position
            }
            "list_sort" | "array_sort" | "list_reverse_sort" | "array_reverse_sort" => {
                ListFunc::Sort {
                    descending: name.contains("reverse"),
                    nulls_first: false,
                }
            }
            "list_distinct" | "array_distinct" => ListFunc::Distinct,
            "list_unique" | "array_unique" => ListFunc::Unique,
            "list_concat" | "list_cat" | "array_concat" | "array_cat" => ListFunc::Concat,
            "list_reverse" | "array_reverse" => ListFunc::Reverse,
            "flatten" => ListFunc::Flatten,
            "list_aggregate" | "array_aggregate" | "list_aggr" | "array_aggr" => {
                ListFunc::Aggregate(ListAggregate::Sum)
            }
            _ => match name
                .strip_prefix("list_")
                .or_else(|| name.strip_prefix("array_"))
                .and_then(ListAggregate::of_name)
            {
                Some(a) => ListFunc::Aggregate(a),
                None => return Ok(None),
            },
        };
        let Some(first) = args.first() else {
            return Err(self.err(span, format!("{name} needs a list argument")));
        };
        let l = self.bind_expr(first)?;
        let lt = l.data_type();
        let Some(elem) = lt.list_elem() else {
            if is_null_literal(&l) && !matches!(func, ListFunc::Length | ListFunc::Extract) {
                return Ok(Some(Expr::literal(
                    Value::Null,
                    DataType::list_of(DataType::Integer),
                )));
            }
            // Not a list: `len(s)`, `array_extract(s, i)` of a string, ...
            return Ok(None);
        };
        let mut bound = vec![l];
        let t = match &func {
            ListFunc::Length | ListFunc::Unique => {
                arity(self, 1, 1)?;
                DataType::BigInt
            }
            ListFunc::Extract => {
                arity(self, 2, 2)?;
                bound.push(self.position_arg(args[1])?);
                elem
            }
            ListFunc::Slice => {
                arity(self, 3, 3)?;
                bound.push(self.position_arg(args[1])?);
                bound.push(self.position_arg(args[2])?);
                lt
            }
            ListFunc::Contains | ListFunc::Position => {
                arity(self, 2, 2)?;
                let x = self.bind_expr(args[1])?;
                bound.push(self.list_elem(x, elem, args[1].span())?);
                if func == ListFunc::Contains {
                    DataType::Boolean
                } else {
                    DataType::BigInt
                }
            }
            ListFunc::Sort {
                descending,
                nulls_first,
            } => {
                arity(self, 1, 3)?;
                let (mut descending, mut nulls_first) = (*descending, *nulls_first);
                if let Some(o) = args.get(1) {
                    match self
                        .string_arg(o, "the sort order")?
                        .to_ascii_uppercase()
                        .as_str()
                    {
                        "ASC" => {}
                        "DESC" => descending = true,
                        other => {
                            return Err(self.err(o.span(), format!("unknown sort order '{other}'")))
                        }
                    }
                }
                if let Some(o) = args.get(2) {
                    match self
                        .string_arg(o, "the NULL order")?
                        .to_ascii_uppercase()
                        .as_str()
                    {
                        "NULLS FIRST" => nulls_first = true,
                        "NULLS LAST" => nulls_first = false,
                        other => {
                            return Err(self.err(o.span(), format!("unknown NULL order '{other}'")))
                        }
                    }
                }
                let f = ListFunc::Sort {
                    descending,
                    nulls_first,
                };
                return self.list_call(f, bound, lt, span).map(Some);
            }
            ListFunc::Concat => {
                arity(self, 2, 2)?;
                let other = self.bind_expr(args[1])?;
                let ot = other.data_type();
                let t = match ot.list_elem() {
                    Some(oe) if oe != elem => match common_type(elem, oe) {
                        Some(c) => DataType::list_of(c),
                        None => {
                            return Err(self.err(
                                span,
                                format!(
                                    "{name} of {lt} and {ot}: the elements have no common type"
                                ),
                            ))
                        }
                    },
                    Some(_) => lt,
                    None if is_null_literal(&other) => lt,
                    None => {
                        return Err(
                            self.err(args[1].span(), format!("{name} needs lists, not {ot}"))
                        )
                    }
                };
                let first = bound.pop().unwrap_or_else(|| Expr::literal(Value::Null, t));
                bound.push(self.list_elem(first, t, args[0].span())?);
                bound.push(self.list_elem(other, t, args[1].span())?);
                t
            }
            ListFunc::Distinct | ListFunc::Reverse => {
                arity(self, 1, 1)?;
                lt
            }
            ListFunc::Flatten => {
                arity(self, 1, 1)?;
                if elem.list_elem().is_none() {
                    return Err(self.err(first.span(), "flatten needs a list of lists"));
                }
                elem
            }
            ListFunc::Aggregate(a) => {
                let a = if name.contains("agg") {
                    arity(self, 2, 2)?;
                    let n = self.string_arg(args[1], "the aggregate name")?;
                    ListAggregate::of_name(&n.to_ascii_lowercase()).ok_or_else(|| {
                        self.unsupported(args[1].span(), format!("list_aggregate of '{n}'"))
                    })?
                } else {
                    arity(self, 1, 1)?;
                    *a
                };
                let t = match a {
                    ListAggregate::Count => DataType::BigInt,
                    ListAggregate::Avg => DataType::Double,
                    ListAggregate::Sum if elem == DataType::Double => DataType::Double,
                    ListAggregate::Sum if super::is_int(elem) => DataType::HugeInt,
                    // The scaled integers add up as they are (DuckDB: DECIMAL(38,s)).
                    ListAggregate::Sum if elem.decimal().is_some() => DataType::Decimal {
                        precision: crate::decimal::MAX_WIDTH,
                        scale: elem.decimal().map_or(0, |(_, s)| s),
                    },
                    ListAggregate::Sum => {
                        return Err(self.unsupported(span, format!("list_sum of {elem} values")))
                    }
                    _ => elem,
                };
                if matches!(a, ListAggregate::Avg) && !is_number(elem) {
                    return Err(self.unsupported(span, format!("list_avg of {elem} values")));
                }
                if matches!(a, ListAggregate::Avg) && elem.decimal().is_some() {
                    // Averaged as DOUBLEs, as DuckDB does.
                    if let Some(list) = bound.first_mut() {
                        let x = std::mem::replace(list, Expr::literal(Value::Null, lt));
                        *list = self.cast(x, DataType::list_of(DataType::Double), first.span())?;
                    }
                }
                return self
                    .list_call(ListFunc::Aggregate(a), bound, t, span)
                    .map(Some);
            }
            // Bound above, before the list argument.
            ListFunc::Value
            | ListFunc::Quantiles
            | ListFunc::ConcatOp
            | ListFunc::RegexpExtractAll(..)
            | ListFunc::StringSplit
            | ListFunc::RegexpSplit(_) => return Ok(None),
        };
        self.list_call(func, bound, t, span).map(Some)
    }

    /// `unnest(list)` in the select list: a column of the list's elements, the
    /// row repeated per element (`LogicalPlan::Unnest`).
    pub(super) fn bind_unnest(&mut self, args: &[&ast::Expr], span: Span) -> Result<Expr> {
        // In the select list, outside aggregate calls (whose arguments bind
        // with aggregates disallowed).
        if !self.unnest_allowed || !self.allow_aggs {
            return Err(self.unsupported(span, "unnest outside the select list"));
        }
        let [arg] = args else {
            return Err(self.err(
                span,
                format!("unnest takes 1 argument(s), got {}", args.len()),
            ));
        };
        let x = self.bind_expr(arg)?;
        let (x, elem) = match x.data_type().list_elem() {
            Some(e) => (x, e),
            None if is_null_literal(&x) => (
                Expr::literal(Value::Null, DataType::list_of(DataType::Integer)),
                DataType::Integer,
            ),
            None => {
                return Err(self.err(
                    arg.span(),
                    format!("unnest needs a LIST argument, not {}", x.data_type()),
                ))
            }
        };
        let nested = x.exists(&mut |e| {
            matches!(e, Expr::Column { index, .. } if (super::UNNEST_MARK..super::AGG_MARK).contains(index))
        });
        if nested {
            return Err(self.unsupported(span, "unnest of an unnest"));
        }
        self.unnests.push(x);
        Ok(Expr::Column {
            index: super::UNNEST_MARK + self.unnests.len() - 1,
            name: "unnest".into(),
            data_type: elem,
        })
    }

    /// `a || b` when either side is a list: the lists concatenated; `None` for
    /// strings.
    pub(super) fn bind_list_concat(
        &mut self,
        l: &ast::Expr,
        r: &ast::Expr,
    ) -> Result<Option<Expr>> {
        let (a, b) = (self.bind_expr(l)?, self.bind_expr(r)?);
        let t = match (a.data_type(), b.data_type()) {
            (DataType::List(x), DataType::List(y)) if x != y => match common_type(*x, *y) {
                Some(e) => DataType::list_of(e),
                None => DataType::List(x),
            },
            (t @ DataType::List(_), _) if !is_null_literal(&a) => t,
            (_, t @ DataType::List(_)) => t,
            _ => return Ok(None),
        };
        let span = l.span().union(&r.span());
        let a = self.list_elem(a, t, l.span())?;
        let b = self.list_elem(b, t, r.span())?;
        self.list_call(ListFunc::ConcatOp, vec![a, b], t, span)
            .map(Some)
    }

    /// `regexp_extract_all(s, pattern [, group [, options]])`.
    fn bind_extract_all(&mut self, args: &[&ast::Expr], span: Span) -> Result<Expr> {
        let name = "regexp_extract_all";
        if !(2..=4).contains(&args.len()) {
            return Err(self.err(
                span,
                format!("{name} takes 2 to 4 argument(s), got {}", args.len()),
            ));
        }
        let t = DataType::list_of(DataType::Varchar);
        let s = self.varchar_arg(name, args, 0)?;
        let group = match args.get(2) {
            Some(g) => match self.bind_expr(g)? {
                Expr::Literal {
                    value: Value::Int(g),
                    data_type,
                } if data_type.is_integer() => Some(g),
                _ => {
                    return Err(self.err(
                        g.span(),
                        "the group of regexp_extract_all must be an integer literal",
                    ))
                }
            },
            None => None,
        };
        let Some(pat) = self.literal_text(name, args, 1)? else {
            return Ok(Expr::literal(Value::Null, t));
        };
        let opts = match args.get(3) {
            Some(_) => self.literal_text(name, args, 3)?.unwrap_or_default(),
            None => String::new(),
        };
        let p = self.regex(&pat, &opts, args[1].span())?;
        let group = match group {
            None => Some(0),
            Some(g) if g < 0 => None,
            Some(g) => {
                let groups = p.0.captures_len() - 1;
                if g as usize > groups {
                    return Err(self.err(
                        args[2].span(),
                        format!(
                            "Invalid Input Error: Pattern has {groups} groups. Cannot access \
                             group {g}"
                        ),
                    ));
                }
                Some(g as usize)
            }
        };
        self.list_call(ListFunc::RegexpExtractAll(p, group), vec![s], t, span)
    }

    /// Compiles a pattern with DuckDB's options (`i`: case-insensitive, `c`:
    /// case-sensitive, `s`/`n`: `.` matches newlines or not).
    fn regex(&self, pattern: &str, opts: &str, span: Span) -> Result<Pattern> {
        if let Some(c) = opts.chars().find(|c| !"ics".contains(*c)) {
            return Err(self.unsupported(span, format!("regexp option '{c}'")));
        }
        if has_possessive_repetition(pattern) {
            return Err(self.err(
                span,
                "invalid regular expression: possessive repetition (`a++`) is not supported",
            ));
        }
        let re = regex::RegexBuilder::new(pattern)
            .case_insensitive(opts.contains('i'))
            .dot_matches_new_line(opts.contains('s'))
            .build()
            .map_err(|e| self.err(span, format!("invalid regular expression: {e}")))?;
        Ok(Pattern(std::sync::Arc::new(re)))
    }
}

/// Whether `pattern` repeats a repetition possessively (`a++`, `a*+`, `a?+`,
/// `a{2}+`), which RE2 (DuckDB) rejects and the `regex` crate would read as a
/// nested repetition.
fn has_possessive_repetition(pattern: &str) -> bool {
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '+' | '*' | '?' | '}' if !in_class && chars.peek() == Some(&'+') => return true,
            _ => {}
        }
    }
    false
}
