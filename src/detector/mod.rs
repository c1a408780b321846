//! The interference detector (in progress): change-point tests and the alarm vocabulary.
//!
//! The `Detector` that folds every event into per-host and global signals and raises alarms
//! builds on these pieces.

pub mod alarm;
pub mod cusum;

pub use alarm::{Alarm, AlarmKind, Scope};
pub use cusum::BernoulliCusum;
