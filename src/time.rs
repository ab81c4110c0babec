//! UTC timestamps as microseconds since the Unix epoch: calendar conversion,
//! formatting and the day/hour arithmetic used by partitioning.
//!
//! The calendar math is the proleptic Gregorian "days from civil" algorithm, exact for
//! every date whose microsecond count fits in an `i64`.

/// Microseconds in a second, minute, hour and day.
pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
pub const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// DuckDB's DATE range: days since 1970-01-01 from -5877641-06-25 to 5881580-07-10
/// (a 32-bit day count whose two outermost values are the infinities).
pub const DATE_MAX: i64 = 2_147_483_646;
pub const DATE_MIN: i64 = -DATE_MAX;
/// The DATE `infinity` and `-infinity` (DuckDB stores them as the extreme 32-bit
/// day counts, so they sort after and before every date).
pub const DATE_INFINITY: i64 = i32::MAX as i64;
pub const DATE_NEG_INFINITY: i64 = -DATE_INFINITY;
/// The TIMESTAMP `infinity` and `-infinity`.
pub const TS_INFINITY: i64 = i64::MAX;
pub const TS_NEG_INFINITY: i64 = -i64::MAX;
/// DuckDB's finite TIMESTAMP range: 290309-12-22 (BC) 00:00:00 to
/// 294247-01-10 04:00:54.775806.
pub const TS_MIN: i64 = -9_223_372_022_400_000_000;
pub const TS_MAX: i64 = i64::MAX - 1;

/// Whether a TIMESTAMP value is `infinity` or `-infinity`.
#[inline]
pub fn is_infinite_ts(ts: i64) -> bool {
    ts == TS_INFINITY || ts == TS_NEG_INFINITY
}

/// Whether a DATE value is `infinity` or `-infinity`.
#[inline]
pub fn is_infinite_date(days: i64) -> bool {
    days == DATE_INFINITY || days == DATE_NEG_INFINITY
}

/// The TIMESTAMP of a DATE (midnight UTC); the infinities map to each other, a
/// date past the TIMESTAMP range is `None`.
pub fn date_to_timestamp(days: i64) -> Option<i64> {
    match days {
        DATE_INFINITY => Some(TS_INFINITY),
        DATE_NEG_INFINITY => Some(TS_NEG_INFINITY),
        d => d
            .checked_mul(MICROS_PER_DAY)
            .filter(|us| (TS_MIN..=TS_MAX).contains(us)),
    }
}

/// The DATE of a TIMESTAMP (its UTC day); the infinities map to each other.
pub fn timestamp_to_date(ts: i64) -> i64 {
    match ts {
        TS_INFINITY => DATE_INFINITY,
        TS_NEG_INFINITY => DATE_NEG_INFINITY,
        t => t.div_euclid(MICROS_PER_DAY),
    }
}

