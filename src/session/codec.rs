//! One line of the session log to and from bytes (the format: `FORMAT.md` beside this file).
//!
//! Frequent events (hosts, probes) are compact JSON arrays with positional fields and short
//! outcome codes; rare ones (start, plan, parameters, finish, alarms, end) are JSON objects with
//! a `type` field. A probe line names its host by id; the address comes from the host's `h`
//! line, and is written on the probe line itself only when no `h` line in force gives it (a
//! sentinel, which may come after the host is done, always carries it).

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AlarmChange, AlarmRecord, Entry, ParamsRecord, SessionEnd};
use crate::detector::Alarm;
use crate::event::{
    AfterConnect, FilterReason, FinishReason, HostId, LocalErrorKind, ProbeOutcome, ProbeRecord,
    ScanEvent,
};
use crate::idmap::IdMap;

/// The lines that are JSON objects, tagged by `type`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum ObjectLine {
    Started {
        hosts: Option<u64>,
        ports_per_host: u32,
        probes: Option<u64>,
        seed: u64,
        params: ParamsRecord,
    },
    Plan {
        hosts: u64,
        probes: u64,
    },
    Params {
        t_us: u64,
        params: ParamsRecord,
    },
    Finished {
        t_us: u64,
        reason: FinishReason,
    },
    Alarm {
        change: AlarmChange,
        #[serde(flatten)]
        alarm: Alarm,
        /// The alarm as one readable line (not read back).
        #[serde(default, skip_deserializing)]
        line: String,
    },
    End(SessionEnd),
}

/// Which hosts' `h` lines are in force: what lets a probe line leave its address out. The
/// writer and the reader keep the same map over the same lines, so they always agree.
#[derive(Debug, Default)]
pub(crate) struct HostAddrs {
    addrs: IdMap<HostId, IpAddr>,
}

impl HostAddrs {
    fn started(&mut self, host: HostId, addr: IpAddr) {
        self.addrs.insert(host, addr);
    }

    fn done(&mut self, host: HostId) {
        self.addrs.remove(&host);
    }

    fn get(&self, host: HostId) -> Option<IpAddr> {
        self.addrs.get(&host).copied()
    }
}

/// Appends one event's line (with its newline) to `buf`.
pub(crate) fn encode_event(buf: &mut Vec<u8>, event: &ScanEvent, hosts: &mut HostAddrs) {
    // Writing into a Vec cannot fail.
    let _ = write_event(buf, event, hosts);
}

fn write_event(buf: &mut Vec<u8>, event: &ScanEvent, hosts: &mut HostAddrs) -> std::io::Result<()> {
    match event {
        ScanEvent::Started {
            hosts: host_count,
            ports_per_host,
            probes,
            params,
            seed,
        } => write_object(
            buf,
            &ObjectLine::Started {
                hosts: *host_count,
                ports_per_host: *ports_per_host,
                probes: *probes,
                seed: *seed,
                params: ParamsRecord::from(params),
            },
        ),
        ScanEvent::PlanCounted {
            hosts: host_count,
            probes,
        } => write_object(
            buf,
            &ObjectLine::Plan {
                hosts: *host_count,
                probes: *probes,
            },
        ),
        ScanEvent::HostStarted {
            host,
            addr,
            name,
            t_us,
        } => {
            hosts.started(*host, *addr);
            write!(buf, "[\"h\",{t_us},{host},\"{addr}\"")?;
            if let Some(name) = name {
                buf.push(b',');
                serde_json::to_writer(&mut *buf, &**name)?;
            }
            buf.extend_from_slice(b"]\n");
            Ok(())
        }
        ScanEvent::Probe(r) => write_probe(buf, "p", r, hosts.get(r.host) != Some(r.addr)),
        ScanEvent::LocalError(r) => write_probe(buf, "l", r, hosts.get(r.host) != Some(r.addr)),
        ScanEvent::Sentinel(r) => write_probe(buf, "s", r, true),
        ScanEvent::HostDone { host, t_us } => {
            hosts.done(*host);
            writeln!(buf, "[\"d\",{t_us},{host}]")
        }
        ScanEvent::ParamsChanged { params, t_us } => write_object(
            buf,
            &ObjectLine::Params {
                t_us: *t_us,
                params: ParamsRecord::from(params),
            },
        ),
        ScanEvent::Finished { reason, t_us } => write_object(
            buf,
            &ObjectLine::Finished {
                t_us: *t_us,
                reason: *reason,
            },
        ),
    }
}

