//! `format(fmt, args...)` (`{}` fields, as the fmt library) and `printf(fmt,
//! args...)` (`%d`, C's fields), as DuckDB has them: the format language, its
//! checks against the arguments' kinds, and the kernel over vectors.
//!
//! `format` fields: `{[index][:[[fill]align][sign][#][sep][0][width][.precision][L][type]]}`,
//! `{{` and `}}` for braces; `printf` fields: `%[index$][flags][width][.precision]
//! [length]type`, `%%` for a percent sign, `*` for a width taken from the
//! arguments. Both take DuckDB's thousands separators: `,` `_` `'` (and `.` in
//! printf, `t<char>` in format), which print integers in decimal with the
//! separator every three digits, and group the integer part of fixed-point
//! floats.
//!
//! Arguments come as four kinds: integers, DOUBLEs, booleans and text (the
//! binder casts every other type to VARCHAR, as DuckDB passes dates and
//! timestamps as strings). A field whose type does not fit its argument is an
//! error, like DuckDB's `Invalid type specifier "d" for formatting a value of
//! type string`. A NULL anywhere (format string or argument) gives NULL.

use std::borrow::Cow;

use super::vector::{self, VData, Vector};
use crate::column::{Bitmap, StringVec, Value};
use crate::error::{Error, Result};
use crate::schema::DataType;

/// Which format language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    /// `format`: `{}` fields.
    Fmt,
    /// `printf`: `%` fields.
    Printf,
}

impl Style {
    fn name(self) -> &'static str {
        match self {
            Style::Fmt => "format",
            Style::Printf => "printf",
        }
    }
}

/// One argument's value.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(&'a str),
}

/// What a field's width or precision is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Count {
    Fixed(usize),
    /// Taken from this argument (printf's `*`).
    Arg(usize),
}

#[derive(Clone, Debug, PartialEq)]
struct Spec {
    arg: usize,
    fill: char,
    /// `<`, `>` or `^`; `None`: the kind's default.
    align: Option<char>,
    /// `-` (only negatives), `+` or ` `.
    sign: char,
    alt: bool,
    zero: bool,
    width: Option<Count>,
    precision: Option<Count>,
    sep: Option<char>,
    ty: Option<char>,
}

impl Spec {
    fn new(arg: usize) -> Spec {
        Spec {
            arg,
            fill: ' ',
            align: None,
            sign: '-',
            alt: false,
            zero: false,
            width: None,
            precision: None,
            sep: None,
            ty: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Field(Spec),
}

/// A parsed format string.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    style: Style,
    pieces: Vec<Piece>,
}

/// How the arguments are numbered: automatically, or by the index each field names.
#[derive(Default)]
struct Indexing {
    next: usize,
    manual: Option<bool>,
}

impl Indexing {
    fn take(&mut self, explicit: Option<usize>) -> std::result::Result<usize, String> {
        let manual = explicit.is_some();
        match self.manual {
            Some(m) if m != manual => {
                return Err(if manual {
                    "cannot switch from automatic to manual argument indexing".into()
                } else {
                    "cannot switch from manual to automatic argument indexing".into()
                })
            }
            _ => self.manual = Some(manual),
        }
        Ok(explicit.unwrap_or_else(|| {
            self.next += 1;
            self.next - 1
        }))
    }
}

impl Template {
    /// Parses `text` in `style`'s language.
    pub fn parse(style: Style, text: &str) -> std::result::Result<Template, String> {
        match style {
            Style::Fmt => parse_fmt(text),
            Style::Printf => parse_printf(text),
        }
        .map(|pieces| Template { style, pieces })
    }

