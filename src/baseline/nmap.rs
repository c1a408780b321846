//! nmap's XML output (`-oX`, [nmap.dtd](https://nmap.org/book/nmap-dtd.html)) as a baseline.
//!
//! - Hosts are the `<host>` elements (not `<hosthint>`), with their first `ipv4` or `ipv6`
//!   `<address>` (`mac` addresses are ignored) and their `<hostnames><hostname name=…>`.
//! - A port is open when its `<state state="open">`: `open|filtered` (nmap could not tell) is
//!   not, and is counted in a note; `protocol="udp"` (and `sctp`) ports are ignored;
//!   `<extraports>` only counts ports, never open ones.
//! - Down hosts (`<status state="down">`, written with `-v`) are kept, with no open port, and a
//!   note says so.
//! - `scanned_ports` is the union of the `services` lists of the `<scaninfo protocol="tcp">`
//!   elements (nmap's range list, `1-1024,8080`), `None` when there is none.
//! - A file cut short (an aborted or still running scan: it simply ends, maybe inside a tag)
//!   keeps every complete `<host>…</host>` and says so in a note; masscan's XML (one `<host>`
//!   per open port) and files of several runs (`--append-output`) merge repeated addresses.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::xml::{Element, Node, XmlWalk};
use super::{Baseline, BaselineFormat, HostList, add_name, count, parse_port_ranges, some_addrs};
use crate::error::Failure;

/// A baseline with no host: an nmap file cut before its `<nmaprun>` element.
pub(super) fn empty(name: &str) -> Baseline {
    Baseline {
        format: BaselineFormat::NmapXml,
        hosts: Vec::new(),
        scanned_ports: None,
        notes: vec![format!(
            "{name}: the XML ends before <nmaprun> starts: the scan was stopped before it began; \
             the baseline has no host"
        )],
    }
}

/// The host being read.
#[derive(Default)]
struct HostBuilder {
    offset: usize,
    addr: Option<IpAddr>,
    names: Vec<String>,
    open: BTreeSet<u16>,
    down: bool,
}

/// The port being read.
struct PortBuilder {
    tcp: bool,
    port: u16,
    state: Option<String>,
}

/// Reads the document after its root element `root` (`<nmaprun>`).
pub(super) fn read(mut walk: XmlWalk<'_>, root: Element) -> Result<Baseline, Failure> {
    let name = walk.name();
    let mut hosts = HostList::default();
    let mut notes = Vec::new();
    let mut runs = 1usize;
    let mut scanned: Option<BTreeSet<u16>> = None;
    let mut scaninfo_notes = Vec::new();
    let mut host: Option<HostBuilder> = None;
    let mut port: Option<PortBuilder> = None;
    let mut down: Vec<IpAddr> = Vec::new();
    let mut no_address = 0usize;
    let mut open_filtered = 0usize;
    let mut scanner_is_nmap = root.attr("scanner").is_none_or(|s| s == "nmap");

    let cut = loop {
        match walk.next()? {
            Node::Open(e) => match e.name.as_str() {
                "nmaprun" if walk.path().len() == 1 => {
                    runs += 1;
                    scanner_is_nmap &= e.attr("scanner").is_none_or(|s| s == "nmap");
                }
                "scaninfo"
                    if walk.inside(&["nmaprun", "scaninfo"])
                        && e.attr("protocol") == Some("tcp") =>
                {
                    read_scaninfo(&e, &walk, &mut scanned, &mut scaninfo_notes);
                }
                "host" if walk.inside(&["nmaprun", "host"]) => {
                    host = Some(HostBuilder {
                        offset: e.offset,
                        ..HostBuilder::default()
                    });
                }
                "status" if walk.inside(&["host", "status"]) => {
                    if let Some(h) = host.as_mut() {
                        h.down = e.attr("state") == Some("down");
                    }
                }
                "address" if walk.inside(&["host", "address"]) => {
                    if let Some(h) = host.as_mut() {
                        read_address(&e, &walk, h)?;
                    }
                }
                "hostname" if walk.inside(&["host", "hostnames", "hostname"]) => {
                    if let (Some(h), Some(n)) = (host.as_mut(), e.attr("name")) {
                        add_name(&mut h.names, n.to_string());
                    }
                }
                "port" if walk.inside(&["host", "ports", "port"]) => {
                    port = Some(read_port(&e, &walk)?);
                }
                "state" if walk.inside(&["host", "ports", "port", "state"]) => {
                    if let Some(p) = port.as_mut() {
                        p.state = e.attr("state").map(str::to_string);
                    }
                }
                "finished"
                    if walk.inside(&["nmaprun", "runstats", "finished"])
                        && e.attr("exit") == Some("error") =>
                {
                    let why = e.attr("errormsg").unwrap_or("no message");
                    notes.push(format!(
                        "{name}: nmap ended the scan with an error: {}",
                        super::shown(why, 200)
                    ));
                }
                _ => {}
            },
            Node::Close(element) => match element.as_str() {
                "port" if walk.inside(&["host", "ports"]) => {
                    if let (Some(p), Some(h)) = (port.take(), host.as_mut()) {
                        match p.state.as_deref() {
                            Some("open") if p.tcp => {
                                h.open.insert(p.port);
                            }
                            Some("open|filtered") if p.tcp => open_filtered += 1,
                            _ => {}
                        }
                    }
                }
                "host" if walk.inside(&["nmaprun"]) => {
                    let Some(h) = host.take() else { continue };
                    let Some(addr) = h.addr else {
                        no_address += 1;
                        continue;
                    };
                    if h.down {
                        down.push(addr);
                    }
                    hosts.add(addr, h.names, h.open);
                }
                _ => {}
            },
            Node::Text(_) => {}
            Node::End => break false,
            Node::Cut => break true,
        }
    };

    if cut {
        notes.push(walk.cut_note(
            "</nmaprun>",
            "as an aborted scan leaves it",
            hosts.len(),
            host.as_ref().map(|h| h.offset),
        ));
    }
    if runs > 1 {
        notes.push(format!(
            "{name}: holds {runs} nmap runs (written with --append-output); their hosts are merged"
        ));
    }
    if !down.is_empty() {
        notes.push(format!(
            "{name}: {} down in the baseline scan ({}): kept, with no open port",
            count(down.len(), "host was", "hosts were"),
            some_addrs(&down, down.len())
        ));
    }
    if no_address > 0 {
        notes.push(format!(
            "{name}: {} without an IPv4 or IPv6 address left out",
            count(no_address, "host", "hosts")
        ));
    }
    if !hosts.repeated.is_empty() {
        let why = if scanner_is_nmap {
            "several runs or scans in one file"
        } else {
            "masscan writes one <host> per open port"
        };
        notes.push(format!(
            "{name}: {} in more than one <host> ({why}): their ports are merged",
            count(hosts.repeated.len(), "address comes", "addresses come")
        ));
    }
    if open_filtered > 0 {
        notes.push(format!(
            "{name}: {} open|filtered (nmap could not tell which): not counted as open",
            count(open_filtered, "TCP port is", "TCP ports are")
        ));
    }
    notes.extend(scaninfo_notes);
    Ok(Baseline {
        format: BaselineFormat::NmapXml,
        hosts: hosts.hosts,
        scanned_ports: scanned.map(|s| s.into_iter().collect()),
        notes,
    })
}

