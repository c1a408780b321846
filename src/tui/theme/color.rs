//! Colours and modifiers as written in theme files.

use std::fmt;

use ratatui::style::{Color, Modifier};

use crate::config::closest_name;

/// The named colours, as written in theme files, with ratatui's colour for each.
const NAMED_COLORS: [(&str, Color); 17] = [
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark_gray", Color::DarkGray),
    ("light_red", Color::LightRed),
    ("light_green", Color::LightGreen),
    ("light_yellow", Color::LightYellow),
    ("light_blue", Color::LightBlue),
    ("light_magenta", Color::LightMagenta),
    ("light_cyan", Color::LightCyan),
    ("white", Color::White),
    ("reset", Color::Reset),
];

/// What a colour may be, for messages: follows "allowed: ".
pub(super) const COLORS_ALLOWED: &str = "black, red, green, yellow, blue, magenta, cyan, gray, \
dark_gray, light_red, light_green, light_yellow, light_blue, light_magenta, light_cyan, white, \
reset, #rrggbb, 0-255";

/// The modifiers, as written in theme files; the last four are other spellings.
const MODIFIERS: [(&str, Modifier); 13] = [
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("slow_blink", Modifier::SLOW_BLINK),
    ("rapid_blink", Modifier::RAPID_BLINK),
    ("reversed", Modifier::REVERSED),
    ("hidden", Modifier::HIDDEN),
    ("crossed_out", Modifier::CROSSED_OUT),
    ("underline", Modifier::UNDERLINED),
    ("reverse", Modifier::REVERSED),
    ("blink", Modifier::SLOW_BLINK),
    ("strikethrough", Modifier::CROSSED_OUT),
];

/// What a modifier may be, for messages: follows "allowed: ".
pub(super) const MODIFIERS_ALLOWED: &str =
    "bold, dim, italic, underlined, slow_blink, rapid_blink, reversed, hidden, crossed_out";

/// A colour or modifier that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StyleValueError {
    /// What is wrong, naming the value: "unknown color `cyna`".
    pub problem: String,
    /// What is allowed instead: "black, red, …, #rrggbb, 0-255".
    pub allowed: &'static str,
    /// The nearest allowed name, for a near miss.
    pub suggestion: Option<&'static str>,
}

impl StyleValueError {
    /// The message with what the value was for: "unknown color `cyna` for `border` fg
    /// (allowed: …); did you mean `cyan`?".
    pub fn describe(&self, context: &str) -> String {
        let mut text = format!("{} for {context} (allowed: {})", self.problem, self.allowed);
        if let Some(near) = self.suggestion {
            text.push_str(&format!("; did you mean `{near}`?"));
        }
        text
    }
}

impl fmt::Display for StyleValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (allowed: {})", self.problem, self.allowed)?;
        if let Some(near) = self.suggestion {
            write!(f, "; did you mean `{near}`?")?;
        }
        Ok(())
    }
}

/// Reads a colour written as text: a name (case and `_`/`-` separators do not matter, so
/// `dark_gray`, `darkgray` and `Dark-Gray` are one colour; `grey` is `gray`), `reset` (the
/// terminal's own colour), `#rrggbb`, or an index `0`-`255` of the terminal's 256-colour
/// palette.
pub fn parse_color(text: &str) -> Result<Color, StyleValueError> {
    let error = |problem: String, suggestion| StyleValueError {
        problem,
        allowed: COLORS_ALLOWED,
        suggestion,
    };
    if let Some(hex) = text.strip_prefix('#') {
        return parse_hex(hex).ok_or_else(|| {
            error(
                format!("`{text}` is not a #rrggbb color (six hexadecimal digits after the #)"),
                None,
            )
        });
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u8>() {
            Ok(index) => Ok(Color::Indexed(index)),
            Err(_) => Err(error(format!("color index `{text}` is out of range"), None)),
        };
    }
    let key = normalise(text).replace("grey", "gray");
    if let Some((_, color)) = NAMED_COLORS
        .iter()
        .find(|(name, _)| name.replace('_', "") == key)
    {
        return Ok(*color);
    }
    let names: Vec<&'static str> = NAMED_COLORS.iter().map(|(name, _)| *name).collect();
    let suggestion = closest_name(&text.to_ascii_lowercase(), &names);
    Err(error(
        format!("unknown color `{}`", shown(text)),
        suggestion,
    ))
}