/// The special words a DATE or TIMESTAMP text may be (DuckDB, any case, after
/// leading spaces): `Some(true)` for `infinity`/`inf`, `Some(false)` for
/// `-infinity`/`-inf`; the long forms may have trailing spaces, the short ones
/// not (as DuckDB reads them).
fn infinity_word(s: &str) -> Option<bool> {
    let lead = s.trim_start().to_ascii_lowercase();
    match (lead.as_str(), lead.trim_end()) {
        ("inf", _) | (_, "infinity") => Some(true),
        ("-inf", _) | (_, "-infinity") => Some(false),
        _ => None,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (`month` 1-12, `day` 1-31).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Whether a calendar date exists.
pub fn is_valid_date(year: i64, month: u32, day: u32) -> bool {
    if !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let dim = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    day <= dim[month as usize - 1]
}

/// Microseconds since the epoch of a UTC date and time; `None` if a field is out of
/// range or the result does not fit.
pub fn micros_from_parts(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    micros: u32,
) -> Option<i64> {
    if !is_valid_date(year, month, day)
        || hour > 23
        || minute > 59
        || second > 60
        || micros > 999_999
        || !(-300_000..=300_000).contains(&year)
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour as i64 * 3600 + minute as i64 * 60 + second as i64;
    secs.checked_mul(MICROS_PER_SECOND)?
        .checked_add(micros as i64)
        .filter(|us| (TS_MIN..=TS_MAX).contains(us))
}

/// The start of the UTC day holding `ts`.
#[inline]
pub fn day_start(ts: i64) -> i64 {
    ts.div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY
}

/// The start of the UTC hour holding `ts`.
#[inline]
pub fn hour_start(ts: i64) -> i64 {
    ts.div_euclid(MICROS_PER_HOUR) * MICROS_PER_HOUR
}

/// Formats `ts` as `YYYY-MM-DD HH:MM:SS[.ffffff]` (fraction only when non-zero), the
/// way DuckDB prints a TIMESTAMP.
pub fn format_timestamp(ts: i64) -> String {
    let mut s = String::with_capacity(26);
    write_timestamp(&mut s, ts);
    s
}

/// Appends the formatted timestamp to `out`.
pub fn write_timestamp(out: &mut String, ts: i64) {
    use std::fmt::Write;
    match ts {
        TS_INFINITY => return out.push_str("infinity"),
        TS_NEG_INFINITY => return out.push_str("-infinity"),
        _ => {}
    }
    let days = ts.div_euclid(MICROS_PER_DAY);
    let rem = ts.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / MICROS_PER_SECOND;
    let frac = rem % MICROS_PER_SECOND;
    // Years before 1 as DuckDB prints them: year 0 is 1 BC, -1 is 2 BC, ...
    let (year, era) = if y <= 0 { (1 - y, " (BC)") } else { (y, "") };
    let _ = write!(
        out,
        "{year:04}-{m:02}-{d:02}{era} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let mut f = format!("{frac:06}");
        while f.ends_with('0') {
            f.pop();
        }
        out.push('.');
        out.push_str(&f);
    }
}

/// Formats the UTC date of `ts` as `YYYY-MM-DD`.
pub fn format_date(ts: i64) -> String {
    let (y, m, d) = civil_from_days(ts.div_euclid(MICROS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Appends a DATE (days since 1970-01-01) as `YYYY-MM-DD`, years before 1 as
/// DuckDB prints them (`0001-12-31 (BC)` for year 0).
pub fn write_date(out: &mut String, days: i64) {
    use std::fmt::Write;
    match days {
        DATE_INFINITY => return out.push_str("infinity"),
        DATE_NEG_INFINITY => return out.push_str("-infinity"),
        _ => {}
    }
    let (y, m, d) = civil_from_days(days);
    let (year, era) = if y <= 0 { (1 - y, " (BC)") } else { (y, "") };
    let _ = write!(out, "{year:04}-{m:02}-{d:02}{era}");
}

/// Formats a DATE (days since 1970-01-01).
pub fn format_day(days: i64) -> String {
    let mut s = String::with_capacity(10);
    write_date(&mut s, days);
    s
}

/// Parses a DATE as DuckDB does: `[-]Y-M-D` with any number of year digits, one
/// or two month and day digits and `-`, `/`, `\` or a space between them (the same
/// both times), optionally ` (BC)`, optionally followed by a time of day that makes
/// a valid timestamp and is dropped; also `infinity`, `-infinity` and `epoch`.
/// Surrounding spaces are allowed. Days since 1970-01-01.
pub fn parse_date(s: &str) -> Option<i64> {
    let t = s.trim();
    match infinity_word(s) {
        Some(true) => return Some(DATE_INFINITY),
        Some(false) => return Some(DATE_NEG_INFINITY),
        None if t.eq_ignore_ascii_case("epoch") => return Some(0),
        None => {}
    }
    let (year, month, day, n) = date_prefix(t.as_bytes())?;
    let rest = &t.as_bytes()[n..];
    if !rest.is_empty() {
        clock_suffix(rest)?;
    }
    let days = days_from_civil(year, month, day);
    (DATE_MIN..=DATE_MAX).contains(&days).then_some(days)
}

/// Parses a TIMESTAMP as SQL text may write it (DuckDB): the date of
/// [`parse_date`] (any year digits, ` (BC)`), then optionally `T` or a space and
/// `HH:MM[:SS[.ffffff]]`, then optionally `Z` or an offset `±HH[:MM]`; also
/// `infinity`, `-infinity` and `epoch`. The result is UTC microseconds.
pub fn parse_timestamp_sql(s: &str) -> Option<i64> {
    let t = s.trim();
    match infinity_word(s) {
        Some(true) => return Some(TS_INFINITY),
        Some(false) => return Some(TS_NEG_INFINITY),
        None if t.eq_ignore_ascii_case("epoch") => return Some(0),
        None => {}
    }
    let (year, month, day, n) = date_prefix(t.as_bytes())?;
    let (h, mi, sec, us, offset_secs) = clock_suffix(&t.as_bytes()[n..])?;
    let local = micros_from_parts(year, month, day, h, mi, sec, us)?;
    local
        .checked_sub(offset_secs * MICROS_PER_SECOND)
        .filter(|us| (TS_MIN..=TS_MAX).contains(us))
}

/// The leading date of `b` (see [`parse_date`]): the astronomical year (1 BC is
/// year 0), month, day and the number of bytes read; `None` if it is no valid date.
fn date_prefix(b: &[u8]) -> Option<(i64, u32, u32, usize)> {
    let mut pos = 0;
    let neg = b.first() == Some(&b'-');
    if neg {
        pos += 1;
    }
    let run = |pos: usize, max: usize| {
        let n = b[pos..].iter().take_while(|c| c.is_ascii_digit()).count();
        (1..=max).contains(&n).then_some(n)
    };
    let n = run(pos, 10)?;
    let mut year = digits(&b[pos..pos + n])? as i64;
    pos += n;
    let sep = *b.get(pos)?;
    if !matches!(sep, b'-' | b'/' | b'\\' | b' ') {
        return None;
    }
    pos += 1;
    let n = run(pos, 2)?;
    let month = digits(&b[pos..pos + n])?;
    pos += n;
    if b.get(pos) != Some(&sep) {
        return None;
    }
    pos += 1;
    let n = run(pos, 2)?;
    let day = digits(&b[pos..pos + n])?;
    pos += n;
    if neg {
        year = -year;
    }
    if b.len() >= pos + 5 && b[pos..pos + 5].eq_ignore_ascii_case(b" (BC)") {
        if neg || year == 0 {
            return None;
        }
        year = 1 - year;
        pos += 5;
    }
    if !(-6_000_000..=6_000_000).contains(&year) || !is_valid_date(year, month, day) {
        return None;
    }
    Some((year, month, day, pos))
}

/// What may follow the date of a timestamp: nothing, or `T`/space and
/// `HH:MM[:SS[.ffffff]]`, then nothing, `Z` or an offset `±HH[:MM]`. Returns
/// (hour, minute, second, micros, offset seconds east of UTC).
fn clock_suffix(mut rest: &[u8]) -> Option<(u32, u32, u32, u32, i64)> {
    let (mut h, mut mi, mut sec, mut us) = (0, 0, 0, 0);
    if !rest.is_empty() && (rest[0] == b'T' || rest[0] == b' ') && rest.len() >= 6 {
        let t = &rest[1..];
        if t[2] != b':' {
            return None;
        }
        h = digits(&t[0..2])?;
        mi = digits(&t[3..5])?;
        rest = &t[5..];
        if rest.first() == Some(&b':') {
            sec = digits(rest.get(1..3)?)?;
            rest = &rest[3..];
            if rest.first() == Some(&b'.') {
                let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if n == 0 {
                    return None;
                }
                let frac = &rest[1..1 + n];
                let mut v = 0u32;
                for i in 0..6 {
                    v = v * 10 + frac.get(i).map_or(0, |c| (c - b'0') as u32);
                }
                us = v;
                rest = &rest[1 + n..];
            }
        }
    }
    let mut offset_secs = 0i64;
    match rest {
        [] | [b'Z'] | [b'z'] => {}
        [sign @ (b'+' | b'-'), tz @ ..] => {
            let (oh, om) = match tz {
                [a, b] => (digits(&[*a, *b])?, 0),
                [a, b, b':', c, d] => (digits(&[*a, *b])?, digits(&[*c, *d])?),
                [a, b, c, d] => (digits(&[*a, *b])?, digits(&[*c, *d])?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            offset_secs = (oh * 3600 + om * 60) as i64;
            if *sign == b'-' {
                offset_secs = -offset_secs;
            }
        }
        _ => return None,
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some((h, mi, sec, us, offset_secs))
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u32, |acc, &c| {
        acc.checked_mul(10)?.checked_add((c - b'0') as u32)
    })
}

/// Parses an ISO-8601 / SQL timestamp: `YYYY-MM-DD`, optionally followed by `T` or a
/// space and `HH:MM[:SS[.ffffff]]`, optionally followed by `Z` or an offset
/// `±HH[:MM]`. The result is UTC.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])? as i64;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let (h, mi, sec, us, offset_secs) = clock_suffix(&b[10..])?;
    let local = micros_from_parts(year, month, day, h, mi, sec, us)?;
    local.checked_sub(offset_secs * MICROS_PER_SECOND)
}

/// One piece of a strftime format.
#[derive(Clone, Debug, PartialEq)]
pub enum FmtItem {
    Lit(String),
    /// A specifier letter; `true` = no padding (`%-d`).
    Spec(char, bool),
}

const SPECS: &str = "aAbBhdHIjmMSpyYfgnwuZzUWVGcxX%";
const NOPAD: &str = "dHIjmMSy";

/// The specifiers `strftime` writes but `strptime` does not read yet.
pub const NOT_PARSED: &str = "zZcxXn";

/// Parses a DuckDB strftime format; unknown specifiers are errors.
pub fn parse_format(fmt: &str) -> std::result::Result<Vec<FmtItem>, String> {
    let mut items = Vec::new();
    let mut lit = String::new();
    let mut it = fmt.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            lit.push(c);
            continue;
        }
        let (spec, nopad) = match it.next() {
            Some('-') => (it.next(), true),
            other => (other, false),
        };
        let ok = spec.is_some_and(|s| SPECS.contains(s) && (!nopad || NOPAD.contains(s)));
        let Some(s) = spec.filter(|_| ok) else {
            return Err(format!(
                "strftime: unsupported format specifier '%{}{}' in '{fmt}' (supported: \
                 %a %A %b %h %B %d %H %I %j %m %M %S %p %y %Y %f %g %n %w %u %U %W %V %G %c \
                 %x %X %z %Z %% and %-d style)",
                if nopad { "-" } else { "" },
                spec.map(String::from).unwrap_or_default()
            ));
        };
        if s == '%' {
            lit.push('%');
            continue;
        }
        // `%h` is `%b`.
        let s = if s == 'h' { 'b' } else { s };
        if !lit.is_empty() {
            items.push(FmtItem::Lit(std::mem::take(&mut lit)));
        }
        items.push(FmtItem::Spec(s, nopad));
    }
    if !lit.is_empty() {
        items.push(FmtItem::Lit(lit));
    }
    Ok(items)
}

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Formats `ts` by `items` into `out`; an infinite timestamp is `infinity` or
/// `-infinity` whatever the format (DuckDB).
pub fn strftime(out: &mut String, ts: i64, items: &[FmtItem]) {
    use std::fmt::Write;
    if is_infinite_ts(ts) {
        return write_timestamp(out, ts);
    }
    let day = ts.div_euclid(MICROS_PER_DAY);
    let rem = ts.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(day);
    let secs = rem / MICROS_PER_SECOND;
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    let micros = rem % MICROS_PER_SECOND;
    let dow = (day + 4).rem_euclid(7) as usize;
    let doy = day - days_from_civil(y, 1, 1) + 1;
    let h12 = if hh % 12 == 0 { 12 } else { hh % 12 };
    let num = |out: &mut String, v: i64, width: usize, nopad: bool| {
        if nopad {
            let _ = write!(out, "{v}");
        } else {
            let _ = write!(out, "{v:0width$}");
        }
    };
    for it in items {
        match it {
            FmtItem::Lit(s) => out.push_str(s),
            FmtItem::Spec(c, np) => match c {
                'a' => out.push_str(&DAYS[dow][..3]),
                'A' => out.push_str(DAYS[dow]),
                'b' => out.push_str(&MONTHS[(m as usize).clamp(1, 12) - 1][..3]),
                'B' => out.push_str(MONTHS[(m as usize).clamp(1, 12) - 1]),
                'd' => num(out, d as i64, 2, *np),
                'H' => num(out, hh, 2, *np),
                'I' => num(out, h12, 2, *np),
                'j' => num(out, doy, 3, *np),
                'm' => num(out, m as i64, 2, *np),
                'M' => num(out, mm, 2, *np),
                'S' => num(out, ss, 2, *np),
                'p' => out.push_str(if hh < 12 { "AM" } else { "PM" }),
                'y' => num(out, y.abs() % 100, 2, *np),
                'Y' => {
                    let _ = write!(out, "{y}");
                }
                'f' => num(out, micros, 6, false),
                'g' => num(out, micros / 1000, 3, false),
                'n' => num(out, micros * 1000, 9, false),
                // Weeks of the year starting on Sunday (`U`) or Monday (`W`); the
                // days before the first such day are week 0.
                'U' => num(out, (doy - 1 + 7 - dow as i64) / 7, 2, false),
                'W' => num(out, (doy - 1 + 7 - (dow as i64 + 6) % 7) / 7, 2, false),
                'V' | 'G' => {
                    let thursday = day - (day + 3).rem_euclid(7) + 3;
                    let iso_year = civil_from_days(thursday).0;
                    if *c == 'G' {
                        let _ = write!(out, "{iso_year}");
                    } else {
                        let week = (thursday - days_from_civil(iso_year, 1, 1)) / 7 + 1;
                        num(out, week, 2, false);
                    }
                }
                'c' => {
                    let _ = write!(out, "{y}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}");
                }
                'x' => {
                    let _ = write!(out, "{y}-{m:02}-{d:02}");
                }
                'X' => {
                    let _ = write!(out, "{hh:02}:{mm:02}:{ss:02}");
                }
                'w' => num(out, dow as i64, 1, false),
                'u' => num(out, if dow == 0 { 7 } else { dow as i64 }, 1, false),
                'z' => out.push_str("+00"),
                'Z' => {}
                _ => {}
            },
        }
    }
}

/// Whether a format combines ways of placing a date that DuckDB rejects or
/// resolves by the order of the specifiers (more than one of `%U`, `%W`,
/// `%V`/`%G`, `%j`; or `%V`/`%G` with `%Y`/`%y`): `strptime` leaves them out.
pub fn mixes_week_fields(items: &[FmtItem]) -> bool {
    let has = |set: &str| {
        items
            .iter()
            .any(|i| matches!(i, FmtItem::Spec(c, _) if set.contains(*c)))
    };
    let kinds = ["U", "W", "VG", "j"].iter().filter(|k| has(k)).count();
    kinds > 1 || (has("VG") && has("Yy"))
}

/// `strptime(text, fmt)` (DuckDB): parses `text` by the items of `parse_format` into
/// UTC microseconds. Numbers take up to their field's width in digits (padding
/// optional), names match case-insensitively (full, then abbreviated), a space in
/// the format matches any run of whitespace, and the whole text must be used.
/// `%z`/`%Z` are refused by the caller. An impossible date is an error.
pub fn strptime(text: &str, items: &[FmtItem], fmt: &str) -> std::result::Result<i64, String> {
    let fail =
        || format!("Could not parse string \"{text}\" according to format specifier \"{fmt}\"");
    let b = text.as_bytes();
    let mut pos = 0usize;
    // DuckDB's defaults for the fields a format leaves out: 1900-01-01 00:00:00.
    let (mut year, mut month, mut day) = (1900i64, 1i64, 1i64);
    let (mut hour, mut minute, mut second, mut micros) = (0i64, 0i64, 0i64, 0i64);
    let (mut doy, mut pm, mut h12) = (None, None, false);
    // Week-based dates (`%U`, `%W`, `%V` with `%G`), used when neither a month
    // nor a day of the month nor a day of the year is given; the weekday is
    // Sunday = 0.
    let (mut week, mut weekday, mut iso_year, mut dated) = (None, None, None, false);
    let number = |pos: &mut usize, width: usize| -> Option<(i64, usize)> {
        let start = *pos;
        while *pos < b.len() && *pos - start < width && b[*pos].is_ascii_digit() {
            *pos += 1;
        }
        let digits = *pos - start;
        (digits > 0).then(|| (text[start..*pos].parse::<i64>().unwrap_or(0), digits))
    };
    let name = |pos: &mut usize, names: &[&str]| -> Option<usize> {
        let rest = &text[*pos..];
        for (i, n) in names.iter().enumerate() {
            for cand in [*n, &n[..3]] {
                if rest.len() >= cand.len() && rest[..cand.len()].eq_ignore_ascii_case(cand) {
                    *pos += cand.len();
                    return Some(i);
                }
            }
        }
        None
    };
    for it in items {
        match it {
            FmtItem::Lit(l) => {
                for c in l.chars() {
                    if c.is_whitespace() {
                        while pos < b.len() && b[pos].is_ascii_whitespace() {
                            pos += 1;
                        }
                    } else if text[pos..].starts_with(c) {
                        pos += c.len_utf8();
                    } else {
                        return Err(fail());
                    }
                }
            }
            FmtItem::Spec(c, _) => match c {
                'Y' => {
                    // Four digits at most, as DuckDB: `%Y%d%m` reads `20182010`.
                    let neg = text[pos..].starts_with('-');
                    if neg {
                        pos += 1;
                    }
                    let (v, _) = number(&mut pos, 4).ok_or_else(fail)?;
                    year = if neg { -v } else { v };
                }
                'y' => {
                    let (v, _) = number(&mut pos, 2).ok_or_else(fail)?;
                    year = if v < 69 { 2000 + v } else { 1900 + v };
                }
                'm' => {
                    month = number(&mut pos, 2).ok_or_else(fail)?.0;
                    dated = true;
                }
                'd' => {
                    day = number(&mut pos, 2).ok_or_else(fail)?.0;
                    dated = true;
                }
                'U' | 'W' | 'V' => {
                    let (v, _) = number(&mut pos, 2).ok_or_else(fail)?;
                    let min = i64::from(*c == 'V');
                    if !(min..=53).contains(&v) {
                        return Err(fail());
                    }
                    week = Some((*c, v));
                }
                'G' => {
                    let neg = text[pos..].starts_with('-');
                    if neg {
                        pos += 1;
                    }
                    let (v, _) = number(&mut pos, 9).ok_or_else(fail)?;
                    iso_year = Some(if neg { -v } else { v });
                }
                'H' => hour = number(&mut pos, 2).ok_or_else(fail)?.0,
                'I' => {
                    hour = number(&mut pos, 2).ok_or_else(fail)?.0;
                    h12 = true;
                }
                'M' => minute = number(&mut pos, 2).ok_or_else(fail)?.0,
                'S' => second = number(&mut pos, 2).ok_or_else(fail)?.0,
                'j' => doy = Some(number(&mut pos, 3).ok_or_else(fail)?.0),
                'f' | 'g' => {
                    let width = if *c == 'f' { 6 } else { 3 };
                    let (v, digits) = number(&mut pos, width).ok_or_else(fail)?;
                    let scaled = v * 10i64.pow((width - digits) as u32);
                    micros = if *c == 'f' { scaled } else { scaled * 1000 };
                }
                'w' | 'u' => {
                    // The weekday only places a week-based date.
                    let (v, _) = number(&mut pos, 1).ok_or_else(fail)?;
                    let range = if *c == 'w' { 0..=6 } else { 1..=7 };
                    if !range.contains(&v) {
                        return Err(fail());
                    }
                    weekday = Some(v % 7);
                }
                'a' | 'A' => weekday = Some(name(&mut pos, &DAYS).ok_or_else(fail)? as i64),
                'b' | 'B' => month = name(&mut pos, &MONTHS).ok_or_else(fail)? as i64 + 1,
                'p' => {
                    let rest = text[pos..].get(..2).unwrap_or("");
                    pm = Some(if rest.eq_ignore_ascii_case("pm") {
                        true
                    } else if rest.eq_ignore_ascii_case("am") {
                        false
                    } else {
                        return Err(fail());
                    });
                    pos += 2;
                }
                _ => return Err(fail()),
            },
        }
    }
    if pos != b.len() {
        return Err(fail());
    }
    if h12 || pm.is_some() {
        if !(1..=12).contains(&hour) {
            return Err(fail());
        }
        hour = hour % 12 + if pm == Some(true) { 12 } else { 0 };
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(fail());
    }
    let days = match doy {
        None if !dated && week.is_some() => {
            let Some((kind, n)) = week else {
                return Err(fail());
            };
            // Day numbers of the week, Sunday = 0 and Monday = 0.
            let sunday_based = |d: i64| (d + 4).rem_euclid(7);
            let monday_based = |d: i64| (d + 3).rem_euclid(7);
            match kind {
                'U' => {
                    let jan1 = days_from_civil(year, 1, 1);
                    let first_sunday = jan1 + (7 - sunday_based(jan1)) % 7;
                    first_sunday + (n - 1) * 7 + weekday.unwrap_or(0)
                }
                'W' => {
                    let jan1 = days_from_civil(year, 1, 1);
                    let first_monday = jan1 + (7 - monday_based(jan1)) % 7;
                    first_monday + (n - 1) * 7 + (weekday.unwrap_or(1) + 6) % 7
                }
                _ => {
                    let jan4 = days_from_civil(iso_year.unwrap_or(year), 1, 4);
                    let week1 = jan4 - monday_based(jan4);
                    week1 + (n - 1) * 7 + (weekday.unwrap_or(1) + 6) % 7
                }
            }
        }
        Some(n) => {
            let first = days_from_civil(year, 1, 1);
            if n < 1 || n > days_from_civil(year + 1, 1, 1) - first {
                return Err(fail());
            }
            first + n - 1
        }
        None => {
            let ok = (1..=12).contains(&month)
                && (1..=31).contains(&day)
                && civil_from_days(days_from_civil(year, month as u32, day as u32))
                    == (year, month as u32, day as u32);
            if !ok {
                return Err(format!(
                    "Conversion Error: Date out of range: {year}-{month}-{day}"
                ));
            }
            days_from_civil(year, month as u32, day as u32)
        }
    };
    days.checked_mul(MICROS_PER_DAY)
        .and_then(|d| {
            d.checked_add(((hour * 60 + minute) * 60 + second) * MICROS_PER_SECOND + micros)
        })
        .ok_or_else(|| format!("Conversion Error: timestamp out of range: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert!(is_valid_date(y, m, d));
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn formats_and_parses() {
        let ts = parse_timestamp("2015-05-17T10:05:03.25+02:00").unwrap();
        assert_eq!(format_timestamp(ts), "2015-05-17 08:05:03.25");
        assert_eq!(parse_timestamp("1970-01-01"), Some(0));
        assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59.999999");
        assert_eq!(parse_timestamp("2015-02-30"), None);
        assert_eq!(
            parse_timestamp("2015-05-17 10:05"),
            Some(1_431_857_100 * MICROS_PER_SECOND)
        );
        assert_eq!(parse_timestamp("garbage"), None);
    }

    #[test]
    fn dates_format_and_parse() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date(" 1969-12-31 "), Some(-1));
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("2024-1-2 10:00"), Some(19_724));
        assert_eq!(parse_date("2024-01-02 25:00"), None);
        assert_eq!(parse_date("2024-01"), None);
        assert_eq!(format_day(19_723), "2024-01-01");
        assert_eq!(format_day(days_from_civil(0, 12, 31)), "0001-12-31 (BC)");
    }

    #[test]
    fn strftime_codes() {
        let ts = parse_timestamp("2024-03-05 07:08:09.123456").unwrap();
        let items =
            parse_format("%Y-%m-%d %H:%M:%S.%f %j %a %A %b %B %y %I %p %w %u %-d %g %%").unwrap();
        let mut s = String::new();
        strftime(&mut s, ts, &items);
        assert_eq!(
            s,
            "2024-03-05 07:08:09.123456 065 Tue Tuesday Mar March 24 07 AM 2 2 5 123 %"
        );
        assert!(parse_format("%e").is_err());
    }
}
