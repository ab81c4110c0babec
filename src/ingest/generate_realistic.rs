//! The `realistic` profile of `logdb generate`: nginx "combined" access logs with a
//! trailing `$request_time`, shaped like a busy shop's traffic rather than a tidy one.
//!
//! For N lines: request paths carry ids (`/api/v1/users/48213/orders`,
//! `/product/12345`, `/images/products/812/3.jpg`), so distinct paths are about 5% of
//! the lines, with a power-law popularity; users (`uid=` in the query string) follow a
//! power law over a pool proportional to N (distinct uids 10-25% of the lines) plus
//! four hot users with 1.2-3% of all lines each; about 2,000 user agents built from
//! browser, version and OS combinations and a few dozen bots, skewed; client
//! addresses per user (a usual one, sometimes a second), per anonymous visitor and
//! per bot (about 20% of the lines distinct); days of uneven size (weekends quieter,
//! a few busy days) with a diurnal curve; mostly `200`, some `304`/`301`/`404`, rare
//! `5xx` outside a few minutes-long error bursts; request times log-normal with a
//! Pareto tail. Timestamps never decrease. Deterministic for a seed.
//!
//! Entities (users, products, addresses) are ranks drawn from a power law without a
//! table (the inverse of its continuous distribution function), scattered into ids by
//! an odd multiplier modulo a power of two, so that their attributes come from a hash
//! of the id: no per-entity state, whatever N.

use std::io::{self, Write};

use super::generate::{
    flush, normal_table, push_seconds, push_u64, write_clf_time, zipf_weights, Alias, GenOptions,
    GenStats, Rng, NORMALS, WORDS,
};
use crate::time::{MICROS_PER_DAY, MICROS_PER_MINUTE};

/// Ranks in `[0, n)` with probability roughly proportional to `(rank + 1)^-s`.
#[derive(Clone, Copy, Debug)]
struct PowerLaw {
    n: u64,
    /// `1 - s`, or 0 for s = 1.
    s1: f64,
    /// `(n + 1)^(1 - s) - 1`, or `ln(n + 1)` for s = 1.
    top: f64,
}

impl PowerLaw {
    fn new(n: u64, s: f64) -> PowerLaw {
        let n = n.max(1);
        let s1 = 1.0 - s;
        let top = if s1.abs() < 1e-9 {
            ((n + 1) as f64).ln()
        } else {
            ((n + 1) as f64).powf(s1) - 1.0
        };
        PowerLaw { n, s1, top }
    }

    #[inline]
    fn sample(&self, u: f64) -> u64 {
        let x = if self.s1.abs() < 1e-9 {
            (u * self.top).exp()
        } else {
            (u * self.top + 1.0).powf(1.0 / self.s1)
        };
        ((x - 1.0).max(0.0) as u64).min(self.n - 1)
    }
}

/// A bijection of `[0, m)` (m a power of two): ranks to ids that do not sort like ranks.
#[derive(Clone, Copy, Debug)]
struct Scatter {
    mask: u64,
    salt: u64,
}

impl Scatter {
    fn new(pool: u64, salt: u64) -> Scatter {
        let m = (pool.max(1) * 4).next_power_of_two();
        Scatter { mask: m - 1, salt }
    }

    #[inline]
    fn id(&self, rank: u64) -> u64 {
        (rank.wrapping_mul(0x9E37_79B1) ^ self.salt).wrapping_mul(0x2545_F491) & self.mask
    }
}

/// A 64-bit mix (SplitMix64's finalizer).
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Writes a public-looking address for hash `h`: IPv6 for about one in twelve.
#[inline]
fn push_ip(buf: &mut Vec<u8>, h: u64) {
    const FIRST: [u8; 16] = [
        23, 31, 37, 46, 62, 77, 81, 89, 91, 104, 151, 176, 185, 188, 203, 212,
    ];
    if h.is_multiple_of(12) {
        buf.extend_from_slice(b"2a02:");
        for (i, part) in [(h >> 16) as u16, (h >> 32) as u16, (h >> 48) as u16]
            .iter()
            .enumerate()
        {
            if i > 0 {
                buf.push(b':');
            }
            push_hex(buf, *part as u64);
        }
        buf.extend_from_slice(b"::");
        push_hex(buf, (h >> 4) & 0xFFF | 1);
        return;
    }
    push_u64(buf, FIRST[((h >> 4) & 15) as usize] as u64);
    buf.push(b'.');
    push_u64(buf, (h >> 8) & 255);
    buf.push(b'.');
    push_u64(buf, (h >> 16) & 255);
    buf.push(b'.');
    push_u64(buf, 1 + (h >> 24) % 254);
}

#[inline]
fn push_hex(buf: &mut Vec<u8>, v: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut started = false;
    for shift in (0..16).rev() {
        let d = (v >> (shift * 4)) & 15;
        if d != 0 || started || shift == 0 {
            buf.push(DIGITS[d as usize]);
            started = true;
        }
    }
}

