//! Synthetic nginx "combined" access logs with a trailing `$request_time`, for tests,
//! benchmarks and demos: the options, the profiles by name, the pieces the
//! generators share, and the `simple` profile.
//!
//! Two profiles: `realistic` (the default, `generate_realistic.rs`: ids in paths,
//! thousands of user agents, uneven days, error bursts) and `simple`, described here.
//!
//! The `simple` profile's output is deterministic for a seed and looks like real traffic where it matters
//! to a query engine: Zipf-distributed users (a few hot users write a large share of
//! all lines) carried as `uid=<id>` in the query string of most requests,
//! Zipf-distributed paths (some with their own query strings), mostly `200` with
//! `304`/`404`/`500`/`503` tails, mostly `GET`, log-normal request times and sizes, a
//! daily traffic cycle (busy afternoons, quiet nights), timestamps in non-decreasing
//! order over several days, a few dozen user agents, IPv4 and some IPv6 clients.
//!
//! Lines are assembled from precomputed pieces into one buffer: no formatting
//! machinery or allocation per line.

use std::io::{self, Write};

use crate::time::{civil_from_days, MICROS_PER_DAY, MICROS_PER_MINUTE, MICROS_PER_SECOND};

/// The shape of the generated traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// A shop's traffic: distinct paths about 5% of the lines (ids in paths), distinct
    /// users 10-25% with a few hot ones, ~2,000 user agents, uneven days, error bursts.
    #[default]
    Realistic,
    /// A fixed pool of `uris` paths and `users` users, a few dozen user agents, days of
    /// equal size.
    Simple,
}

impl Profile {
    /// Every profile by name.
    pub const ALL: [(&'static str, Profile); 2] = [
        ("realistic", Profile::Realistic),
        ("simple", Profile::Simple),
    ];

    /// The profile called `name`.
    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|p| p.1)
    }

    pub fn name(self) -> &'static str {
        match self {
            Profile::Realistic => "realistic",
            Profile::Simple => "simple",
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// The shape of the traffic; `users`, `uris`, `uid_fraction` and `ipv6_fraction`
    /// apply to the `simple` profile only (the realistic one scales with `lines`).
    pub profile: Profile,
    /// Seed of the pseudo-random generator: the same options give the same bytes.
    pub seed: u64,
    /// Number of lines.
    pub lines: u64,
    /// Days of traffic the lines are spread over.
    pub days: u32,
    /// Start of the first day, UTC microseconds.
    pub start: i64,
    /// Distinct users (uids).
    pub users: u32,
    /// Distinct paths.
    pub uris: u32,
    /// Share of requests that carry `uid=` in their query string.
    pub uid_fraction: f64,
    /// Share of users with an IPv6 address.
    pub ipv6_fraction: f64,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            profile: Profile::Realistic,
            seed: 42,
            lines: 1_000_000,
            days: 7,
            // 2024-01-01T00:00:00Z
            start: 1_704_067_200 * MICROS_PER_SECOND,
            users: 100_000,
            uris: 5_000,
            uid_fraction: 0.9,
            ipv6_fraction: 0.1,
        }
    }
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenStats {
    pub lines: u64,
    pub bytes: u64,
    /// Timestamps of the first and last line (UTC microseconds).
    pub first_ts: i64,
    pub last_ts: i64,
}

/// SplitMix64: small, fast and good enough for synthetic data.
#[derive(Clone, Debug)]
pub(super) struct Rng(pub(super) u64);

impl Rng {
    #[inline]
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    #[inline]
    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n).
    #[inline]
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }
}

/// Walker/Vose alias table: O(1) sampling from a discrete distribution.
#[derive(Debug)]
pub(super) struct Alias {
    /// Probability (scaled to 2^32) of keeping slot `i` rather than its alias.
    keep: Vec<u32>,
    alias: Vec<u32>,
}

impl Alias {
    pub(super) fn new(weights: &[f64]) -> Alias {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut keep = vec![u32::MAX; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            keep[s] = (scaled[s] * 4_294_967_296.0).min(u32::MAX as f64) as u32;
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        Alias { keep, alias }
    }

    #[inline]
    pub(super) fn sample(&self, rng: &mut Rng) -> usize {
        let r = rng.next();
        let i = (((r >> 32) * self.keep.len() as u64) >> 32) as usize;
        if (r as u32) < self.keep[i] {
            i
        } else {
            self.alias[i] as usize
        }
    }
}

pub(super) fn zipf_weights(n: usize, s: f64) -> Vec<f64> {
    (1..=n).map(|k| (k as f64).powf(-s)).collect()
}

/// Many strings in one buffer.
#[derive(Debug, Default)]
struct Strings {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Strings {
    fn push(&mut self, s: &str) {
        self.bytes.extend_from_slice(s.as_bytes());
        self.ends.push(self.bytes.len());
    }