/// `[tag,t_us,host,port,outcome,connect_us,attempt,seq]`, then the after-connect code when there
/// is one or an address follows, then the address when `with_addr`.
fn write_probe(
    buf: &mut Vec<u8>,
    tag: &str,
    r: &ProbeRecord,
    with_addr: bool,
) -> std::io::Result<()> {
    // The hot path of the log: integers are formatted by hand, not through `fmt`.
    buf.extend_from_slice(b"[\"");
    buf.extend_from_slice(tag.as_bytes());
    buf.extend_from_slice(b"\",");
    push_u64(buf, r.t_us);
    buf.push(b',');
    push_u64(buf, u64::from(r.host));
    buf.push(b',');
    push_u64(buf, u64::from(r.port));
    buf.extend_from_slice(b",\"");
    write_outcome(buf, r.outcome)?;
    buf.extend_from_slice(b"\",");
    push_u64(buf, r.connect_us);
    buf.push(b',');
    push_u64(buf, u64::from(r.attempt));
    buf.push(b',');
    push_u64(buf, r.seq);
    match &r.after_connect {
        AfterConnect::NotRead if !with_addr => {}
        AfterConnect::NotRead => buf.extend_from_slice(b",null"),
        AfterConnect::Silent => buf.extend_from_slice(b",\"s\""),
        AfterConnect::ClosedAtOnce => buf.extend_from_slice(b",\"x\""),
        AfterConnect::Banner(bytes) => {
            buf.extend_from_slice(b",\"b:");
            base64_encode(buf, bytes);
            buf.push(b'"');
        }
    }
    if with_addr {
        write!(buf, ",\"{}\"", r.addr)?;
    }
    buf.extend_from_slice(b"]\n");
    Ok(())
}

/// Appends `n` in decimal.
fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// The outcome's short code: `o` open, `c` closed, `f` filtered (no response), `fh` / `fn` /
/// `fa` filtered by an ICMP host / net unreachable or admin-prohibited, `ef` / `es` / `ea` /
/// `eb` local errors (fd limit, system fd limit, no local address, no buffers), `e<errno>` any
/// other local error.
fn write_outcome(buf: &mut Vec<u8>, outcome: ProbeOutcome) -> std::io::Result<()> {
    let code = match outcome {
        ProbeOutcome::Open => "o",
        ProbeOutcome::Closed => "c",
        ProbeOutcome::Filtered(FilterReason::NoResponse) => "f",
        ProbeOutcome::Filtered(FilterReason::HostUnreach) => "fh",
        ProbeOutcome::Filtered(FilterReason::NetUnreach) => "fn",
        ProbeOutcome::Filtered(FilterReason::AdminProhibited) => "fa",
        ProbeOutcome::LocalError(LocalErrorKind::FdLimit) => "ef",
        ProbeOutcome::LocalError(LocalErrorKind::SystemFdLimit) => "es",
        ProbeOutcome::LocalError(LocalErrorKind::NoLocalAddress) => "ea",
        ProbeOutcome::LocalError(LocalErrorKind::NoBuffers) => "eb",
        ProbeOutcome::LocalError(LocalErrorKind::Other(errno)) => {
            return write!(buf, "e{errno}");
        }
    };
    buf.extend_from_slice(code.as_bytes());
    Ok(())
}

fn parse_outcome(code: &str) -> Option<ProbeOutcome> {
    Some(match code {
        "o" => ProbeOutcome::Open,
        "c" => ProbeOutcome::Closed,
        "f" => ProbeOutcome::Filtered(FilterReason::NoResponse),
        "fh" => ProbeOutcome::Filtered(FilterReason::HostUnreach),
        "fn" => ProbeOutcome::Filtered(FilterReason::NetUnreach),
        "fa" => ProbeOutcome::Filtered(FilterReason::AdminProhibited),
        "ef" => ProbeOutcome::LocalError(LocalErrorKind::FdLimit),
        "es" => ProbeOutcome::LocalError(LocalErrorKind::SystemFdLimit),
        "ea" => ProbeOutcome::LocalError(LocalErrorKind::NoLocalAddress),
        "eb" => ProbeOutcome::LocalError(LocalErrorKind::NoBuffers),
        other => {
            let errno = other.strip_prefix('e')?.parse().ok()?;
            ProbeOutcome::LocalError(LocalErrorKind::Other(errno))
        }
    })
}