/// Browser user agents: every (browser version, OS) combination that exists, most
/// recent first within each browser, and their popularity weights.
fn browser_agents() -> Vec<(String, f64)> {
    let windows = [
        ("Windows NT 10.0; Win64; x64", 10.0),
        ("Windows NT 10.0; WOW64", 1.0),
        ("Windows NT 6.1; Win64; x64", 0.6),
    ];
    let macs = [
        "Macintosh; Intel Mac OS X 10_15_7",
        "Macintosh; Intel Mac OS X 10_15_6",
        "Macintosh; Intel Mac OS X 10_14_6",
        "Macintosh; Intel Mac OS X 13_5_2",
        "Macintosh; Intel Mac OS X 14_2_1",
    ];
    let linuxes = [
        "X11; Linux x86_64",
        "X11; Ubuntu; Linux x86_64",
        "X11; Fedora; Linux x86_64",
    ];
    let androids = [
        "Linux; Android 14; Pixel 8",
        "Linux; Android 14; Pixel 7a",
        "Linux; Android 13; SM-S918B",
        "Linux; Android 13; SM-A536B",
        "Linux; Android 12; SM-G991B",
        "Linux; Android 13; 2201116SG",
        "Linux; Android 11; M2101K6G",
        "Linux; Android 10; K",
        "Linux; Android 14; SM-S911B",
        "Linux; Android 12; moto g(30)",
    ];
    let ios = [
        "17_2", "17_1_2", "17_1", "17_0_3", "16_7_2", "16_6_1", "16_5", "16_3_1", "15_7_9",
        "15_6_1",
    ];
    let mut out = Vec::new();
    // Chrome 90..=120 on desktops and phones, the newest the most common.
    for v in (90..=120).rev() {
        let age = (120 - v) as f64;
        let w = (-age / 6.0).exp();
        let build = format!("{v}.0.{}.{}", 4184 + (v - 90) * 80, 45 + v % 70);
        for (os, ow) in windows {
            out.push((
                format!("Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"),
                30.0 * w * ow / 10.0,
            ));
            out.push((
                format!("Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.{}.{}", 2000 + v * 3, v % 50),
                6.0 * w * ow / 10.0,
            ));
            out.push((
                format!("Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 OPR/{}.0.0.0", v - 15),
                0.8 * w * ow / 10.0,
            ));
        }
        for os in macs {
            out.push((
                format!("Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"),
                4.0 * w,
            ));
        }
        for os in linuxes {
            out.push((
                format!("Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"),
                0.8 * w,
            ));
        }
        for os in androids {
            out.push((
                format!("Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{build} Mobile Safari/537.36"),
                3.0 * w,
            ));
            out.push((
                format!("Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/{}.0 Chrome/{v}.0.0.0 Mobile Safari/537.36", v / 5),
                0.5 * w,
            ));
        }
        for version in ios {
            out.push((
                format!("Mozilla/5.0 (iPhone; CPU iPhone OS {version} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/{v}.0.{}.{} Mobile/15E148 Safari/604.1", 6000 + v, v % 90),
                0.4 * w,
            ));
        }
    }
    // Firefox 100..=121.
    for v in (100..=121).rev() {
        let w = (-((121 - v) as f64) / 6.0).exp();
        for (os, ow) in windows {
            out.push((
                format!("Mozilla/5.0 ({os}; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"),
                5.0 * w * ow / 10.0,
            ));
        }
        for os in macs.iter().chain(linuxes.iter()) {
            out.push((
                format!("Mozilla/5.0 ({os}; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"),
                0.7 * w,
            ));
        }
        for os in androids {
            out.push((
                format!(
                    "Mozilla/5.0 (Android {}; Mobile; rv:{v}.0) Gecko/{v}.0 Firefox/{v}.0",
                    &os[15..17]
                ),
                0.1 * w,
            ));
        }
    }
    // Safari on iPhones, iPads and Macs.
    for (i, version) in ios.iter().enumerate() {
        let w = (-(i as f64) / 2.5).exp();
        let short = version.replacen('_', ".", 1);
        let short = short.split('_').next().unwrap_or("17.1");
        out.push((
            format!("Mozilla/5.0 (iPhone; CPU iPhone OS {version} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{short} Mobile/15E148 Safari/604.1"),
            25.0 * w,
        ));
        out.push((
            format!("Mozilla/5.0 (iPad; CPU OS {version} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{short} Mobile/15E148 Safari/604.1"),
            3.0 * w,
        ));
        for os in macs {
            out.push((
                format!("Mozilla/5.0 ({os}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{short} Safari/605.1.15"),
                1.5 * w,
            ));
        }
        // In-app browsers.
        for app in [
            "Instagram 312.0.0.32.112",
            "FBAN/FBIOS;FBAV/443.0.0.32.112",
            "GSA/292.0.585163232",
        ] {
            out.push((
                format!("Mozilla/5.0 (iPhone; CPU iPhone OS {version} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 {app}"),
                0.6 * w,
            ));
        }
    }
    out.push((
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64; Trident/7.0; rv:11.0) like Gecko".into(),
        0.2,
    ));
    out
}

