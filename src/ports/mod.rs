//! Which TCP ports a scan probes: nmap-style port specs (`-p`, `--exclude-ports`), the ranked list
//! behind `--top-ports N`, and TCP service names for display.
//!
//! Port specs follow nmap's conventions (<https://nmap.org/book/port-scanning-options.html>):
//! a comma-separated list whose items are
//!
//! - a port, `22`, or a range, `8000-8100`; either end of a range may be left open: `1024-` runs
//!   to 65535 and `-1024` starts at 1; `-` alone is every port from 1 to 65535 (so `-p-` works);
//!   port 0 is only included when written explicitly (`0`, `0-10`), never by an open start;
//! - a TCP service name from `nmap-services`, `http`, or a pattern with `*` and `?` wildcards,
//!   `http*`; matching ignores case and, as in nmap, selects every TCP port listed under a
//!   matching name (`http` is 80 and 8008);
//! - any of the above after the TCP protocol prefix `T:` (`T:22,80`); `U:` and `S:` (UDP, SCTP)
//!   and `P:` (IP protocols) are rejected because scans are TCP only.
//!
//! Whitespace around items is ignored. The result is always sorted and free of duplicates.

pub mod services;

use services::{RANKED_TCP_PORTS, TCP_SERVICES, UNKNOWN_TCP_PORTS};

/// How many ranked ports a scan uses when neither `-p/--ports` nor `--top-ports` is given.
pub const DEFAULT_TOP_PORTS: usize = 1000;

/// Why `U:` and `S:` prefixes are refused.
const TCP_ONLY: &str = "UDP/SCTP ports are not supported: scanwatch scans TCP only";

/// Longest service name or pattern accepted as an item (nmap's own limit is 127 characters).
const MAX_NAME_LEN: usize = 127;

/// Characters a service name or pattern may contain besides ASCII letters and digits.
const NAME_PUNCTUATION: &str = "-_.:*?";

/// Parses an nmap-style port spec into a sorted, de-duplicated list.
///
/// Errors name the offending item and say what is wrong with it.
pub fn parse_port_spec(spec: &str) -> Result<Vec<u16>, String> {
    if spec.trim().is_empty() {
        return Err(
            "the port spec is empty; write e.g. 22,80,8000-8100, or - for all ports".into(),
        );
    }
    let mut ports = PortSet::new();
    for (index, raw) in spec.split(',').enumerate() {
        let raw = raw.trim();
        let item = strip_protocol_prefixes(raw)?;
        if item.is_empty() {
            return Err(empty_item_error(index + 1, raw));
        }
        add_item(&mut ports, item)?;
    }
    Ok(ports.to_vec())
}

/// The `n` highest-ranked TCP ports, sorted ascending.
///
/// The ranking is nmap's open-frequency data ([`services::RANKED_TCP_PORTS`]), so the result
/// is the same set nmap scans with `--top-ports n`. Errors if `n` is 0 or more than the number of
/// ranked ports, and says the maximum.
pub fn top_ports(n: usize) -> Result<Vec<u16>, String> {
    let max = RANKED_TCP_PORTS.len();
    if n == 0 {
        return Err(format!("must be at least 1 (and at most {max})"));
    }
    let Some(top) = RANKED_TCP_PORTS.get(..n) else {
        return Err(format!(
            "the maximum is {max}, the number of TCP ports with nmap open-frequency data; \
             use -p- to scan all 65535 ports"
        ));
    };
    let mut ports = top.to_vec();
    ports.sort_unstable();
    Ok(ports)
}

/// Service name of a TCP port, e.g. 22 → "ssh", from nmap's `nmap-services`
/// (binary search over [`services::TCP_SERVICES`]).
pub fn service_name(port: u16) -> Option<&'static str> {
    TCP_SERVICES
        .binary_search_by_key(&port, |&(listed, _)| listed)
        .ok()
        .and_then(|index| TCP_SERVICES.get(index))
        .map(|&(_, name)| name)
}

/// The service name nmap gives a TCP port from its table (a connect scan without version
/// detection): the `nmap-services` name, `unknown` for ports listed there as unknown, and none
/// for ports not listed at all (nmap then writes no service).
pub fn nmap_table_service(port: u16) -> Option<&'static str> {
    service_name(port).or_else(|| {
        UNKNOWN_TCP_PORTS
            .binary_search(&port)
            .is_ok()
            .then_some("unknown")
    })
}

