//! `TcpConnect`: the real, unprivileged prober: a non-blocking `connect()` per probe.
//!
//! Sockets are created with SO_LINGER 0, so closing an open port's connection sends RST instead of
//! leaving a TIME_WAIT socket behind (a full-range scan would otherwise pile up tens of thousands).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

use super::Prober;
use crate::event::{FilterReason, LocalErrorKind, ProbeOutcome, ProbeResult};

/// Probes with a full TCP handshake through the kernel (nmap's `-sT`).
#[derive(Debug, Clone, Default)]
pub struct TcpConnect {}

impl TcpConnect {
    pub fn new() -> Self {
        TcpConnect {}
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
                Connect::Outcome(outcome) => outcome,
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
    Outcome(ProbeOutcome),
    /// Scanning one's own address, the kernel picked the target port as the source port and
    /// the socket connected to itself (TCP simultaneous open): says nothing about the port.
    SelfConnected,
}

/// One non-blocking connect. On loopback and other fast paths the answer is often known as soon
/// as `connect()` returns, so the socket is checked before it is registered with the reactor.
async fn connect_once(addr: SocketAddr, deadline: Instant) -> Connect {
    let socket = match new_socket(addr) {
        Ok(s) => s,
        Err(e) => return Connect::Outcome(classify_error(&e)),
    };
    match socket.connect(&addr.into()) {
        Ok(()) => return established(&socket, addr),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Connect::Outcome(classify_error(&e)),
    }
    if let Some(done) = settled(&socket, addr) {
        return done;
    }
    // SAFETY: `socket` owns its descriptor and is moved into the AsyncFd, which keeps it open
    // and unchanged until the AsyncFd is dropped.
    let fd = match unsafe { AsyncFd::register_with_interest(socket, Interest::WRITABLE) } {
        Ok(fd) => fd,
        Err(e) => return Connect::Outcome(classify_error(&io::Error::from(e))),
    };
    match tokio::time::timeout_at(deadline, fd.writable()).await {
        Err(_) => Connect::Outcome(ProbeOutcome::Filtered(FilterReason::NoResponse)),
        Ok(Err(e)) => Connect::Outcome(classify_error(&e)),
        Ok(Ok(_guard)) => settled(fd.get_ref(), addr).unwrap_or(Connect::Outcome(
            ProbeOutcome::Filtered(FilterReason::NoResponse),
        )),
    }
}

/// The connect's result if it is already known: a pending error, or an established connection.
fn settled(socket: &Socket, addr: SocketAddr) -> Option<Connect> {
    match socket.take_error() {
        Ok(Some(e)) => return Some(Connect::Outcome(classify_error(&e))),
        Ok(None) => {}
        Err(e) => return Some(Connect::Outcome(classify_error(&e))),
    }
    socket
        .peer_addr()
        .is_ok()
        .then(|| established(socket, addr))
}

fn established(socket: &Socket, addr: SocketAddr) -> Connect {
    let local = socket.local_addr().ok().and_then(|a| a.as_socket());
    if local == Some(addr) {
        Connect::SelfConnected
    } else {
        Connect::Outcome(ProbeOutcome::Open)
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