/// Reads a modifier name (case and `_`/`-` separators do not matter).
pub fn parse_modifier(text: &str) -> Result<Modifier, StyleValueError> {
    let key = normalise(text);
    if let Some((_, modifier)) = MODIFIERS
        .iter()
        .find(|(name, _)| name.replace('_', "") == key)
    {
        return Ok(*modifier);
    }
    let names: Vec<&'static str> = MODIFIERS.iter().map(|(name, _)| *name).collect();
    Err(StyleValueError {
        problem: format!("unknown modifier `{}`", shown(text)),
        allowed: MODIFIERS_ALLOWED,
        suggestion: closest_name(&text.to_ascii_lowercase(), &names),
    })
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

/// `text` in lower case without `_`, `-` or spaces.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// `rrggbb` as a colour.
fn parse_hex(hex: &str) -> Option<Color> {
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some(Color::Rgb(channel(0)?, channel(2)?, channel(4)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixteen_names_reset_hex_and_indexes_are_colours() {
        let cases = [
            ("black", Color::Black),
            ("red", Color::Red),
            ("green", Color::Green),
            ("yellow", Color::Yellow),
            ("blue", Color::Blue),
            ("magenta", Color::Magenta),
            ("cyan", Color::Cyan),
            ("gray", Color::Gray),
            ("grey", Color::Gray),
            ("dark_gray", Color::DarkGray),
            ("darkgray", Color::DarkGray),
            ("dark-grey", Color::DarkGray),
            ("Dark_Gray", Color::DarkGray),
            ("light_red", Color::LightRed),
            ("lightgreen", Color::LightGreen),
            ("light_yellow", Color::LightYellow),
            ("light_blue", Color::LightBlue),
            ("light_magenta", Color::LightMagenta),
            ("LIGHT_CYAN", Color::LightCyan),
            ("white", Color::White),
            ("reset", Color::Reset),
            ("#1c1c1c", Color::Rgb(0x1c, 0x1c, 0x1c)),
            ("#FFa500", Color::Rgb(255, 165, 0)),
            ("0", Color::Indexed(0)),
            ("236", Color::Indexed(236)),
            ("255", Color::Indexed(255)),
        ];
        for (text, color) in cases {
            assert_eq!(parse_color(text), Ok(color), "{text}");
        }
        for (name, color) in NAMED_COLORS {
            assert_eq!(parse_color(name), Ok(color));
        }
    }

    #[test]
    fn bad_colours_say_what_is_wrong() {
        let err = parse_color("cyna").unwrap_err();
        assert_eq!(err.problem, "unknown color `cyna`");
        assert_eq!(err.suggestion, Some("cyan"));
        assert_eq!(
            err.describe("`border` fg"),
            format!(
                "unknown color `cyna` for `border` fg (allowed: {COLORS_ALLOWED}); did you mean `cyan`?"
            )
        );
        assert!(
            COLORS_ALLOWED.starts_with("black, red, ")
                && COLORS_ALLOWED.ends_with("#rrggbb, 0-255")
        );
        assert_eq!(parse_color("chartreuse").unwrap_err().suggestion, None);
        for bad in ["#12345", "#1234567", "#gggggg", "#", "#ééé"] {
            let err = parse_color(bad).unwrap_err();
            assert!(err.problem.contains("#rrggbb"), "{bad}: {err}");
        }
        let err = parse_color("256").unwrap_err();
        assert!(
            err.to_string().contains("out of range (allowed: black"),
            "{err}"
        );
        assert!(parse_color("99999999999999999999").is_err());
        for bad in ["", " ", "-1", "1.5", "light", "bright_red", "\u{1b}[31m"] {
            assert!(parse_color(bad).is_err(), "{bad:?}");
        }
        let escaped = parse_color("\u{1b}[31m").unwrap_err().problem;
        assert!(!escaped.contains('\u{1b}'), "{escaped}");
    }

    #[test]
    fn modifiers_have_names_and_other_spellings() {
        assert_eq!(parse_modifier("bold"), Ok(Modifier::BOLD));
        assert_eq!(parse_modifier("Reverse"), Ok(Modifier::REVERSED));
        assert_eq!(parse_modifier("underline"), Ok(Modifier::UNDERLINED));
        assert_eq!(parse_modifier("crossed-out"), Ok(Modifier::CROSSED_OUT));
        assert_eq!(parse_modifier("slowblink"), Ok(Modifier::SLOW_BLINK));
        let err = parse_modifier("bld").unwrap_err();
        assert_eq!(
            err.describe("`title`"),
            format!(
                "unknown modifier `bld` for `title` (allowed: {MODIFIERS_ALLOWED}); did you mean `bold`?"
            )
        );
        for (name, _) in MODIFIERS {
            assert!(
                MODIFIERS_ALLOWED.contains(name)
                    || ["underline", "reverse", "blink", "strikethrough"].contains(&name)
            );
        }
    }
}
