//! Nessus v2 exports (`.nessus`, root `<NessusClientData_v2>`) as a baseline.
//!
//! A host is a `<ReportHost name=…>`; its address is the `host-ip` tag of its
//! `<HostProperties>`, else its `name` when that is an address (no name is ever looked up), and
//! its names are the `host-fqdn` tag and a `name` that is not an address.
//!
//! **Which ports are open.** Nessus reports a port open through its port scanners: one
//! `<ReportItem port=… protocol=…>` per open port, from a plugin of the "Port scanners" family.
//! Those are the findings read here, as the port scan itself saw them:
//!
//! | plugin ID | plugin | counted |
//! |---|---|---|
//! | 11219 | Nessus SYN scanner | yes |
//! | 10335 | Nessus TCP scanner | yes |
//! | 14272 | Netstat Portscanner (SSH) | yes |
//! | 34220 | Netstat Portscanner (WMI) | yes |
//! | 34277 | Nessus UDP Scanner | no: UDP |
//! | 14274 | Nessus SNMP Scanner | no: UDP |
//! | 10180 | Ping the remote host | no: reachability, not a port |
//!
//! An item counts when its `pluginFamily` is "Port scanners" or its `pluginID` is one of the
//! four counted above (exports may omit or translate the family), its `protocol` is `tcp` and
//! its `port` is above 0. Every other finding (Service Detection 22964, vulnerabilities, items on
//! port 0, which are about the host) is left out: they describe ports a port scanner already
//! reported, or are not about a port being open. A file with no port-scanner finding at all (an
//! export filtered to vulnerabilities) says so in a note.
//!
//! `scanned_ports` comes from the policy's `port_range` server preference when it is a list
//! (`1-65535`, `21,22,80`, `T:1-1024,U:53`) or `all`; `default` (Nessus's own list) is not
//! known here, so it is `None`.

use std::net::IpAddr;

use super::xml::{Element, Node, XmlWalk};
use super::{
    Baseline, BaselineFormat, HostList, add_name, count, expand_ranges, parse_port_ranges,
    port_range_item, shown,
};
use crate::error::Failure;

/// Plugins of the "Port scanners" family whose TCP findings are open ports.
pub const PORT_SCANNER_PLUGINS: [u32; 4] = [11219, 10335, 14272, 34220];
/// "Ping the remote host": in the port scanners' family, but about reachability.
const PING_PLUGIN: u32 = 10180;
/// The plugin family of port scanners.
const PORT_SCANNERS_FAMILY: &str = "Port scanners";

/// The `<ReportHost>` being read.
#[derive(Default)]
struct HostBuilder {
    offset: usize,
    name: String,
    host_ip: Option<String>,
    fqdn: Option<String>,
    open: Vec<u16>,
}

/// The text being collected and where it goes.
enum Capture {
    None,
    /// A `<tag name=…>` of the host's properties.
    Tag(String, String),
    /// The `<name>` or `<value>` of a policy preference.
    PreferenceName(String),
    PreferenceValue(String),
}