    /// Appends a string written by `f` straight into the buffer.
    fn push_with(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        f(&mut self.bytes);
        self.ends.push(self.bytes.len());
    }

    #[inline]
    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/105.0.0.0",
    "Mozilla/5.0 (Windows NT 6.1; Win64; x64; Trident/7.0; rv:11.0) like Gecko",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "curl/8.4.0",
    "curl/7.81.0",
    "Wget/1.21.4",
    "python-requests/2.31.0",
    "Go-http-client/2.0",
    "okhttp/4.12.0",
    "Apache-HttpClient/4.5.14 (Java/17.0.9)",
    "PostmanRuntime/7.36.0",
    "kube-probe/1.28",
    "Prometheus/2.48.0",
    "-",
];

const METHODS: &[(&str, f64)] = &[
    ("GET", 88.0),
    ("POST", 8.0),
    ("HEAD", 2.0),
    ("PUT", 1.0),
    ("DELETE", 0.5),
    ("OPTIONS", 0.3),
    ("PATCH", 0.2),
];

const STATUSES: &[(u16, f64)] = &[
    (200, 85.0),
    (304, 6.0),
    (404, 3.5),
    (302, 1.5),
    (301, 1.0),
    (206, 0.3),
    (400, 0.5),
    (401, 0.4),
    (403, 0.4),
    (500, 0.8),
    (502, 0.2),
    (503, 0.5),
    (504, 0.1),
];

const SECTIONS: &[&str] = &[
    "products",
    "category",
    "blog",
    "docs",
    "users",
    "search",
    "cart",
    "account",
    "help",
    "news",
    "api/v1/items",
    "api/v1/orders",
    "api/v2/events",
    "static/js",
    "static/css",
    "images",
    "downloads",
    "tags",
    "events",
    "forum",
];

pub(super) const WORDS: &[&str] = &[
    "alpha", "blue", "coffee", "delta", "echo", "forest", "garden", "harbor", "island", "jungle",
    "kettle", "lemon", "mountain", "nebula", "orange", "piano", "quartz", "river", "summer",
    "tiger", "umbrella", "violet", "winter", "yellow", "zebra",
];

/// The i-th path, with a query string for some.
fn make_uri(i: usize, rng: &mut Rng) -> String {
    if i == 0 {
        return "/".into();
    }
    let section = SECTIONS[i % SECTIONS.len()];
    let word = WORDS[(i / SECTIONS.len()) % WORDS.len()];
    let n = i / (SECTIONS.len() * WORDS.len());
    let mut uri = match section {
        "static/js" => format!("/static/js/{word}.{:08x}.js", rng.next() as u32),
        "static/css" => format!("/static/css/{word}-{n}.css"),
        "images" => format!("/images/{word}/{n}.jpg"),
        "api/v1/items" | "api/v1/orders" | "api/v2/events" => format!("/{section}/{}", i * 7),
        _ if n == 0 => format!("/{section}/{word}"),
        _ => format!("/{section}/{word}/{n}"),
    };
    match rng.below(10) {
        0 => uri.push_str(&format!("?page={}", 1 + rng.below(20))),
        1 => uri.push_str(&format!(
            "?q={}+{}&lang=en",
            WORDS[rng.below(WORDS.len() as u64) as usize],
            WORDS[rng.below(WORDS.len() as u64) as usize]
        )),
        2 if section.starts_with("api") => uri.push_str("?format=json&v=2"),
        _ => {}
    }
    uri
}

fn make_ip(rng: &mut Rng, v6: bool) -> String {
    let r = rng.next();
    if v6 {
        format!(
            "2001:db8:{:x}:{:x}::{:x}",
            (r >> 48) as u16,
            (r >> 32) as u16,
            (r as u16) | 1
        )
    } else {
        // Public-looking first octets (no 0, 10, 127 or multicast).
        let a = [
            23, 31, 46, 62, 77, 81, 89, 91, 93, 104, 151, 176, 185, 188, 203, 212,
        ][(r & 15) as usize];
        format!(
            "{a}.{}.{}.{}",
            (r >> 8) as u8,
            (r >> 16) as u8,
            1 + (r >> 24) as u8 % 254
        )
    }
}

/// Size of the table of normal samples (a power of two).
pub(super) const NORMALS: usize = 4096;

/// A log-normal request time in milliseconds for a standard normal sample `z`.
fn request_millis(median_secs: f64, z: f64) -> u64 {
    ((median_secs * (1.1 * z).exp()).min(120.0) * 1000.0).round() as u64
}

/// Standard normal samples (Box-Muller), drawn once and reused by index.
pub(super) fn normal_table(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let u1 = rng.unit().max(1e-12);
            let u2 = rng.unit();
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        })
        .collect()
}