/// Crawlers, monitors and scripts: what they send as user agent, and their weights
/// among bot requests.
const BOTS: &[(&str, f64)] = &[
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        30.0,
    ),
    ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.199 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 12.0),
    (
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        14.0,
    ),
    (
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        5.0,
    ),
    (
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        8.0,
    ),
    (
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        6.0,
    ),
    (
        "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)",
        2.0,
    ),
    ("Mozilla/5.0 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)", 2.0),
    ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", 1.5),
    (
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        3.0,
    ),
    ("Twitterbot/1.0", 1.0),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", 0.8),
    ("curl/8.4.0", 2.0),
    ("curl/7.81.0", 1.5),
    ("Wget/1.21.4", 0.5),
    ("python-requests/2.31.0", 3.0),
    ("python-requests/2.28.1", 1.0),
    ("Go-http-client/2.0", 2.0),
    ("Go-http-client/1.1", 1.0),
    ("okhttp/4.12.0", 2.0),
    ("Apache-HttpClient/4.5.14 (Java/17.0.9)", 0.7),
    ("PostmanRuntime/7.36.0", 0.4),
    ("kube-probe/1.28", 6.0),
    ("Prometheus/2.48.0", 3.0),
    ("Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", 1.0),
    ("UptimeRobot/2.0 (http://www.uptimerobot.com/)", 1.0),
    ("Mozilla/5.0 zgrab/0.x", 0.8),
    ("masscan/1.3 (https://github.com/robertdavidgraham/masscan)", 0.3),
    ("-", 2.0),
];

/// How a request path is written: `prefix`, then an id (or a word), then `suffix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Id {
    /// A fixed path.
    None,
    /// The requesting user's own id (a product when there is no user).
    User,
    /// A product id.
    Product,
    /// An order id.
    Order,
    /// A blog post slug (two words and a number).
    Slug,
    /// A category word, with `?page=` on some.
    Category,
    /// A static asset build hash.
    Asset,
    /// A search (`/search?q=...`).
    Search,
}

/// One kind of request: its path shape, weights per traffic class (users, anonymous
/// visitors, bots), method, typical size, median time in ms and 304 share.
struct Route {
    prefix: &'static str,
    id: Id,
    suffix: &'static str,
    weight: [f64; 3],
    post: f64,
    size: f64,
    millis: f64,
    not_modified: f64,
}

/// One row of `ROUTES`, positional so that the table reads as a table.
#[allow(clippy::too_many_arguments)]
const fn route(
    prefix: &'static str,
    id: Id,
    suffix: &'static str,
    weight: [f64; 3],
    post: f64,
    size: f64,
    millis: f64,
    not_modified: f64,
) -> Route {
    Route {
        prefix,
        id,
        suffix,
        weight,
        post,
        size,
        millis,
        not_modified,
    }
}

