//! Key bindings: which key does which [`Action`]. The defaults are below; the config file's
//! `[keys]` section overrides them.
//!
//! Keys are written as in the footer and the help overlay ([`KeyChord::display`]), and read
//! back with [`KeyChord::from_str`]: optional `ctrl-`, `alt-` and `shift-` prefixes, then one
//! character (`q`, `G`, `+`; letters are case-sensitive) or a key name (`space`, `tab`,
//! `shift-tab`, `enter`, `esc`, `backspace`, `up`, `down`, `left`, `right`, `pgup`, `pgdn`, `home`,
//! `end`, `delete`, `insert`, `f1` to `f12`).

use std::collections::HashMap;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use crate::config::{InvalidValue, KeysConfig};

/// How a key is written, for messages and the default config: follows "allowed".
pub const KEY_SPEC_ALLOWED: &str = "a key in quotes, or a list of them: a character (\"q\", \"G\", \"+\") \
or a key name (space, tab, shift-tab, enter, esc, backspace, up, down, left, right, pgup, pgdn, \
home, end, delete, insert, f1 to f12), optionally after ctrl-, alt- or shift-, e.g. \
[\"q\", \"ctrl-c\"]";

/// Key names, other spellings included, and the keys they stand for.
const KEY_NAMES: [(&str, KeyCode); 21] = [
    ("space", KeyCode::Char(' ')),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("enter", KeyCode::Enter),
    ("return", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("escape", KeyCode::Esc),
    ("backspace", KeyCode::Backspace),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pgup", KeyCode::PageUp),
    ("pageup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
    ("pagedown", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("del", KeyCode::Delete),
];

/// The modifier prefixes, without their `-`.
const MODIFIERS: [&str; 3] = ["ctrl", "alt", "shift"];

/// Highest function key a binding may name.
const MAX_FUNCTION_KEY: u8 = 12;

/// One key with its modifiers, normalised so that `G` and `shift-g` are the same chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyChord {
    pub code: KeyCode,
    /// Only CONTROL and ALT are kept for characters, SHIFT being folded into the character; keys
    /// without a character keep SHIFT too (`shift-up`), except `shift-tab`, which is BackTab.
    pub modifiers: KeyModifiers,
}

impl KeyChord {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Self {
        // Some terminals report shift-tab as Tab with SHIFT rather than BackTab.
        let code = match code {
            KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            other => other,
        };
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

impl FromStr for KeyChord {
    type Err = String;

    /// Reads a key as written in the `[keys]` section (see the module documentation). The
    /// error says what is wrong and how to write the key.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let spec = &shown(text);
        let mut modifiers = KeyModifiers::NONE;
        let mut shift = false;
        let mut rest = text;
        // Strip `ctrl-`, `alt-` and `shift-` while something follows them, so that `-` and
        // `ctrl--` are the minus key.
        while let Some((prefix, after)) = rest.split_once('-') {
            if after.is_empty() {
                break;
            }
            let flag = match prefix.to_ascii_lowercase().as_str() {
                "ctrl" => Some(KeyModifiers::CONTROL),
                "alt" => Some(KeyModifiers::ALT),
                "shift" => None,
                _ => break,
            };
            let repeated = match flag {
                Some(flag) => modifiers.contains(flag),
                None => shift,
            };
            if repeated {
                return Err(format!(
                    "`{spec}` names `{}-` twice",
                    prefix.to_ascii_lowercase()
                ));
            }
            match flag {
                Some(flag) => modifiers |= flag,
                None => shift = true,
            }
            rest = after;
        }
        let code = key_code(spec, rest)?;
        let code = match code {
            KeyCode::Char(c) if shift => shifted_char(spec, c)?,
            KeyCode::Tab if shift => KeyCode::BackTab,
            other => other,
        };
        if let KeyCode::Char(c) = code
            && modifiers.contains(KeyModifiers::CONTROL)
            && c.is_uppercase()
        {
            let lower: String = c.to_lowercase().collect();
            return Err(format!(
                "`{spec}`: terminals send ctrl with a capital letter as ctrl with the small one; \
                 write `ctrl-{lower}`"
            ));
        }
        if shift && !matches!(code, KeyCode::Char(_) | KeyCode::BackTab) {
            modifiers |= KeyModifiers::SHIFT;
        }
        Ok(KeyChord::new(code, modifiers))
    }
}

/// The key `rest` names (a character or a key name); `spec` is the whole key, for messages.
fn key_code(spec: &str, rest: &str) -> Result<KeyCode, String> {
    let mut chars = rest.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if c == ' ' || !(c.is_control() || c.is_whitespace()) {
            return Ok(KeyCode::Char(c));
        }
        return Err(format!(
            "`{}` is not a key that can be bound; write a character or a key name",
            c.escape_default()
        ));
    }
    let lower = rest.to_ascii_lowercase();
    if let Some((_, code)) = KEY_NAMES.iter().find(|(name, _)| *name == lower) {
        return Ok(*code);
    }
    if let Some(number) = lower.strip_prefix('f')
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
    {
        return match number.parse::<u8>() {
            Ok(n) if (1..=MAX_FUNCTION_KEY).contains(&n) => Ok(KeyCode::F(n)),
            _ => Err(format!(
                "`{spec}`: function keys are f1 to f{MAX_FUNCTION_KEY}"
            )),
        };
    }
    if rest.is_empty() {
        return Err("an empty key; write a character or a key name".to_string());
    }
    let prefix = rest.to_ascii_lowercase();
    if ["ctrl-", "alt-", "shift-"].contains(&prefix.as_str()) {
        return Err(format!("`{spec}` needs a key after `{prefix}`"));
    }
    if let Some((modifier, key)) = rest.split_once('-')
        && !modifier.is_empty()
        && !key.is_empty()
    {
        let hint = match crate::config::closest_name(&modifier.to_ascii_lowercase(), &MODIFIERS) {
            Some(near) => format!(" (did you mean `{near}-`?)"),
            None => String::new(),
        };
        return Err(format!(
            "`{spec}`: unknown modifier `{}-`{hint}; modifiers are ctrl-, alt- and shift-",
            shown(modifier)
        ));
    }
    let names: Vec<&str> = KEY_NAMES.iter().map(|(name, _)| *name).collect();
    let hint = match crate::config::closest_name(&lower, &names) {
        Some(near) => format!(" (did you mean `{near}`?)"),
        None => String::new(),
    };
    Err(format!(
        "`{spec}` is not a key{hint}; write one character or a key name: space, tab, shift-tab, \
         enter, esc, backspace, up, down, left, right, pgup, pgdn, home, end, delete, insert, \
         f1 to f{MAX_FUNCTION_KEY}, optionally after ctrl-, alt- or shift-"
    ))
}

/// `text` fit to be quoted in a message: control characters escaped, at most 40 characters.
fn shown(text: &str) -> String {
    let escaped: String = text.chars().flat_map(char::escape_debug).collect();
    if escaped.chars().count() > 40 {
        let short: String = escaped.chars().take(40).collect();
        format!("{short}…")
    } else {
        escaped
    }
}

/// The character `shift-` with `c` types: a letter's capital. Other characters depend on the
/// keyboard layout, so they are written as the character itself.
fn shifted_char(spec: &str, c: char) -> Result<KeyCode, String> {
    if c == ' ' {
        // Terminals report shift-space as space.
        return Ok(KeyCode::Char(' '));
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) if c.is_alphabetic() && (u != c || c.is_uppercase()) => {
            Ok(KeyCode::Char(u))
        }
        _ => Err(format!(
            "`{spec}`: shift- goes with letters and key names only; for another character \
             write the character the shifted key types (e.g. `!` rather than `shift-1`)"
        )),
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

    /// The default bindings with the config file's `[keys]` section applied: an action listed
    /// there has exactly the keys listed (its defaults are dropped); every other action keeps
    /// its defaults.
    ///
    /// Errors name the action: a key that cannot be read, `quit` left without a key, or a key
    /// that would do two things (bound to two actions here, or here and by a default of an
    /// action not listed).
    pub fn from_config(keys: &KeysConfig) -> Result<KeyMap, InvalidValue> {
        let defaults = default_bindings();
        // Every action's keys: as configured, else its defaults.
        let mut chosen: Vec<(Action, Vec<KeyChord>, bool)> = Vec::with_capacity(Action::ALL.len());
        for action in Action::ALL {
            let chords = match keys.bindings.get(&action) {
                Some(specs) => {
                    let mut chords = Vec::with_capacity(specs.len());
                    for spec in specs {
                        let chord: KeyChord = spec.parse().map_err(|reason| {
                            InvalidValue::rejected::<KeysConfig>(action.name(), reason)
                        })?;
                        if !chords.contains(&chord) {
                            chords.push(chord);
                        }
                    }
                    if chords.is_empty() && action == Action::Quit {
                        return Err(InvalidValue::rejected::<KeysConfig>(
                            action.name(),
                            "quit needs at least one key, or the live view could not be left",
                        ));
                    }
                    (action, chords, true)
                }
                None => {
                    let chords = defaults
                        .iter()
                        .filter(|(_, a)| *a == action)
                        .map(|(chord, _)| *chord)
                        .collect();
                    (action, chords, false)
                }
            };
            chosen.push(chords);
        }
        let mut bindings: HashMap<KeyChord, (Action, bool)> = HashMap::new();
        for (action, chords, configured) in &chosen {
            for chord in chords {
                if let Some(&(other, other_configured)) = bindings.get(chord) {
                    return Err(duplicate(
                        *chord,
                        (*action, *configured),
                        (other, other_configured),
                    ));
                }
                bindings.insert(*chord, (*action, *configured));
            }
        }
        Ok(KeyMap {
            bindings: bindings
                .into_iter()
                .map(|(chord, (action, _))| (chord, action))
                .collect(),
        })
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

/// The error for `chord` bound to two actions, each with whether the `[keys]` section lists
/// it. It names the action the section lists (the other keeps a default) and says to rebind
/// the other one too.
fn duplicate(chord: KeyChord, one: (Action, bool), two: (Action, bool)) -> InvalidValue {
    let key = chord.display();
    match (one, two) {
        ((configured, true), (default, false)) | ((default, false), (configured, true)) => {
            InvalidValue::rejected::<KeysConfig>(
                configured.name(),
                format!(
                    "`{key}` is already a default key of {default}; to use it for {configured}, \
                     rebind {default} too (e.g. {default} = \"…\" in [keys]), or choose another \
                     key"
                ),
            )
        }
        ((a, _), (b, _)) => {
            let (first, second) = if a < b { (a, b) } else { (b, a) };
            InvalidValue::rejected::<KeysConfig>(
                second.name(),
                format!(
                    "`{key}` is bound to both {first} and {second}; a key does one thing: \
                     rebind one of them"
                ),
            )
            .with_other_key(first.name())
        }
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
        (c('n'), NextAlarm),
        (c('N'), PreviousAlarm),
        (c('e'), JumpToEnd),
        (c('C'), ChangesOnly),
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

    /// `spec` read as a key, which must succeed.
    fn chord(spec: &str) -> KeyChord {
        spec.parse()
            .unwrap_or_else(|e| panic!("{spec:?} should be a key: {e}"))
    }

    #[test]
    fn key_specs_read_characters_names_and_modifiers() {
        let none = KeyModifiers::NONE;
        let ctrl = KeyModifiers::CONTROL;
        let alt = KeyModifiers::ALT;
        let shift = KeyModifiers::SHIFT;
        let cases = [
            ("q", KeyCode::Char('q'), none),
            ("G", KeyCode::Char('G'), none),
            ("shift-g", KeyCode::Char('G'), none),
            ("shift-G", KeyCode::Char('G'), none),
            ("-", KeyCode::Char('-'), none),
            ("+", KeyCode::Char('+'), none),
            ("ctrl--", KeyCode::Char('-'), ctrl),
            ("ctrl-c", KeyCode::Char('c'), ctrl),
            ("Ctrl-c", KeyCode::Char('c'), ctrl),
            ("alt-x", KeyCode::Char('x'), alt),
            ("ctrl-alt-x", KeyCode::Char('x'), ctrl | alt),
            ("alt-ctrl-x", KeyCode::Char('x'), ctrl | alt),
            ("alt-shift-x", KeyCode::Char('X'), alt),
            ("space", KeyCode::Char(' '), none),
            (" ", KeyCode::Char(' '), none),
            ("shift-space", KeyCode::Char(' '), none),
            ("ctrl-space", KeyCode::Char(' '), ctrl),
            ("tab", KeyCode::Tab, none),
            ("shift-tab", KeyCode::BackTab, none),
            ("backtab", KeyCode::BackTab, none),
            ("ctrl-shift-tab", KeyCode::BackTab, ctrl),
            ("enter", KeyCode::Enter, none),
            ("Return", KeyCode::Enter, none),
            ("esc", KeyCode::Esc, none),
            ("escape", KeyCode::Esc, none),
            ("backspace", KeyCode::Backspace, none),
            ("up", KeyCode::Up, none),
            ("shift-up", KeyCode::Up, shift),
            ("down", KeyCode::Down, none),
            ("left", KeyCode::Left, none),
            ("alt-right", KeyCode::Right, alt),
            ("pgup", KeyCode::PageUp, none),
            ("pageup", KeyCode::PageUp, none),
            ("PgDn", KeyCode::PageDown, none),
            ("pagedown", KeyCode::PageDown, none),
            ("home", KeyCode::Home, none),
            ("end", KeyCode::End, none),
            ("delete", KeyCode::Delete, none),
            ("del", KeyCode::Delete, none),
            ("insert", KeyCode::Insert, none),
            ("f1", KeyCode::F(1), none),
            ("F12", KeyCode::F(12), none),
            ("ctrl-f5", KeyCode::F(5), ctrl),
            ("é", KeyCode::Char('é'), none),
            ("shift-é", KeyCode::Char('É'), none),
            ("\\", KeyCode::Char('\\'), none),
            ("\"", KeyCode::Char('"'), none),
        ];
        for (spec, code, modifiers) in cases {
            assert_eq!(chord(spec), KeyChord::new(code, modifiers), "{spec:?}");
        }
        assert_ne!(chord("g"), chord("G"), "letters are case-sensitive");
        assert_ne!(chord("f"), chord("f1"));
    }

    #[test]
    fn bad_key_specs_say_what_is_wrong() {
        let cases = [
            ("", "an empty key"),
            ("ctrl-", "`ctrl-` needs a key after `ctrl-`"),
            ("ctrl-alt-", "needs a key after `alt-`"),
            ("ctlr-c", "unknown modifier `ctlr-` (did you mean `ctrl-`?)"),
            ("super-x", "unknown modifier `super-`"),
            ("escc", "`escc` is not a key (did you mean `esc`?)"),
            ("qq", "`qq` is not a key; write one character or a key name"),
            ("f0", "function keys are f1 to f12"),
            ("f13", "function keys are f1 to f12"),
            ("f999999999999", "function keys are f1 to f12"),
            ("shift-1", "(e.g. `!` rather than `shift-1`)"),
            ("shift-+", "shift- goes with letters and key names only"),
            ("ctrl-G", "write `ctrl-g`"),
            ("ctrl-shift-g", "write `ctrl-g`"),
            ("ctrl-ctrl-c", "names `ctrl-` twice"),
            ("shift-Shift-x", "names `shift-` twice"),
            ("\t", "`\\t` is not a key that can be bound"),
            ("\u{1b}", "not a key that can be bound"),
            ("\u{a0}", "not a key that can be bound"),
        ];
        let long = format!("\u{1b}[2J{}", "x".repeat(100));
        let err = long.parse::<KeyChord>().unwrap_err();
        assert!(
            !err.contains('\u{1b}') && err.contains('…') && err.len() < 400,
            "{err}"
        );
        for (spec, expected) in cases {
            let err = spec.parse::<KeyChord>().unwrap_err();
            assert!(err.contains(expected), "{spec:?}: {err}");
            assert!(!err.contains('\n'), "{spec:?}: {err}");
        }
    }

    #[test]
    fn every_default_key_reads_back_from_how_it_is_displayed() {
        for (chord, action) in default_bindings() {
            let shown = chord.display();
            assert_eq!(shown.parse(), Ok(chord), "{action}: {shown}");
        }
    }

    /// Every key the grammar names, with every combination of modifiers.
    fn every_bindable_chord() -> Vec<KeyChord> {
        let mut codes: Vec<KeyCode> = (' '..='~').map(KeyCode::Char).collect();
        codes.extend(['é', 'É', 'ß', 'ж', '€', '中'].map(KeyCode::Char));
        codes.extend(KEY_NAMES.iter().map(|(_, code)| *code));
        codes.extend((1..=MAX_FUNCTION_KEY).map(KeyCode::F));
        let mut chords = Vec::new();
        for code in codes {
            for bits in 0..8u8 {
                let mut modifiers = KeyModifiers::NONE;
                if bits & 1 != 0 {
                    modifiers |= KeyModifiers::CONTROL;
                }
                if bits & 2 != 0 {
                    modifiers |= KeyModifiers::ALT;
                }
                if bits & 4 != 0 {
                    modifiers |= KeyModifiers::SHIFT;
                }
                chords.push(KeyChord::new(code, modifiers));
            }
        }
        chords
    }

    #[test]
    fn every_key_reads_back_from_how_it_is_displayed() {
        let mut refused = 0;
        for chord in every_bindable_chord() {
            let shown = chord.display();
            match shown.parse::<KeyChord>() {
                Ok(read) => assert_eq!(read, chord, "{shown}"),
                Err(e) => {
                    // The one refusal: ctrl with a capital, which terminals cannot send.
                    let KeyCode::Char(c) = chord.code else {
                        panic!("{shown}: {e}")
                    };
                    assert!(
                        c.is_uppercase() && chord.modifiers.contains(KeyModifiers::CONTROL),
                        "{shown}: {e}"
                    );
                    refused += 1;
                }
            }
        }
        assert!(refused > 0);
    }

    proptest::proptest! {
        #[test]
        fn any_text_read_as_a_key_displays_as_itself_or_fails_cleanly(spec in "\\PC{0,12}|(ctrl-|alt-|shift-){0,3}[ -~]{1,3}") {
            if let Ok(chord) = spec.parse::<KeyChord>() {
                let shown = chord.display();
                proptest::prop_assert_eq!(shown.parse::<KeyChord>(), Ok(chord), "{} shown as {}", spec, shown);
            }
        }
    }

    #[test]
    fn config_bindings_replace_an_actions_defaults() {
        let keys = KeysConfig::from_pairs([
            (Action::Quit, &["x"][..]),
            (Action::CycleTheme, &["t", "f2"][..]),
        ]);
        let map = KeyMap::from_config(&keys).unwrap();
        let press = |code| KeyEvent::new(code, KeyModifiers::NONE);
        assert_eq!(map.action(&press(KeyCode::Char('x'))), Some(Action::Quit));
        assert_eq!(map.action(&press(KeyCode::Char('q'))), None);
        assert_eq!(map.action(&press(KeyCode::F(2))), Some(Action::CycleTheme));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map.action(&ctrl_c), None, "quit has only `x` now");
        assert_eq!(map.keys_for(Action::Help), ["?"]);
        assert_eq!(
            KeyMap::from_config(&KeysConfig::default()).unwrap(),
            KeyMap::default()
        );
    }

    #[test]
    fn config_errors_name_the_action() {
        let err = KeyMap::from_config(&KeysConfig::from_pairs([(Action::Sort, &["s", "??"][..])]))
            .unwrap_err();
        assert_eq!((err.section, err.key), ("keys", "sort"));
        assert!(
            err.to_string()
                .starts_with("[keys] sort: `??` is not a key"),
            "{err}"
        );
        let err = KeyMap::from_config(&KeysConfig::from_pairs([(Action::Filter, &["s"][..])]))
            .unwrap_err();
        assert_eq!(err.key, "filter");
        assert!(
            err.to_string().contains("already a default key of sort"),
            "{err}"
        );
        let err = KeyMap::from_config(&KeysConfig::from_pairs([
            (Action::Filter, &["x"][..]),
            (Action::Sort, &["x"][..]),
        ]))
        .unwrap_err();
        assert_eq!((err.key, err.other_key), ("sort", Some("filter")));
        let err =
            KeyMap::from_config(&KeysConfig::from_pairs([(Action::Quit, &[][..])])).unwrap_err();
        assert_eq!(err.key, "quit");
    }
}
