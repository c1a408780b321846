//! `TcpConnect`: the real, unprivileged prober: a non-blocking `connect()` per probe.
//!
//! Sockets are created with SO_LINGER 0, so closing an open port's connection sends RST instead of
//! leaving a TIME_WAIT socket behind (a full-range scan would otherwise pile up tens of thousands).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpSocket;
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

impl Prober for TcpConnect {
    async fn probe(&self, addr: SocketAddr, timeout: Duration) -> ProbeResult {
        let start = Instant::now();
        let socket = match new_socket(addr) {
            Ok(s) => s,
            Err(e) => return ProbeResult::new(classify_error(&e), start.elapsed()),
        };
        let outcome = match tokio::time::timeout(timeout, socket.connect(addr)).await {
            Ok(Ok(_stream)) => ProbeOutcome::Open,
            Ok(Err(e)) => classify_error(&e),
            Err(_) => ProbeOutcome::Filtered(FilterReason::NoResponse),
        };
        let elapsed = start.elapsed();
        let connect_time = if outcome == ProbeOutcome::Filtered(FilterReason::NoResponse) {
            timeout
        } else {
            elapsed
        };
        ProbeResult::new(outcome, connect_time)
    }
}

fn new_socket(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    socket.set_linger(Some(Duration::ZERO))?;
    Ok(TcpSocket::from_std_stream(socket.into()))
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
            (libc::EHOSTUNREACH, ProbeOutcome::Filtered(FilterReason::HostUnreach)),
            (libc::ENETUNREACH, ProbeOutcome::Filtered(FilterReason::NetUnreach)),
            (libc::EACCES, ProbeOutcome::Filtered(FilterReason::AdminProhibited)),
            (libc::EMFILE, ProbeOutcome::LocalError(LocalErrorKind::FdLimit)),
            (libc::ENFILE, ProbeOutcome::LocalError(LocalErrorKind::SystemFdLimit)),
            (libc::EADDRNOTAVAIL, ProbeOutcome::LocalError(LocalErrorKind::NoLocalAddress)),
            (libc::ENOBUFS, ProbeOutcome::LocalError(LocalErrorKind::NoBuffers)),
        ];
        for (errno, outcome) in cases {
            assert_eq!(classify_error(&io::Error::from_raw_os_error(errno)), outcome);
        }
    }
}
