//! The dashboard's files, compiled into the binary: `/`, `/dashboard.js` and
//! `/dashboard.css`. They load nothing from elsewhere, and the Content-Security-Policy
//! header makes the browser refuse anything that would.

use super::http::Reply;

const INDEX: &str = include_str!("dashboard/index.html");
const SCRIPT: &str = include_str!("dashboard/dashboard.js");
const STYLE: &str = include_str!("dashboard/dashboard.css");

/// Only this server's own files, scripts and styles; no inline script.
const POLICY: &str = "default-src 'self'; style-src 'self'; script-src 'self'; \
                      connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

/// The dashboard file at `path`, if there is one.
pub fn file(path: &str) -> Option<Reply> {
    let (content_type, text) = match path {
        "/" | "/index.html" => ("text/html; charset=utf-8", INDEX),
        "/dashboard.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "/dashboard.css" => ("text/css; charset=utf-8", STYLE),
        _ => return None,
    };
    Some(
        Reply::new(200, content_type, text.as_bytes().to_vec())
            .with_header("Content-Security-Policy", POLICY)
            .with_header("X-Content-Type-Options", "nosniff"),
    )
}