/// Appends an `alarm` line.
pub(crate) fn encode_alarm(buf: &mut Vec<u8>, change: AlarmChange, alarm: &Alarm) {
    let _ = write_object(
        buf,
        &ObjectLine::Alarm {
            change,
            alarm: alarm.clone(),
            line: alarm.line(),
        },
    );
}

/// Appends the `end` line.
pub(crate) fn encode_end(buf: &mut Vec<u8>, end: &SessionEnd) {
    let _ = write_object(buf, &ObjectLine::End(end.clone()));
}

fn write_object(buf: &mut Vec<u8>, line: &ObjectLine) -> std::io::Result<()> {
    serde_json::to_writer(&mut *buf, line)?;
    buf.push(b'\n');
    Ok(())
}

/// Reads one line (without its newline). The error says what is wrong with it, without the
/// file and line number (the reader adds them).
pub(crate) fn decode_line(line: &str, hosts: &mut HostAddrs) -> Result<Entry, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    match value {
        Value::Array(items) => decode_array(&items, hosts).map(Entry::Event),
        Value::Object(_) => {
            let kind = value.get("type").and_then(Value::as_str).map(str::to_owned);
            let object: ObjectLine = serde_json::from_value(value).map_err(|e| match kind {
                Some(kind) => format!("bad `{kind}` line: {e}"),
                None => format!("an object line without a known `type` ({e})"),
            })?;
            Ok(decode_object(object))
        }
        _ => Err("not a session log line: neither a JSON array nor an object".into()),
    }
}

fn decode_object(line: ObjectLine) -> Entry {
    match line {
        ObjectLine::Started {
            hosts,
            ports_per_host,
            probes,
            seed,
            params,
        } => Entry::Event(ScanEvent::Started {
            hosts,
            ports_per_host,
            probes,
            params: params.into(),
            seed,
        }),
        ObjectLine::Plan { hosts, probes } => {
            Entry::Event(ScanEvent::PlanCounted { hosts, probes })
        }
        ObjectLine::Params { t_us, params } => Entry::Event(ScanEvent::ParamsChanged {
            params: params.into(),
            t_us,
        }),
        ObjectLine::Finished { t_us, reason } => Entry::Event(ScanEvent::Finished { reason, t_us }),
        ObjectLine::Alarm { change, alarm, .. } => Entry::Alarm(AlarmRecord { change, alarm }),
        ObjectLine::End(end) => Entry::End(end),
    }
}

/// Positional fields of an array line.
struct Fields<'a> {
    tag: &'a str,
    items: &'a [Value],
}

impl<'a> Fields<'a> {
    fn value(&self, i: usize, what: &str) -> Result<&'a Value, String> {
        self.items.get(i).ok_or_else(|| {
            format!(
                "`{}` line has {} fields; field {} ({what}) is missing",
                self.tag,
                self.items.len(),
                i + 1
            )
        })
    }

    fn u64(&self, i: usize, what: &str) -> Result<u64, String> {
        self.value(i, what)?
            .as_u64()
            .ok_or_else(|| self.bad(i, what, "a whole number"))
    }

    fn u32(&self, i: usize, what: &str) -> Result<u32, String> {
        u32::try_from(self.u64(i, what)?).map_err(|_| self.bad(i, what, "a number below 2^32"))
    }

    fn str(&self, i: usize, what: &str) -> Result<&'a str, String> {
        self.value(i, what)?
            .as_str()
            .ok_or_else(|| self.bad(i, what, "a string"))
    }

    fn addr(&self, i: usize) -> Result<IpAddr, String> {
        self.str(i, "address")?
            .parse()
            .map_err(|_| self.bad(i, "address", "an IP address"))
    }

    fn bad(&self, i: usize, what: &str, expected: &str) -> String {
        let shown = self
            .items
            .get(i)
            .map(|v| {
                let text = v.to_string();
                crate::banner::display(text.as_bytes(), 40)
            })
            .unwrap_or_default();
        format!(
            "`{}` line: field {} ({what}) is {shown}, not {expected}",
            self.tag,
            i + 1
        )
    }

    fn at_most(&self, n: usize) -> Result<(), String> {
        if self.items.len() > n {
            return Err(format!(
                "`{}` line has {} fields; at most {n} are allowed",
                self.tag,
                self.items.len()
            ));
        }
        Ok(())
    }
}