    /// Checks the fields against the kinds of the arguments (`None`: a NULL
    /// literal, which fits any field), as far as that is known before any row.
    pub fn check(&self, kinds: &[Option<Arg<'_>>]) -> std::result::Result<(), String> {
        for p in &self.pieces {
            let Piece::Field(spec) = p else { continue };
            for i in [
                Some(spec.arg),
                count_arg(spec.width),
                count_arg(spec.precision),
            ]
            .into_iter()
            .flatten()
            {
                if i >= kinds.len() {
                    return Err(format!("Argument index \"{i}\" out of range"));
                }
            }
            if let Some(arg) = kinds[spec.arg] {
                let mut scratch = String::new();
                let sample = Spec {
                    width: None,
                    precision: spec.precision.map(|p| match p {
                        Count::Arg(_) => Count::Fixed(1),
                        fixed => fixed,
                    }),
                    ..spec.clone()
                };
                field(self.style, &sample, arg, &mut scratch)?;
            }
        }
        Ok(())
    }

    /// Appends the text for `args` to `out`.
    pub fn render(&self, args: &[Arg<'_>], out: &mut String) -> std::result::Result<(), String> {
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(spec) => {
                    let resolve = |c: Option<Count>| -> std::result::Result<Option<Count>, String> {
                        match c {
                            Some(Count::Arg(i)) => match args.get(i) {
                                Some(Arg::Int(n)) => Ok(Some(Count::Fixed((*n).max(0) as usize))),
                                Some(_) => Err("width/precision is not an integer".into()),
                                None => Err(format!("Argument index \"{i}\" out of range")),
                            },
                            other => Ok(other),
                        }
                    };
                    let mut s = spec.clone();
                    s.width = resolve(spec.width)?;
                    s.precision = resolve(spec.precision)?;
                    let arg = *args
                        .get(spec.arg)
                        .ok_or_else(|| format!("Argument index \"{}\" out of range", spec.arg))?;
                    field(self.style, &s, arg, out)?;
                }
            }
        }
        Ok(())
    }
}

fn count_arg(c: Option<Count>) -> Option<usize> {
    match c {
        Some(Count::Arg(i)) => Some(i),
        _ => None,
    }
}

fn push_text(pieces: &mut Vec<Piece>, c: char) {
    match pieces.last_mut() {
        Some(Piece::Text(t)) => t.push(c),
        _ => pieces.push(Piece::Text(c.to_string())),
    }
}

fn digits(chars: &[char], i: &mut usize) -> Option<usize> {
    let start = *i;
    let mut n: usize = 0;
    while let Some(d) = chars.get(*i).and_then(|c| c.to_digit(10)) {
        n = n.saturating_mul(10).saturating_add(d as usize);
        *i += 1;
    }
    (*i > start).then_some(n.min(1 << 20))
}

fn parse_fmt(text: &str) -> std::result::Result<Vec<Piece>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pieces = Vec::new();
    let mut indexing = Indexing::default();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c == '}' {
            if chars.get(i) == Some(&'}') {
                i += 1;
                push_text(&mut pieces, '}');
                continue;
            }
            return Err("unmatched '}' in format string".into());
        }
        if c != '{' {
            push_text(&mut pieces, c);
            continue;
        }
        if chars.get(i) == Some(&'{') {
            i += 1;
            push_text(&mut pieces, '{');
            continue;
        }
        if i >= chars.len() {
            return Err("invalid format string".into());
        }
        let explicit = digits(&chars, &mut i);
        if chars.get(i).is_some_and(|c| c.is_alphabetic() || *c == '_') {
            let name: String = chars[i..]
                .iter()
                .take_while(|c| c.is_alphanumeric() || **c == '_')
                .collect();
            return Err(format!("Argument with name \"{name}\" not found"));
        }
        let mut spec = Spec::new(indexing.take(explicit)?);
        if chars.get(i) == Some(&':') {
            i += 1;
            fmt_spec(&chars, &mut i, &mut spec, &mut indexing)?;
        }
        if chars.get(i) != Some(&'}') {
            return Err("missing '}' in format string".into());
        }
        i += 1;
        pieces.push(Piece::Field(spec));
    }
    Ok(pieces)
}