/// Reads the document after its root element.
pub(super) fn read(mut walk: XmlWalk<'_>, _root: Element) -> Result<Baseline, Failure> {
    let name = walk.name();
    let mut hosts = HostList::default();
    let mut notes = Vec::new();
    let mut host: Option<HostBuilder> = None;
    let mut capture = Capture::None;
    let mut preference: (Option<String>, Option<String>) = (None, None);
    let mut port_range: Option<String> = None;
    let mut scanner_items = 0usize;
    let mut udp_items = 0usize;

    let cut = loop {
        match walk.next()? {
            Node::Open(e) => match e.name.as_str() {
                "ReportHost" if walk.inside(&["Report", "ReportHost"]) => {
                    host = Some(HostBuilder {
                        offset: e.offset,
                        name: e.attr("name").unwrap_or_default().trim().to_string(),
                        ..HostBuilder::default()
                    });
                }
                "tag" if walk.inside(&["ReportHost", "HostProperties", "tag"]) => {
                    let key = e.attr("name").unwrap_or_default().to_string();
                    capture = Capture::Tag(key, String::new());
                }
                "ReportItem" if walk.inside(&["ReportHost", "ReportItem"]) => {
                    match port_scanner_finding(&e, &walk)? {
                        Finding::OpenTcp(port) => {
                            scanner_items += 1;
                            if let Some(h) = host.as_mut() {
                                h.open.push(port);
                            }
                        }
                        Finding::Udp => {
                            scanner_items += 1;
                            udp_items += 1;
                        }
                        Finding::Other => {}
                    }
                }
                "preference" if walk.inside(&["ServerPreferences", "preference"]) => {
                    preference = (None, None);
                }
                "name" if walk.inside(&["ServerPreferences", "preference", "name"]) => {
                    capture = Capture::PreferenceName(String::new());
                }
                "value" if walk.inside(&["ServerPreferences", "preference", "value"]) => {
                    capture = Capture::PreferenceValue(String::new());
                }
                _ => {}
            },
            Node::Text(text) => match &mut capture {
                Capture::Tag(_, buf)
                | Capture::PreferenceName(buf)
                | Capture::PreferenceValue(buf) => buf.push_str(&text),
                Capture::None => {}
            },
            Node::Close(element) => match element.as_str() {
                "tag" => {
                    if let (Capture::Tag(key, value), Some(h)) = (
                        std::mem::replace(&mut capture, Capture::None),
                        host.as_mut(),
                    ) {
                        match key.as_str() {
                            "host-ip" => h.host_ip = Some(value.trim().to_string()),
                            "host-fqdn" => h.fqdn = Some(value.trim().to_string()),
                            _ => {}
                        }
                    }
                }
                "name" | "value" => match std::mem::replace(&mut capture, Capture::None) {
                    Capture::PreferenceName(v) => preference.0 = Some(v),
                    Capture::PreferenceValue(v) => preference.1 = Some(v),
                    _ => {}
                },
                "preference" => {
                    if let (Some(key), Some(value)) = std::mem::take(&mut preference)
                        && key.trim() == "port_range"
                    {
                        port_range = Some(value.trim().to_string());
                    }
                }
                "ReportHost" if walk.inside(&["Report"]) => {
                    if let Some(h) = host.take() {
                        add_host(&mut hosts, h, &walk)?;
                    }
                }
                _ => {}
            },
            Node::End => break false,
            Node::Cut => break true,
        }
    };

    if cut {
        notes.push(walk.cut_note(
            "</NessusClientData_v2>",
            "as a cut copy or an interrupted export leaves it",
            hosts.len(),
            host.as_ref().map(|h| h.offset),
        ));
    }
    if scanner_items == 0 && hosts.len() > 0 {
        notes.push(format!(
            "{name}: no port-scanner finding (plugins {}): no port is open in this baseline; \
             was the export filtered to vulnerabilities?",
            PORT_SCANNER_PLUGINS.map(|p| p.to_string()).join(", ")
        ));
    }
    if udp_items > 0 {
        notes.push(format!(
            "{name}: {} left out: scanwatch re-checks TCP only",
            count(
                udp_items,
                "UDP port-scanner finding",
                "UDP port-scanner findings"
            )
        ));
    }
    if !hosts.repeated.is_empty() {
        notes.push(format!(
            "{name}: {} in more than one <ReportHost>: their ports are merged",
            count(hosts.repeated.len(), "address comes", "addresses come")
        ));
    }
    let scanned_ports = port_range.and_then(|range| match scanned_ports(&range) {
        Ok(ports) => ports,
        Err(why) => {
            notes.push(format!(
                "{name}: the policy's port_range `{}` is not a port list ({why}): the scanned ports are not known",
                shown(&range, 80)
            ));
            None
        }
    });
    Ok(Baseline {
        format: BaselineFormat::Nessus,
        hosts: hosts.hosts,
        scanned_ports,
        notes,
    })
}

