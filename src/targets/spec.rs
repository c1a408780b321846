//! One target token parsed into a [`TargetSpec`], following nmap's target notation.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest hostname accepted, not counting a trailing dot (RFC 1035, RFC 1123).
const MAX_HOSTNAME_LEN: usize = 253;
/// Longest label (the part between two dots) in a hostname.
const MAX_LABEL_LEN: usize = 63;

/// One parsed target token, not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// A single IPv4 or IPv6 address: `192.0.2.7`, `2001:db8::1`, `[::1]`.
    Address(IpAddr),
    /// A CIDR network: `10.0.0.0/24`, `2001:db8::/120`. Host bits set in `addr` are kept as
    /// written, but the whole network is meant (as in nmap: `10.0.0.7/24` is all of 10.0.0.0/24).
    Network { addr: IpAddr, prefix: u8 },
    /// An IPv4 address whose octets are sets of values: `10.0.0.1-20`, `192.168.1,3.*`.
    Octets(Ipv4Octets),
    /// A hostname, resolved later. With a prefix it means the network around its address
    /// (nmap: `scanme.example/28`).
    Hostname { name: String, prefix: Option<u8> },
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetSpec::Address(addr) => write!(f, "{addr}"),
            TargetSpec::Network { addr, prefix } => write!(f, "{addr}/{prefix}"),
            TargetSpec::Octets(octets) => write!(f, "{octets}"),
            TargetSpec::Hostname { name, prefix: None } => f.write_str(name),
            TargetSpec::Hostname {
                name,
                prefix: Some(prefix),
            } => write!(f, "{name}/{prefix}"),
        }
    }
}

/// A set of values for one IPv4 octet (a 256-bit bitmap).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OctetSet {
    bits: [u64; 4],
}

impl OctetSet {
    /// The set with no values.
    pub const fn empty() -> Self {
        OctetSet { bits: [0; 4] }
    }

    /// The set of all values 0-255.
    pub const fn full() -> Self {
        OctetSet {
            bits: [u64::MAX; 4],
        }
    }

    /// The values `lo..=hi` (empty when `lo > hi`).
    pub fn range(lo: u8, hi: u8) -> Self {
        let mut set = OctetSet::empty();
        set.insert_range(lo, hi);
        set
    }

    /// Adds one value.
    pub fn insert(&mut self, value: u8) {
        self.bits[usize::from(value / 64)] |= 1 << (value % 64);
    }

    /// Adds the values `lo..=hi` (nothing when `lo > hi`).
    pub fn insert_range(&mut self, lo: u8, hi: u8) {
        for value in lo..=hi {
            self.insert(value);
        }
    }

    /// Whether `value` is in the set.
    pub fn contains(&self, value: u8) -> bool {
        (self.bits[usize::from(value / 64)] >> (value % 64)) & 1 == 1
    }

    /// How many values the set holds (0-256).
    pub fn len(&self) -> u32 {
        self.bits.iter().map(|word| word.count_ones()).sum()
    }

    /// Whether the set holds no value.
    pub fn is_empty(&self) -> bool {
        self.bits == [0; 4]
    }

    /// Whether the set holds every value 0-255.
    pub fn is_full(&self) -> bool {
        self.bits == [u64::MAX; 4]
    }

    /// The smallest value, if any.
    pub fn first(&self) -> Option<u8> {
        self.next_from(0)
    }

    /// The largest value, if any.
    pub fn last(&self) -> Option<u8> {
        let (index, word) = self
            .bits
            .iter()
            .enumerate()
            .rev()
            .find(|(_, word)| **word != 0)?;
        u8::try_from(index * 64 + 63 - word.leading_zeros() as usize).ok()
    }

    /// The smallest value that is `>= from`, if any.
    pub fn next_from(&self, from: u8) -> Option<u8> {
        next_set_bit(&self.bits, from)
    }

    /// The values in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=u8::MAX).filter(move |value| self.contains(*value))
    }

    /// The end of the run of consecutive values starting at `value`, or `None` when `value`
    /// is not in the set.
    pub(crate) fn run_end(&self, value: u8) -> Option<u8> {
        if !self.contains(value) {
            return None;
        }
        let gaps = self.bits.map(|word| !word);
        // The first gap is above `value` (which is in the set), so it is at least 1.
        Some(next_set_bit(&gaps, value).map_or(u8::MAX, |gap| gap.saturating_sub(1)))
    }

    /// How many values are `< value`.
    pub(crate) fn count_below(&self, value: u8) -> u32 {
        let word = usize::from(value / 64);
        let whole: u32 = self.bits[..word].iter().map(|w| w.count_ones()).sum();
        let mask = (1u64 << (value % 64)) - 1;
        whole + (self.bits[word] & mask).count_ones()
    }

    /// The maximal runs of consecutive values, as `(first, last)` pairs in increasing order.
    fn runs(&self) -> impl Iterator<Item = (u8, u8)> + '_ {
        let mut next = self.first();
        std::iter::from_fn(move || {
            let start = next?;
            let end = self.run_end(start)?;
            next = end.checked_add(1).and_then(|after| self.next_from(after));
            Some((start, end))
        })
    }
}

