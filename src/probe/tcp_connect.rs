//! `TcpConnect`: the real, unprivileged prober: a non-blocking `connect()` per probe.
//!
//! Sockets are created with SO_LINGER 0, so closing an open port's connection sends RST instead of
//! leaving a TIME_WAIT socket behind (a full-range scan would otherwise pile up tens of thousands).
//!
//! With a banner wait set, an open port is read for a short while after the handshake: the
//! services that speak first (SSH, FTP, SMTP, POP3, IMAP, MySQL, …) send their greeting as soon as
//! they accept, and a port that closes at once or says nothing on every port of a host is what
//! tarpits, SYN proxies and deception systems look like.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

use super::Prober;
use crate::banner::BANNER_MAX;
use crate::event::{AfterConnect, FilterReason, LocalErrorKind, ProbeOutcome, ProbeResult};

/// Probes with a full TCP handshake through the kernel (nmap's `-sT`), and optionally reads what
/// an open port sends first.
#[derive(Debug, Clone, Default)]
pub struct TcpConnect {
    /// How long an open port is read after the handshake; zero: not read.
    banner_wait: Duration,
}

impl TcpConnect {
    /// A prober that only connects: open ports are not read (`AfterConnect::NotRead`).
    pub fn new() -> Self {
        TcpConnect::default()
    }

    /// A prober that reads each open port for up to `wait` after the handshake, keeping at most
    /// [`BANNER_MAX`] bytes; `Duration::ZERO` does not read.
    ///
    /// The connect time reported stays the handshake's; the probe as a whole (and the engine's
    /// concurrency slot it holds) lasts up to `wait` longer on open ports.
    pub fn with_banner_wait(wait: Duration) -> Self {
        TcpConnect { banner_wait: wait }
    }

    /// How long an open port is read after the handshake (zero: not read).
    pub fn banner_wait(&self) -> Duration {
        self.banner_wait
    }
}

/// Attempts after a self-connection before the probe is reported as a local error.
const SELF_CONNECT_ATTEMPTS: u32 = 4;

impl Prober for TcpConnect {
    async fn probe(&self, addr: SocketAddr, timeout: Duration) -> ProbeResult {
        let start = Instant::now();
        let deadline = start + timeout;
        for _ in 0..SELF_CONNECT_ATTEMPTS {
            let outcome = match connect_once(addr, deadline).await {
                Connect::Open(connection) => {
                    let connect_time = start.elapsed();
                    let after_connect = if self.banner_wait.is_zero() {
                        AfterConnect::NotRead
                    } else {
                        connection.read_first_bytes(self.banner_wait).await
                    };
                    // Dropping the connection closes it with RST (SO_LINGER 0).
                    return ProbeResult {
                        outcome: ProbeOutcome::Open,
                        connect_time,
                        after_connect,
                    };
                }
                Connect::Failed(outcome) => outcome,
                Connect::SelfConnected => continue,
            };
            let connect_time = if outcome == ProbeOutcome::Filtered(FilterReason::NoResponse) {
                timeout
            } else {
                start.elapsed()
            };
            return ProbeResult::new(outcome, connect_time);
        }
        ProbeResult::new(
            ProbeOutcome::LocalError(LocalErrorKind::NoLocalAddress),
            start.elapsed(),
        )
    }
}

enum Connect {
    /// The handshake completed: the port is open.
    Open(Connection),
    /// The port is not open, or the probe could not be sent.
    Failed(ProbeOutcome),
    /// Scanning one's own address, the kernel picked the target port as the source port and
    /// the socket connected to itself (TCP simultaneous open): says nothing about the port.
    SelfConnected,
}

/// An established connection, registered with the reactor or not yet.
enum Connection {
    /// Connected before it had to wait for the reactor (loopback and other fast paths).
    Unregistered(Socket),
    Registered(AsyncFd<Socket>),
}

