//! `logdb generate --kind records`: a CSV of user activity records, in the shape of a
//! published case (131.7 million rows of one year, counted by day, hour, user,
//! terminal and system).
//!
//! Header `user_id,access_time,terminal,module,content`. One leap year (366 days from
//! `start`) of very uneven days: weekdays busier than weekends, a seasonal swing, a
//! random ±15%, a few spike days three to five times the usual. `user_id` integers
//! follow a power law over a pool of up to a million users; three user-days hold about
//! 5% of all rows each (one user writing a whole batch job's worth of lines in one
//! day). `terminal` is an IPv4 address, one to three per user; `module` one of 50
//! systems, skewed; `content` free text of varied length, some of it with commas or
//! quotes (quoted as CSV says: `"..."` with `""` inside). `access_time` is
//! `YYYY-MM-DD HH:MM:SS`; rows come in time order except 0.1% late rows, written
//! minutes to days after their time. Deterministic for a seed.

use std::io::{self, Write};

use super::generate::{flush, push_2, push_u64, zipf_weights, Alias, GenStats, Rng, WORDS};
use crate::time::{civil_from_days, MICROS_PER_DAY, MICROS_PER_SECOND};

/// What to generate.
#[derive(Clone, Debug)]
pub struct RecordOptions {
    pub seed: u64,
    /// Number of rows (after the header).
    pub rows: u64,
    /// Start of the first day, UTC microseconds (2024-01-01: 366 days).
    pub start: i64,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            seed: 42,
            rows: 1_000_000,
            start: 1_704_067_200 * MICROS_PER_SECOND,
        }
    }
}

/// Days of one leap year.
pub const RECORD_DAYS: usize = 366;
/// The users of the largest runs; smaller runs use a pool of rows / 20.
const MAX_USERS: u64 = 1_000_000;
/// Each hot user-day's share of all rows.
const HOT_DAY_SHARE: f64 = 0.05;
const HOT_DAYS: usize = 3;
/// Share of rows written after their time.
const LATE_SHARE: f64 = 0.001;

const MODULES: &[&str] = &[
    "portal",
    "mail",
    "hr",
    "finance",
    "crm",
    "erp",
    "oa",
    "wiki",
    "vpn",
    "payroll",
    "procurement",
    "inventory",
    "sales",
    "marketing",
    "support",
    "ticketing",
    "reports",
    "bi",
    "dashboard",
    "audit",
    "security",
    "iam",
    "sso",
    "git",
    "ci",
    "build",
    "deploy",
    "monitoring",
    "logging",
    "backup",
    "storage",
    "fileshare",
    "chat",
    "meeting",
    "calendar",
    "training",
    "recruiting",
    "legal",
    "contracts",
    "assets",
    "facilities",
    "travel",
    "expenses",
    "budget",
    "tax",
    "compliance",
    "archive",
    "search",
    "api-gateway",
    "admin",
];

const ACTIONS: &[&str] = &[
    "login", "logout", "view", "open", "search", "export", "download", "upload", "update",
    "create", "delete", "approve", "reject", "submit", "print", "share", "query", "sync",
];

const OBJECTS: &[&str] = &[
    "record",
    "report",
    "document",
    "invoice",
    "order",
    "ticket",
    "contract",
    "user",
    "page",
    "file",
    "folder",
    "dashboard",
    "request",
    "form",
    "list",
    "message",
];

/// Relative activity of each hour: office hours, a lunch dip, a little at night.
const HOURS: [f64; 24] = [
    0.15, 0.08, 0.05, 0.04, 0.04, 0.08, 0.25, 0.6, 1.6, 2.6, 2.8, 2.4, 1.3, 1.7, 2.6, 2.7, 2.4,
    1.8, 0.9, 0.6, 0.55, 0.45, 0.35, 0.25,
];