fn fmt_spec(
    chars: &[char],
    i: &mut usize,
    spec: &mut Spec,
    indexing: &mut Indexing,
) -> std::result::Result<(), String> {
    let is_align = |c: Option<&char>| matches!(c, Some('<' | '>' | '^'));
    if is_align(chars.get(*i + 1)) && chars.get(*i) != Some(&'}') {
        spec.fill = chars[*i];
        spec.align = Some(chars[*i + 1]);
        *i += 2;
    } else if is_align(chars.get(*i)) {
        spec.align = Some(chars[*i]);
        *i += 1;
    }
    if let Some(&s @ ('+' | '-' | ' ')) = chars.get(*i) {
        spec.sign = s;
        *i += 1;
    }
    if chars.get(*i) == Some(&'#') {
        spec.alt = true;
        *i += 1;
    }
    match chars.get(*i) {
        Some(&s @ (',' | '_' | '\'')) => {
            spec.sep = Some(s);
            *i += 1;
        }
        Some('t') => {
            spec.sep = Some(*chars.get(*i + 1).ok_or("missing '}' in format string")?);
            *i += 2;
        }
        _ => {}
    }
    if chars.get(*i) == Some(&'0') {
        spec.zero = true;
        *i += 1;
    }
    let mut nested = |i: &mut usize| -> std::result::Result<Option<Count>, String> {
        if chars.get(*i) != Some(&'{') {
            return Ok(digits(chars, i).map(Count::Fixed));
        }
        *i += 1;
        let explicit = digits(chars, i);
        if chars.get(*i) != Some(&'}') {
            return Err("invalid format string".into());
        }
        *i += 1;
        Ok(Some(Count::Arg(indexing.take(explicit)?)))
    };
    spec.width = nested(i)?;
    if chars.get(*i) == Some(&'.') {
        *i += 1;
        spec.precision = nested(i)?;
        if spec.precision.is_none() {
            return Err("missing precision specifier".into());
        }
    }
    if chars.get(*i) == Some(&'L') {
        *i += 1;
    }
    if let Some(&c) = chars.get(*i) {
        if c != '}' {
            spec.ty = Some(c);
            *i += 1;
        }
    }
    Ok(())
}

fn parse_printf(text: &str) -> std::result::Result<Vec<Piece>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pieces = Vec::new();
    let mut indexing = Indexing::default();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            push_text(&mut pieces, c);
            continue;
        }
        if chars.get(i) == Some(&'%') {
            i += 1;
            push_text(&mut pieces, '%');
            continue;
        }
        // `N$` names the argument (1-based).
        let mut explicit = None;
        let save = i;
        if let Some(n) = digits(&chars, &mut i) {
            if chars.get(i) == Some(&'$') && n > 0 {
                i += 1;
                explicit = Some(n - 1);
            } else {
                i = save;
            }
        }
        let mut spec = Spec::new(0);
        spec.align = Some('>');
        loop {
            match chars.get(i) {
                Some('-') => spec.align = Some('<'),
                Some('+') => spec.sign = '+',
                Some(' ') if spec.sign != '+' => spec.sign = ' ',
                Some(' ') => {}
                Some('#') => spec.alt = true,
                Some('0') => spec.zero = true,
                Some(&s @ (',' | '\'' | '_')) => spec.sep = Some(s),
                // `%.d`: a `.` right before an integer type is DuckDB's separator.
                Some('.')
                    if spec.sep.is_none()
                        && chars.get(i + 1).is_some_and(|c| "diuxXobB".contains(*c)) =>
                {
                    spec.sep = Some('.')
                }
                _ => break,
            }
            i += 1;
        }
        if chars.get(i) == Some(&'*') {
            i += 1;
            spec.width = Some(Count::Arg(indexing.take(None)?));
        } else {
            spec.width = digits(&chars, &mut i).map(Count::Fixed);
        }
        if chars.get(i) == Some(&'.') {
            i += 1;
            if chars.get(i) == Some(&'*') {
                i += 1;
                spec.precision = Some(Count::Arg(indexing.take(None)?));
            } else {
                spec.precision = Some(Count::Fixed(digits(&chars, &mut i).unwrap_or(0)));
            }
        }
        while matches!(chars.get(i), Some('h' | 'l' | 'L' | 'z' | 'j' | 't')) {
            i += 1;
        }
        let Some(&ty) = chars.get(i) else {
            return Err("invalid format string: a '%' without a type at the end".into());
        };
        i += 1;
        spec.ty = Some(ty);
        spec.arg = indexing.take(explicit)?;
        pieces.push(Piece::Field(spec));
    }
    Ok(pieces)
}

fn bad_type(ty: char, kind: &str) -> String {
    format!("Invalid type specifier \"{ty}\" for formatting a value of type {kind}")
}

