//! Keeps tiny_http from leaving an accepted connection unread.
//!
//! tiny_http 0.12 hands each accepted connection to its thread pool: when a thread
//! is idle, the connection is queued and one idle thread is woken; when none is, a
//! thread is started for it. A woken thread stops counting as idle only once it
//! runs, so when connections arrive faster than threads wake (a browser opening six
//! at once for the dashboard's panels), a later one is queued with a wake-up that
//! reaches no thread. It then waits, its request unread, until the pool takes
//! another connection or a thread finishes one: with keep-alive clients, minutes.
//! Measured before this file: a fresh server given six keep-alive connections at
//! once left one unanswered in about two runs in three
//! (`serve_answers_every_connection_of_a_burst` in tests/process/serve.rs).
//!
//! Every accepted connection makes the pool take the oldest queued one: a thread
//! it wakes takes it at once, a thread it starts takes it after its own connection,
//! which here closes at once. So this thread connects to the server every
//! [`NUDGE`] and hangs up, the cost of one loopback connection; a connection left
//! in the queue waits about that long for each one queued before it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the pool is made to take a queued connection.
const NUDGE: Duration = Duration::from_millis(100);

/// Connects to the server at `listening` every [`NUDGE`] until `stop` is set.
pub fn run(listening: SocketAddr, stop: &AtomicBool) {
    let target = match listening.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, listening.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, listening.port()).into(),
        _ => listening,
    };
    while !stop.load(Ordering::Relaxed) {
        // Dropped at once: being accepted is all it is for. A failure (the server
        // going down) is not worth reporting.
        let _ = TcpStream::connect_timeout(&target, Duration::from_secs(1));
        std::thread::sleep(NUDGE);
    }
}