/// The port set a scan uses: `ports` (a spec) if given, else `top_ports(top.unwrap_or(1000))`;
/// minus `exclude` (a spec).
///
/// `-p/--ports` takes precedence, so `top` is ignored when `ports` is given. Errors if any spec
/// is bad or if nothing is left after the exclusion, and name which option was wrong:
/// "-p/--ports `…`: …", "--exclude-ports `…`: …", "--top-ports N: …".
pub fn resolve_ports(
    ports: Option<&str>,
    top: Option<usize>,
    exclude: Option<&str>,
) -> Result<Vec<u16>, String> {
    let selected = match ports {
        Some(spec) => parse_port_spec(spec).map_err(|e| format!("-p/--ports `{spec}`: {e}"))?,
        None => {
            let n = top.unwrap_or(DEFAULT_TOP_PORTS);
            top_ports(n).map_err(|e| format!("--top-ports {n}: {e}"))?
        }
    };
    let Some(spec) = exclude else {
        return Ok(selected);
    };
    let excluded = parse_port_spec(spec).map_err(|e| format!("--exclude-ports `{spec}`: {e}"))?;
    let remaining: Vec<u16> = selected
        .into_iter()
        .filter(|port| excluded.binary_search(port).is_err())
        .collect();
    if remaining.is_empty() {
        return Err(format!(
            "no ports left to scan after --exclude-ports `{spec}` removed every selected port"
        ));
    }
    Ok(remaining)
}

/// Removes leading protocol prefixes (`T:`, any case) from an item, refusing non-TCP ones.
fn strip_protocol_prefixes(item: &str) -> Result<&str, String> {
    let mut rest = item;
    loop {
        let mut chars = rest.chars();
        let (Some(letter), Some(':')) = (chars.next(), chars.next()) else {
            return Ok(rest);
        };
        match letter.to_ascii_uppercase() {
            // Both characters are ASCII, so byte 2 is a character boundary.
            'T' => rest = rest[2..].trim_start(),
            'U' | 'S' => return Err(format!("`{item}`: {TCP_ONLY}")),
            'P' => {
                return Err(format!(
                    "`{item}`: IP protocol numbers (P:) are not supported: scanwatch scans TCP \
                     ports only"
                ));
            }
            _ => return Ok(rest),
        }
    }
}

/// The error for an item that names no ports (`22,,80`, a trailing comma, or a bare `T:`).
fn empty_item_error(position: usize, raw: &str) -> String {
    if raw.is_empty() {
        format!("item {position} is empty (a doubled, leading or trailing comma?)")
    } else {
        format!("item {position} (`{raw}`) names no ports after its protocol prefix")
    }
}

/// Adds the ports one item (already trimmed and without prefix) stands for.
fn add_item(ports: &mut PortSet, item: &str) -> Result<(), String> {
    if item.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        let (first, last) = parse_range(item)?;
        ports.insert_range(first, last);
    } else {
        for port in ports_named(item)? {
            ports.insert(port);
        }
    }
    Ok(())
}

/// Parses a numeric item, `N`, `A-B`, `A-`, `-B` or `-`, into its first and last port.
fn parse_range(item: &str) -> Result<(u16, u16), String> {
    let Some((start, end)) = item.split_once('-') else {
        let port = parse_port_number(item, item)?;
        return Ok((port, port));
    };
    if end.contains('-') {
        return Err(if item.bytes().all(|b| b == b'-') {
            format!("`{item}` is not a range; write `-` alone for all ports 1-65535")
        } else {
            format!("`{item}` has more than one `-`; a range is START-END, either end may be open")
        });
    }
    let first = if start.is_empty() {
        1
    } else {
        parse_port_number(start, item)?
    };
    let last = if end.is_empty() {
        u16::MAX
    } else {
        parse_port_number(end, item)?
    };
    if first > last {
        return Err(if start.is_empty() {
            format!("`{item}`: a range with an open start begins at port 1, so it cannot end at 0")
        } else {
            format!("`{item}`: the range is backwards; did you mean {last}-{first}?")
        });
    }
    Ok((first, last))
}

/// Parses the decimal port number `digits` (non-empty, ASCII digits only) from `item`.
fn parse_port_number(digits: &str, item: &str) -> Result<u16, String> {
    digits
        .parse::<u32>()
        .ok()
        .and_then(|number| u16::try_from(number).ok())
        .ok_or_else(|| format!("`{item}`: port {digits} is out of range (ports are 0-65535)"))
}