fn decode_array(items: &[Value], hosts: &mut HostAddrs) -> Result<ScanEvent, String> {
    let tag = items
        .first()
        .and_then(Value::as_str)
        .ok_or("an array line must start with its type (\"h\", \"p\", \"l\", \"s\" or \"d\")")?;
    let f = Fields { tag, items };
    match tag {
        "h" => {
            f.at_most(5)?;
            let t_us = f.u64(1, "time")?;
            let host = f.u32(2, "host id")?;
            let addr = f.addr(3)?;
            let name = match items.get(4) {
                None | Some(Value::Null) => None,
                Some(_) => Some(Arc::<str>::from(f.str(4, "name")?)),
            };
            hosts.started(host, addr);
            Ok(ScanEvent::HostStarted {
                host,
                addr,
                name,
                t_us,
            })
        }
        "d" => {
            f.at_most(3)?;
            let t_us = f.u64(1, "time")?;
            let host = f.u32(2, "host id")?;
            hosts.done(host);
            Ok(ScanEvent::HostDone { host, t_us })
        }
        "p" | "l" | "s" => {
            let record = decode_probe(&f, hosts)?;
            Ok(match tag {
                "p" => ScanEvent::Probe(record),
                "l" => ScanEvent::LocalError(record),
                _ => ScanEvent::Sentinel(record),
            })
        }
        other => Err(format!(
            "unknown line type `{}`",
            crate::banner::display(other.as_bytes(), 20)
        )),
    }
}

