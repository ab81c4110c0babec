//! What the server tells about itself and its data: `/health` and `/tables`.

use logdb::exec::agg_cache::AggregateCache;
use logdb::time::format_timestamp;
use serde_json::json;

use super::http::Reply;
use super::State;

/// `GET /health`: up, read-only or not, queries running and abandoned by their
/// clients, the bytes the aggregate cache holds, and each followed file.
pub fn health(state: &State) -> Reply {
    let following: Vec<serde_json::Value> = state.followers.iter().map(|f| f.status()).collect();
    let failed = state.followers.iter().any(|f| f.failed());
    Reply::json(
        200,
        &json!({
            "status": if failed { "degraded" } else { "ok" },
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_seconds": state.started.elapsed().as_secs(),
            "allow_write": state.allow_write,
            "queries_running": state.slots.in_use(),
            "queries_abandoned": state.queries_abandoned.load(std::sync::atomic::Ordering::Relaxed),
            "aggregate_cache_bytes": state.db.extension::<AggregateCache>().bytes(),
            "following": following,
        }),
    )
}

/// `GET /tables`: every table's columns, time column, indexes, rows, bytes on disk,
/// partitions and the oldest and newest timestamps stored.
pub fn tables(state: &State) -> Reply {
    let tables = match state.db.tables() {
        Ok(t) => t,
        Err(e) => return Reply::error(500, "server_error", &e.to_string()),
    };
    let list: Vec<serde_json::Value> = tables
        .iter()
        .map(|t| {
            let segments = t.partitions.iter().flat_map(|p| &p.segments);
            let range = segments
                .filter(|s| s.rows > 0 && s.min_ts <= s.max_ts)
                .fold(None, |acc: Option<(i64, i64)>, s| {
                    Some(acc.map_or((s.min_ts, s.max_ts), |(lo, hi)| {
                        (lo.min(s.min_ts), hi.max(s.max_ts))
                    }))
                });
            let columns: Vec<serde_json::Value> = t
                .schema
                .fields
                .iter()
                .map(|f| json!({ "name": f.name, "type": f.data_type.to_string() }))
                .collect();
            json!({
                "name": t.name,
                "rows": t.rows,
                "bytes": t.bytes,
                "partitions": t.partitions.len(),
                "columns": columns,
                "time_column": t.schema.time_column,
                "indexed": t.schema.indexed,
                "oldest": range.map(|(lo, _)| format_timestamp(lo)),
                "newest": range.map(|(_, hi)| format_timestamp(hi)),
            })
        })
        .collect();
    Reply::json(200, &json!({ "tables": list }))
}
