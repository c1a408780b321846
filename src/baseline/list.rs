//! Lists of open ports, one per line, as naabu, masscan and many scripts print them.
//!
//! Each line is one of:
//!
//! - `ADDRESS:PORT`, `[IPV6]:PORT`, `ADDRESS PORT` or `ADDRESS,PORT` (`/tcp` after the port is
//!   accepted, `/udp` lines are left out with a note);
//! - a naabu `-json` line, `{"host":"…","ip":"…","port":80,…}` (the address from `ip`, else
//!   from `host` when it is one; a `host` that is a name becomes the host's name);
//! - a masscan `-oL` line, `open tcp 80 127.0.0.1 1700000000` (its `banner` lines are skipped).
//!
//! Blank lines and `#` comments (whole lines, or after a space) are skipped. Addresses must be
//! IP addresses: a host name would need a DNS lookup, which a baseline never makes. A line that
//! is none of these is an error naming the file, the line and its text; when it is the first
//! line, the file is not a list at all and the error lists the formats accepted.

use std::net::IpAddr;

use serde_json::Value;

use super::{ACCEPTED_FORMATS, Baseline, BaselineFormat, HostList, count, shown, unknown_format};
use crate::error::Failure;

/// How a line reads.
enum Line {
    /// An open TCP port.
    Open {
        addr: IpAddr,
        port: u16,
        name: Option<String>,
    },
    /// A line that says nothing about an open TCP port (a masscan banner, a UDP port).
    Skip { udp: bool },
}

const EXAMPLES: &str = "write one open port per line: 127.0.0.1:80, [::1]:443 or 127.0.0.1 80";

/// Reads a list.
pub(super) fn read(text: &str, name: &str) -> Result<Baseline, Failure> {
    if let Some(hint) = other_tool_hint(text) {
        return Err(unknown_format(name, hint));
    }
    let mut hosts = HostList::default();
    let mut udp = 0usize;
    let mut lines_read = 0usize;
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = strip_comment(line).trim();
        if line.is_empty() {
            continue;
        }
        lines_read += 1;
        match parse_line(line) {
            Ok(Line::Open { addr, port, name }) => {
                hosts.add(addr, name.into_iter().collect(), [port]);
            }
            Ok(Line::Skip { udp: is_udp }) => udp += usize::from(is_udp),
            Err(why) if lines_read == 1 => {
                return Err(unknown_format(
                    name,
                    &format!(
                        "line {line_no}, `{}`, is not a host:port line: {why}",
                        shown(line, 80)
                    ),
                ));
            }
            Err(why) => {
                return Err(Failure::usage(format!(
                    "{name}:{line_no}: `{}`: {why}; {EXAMPLES}",
                    shown(line, 80)
                )));
            }
        }
    }
    if hosts.len() == 0 {
        return Err(Failure::usage(format!(
            "baseline {name} holds no open port (only comments{}); give {ACCEPTED_FORMATS}",
            if udp > 0 { " and UDP ports" } else { "" }
        )));
    }
    let mut notes = Vec::new();
    if udp > 0 {
        notes.push(format!(
            "{name}: {} left out: scanwatch re-checks TCP only",
            count(udp, "UDP port", "UDP ports")
        ));
    }
    Ok(Baseline {
        format: BaselineFormat::HostPortList,
        hosts: hosts.hosts,
        scanned_ports: None,
        notes,
    })
}

/// Why the text is some other tool's output that a list cannot stand for.
fn other_tool_hint(text: &str) -> Option<&'static str> {
    let first = text.trim_start().lines().next().unwrap_or_default();
    if first.starts_with("# Nmap ") {
        return Some(
            "it is nmap's normal or grepable output (-oN, -oG); run nmap with -oX FILE and give that file",
        );
    }
    if first.starts_with('{') && serde_json::from_str::<Value>(first).is_err() {
        let whole: Option<Value> = serde_json::from_str(text).ok();
        let format = whole
            .as_ref()
            .and_then(|v| v.get("format"))
            .and_then(Value::as_str);
        if format == Some("scanwatch-report") {
            return Some(
                "it is a scanwatch JSON report; give the session log it was made from, \
                 or an nmap-xml report (--output-format nmap-xml)",
            );
        }
        return Some("it is JSON but not JSON Lines of open ports");
    }
    None
}

/// The line without a comment after a space or tab (JSON lines are left whole).
fn strip_comment(line: &str) -> &str {
    if line.starts_with('{') {
        return line;
    }
    match line
        .as_bytes()
        .windows(2)
        .position(|w| matches!(w, [b' ' | b'\t', b'#']))
    {
        Some(i) => line.get(..i).unwrap_or(line),
        None => line,
    }
}

fn parse_line(line: &str) -> Result<Line, String> {
    if line.starts_with('{') {
        return parse_json(line);
    }
    let fields: Vec<&str> = line.split_whitespace().collect();
    if let Some(&kind) = fields.first()
        && (kind == "open" || kind == "banner")
        && fields.len() >= 4
    {
        return parse_masscan(&fields);
    }
    let (host, port) = split_host_port(line)?;
    let (port, udp) = parse_port(port)?;
    if udp {
        return Ok(Line::Skip { udp: true });
    }
    Ok(Line::Open {
        addr: parse_addr(host)?,
        port,
        name: None,
    })
}