/// Weight columns: logged-in users, anonymous visitors, bots.
const ROUTES: &[Route] = &[
    route("/", Id::None, "", [3.0, 8.0, 6.0], 0.0, 24_000.0, 25.0, 0.1),
    route(
        "/product/",
        Id::Product,
        "",
        [14.0, 22.0, 30.0],
        0.0,
        38_000.0,
        45.0,
        0.05,
    ),
    route(
        "/images/products/",
        Id::Product,
        "/1.jpg",
        [7.0, 9.0, 4.0],
        0.0,
        60_000.0,
        4.0,
        0.35,
    ),
    route(
        "/images/products/",
        Id::Product,
        "/2.jpg",
        [3.0, 4.0, 1.0],
        0.0,
        55_000.0,
        4.0,
        0.35,
    ),
    route(
        "/api/v1/products/",
        Id::Product,
        "/reviews",
        [4.0, 2.0, 0.5],
        0.0,
        6_000.0,
        70.0,
        0.0,
    ),
    route(
        "/api/v1/products/",
        Id::Product,
        "/stock",
        [3.0, 1.0, 0.0],
        0.0,
        300.0,
        20.0,
        0.0,
    ),
    route(
        "/category/",
        Id::Category,
        "",
        [8.0, 12.0, 20.0],
        0.0,
        30_000.0,
        60.0,
        0.05,
    ),
    route(
        "/search",
        Id::Search,
        "",
        [6.0, 6.0, 1.0],
        0.0,
        28_000.0,
        120.0,
        0.0,
    ),
    route(
        "/api/v1/users/",
        Id::User,
        "/orders",
        [2.0, 0.0, 0.0],
        0.0,
        4_000.0,
        80.0,
        0.0,
    ),
    route(
        "/api/v1/users/",
        Id::User,
        "/profile",
        [1.0, 0.0, 0.0],
        0.1,
        1_200.0,
        30.0,
        0.0,
    ),
    route(
        "/api/v1/cart",
        Id::None,
        "",
        [5.0, 0.0, 0.0],
        0.3,
        1_500.0,
        35.0,
        0.0,
    ),
    route(
        "/api/v1/notifications",
        Id::None,
        "",
        [4.0, 0.0, 0.0],
        0.0,
        900.0,
        25.0,
        0.0,
    ),
    route(
        "/api/v1/orders/",
        Id::Order,
        "",
        [3.0, 0.0, 0.0],
        0.0,
        2_500.0,
        55.0,
        0.0,
    ),
    route(
        "/api/v1/orders/",
        Id::Order,
        "/items",
        [1.5, 0.0, 0.0],
        0.0,
        3_000.0,
        60.0,
        0.0,
    ),
    route(
        "/api/v1/cart/items",
        Id::None,
        "",
        [3.0, 1.0, 0.0],
        0.8,
        400.0,
        40.0,
        0.0,
    ),
    route(
        "/api/v1/checkout",
        Id::None,
        "",
        [0.8, 0.0, 0.0],
        1.0,
        700.0,
        350.0,
        0.0,
    ),
    route(
        "/api/v1/session/refresh",
        Id::None,
        "",
        [4.0, 0.0, 0.0],
        1.0,
        200.0,
        12.0,
        0.0,
    ),
    route(
        "/api/v2/events",
        Id::None,
        "",
        [6.0, 4.0, 0.0],
        1.0,
        0.0,
        8.0,
        0.0,
    ),
    route(
        "/blog/",
        Id::Slug,
        "",
        [1.0, 4.0, 6.0],
        0.0,
        45_000.0,
        50.0,
        0.1,
    ),
    route(
        "/static/js/",
        Id::Asset,
        ".js",
        [5.0, 7.0, 1.0],
        0.0,
        180_000.0,
        3.0,
        0.5,
    ),
    route(
        "/static/css/",
        Id::Asset,
        ".css",
        [2.5, 3.5, 0.5],
        0.0,
        40_000.0,
        3.0,
        0.5,
    ),
    route(
        "/favicon.ico",
        Id::None,
        "",
        [0.5, 2.0, 0.5],
        0.0,
        15_000.0,
        1.0,
        0.6,
    ),
    route(
        "/login",
        Id::None,
        "",
        [0.7, 2.0, 0.3],
        0.4,
        9_000.0,
        90.0,
        0.0,
    ),
    route(
        "/account",
        Id::None,
        "",
        [1.0, 0.0, 0.0],
        0.0,
        16_000.0,
        70.0,
        0.0,
    ),
    route(
        "/cart",
        Id::None,
        "",
        [1.5, 0.5, 0.0],
        0.0,
        20_000.0,
        60.0,
        0.0,
    ),
    route(
        "/robots.txt",
        Id::None,
        "",
        [0.0, 0.1, 4.0],
        0.0,
        300.0,
        1.0,
        0.0,
    ),
    route(
        "/sitemap.xml",
        Id::None,
        "",
        [0.0, 0.0, 2.0],
        0.0,
        900_000.0,
        30.0,
        0.2,
    ),
    route("/health", Id::None, "", [0.0, 0.0, 8.0], 0.0, 2.0, 1.0, 0.0),
    route(
        "/wp-login.php",
        Id::None,
        "",
        [0.0, 0.0, 0.6],
        0.3,
        150.0,
        2.0,
        0.0,
    ),
    route("/.env", Id::None, "", [0.0, 0.0, 0.4], 0.0, 150.0, 2.0, 0.0),
];

const CATEGORY_WORDS: &[&str] = &[
    "shoes",
    "jackets",
    "phones",
    "laptops",
    "kitchen",
    "garden",
    "toys",
    "books",
    "watches",
    "bags",
    "sports",
    "beauty",
    "lighting",
    "tools",
    "audio",
    "cameras",
    "furniture",
    "pets",
    "office",
    "outdoor",
    "baby",
    "games",
    "music",
    "health",
];

const ASSETS: &[&str] = &[
    "app", "vendor", "runtime", "checkout", "product", "search", "main",
];

/// Paths and traffic shares that scale with N, as fractions of the lines.
const PRODUCTS_PER_LINE: f64 = 0.007;
const ORDERS_PER_LINE: f64 = 0.004;
const USERS_PER_LINE: f64 = 0.19;
const ANON_PER_LINE: f64 = 0.08;
/// Shares of all lines by traffic class: logged-in users, anonymous visitors, bots.
const CLASS_SHARES: [f64; 3] = [0.80, 0.13, 0.07];
/// The hot users' shares of all lines.
const HOT_USERS: [f64; 4] = [0.024, 0.016, 0.012, 0.01];

/// Relative traffic of each minute of a day: two humps (late morning, evening),
/// quiet around 04:00.
fn diurnal(minute: usize) -> f64 {
    let h = minute as f64 / 60.0;
    let hump = |center: f64, width: f64| {
        let d = (h - center).abs().min(24.0 - (h - center).abs());
        (-(d * d) / (2.0 * width * width)).exp()
    };
    0.12 + 0.8 * hump(11.0, 3.0) + 1.0 * hump(20.5, 2.5) + 0.4 * hump(15.0, 2.0)
}

