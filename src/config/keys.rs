//! The `[keys]` section: key bindings of the live view, as action names and the keys that do
//! them. The keys are read and checked against each other and the defaults by
//! [`KeyMap::from_config`], which the live view also uses to build its bindings.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{InvalidValue, Section};
use crate::tui::Action;
use crate::tui::keymap::{KEY_SPEC_ALLOWED, KeyMap};

/// Key bindings from the `[keys]` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeysConfig {
    /// The keys of each action listed, as written; an action not listed keeps its defaults.
    pub bindings: BTreeMap<Action, Vec<String>>,
}

impl Section for KeysConfig {
    const NAME: &'static str = "keys";

    fn allowed(key: &str) -> Option<String> {
        key.parse::<Action>()
            .ok()
            .map(|_| KEY_SPEC_ALLOWED.to_string())
    }

    fn check(&self) -> Result<(), InvalidValue> {
        KeyMap::from_config(self).map(|_| ())
    }

    fn commented_defaults() -> String {
        let defaults = KeyMap::default();
        let lines: Vec<(String, &str)> = Action::ALL
            .iter()
            .map(|&action| {
                let keys: Vec<String> = defaults
                    .keys_for(action)
                    .iter()
                    .map(|k| toml_string(k))
                    .collect();
                let value = match keys.as_slice() {
                    [one] => one.clone(),
                    _ => format!("[{}]", keys.join(", ")),
                };
                (format!("# {} = {value}", action.name()), action.describe())
            })
            .collect();
        let width = lines
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        let mut text = String::from(
            "[keys]
# Key bindings of the live view: an action's name, then one key in quotes or a list of
# keys. An action listed here gets exactly the keys listed, in place of its defaults;
# actions not listed keep theirs. A key is one character (\"q\", \"G\", \"+\"; letters are
# case-sensitive) or a key name: space, tab, shift-tab, enter, esc, backspace, up, down,
# left, right, pgup, pgdn, home, end, delete, insert, f1 to f12; any of them may follow
# ctrl-, alt- or shift-. A key does one thing only: to give an action a key that another
# action has by default, list that other action here too with other keys.
# The defaults:
",
        );
        for (line, describe) in lines {
            let pad = width - line.chars().count();
            text.push_str(&format!("{line}{}  # {describe}\n", " ".repeat(pad)));
        }
        text
    }
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl KeysConfig {
    /// The bindings of `pairs` (action, keys as written), for tests and callers building a
    /// section in code.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (Action, &'a [&'a str])>) -> Self {
        KeysConfig {
            bindings: pairs
                .into_iter()
                .map(|(action, keys)| (action, keys.iter().map(|k| k.to_string()).collect()))
                .collect(),
        }
    }
}

impl Serialize for KeysConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.bindings.len()))?;
        for (action, keys) in &self.bindings {
            map.serialize_entry(action.name(), keys)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for KeysConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(KeysVisitor)
    }
}

struct KeysVisitor;

impl<'de> Visitor<'de> for KeysVisitor {
    type Value = KeysConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of actions and their keys")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeysConfig, A::Error> {
        let mut bindings = BTreeMap::new();
        while let Some(ActionName(action)) = map.next_key()? {
            let KeyList(keys) = map.next_value()?;
            bindings.insert(action, keys);
        }
        Ok(KeysConfig { bindings })
    }
}

/// An action named as a key of the section; any other name is an unknown field, so the
/// message lists the actions and suggests the nearest.
struct ActionName(Action);

impl<'de> Deserialize<'de> for ActionName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = ActionName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an action name")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<ActionName, E> {
                name.parse()
                    .map(ActionName)
                    .map_err(|_| E::unknown_field(name, &Action::NAMES))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// One key or a list of keys, as written.
struct KeyList(Vec<String>);

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = KeyList;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key in quotes or a list of keys")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<KeyList, E> {
                Ok(KeyList(vec![key.to_string()]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyList, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = seq.next_element::<String>()? {
                    keys.push(key);
                }
                Ok(KeyList(keys))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}