/// What one `<ReportItem>` says.
enum Finding {
    /// A port scanner found this TCP port open.
    OpenTcp(u16),
    /// A port scanner's UDP finding.
    Udp,
    /// Anything else.
    Other,
}

fn port_scanner_finding(e: &Element, walk: &XmlWalk<'_>) -> Result<Finding, Failure> {
    let plugin: Option<u32> = e.attr("pluginID").and_then(|id| id.trim().parse().ok());
    if plugin == Some(PING_PLUGIN) {
        return Ok(Finding::Other);
    }
    let scanner = e.attr("pluginFamily").map(str::trim) == Some(PORT_SCANNERS_FAMILY)
        || plugin.is_some_and(|id| PORT_SCANNER_PLUGINS.contains(&id));
    if !scanner {
        return Ok(Finding::Other);
    }
    let port_text = e.attr("port").unwrap_or_default();
    let port = super::port_number(port_text)
        .map_err(|why| walk.error_at(e.offset, &format!("<ReportItem port=…>: {why}")))?;
    if port == 0 {
        return Ok(Finding::Other);
    }
    Ok(match e.attr("protocol").map(str::trim) {
        Some("tcp") | None => Finding::OpenTcp(port),
        Some("udp") => Finding::Udp,
        Some(_) => Finding::Other,
    })
}

/// The finished `<ReportHost>`: its address from `host-ip`, else its name.
fn add_host(hosts: &mut HostList, h: HostBuilder, walk: &XmlWalk<'_>) -> Result<(), Failure> {
    let addr: IpAddr = match &h.host_ip {
        Some(ip) if !ip.is_empty() => ip.parse().map_err(|_| {
            walk.error_at(
                h.offset,
                &format!(
                    "<ReportHost name=\"{}\">: its host-ip `{}` is not an IP address",
                    shown(&h.name, 80),
                    shown(ip, 60)
                ),
            )
        })?,
        _ => h.name.parse().map_err(|_| {
            walk.error_at(
                h.offset,
                &format!(
                    "<ReportHost name=\"{}\"> has no host-ip tag and its name is not an IP address \
                     (scanwatch looks up no names in a baseline)",
                    shown(&h.name, 80)
                ),
            )
        })?,
    };
    let mut names = Vec::new();
    if let Some(fqdn) = h.fqdn {
        add_name(&mut names, fqdn);
    }
    if h.name.parse::<IpAddr>().is_err() {
        add_name(&mut names, h.name);
    }
    hosts.add(addr, names, h.open);
    Ok(())
}

/// The policy's `port_range` as TCP ports: `None` for `default` (Nessus's own list).
fn scanned_ports(range: &str) -> Result<Option<Vec<u16>>, String> {
    let range = range.trim();
    if range.eq_ignore_ascii_case("default") {
        return Ok(None);
    }
    if range.eq_ignore_ascii_case("all") {
        return Ok(Some((1..=u16::MAX).collect()));
    }
    if !range.contains(':') {
        return parse_port_ranges(range).map(Some);
    }
    // `T:` and `U:` prefixes, each in force up to the next.
    let mut tcp = true;
    let mut ranges = Vec::new();
    for item in range.split(',') {
        let mut item = item.trim();
        if let Some((prefix, rest)) = item.split_once(':') {
            match prefix.trim().to_ascii_uppercase().as_str() {
                "T" => tcp = true,
                "U" => tcp = false,
                _ => return Err(format!("unknown protocol prefix `{}:`", shown(prefix, 10))),
            }
            item = rest;
        }
        if let Some(range) = port_range_item(item)?
            && tcp
        {
            ranges.push(range);
        }
    }
    Ok(Some(expand_ranges(ranges)))
}
