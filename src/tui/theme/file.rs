//! Reading a theme file (format: `themes/README.md`).
//!
//! The file is walked by hand rather than through serde so that every message can say which
//! line, which style and which of its parts is wrong. Unknown keys are errors, as everywhere in
//! scanwatch's files.

use std::ops::Range;

use ratatui::style::{Color, Style};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::color::{parse_color, parse_modifier};
use super::{BUILTIN_THEMES, Theme};
use crate::config::closest_name;

/// Longest theme name.
pub const NAME_MAX_CHARS: usize = 40;

/// How a style is written, for messages.
const STYLE_EXAMPLE: &str = r##"{ fg = "cyan", bg = "#1c1c1c", modifiers = ["bold"] }"##;

/// Reads a theme file.
///
/// `origin` names the file in messages (`theme file /home/u/.config/scanwatch/themes/x.toml`);
/// `default_name` is the theme's name when the file has no `name` key (its file name without
/// `.toml`). A file with `extends = "NAME"` takes the styles it does not give from that built-in
/// theme; without it, every style must be given. Errors are one line: the origin, the line,
/// the key and what is allowed.
pub fn parse_theme(text: &str, origin: &str, default_name: &str) -> Result<Theme, String> {
    parse(text, origin, default_name, true)
}

/// Reads a built-in theme file: like [`parse_theme`], but `extends` is refused, so a built-in
/// theme never depends on another.
pub(super) fn parse_builtin(text: &str, origin: &str, name: &str) -> Result<Theme, String> {
    parse(text, origin, name, false)
}

/// The file's text and how it is named, for messages.
struct Reader<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Reader<'_> {
    /// `theme file X: line N: message` for something at byte `span.start`.
    fn error(&self, span: Range<usize>, message: impl std::fmt::Display) -> String {
        format!("{}: line {}: {message}", self.origin, self.line(span.start))
    }

    /// 1-based line of byte `offset`.
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }
}

fn parse(
    text: &str,
    origin: &str,
    default_name: &str,
    allow_extends: bool,
) -> Result<Theme, String> {
    let reader = Reader { text, origin };
    let root = DeTable::parse(text).map_err(|e| {
        let message = e.message().trim().replace('\n', " ");
        match e.span() {
            Some(span) => reader.error(span, format!("invalid TOML: {message}")),
            None => format!("{origin}: invalid TOML: {message}"),
        }
    })?;
    let style_names = Theme::style_names();
    let mut name: Option<String> = None;
    let mut extends: Option<Theme> = None;
    let mut given: Vec<(&'static str, Style)> = Vec::new();
    for (key, value) in in_file_order(root.get_ref()) {
        let key_text: &str = key.get_ref();
        match key_text {
            "name" => name = Some(theme_name(&reader, value)?),
            "extends" if allow_extends => extends = Some(extended(&reader, value)?),
            "extends" => {
                return Err(reader.error(
                    key.span(),
                    "a built-in theme gives every style itself; `extends` is for user themes",
                ));
            }
            _ => match style_names.iter().find(|n| **n == key_text) {
                Some(field) => given.push((field, style(&reader, field, value)?)),
                None => return Err(unknown_key(&reader, key, &style_names)),
            },
        }
    }
    let mut theme = match extends {
        Some(base) => base,
        None => {
            let missing: Vec<&str> = style_names
                .iter()
                .filter(|n| !given.iter().any(|(g, _)| g == *n))
                .copied()
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "{origin}: missing {}: {}; give every style, or add extends = \"dark\" (or \
                     another built-in theme) to take the others from it",
                    if missing.len() == 1 {
                        "style"
                    } else {
                        "styles"
                    },
                    missing.join(", ")
                ));
            }
            Theme::dark()
        }
    };
    for (field, value) in given {
        if let Some(slot) = theme.style_mut(field) {
            *slot = value;
        }
    }
    theme.name = name.unwrap_or_else(|| default_name.to_string());
    Ok(theme)
}

/// The entries of `table` in the order they appear in the file, so the first mistake is the
/// one reported.
fn in_file_order<'t, 'i>(
    table: &'t DeTable<'i>,
) -> Vec<(
    &'t Spanned<toml::de::DeString<'i>>,
    &'t Spanned<DeValue<'i>>,
)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

/// The `name` key: a short line of printable text (it is shown in the live view).
fn theme_name(reader: &Reader<'_>, value: &Spanned<DeValue<'_>>) -> Result<String, String> {
    let Some(name) = value.get_ref().as_str() else {
        return Err(reader.error(
            value.span(),
            format!(
                "`name` must be a name in quotes, not {}",
                type_name(value.get_ref())
            ),
        ));
    };
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(reader.error(
            value.span(),
            format!(
                "`name` must be 1 to {NAME_MAX_CHARS} characters of text without control \
                 characters"
            ),
        ));
    }
    Ok(name.to_string())
}