/// The index of the lowest set bit at or above `from` in a 256-bit map.
fn next_set_bit(words: &[u64; 4], from: u8) -> Option<u8> {
    let start = usize::from(from / 64);
    let masked = words[start] & (u64::MAX << (from % 64));
    if masked != 0 {
        return u8::try_from(start * 64 + masked.trailing_zeros() as usize).ok();
    }
    let (index, word) = words
        .iter()
        .enumerate()
        .skip(start + 1)
        .find(|(_, word)| **word != 0)?;
    u8::try_from(index * 64 + word.trailing_zeros() as usize).ok()
}

/// Written in target notation: `*` for all values, else a comma list of numbers and ranges.
impl fmt::Display for OctetSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_full() {
            return f.write_str("*");
        }
        for (index, (start, end)) in self.runs().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for OctetSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OctetSet({self})")
    }
}

/// An IPv4 target written with octet ranges: every combination of one value from each of the
/// four octet sets. Each set holds at least one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Octets {
    sets: [OctetSet; 4],
}

impl Ipv4Octets {
    /// Combines four octet sets; `None` when any of them is empty.
    pub fn new(sets: [OctetSet; 4]) -> Option<Self> {
        if sets.iter().any(OctetSet::is_empty) {
            None
        } else {
            Some(Ipv4Octets { sets })
        }
    }

    /// The four octet sets, most significant first.
    pub fn sets(&self) -> &[OctetSet; 4] {
        &self.sets
    }

    /// How many addresses this denotes (at most 2^32).
    pub fn host_count(&self) -> u64 {
        self.sets.iter().map(|set| u64::from(set.len())).product()
    }

    /// Whether `addr` is one of the addresses this denotes.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        addr.octets()
            .iter()
            .zip(&self.sets)
            .all(|(octet, set)| set.contains(*octet))
    }

    /// The only address, when every octet set holds a single value.
    pub fn single(&self) -> Option<Ipv4Addr> {
        if self.sets.iter().all(|set| set.len() == 1) {
            Some(self.first())
        } else {
            None
        }
    }

    /// The numerically smallest address.
    pub fn first(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.sets.map(|set| set.first().unwrap_or(0)))
    }

    /// The numerically largest address.
    pub fn last(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.sets.map(|set| set.last().unwrap_or(0)))
    }

    /// The smallest member that is `>= from` (addresses as integers), if any.
    pub(crate) fn next_member(&self, from: u32) -> Option<u32> {
        let octets = from.to_be_bytes();
        let matching = octets
            .iter()
            .zip(&self.sets)
            .take_while(|(octet, set)| set.contains(**octet))
            .count();
        if matching == octets.len() {
            return Some(from);
        }
        // Raise the octet at `matching` to its next value, or else an earlier octet to a
        // strictly greater one; the octets after the raised one restart at their smallest value.
        (0..=matching).rev().find_map(|position| {
            let start = if position == matching {
                Some(octets[position])
            } else {
                octets[position].checked_add(1)
            };
            let raised = self.sets[position].next_from(start?)?;
            let mut next = octets;
            next[position] = raised;
            for (octet, set) in next.iter_mut().zip(&self.sets).skip(position + 1) {
                *octet = set.first().unwrap_or(0);
            }
            Some(u32::from_be_bytes(next))
        })
    }

    /// For a member, the end of a run of consecutive members starting at it (not necessarily
    /// the longest one, but it reaches across whole blocks where the lower octets are full).
    /// `None` when `member` is not a member.
    pub(crate) fn run_end(&self, member: u32) -> Option<u32> {
        let mut octets = member.to_be_bytes();
        if !self.contains(Ipv4Addr::from(octets)) {
            return None;
        }
        for position in (0..octets.len()).rev() {
            let end = self.sets[position].run_end(octets[position])?;
            octets[position] = end;
            // The run carries into the next octet up only over a full octet.
            if end != u8::MAX || !self.sets[position].is_full() {
                break;
            }
        }
        Some(u32::from_be_bytes(octets))
    }

    /// How many members are `<= addr` (addresses as integers).
    pub(crate) fn count_up_to(&self, addr: u32) -> u64 {
        let octets = addr.to_be_bytes();
        let mut total = 0u64;
        for (position, (octet, set)) in octets.iter().zip(&self.sets).enumerate() {
            let per_value: u64 = self.sets[position + 1..]
                .iter()
                .map(|later| u64::from(later.len()))
                .product();
            total += u64::from(set.count_below(*octet)) * per_value;
            if !set.contains(*octet) {
                return total;
            }
        }
        total + 1
    }
}

impl fmt::Display for Ipv4Octets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = &self.sets;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

