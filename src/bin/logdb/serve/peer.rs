//! Whether a request's client is still connected, so that the query of a client
//! that went away is cancelled instead of running to its end.
//!
//! tiny_http does not hand out a request's socket, so it is found among the
//! process's open descriptors (`/proc/self/fd`) by its two addresses, the client's
//! and the server's port, and duplicated: the duplicate stays the same socket for as
//! long as it is watched, whatever tiny_http closes meanwhile. Whether the client
//! closed its side is the kernel's TCP state (`TCP_INFO`): `CLOSE_WAIT` once its FIN
//! arrived, `CLOSE` after a reset, `ESTABLISHED` while it waits.
//!
//! A peek (`recv` with `MSG_PEEK | MSG_DONTWAIT`, end-of-file meaning "closed")
//! cannot tell: tiny_http shuts down the read side of a socket as soon as it has
//! read the last request of a `Connection: close` (or HTTP/1.0) connection, and a
//! read then returns end-of-file while the client still waits for its answer.
//!
//! Linux only; elsewhere no connection is found and queries run to their end or
//! their deadline.

use std::net::{SocketAddr, TcpStream};

/// A duplicate of the socket a request came in on.
pub struct Connection(TcpStream);

#[cfg(target_os = "linux")]
impl Connection {
    /// The socket connected from `client` to the server's `port`, if this process
    /// has one.
    pub fn find(client: SocketAddr, port: u16) -> Option<Connection> {
        use std::os::fd::{FromRawFd, OwnedFd};

        for entry in std::fs::read_dir("/proc/self/fd").ok()?.flatten() {
            let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let is_socket = std::fs::read_link(entry.path()).is_ok_and(|target| {
                target
                    .as_os_str()
                    .as_encoded_bytes()
                    .starts_with(b"socket:")
            });
            if !is_socket {
                continue;
            }
            // SAFETY: F_DUPFD_CLOEXEC takes any descriptor number and touches no
            // memory; a number closed since the listing fails with EBADF.
            let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
            if dup < 0 {
                continue;
            }
            // SAFETY: `dup` was just returned by fcntl and nothing else owns it. The
            // number may have been reused for another file since the listing: the
            // addresses below are read from the duplicate itself.
            let stream = TcpStream::from(unsafe { OwnedFd::from_raw_fd(dup) });
            let same = |a: std::io::Result<SocketAddr>, ip, port| {
                a.is_ok_and(|a| a.ip() == ip && a.port() == port)
            };
            if same(stream.peer_addr(), client.ip(), client.port())
                && stream.local_addr().is_ok_and(|a| a.port() == port)
            {
                return Some(Connection(stream));
            }
        }
        None
    }

    /// Whether the client has closed or reset the connection. A client that only
    /// shut down its sending side after the request counts as gone too (a FIN is
    /// all the server sees), as with other servers that watch their clients.
    pub fn closed(&self) -> bool {
        use std::os::fd::AsRawFd;

        /// `TCP_ESTABLISHED` of Linux's `include/net/tcp_states.h`.
        const ESTABLISHED: u8 = 1;
        // SAFETY: tcp_info is plain integers; all-zero bytes are a valid value.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: `info` is `len` writable bytes; the kernel writes at most `len`
        // bytes of the struct and stores how many in `len`.
        let rc = unsafe {
            libc::getsockopt(
                self.0.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&mut info as *mut libc::tcp_info).cast(),
                &mut len,
            )
        };
        rc == 0 && len >= 1 && info.tcpi_state != ESTABLISHED
    }
}

#[cfg(not(target_os = "linux"))]
impl Connection {
    pub fn find(_client: SocketAddr, _port: u16) -> Option<Connection> {
        None
    }

    pub fn closed(&self) -> bool {
        false
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::net::{Shutdown, TcpListener};

    /// A connected pair: (the client's end, the server's port, the client's address).
    fn connect() -> (TcpStream, TcpStream, u16, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (server, from) = listener.accept().unwrap();
        (client, server, port, from)
    }

    fn wait_closed(c: &Connection) -> bool {
        for _ in 0..200 {
            if c.closed() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn a_closed_client_is_told_from_a_server_that_stopped_reading() {
        let (client, server, port, from) = connect();
        let c = Connection::find(from, port).expect("the accepted socket is found");
        assert!(!c.closed());
        // What tiny_http does after the last request of a connection.
        server.shutdown(Shutdown::Read).unwrap();
        assert!(!c.closed(), "the server's own shutdown is not the client's");
        drop(server);
        assert!(!c.closed(), "the duplicate keeps the socket");
        drop(client);
        assert!(wait_closed(&c));
    }

    #[test]
    fn a_reset_counts_as_closed_and_strangers_are_not_found() {
        let (client, _server, port, from) = connect();
        let c = Connection::find(from, port).unwrap();
        assert!(Connection::find(from, port.wrapping_add(1)).is_none());
        let other: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert!(Connection::find(other, port).is_none());
        // SO_LINGER 0: close sends a reset.
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        use std::os::fd::AsRawFd;
        // SAFETY: `linger` is a valid struct of the size given.
        let rc = unsafe {
            libc::setsockopt(
                client.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
        drop(client);
        assert!(wait_closed(&c));
    }
}