fn decode_probe(f: &Fields<'_>, hosts: &HostAddrs) -> Result<ProbeRecord, String> {
    f.at_most(10)?;
    let t_us = f.u64(1, "time")?;
    let host = f.u32(2, "host id")?;
    let port = u16::try_from(f.u64(3, "port")?).map_err(|_| f.bad(3, "port", "0 to 65535"))?;
    let outcome = parse_outcome(f.str(4, "outcome")?)
        .ok_or_else(|| f.bad(4, "outcome", "an outcome code (o, c, f, fh, fn, fa, e…)"))?;
    let connect_us = f.u64(5, "connect time")?;
    let attempt = f.u32(6, "attempt")?;
    let seq = f.u64(7, "sequence")?;
    let after_connect = match f.items.get(8) {
        None | Some(Value::Null) => AfterConnect::NotRead,
        Some(_) => {
            let code = f.str(8, "after-connect")?;
            match code {
                "s" => AfterConnect::Silent,
                "x" => AfterConnect::ClosedAtOnce,
                _ => {
                    let bytes = code
                        .strip_prefix("b:")
                        .and_then(base64_decode)
                        .ok_or_else(|| f.bad(8, "after-connect", "s, x or b:<base64 banner>"))?;
                    AfterConnect::Banner(bytes.into())
                }
            }
        }
    };
    let addr = match f.items.get(9) {
        Some(_) => f.addr(9)?,
        None => hosts.get(host).ok_or_else(|| {
            format!(
                "`{}` line for host {host}, which has no `h` line in force (and the line gives no address)",
                f.tag
            )
        })?,
    };
    Ok(ProbeRecord {
        host,
        addr,
        port,
        outcome,
        connect_us,
        attempt,
        seq,
        t_us,
        after_connect,
    })
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4).
fn base64_encode(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(BASE64[(n >> 18) as usize & 63]);
        out.push(BASE64[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 {
            BASE64[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if chunk.len() > 2 {
            BASE64[n as usize & 63]
        } else {
            b'='
        });
    }
}

/// Decodes standard padded base64; `None` for anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let chunks = bytes.len() / 4;
    for (i, chunk) in bytes.chunks_exact(4).enumerate() {
        let last = i + 1 == chunks;
        let pad = if last {
            chunk.iter().rev().take_while(|&&c| c == b'=').count()
        } else {
            0
        };
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for (j, &c) in chunk.iter().enumerate() {
            let v = if j >= 4 - pad { 0 } else { value(c)? };
            n = (n << 6) | v;
        }
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_rejects_what_is_not_base64() {
        for len in 0..40usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut text = Vec::new();
            base64_encode(&mut text, &bytes);
            let text = String::from_utf8(text).unwrap();
            assert_eq!(base64_decode(&text).as_deref(), Some(&bytes[..]), "{len}");
        }
        let mut text = Vec::new();
        base64_encode(&mut text, b"SSH-2.0-OpenSSH\r\n");
        assert_eq!(text, b"U1NILTIuMC1PcGVuU1NIDQo=");
        for bad in ["A", "AB=C", "A===", "====", "AA==AA==", "AB*=", "ABC"] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn outcome_codes_round_trip() {
        let all = [
            ProbeOutcome::Open,
            ProbeOutcome::Closed,
            ProbeOutcome::Filtered(FilterReason::NoResponse),
            ProbeOutcome::Filtered(FilterReason::HostUnreach),
            ProbeOutcome::Filtered(FilterReason::NetUnreach),
            ProbeOutcome::Filtered(FilterReason::AdminProhibited),
            ProbeOutcome::LocalError(LocalErrorKind::FdLimit),
            ProbeOutcome::LocalError(LocalErrorKind::SystemFdLimit),
            ProbeOutcome::LocalError(LocalErrorKind::NoLocalAddress),
            ProbeOutcome::LocalError(LocalErrorKind::NoBuffers),
            ProbeOutcome::LocalError(LocalErrorKind::Other(99)),
            ProbeOutcome::LocalError(LocalErrorKind::Other(-3)),
        ];
        for outcome in all {
            let mut buf = Vec::new();
            write_outcome(&mut buf, outcome).unwrap();
            let code = String::from_utf8(buf).unwrap();
            assert_eq!(parse_outcome(&code), Some(outcome), "{code}");
        }
        let format = include_str!("FORMAT.md");
        for outcome in all {
            let mut buf = Vec::new();
            write_outcome(&mut buf, outcome).unwrap();
            let code = String::from_utf8(buf).unwrap();
            let row = match outcome {
                ProbeOutcome::LocalError(LocalErrorKind::Other(_)) => "| `e<errno>` |".to_string(),
                _ => format!("| `{code}` |"),
            };
            assert!(format.contains(&row), "FORMAT.md lacks the row {row}");
        }
        for bad in ["", "x", "e", "eff", "O", "e1.5"] {
            assert_eq!(parse_outcome(bad), None, "{bad}");
        }
    }

    #[test]
    fn integers_are_written_in_decimal() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u64::from(u32::MAX), u64::MAX] {
            let mut buf = Vec::new();
            push_u64(&mut buf, n);
            assert_eq!(String::from_utf8(buf).unwrap(), n.to_string());
        }
    }

    #[test]
    fn a_probe_line_is_compact() {
        let mut hosts = HostAddrs::default();
        let mut buf = Vec::new();
        let addr: IpAddr = "127.0.0.1".parse().unwrap();
        encode_event(
            &mut buf,
            &ScanEvent::HostStarted {
                host: 0,
                addr,
                name: None,
                t_us: 5,
            },
            &mut hosts,
        );
        buf.clear();
        encode_event(
            &mut buf,
            &ScanEvent::Probe(ProbeRecord {
                host: 0,
                addr,
                port: 44321,
                outcome: ProbeOutcome::Closed,
                connect_us: 35,
                attempt: 1,
                seq: 65534,
                t_us: 1_234_567,
                after_connect: AfterConnect::NotRead,
            }),
            &mut hosts,
        );
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "[\"p\",1234567,0,44321,\"c\",35,1,65534]\n"
        );
    }
}
