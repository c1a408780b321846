//! Wall-clock times in reports: RFC 3339 (UTC) for people and machines, nmap's `startstr` form,
//! unix seconds; and reading RFC 3339 back (for metadata kept in other files).
//!
//! No time-zone database is involved: everything is UTC, and the calendar arithmetic is the
//! proleptic Gregorian one (days from civil dates and back).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Microseconds since the unix epoch; negative before it.
pub fn unix_us(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |us| -us),
    }
}

/// Whole seconds since the unix epoch (rounded down).
pub fn unix_seconds(t: SystemTime) -> i64 {
    unix_us(t).div_euclid(1_000_000)
}

/// The time `us` microseconds after `t`, saturating at the far end of `SystemTime`.
pub fn add_us(t: SystemTime, us: u64) -> SystemTime {
    t.checked_add(Duration::from_micros(us)).unwrap_or(t)
}

/// `2026-11-21T10:19:24Z`: whole seconds, UTC.
pub fn rfc3339(t: SystemTime) -> String {
    let (date, secs_of_day, _) = split(unix_us(t));
    format!("{}T{}Z", date_text(date), clock_text(secs_of_day))
}

/// `2026-11-21T10:15:00.123456Z`: microseconds, UTC.
pub fn rfc3339_micros(t: SystemTime) -> String {
    let (date, secs_of_day, micros) = split(unix_us(t));
    format!(
        "{}T{}.{micros:06}Z",
        date_text(date),
        clock_text(secs_of_day)
    )
}

/// `20261121T101500Z`: the basic ISO 8601 form, UTC, for file names.
pub fn compact_utc(t: SystemTime) -> String {
    let (date, secs, _) = split(unix_us(t));
    let (year, month, day) = civil_from_days(date);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `2026-11-21T10:19:24.123Z`: milliseconds, UTC.
pub fn rfc3339_millis(t: SystemTime) -> String {
    let (date, secs_of_day, micros) = split(unix_us(t));
    format!(
        "{}T{}.{:03}Z",
        date_text(date),
        clock_text(secs_of_day),
        micros / 1000
    )
}

/// `Sat Nov 21 10:19:24 2026`, the form of nmap's `startstr` and `timestr` (in UTC here).
pub fn nmap_timestr(t: SystemTime) -> String {
    const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (days, secs_of_day, _) = split(unix_us(t));
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[(days + 4).rem_euclid(7) as usize];
    let month = MONTHS[(month as usize).saturating_sub(1).min(11)];
    format!(
        "{weekday} {month} {day:2} {} {year}",
        clock_text(secs_of_day)
    )
}

/// Reads an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t` or a space may
/// separate date and time, `z` stands for `Z`. A leap second (`:60`) reads as `:59`. None when
/// the text is not such a time or names a day that does not exist.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let b = text.trim().as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros: i64 = 0;
    if let Some((b'.', frac)) = rest.split_first() {
        let len = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        for (i, &c) in frac[..len].iter().enumerate() {
            if i < 6 {
                micros = micros * 10 + i64::from(c - b'0');
            }
        }
        for _ in len..6 {
            micros *= 10;
        }
        rest = &frac[len..];
    }
    let offset_s: i64 = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let h = digits(rest, 1, 2)?;
            let m = digits(rest, 4, 2)?;
            if h > 23 || m > 59 {
                return None;
            }
            let magnitude = h * 3600 + m * 60;
            if *sign == b'+' { magnitude } else { -magnitude }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_s;
    let us = secs.checked_mul(1_000_000)?.checked_add(micros)?;
    Some(from_unix_us(us))
}

/// The `SystemTime` `us` microseconds from the unix epoch.
pub fn from_unix_us(us: i64) -> SystemTime {
    let magnitude = Duration::from_micros(us.unsigned_abs());
    if us >= 0 {
        UNIX_EPOCH.checked_add(magnitude).unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH.checked_sub(magnitude).unwrap_or(UNIX_EPOCH)
    }
}

/// Days since the epoch, seconds into that day, microseconds into that second.
fn split(us: i64) -> (i64, i64, i64) {
    let secs = us.div_euclid(1_000_000);
    (
        secs.div_euclid(86_400),
        secs.rem_euclid(86_400),
        us.rem_euclid(1_000_000),
    )
}

fn date_text(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

fn clock_text(secs_of_day: i64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    )
}

/// Year, month (1–12) and day (1–31) of a day number counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Day number (from 1970-01-01) of a civil date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The number written with `len` ASCII digits at `at`.
fn digits(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let field = b.get(at..at + len)?;
    field.iter().try_fold(0i64, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> SystemTime {
        from_unix_us(secs * 1_000_000)
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(at(1_795_256_364)), "2026-11-21T10:19:24Z");
        assert_eq!(nmap_timestr(at(1_795_256_364)), "Sat Nov 21 10:19:24 2026");
        assert_eq!(nmap_timestr(at(951_782_400)), "Tue Feb 29 00:00:00 2000");
        assert_eq!(nmap_timestr(at(1_704_067_200)), "Mon Jan  1 00:00:00 2024");
        assert_eq!(
            rfc3339_millis(from_unix_us(1_700_000_000_123_456)),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(rfc3339(at(-1)), "1969-12-31T23:59:59Z");
        assert_eq!(unix_seconds(from_unix_us(-1)), -1);
    }

    #[test]
    fn reads_back_what_it_writes_and_common_variants() {
        for secs in [0, 1, 951_782_400, 1_795_256_364, 4_102_444_799, -86_401] {
            assert_eq!(parse_rfc3339(&rfc3339(at(secs))), Some(at(secs)), "{secs}");
        }
        let t = from_unix_us(1_700_000_000_123_000);
        assert_eq!(parse_rfc3339(&rfc3339_millis(t)), Some(t));
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20.123+01:00"),
            Some(t),
            "offsets are applied"
        );
        assert_eq!(
            parse_rfc3339("2023-11-14 22:13:20.123456789z"),
            Some(from_unix_us(1_700_000_000_123_456))
        );
        assert_eq!(
            parse_rfc3339("2016-12-31T23:59:60Z"),
            parse_rfc3339("2016-12-31T23:59:59Z")
        );
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-13-14T22:13:20Z",
            "2023-02-29T22:13:20Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+1:00",
            "2023-11-14T22:13:20Zjunk",
            "2023-11-14X22:13:20Z",
            "२०२३-11-14T22:13:20Z",
            "+2023-11-14T22:13:20Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }
}
