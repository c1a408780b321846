//! Key bindings: which key does which [`Action`]. The defaults are below; the config file's
//! `[keys]` section overrides them.

use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

/// One key with its modifiers, normalised so that `G` and `shift-g` are the same chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyChord {
    pub code: KeyCode,
    /// Only CONTROL and ALT are kept; SHIFT is folded into the character (and kept for keys
    /// that have no character, like `shift-tab` which crossterm reports as BackTab).
    pub modifiers: KeyModifiers,
}

impl KeyChord {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Self {
        let modifiers = match code {
            KeyCode::Char(_) | KeyCode::BackTab => {
                modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT)
            }
            _ => modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT),
        };
        KeyChord { code, modifiers }
    }

    pub fn plain(c: char) -> Self {
        KeyChord::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    pub fn from_event(event: &KeyEvent) -> Self {
        KeyChord::new(event.code, event.modifiers)
    }

    /// How the key is written in the footer, the help overlay and the config file.
    pub fn display(&self) -> String {
        let mut out = String::new();
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            out.push_str("ctrl-");
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            out.push_str("alt-");
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            out.push_str("shift-");
        }
        match self.code {
            KeyCode::Char(' ') => out.push_str("space"),
            KeyCode::Char(c) => out.push(c),
            KeyCode::Up => out.push_str("up"),
            KeyCode::Down => out.push_str("down"),
            KeyCode::Left => out.push_str("left"),
            KeyCode::Right => out.push_str("right"),
            KeyCode::PageUp => out.push_str("pgup"),
            KeyCode::PageDown => out.push_str("pgdn"),
            KeyCode::Home => out.push_str("home"),
            KeyCode::End => out.push_str("end"),
            KeyCode::Tab => out.push_str("tab"),
            KeyCode::BackTab => out.push_str("shift-tab"),
            KeyCode::Enter => out.push_str("enter"),
            KeyCode::Esc => out.push_str("esc"),
            KeyCode::Backspace => out.push_str("backspace"),
            KeyCode::Delete => out.push_str("delete"),
            KeyCode::Insert => out.push_str("insert"),
            KeyCode::F(n) => out.push_str(&format!("f{n}")),
            other => out.push_str(&format!("{other:?}").to_lowercase()),
        }
        out
    }
}

/// The bindings in force.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMap {
    bindings: HashMap<KeyChord, Action>,
}

impl Default for KeyMap {
    fn default() -> Self {
        KeyMap::from_pairs(default_bindings())
    }
}

impl KeyMap {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (KeyChord, Action)>) -> Self {
        KeyMap {
            bindings: pairs.into_iter().collect(),
        }
    }

    /// The action a key press asks for, if it is bound.
    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        self.bindings.get(&KeyChord::from_event(event)).copied()
    }

    /// The keys bound to `action`, as written (sorted, shortest first).
    pub fn keys_for(&self, action: Action) -> Vec<String> {
        let mut keys: Vec<String> = self
            .bindings
            .iter()
            .filter(|(_, a)| **a == action)
            .map(|(k, _)| k.display())
            .collect();
        keys.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
        keys
    }

    /// Every binding.
    pub fn bindings(&self) -> impl Iterator<Item = (&KeyChord, &Action)> {
        self.bindings.iter()
    }
}

/// The built-in bindings: arrows and vim keys to move, `+`/`-` concurrency, `<`/`>` timeout,
/// `[`/`]` rate, space or `p` pause, `a` acknowledge, `A` auto-throttle, `/` filter, `s` sort,
/// `c` theme, `?` help, `q` or ctrl-c quit.
pub fn default_bindings() -> Vec<(KeyChord, Action)> {
    use Action::*;
    let key = |code| KeyChord::new(code, KeyModifiers::NONE);
    let ctrl = |c| KeyChord::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    let c = KeyChord::plain;
    vec![
        (c('q'), Quit),
        (ctrl('c'), Quit),
        (c('?'), Help),
        (key(KeyCode::Tab), FocusNext),
        (key(KeyCode::BackTab), FocusPrevious),
        (key(KeyCode::Up), Up),
        (c('k'), Up),
        (key(KeyCode::Down), Down),
        (c('j'), Down),
        (key(KeyCode::Left), Left),
        (c('h'), Left),
        (key(KeyCode::Right), Right),
        (c('l'), Right),
        (key(KeyCode::PageUp), PageUp),
        (ctrl('b'), PageUp),
        (key(KeyCode::PageDown), PageDown),
        (ctrl('f'), PageDown),
        (key(KeyCode::Home), Top),
        (c('g'), Top),
        (key(KeyCode::End), Bottom),
        (c('G'), Bottom),
        (c('-'), ConcurrencyDown),
        (c('+'), ConcurrencyUp),
        (c('='), ConcurrencyUp),
        (c('>'), TimeoutUp),
        (c('<'), TimeoutDown),
        (c('['), RateDown),
        (c(']'), RateUp),
        (c(' '), PauseResume),
        (c('p'), PauseResume),
        (c('A'), ToggleAutoThrottle),
        (c('a'), AcknowledgeAlarm),
        (c('/'), Filter),
        (c('s'), Sort),
        (c('c'), CycleTheme),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_default_key_and_no_key_is_bound_twice() {
        let pairs = default_bindings();
        let map = KeyMap::default();
        assert_eq!(map.bindings.len(), pairs.len(), "a key bound twice");
        for action in Action::ALL {
            assert!(!map.keys_for(action).is_empty(), "{action} has no key");
        }
    }

    #[test]
    fn shifted_letters_match_their_capital() {
        let map = KeyMap::default();
        let shifted = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(map.action(&shifted), Some(Action::Bottom));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map.action(&ctrl_c), Some(Action::Quit));
        let plain_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(map.action(&plain_c), Some(Action::CycleTheme));
    }
}