/// A `<scaninfo protocol="tcp">`: its `services` join the scanned ports.
fn read_scaninfo(
    e: &Element,
    walk: &XmlWalk<'_>,
    scanned: &mut Option<BTreeSet<u16>>,
    notes: &mut Vec<String>,
) {
    let line = walk.line_of(e.offset);
    let name = walk.name();
    let Some(services) = e.attr("services") else {
        notes.push(format!(
            "{name}:{line}: the TCP <scaninfo> lists no services: the scanned ports are not known"
        ));
        return;
    };
    match parse_port_ranges(services) {
        Ok(ports) => {
            let declared = e.attr("numservices").and_then(|n| n.trim().parse::<usize>().ok());
            if let Some(n) = declared.filter(|&n| n != ports.len()) {
                notes.push(format!(
                    "{name}:{line}: <scaninfo> says numservices=\"{n}\" but its services list {} ports",
                    ports.len()
                ));
            }
            scanned.get_or_insert_with(BTreeSet::new).extend(ports);
        }
        Err(why) => notes.push(format!(
            "{name}:{line}: the TCP <scaninfo> services are not a port list ({why}): the scanned ports are not known"
        )),
    }
}

/// An `<address>` of the host: the first IPv4 or IPv6 one counts (one without an `addrtype`
/// counts when it is an IP address of either family).
fn read_address(e: &Element, walk: &XmlWalk<'_>, host: &mut HostBuilder) -> Result<(), Failure> {
    let kind = e.attr("addrtype");
    if kind.is_some_and(|k| k != "ipv4" && k != "ipv6") {
        return Ok(());
    }
    let text = e.attr("addr").unwrap_or_default();
    let described = match kind {
        Some(kind) => format!("<address addrtype=\"{kind}\">"),
        None => "<address>".to_string(),
    };
    let addr: IpAddr = text.trim().parse().map_err(|_| {
        walk.error_at(
            e.offset,
            &format!(
                "{described} has addr=\"{}\", which is not an IP address",
                super::shown(text, 60)
            ),
        )
    })?;
    let family_ok = matches!(
        (kind, addr),
        (None, _) | (Some("ipv4"), IpAddr::V4(_)) | (Some("ipv6"), IpAddr::V6(_))
    );
    if !family_ok {
        return Err(walk.error_at(
            e.offset,
            &format!("{described} has addr=\"{addr}\", an address of the other family"),
        ));
    }
    if host.addr.is_none() {
        host.addr = Some(addr);
    }
    Ok(())
}

/// A `<port>`: its protocol and number.
fn read_port(e: &Element, walk: &XmlWalk<'_>) -> Result<PortBuilder, Failure> {
    let text = e.attr("portid").unwrap_or_default();
    let port = super::port_number(text)
        .map_err(|why| walk.error_at(e.offset, &format!("<port portid=…>: {why}")))?;
    Ok(PortBuilder {
        tcp: e.attr("protocol").unwrap_or("tcp") == "tcp",
        port,
        state: None,
    })
}