/// Parses one target token (surrounding whitespace is ignored). The error is a message that
/// names the offending part; the caller adds where the token came from.
pub fn parse_target(token: &str) -> Result<TargetSpec, String> {
    let token = token.trim();
    if token.is_empty() {
        return Err("empty target".to_string());
    }
    let (body, prefix) = split_prefix(token)?;
    if body.is_empty() {
        return Err("missing address before `/`".to_string());
    }
    if body.starts_with('[') || body.contains([':', ']']) {
        parse_ipv6(body, prefix)
    } else if body.bytes().all(is_ipv4_byte) {
        parse_ipv4(body, prefix)
    } else {
        parse_hostname(body, prefix)
    }
}

/// A `/prefix` as written: its value (saturated) and its text for messages.
#[derive(Debug, Clone, Copy)]
struct Prefix<'a> {
    value: u32,
    text: &'a str,
}

impl Prefix<'_> {
    /// The prefix length, checked against the address size of a family.
    fn checked(self, max_bits: u8, family: &str) -> Result<u8, String> {
        u8::try_from(self.value)
            .ok()
            .filter(|bits| *bits <= max_bits)
            .ok_or_else(|| {
                format!(
                    "prefix /{} is longer than {max_bits} bits for {family}",
                    self.text
                )
            })
    }
}

/// Splits `body/prefix` and parses the prefix.
fn split_prefix(token: &str) -> Result<(&str, Option<Prefix<'_>>), String> {
    let Some((body, text)) = token.split_once('/') else {
        return Ok((token, None));
    };
    if text.contains('/') {
        return Err("more than one `/`".to_string());
    }
    if text.is_empty() {
        return Err("missing prefix length after `/`".to_string());
    }
    let value = parse_decimal(text).ok_or_else(|| format!("prefix `{text}` is not a number"))?;
    Ok((body, Some(Prefix { value, text })))
}

/// The value of a string of ASCII digits, saturating at `u32::MAX`; `None` if it is not one.
fn parse_decimal(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u32, |value, digit| {
        value
            .saturating_mul(10)
            .saturating_add(u32::from(digit - b'0'))
    }))
}

/// Characters of the numeric IPv4 notation (addresses and octet ranges).
fn is_ipv4_byte(byte: u8) -> bool {
    byte.is_ascii_digit() || matches!(byte, b'.' | b',' | b'-' | b'*')
}

/// Parses an IPv6 address, optionally in brackets, with an optional prefix.
fn parse_ipv6(body: &str, prefix: Option<Prefix<'_>>) -> Result<TargetSpec, String> {
    let inner = strip_brackets(body)?;
    if let Some(position) = inner.find('%') {
        return Err(format!(
            "IPv6 zone ids (`{}`) are not supported; give the address without it",
            &inner[position..]
        ));
    }
    if !inner.contains(':') {
        return Err("brackets are only for IPv6 addresses".to_string());
    }
    if inner.contains(['-', '*', ',']) {
        return Err(
            "octet ranges are not supported for IPv6 addresses; use a CIDR prefix such as `2001:db8::/120`"
                .to_string(),
        );
    }
    let addr: Ipv6Addr = inner
        .parse()
        .map_err(|_| format!("`{inner}` is not a valid IPv6 address"))?;
    Ok(with_prefix(
        IpAddr::V6(addr),
        prefix.map(|p| p.checked(128, "IPv6")).transpose()?,
    ))
}

/// Removes the brackets of `[addr]`, checking that they are balanced.
fn strip_brackets(body: &str) -> Result<&str, String> {
    match (body.strip_prefix('['), body.ends_with(']')) {
        (Some(rest), true) => {
            let inner = rest.strip_suffix(']').unwrap_or(rest);
            if inner.is_empty() {
                Err("empty brackets".to_string())
            } else if inner.contains(['[', ']']) {
                Err("unbalanced brackets".to_string())
            } else {
                Ok(inner)
            }
        }
        (None, false) if !body.contains(['[', ']']) => Ok(body),
        _ => Err("unbalanced brackets".to_string()),
    }
}

/// A single address, or its network when a prefix was given.
fn with_prefix(addr: IpAddr, prefix: Option<u8>) -> TargetSpec {
    match prefix {
        Some(prefix) => TargetSpec::Network { addr, prefix },
        None => TargetSpec::Address(addr),
    }
}

/// Parses the numeric IPv4 notation: four octets, each a number, a range or a list.
fn parse_ipv4(body: &str, prefix: Option<Prefix<'_>>) -> Result<TargetSpec, String> {
    let count = body.split('.').count();
    if count != 4 {
        let noun = if count == 1 { "octet" } else { "octets" };
        return Err(format!(
            "an IPv4 address has 4 dot-separated octets, this has {count} {noun}"
        ));
    }
    let mut sets = [OctetSet::empty(); 4];
    for (position, (set, text)) in sets.iter_mut().zip(body.split('.')).enumerate() {
        *set = parse_octet_set(text, position + 1)?;
    }
    let octets = Ipv4Octets::new(sets).ok_or_else(|| "an octet has no values".to_string())?;
    match (octets.single(), prefix) {
        (Some(addr), prefix) => Ok(with_prefix(
            IpAddr::V4(addr),
            prefix.map(|p| p.checked(32, "IPv4")).transpose()?,
        )),
        (None, None) => Ok(TargetSpec::Octets(octets)),
        (None, Some(_)) => Err("octet ranges cannot be combined with a /prefix".to_string()),
    }
}

