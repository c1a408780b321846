//! Placeholder until the targets module lands.
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTarget {
    pub addr: IpAddr,
    pub name: Option<Arc<str>>,
}