impl Connection {
    /// What the peer does within `wait`: sends bytes (kept up to [`BANNER_MAX`]), closes
    /// (FIN or RST) before sending any, or stays silent.
    async fn read_first_bytes(self, wait: Duration) -> AfterConnect {
        let deadline = Instant::now() + wait;
        let fd = match self {
            Connection::Registered(fd) => fd,
            // SAFETY: `socket` owns its descriptor and is moved into the AsyncFd, which keeps it
            // open and unchanged until the AsyncFd is dropped.
            Connection::Unregistered(socket) => {
                match unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) } {
                    Ok(fd) => fd,
                    Err(_) => return AfterConnect::NotRead,
                }
            }
        };
        // On the heap: every probe's future would otherwise carry the buffer, open port or not.
        let mut buf = vec![0u8; BANNER_MAX];
        let mut len = 0;
        let mut closed = false;
        loop {
            let mut guard = match tokio::time::timeout_at(deadline, fd.readable()).await {
                Err(_) => break,
                Ok(Err(_)) => return AfterConnect::NotRead,
                Ok(Ok(guard)) => guard,
            };
            match guard.try_io(|fd| fd.get_ref().read(&mut buf[len..])) {
                // Nothing more to read right now: what came so far is the banner.
                Err(_would_block) if len > 0 => break,
                Err(_would_block) => continue,
                Ok(Ok(0)) => {
                    closed = true;
                    break;
                }
                Ok(Ok(n)) => {
                    len += n;
                    if len == buf.len() {
                        break;
                    }
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) if is_reset(&e) => {
                    closed = true;
                    break;
                }
                // Any other error says nothing about the service; bytes read before it count.
                Ok(Err(_)) if len > 0 => break,
                Ok(Err(_)) => return AfterConnect::NotRead,
            }
        }
        match (len, closed) {
            (0, true) => AfterConnect::ClosedAtOnce,
            (0, false) => AfterConnect::Silent,
            // Bytes then a close (FIN or RST) is a banner.
            (len, _) => AfterConnect::Banner(Arc::from(&buf[..len])),
        }
    }
}

/// The peer closed the connection hard (RST), or it is otherwise gone.
fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// One non-blocking connect. On loopback and other fast paths the answer is often known as soon
/// as `connect()` returns, so the socket is checked before it is registered with the reactor.
async fn connect_once(addr: SocketAddr, deadline: Instant) -> Connect {
    let socket = match new_socket(addr) {
        Ok(s) => s,
        Err(e) => return Connect::Failed(classify_error(&e)),
    };
    match socket.connect(&addr.into()) {
        Ok(()) => return established(socket, addr, Connection::Unregistered),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Connect::Failed(classify_error(&e)),
    }
    let socket = match settled(socket, addr, Connection::Unregistered) {
        Ok(done) => return done,
        Err(socket) => socket,
    };
    // SAFETY: `socket` owns its descriptor and is moved into the AsyncFd, which keeps it open
    // and unchanged until the AsyncFd is dropped. Readable too, for the read after the connect.
    let fd = match unsafe {
        AsyncFd::register_with_interest(socket, Interest::WRITABLE | Interest::READABLE)
    } {
        Ok(fd) => fd,
        Err(e) => return Connect::Failed(classify_error(&io::Error::from(e))),
    };
    match tokio::time::timeout_at(deadline, fd.writable()).await {
        Err(_) => Connect::Failed(ProbeOutcome::Filtered(FilterReason::NoResponse)),
        Ok(Err(e)) => Connect::Failed(classify_error(&e)),
        Ok(Ok(guard)) => {
            drop(guard);
            settled(fd, addr, Connection::Registered).unwrap_or(Connect::Failed(
                ProbeOutcome::Filtered(FilterReason::NoResponse),
            ))
        }
    }
}