/// Parses one octet: a comma list of numbers, ranges `a-b`, `-b`, `a-`, and `-` or `*`.
fn parse_octet_set(text: &str, position: usize) -> Result<OctetSet, String> {
    if text.is_empty() {
        return Err(format!("octet {position} is empty"));
    }
    let mut set = OctetSet::empty();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!("empty item in the octet list `{text}`"));
        }
        let (lo, hi) = parse_octet_item(item)?;
        set.insert_range(lo, hi);
    }
    Ok(set)
}

/// Parses one item of an octet list into an inclusive range.
fn parse_octet_item(item: &str) -> Result<(u8, u8), String> {
    if item == "*" || item == "-" {
        return Ok((0, u8::MAX));
    }
    if item.contains('*') {
        return Err(format!(
            "`*` must stand alone for a whole octet, not inside `{item}`"
        ));
    }
    let Some((lo_text, hi_text)) = item.split_once('-') else {
        let value = parse_octet_value(item)?;
        return Ok((value, value));
    };
    if hi_text.contains('-') {
        return Err(format!(
            "bad range `{item}`: write one `-` between two numbers"
        ));
    }
    let lo = if lo_text.is_empty() {
        0
    } else {
        parse_octet_value(lo_text)?
    };
    let hi = if hi_text.is_empty() {
        u8::MAX
    } else {
        parse_octet_value(hi_text)?
    };
    if lo > hi {
        return Err(format!(
            "range {lo_text}-{hi_text} is reversed (the start is above the end)"
        ));
    }
    Ok((lo, hi))
}

/// Parses one decimal octet value 0-255.
fn parse_octet_value(text: &str) -> Result<u8, String> {
    let value = parse_decimal(text).ok_or_else(|| format!("`{text}` is not a number"))?;
    u8::try_from(value).map_err(|_| format!("octet {text} is out of range 0-255"))
}

/// Parses a hostname with an optional prefix.
fn parse_hostname(body: &str, prefix: Option<Prefix<'_>>) -> Result<TargetSpec, String> {
    check_hostname(body)?;
    let prefix = prefix.map(|p| p.checked(128, "any address")).transpose()?;
    Ok(TargetSpec::Hostname {
        name: body.to_string(),
        prefix,
    })
}

/// Checks RFC 1123 hostname syntax: labels of letters, digits and inner hyphens, at most 63
/// characters each and 253 in all; one trailing dot is allowed.
fn check_hostname(name: &str) -> Result<(), String> {
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.')))
    {
        return Err(bad_hostname_character(bad));
    }
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return Err("empty hostname".to_string());
    }
    if bare.len() > MAX_HOSTNAME_LEN {
        return Err(format!(
            "hostname is {} characters long; the limit is {MAX_HOSTNAME_LEN}",
            bare.len()
        ));
    }
    for label in bare.split('.') {
        check_label(label)?;
    }
    let last = bare.rsplit('.').next().unwrap_or(bare);
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "neither an IPv4 address nor a hostname: the last label `{last}` is all digits"
        ));
    }
    Ok(())
}

/// Checks one label of a hostname.
fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("empty label in hostname (a leading dot or two dots in a row)".to_string());
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(format!(
            "label `{label}` is {} characters long; the limit is {MAX_LABEL_LEN}",
            label.len()
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!("label `{label}` starts or ends with a hyphen"));
    }
    Ok(())
}

