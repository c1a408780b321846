//! Durations as users write them: `500ms`, `2s`, `1.5s`, `1m`, `250us`; a bare number is seconds
//! (as in nmap's timing options).

use std::time::Duration;

/// Parses a duration written as a number and an optional unit (`us`, `ms`, `s`, `m`, `h`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration; write e.g. 500ms, 2s or 1m".into());
    }
    if s.starts_with('-') {
        return Err(format!(
            "`{text}` is negative; a duration is 0 or more, e.g. 500ms, 2s or 1m"
        ));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return Err(format!(
            "`{text}` does not start with a number; write e.g. 500ms, 2s or 1m"
        ));
    }
    let unit_ns: u128 = match unit.trim() {
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "" | "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`; use us, ms, s, m or h"
            ));
        }
    };
    let nanos = exact_nanos(number, unit_ns)
        .ok_or_else(|| format!("`{number}` in `{text}` is not a number"))?;
    match nanos {
        Some(nanos) if nanos <= MAX_NANOS => Ok(Duration::from_nanos_u128(nanos)),
        _ => Err(format!("`{text}` is too long")),
    }
}

/// The longest duration accepted: a billion seconds (about 31 years).
const MAX_NANOS: u128 = 1_000_000_000 * 1_000_000_000;

/// `number` (digits with at most one `.`) times `unit_ns`, in whole nanoseconds, computed
/// exactly in decimal (a binary float would turn `222220222220ms` into 222220222219999us).
/// Digits below a nanosecond are dropped. `None` when `number` is not a number; `Some(None)`
/// when it is too large to hold.
fn exact_nanos(number: &str, unit_ns: u128) -> Option<Option<u128>> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    let mut nanos: u128 = 0;
    for digit in whole.bytes() {
        let d = u128::from(digit - b'0');
        nanos = match nanos.checked_mul(10).and_then(|n| n.checked_add(d)) {
            // Anything past the limit is refused by the caller; stop before overflowing.
            Some(n) if n <= MAX_NANOS => n,
            _ => return Some(None),
        };
    }
    let Some(mut nanos) = nanos.checked_mul(unit_ns) else {
        return Some(None);
    };
    // unit_ns is at most 3.6e12, so 13 fraction digits reach below a nanosecond.
    let mut scale = unit_ns;
    for digit in fraction.bytes().take(13) {
        scale /= 10;
        nanos += u128::from(digit - b'0') * scale;
    }
    Some(Some(nanos))
}

/// Formats a duration the way `parse_duration` reads it back, in the largest exact unit.
pub fn format_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us == 0 {
        "0ms".into()
    } else if us.is_multiple_of(3_600_000_000) {
        format!("{}h", us / 3_600_000_000)
    } else if us.is_multiple_of(60_000_000) {
        format!("{}m", us / 60_000_000)
    } else if us.is_multiple_of(1_000_000) {
        format!("{}s", us / 1_000_000)
    } else if us.is_multiple_of(1000) {
        format!("{}ms", us / 1000)
    } else {
        format!("{us}us")
    }
}

/// Serde helpers storing a `Duration` as whole milliseconds (machine formats).
pub mod serde_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Serde helpers storing a `Duration` as a human string such as `"1500ms"` (config files).
pub mod serde_human {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_duration(&text).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(
            parse_duration(" 3h ").unwrap(),
            Duration::from_secs(3 * 3600)
        );
    }

    #[test]
    fn rejects_bad_forms() {
        for bad in [
            "", "ms", "2x", "1.2.3s", "-1s", "1e400s", "fast", ".", ".s", "1..2",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(
            parse_duration("2x")
                .unwrap_err()
                .contains("unknown unit `x`")
        );
        assert!(parse_duration("-5s").unwrap_err().contains("negative"));
    }

    #[test]
    fn decimals_are_exact_and_limits_hold() {
        // Found by the `durations` fuzz target: through an f64 this was 222220222219999us.
        assert_eq!(
            parse_duration("222220222220ms").unwrap(),
            Duration::from_millis(222_220_222_220)
        );
        assert_eq!(parse_duration(".5s").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2.s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("0.1ms").unwrap(), Duration::from_micros(100));
        assert_eq!(
            parse_duration("0.0000000019s").unwrap(),
            Duration::from_nanos(1)
        );
        assert_eq!(
            parse_duration("1000000000").unwrap(),
            Duration::from_secs(1_000_000_000)
        );
        assert!(
            parse_duration("1000000000.1")
                .unwrap_err()
                .contains("too long")
        );
        assert!(
            parse_duration("99999999999999999999999999999999999999999h")
                .unwrap_err()
                .contains("too long")
        );
        assert!(
            parse_duration("16666667m")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn format_round_trips() {
        for d in [
            Duration::from_millis(1500),
            Duration::from_secs(2),
            Duration::from_secs(120),
            Duration::from_micros(250),
            Duration::from_secs(7200),
        ] {
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
    }
}