#[inline]
pub(super) fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

#[inline]
pub(super) fn push_2(buf: &mut Vec<u8>, v: u32) {
    buf.push(b'0' + (v / 10) as u8);
    buf.push(b'0' + (v % 10) as u8);
}

/// Appends `millis` as seconds with three decimals (`0.042`).
pub(super) fn push_seconds(buf: &mut Vec<u8>, millis: u64) {
    push_u64(buf, millis / 1000);
    buf.push(b'.');
    let frac = millis % 1000;
    buf.push(b'0' + (frac / 100) as u8);
    push_2(buf, (frac % 100) as u32);
}

/// Writes `buf` out once it holds a megabyte (or whenever `all`), counting its bytes.
pub(super) fn flush(
    buf: &mut Vec<u8>,
    out: &mut impl Write,
    stats: &mut GenStats,
    all: bool,
) -> io::Result<()> {
    if all || buf.len() >= 1 << 20 {
        out.write_all(buf)?;
        stats.bytes += buf.len() as u64;
        buf.clear();
    }
    Ok(())
}

/// `dd/Mon/yyyy:HH:MM:SS +0000` of a UTC timestamp.
pub(super) fn write_clf_time(buf: &mut Vec<u8>, ts: i64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = civil_from_days(ts.div_euclid(MICROS_PER_DAY));
    let secs = ts.rem_euclid(MICROS_PER_DAY) / MICROS_PER_SECOND;
    push_2(buf, d);
    buf.push(b'/');
    buf.extend_from_slice(MONTHS[m as usize - 1].as_bytes());
    buf.push(b'/');
    push_u64(buf, y.max(0) as u64);
    buf.push(b':');
    push_2(buf, (secs / 3600) as u32);
    buf.push(b':');
    push_2(buf, (secs / 60 % 60) as u32);
    buf.push(b':');
    push_2(buf, (secs % 60) as u32);
    buf.extend_from_slice(b" +0000");
}

/// Relative traffic in each minute of a day: quiet around 04:00, busiest at 16:00.
fn minute_weights() -> Vec<f64> {
    (0..1440)
        .map(|m| {
            let h = m as f64 / 60.0;
            1.0 + 0.8 * (std::f64::consts::TAU * (h - 16.0) / 24.0).cos()
        })
        .collect()
}

/// Writes `opts.lines` log lines of `opts.profile` to `out`.
pub fn generate(opts: &GenOptions, out: &mut impl Write) -> io::Result<GenStats> {
    match opts.profile {
        Profile::Realistic => super::generate_realistic::generate_realistic(opts, out),
        Profile::Simple => generate_simple(opts, out),
    }
}

