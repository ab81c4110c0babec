//! Which endpoint answers a request: the bearer-token check, then the path and method.
//!
//! | path | methods | answer |
//! | --- | --- | --- |
//! | `/` | GET with `?query=`, POST | a query (ClickHouse style), TSV by default |
//! | `/query` | GET (`?sql=` or `?query=`), POST (SQL body) | a query, JSON by default |
//! | `/health` | GET | status and followed files |
//! | `/tables` | GET | tables with schemas, rows, bytes, time range |
//!
//! Every request needs the token when the server has one.

use tiny_http::{Method, Request};

use super::http::{self, Reply, Target};
use super::query::{self, Format};
use super::{status, State};

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
