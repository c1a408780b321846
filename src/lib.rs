//! scanwatch: a TCP port re-scan that shows, live, what the network does with it.
//!
//! The data path: targets and ports form a lazy plan; the `engine` runs probes through a
//! `probe::Prober`, emitting `event::ScanEvent`s; the `monitor` folds them into `state::ScanState`,
//! which the views (`headless`, later the TUI) read.

pub mod banner;
pub mod baseline;
pub mod cli;
pub mod config;
pub mod demo;
pub mod detector;
pub mod diagnostics;
pub mod duration;
pub mod engine;
pub mod error;
pub mod event;
#[doc(hidden)]
pub mod fuzzing;
pub mod headless;
pub mod idmap;
pub mod monitor;
pub mod ports;
pub mod probe;
pub mod recheck;
pub mod replay;
pub mod report;
pub mod rlimit;
pub mod run;
pub mod session;
pub mod sim;
pub mod state;
pub mod targets;
pub mod throttle;
pub mod timeline;
pub mod tui;