/// The message for a character that cannot appear in a hostname.
fn bad_hostname_character(bad: char) -> String {
    let shown = bad.escape_debug();
    let hint = match bad {
        '*' | ',' => "; `*` and `,` ranges work only in numeric IPv4 addresses",
        _ if !bad.is_ascii() => "; write international names in their ASCII (xn--) form",
        _ => "",
    };
    format!(
        "bad character `{shown}`: a hostname may contain only letters, digits, hyphens and dots{hint}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4(text: &str) -> IpAddr {
        IpAddr::V4(text.parse().unwrap())
    }

    fn v6(text: &str) -> IpAddr {
        IpAddr::V6(text.parse().unwrap())
    }

    fn octets(token: &str) -> Ipv4Octets {
        match parse_target(token) {
            Ok(TargetSpec::Octets(octets)) => octets,
            other => panic!("{token}: expected octet ranges, got {other:?}"),
        }
    }

    /// Asserts that `token` fails with a message containing every one of `parts`.
    fn assert_error(token: &str, parts: &[&str]) {
        match parse_target(token) {
            Ok(spec) => panic!("{token:?} parsed as {spec:?}, expected an error"),
            Err(message) => {
                for part in parts {
                    assert!(
                        message.contains(part),
                        "{token:?}: message {message:?} does not mention {part:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn single_addresses() {
        assert_eq!(
            parse_target("192.0.2.7"),
            Ok(TargetSpec::Address(v4("192.0.2.7")))
        );
        assert_eq!(parse_target("::1"), Ok(TargetSpec::Address(v6("::1"))));
        assert_eq!(
            parse_target("2001:db8::1"),
            Ok(TargetSpec::Address(v6("2001:db8::1")))
        );
        assert_eq!(parse_target("[::1]"), Ok(TargetSpec::Address(v6("::1"))));
        assert_eq!(
            parse_target("::ffff:192.0.2.1"),
            Ok(TargetSpec::Address(v6("::ffff:192.0.2.1")))
        );
        assert_eq!(
            parse_target("  10.0.0.1\t"),
            Ok(TargetSpec::Address(v4("10.0.0.1")))
        );
    }

    #[test]
    fn leading_zeros_are_decimal() {
        assert_eq!(
            parse_target("010.000.000.001"),
            Ok(TargetSpec::Address(v4("10.0.0.1")))
        );
    }

    #[test]
    fn networks() {
        assert_eq!(
            parse_target("10.0.0.0/24"),
            Ok(TargetSpec::Network {
                addr: v4("10.0.0.0"),
                prefix: 24
            })
        );
        assert_eq!(
            parse_target("10.0.0.7/24"),
            Ok(TargetSpec::Network {
                addr: v4("10.0.0.7"),
                prefix: 24
            })
        );
        assert_eq!(
            parse_target("2001:db8::/120"),
            Ok(TargetSpec::Network {
                addr: v6("2001:db8::"),
                prefix: 120
            })
        );
        assert_eq!(
            parse_target("[2001:db8::]/64"),
            Ok(TargetSpec::Network {
                addr: v6("2001:db8::"),
                prefix: 64
            })
        );
        assert_eq!(
            parse_target("192.0.2.1/32"),
            Ok(TargetSpec::Network {
                addr: v4("192.0.2.1"),
                prefix: 32
            })
        );
        assert_eq!(
            parse_target("::1/128"),
            Ok(TargetSpec::Network {
                addr: v6("::1"),
                prefix: 128
            })
        );
        assert_eq!(
            parse_target("0.0.0.0/0"),
            Ok(TargetSpec::Network {
                addr: v4("0.0.0.0"),
                prefix: 0
            })
        );
    }

    #[test]
    fn octet_ranges() {
        let range = octets("10.0.0.1-20");
        assert_eq!(range.host_count(), 20);
        assert_eq!(range.first(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(range.last(), Ipv4Addr::new(10, 0, 0, 20));

        assert_eq!(octets("192.168.1-3.1").host_count(), 3);
        let list = octets("192.168.1,3.1-5");
        assert_eq!(list.host_count(), 10);
        assert!(list.contains(Ipv4Addr::new(192, 168, 3, 5)));
        assert!(!list.contains(Ipv4Addr::new(192, 168, 2, 5)));

        assert_eq!(octets("10.0.*.1").host_count(), 256);
        assert_eq!(octets("10.0.0.-").host_count(), 256);
        assert_eq!(octets("10.0.0.-20").sets()[3], OctetSet::range(0, 20));
        assert_eq!(octets("10.0.0.5-").sets()[3], OctetSet::range(5, 255));
        assert_eq!(octets("10.0.0.1,1,1-2").host_count(), 2);
        assert_eq!(octets("*.*.*.*").host_count(), 1 << 32);
    }

    #[test]
    fn ranges_of_one_value_are_an_address() {
        assert_eq!(
            parse_target("10.0.0.5-5"),
            Ok(TargetSpec::Address(v4("10.0.0.5")))
        );
    }

    #[test]
    fn hostnames() {
        for name in [
            "localhost",
            "scanme.example",
            "a-b.example.",
            "xn--bcher-kva.example",
            "1host.example",
            "10.0.0.1.nip.io",
        ] {
            assert_eq!(
                parse_target(name),
                Ok(TargetSpec::Hostname {
                    name: name.to_string(),
                    prefix: None
                }),
                "{name}"
            );
        }
        assert_eq!(
            parse_target("scanme.example/28"),
            Ok(TargetSpec::Hostname {
                name: "scanme.example".to_string(),
                prefix: Some(28)
            })
        );
        assert_eq!(
            parse_target("v6.example/120"),
            Ok(TargetSpec::Hostname {
                name: "v6.example".to_string(),
                prefix: Some(120)
            })
        );
        let longest_label = "a".repeat(63);
        assert!(parse_target(&format!("{longest_label}.example")).is_ok());
        let longest_name = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61),
        ]
        .join(".");
        assert_eq!(longest_name.len(), 253);
        assert!(parse_target(&longest_name).is_ok());
        assert!(parse_target(&format!("{longest_name}.")).is_ok());
    }

    #[test]
    fn numeric_errors_are_not_hostnames() {
        assert_error("10.0.0.300", &["octet 300 is out of range 0-255"]);
        assert_error("1.2.3", &["4 dot-separated octets", "3 octets"]);
        assert_error("1.2.3.4.5", &["5 octets"]);
        assert_error("12345", &["1 octet"]);
        assert_error("10.0.0.5-2", &["range 5-2 is reversed"]);
        assert_error("10.0.0.99999999999999999999", &["99999999999999999999"]);
        assert_error("1.2.3.", &["octet 4 is empty"]);
        assert_error("1..2.3", &["octet 2 is empty"]);
        assert_error("10.0.0.1,,3", &["empty item", "1,,3"]);
        assert_error("10.0.0.1,", &["empty item"]);
        assert_error("10.0.0.1-2-3", &["bad range `1-2-3`"]);
        assert_error("10.0.0.1*", &["`*` must stand alone", "1*"]);
        assert_error("10.0.0.256-", &["octet 256 is out of range"]);
    }

    #[test]
    fn prefix_errors() {
        assert_error(
            "10.0.0.0/33",
            &["prefix /33 is longer than 32 bits for IPv4"],
        );
        assert_error(
            "2001:db8::/129",
            &["prefix /129 is longer than 128 bits for IPv6"],
        );
        assert_error("10.0.0.0/99999999999999", &["/99999999999999"]);
        assert_error("host.example/129", &["prefix /129 is longer than 128 bits"]);
        assert_error("10.0.0.0/", &["missing prefix length"]);
        assert_error("/24", &["missing address"]);
        assert_error("10.0.0.0/2x", &["prefix `2x` is not a number"]);
        assert_error("10.0.0.0/-1", &["prefix `-1` is not a number"]);
        assert_error("10.0.0.0/24/8", &["more than one `/`"]);
        assert_error("10.0.0.1-9/24", &["octet ranges cannot be combined"]);
    }

    #[test]
    fn ipv6_errors() {
        assert_error("fe80::1%eth0", &["zone", "%eth0"]);
        assert_error("2001:db8::1-20", &["not supported for IPv6", "CIDR"]);
        assert_error("2001:db8::*", &["not supported for IPv6"]);
        assert_error(
            "2001:db8:::1",
            &["`2001:db8:::1` is not a valid IPv6 address"],
        );
        assert_error("[::1", &["unbalanced brackets"]);
        assert_error("::1]", &["unbalanced brackets"]);
        assert_error("[[::1]]", &["unbalanced brackets"]);
        assert_error("[]", &["empty brackets"]);
        assert_error("[10.0.0.1]", &["brackets are only for IPv6"]);
        assert_error("[::1]x", &["unbalanced brackets"]);
    }

    #[test]
    fn hostname_errors() {
        assert_error("", &["empty target"]);
        assert_error("   ", &["empty target"]);
        assert_error("bad_name.example", &["bad character `_`"]);
        assert_error("host*.example", &["bad character `*`", "IPv4"]);
        assert_error("bücher.example", &["bad character `ü`", "xn--"]);
        assert_error("a b", &["bad character ` `"]);
        assert_error(
            "-host.example",
            &["label `-host` starts or ends with a hyphen"],
        );
        assert_error("host-.example", &["label `host-`"]);
        assert_error("a..example", &["empty label"]);
        assert_error(".example", &["empty label"]);
        assert_error("example..", &["empty label"]);
        assert_error(".", &["4 dot-separated octets"]);
        assert_eq!(check_hostname("."), Err("empty hostname".to_string()));
        assert_error(
            &format!("{}.example", "a".repeat(64)),
            &["64 characters", "63"],
        );
        let too_long = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(62),
        ]
        .join(".");
        assert_error(&too_long, &["254 characters", "253"]);
        assert_error("host.123", &["last label `123` is all digits"]);
        assert_error("1O.0.0.1", &["last label `1` is all digits"]);
        assert_error("tab\u{1b}[31m", &["bad character `\\u{1b}`"]);
    }

    #[test]
    fn display_is_target_notation() {
        for token in [
            "10.0.0.1",
            "10.0.0.0/24",
            "2001:db8::/120",
            "10.0.0.1-20",
            "192.168.1,3.1-5",
            "10.0.*.1",
            "1-3,5,7-9.0.0.0-1",
            "scanme.example/28",
            "localhost",
        ] {
            assert_eq!(parse_target(token).unwrap().to_string(), token);
        }
        assert_eq!(parse_target("[::1]").unwrap().to_string(), "::1");
        assert_eq!(parse_target("10.0.0.-").unwrap().to_string(), "10.0.0.*");
        assert_eq!(
            parse_target("10.0.0.3,1,2").unwrap().to_string(),
            "10.0.0.1-3"
        );
    }

    #[test]
    fn octet_set_primitives() {
        let mut set = OctetSet::empty();
        assert_eq!(set.first(), None);
        assert_eq!(set.last(), None);
        set.insert_range(60, 70);
        set.insert(200);
        set.insert(255);
        assert_eq!(set.len(), 13);
        assert_eq!(set.first(), Some(60));
        assert_eq!(set.last(), Some(255));
        assert_eq!(set.next_from(0), Some(60));
        assert_eq!(set.next_from(71), Some(200));
        assert_eq!(set.next_from(201), Some(255));
        assert_eq!(set.run_end(60), Some(70));
        assert_eq!(set.run_end(64), Some(70));
        assert_eq!(set.run_end(255), Some(255));
        assert_eq!(set.run_end(71), None);
        assert_eq!(set.count_below(0), 0);
        assert_eq!(set.count_below(65), 5);
        assert_eq!(set.count_below(255), 12);
        assert_eq!(set.to_string(), "60-70,200,255");
        assert!(OctetSet::full().is_full());
        assert_eq!(OctetSet::full().len(), 256);
        assert_eq!(OctetSet::range(5, 1), OctetSet::empty());
        assert_eq!(Ipv4Octets::new([OctetSet::empty(); 4]), None);
    }

    #[test]
    fn octets_next_member_and_run_end() {
        let list_end = |octets: &Ipv4Octets, member| octets.run_end(member).unwrap();
        let list = octets("10.0.1,3.1-5");
        let at = |a, b, c, d| u32::from(Ipv4Addr::new(a, b, c, d));
        assert_eq!(list.next_member(0), Some(at(10, 0, 1, 1)));
        assert_eq!(list.next_member(at(10, 0, 1, 6)), Some(at(10, 0, 3, 1)));
        assert_eq!(list.next_member(at(10, 0, 3, 5)), Some(at(10, 0, 3, 5)));
        assert_eq!(list.next_member(at(10, 0, 3, 6)), None);
        assert_eq!(list.run_end(at(10, 0, 1, 2)), Some(at(10, 0, 1, 5)));
        assert_eq!(list.run_end(at(10, 0, 2, 2)), None);

        let partial = octets("10.0.1-2.250-255");
        assert_eq!(list_end(&partial, at(10, 0, 1, 250)), at(10, 0, 1, 255));
        let wide = octets("10.*.0-9.*");
        assert_eq!(wide.run_end(at(10, 4, 2, 17)), Some(at(10, 4, 9, 255)));
        let all = octets("*.*.*.*");
        assert_eq!(all.run_end(at(1, 2, 3, 4)), Some(u32::MAX));
        assert_eq!(all.next_member(u32::MAX), Some(u32::MAX));
        assert_eq!(all.count_up_to(u32::MAX), 1 << 32);
    }

    /// A token for an octet set made of up to three small ranges.
    fn octet_item() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u8..=255).prop_map(|v| v.to_string()),
            (0u8..=250, 0u8..=5).prop_map(|(lo, span)| format!("{lo}-{}", lo + span)),
            (0u8..=3).prop_map(|hi| format!("-{hi}")),
            (252u8..=255).prop_map(|lo| format!("{lo}-")),
        ]
    }

    fn octet_text() -> impl Strategy<Value = String> {
        prop::collection::vec(octet_item(), 1..=3).prop_map(|items| items.join(","))
    }

    /// The values of an octet text, brute force, sorted and deduplicated.
    fn expand_octet(text: &str) -> Vec<u8> {
        let mut values = Vec::new();
        for item in text.split(',') {
            let (lo, hi) = match item.split_once('-') {
                None => (item.parse().unwrap(), item.parse().unwrap()),
                Some((lo, hi)) => (
                    if lo.is_empty() {
                        0
                    } else {
                        lo.parse().unwrap()
                    },
                    if hi.is_empty() {
                        255
                    } else {
                        hi.parse().unwrap()
                    },
                ),
            };
            values.extend(lo..=hi);
        }
        values.sort_unstable();
        values.dedup();
        values
    }

    /// An octet set: all values, or a subset of a few values at both ends of the range.
    fn palette_set() -> impl Strategy<Value = OctetSet> {
        const PALETTE: [u8; 8] = [0, 1, 2, 3, 4, 253, 254, 255];
        prop_oneof![
            1 => Just(OctetSet::full()),
            4 => prop::sample::subsequence(PALETTE.to_vec(), 1..=PALETTE.len()).prop_map(|values| {
                let mut set = OctetSet::empty();
                values.into_iter().for_each(|v| set.insert(v));
                set
            }),
        ]
    }

    /// Octet ranges with at most one full octet, so brute force stays small.
    fn small_octets() -> impl Strategy<Value = Ipv4Octets> {
        prop::array::uniform4(palette_set())
            .prop_filter("at most one full octet", |sets| {
                sets.iter().filter(|set| set.is_full()).count() <= 1
            })
            .prop_filter_map("non-empty", Ipv4Octets::new)
    }

    /// The members of octet ranges, brute force, in increasing order.
    fn members(octets: &Ipv4Octets) -> Vec<u32> {
        let [a, b, c, d] = octets.sets();
        let mut all = Vec::new();
        for w in a.iter() {
            for x in b.iter() {
                for y in c.iter() {
                    for z in d.iter() {
                        all.push(u32::from(Ipv4Addr::new(w, x, y, z)));
                    }
                }
            }
        }
        all
    }

    proptest! {
        #[test]
        fn octet_queries_match_brute_force(
            octets in small_octets(),
            probe in prop::array::uniform4(prop_oneof![Just(0u8), Just(2), Just(5), Just(128), Just(254), Just(255), any::<u8>()]),
        ) {
            let all = members(&octets);
            let probe = u32::from(Ipv4Addr::from(probe));
            let at_or_after = all.partition_point(|m| *m < probe);
            prop_assert_eq!(octets.next_member(probe), all.get(at_or_after).copied());
            let up_to = all.partition_point(|m| *m <= probe) as u64;
            prop_assert_eq!(octets.count_up_to(probe), up_to);
            prop_assert_eq!(octets.host_count(), all.len() as u64);
            // Run ends: from a member, every address up to the run end is a member.
            let member_index = at_or_after.min(all.len() - 1);
            let member = all[member_index];
            let end = octets.run_end(member).unwrap();
            let mut true_end_index = member_index;
            while all
                .get(true_end_index + 1)
                .is_some_and(|next| Some(*next) == all[true_end_index].checked_add(1))
            {
                true_end_index += 1;
            }
            let true_end = all[true_end_index];
            prop_assert!(member <= end && end <= true_end, "{member} {end} {true_end}");
            let last_octet_end = octets.sets()[3].run_end(member.to_be_bytes()[3]).unwrap();
            prop_assert!(end >= (member & !0xff) | u32::from(last_octet_end));
            prop_assert_eq!(octets.run_end(probe).is_some(), all.binary_search(&probe).is_ok());
        }

        #[test]
        fn any_address_round_trips(addr in any::<IpAddr>()) {
            prop_assert_eq!(parse_target(&addr.to_string()), Ok(TargetSpec::Address(addr)));
            if let IpAddr::V6(v6) = addr {
                prop_assert_eq!(parse_target(&format!("[{v6}]")), Ok(TargetSpec::Address(addr)));
            }
        }

        #[test]
        fn any_network_round_trips(addr in any::<IpAddr>(), prefix in 0u8..=128) {
            let prefix = if addr.is_ipv4() { prefix % 33 } else { prefix };
            let spec = TargetSpec::Network { addr, prefix };
            prop_assert_eq!(parse_target(&spec.to_string()), Ok(spec));
        }

        #[test]
        fn octet_sets_match_brute_force(texts in prop::array::uniform4(octet_text())) {
            let token = texts.join(".");
            let expanded: Vec<Vec<u8>> = texts.iter().map(|t| expand_octet(t)).collect();
            let product: u64 = expanded.iter().map(|v| v.len() as u64).product();
            match parse_target(&token) {
                Ok(TargetSpec::Octets(octets)) => {
                    prop_assert_eq!(octets.host_count(), product);
                    for (set, values) in octets.sets().iter().zip(&expanded) {
                        prop_assert_eq!(&set.iter().collect::<Vec<_>>(), values);
                    }
                    prop_assert_eq!(parse_target(&octets.to_string()), Ok(TargetSpec::Octets(octets)));
                }
                Ok(TargetSpec::Address(IpAddr::V4(addr))) => {
                    prop_assert_eq!(product, 1);
                    let expected: Vec<u8> = expanded.iter().map(|v| v[0]).collect();
                    prop_assert_eq!(addr.octets().to_vec(), expected);
                }
                other => prop_assert!(false, "{token}: {other:?}"),
            }
        }

        #[test]
        fn octet_set_queries_match_brute_force(
            values in prop::collection::btree_set(any::<u8>(), 0..40),
            probe in any::<u8>(),
        ) {
            let mut set = OctetSet::empty();
            for value in &values {
                set.insert(*value);
            }
            prop_assert_eq!(set.len() as usize, values.len());
            prop_assert_eq!(set.next_from(probe), values.range(probe..).next().copied());
            prop_assert_eq!(set.count_below(probe) as usize, values.range(..probe).count());
            prop_assert_eq!(set.last(), values.iter().next_back().copied());
            let run = (probe..=255).take_while(|v| values.contains(v)).last();
            prop_assert_eq!(set.run_end(probe), run);
        }

        #[test]
        fn parse_never_panics(text in ".{0,80}") {
            let _ = parse_target(&text);
        }

        #[test]
        fn parse_never_panics_on_target_like_text(text in "[0-9a-f.:/,*\\-\\[\\]%x ]{0,40}") {
            if let Ok(spec) = parse_target(&text) {
                // Whatever parses, prints as something that parses to the same target.
                prop_assert_eq!(parse_target(&spec.to_string()), Ok(spec));
            }
        }
    }
}