/// Writes the header and `opts.rows` rows to `out`.
pub fn generate_records(opts: &RecordOptions, out: &mut impl Write) -> io::Result<GenStats> {
    let mut rng = Rng(opts.seed ^ 0x7265_636F_7264_7321);
    let n = opts.rows;
    let start_day = opts.start.div_euclid(MICROS_PER_DAY);

    // Day sizes: weekly and seasonal swings, noise, a few spikes.
    let mut weights: Vec<f64> = (0..RECORD_DAYS)
        .map(|d| {
            let weekday = (start_day + d as i64 + 3).rem_euclid(7); // 0 = Monday
            let week = [1.1, 1.0, 1.0, 0.95, 0.85, 0.3, 0.2][weekday as usize];
            let year = d as f64 / RECORD_DAYS as f64 * std::f64::consts::TAU;
            // Quiet in early February and in August, busy at the quarter ends.
            let season = 1.0 + 0.25 * year.cos() - 0.2 * (2.0 * year - 1.0).cos().max(0.0)
                + 0.15 * (4.0 * year - 1.5).cos();
            week * season * (0.85 + 0.3 * rng.unit())
        })
        .collect();
    for _ in 0..5 {
        let d = rng.below(RECORD_DAYS as u64) as usize;
        weights[d] *= 3.0 + 2.0 * rng.unit();
    }
    let hot_days: Vec<usize> = (0..HOT_DAYS)
        .map(|i| (40 + i * 117 + rng.below(30) as usize) % RECORD_DAYS)
        .collect();
    let hot_rows = (n as f64 * HOT_DAY_SHARE) as u64;
    let base = n.saturating_sub(hot_rows * HOT_DAYS as u64);
    let total: f64 = weights.iter().sum();
    let mut rows_per_day: Vec<u64> = weights
        .iter()
        .map(|w| (base as f64 * w / total) as u64)
        .collect();
    let assigned: u64 = rows_per_day.iter().sum();
    // Rounding leftovers go to the busiest day.
    let busiest = (0..RECORD_DAYS)
        .max_by(|&a, &b| weights[a].total_cmp(&weights[b]))
        .unwrap_or(0);
    rows_per_day[busiest] += base - assigned;
    for &d in &hot_days {
        rows_per_day[d] += hot_rows;
    }
    if n < hot_rows * HOT_DAYS as u64 {
        rows_per_day = vec![0; RECORD_DAYS];
        rows_per_day[0] = n;
    }

    let users = (n / 20).clamp(1_000, MAX_USERS);
    let user_pick = Alias::new(&zipf_weights(users as usize, 0.9));
    // Ranks to ids that do not sort like ranks.
    let mut ids: Vec<u32> = (0..users as u32).collect();
    for i in (1..ids.len()).rev() {
        ids.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let hot_users: Vec<u64> = (0..HOT_DAYS)
        .map(|i| rng.below(users / 50 + 1) + i as u64)
        .collect();
    let module_pick = Alias::new(&zipf_weights(MODULES.len(), 1.1));
    let action_pick = Alias::new(&zipf_weights(ACTIONS.len(), 0.9));
    let object_pick = Alias::new(&zipf_weights(OBJECTS.len(), 0.8));
    let word_pick = Alias::new(&zipf_weights(WORDS.len(), 0.7));
    let mut hour_cum = [0.0f64; 25];
    for h in 0..24 {
        hour_cum[h + 1] = hour_cum[h] + HOURS[h];
    }

    let mut buf: Vec<u8> = Vec::with_capacity(1 << 21);
    buf.extend_from_slice(b"user_id,access_time,terminal,module,content\n");
    let mut stats = GenStats::default();
    let mut date_text = DateCache {
        day: 0,
        text: Vec::new(),
    };
    let mut written = 0u64;
    for (d, &rows) in rows_per_day.iter().enumerate() {
        let day = start_day + d as i64;
        let hot = hot_days.iter().position(|&h| h == d);
        let hot_share = if rows > 0 {
            hot_rows as f64 / rows as f64
        } else {
            0.0
        };
        let mut hour = 0usize;
        for i in 0..rows {
            // Time of day by the hourly curve, in order.
            let target = (i as f64 + rng.unit()) / rows as f64 * hour_cum[24];
            while hour < 23 && hour_cum[hour + 1] <= target {
                hour += 1;
            }
            let within = ((target - hour_cum[hour]) / HOURS[hour]).clamp(0.0, 0.999_999);
            let mut secs = day * 86_400 + hour as i64 * 3600 + (within * 3600.0) as i64;
            let r = rng.next();
            if rng.unit() < LATE_SHARE {
                // Late: minutes to days (log-uniform between 1 minute and 5 days).
                let late = (60.0 * (7200.0f64).powf(rng.unit())) as i64;
                secs = (secs - late).max(start_day * 86_400);
            }
            let rank = match hot {
                Some(k) if rng.unit() < hot_share => hot_users[k],
                _ => user_pick.sample(&mut rng) as u64,
            };
            let user = 100_000 + ids[rank as usize] as u64;

            push_u64(&mut buf, user);
            buf.push(b',');
            write_time(&mut buf, secs, &mut date_text);
            buf.push(b',');
            // Terminal: one to three addresses per user.
            let h = mix(user ^ opts.seed);
            let terminal = h.wrapping_add(if r & 7 == 0 { (r >> 3) % 3 } else { 0 });
            let th = mix(terminal);
            buf.extend_from_slice(if th & 1 == 0 { b"10." } else { b"172." });
            push_u64(
                &mut buf,
                if th & 1 == 0 {
                    (th >> 8) & 255
                } else {
                    16 + (th >> 8) % 16
                },
            );
            buf.push(b'.');
            push_u64(&mut buf, (th >> 16) & 255);
            buf.push(b'.');
            push_u64(&mut buf, 1 + (th >> 24) % 254);
            buf.push(b',');
            // Module: the user's usual system most of the time.
            let module = if (r >> 8) & 3 == 0 {
                (h >> 32) as usize % MODULES.len()
            } else {
                module_pick.sample(&mut rng)
            };
            buf.extend_from_slice(MODULES[module].as_bytes());
            buf.push(b',');
            write_content(
                &mut buf,
                &mut rng,
                r,
                &[&action_pick, &object_pick, &word_pick],
            );
            buf.push(b'\n');
            written += 1;

            flush(&mut buf, out, &mut stats, false)?;
        }
    }
    flush(&mut buf, out, &mut stats, true)?;
    stats.lines = written;
    stats.first_ts = start_day * MICROS_PER_DAY;
    stats.last_ts = (start_day + RECORD_DAYS as i64) * MICROS_PER_DAY - MICROS_PER_SECOND;
    Ok(stats)
}

/// A 64-bit mix (SplitMix64's finalizer).
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The text of the last day written, so that a date is formatted once a day.
struct DateCache {
    day: i64,
    text: Vec<u8>,
}

/// `YYYY-MM-DD HH:MM:SS` of a second since the epoch.
fn write_time(buf: &mut Vec<u8>, secs: i64, date: &mut DateCache) {
    let day = secs.div_euclid(86_400);
    if date.day != day || date.text.is_empty() {
        let (y, m, d) = civil_from_days(day);
        date.day = day;
        date.text.clear();
        push_u64(&mut date.text, y.max(0) as u64);
        date.text.push(b'-');
        push_2(&mut date.text, m);
        date.text.push(b'-');
        push_2(&mut date.text, d);
    }
    buf.extend_from_slice(&date.text);
    let s = secs.rem_euclid(86_400) as u32;
    buf.push(b' ');
    push_2(buf, s / 3600);
    buf.push(b':');
    push_2(buf, s / 60 % 60);
    buf.push(b':');
    push_2(buf, s % 60);
}

/// Free text of varied length; about one in twelve has a comma or quotes and is
/// written quoted.
fn write_content(buf: &mut Vec<u8>, rng: &mut Rng, r: u64, picks: &[&Alias; 3]) {
    let mut text: Vec<u8> = Vec::with_capacity(128);
    text.extend_from_slice(ACTIONS[picks[0].sample(rng)].as_bytes());
    text.push(b' ');
    text.extend_from_slice(OBJECTS[picks[1].sample(rng)].as_bytes());
    text.push(b' ');
    push_u64(&mut text, rng.below(1_000_000));
    // Length: mostly short, some long (a log-like tail of words).
    let words = match (r >> 16) & 15 {
        0..=8 => 0,
        9..=12 => 1 + (r >> 20) % 4,
        13 | 14 => 5 + (r >> 20) % 12,
        _ => 20 + (r >> 20) % 40,
    };
    for _ in 0..words {
        text.push(b' ');
        text.extend_from_slice(WORDS[picks[2].sample(rng)].as_bytes());
    }
    match (r >> 24) & 31 {
        0 => text.extend_from_slice(b", status ok"),
        1 => {
            text.extend_from_slice(b" name=\"");
            text.extend_from_slice(WORDS[(r >> 30) as usize % WORDS.len()].as_bytes());
            text.extend_from_slice(b"\"");
        }
        2 => text.extend_from_slice(b" (filter: dept, month)"),
        3 => text.extend_from_slice(" — résumé übersicht".as_bytes()),
        _ => {}
    }
    if text.iter().any(|&b| b == b',' || b == b'"') {
        buf.push(b'"');
        for &b in &text {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(&text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn records(rows: u64, seed: u64) -> Vec<u8> {
        let opts = RecordOptions {
            rows,
            seed,
            ..RecordOptions::default()
        };
        let mut out = Vec::new();
        let stats = generate_records(&opts, &mut out).unwrap();
        assert_eq!(stats.lines, rows);
        assert_eq!(stats.bytes, out.len() as u64);
        out
    }

    /// The fields of one row (CSV quoting undone).
    fn fields(line: &str) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    out.last_mut().unwrap().push('"');
                }
                '"' => quoted = !quoted,
                ',' if !quoted => out.push(String::new()),
                _ => out.last_mut().unwrap().push(c),
            }
        }
        out
    }

    #[test]
    fn records_have_the_published_shape() {
        let n = 100_000;
        let data = records(n, 42);
        let text = std::str::from_utf8(&data).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("user_id,access_time,terminal,module,content")
        );
        let mut per_day: HashMap<String, u64> = HashMap::new();
        let mut user_days: HashMap<(String, String), u64> = HashMap::new();
        let mut modules: HashMap<String, u64> = HashMap::new();
        let mut terminals: HashMap<String, Vec<String>> = HashMap::new();
        let (mut quoted, mut late, mut rows) = (0, 0, 0u64);
        let mut newest = String::new();
        for line in lines {
            rows += 1;
            quoted += usize::from(line.contains('"'));
            let f = fields(line);
            assert_eq!(f.len(), 5, "{line}");
            f[0].parse::<u64>().unwrap();
            let time = &f[1];
            assert_eq!(time.len(), 19, "{time}");
            assert!(time.starts_with("2024-"), "{time}");
            if time.as_str() < newest.as_str() {
                late += 1;
            } else {
                newest = time.clone();
            }
            let day = time[..10].to_string();
            *per_day.entry(day.clone()).or_default() += 1;
            *user_days.entry((f[0].clone(), day)).or_default() += 1;
            *modules.entry(f[3].clone()).or_default() += 1;
            assert_eq!(f[2].split('.').count(), 4, "{}", f[2]);
            let t = terminals.entry(f[0].clone()).or_default();
            if !t.contains(&f[2]) {
                t.push(f[2].clone());
            }
            assert!(!f[4].is_empty());
        }
        assert_eq!(rows, n);
        // One leap year, days of very uneven size.
        assert_eq!(per_day.len(), 366);
        let max = *per_day.values().max().unwrap();
        let min = *per_day.values().min().unwrap();
        assert!(max > 20 * min, "{min}..{max}");
        // Three user-days of about 5% each, then far less.
        let mut top: Vec<u64> = user_days.values().copied().collect();
        top.sort_unstable_by(|a, b| b.cmp(a));
        assert!(
            top[..3].iter().all(|&c| (4_500..5_500).contains(&c)),
            "{:?}",
            &top[..5]
        );
        assert!(top[3] < 1_000, "{:?}", &top[..5]);
        // Skewed modules, a few terminals per user, some quoted text, 0.1% late rows.
        assert!((40..=50).contains(&modules.len()), "{}", modules.len());
        let top_module = *modules.values().max().unwrap();
        assert!(top_module > 10 * *modules.values().min().unwrap());
        assert!(terminals.values().all(|t| t.len() <= 3));
        assert!((2_000..20_000).contains(&quoted), "{quoted}");
        assert!((40..200).contains(&late), "{late}");
    }

    #[test]
    fn records_are_deterministic_for_a_seed() {
        assert_eq!(records(5_000, 3), records(5_000, 3));
        assert_ne!(records(5_000, 3), records(5_000, 4));
        // Fewer rows than the hot user-days need: all rows on the first day.
        let tiny = records(10, 1);
        assert_eq!(String::from_utf8(tiny).unwrap().lines().count(), 11);
    }
}
