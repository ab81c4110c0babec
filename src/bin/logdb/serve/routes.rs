//! Which endpoint answers a request: the bearer-token check, then the path and method.
//!
//! | path | methods | answer |
//! | --- | --- | --- |
//! | `/` | GET | the dashboard; with `?query=` (ClickHouse style) a query, TSV by default |
//! | `/` | POST | a query (ClickHouse style), TSV by default |
//! | `/dashboard.js`, `/dashboard.css` | GET | the dashboard's code and style |
//! | `/query` | GET (`?sql=` or `?query=`), POST (SQL body) | a query, JSON by default |
//! | `/health` | GET | status and followed files |
//! | `/tables` | GET | tables with schemas, rows, bytes, time range |
//!
//! The dashboard's own files need no token (they hold no data; the page asks for
//! the token and sends it with its queries); everything else does when the server
//! has one.

use logdb::http::{Format, Target};
use tiny_http::{Method, Request};

use super::http::{self, Reply};
use super::query;
use super::{assets, status, State};

/// Answers one request.
pub fn handle(state: &State, mut request: Request) {
    let reply = route(state, &mut request);
    http::send(request, reply);
}

fn route(state: &State, request: &mut Request) -> Reply {
    let target = match Target::parse(request.url()) {
        Ok(t) => t,
        Err(m) => return Reply::error(400, "bad_request", &m),
    };
    let method = request.method().clone();
    let asks_query = target.param(&["query", "sql"]).is_some();
    if matches!(method, Method::Get | Method::Head) && !asks_query {
        if let Some(reply) = assets::file(&target.path) {
            return reply;
        }
    }
    if let Some(reply) = check_token(state, request) {
        return reply;
    }
    match (target.path.as_str(), &method) {
        ("/query", Method::Get | Method::Post) => {
            query::answer(state, request, &target, Format::Json)
        }
        ("/", Method::Get | Method::Post) => query::answer(state, request, &target, Format::Tsv),
        ("/health", Method::Get | Method::Head) => status::health(state),
        ("/tables", Method::Get | Method::Head) => status::tables(state),
        ("/query" | "/" | "/health" | "/tables", _) => Reply::error(
            405,
            "method_not_allowed",
            &format!("{method} is not allowed on {}", target.path),
        ),
        (path, _) => Reply::error(
            404,
            "not_found",
            &format!("no endpoint {path}; try /query, /tables, /health or / (the dashboard)"),
        ),
    }
}

/// The 401 reply when the server has a token and the request does not carry it as
/// `Authorization: Bearer TOKEN`.
fn check_token(state: &State, request: &Request) -> Option<Reply> {
    let expected = state.token.as_deref()?;
    let given = http::header(request, "Authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if given.is_some_and(|g| same_secret(g.as_bytes(), expected.as_bytes())) {
        return None;
    }
    let message = if given.is_some() {
        "the bearer token is wrong"
    } else {
        "this server needs a token: send the header 'Authorization: Bearer TOKEN'"
    };
    Some(
        Reply::error(401, "unauthorized", message)
            .with_header("WWW-Authenticate", "Bearer realm=\"logdb\""),
    )
}

/// Compares two secrets in time that depends on their lengths only, not on where
/// they first differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_match_only_when_equal() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cret", b"s3creT"));
        assert!(!same_secret(b"s3cret", b"s3cre"));
        assert!(!same_secret(b"", b"x"));
    }
}
