//! Shared harness for the real-kernel tests: a private network namespace per test (`netns`),
//! the loopback network inside it with listeners and nftables rules (`lab`, `firewall`), and the
//! real `scanwatch` binary run against it with its JSON Lines parsed (`scan`).
//!
//! Network safety: every address used here is in 127.0.0.0/8, and nothing is configured unless
//! the process runs inside a network namespace that `netns` created for the test.

// Each test binary uses its own part of the harness.
#![allow(dead_code)]

pub mod firewall;
pub mod lab;
pub mod netns;
pub mod scan;