/// `ADDRESS:PORT`, `[IPV6]:PORT`, `ADDRESS PORT`, `ADDRESS,PORT`.
fn split_host_port(line: &str) -> Result<(&str, &str), String> {
    if let Some(rest) = line.strip_prefix('[') {
        let Some((addr, after)) = rest.split_once(']') else {
            return Err("`[` without its `]`".into());
        };
        let port = after
            .strip_prefix(':')
            .or_else(|| after.strip_prefix(','))
            .unwrap_or(after)
            .trim();
        if port.is_empty() {
            return Err(format!("no port after [{}]", shown(addr, 60)));
        }
        return Ok((addr, port));
    }
    let parts: Vec<&str> = line
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    match parts.as_slice() {
        [host, port] => return Ok((host, port)),
        [_, _, _, ..] => {
            return Err(format!(
                "{} fields where an address and a port are expected",
                parts.len()
            ));
        }
        _ => {}
    }
    match line.matches(':').count() {
        0 => Err("no port".into()),
        1 => line
            .split_once(':')
            .map(|(h, p)| (h.trim(), p.trim()))
            .ok_or_else(|| "no port".to_string()),
        _ if line.parse::<IpAddr>().is_ok() => Err(format!(
            "an IPv6 address and its port need brackets, [::1]:443 (this reads as the address {} \
             with no port)",
            shown(line, 60)
        )),
        _ => Err("an IPv6 address and its port need brackets: [::1]:443".into()),
    }
}

/// A port with an optional `/tcp` or `/udp`; true when UDP.
fn parse_port(text: &str) -> Result<(u16, bool), String> {
    let (number, udp) = match text.split_once('/') {
        Some((n, proto)) if proto.eq_ignore_ascii_case("tcp") => (n, false),
        Some((n, proto)) if proto.eq_ignore_ascii_case("udp") => (n, true),
        Some((_, proto)) => {
            return Err(format!(
                "`/{}` is not a protocol (tcp or udp)",
                shown(proto, 20)
            ));
        }
        None => (text, false),
    };
    let port = super::port_number(number)?;
    if port == 0 {
        return Err("port 0 is not a port a service listens on (1 to 65535)".into());
    }
    Ok((port, udp))
}

/// An IP address; a host name is refused (a baseline looks nothing up).
fn parse_addr(text: &str) -> Result<IpAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    if text.is_empty() {
        return Err("no address before the port".into());
    }
    let name_like = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if name_like && text.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(format!(
            "`{}` is a host name, and a baseline gives addresses (scanwatch looks up no names \
             here): write its address, or use an nmap XML baseline (nmap -oX), which records \
             each host's address",
            shown(text, 60)
        ));
    }
    Err(format!("`{}` is not an IP address", shown(text, 60)))
}

/// masscan `-oL`: `open tcp 80 127.0.0.1 1700000000`; `banner …` lines are skipped.
fn parse_masscan(fields: &[&str]) -> Result<Line, String> {
    let [kind, proto, port, addr, ..] = fields else {
        return Err("a masscan line has at least 4 fields".into());
    };
    if *kind == "banner" {
        return Ok(Line::Skip { udp: false });
    }
    let udp = match *proto {
        "tcp" => false,
        "udp" => true,
        other => {
            return Err(format!(
                "masscan protocol `{}` is not tcp",
                shown(other, 20)
            ));
        }
    };
    let port = super::port_number(port)?;
    if udp || port == 0 {
        return Ok(Line::Skip { udp });
    }
    Ok(Line::Open {
        addr: parse_addr(addr)?,
        port,
        name: None,
    })
}

/// A naabu `-json` line.
fn parse_json(line: &str) -> Result<Line, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let Some(object) = value.as_object() else {
        return Err("not a JSON object".into());
    };
    let field = |key: &str| object.get(key).and_then(Value::as_str).map(str::trim);
    if let Some(protocol) = field("protocol")
        && protocol.eq_ignore_ascii_case("udp")
    {
        return Ok(Line::Skip { udp: true });
    }
    let port = match object.get("port") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        // Some naabu versions write the port as an object.
        Some(Value::Object(p)) => p
            .get("Port")
            .or_else(|| p.get("port"))
            .and_then(Value::as_u64),
        _ => None,
    };
    let port = port
        .and_then(|p| u16::try_from(p).ok())
        .filter(|&p| p > 0)
        .ok_or("a JSON line needs \"port\", 1 to 65535")?;
    let host = field("host").filter(|h| !h.is_empty());
    let addr = match field("ip").filter(|ip| !ip.is_empty()) {
        Some(ip) => parse_addr(ip)?,
        None => match host {
            Some(host) => parse_addr(host)?,
            None => return Err("a JSON line needs \"ip\" (or \"host\") and \"port\"".into()),
        },
    };
    let name = host
        .filter(|h| h.parse::<IpAddr>().is_err())
        .map(str::to_string);
    Ok(Line::Open { addr, port, name })
}
