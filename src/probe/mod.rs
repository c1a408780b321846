//! Probers: how one TCP port is asked whether it is open.
//!
//! The engine only knows the `Prober` trait. `TcpConnect` talks to the real network; the simulated
//! network (used by tests, benchmarks and the demo) implements the same trait.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use crate::event::ProbeResult;

pub mod tcp_connect;

pub use tcp_connect::TcpConnect;

/// Sends one probe to `addr` and reports its outcome within `timeout`.
///
/// Implementations must not panic on any outcome, and must return within about `timeout`
/// (a `no-response` outcome carries the timeout as its connect time), plus, for an open port,
/// the prober's own read window after the handshake (`ProbeResult::after_connect`), which is
/// never part of the connect time.
pub trait Prober: Send + Sync + 'static {
    fn probe(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> impl Future<Output = ProbeResult> + Send;
}

impl<P: Prober> Prober for std::sync::Arc<P> {
    fn probe(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> impl Future<Output = ProbeResult> + Send {
        (**self).probe(addr, timeout)
    }
}