/// The TCP ports listed under service names matching `pattern` (a name, or a `*`/`?` wildcard
/// pattern), in table order.
fn ports_named(pattern: &str) -> Result<Vec<u16>, String> {
    if pattern.contains(char::is_whitespace) {
        return Err(format!(
            "`{pattern}`: unexpected space inside an item; separate items with `,`"
        ));
    }
    if let Some(bad) = pattern
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || NAME_PUNCTUATION.contains(c)))
    {
        return Err(format!("`{pattern}`: unexpected character {bad:?}"));
    }
    if pattern.len() > MAX_NAME_LEN {
        return Err(format!(
            "`{pattern}` is too long for a service name (at most {MAX_NAME_LEN} characters)"
        ));
    }
    let ports: Vec<u16> = TCP_SERVICES
        .iter()
        .filter(|(_, name)| matches_service_pattern(pattern, name))
        .map(|&(port, _)| port)
        .collect();
    if ports.is_empty() {
        return Err(no_service_error(pattern));
    }
    Ok(ports)
}

/// The error for a name or pattern that matched no TCP service.
fn no_service_error(pattern: &str) -> String {
    if pattern.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        format!("`{pattern}` is not a port number, a port range or a TCP service name")
    } else if pattern.contains(['*', '?']) {
        format!("`{pattern}`: no TCP service name matches this pattern")
    } else {
        format!("`{pattern}`: unknown TCP service name")
    }
}