/// The connect's result if it is already known (a pending error, or an established
/// connection, wrapped by `wrap`); the socket back if not.
fn settled<S: AsSocket>(
    socket: S,
    addr: SocketAddr,
    wrap: fn(S) -> Connection,
) -> Result<Connect, S> {
    match socket.socket().take_error() {
        Ok(Some(e)) => return Ok(Connect::Failed(classify_error(&e))),
        Ok(None) => {}
        Err(e) => return Ok(Connect::Failed(classify_error(&e))),
    }
    if socket.socket().peer_addr().is_ok() {
        Ok(established(socket, addr, wrap))
    } else {
        Err(socket)
    }
}

fn established<S: AsSocket>(socket: S, addr: SocketAddr, wrap: fn(S) -> Connection) -> Connect {
    let local = socket
        .socket()
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket());
    if local == Some(addr) {
        Connect::SelfConnected
    } else {
        Connect::Open(wrap(socket))
    }
}

/// A socket, bare or registered with the reactor.
trait AsSocket {
    fn socket(&self) -> &Socket;
}

impl AsSocket for Socket {
    fn socket(&self) -> &Socket {
        self
    }
}

impl AsSocket for AsyncFd<Socket> {
    fn socket(&self) -> &Socket {
        self.get_ref()
    }
}

fn new_socket(addr: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    socket.set_linger(Some(Duration::ZERO))?;
    Ok(socket)
}

/// Maps a connect error to an outcome (see DESIGN.md, "Probe outcomes").
pub fn classify_error(e: &io::Error) -> ProbeOutcome {
    let Some(errno) = e.raw_os_error() else {
        return ProbeOutcome::LocalError(LocalErrorKind::Other(0));
    };
    match errno {
        libc::ECONNREFUSED | libc::ECONNRESET => ProbeOutcome::Closed,
        libc::ETIMEDOUT => ProbeOutcome::Filtered(FilterReason::NoResponse),
        libc::EHOSTUNREACH | libc::EHOSTDOWN => ProbeOutcome::Filtered(FilterReason::HostUnreach),
        libc::ENETUNREACH | libc::ENETDOWN => ProbeOutcome::Filtered(FilterReason::NetUnreach),
        libc::EACCES | libc::EPERM => ProbeOutcome::Filtered(FilterReason::AdminProhibited),
        libc::EMFILE => ProbeOutcome::LocalError(LocalErrorKind::FdLimit),
        libc::ENFILE => ProbeOutcome::LocalError(LocalErrorKind::SystemFdLimit),
        libc::EADDRNOTAVAIL | libc::EADDRINUSE => {
            ProbeOutcome::LocalError(LocalErrorKind::NoLocalAddress)
        }
        libc::ENOBUFS | libc::ENOMEM => ProbeOutcome::LocalError(LocalErrorKind::NoBuffers),
        other => ProbeOutcome::LocalError(LocalErrorKind::Other(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_outcomes() {
        let cases = [
            (libc::ECONNREFUSED, ProbeOutcome::Closed),
            (
                libc::EHOSTUNREACH,
                ProbeOutcome::Filtered(FilterReason::HostUnreach),
            ),
            (
                libc::ENETUNREACH,
                ProbeOutcome::Filtered(FilterReason::NetUnreach),
            ),
            (
                libc::EACCES,
                ProbeOutcome::Filtered(FilterReason::AdminProhibited),
            ),
            (
                libc::EMFILE,
                ProbeOutcome::LocalError(LocalErrorKind::FdLimit),
            ),
            (
                libc::ENFILE,
                ProbeOutcome::LocalError(LocalErrorKind::SystemFdLimit),
            ),
            (
                libc::EADDRNOTAVAIL,
                ProbeOutcome::LocalError(LocalErrorKind::NoLocalAddress),
            ),
            (
                libc::ENOBUFS,
                ProbeOutcome::LocalError(LocalErrorKind::NoBuffers),
            ),
        ];
        for (errno, outcome) in cases {
            assert_eq!(
                classify_error(&io::Error::from_raw_os_error(errno)),
                outcome
            );
        }
    }
}
