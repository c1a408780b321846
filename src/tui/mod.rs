//! The live view: a ratatui app over the running engine.

pub mod action;
pub mod keymap;
pub mod theme;

pub use action::Action;
pub use keymap::{KeyChord, KeyMap};
pub use theme::Theme;