/// Whether `name` matches `pattern`, ignoring ASCII case, where `*` in the pattern matches any
/// run of characters and `?` any single character.
fn matches_service_pattern(pattern: &str, name: &str) -> bool {
    let (pattern, name) = (pattern.as_bytes(), name.as_bytes());
    let (mut p, mut n) = (0, 0);
    // After a `*`: the pattern position just past it, and the name position it has reached.
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                backtrack = Some((p, n));
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&name[n]) => {
                p += 1;
                n += 1;
            }
            _ => match backtrack {
                Some((after_star, consumed)) => {
                    p = after_star;
                    n = consumed + 1;
                    backtrack = Some((after_star, n));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// A set of ports, one bit per port.
struct PortSet {
    words: [u64; 1024],
}

impl PortSet {
    /// An empty set.
    fn new() -> Self {
        PortSet { words: [0; 1024] }
    }

    /// Adds one port.
    fn insert(&mut self, port: u16) {
        let port = usize::from(port);
        self.words[port / 64] |= 1 << (port % 64);
    }

    /// Adds every port from `first` to `last`, inclusive, a whole word at a time where it can.
    fn insert_range(&mut self, first: u16, last: u16) {
        let (mut port, last) = (usize::from(first), usize::from(last));
        while port <= last {
            if port % 64 == 0 && port + 63 <= last {
                self.words[port / 64] = u64::MAX;
                port += 64;
            } else {
                self.words[port / 64] |= 1 << (port % 64);
                port += 1;
            }
        }
    }

    /// Whether `port` is in the set.
    fn contains(&self, port: u16) -> bool {
        let port = usize::from(port);
        self.words[port / 64] & (1 << (port % 64)) != 0
    }

    /// The ports in the set, ascending.
    fn to_vec(&self) -> Vec<u16> {
        (0..=u16::MAX).filter(|&port| self.contains(port)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// The ports nmap 7.93 itself scans for `--top-ports 100` (from its XML `scaninfo`).
    const NMAP_TOP_100: &str = "7,9,13,21-23,25-26,37,53,79-81,88,106,110-111,113,119,135,139,\
        143-144,179,199,389,427,443-445,465,513-515,543-544,548,554,587,631,646,873,990,993,995,\
        1025-1029,1110,1433,1720,1723,1755,1900,2000-2001,2049,2121,2717,3000,3128,3306,3389,3986,\
        4899,5000,5009,5051,5060,5101,5190,5357,5432,5631,5666,5800,5900,6000-6001,6646,7070,8000,\
        8008-8009,8080-8081,8443,8888,9100,9999-10000,32768,49152-49157";

    fn parse(spec: &str) -> Vec<u16> {
        parse_port_spec(spec).unwrap_or_else(|e| panic!("`{spec}` should parse: {e}"))
    }

    /// Asserts `spec` is rejected with a message containing every one of `needles`.
    fn assert_rejected(spec: &str, needles: &[&str]) {
        match parse_port_spec(spec) {
            Ok(ports) => panic!(
                "`{spec}` should be rejected, parsed to {} ports",
                ports.len()
            ),
            Err(message) => {
                for needle in needles {
                    assert!(
                        message.contains(needle),
                        "error for `{spec}` should mention `{needle}`: {message}"
                    );
                }
            }
        }
    }

    fn range(first: u16, last: u16) -> Vec<u16> {
        (first..=last).collect()
    }

    /// Writes ports as a comma list with consecutive runs collapsed into `A-B` ranges.
    fn collapsed(ports: &BTreeSet<u16>) -> String {
        let mut items = Vec::new();
        let mut iter = ports.iter().copied().peekable();
        while let Some(first) = iter.next() {
            let mut last = first;
            while iter
                .peek()
                .is_some_and(|&next| u32::from(next) == u32::from(last) + 1)
            {
                last = iter.next().unwrap_or(last);
            }
            items.push(if first == last {
                first.to_string()
            } else {
                format!("{first}-{last}")
            });
        }
        items.join(",")
    }

    fn comma_list(ports: &BTreeSet<u16>) -> String {
        ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether some item of `spec` writes 0 as a port number or range start (`0`, `00-5`, `T:0-`),
    /// judged from the text alone.
    fn names_zero(spec: &str) -> bool {
        spec.split(',').any(|item| {
            let mut item = item.trim();
            while let Some(rest) = item.strip_prefix("T:").or_else(|| item.strip_prefix("t:")) {
                item = rest.trim_start();
            }
            let start = item.split('-').next().unwrap_or("");
            !start.is_empty() && start.bytes().all(|b| b == b'0')
        })
    }

    // ---- numbers and ranges ----

    #[test]
    fn single_port() {
        assert_eq!(parse("22"), [22]);
    }

    #[test]
    fn list_is_sorted_and_deduplicated() {
        assert_eq!(parse("443,22,80,22"), [22, 80, 443]);
    }

    #[test]
    fn closed_range() {
        assert_eq!(parse("8000-8100"), range(8000, 8100));
        assert_eq!(parse("80-80"), [80]);
    }

    #[test]
    fn mixture_of_ports_and_ranges() {
        assert_eq!(parse("8000-8002,22,443"), [22, 443, 8000, 8001, 8002]);
    }

    #[test]
    fn overlapping_ranges_merge() {
        assert_eq!(parse("1-10,5-15,12"), range(1, 15));
    }

    #[test]
    fn ranges_across_word_boundaries() {
        assert_eq!(parse("63-129"), range(63, 129));
        assert_eq!(parse("64-127"), range(64, 127));
        assert_eq!(parse("65470-"), range(65470, 65535));
    }

    #[test]
    fn whitespace_around_items_is_ignored() {
        assert_eq!(parse(" 22 ,\t80\n, 100-102 "), [22, 80, 100, 101, 102]);
    }

    #[test]
    fn dash_alone_is_every_port_from_1() {
        assert_eq!(parse("-"), range(1, 65535));
    }

    #[test]
    fn open_end_runs_to_65535() {
        assert_eq!(parse("60000-"), range(60000, 65535));
        assert_eq!(parse("65535-"), [65535]);
    }

    #[test]
    fn open_start_begins_at_1() {
        assert_eq!(parse("-1024"), range(1, 1024));
        assert_eq!(parse("-1"), [1]);
    }

    #[test]
    fn port_zero_only_when_written() {
        assert_eq!(parse("0"), [0]);
        assert_eq!(parse("0-10"), range(0, 10));
        assert_eq!(parse("0-").len(), 65536);
        assert!(!parse("-10").contains(&0));
        assert!(!parse("-").contains(&0));
    }

    #[test]
    fn extreme_and_zero_padded_numbers() {
        assert_eq!(parse("65535"), [65535]);
        assert_eq!(parse("0080,00022"), [22, 80]);
    }

    // ---- protocol prefixes ----

    #[test]
    fn tcp_prefix_applies_to_following_items() {
        assert_eq!(parse("T:22,80"), [22, 80]);
        assert_eq!(parse("21,T:80-81"), [21, 80, 81]);
        assert_eq!(parse("t:22"), [22]);
        assert_eq!(parse("T: 22, T:T:23"), [22, 23]);
    }

    #[test]
    fn udp_and_sctp_prefixes_are_refused() {
        for spec in ["U:53", "T:22,U:53", "S:9", "u:53", "U:"] {
            assert_rejected(spec, &[TCP_ONLY]);
        }
        assert_rejected("22,U:53", &["U:53"]);
    }

    #[test]
    fn ip_protocol_prefix_is_refused() {
        assert_rejected("P:6", &["P:6", "not supported"]);
    }

    #[test]
    fn bare_tcp_prefix_is_an_error() {
        assert_rejected("T:", &["item 1", "`T:`"]);
        assert_rejected("22,T:", &["item 2", "`T:`"]);
    }

    // ---- service names ----

    #[test]
    fn service_names_select_their_ports() {
        assert_eq!(parse("ssh"), [22]);
        assert_eq!(parse("https"), [443]);
        // As in nmap, a name selects every TCP port listed under it: http is 80 and 8008.
        assert_eq!(parse("http,ssh"), [22, 80, 8008]);
    }

    #[test]
    fn service_names_ignore_case() {
        assert_eq!(parse("SSH, Telnet"), [22, 23]);
    }

    #[test]
    fn service_names_mix_with_numbers_and_prefixes() {
        assert_eq!(parse("ssh,1-3,T:smtp"), [1, 2, 3, 22, 25]);
    }

    #[test]
    fn service_names_with_digits_dots_and_colons() {
        assert_eq!(parse("X11:1"), [6001]);
        assert_eq!(parse("z39.50"), [210]);
        assert_eq!(parse("3Com-nsd"), [1742]);
    }

    #[test]
    fn wildcard_patterns_match_names() {
        let http = parse("http*");
        for port in [80, 443, 591, 8000, 8008, 8080, 8443] {
            assert!(http.contains(&port), "http* should include {port}");
        }
        assert!(!http.contains(&22));
        assert_eq!(parse("ss?"), [22, 266, 3249]);
        assert_eq!(parse("*").len(), TCP_SERVICES.len());
        assert_eq!(parse("**h"), parse("*h"));
    }

    #[test]
    fn pattern_matching_rules() {
        assert!(matches_service_pattern("http", "HTTP"));
        assert!(matches_service_pattern("h*p", "http"));
        assert!(matches_service_pattern("*-alt", "http-alt"));
        assert!(matches_service_pattern("*a*b*", "xaxxbx"));
        assert!(matches_service_pattern("?", "a"));
        assert!(!matches_service_pattern("?", ""));
        assert!(!matches_service_pattern("http", "https"));
        assert!(!matches_service_pattern("https", "http"));
        assert!(!matches_service_pattern("h*x", "http"));
    }

    #[test]
    fn unknown_service_name_is_named() {
        assert_rejected(
            "22,nosuchservice",
            &["`nosuchservice`", "unknown TCP service name"],
        );
        assert_rejected("unknown", &["`unknown`"]);
    }

    #[test]
    fn unmatched_pattern_is_named() {
        assert_rejected("zzzz*", &["`zzzz*`", "no TCP service name matches"]);
    }

    #[test]
    fn overlong_name_is_refused() {
        let name = "a".repeat(MAX_NAME_LEN + 1);
        assert_rejected(&name, &[&name, "too long"]);
    }

    // ---- bad forms ----

    #[test]
    fn out_of_range_ports_are_refused() {
        assert_rejected("65536", &["`65536`", "out of range"]);
        assert_rejected("22,1-70000", &["`1-70000`", "70000", "out of range"]);
        assert_rejected(
            "99999999999999999999",
            &["`99999999999999999999`", "out of range"],
        );
    }

    #[test]
    fn backwards_range_is_refused() {
        assert_rejected("100-50", &["`100-50`", "backwards", "50-100"]);
        assert_rejected("-0", &["`-0`", "begins at port 1"]);
    }

    #[test]
    fn empty_items_are_refused() {
        assert_rejected("22,,80", &["item 2", "empty"]);
        assert_rejected("22,", &["item 2", "empty"]);
        assert_rejected(",22", &["item 1", "empty"]);
        assert_rejected("22, ,80", &["item 2", "empty"]);
    }

    #[test]
    fn empty_spec_is_refused() {
        assert_rejected("", &["empty"]);
        assert_rejected(" \t", &["empty"]);
    }

    #[test]
    fn doubled_dashes_are_refused() {
        assert_rejected("--", &["`--`", "not a range"]);
        assert_rejected("---", &["`---`"]);
        assert_rejected("1--5", &["`1--5`", "more than one `-`"]);
        assert_rejected("1-2-3", &["`1-2-3`", "more than one `-`"]);
        assert_rejected("-5-", &["`-5-`"]);
    }

    #[test]
    fn garbage_characters_are_refused() {
        assert_rejected("22;80", &["`22;80`", "';'"]);
        assert_rejected("ssh$", &["`ssh$`", "'$'"]);
        assert_rejected("[1-1024]", &["`[1-1024]`", "'['"]);
        assert_rejected("80/tcp", &["`80/tcp`", "'/'"]);
        assert_rejected("22\u{0}", &["'\\0'"]);
        assert_rejected("22é", &["'é'"]);
    }

    #[test]
    fn whitespace_inside_an_item_is_refused() {
        assert_rejected("22 80", &["`22 80`", "space"]);
        assert_rejected("1 - 5", &["`1 - 5`", "space"]);
    }

    #[test]
    fn numbers_with_trailing_letters_are_refused() {
        assert_rejected("22a", &["`22a`", "not a port number"]);
        assert_rejected("1-2x", &["`1-2x`", "not a port number"]);
        assert_rejected("-p", &["`-p`", "not a port number"]);
    }

    #[test]
    fn nmap_example_spec_without_udp_parses() {
        assert_eq!(parse("-100,200-1024,T:3000-4000").len(), 100 + 825 + 1001);
    }

    // ---- top ports ----

    #[test]
    fn top_1000_has_the_usual_suspects() {
        let ports = top_ports(1000).unwrap_or_default();
        assert_eq!(ports.len(), 1000);
        assert_eq!(ports.iter().collect::<BTreeSet<_>>().len(), 1000);
        assert!(ports.is_sorted());
        for port in [22, 80, 443] {
            assert!(ports.contains(&port), "top 1000 should include {port}");
        }
    }

    #[test]
    fn top_port_is_http() {
        assert_eq!(top_ports(1), Ok(vec![80]));
        assert_eq!(top_ports(5), Ok(vec![21, 22, 23, 80, 443]));
    }

    #[test]
    fn top_100_matches_nmap() {
        assert_eq!(top_ports(100), Ok(parse(NMAP_TOP_100)));
    }

    #[test]
    fn top_ports_zero_is_an_error() {
        let message = top_ports(0).unwrap_err();
        assert!(message.contains("at least 1"), "{message}");
    }

    #[test]
    fn top_ports_beyond_the_ranking_is_an_error_naming_the_maximum() {
        let max = RANKED_TCP_PORTS.len();
        assert_eq!(top_ports(max).map(|ports| ports.len()), Ok(max));
        for n in [max + 1, usize::MAX] {
            let message = top_ports(n).unwrap_err();
            assert!(message.contains(&max.to_string()), "{message}");
        }
    }

    // ---- service names for display and the tables ----

    #[test]
    fn well_known_service_names() {
        assert_eq!(service_name(22), Some("ssh"));
        assert_eq!(service_name(80), Some("http"));
        assert_eq!(service_name(443), Some("https"));
        assert_eq!(service_name(3389), Some("ms-wbt-server"));
    }

    #[test]
    fn ports_without_a_name() {
        assert_eq!(service_name(0), None);
        assert_eq!(service_name(4), None); // listed as `unknown`
        assert_eq!(service_name(65535), None);
    }

    #[test]
    fn nmap_table_names_tell_unknown_from_unlisted() {
        assert_eq!(nmap_table_service(22), Some("ssh"));
        assert_eq!(nmap_table_service(4), Some("unknown"));
        assert_eq!(nmap_table_service(20031), Some("unknown"));
        assert_eq!(nmap_table_service(20077), None);
        assert_eq!(nmap_table_service(0), None);
        assert!(UNKNOWN_TCP_PORTS.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(
            UNKNOWN_TCP_PORTS
                .iter()
                .all(|&port| service_name(port).is_none())
        );
    }

    #[test]
    fn service_table_is_strictly_sorted_without_port_zero() {
        assert!(TCP_SERVICES.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert!(TCP_SERVICES.iter().all(|&(port, _)| port != 0));
    }

    #[test]
    fn ranking_is_unique_without_port_zero() {
        let unique: BTreeSet<u16> = RANKED_TCP_PORTS.iter().copied().collect();
        assert_eq!(unique.len(), RANKED_TCP_PORTS.len());
        assert!(!unique.contains(&0));
    }

    #[test]
    fn every_service_name_can_be_used_in_a_spec() {
        for &(port, name) in TCP_SERVICES {
            let ports = parse(name);
            assert!(ports.contains(&port), "`{name}` should select {port}");
        }
    }

    // ---- resolving a scan's ports ----

    #[test]
    fn default_is_the_top_1000() {
        assert_eq!(
            resolve_ports(None, None, None),
            top_ports(DEFAULT_TOP_PORTS)
        );
    }

    #[test]
    fn top_ports_option_is_used_without_a_spec() {
        assert_eq!(resolve_ports(None, Some(3), None), Ok(vec![23, 80, 443]));
    }

    #[test]
    fn port_spec_takes_precedence_over_top_ports() {
        assert_eq!(
            resolve_ports(Some("22,25"), Some(3), None),
            Ok(vec![22, 25])
        );
        assert_eq!(resolve_ports(Some("22"), Some(0), None), Ok(vec![22]));
    }

    #[test]
    fn exclusion_removes_ports() {
        assert_eq!(
            resolve_ports(Some("20-25"), None, Some("21,23-24")),
            Ok(vec![20, 22, 25])
        );
        assert_eq!(
            resolve_ports(Some("ssh,http"), None, Some("http")),
            Ok(vec![22])
        );
        let top = resolve_ports(None, Some(1000), Some("80,443")).unwrap_or_default();
        assert_eq!(top.len(), 998);
        assert!(!top.contains(&80) && !top.contains(&443));
    }

    #[test]
    fn exclusion_of_unselected_ports_changes_nothing() {
        assert_eq!(
            resolve_ports(Some("22"), None, Some("9000-9100")),
            Ok(vec![22])
        );
    }

    #[test]
    fn excluding_everything_is_an_error() {
        let message = resolve_ports(Some("22,80"), None, Some("1-100")).unwrap_err();
        assert!(
            message.contains("no ports left to scan after --exclude-ports `1-100`"),
            "{message}"
        );
        let message = resolve_ports(None, Some(2), Some("-")).unwrap_err();
        assert!(message.contains("no ports left"), "{message}");
    }

    #[test]
    fn errors_name_the_option() {
        let message = resolve_ports(Some("22,,80"), None, None).unwrap_err();
        assert!(message.starts_with("-p/--ports `22,,80`: "), "{message}");
        let message = resolve_ports(Some("22"), None, Some("U:53")).unwrap_err();
        assert!(message.starts_with("--exclude-ports `U:53`: "), "{message}");
        assert!(message.contains(TCP_ONLY), "{message}");
        let message = resolve_ports(None, Some(0), None).unwrap_err();
        assert!(message.starts_with("--top-ports 0: "), "{message}");
        let message = resolve_ports(None, Some(100_000), None).unwrap_err();
        assert!(message.starts_with("--top-ports 100000: "), "{message}");
    }

    // ---- properties ----

    /// Port sets, some spread over the whole range and some dense enough to form runs.
    fn port_sets() -> impl Strategy<Value = BTreeSet<u16>> {
        prop_oneof![
            prop::collection::btree_set(any::<u16>(), 1..100),
            prop::collection::btree_set(0u16..400, 1..300),
            prop::collection::btree_set(65200u16.., 1..300),
        ]
    }

    /// Text made mostly of the characters specs use, to reach deep into the parser.
    fn spec_like_text() -> impl Strategy<Value = String> {
        "[0-9a-zA-Z,: *?TUSP-]{0,40}"
    }

    /// Valid items that never write 0 as a number or range start.
    fn items_without_zero() -> impl Strategy<Value = String> {
        let name = (0..TCP_SERVICES.len()).prop_map(|i| TCP_SERVICES[i].1.to_string());
        prop_oneof![
            (1u16..).prop_map(|port| port.to_string()),
            (1u16.., any::<u16>()).prop_map(|(a, b)| format!("{}-{}", a.min(b.max(1)), a.max(b))),
            any::<u16>().prop_map(|end| format!("-{}", end.max(1))),
            (1u16..).prop_map(|start| format!("{start}-")),
            Just("-".to_string()),
            name,
        ]
    }

    /// Valid items of every form, port 0 included, some with a `T:` prefix or padding.
    fn any_valid_item() -> impl Strategy<Value = String> {
        let item = prop_oneof![
            items_without_zero(),
            any::<u16>().prop_map(|port| port.to_string()),
            any::<u16>().prop_map(|start| format!("{start}-")),
            (any::<u16>(), any::<u16>()).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
            Just("0".to_string()),
            Just("00-3".to_string()),
        ];
        (item, any::<bool>(), any::<bool>()).prop_map(|(item, prefixed, padded)| {
            let item = if prefixed { format!("T:{item}") } else { item };
            if padded { format!(" {item}\t") } else { item }
        })
    }

    proptest! {
        #[test]
        fn valid_specs_parse_sorted_unique_with_zero_exactly_when_written(
            items in prop::collection::vec(any_valid_item(), 1..8),
        ) {
            let spec = items.join(",");
            let ports = parse_port_spec(&spec);
            prop_assert!(ports.is_ok(), "`{}`: {:?}", spec, ports);
            let ports = ports.unwrap_or_default();
            prop_assert!(ports.windows(2).all(|pair| pair[0] < pair[1]));
            prop_assert_eq!(ports.first() == Some(&0), names_zero(&spec), "`{}`", spec);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in any::<String>()) {
            let _ = parse_port_spec(&text);
        }

        #[test]
        fn results_are_sorted_unique_and_zero_only_when_written(text in spec_like_text()) {
            if let Ok(ports) = parse_port_spec(&text) {
                prop_assert!(ports.windows(2).all(|pair| pair[0] < pair[1]));
                prop_assert!(!ports.contains(&0) || names_zero(&text), "0 from `{}`", text);
            }
        }

        #[test]
        fn comma_lists_parse_back_to_the_same_set(ports in port_sets()) {
            let expected: Vec<u16> = ports.iter().copied().collect();
            prop_assert_eq!(parse_port_spec(&comma_list(&ports)), Ok(expected));
        }

        #[test]
        fn collapsed_ranges_parse_back_to_the_same_set(ports in port_sets()) {
            let expected: Vec<u16> = ports.iter().copied().collect();
            prop_assert_eq!(parse_port_spec(&collapsed(&ports)), Ok(expected));
        }

        #[test]
        fn shuffled_and_padded_items_parse_to_the_same_set(
            ports in port_sets(),
            seed in any::<u64>(),
        ) {
            let mut items: Vec<String> = collapsed(&ports).split(',').map(str::to_string).collect();
            let len = items.len();
            items.rotate_left(usize::try_from(seed % len as u64).unwrap_or(0));
            let spec = format!(" T:{} ", items.join(" , "));
            let expected: Vec<u16> = ports.iter().copied().collect();
            prop_assert_eq!(parse_port_spec(&spec), Ok(expected));
        }

        #[test]
        fn valid_specs_without_a_written_zero_never_yield_zero(
            items in prop::collection::vec(items_without_zero(), 1..8),
        ) {
            let spec = items.join(",");
            let ports = parse_port_spec(&spec);
            prop_assert!(ports.is_ok(), "`{}`: {:?}", spec, ports);
            let ports = ports.unwrap_or_default();
            prop_assert!(!ports.is_empty());
            prop_assert!(!ports.contains(&0), "0 from `{}`", spec);
            prop_assert!(ports.windows(2).all(|pair| pair[0] < pair[1]));
        }

        #[test]
        fn top_ports_are_the_ranking_prefix(n in 1..=RANKED_TCP_PORTS.len()) {
            let ports = top_ports(n).unwrap_or_default();
            prop_assert_eq!(ports.len(), n);
            prop_assert!(ports.windows(2).all(|pair| pair[0] < pair[1]));
            let expected: BTreeSet<u16> = RANKED_TCP_PORTS[..n].iter().copied().collect();
            prop_assert_eq!(ports.into_iter().collect::<BTreeSet<u16>>(), expected);
        }

        #[test]
        fn exclusion_is_set_difference(selected in port_sets(), excluded in port_sets()) {
            let difference: Vec<u16> = selected.difference(&excluded).copied().collect();
            let result = resolve_ports(
                Some(&collapsed(&selected)),
                None,
                Some(&comma_list(&excluded)),
            );
            if difference.is_empty() {
                prop_assert!(result.is_err());
            } else {
                prop_assert_eq!(result, Ok(difference));
            }
        }
    }
}