/// The `extends` key: the built-in theme named.
fn extended(reader: &Reader<'_>, value: &Spanned<DeValue<'_>>) -> Result<Theme, String> {
    let names: Vec<&str> = BUILTIN_THEMES.iter().map(|(n, _)| *n).collect();
    let Some(base) = value.get_ref().as_str() else {
        return Err(reader.error(
            value.span(),
            format!(
                "`extends` must be the name of a built-in theme in quotes ({}), not {}",
                names.join(", "),
                type_name(value.get_ref())
            ),
        ));
    };
    let Some((_, text)) = BUILTIN_THEMES.iter().find(|(n, _)| *n == base) else {
        let hint =
            closest_name(base, &names).map_or(String::new(), |n| format!("; did you mean `{n}`?"));
        return Err(reader.error(
            value.span(),
            format!(
                "extends = \"{}\": not a built-in theme (allowed: {}){hint}",
                base.escape_debug(),
                names.join(", ")
            ),
        ));
    };
    let origin = format!("built-in theme file themes/{base}.toml");
    parse_builtin(text, &origin, base)
}

/// An unknown top-level key, with the keys allowed and the nearest one.
fn unknown_key(
    reader: &Reader<'_>,
    key: &Spanned<toml::de::DeString<'_>>,
    style_names: &[&'static str],
) -> String {
    let name: &str = key.get_ref();
    let mut allowed = vec!["name", "extends"];
    allowed.extend_from_slice(style_names);
    let hint =
        closest_name(name, &allowed).map_or(String::new(), |n| format!("; did you mean `{n}`?"));
    reader.error(
        key.span(),
        format!(
            "unknown key `{}` (allowed: {}){hint}",
            name.escape_debug(),
            allowed.join(", ")
        ),
    )
}

/// The style `field` as written: a table of `fg`, `bg` and `modifiers`, each optional.
fn style(reader: &Reader<'_>, field: &str, value: &Spanned<DeValue<'_>>) -> Result<Style, String> {
    let DeValue::Table(table) = value.get_ref() else {
        return Err(reader.error(
            value.span(),
            format!(
                "`{field}` must be a style such as {STYLE_EXAMPLE}, not {}",
                type_name(value.get_ref())
            ),
        ));
    };
    let mut style = Style::new();
    for (key, part) in in_file_order(table) {
        let part_name: &str = key.get_ref();
        match part_name {
            "fg" => style = style.fg(color(reader, field, "fg", part)?),
            "bg" => style = style.bg(color(reader, field, "bg", part)?),
            "modifiers" => {
                for modifier in modifiers(reader, field, part)? {
                    style = style.add_modifier(modifier);
                }
            }
            _ => {
                let allowed = ["fg", "bg", "modifiers"];
                let hint = closest_name(part_name, &allowed)
                    .map_or(String::new(), |n| format!("; did you mean `{n}`?"));
                return Err(reader.error(
                    key.span(),
                    format!(
                        "unknown key `{}` in `{field}` (allowed: fg, bg, modifiers){hint}",
                        part_name.escape_debug()
                    ),
                ));
            }
        }
    }
    Ok(style)
}

/// A colour: text (a name, `#rrggbb`, an index) or an integer index.
fn color(
    reader: &Reader<'_>,
    field: &str,
    part: &str,
    value: &Spanned<DeValue<'_>>,
) -> Result<Color, String> {
    let context = format!("`{field}` {part}");
    let parsed = match value.get_ref() {
        DeValue::String(text) => parse_color(text),
        DeValue::Integer(integer) => {
            let index = i64::from_str_radix(integer.as_str(), integer.radix())
                .ok()
                .and_then(|i| u8::try_from(i).ok());
            match index {
                Some(index) => Ok(Color::Indexed(index)),
                None => {
                    return Err(reader.error(
                        value.span(),
                        format!(
                            "color index {integer} for {context} is out of range (allowed: 0-255)"
                        ),
                    ));
                }
            }
        }
        other => {
            return Err(reader.error(
                value.span(),
                format!(
                    "{context} must be a color in quotes (\"cyan\", \"#1c1c1c\") or an index \
                     0-255, not {}",
                    type_name(other)
                ),
            ));
        }
    };
    parsed.map_err(|e| reader.error(value.span(), e.describe(&context)))
}

/// `modifiers`: a list of modifier names (one name alone is accepted too).
fn modifiers(
    reader: &Reader<'_>,
    field: &str,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<ratatui::style::Modifier>, String> {
    let context = format!("`{field}`");
    let not_a_list = |span: Range<usize>, found: &DeValue<'_>| {
        reader.error(
            span,
            format!(
                "`{field}` modifiers must be a list of names such as [\"bold\", \"reversed\"], \
                 not {}",
                type_name(found)
            ),
        )
    };
    let one = |item: &Spanned<DeValue<'_>>| match item.get_ref() {
        DeValue::String(name) => {
            parse_modifier(name).map_err(|e| reader.error(item.span(), e.describe(&context)))
        }
        other => Err(not_a_list(item.span(), other)),
    };
    match value.get_ref() {
        DeValue::Array(items) => items.iter().map(one).collect(),
        DeValue::String(_) => Ok(vec![one(value)?]),
        other => Err(not_a_list(value.span(), other)),
    }
}

/// A TOML value's type with its article, for messages.
fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}
