//! Targets: what to scan, in nmap's target notation.
//!
//! A target token is parsed into a [`TargetSpec`]:
//!
//! - an address: `192.0.2.7`, `2001:db8::1`, `[::1]`;
//! - a CIDR network, host bits allowed: `10.0.0.0/24`, `10.0.0.7/24`, `2001:db8::/120`;
//! - IPv4 octet ranges: `10.0.0.1-20`, `192.168.1-3.1`, `192.168.1,3.1-5`, `10.0.*.1`,
//!   `10.0.0.-20`, `10.0.0.5-`;
//! - a hostname, optionally with a prefix for the network around its address: `scanme.example/28`.
//!
//! Tokens come from arguments, target files (`-iL`) and the exclude list (`--exclude`); errors
//! say where ("targets.txt:12"), which token and what is wrong. Hostnames are then resolved
//! ([`resolve`]) into [`ResolvedSpec`]s, and a [`TargetSet`] yields the hosts lazily, in constant
//! memory, minus the exclusions.

mod block;
mod input;
mod resolve;
mod set;
mod spec;

pub use input::{
    MAX_TARGET_FILE_BYTES, TargetError, parse_exclude_list, parse_target_args, parse_target_text,
    read_target_file,
};
pub use resolve::{
    LOOKUP_TIMEOUT, MAX_CONCURRENT_LOOKUPS, ResolveFailure, ResolvedSpec, resolve,
    resolved_without_lookup,
};
pub use set::{HostIter, HostTarget, TargetSet};
pub use spec::{Ipv4Octets, OctetSet, TargetSpec, parse_target};