/// Formats one field.
fn field(
    style: Style,
    spec: &Spec,
    arg: Arg<'_>,
    out: &mut String,
) -> std::result::Result<(), String> {
    let fixed = |c: Option<Count>| match c {
        Some(Count::Fixed(n)) => Some(n),
        _ => None,
    };
    let (width, precision) = (fixed(spec.width), fixed(spec.precision));
    match arg {
        Arg::Bool(b) if spec.ty.is_none() || (style == Style::Printf && spec.ty == Some('s')) => {
            pad_text(style, spec, if b { "true" } else { "false" }, width, out)
        }
        Arg::Bool(b) => field(style, spec, Arg::Int(b as i64), out),
        Arg::Str(s) => {
            if !matches!(spec.ty, None | Some('s')) {
                return Err(bad_type(spec.ty.unwrap_or('s'), "string"));
            }
            if style == Style::Fmt && (spec.zero || spec.sign != '-' || spec.sep.is_some()) {
                return Err("format specifier requires numeric argument".into());
            }
            let s = match precision {
                Some(p) => match s.char_indices().nth(p) {
                    Some((at, _)) => &s[..at],
                    None => s,
                },
                None => s,
            };
            pad_text(style, spec, s, width, out)
        }
        Arg::Int(v) => {
            let ty = spec.ty.unwrap_or('d');
            let printf = style == Style::Printf;
            let ok = match ty {
                'd' | 'x' | 'X' | 'o' | 'b' | 'B' => true,
                'i' | 'u' | 'c' => printf,
                _ => false,
            };
            if spec.precision.is_some() && !printf {
                return Err("precision not allowed for this argument type".into());
            }
            if !ok {
                return Err(bad_type(ty, "int"));
            }
            if ty == 'c' {
                let c = char::from((v & 0xff) as u8);
                return pad_text(style, spec, c.encode_utf8(&mut [0; 4]), width, out);
            }
            let negative = v < 0 && (spec.sep.is_some() || !printf || "diu".contains(ty));
            let sign = sign_text(negative, spec.sign);
            let mut prefix = "";
            let mut body = if let Some(sep) = spec.sep {
                group(&v.unsigned_abs().to_string(), sep)
            } else {
                let u = if printf && !"diu".contains(ty) {
                    v as u64
                } else {
                    v.unsigned_abs()
                };
                let body = match ty {
                    'x' => format!("{u:x}"),
                    'X' => format!("{u:X}"),
                    'o' => format!("{u:o}"),
                    'b' | 'B' => format!("{u:b}"),
                    _ => u.to_string(),
                };
                if spec.alt && (!printf || u != 0) {
                    prefix = match ty {
                        'x' => "0x",
                        'X' => "0X",
                        'b' => "0b",
                        'B' => "0B",
                        'o' if !body.starts_with('0') => "0",
                        _ => "",
                    };
                }
                body
            };
            if let Some(p) = precision {
                while body.len() < p {
                    body.insert(0, '0');
                }
            }
            pad_number(spec, sign, prefix, &body, width, out);
            Ok(())
        }
        Arg::Float(v) => {
            let upper = spec.ty.is_some_and(|t| t.is_ascii_uppercase());
            let body = match spec.ty {
                None if style == Style::Fmt => {
                    if precision.is_some() {
                        return Err("not supported yet: a precision without a type for a \
                             DOUBLE (write {:.Nf}, {:.Ne} or {:.Ng})"
                            .into());
                    }
                    if v.is_finite() {
                        shortest(v.abs())
                    } else {
                        non_finite(v, false)
                    }
                }
                Some(t @ ('f' | 'F' | 'e' | 'E' | 'g' | 'G')) => {
                    if v.is_finite() {
                        let p = precision.unwrap_or(6);
                        match t.to_ascii_lowercase() {
                            'f' => {
                                let mut s = format!("{:.*}", p, v.abs());
                                if spec.alt && p == 0 {
                                    s.push('.');
                                }
                                s
                            }
                            'e' => exponential(v.abs(), p, upper),
                            _ => general(v.abs(), p, spec.alt, upper),
                        }
                    } else {
                        non_finite(v, upper)
                    }
                }
                Some(t @ ('a' | 'A')) => {
                    return Err(format!(
                        "not supported yet: the hexadecimal float type \"{t}\""
                    ))
                }
                other => return Err(bad_type(other.unwrap_or('s'), "float")),
            };
            let body = match spec.sep {
                Some(sep) if !body.contains(['e', 'E', 'n', 'N', 'i', 'I']) => {
                    let end = body.find('.').unwrap_or(body.len());
                    format!("{}{}", group(&body[..end], sep), &body[end..])
                }
                _ => body,
            };
            let sign = sign_text(v.is_sign_negative() && !v.is_nan(), spec.sign);
            let zero_ok = v.is_finite();
            let spec = Spec {
                zero: spec.zero && zero_ok,
                ..spec.clone()
            };
            pad_number(&spec, sign, "", &body, width, out);
            Ok(())
        }
    }
}