/// The `simple` profile.
fn generate_simple(opts: &GenOptions, out: &mut impl Write) -> io::Result<GenStats> {
    let mut rng = Rng(opts.seed ^ 0x6C6F_6764_625F_6765);
    let users = opts.users.max(1) as usize;
    let uris = opts.uris.max(1) as usize;
    let days = opts.days.max(1) as u64;

    // Users: a shuffled id, an address and a usual user agent each, by Zipf rank.
    let mut ids: Vec<u32> = (0..users as u32).collect();
    for i in (1..users).rev() {
        ids.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut uids = Strings::default();
    let mut ips = Strings::default();
    let mut user_ua = Vec::with_capacity(users);
    let ua_pick = Alias::new(&zipf_weights(USER_AGENTS.len(), 1.2));
    for &id in &ids {
        uids.push_with(|b| push_u64(b, 100_000 + id as u64));
        let v6 = rng.unit() < opts.ipv6_fraction;
        ips.push(&make_ip(&mut rng, v6));
        user_ua.push(ua_pick.sample(&mut rng) as u8);
    }
    // s = 1.2: at 10M lines over a week the top users write 100k-300k lines a day.
    let user_pick = Alias::new(&zipf_weights(users, 1.2));

    let mut paths = Strings::default();
    for i in 0..uris {
        paths.push(&make_uri(i, &mut rng));
    }
    let uri_pick = Alias::new(&zipf_weights(uris, 1.0));
    let normals = normal_table(&mut rng, NORMALS);
    // A typical response size per path (log-normal, median 4 KB).
    let sizes: Vec<f64> = (0..uris)
        .map(|i| 4096.0 * (1.3 * normals[(i * 7 + 3) % NORMALS]).exp())
        .collect();
    // Per-line noise on sizes, and request times in milliseconds (log-normal, median
    // 40 ms, slower for server errors), as tables indexed by a random number.
    let size_noise: Vec<f64> = normals.iter().map(|z| (0.25 * z).exp()).collect();
    let millis_ok: Vec<u64> = normals.iter().map(|&z| request_millis(0.04, z)).collect();
    let millis_err: Vec<u64> = normals.iter().map(|&z| request_millis(0.8, z)).collect();

    let mut referers = Strings::default();
    referers.push("-");
    for r in [
        "https://www.google.com/",
        "https://www.bing.com/",
        "https://duckduckgo.com/",
        "https://t.co/x7Hq2Lm",
        "https://news.ycombinator.com/",
    ] {
        referers.push(r);
    }
    for i in 0..uris.min(200) {
        let p = paths.get(i);
        referers.push(&format!(
            "https://www.example.com{}",
            String::from_utf8_lossy(p)
        ));
    }
    let mut referer_w = vec![35.0, 12.0, 3.0, 1.0, 1.0, 0.5];
    referer_w.extend(
        zipf_weights(referers.len() - 6, 1.0)
            .iter()
            .map(|w| w * 40.0),
    );
    let referer_pick = Alias::new(&referer_w);
    let method_pick = Alias::new(&METHODS.iter().map(|m| m.1).collect::<Vec<_>>());
    let status_pick = Alias::new(&STATUSES.iter().map(|s| s.1).collect::<Vec<_>>());

    // Time: line i sits at traffic mass (i + u) / lines of the whole period.
    let weights = minute_weights();
    let mut cum = Vec::with_capacity(1441);
    cum.push(0.0);
    for w in &weights {
        cum.push(cum.last().copied().unwrap_or(0.0) + w);
    }
    let day_mass = cum[1440];

    let mut buf: Vec<u8> = Vec::with_capacity(1 << 21);
    let mut stats = GenStats::default();
    let mut time_text: Vec<u8> = Vec::with_capacity(32);
    let mut time_second = i64::MIN;
    let mut minute = 0usize;
    let mut current_day = u64::MAX;
    let lines = opts.lines;
    for i in 0..lines {
        let mass = (i as f64 + rng.unit()) / lines as f64 * days as f64;
        let day = (mass as u64).min(days - 1);
        if day != current_day {
            current_day = day;
            minute = 0;
        }
        let target = (mass - day as f64).min(1.0) * day_mass;
        while minute < 1439 && cum[minute + 1] <= target {
            minute += 1;
        }
        let within = ((target - cum[minute]) / weights[minute]).clamp(0.0, 0.999_999);
        let ts = opts.start
            + day as i64 * MICROS_PER_DAY
            + minute as i64 * MICROS_PER_MINUTE
            + (within * MICROS_PER_MINUTE as f64) as i64;
        if i == 0 {
            stats.first_ts = ts;
        }
        stats.last_ts = ts;
        let second = ts.div_euclid(MICROS_PER_SECOND);
        if second != time_second {
            time_second = second;
            time_text.clear();
            write_clf_time(&mut time_text, second * MICROS_PER_SECOND);
        }

        let user = user_pick.sample(&mut rng);
        let path = uri_pick.sample(&mut rng);
        let r = rng.next();
        let (method, _) = METHODS[method_pick.sample(&mut rng)];
        let (status, _) = STATUSES[status_pick.sample(&mut rng)];
        let n1 = (r & (NORMALS as u64 - 1)) as usize;
        let n2 = ((r >> 12) & (NORMALS as u64 - 1)) as usize;

        buf.extend_from_slice(ips.get(user));
        buf.extend_from_slice(b" - - [");
        buf.extend_from_slice(&time_text);
        buf.extend_from_slice(b"] \"");
        buf.extend_from_slice(method.as_bytes());
        buf.push(b' ');
        let p = paths.get(path);
        buf.extend_from_slice(p);
        if ((r >> 24) & 0xFFFF) as f64 / 65_536.0 < opts.uid_fraction {
            buf.extend_from_slice(if p.contains(&b'?') {
                b"&uid="
            } else {
                b"?uid="
            });
            buf.extend_from_slice(uids.get(user));
        }
        buf.extend_from_slice(if (r >> 40) & 7 == 0 {
            b" HTTP/2.0\" "
        } else {
            b" HTTP/1.1\" "
        });
        push_u64(&mut buf, status as u64);
        buf.push(b' ');
        let bytes = if status == 304 || method == "HEAD" {
            0
        } else if status >= 300 {
            150 + ((r >> 44) & 511)
        } else {
            (sizes[path] * size_noise[n1]) as u64
        };
        push_u64(&mut buf, bytes);
        buf.extend_from_slice(b" \"");
        buf.extend_from_slice(referers.get(referer_pick.sample(&mut rng)));
        buf.extend_from_slice(b"\" \"");
        let ua = if (r >> 53) & 15 == 0 {
            ua_pick.sample(&mut rng)
        } else {
            user_ua[user] as usize
        };
        buf.extend_from_slice(USER_AGENTS[ua].as_bytes());
        buf.extend_from_slice(b"\" ");
        let millis = if status >= 500 {
            millis_err[n2]
        } else {
            millis_ok[n2]
        };
        push_seconds(&mut buf, millis);
        buf.push(b'\n');
        flush(&mut buf, out, &mut stats, false)?;
    }
    flush(&mut buf, out, &mut stats, true)?;
    stats.lines = lines;
    let _ = referers.len();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::{BatchBuilder, ColumnData};
    use crate::ingest::{parser_for, ParserOptions};

    fn small() -> GenOptions {
        GenOptions {
            profile: Profile::Simple,
            lines: 20_000,
            days: 2,
            users: 2_000,
            uris: 500,
            ..Default::default()
        }
    }

    #[test]
    fn deterministic_and_round_trips() {
        let mut a = Vec::new();
        let stats = generate(&small(), &mut a).unwrap();
        let mut b = Vec::new();
        generate(&small(), &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(stats.bytes, a.len() as u64);
        assert_eq!(stats.lines, 20_000);

        let mut p = parser_for("combined", &ParserOptions::default()).unwrap();
        let mut out = BatchBuilder::new(p.schema());
        let mut rejects = Vec::new();
        let n = p.parse_chunk(&a, 1, &mut out, &mut rejects);
        assert_eq!(rejects, vec![]);
        assert_eq!(n, 20_000);
        let batch = out.finish();
        let ColumnData::Int64(ts) = &batch.columns[0].data else {
            panic!()
        };
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "time goes forward");
        assert_eq!(
            ts[0] / MICROS_PER_SECOND,
            stats.first_ts / MICROS_PER_SECOND
        );
        let span = ts[ts.len() - 1] - ts[0];
        assert!(span > MICROS_PER_DAY * 19 / 10 && span < 2 * MICROS_PER_DAY);
        let uid = &batch.columns[13];
        let with_uid = uid.len() - uid.null_count();
        assert!((17_000..19_000).contains(&with_uid), "{with_uid}");
        assert!(batch.columns[12].null_count() == 0);
    }

    #[test]
    fn skewed_users_and_daily_cycle() {
        let mut data = Vec::new();
        generate(&small(), &mut data).unwrap();
        let text = String::from_utf8(data).unwrap();
        let mut counts = std::collections::HashMap::new();
        let mut hours = [0u32; 24];
        let mut v6 = 0;
        for line in text.lines() {
            if let Some(i) = line.find("uid=") {
                let id = line[i + 4..].split([' ', '&']).next().unwrap();
                *counts.entry(id.to_string()).or_insert(0u32) += 1;
            }
            let h: usize = line[line.find('[').unwrap() + 13..][..2].parse().unwrap();
            hours[h] += 1;
            v6 += usize::from(line.split(' ').next().unwrap().contains(':'));
        }
        let top = counts.values().max().copied().unwrap();
        assert!(top > 1000, "the hottest user has {top} lines");
        assert!(hours[16] > 4 * hours[4], "{hours:?}");
        assert!((500..4000).contains(&v6), "{v6}");
    }
}