/// Relative size of each day: weekends quieter, a random ±20%, about one day in ten
/// twice as busy (a sale, a newsletter).
fn day_weights(days: usize, start_weekday: usize, rng: &mut Rng) -> Vec<f64> {
    (0..days)
        .map(|d| {
            let weekday = (start_weekday + d) % 7; // 0 = Monday
            let week = if weekday >= 5 { 0.72 } else { 1.0 };
            let noise = 0.8 + 0.4 * rng.unit();
            let spike = if rng.below(10) == 0 { 2.0 } else { 1.0 };
            week * noise * spike
        })
        .collect()
}

/// Writes `opts.lines` lines of the realistic profile to `out`.
pub fn generate_realistic(opts: &GenOptions, out: &mut impl Write) -> io::Result<GenStats> {
    let mut rng = Rng(opts.seed ^ 0x7265_616C_6973_7469);
    let n = opts.lines;
    let days = opts.days.max(1) as usize;
    let salt = mix(opts.seed);

    // Time: a cumulative mass per minute over the whole period.
    let start_day = opts.start.div_euclid(MICROS_PER_DAY);
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    let start_weekday = (start_day + 3).rem_euclid(7) as usize;
    let day_w = day_weights(days, start_weekday, &mut rng);
    let minutes = days * 1440;
    let mut cum = Vec::with_capacity(minutes + 1);
    cum.push(0.0f64);
    let day_curve: Vec<f64> = (0..1440).map(diurnal).collect();
    for (d, w) in day_w.iter().enumerate() {
        // Weekends start later.
        let shift = if (start_weekday + d) % 7 >= 5 { 60 } else { 0 };
        for m in 0..1440 {
            let c = day_curve[(m + 1440 - shift) % 1440];
            cum.push(cum[cum.len() - 1] + w * c);
        }
    }
    let total_mass = cum[minutes];
    // Error bursts: about one a day, 3-20 minutes of failing upstreams.
    let mut burst = vec![false; minutes];
    for _ in 0..days {
        let at = rng.below(minutes as u64) as usize;
        let len = 3 + rng.below(18) as usize;
        for b in burst.iter_mut().skip(at).take(len) {
            *b = true;
        }
    }

    // Entities.
    let users = ((n as f64 * USERS_PER_LINE) as u64).max(20);
    let user_rank = PowerLaw::new(users, 0.85);
    let user_ids = Scatter::new(users, salt);
    let hot_pick: Vec<f64> = HOT_USERS
        .iter()
        .scan(0.0, |acc, s| {
            *acc += s / CLASS_SHARES[0];
            Some(*acc)
        })
        .collect();
    let hot_total = hot_pick[hot_pick.len() - 1];
    let anon = ((n as f64 * ANON_PER_LINE) as u64).max(20);
    let anon_rank = PowerLaw::new(anon, 0.5);
    let products = ((n as f64 * PRODUCTS_PER_LINE) as u64).max(20);
    let product_rank = PowerLaw::new(products, 0.9);
    let product_ids = Scatter::new(products, salt ^ 1);
    let orders = ((n as f64 * ORDERS_PER_LINE) as u64).max(20);
    let order_rank = PowerLaw::new(orders, 0.3);
    let order_ids = Scatter::new(orders, salt ^ 2);
    let slug_rank = PowerLaw::new(((n as f64 * 0.002) as u64).max(10), 1.0);
    let page_rank = PowerLaw::new(60, 1.6);

    let browsers = browser_agents();
    let browser_pick = Alias::new(&browsers.iter().map(|b| b.1).collect::<Vec<_>>());
    let bot_pick = Alias::new(&BOTS.iter().map(|b| b.1).collect::<Vec<_>>());
    let route_pick: Vec<Alias> = (0..3)
        .map(|c| Alias::new(&ROUTES.iter().map(|r| r.weight[c]).collect::<Vec<_>>()))
        .collect();
    let word_pick = Alias::new(&zipf_weights(WORDS.len(), 1.0));
    let category_pick = Alias::new(&zipf_weights(CATEGORY_WORDS.len(), 0.9));

    let normals = normal_table(&mut rng, NORMALS);
    let size_noise: Vec<f64> = normals.iter().map(|z| (0.3 * z).exp()).collect();
    let time_noise: Vec<f64> = normals.iter().map(|z| (0.9 * z).exp()).collect();
    // Pareto (alpha 1.2) factors for the slow tail.
    let tail: Vec<f64> = (0..NORMALS)
        .map(|_| (1.0 / rng.unit().max(1e-6)).powf(1.0 / 1.2).min(400.0))
        .collect();

    let referers: [&[u8]; 7] = [
        b"-",
        b"https://www.google.com/",
        b"https://www.example-shop.com/",
        b"https://www.example-shop.com/search",
        b"https://www.bing.com/",
        b"https://l.facebook.com/",
        b"android-app://com.google.android.gm/",
    ];
    let referer_pick = Alias::new(&[40.0, 20.0, 25.0, 8.0, 3.0, 2.0, 1.0]);

    let mut buf: Vec<u8> = Vec::with_capacity(1 << 21);
    let mut stats = GenStats::default();
    let mut time_text: Vec<u8> = Vec::with_capacity(32);
    let mut time_second = i64::MIN;
    let mut minute = 0usize;
    for i in 0..n {
        let target = (i as f64 + rng.unit()) / n as f64 * total_mass;
        while minute < minutes - 1 && cum[minute + 1] <= target {
            minute += 1;
        }
        let within =
            ((target - cum[minute]) / (cum[minute + 1] - cum[minute])).clamp(0.0, 0.999_999);
        let ts = opts.start
            + minute as i64 * MICROS_PER_MINUTE
            + (within * MICROS_PER_MINUTE as f64) as i64;
        if i == 0 {
            stats.first_ts = ts;
        }
        stats.last_ts = ts;
        let second = ts.div_euclid(1_000_000);
        if second != time_second {
            time_second = second;
            time_text.clear();
            write_clf_time(&mut time_text, second * 1_000_000);
        }

        // Who: a logged-in user, an anonymous visitor or a bot.
        let r = rng.next();
        // Noise of size and time, independent of the choices made with `r`.
        let r2 = rng.next();
        let class_u = (r >> 40) as f64 / (1u64 << 24) as f64;
        let class = if class_u < CLASS_SHARES[0] {
            0
        } else if class_u < CLASS_SHARES[0] + CLASS_SHARES[1] {
            1
        } else {
            2
        };
        let mut uid = None;
        let ip_hash;
        let ua: &[u8];
        match class {
            0 => {
                let u = rng.unit();
                let rank = if u < hot_total {
                    hot_pick.iter().position(|&p| u < p).unwrap_or(0) as u64
                } else {
                    user_rank.sample(rng.unit())
                };
                let id = user_ids.id(rank);
                uid = Some(id);
                let h = mix(id ^ salt);
                // A usual address; some requests from a second one (the phone).
                let device = u64::from(r & 15 == 0);
                ip_hash = mix(h ^ device);
                ua = browsers[browser_pick.sample(&mut Rng(h ^ device))]
                    .0
                    .as_bytes();
            }
            1 => {
                let v = anon_rank.sample(rng.unit());
                let h = mix(v ^ salt ^ 0xA11);
                ip_hash = h;
                ua = browsers[browser_pick.sample(&mut Rng(h))].0.as_bytes();
            }
            _ => {
                let b = bot_pick.sample(&mut rng);
                ip_hash = mix((b as u64) << 8 | (r & 31)) ^ salt;
                ua = BOTS[b].0.as_bytes();
            }
        }
        let route = &ROUTES[route_pick[class].sample(&mut rng)];

        push_ip(&mut buf, ip_hash);
        buf.extend_from_slice(b" - - [");
        buf.extend_from_slice(&time_text);
        buf.extend_from_slice(b"] \"");
        let post = route.post > 0.0 && rng.unit() < route.post;
        let method: &[u8] = if post {
            b"POST"
        } else if class == 2 && r & 63 == 1 {
            b"HEAD"
        } else if route.id == Id::User && r & 31 == 3 {
            b"PUT"
        } else {
            b"GET"
        };
        buf.extend_from_slice(method);
        buf.push(b' ');
        buf.extend_from_slice(route.prefix.as_bytes());
        let mut has_query = false;
        let mut size_key = 0u64;
        match route.id {
            Id::None => {}
            Id::User => {
                let id = uid.unwrap_or_else(|| product_ids.id(product_rank.sample(rng.unit())));
                push_u64(&mut buf, 10_000 + id);
            }
            Id::Product => {
                let id = product_ids.id(product_rank.sample(rng.unit()));
                size_key = id;
                push_u64(&mut buf, 1000 + id);
            }
            Id::Order => {
                push_u64(
                    &mut buf,
                    500_000 + order_ids.id(order_rank.sample(rng.unit())),
                );
            }
            Id::Slug => {
                let s = slug_rank.sample(rng.unit());
                size_key = s;
                buf.extend_from_slice(WORDS[(s % WORDS.len() as u64) as usize].as_bytes());
                buf.push(b'-');
                buf.extend_from_slice(
                    WORDS[(s / WORDS.len() as u64 % WORDS.len() as u64) as usize].as_bytes(),
                );
                buf.push(b'-');
                push_u64(&mut buf, 2000 + s);
            }
            Id::Category => {
                let c = category_pick.sample(&mut rng);
                buf.extend_from_slice(CATEGORY_WORDS[c].as_bytes());
                if r & 3 == 0 {
                    buf.extend_from_slice(b"?page=");
                    push_u64(&mut buf, 2 + page_rank.sample(rng.unit()));
                    has_query = true;
                }
            }
            Id::Asset => {
                // Builds change about twice a week: the hash follows the day.
                let a = (r >> 8) as usize % ASSETS.len();
                let build = mix((minute / 4000) as u64 ^ a as u64 ^ salt);
                buf.extend_from_slice(ASSETS[a].as_bytes());
                buf.push(b'.');
                push_hex(&mut buf, build & 0xFFFF_FFFF | 0x1000_0000);
            }
            Id::Search => {
                buf.extend_from_slice(b"?q=");
                buf.extend_from_slice(WORDS[word_pick.sample(&mut rng)].as_bytes());
                if r & 1 == 0 {
                    buf.push(b'+');
                    buf.extend_from_slice(CATEGORY_WORDS[(r >> 9) as usize % 24].as_bytes());
                }
                has_query = true;
            }
        }
        buf.extend_from_slice(route.suffix.as_bytes());
        if route.id == Id::Product && route.suffix.is_empty() && (r >> 12) & 7 == 0 {
            buf.extend_from_slice(if (r >> 15) & 1 == 0 {
                b"?ref=search"
            } else {
                b"?utm_source=newsletter&utm_medium=email"
            });
            has_query = true;
        }
        if let Some(id) = uid {
            buf.extend_from_slice(if has_query { b"&uid=" } else { b"?uid=" });
            push_u64(&mut buf, 10_000 + id);
        }
        buf.extend_from_slice(if (r >> 18) & 3 == 0 {
            b" HTTP/1.1\" "
        } else {
            b" HTTP/2.0\" "
        });

        // Status: a few minutes of failing upstreams now and then, rare errors
        // otherwise.
        let s = ((r >> 20) & 0xFFFF) as u32; // uniform in [0, 65536)
        let status: u64 = if burst[minute] && s < 22_000 {
            [502, 503, 504, 500][(s & 3) as usize]
        } else if route.prefix == "/wp-login.php" || route.prefix == "/.env" {
            404
        } else if s < 90 {
            [500, 502, 503, 504, 500, 500][(s % 6) as usize]
        } else if (s as f64) < 90.0 + route.not_modified * 65_536.0 * 0.6 && !post {
            304
        } else if s > 65_536 - 2_600 {
            404
        } else if s > 65_536 - 3_900 {
            if route.id == Id::None && class == 2 {
                301
            } else {
                302
            }
        } else if s > 65_536 - 4_300 {
            [400, 401, 403, 429][(s & 3) as usize]
        } else if s > 65_536 - 4_900 && method == b"GET" {
            301
        } else if post && route.size == 0.0 {
            204
        } else {
            200
        };
        push_u64(&mut buf, status);
        buf.push(b' ');
        let z1 = (r2 & (NORMALS as u64 - 1)) as usize;
        let z2 = ((r2 >> 16) & (NORMALS as u64 - 1)) as usize;
        let bytes = if status == 304 || status == 204 || method == b"HEAD" {
            0
        } else if status >= 300 {
            150 + ((r2 >> 32) & 511)
        } else {
            let per_item = 0.6 + (mix(size_key) & 1023) as f64 / 1024.0;
            (route.size * per_item * size_noise[z1]) as u64
        };
        push_u64(&mut buf, bytes);
        buf.extend_from_slice(b" \"");
        buf.extend_from_slice(if class == 2 {
            b"-"
        } else {
            referers[referer_pick.sample(&mut rng)]
        });
        buf.extend_from_slice(b"\" \"");
        buf.extend_from_slice(ua);
        buf.extend_from_slice(b"\" ");
        let mut secs = route.millis / 1000.0 * time_noise[z2];
        if (r2 >> 56) < 4 {
            secs *= tail[((r2 >> 41) & (NORMALS as u64 - 1)) as usize];
        }
        if status >= 500 {
            secs = secs * 8.0 + if status == 504 { 30.0 } else { 0.0 };
        }
        let millis = (secs.min(60.0) * 1000.0) as u64;
        push_seconds(&mut buf, millis);
        buf.push(b'\n');
        flush(&mut buf, out, &mut stats, false)?;
    }
    flush(&mut buf, out, &mut stats, true)?;
    stats.lines = n;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Distinct counts and the hottest shares of one generated log.
    #[derive(Debug)]
    struct Shape {
        lines: usize,
        uris: usize,
        uids: usize,
        agents: usize,
        ips: usize,
        hot_users: Vec<usize>,
        statuses: HashMap<u16, usize>,
        per_day: Vec<usize>,
        per_hour: [usize; 24],
    }

    fn shape(lines: u64, days: u32, seed: u64) -> (Vec<u8>, Shape) {
        let opts = GenOptions {
            lines,
            days,
            seed,
            ..GenOptions::default()
        };
        let mut data = Vec::new();
        let stats = generate_realistic(&opts, &mut data).unwrap();
        assert_eq!(stats.lines, lines);
        assert_eq!(stats.bytes, data.len() as u64);
        let text = std::str::from_utf8(&data).unwrap();
        let mut uris = HashMap::new();
        let mut uids: HashMap<&str, usize> = HashMap::new();
        let mut agents = HashMap::new();
        let mut ips = HashMap::new();
        let mut statuses = HashMap::new();
        let mut per_day = vec![0; days as usize];
        let mut per_hour = [0; 24];
        let mut last_time = String::new();
        for line in text.lines() {
            let quoted: Vec<&str> = line.split('"').collect();
            let ip = line.split(' ').next().unwrap();
            *ips.entry(ip).or_insert(0usize) += 1;
            let target = quoted[1].split(' ').nth(1).unwrap();
            let path = target.split('?').next().unwrap();
            *uris.entry(path).or_insert(0usize) += 1;
            if let Some(i) = target.find("uid=") {
                *uids.entry(&target[i + 4..]).or_insert(0) += 1;
            }
            *agents.entry(quoted[5]).or_insert(0usize) += 1;
            let status: u16 = quoted[2].trim().split(' ').next().unwrap().parse().unwrap();
            *statuses.entry(status).or_insert(0) += 1;
            let time = &line[line.find('[').unwrap() + 1..line.find(']').unwrap()];
            let day: usize = time[..2].parse().unwrap();
            per_day[day - 1] += 1;
            per_hour[time[12..14].parse::<usize>().unwrap()] += 1;
            // dd/Mon/yyyy:HH:MM:SS sorts by time within one month.
            assert!(time >= last_time.as_str(), "{time} after {last_time}");
            last_time = time.to_string();
        }
        let mut hot: Vec<usize> = uids.values().copied().collect();
        hot.sort_unstable_by(|a, b| b.cmp(a));
        hot.truncate(6);
        let shape = Shape {
            lines: text.lines().count(),
            uris: uris.len(),
            uids: uids.len(),
            agents: agents.len(),
            ips: ips.len(),
            hot_users: hot,
            statuses,
            per_day,
            per_hour,
        };
        (data, shape)
    }

    #[test]
    fn realistic_profile_has_the_documented_shape() {
        let n = 200_000;
        let (_, s) = shape(n, 7, 42);
        let ratio = |c: usize| c as f64 / n as f64;
        assert_eq!(s.lines, n as usize);
        assert!((0.03..0.08).contains(&ratio(s.uris)), "{s:?}");
        assert!((0.10..0.25).contains(&ratio(s.uids)), "{s:?}");
        assert!((0.12..0.30).contains(&ratio(s.ips)), "{s:?}");
        assert!(s.agents > 800, "{s:?}");
        // A few hot users above 1% of all lines each, then a tail.
        assert!(s.hot_users[..4].iter().all(|&c| ratio(c) > 0.01), "{s:?}");
        assert!(ratio(s.hot_users[5]) < 0.01, "{s:?}");
        // Mostly 200, some 304/301/404, rare 5xx.
        let share = |codes: &[u16]| {
            ratio(
                codes
                    .iter()
                    .map(|c| s.statuses.get(c).copied().unwrap_or(0))
                    .sum(),
            )
        };
        assert!((0.70..0.92).contains(&share(&[200])), "{s:?}");
        assert!(
            share(&[304]) > 0.02 && share(&[404]) > 0.01 && share(&[301]) > 0.002,
            "{s:?}"
        );
        assert!(
            (0.001..0.03).contains(&share(&[500, 502, 503, 504])),
            "{s:?}"
        );
        // Uneven days and a diurnal curve.
        let (min_day, max_day) = (
            s.per_day.iter().min().unwrap(),
            s.per_day.iter().max().unwrap(),
        );
        assert!(*max_day as f64 > 1.3 * *min_day as f64, "{s:?}");
        assert!(s.per_hour[20] > 3 * s.per_hour[4], "{s:?}");
    }

    #[test]
    fn realistic_profile_is_deterministic_for_a_seed() {
        let (a, _) = shape(20_000, 2, 7);
        let (b, _) = shape(20_000, 2, 7);
        let (c, _) = shape(20_000, 2, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn realistic_profile_parses_as_combined() {
        use crate::column::BatchBuilder;
        use crate::ingest::{parser_for, ParserOptions};
        let (data, _) = shape(20_000, 3, 1);
        let mut p = parser_for("combined", &ParserOptions::default()).unwrap();
        let mut out = BatchBuilder::new(p.schema());
        let mut rejects = Vec::new();
        assert_eq!(p.parse_chunk(&data, 1, &mut out, &mut rejects), 20_000);
        assert_eq!(rejects, vec![]);
    }

    /// The distinct counts at one million lines (for BENCHMARKS.md): run with
    /// `cargo test --lib realistic_profile_at_a_million -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn realistic_profile_at_a_million() {
        let (_, s) = shape(1_000_000, 7, 42);
        println!("{s:#?}");
    }
}