fn sign_text(negative: bool, sign: char) -> &'static str {
    match (negative, sign) {
        (true, _) => "-",
        (false, '+') => "+",
        (false, ' ') => " ",
        _ => "",
    }
}

/// `digits` with `sep` every three digits from the right.
fn group(digits: &str, sep: char) -> String {
    let n = digits.len();
    let mut out = String::with_capacity(n + n / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (n - k).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

fn non_finite(v: f64, upper: bool) -> String {
    let s = if v.is_nan() { "nan" } else { "inf" };
    if upper {
        s.to_ascii_uppercase()
    } else {
        s.to_string()
    }
}

/// The shortest text that reads back as `v` (finite, not negative), in fixed
/// notation for exponents -4..16 (with at least one decimal), else `1e+20`.
fn shortest(v: f64) -> String {
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..16).contains(&exp) {
        return format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        );
    }
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if exp < 0 {
        return format!("0.{}{digits}", "0".repeat((-exp - 1) as usize));
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
    } else {
        format!("{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

/// C's `%.pe`: `d.ddde+XX`.
fn exponential(v: f64, p: usize, upper: bool) -> String {
    let sci = format!("{:.*e}", p, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let e = if upper { 'E' } else { 'e' };
    format!(
        "{mantissa}{e}{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

/// C's `%.pg`: fixed or exponential by the exponent, trailing zeros dropped
/// unless `alt`.
fn general(v: f64, p: usize, alt: bool, upper: bool) -> String {
    let p = p.max(1);
    let sci = format!("{:.*e}", p - 1, v);
    let exp: i32 = sci
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    let mut s = if exp < -4 || exp >= p as i32 {
        exponential(v, p - 1, upper)
    } else {
        format!("{:.*}", (p as i32 - 1 - exp).max(0) as usize, v)
    };
    if !alt {
        let (num, tail) = match s.find(['e', 'E']) {
            Some(at) => s.split_at(at),
            None => (s.as_str(), ""),
        };
        if num.contains('.') {
            let num = num.trim_end_matches('0').trim_end_matches('.');
            s = format!("{num}{tail}");
        }
    } else if !s.contains('.') {
        match s.find(['e', 'E']) {
            Some(at) => s.insert(at, '.'),
            None => s.push('.'),
        }
    }
    s
}

fn pad_text(
    style: Style,
    spec: &Spec,
    text: &str,
    width: Option<usize>,
    out: &mut String,
) -> std::result::Result<(), String> {
    let default = if style == Style::Fmt { '<' } else { '>' };
    pad(out, text, width, spec.fill, spec.align.unwrap_or(default));
    Ok(())
}

fn pad_number(
    spec: &Spec,
    sign: &str,
    prefix: &str,
    body: &str,
    width: Option<usize>,
    out: &mut String,
) {
    let len = sign.len() + prefix.len() + body.chars().count();
    let w = width.unwrap_or(0);
    if spec.zero && w > len {
        out.push_str(sign);
        out.push_str(prefix);
        out.extend(std::iter::repeat_n('0', w - len));
        out.push_str(body);
        return;
    }
    let text = format!("{sign}{prefix}{body}");
    pad(out, &text, width, spec.fill, spec.align.unwrap_or('>'));
}

fn pad(out: &mut String, text: &str, width: Option<usize>, fill: char, align: char) {
    let missing = width.unwrap_or(0).saturating_sub(text.chars().count());
    let (before, after) = match align {
        '<' => (0, missing),
        '^' => (missing / 2, missing - missing / 2),
        _ => (missing, 0),
    };
    out.extend(std::iter::repeat_n(fill, before));
    out.push_str(text);
    out.extend(std::iter::repeat_n(fill, after));
}

/// How an argument of type `t` is passed (the binder casts the others to VARCHAR).
fn kind_of(t: DataType) -> Option<u8> {
    match t {
        t if t.is_integer() => Some(0),
        DataType::Double => Some(1),
        DataType::Boolean => Some(2),
        DataType::Varchar => Some(3),
        _ => None,
    }
}

/// Whether `format` / `printf` takes an argument of type `t` as it is (else
/// the binder casts it to VARCHAR).
pub fn passes_as_is(t: DataType) -> bool {
    kind_of(t).is_some()
}

/// A sample argument of type `t` for [`Template::check`].
pub fn sample_arg(t: DataType) -> Option<Arg<'static>> {
    Some(match kind_of(t)? {
        0 => Arg::Int(0),
        1 => Arg::Float(0.0),
        2 => Arg::Bool(false),
        _ => Arg::Str(""),
    })
}

/// Evaluates `format` / `printf` over `args` (the format string first) of
/// `types`, `len` rows.
pub fn eval(
    style: Style,
    args: &[Cow<'_, Vector>],
    types: &[DataType],
    len: usize,
) -> Result<Vector> {
    if args.iter().any(|a| a.is_null_const()) {
        return Ok(Vector::constant(Value::Null));
    }
    enum Col<'v> {
        Int(Cow<'v, [i64]>),
        Float(Cow<'v, [f64]>),
        Bool(Cow<'v, [bool]>),
        Str(&'v Vector),
    }
    let mut cols = Vec::with_capacity(args.len().saturating_sub(1));
    for (a, t) in args.iter().zip(types).skip(1) {
        cols.push(match kind_of(*t) {
            Some(0) => Col::Int(vector::ints(a, len)?),
            Some(1) => Col::Float(vector::floats(a, len)?),
            Some(2) => Col::Bool(vector::bools(a, len)?),
            Some(_) => Col::Str(a.as_ref()),
            None => {
                return Err(Error::Internal(format!(
                    "{}: an argument of type {t} was not cast to VARCHAR",
                    style.name()
                )))
            }
        });
    }
    let fmt = args
        .first()
        .ok_or_else(|| Error::Internal(format!("{}: no format string", style.name())))?;
    let mut cached: Option<(String, Template)> = None;
    let mut out = StringVec::with_capacity(len, len * 16);
    let mut valid = Bitmap::new(len, true);
    let mut any_null = false;
    let mut buf = String::new();
    let mut row = Vec::with_capacity(cols.len());
    for i in 0..len {
        if !args.iter().all(|a| a.is_valid(i)) {
            valid.set(i, false);
            any_null = true;
            out.push("");
            continue;
        }
        let text = fmt.str_at(i);
        if cached.as_ref().is_none_or(|(t, _)| t != text) {
            let t = Template::parse(style, text).map_err(|m| row_error(style, text, &m))?;
            cached = Some((text.to_string(), t));
        }
        let Some((_, template)) = &cached else {
            continue;
        };
        row.clear();
        row.extend(cols.iter().map(|c| match c {
            Col::Int(v) => Arg::Int(v[i]),
            Col::Float(v) => Arg::Float(v[i]),
            Col::Bool(v) => Arg::Bool(v[i]),
            Col::Str(v) => Arg::Str(v.str_at(i)),
        }));
        buf.clear();
        template
            .render(&row, &mut buf)
            .map_err(|m| row_error(style, text, &m))?;
        out.push(&buf);
    }
    Ok(Vector::new(VData::Str(out), any_null.then_some(valid)))
}

fn row_error(style: Style, text: &str, message: &str) -> Error {
    if message.starts_with("not supported yet") {
        return Error::InvalidInput(format!("{}: {message}", style.name()));
    }
    Error::InvalidInput(format!(
        "{}: {message} (format string '{text}')",
        style.name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(style: Style, fmt: &str, args: &[Arg<'_>]) -> std::result::Result<String, String> {
        let t = Template::parse(style, fmt)?;
        let mut out = String::new();
        t.render(args, &mut out)?;
        Ok(out)
    }

    #[test]
    fn format_fields_as_duckdb() {
        use Arg::*;
        let f = |fmt: &str, args: &[Arg<'_>]| run(Style::Fmt, fmt, args).unwrap();
        assert_eq!(f("{} and {}", &[Str("a"), Int(5)]), "a and 5");
        assert_eq!(f("{1} {1} {0} {0}", &[Int(1), Int(2)]), "2 2 1 1");
        assert_eq!(f("{{}} {:04d}", &[Int(33)]), "{} 0033");
        assert_eq!(
            f(
                "{:x} {:#X} {:b} {:o}",
                &[Int(255), Int(255), Int(5), Int(8)]
            ),
            "ff 0XFF 101 10"
        );
        assert_eq!(f("{:x}", &[Int(-255)]), "-ff");
        assert_eq!(
            f("{:*^10}|{:>5}|{:<5}|", &[Str("ab"), Int(1), Bool(true)]),
            "****ab****|    1|true |"
        );
        assert_eq!(
            f(
                "{:,} {:_} {:'} {:t|}",
                &[Int(-1234567), Int(1234), Int(123), Int(1234567)]
            ),
            "-1,234,567 1_234 123 1|234|567"
        );
        assert_eq!(f("{:,010}", &[Int(1234567)]), "01,234,567");
        assert_eq!(
            f("{:,.2f} {:,}", &[Float(1234567.891), Float(1234.5)]),
            "1,234,567.89 1,234.5"
        );
        assert_eq!(
            f(
                "{} {} {} {}",
                &[Float(1e15), Float(1e16), Float(1e-5), Float(0.0001)]
            ),
            "1000000000000000.0 1e+16 1e-05 0.0001"
        );
        assert_eq!(
            f(
                "{} {} {}",
                &[Float(0.1 + 0.2), Float(-0.0), Float(f64::NEG_INFINITY)]
            ),
            "0.30000000000000004 -0.0 -inf"
        );
        assert_eq!(
            f(
                "{:08.3f} {:e} {:g} {:E}",
                &[
                    Float(-4.56789),
                    Float(1234.5678),
                    Float(1234.5678),
                    Float(1234.5)
                ]
            ),
            "-004.568 1.234568e+03 1234.57 1.234500E+03"
        );
        assert_eq!(
            f("{:010}|{: }|{:+}", &[Int(-42), Int(42), Int(42)]),
            "-000000042| 42|+42"
        );
        assert_eq!(f("{:.2s}|{:5}|", &[Str("abcdef"), Str("é")]), "ab|é    |");
        assert_eq!(f("{:d} {:x}", &[Bool(true), Bool(true)]), "1 1");
        assert_eq!(f("{:>{}}", &[Str("a"), Int(5)]), "    a");
        for (fmt, args, err) in [
            ("{", vec![], "invalid format string"),
            ("}", vec![], "unmatched '}'"),
            ("{} {}", vec![Str("a")], "Argument index \"1\" out of range"),
            (
                "{}{0}",
                vec![Str("a")],
                "cannot switch from automatic to manual",
            ),
            ("{L}", vec![Int(1)], "Argument with name"),
            (
                "{:s}",
                vec![Int(42)],
                "Invalid type specifier \"s\" for formatting a value of type int",
            ),
            ("{:d}", vec![Str("x")], "Invalid type specifier \"d\""),
            ("{:.2f}", vec![Int(5)], "precision not allowed"),
            ("{:t}", vec![Int(5)], "missing '}'"),
            ("{:05}", vec![Str("ab")], "requires numeric argument"),
        ] {
            let e = run(Style::Fmt, fmt, &args).unwrap_err();
            assert!(e.contains(err), "{fmt}: {e}");
        }
    }

    #[test]
    fn printf_fields_as_duckdb() {
        use Arg::*;
        let p = |fmt: &str, args: &[Arg<'_>]| run(Style::Printf, fmt, args).unwrap();
        assert_eq!(p("%s: %s", &[Str("hello"), Str("world")]), "hello: world");
        assert_eq!(
            p(
                "%d %lld %hhd %i %u",
                &[Int(1), Int(2), Int(3), Int(4), Int(5)]
            ),
            "1 2 3 4 5"
        );
        assert_eq!(
            p(
                "%d %x %o %#x %#o",
                &[Int(100), Int(100), Int(100), Int(100), Int(100)]
            ),
            "100 64 144 0x64 0144"
        );
        assert_eq!(
            p("%x %o %#x", &[Int(-1), Int(-1), Int(0)]),
            "ffffffffffffffff 1777777777777777777777 0"
        );
        assert_eq!(
            p(
                "%04d|%10d|%-5d|%+d|% d",
                &[Int(33), Int(1992), Int(7), Int(5), Int(5)]
            ),
            "0033|      1992|7    |+5| 5"
        );
        assert_eq!(
            p(
                "%5s|%-5s|%.2s|%05s|",
                &[Str("ab"), Str("cd"), Str("xyz"), Str("abc")]
            ),
            "   ab|cd   |xy|  abc|"
        );
        assert_eq!(p("%c%%%*d", &[Int(65), Int(5), Int(10)]), "A%   10");
        assert_eq!(p("%2$s %1$s", &[Str("a"), Str("b")]), "b a");
        assert_eq!(
            p(
                "%,d %.d %_d %'d %.0d",
                &[Int(123456789), Int(-1234), Int(1234), Int(1234), Int(1234)]
            ),
            "123,456,789 -1.234 1_234 1'234 1234"
        );
        assert_eq!(p("%,x", &[Int(123456789)]), "123,456,789");
        assert_eq!(
            p(
                "%.2f %.4f %.0f %.0f %.0f",
                &[Float(10.0), Float(0.5), Float(0.5), Float(1.5), Float(2.5)]
            ),
            "10.00 0.5000 0 2 2"
        );
        assert_eq!(
            p(
                "floats: %4.2f %+.0e %E",
                &[Float(4.5679), Float(4.5679), Float(4.5679)]
            ),
            "floats: 4.57 +5e+00 4.567900E+00"
        );
        assert_eq!(
            p(
                "%g %g %g %g %G",
                &[
                    Float(100000.0),
                    Float(1e6),
                    Float(0.0001),
                    Float(1e-5),
                    Float(1e-10)
                ]
            ),
            "100000 1e+06 0.0001 1e-05 1E-10"
        );
        assert_eq!(
            p(
                "%#g %.3g %.3e %,.3f",
                &[Float(1.0), Float(0.0), Float(9.9996), Float(123456.789)]
            ),
            "1.00000 0 1.000e+01 123,456.789"
        );
        assert_eq!(
            p(
                "%08.2f|%f|%F",
                &[Float(-4.56789), Float(f64::NAN), Float(f64::INFINITY)]
            ),
            "-0004.57|nan|INF"
        );
        assert_eq!(p("%d %s", &[Bool(true), Bool(false)]), "1 false");
        assert_eq!(
            p("%lf %Lf %hs", &[Float(1.5), Float(1.5), Str("a")]),
            "1.500000 1.500000 a"
        );
        for (fmt, args, err) in [
            ("%s", vec![], "Argument index \"0\" out of range"),
            ("%s %s", vec![Str("a")], "Argument index \"1\" out of range"),
            (
                "%s",
                vec![Int(42)],
                "Invalid type specifier \"s\" for formatting a value of type int",
            ),
            (
                "%d",
                vec![Str("x")],
                "Invalid type specifier \"d\" for formatting a value of type string",
            ),
            ("%d", vec![Float(1.5)], "of type float"),
            ("%:", vec![Int(1)], "Invalid type specifier \":\""),
            (
                "%2$s %s",
                vec![Str("a"), Str("b")],
                "cannot switch from manual to automatic",
            ),
            ("%", vec![], "without a type"),
        ] {
            let e = run(Style::Printf, fmt, &args).unwrap_err();
            assert!(e.contains(err), "{fmt}: {e}");
        }
    }

    #[test]
    fn any_text_is_handled_without_panic() {
        let odd = [
            "{:",
            "{0:{",
            "{:t",
            "%*",
            "%.*",
            "%1$",
            "{:>}",
            "%99999999999999999999d",
            "{:99999999999}",
            "{:.{}f}",
            "%-",
            "%#",
            "é{}é",
            "%é",
        ];
        for fmt in odd {
            for style in [Style::Fmt, Style::Printf] {
                let _ = run(style, fmt, &[Arg::Int(1), Arg::Float(1.0)]);
            }
        }
    }
}
