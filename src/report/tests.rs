//! Report tests: snapshots of every format over a simulated scan (alarms and parameter changes
//! included), hostile banners and names, the nmap port-listing rule, XML structure after the
//! DTD, CSV quoting, partial results, and no panic on any state.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::demo::{DemoPlan, suggested_params};
use crate::engine::{self, EngineOptions};
use crate::event::{AfterConnect, FilterReason, ProbeOutcome, ProbeRecord, ScanEvent, ScanParams};
use crate::monitor::Monitor;
use crate::sim::{Simulated, parse_scenario};

/// A small network with a bit of everything a report shows: banners (one hostile, one that a
/// spreadsheet would read as a formula), closed and filtered ports, a host that bans the
/// scanner, a down host, a firewalled host.
const SCENARIO: &str = r#"
name = "report"
description = "hosts, banners, a shun and a firewall for the report tests"
ports = "1-200"
timeout = "1s"
concurrency = 40
rate = 150

[[hosts]]
addr = "127.0.3.10"
open = "22,25,80"
filtered = "135-139"
latency = { median = "1ms", p99 = "6ms" }
banners = { 22 = "\u001b]0;pwned\u0007SSH-2.0-OpenSSH_9.6, \"quoted\" <b>&amp;</b>\r\n", 25 = "=HYPERLINK(\"http://x\")\r\n" }

[[hosts]]
addr = "127.0.3.11"
open = "22,80"
latency = { median = "2ms", p99 = "8ms" }

[[hosts.behaviours]]
kind = "shun"
syns = 30
window = "5s"
ban = "30s"

[[hosts]]
addr = "127.0.3.12"
down = true

[[hosts]]
addr = "127.0.3.13"
open = "23"
filtered = "1-22,24-200"
latency = { median = "3ms", p99 = "9ms" }
"#;

const STARTED_US: i64 = 1_700_000_000_000_000;

/// Runs `scenario` in lockstep under the paused clock, changing the pace after the 100th and
/// the 300th final outcome as a user at the keyboard would; stops after `stop_after` outcomes
/// when given.
async fn run_scenario(
    text: &str,
    seed: u64,
    change_params: bool,
    stop_after: Option<u64>,
) -> (ScanState, ReportMeta) {
    let scenario = parse_scenario(text, "test").unwrap();
    let plan = DemoPlan::new(scenario.clone()).unwrap();
    let mut running = engine::start(
        Simulated::new(&plan.scenario, seed),
        plan.scan_plan(seed),
        suggested_params(&scenario),
        EngineOptions::default(),
    );
    let mut monitor = Monitor::new();
    let mut outcomes = 0u64;
    while let Some(event) = running.events.recv().await {
        monitor.apply(&event);
        for request in monitor.take_sentinel_requests() {
            running.control.sentinel(request);
        }
        if matches!(event, ScanEvent::Probe(_)) {
            outcomes += 1;
            if change_params && outcomes == 100 {
                running.control.set_pace(20, Some(75.0));
            }
            if change_params && outcomes == 300 {
                running.control.set_timeout(Duration::from_millis(1500));
            }
            if stop_after == Some(outcomes) {
                running.control.stop();
            }
        }
    }
    let mut meta = ReportMeta::new(time::from_unix_us(STARTED_US), ScanKind::Simulated);
    meta.args = [
        "scanwatch",
        "demo",
        "--scenario-file",
        "report test.toml",
        "--seed",
    ]
    .into_iter()
    .map(String::from)
    .chain(std::iter::once(seed.to_string()))
    .collect();
    meta.targets = scenario.targets();
    meta.ports = plan.ports.clone();
    meta.version = "0.1.0".into();
    (monitor.into_state(), meta)
}

fn render(format: ReportFormat, state: &ScanState, meta: &ReportMeta) -> String {
    let mut out = Vec::new();
    write_report(format, &ReportInput::new(state, meta), &mut out).unwrap();
    String::from_utf8(out).expect("reports are UTF-8")
}

// ---- a small XML tree, read back with quick-xml ----

#[derive(Debug, Clone)]
struct Element {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn attr(&self, name: &str) -> &str {
        self.attrs
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("<{}> has no {name}: {:?}", self.name, self.attrs))
    }

    fn all(&self, name: &str) -> Vec<&Element> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    fn one(&self, name: &str) -> &Element {
        let found = self.all(name);
        assert_eq!(found.len(), 1, "<{}> needs one <{name}>", self.name);
        found[0]
    }
}

/// Parses a whole document (well-formedness is checked by quick-xml: nesting, entities,
/// attribute syntax); returns the root element.
fn parse_xml(xml: &str) -> Element {
    use quick_xml::events::{BytesStart, Event};

    fn element(start: &BytesStart<'_>) -> Element {
        let mut attrs = BTreeMap::new();
        for a in start.attributes() {
            let a = a.expect("well-formed attribute");
            let key = a.key.as_ref().to_string();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                .expect("valid escapes")
                .into_owned();
            assert!(attrs.insert(key, value).is_none(), "duplicate attribute");
        }
        Element {
            name: start.name().as_ref().to_string(),
            attrs,
            children: Vec::new(),
            text: String::new(),
        }
    }

    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(s) => stack.push(element(&s)),
            Event::Empty(s) => {
                let e = element(&s);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None => root = Some(e),
                }
            }
            Event::End(_) => {
                let e = stack.pop().expect("balanced");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None => {
                        assert!(root.is_none(), "one root element");
                        root = Some(e);
                    }
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content().into_owned();
                if let Some(e) = stack.last_mut() {
                    e.text.push_str(&text);
                } else {
                    assert!(text.trim().is_empty(), "text outside the root: {text:?}");
                }
            }
            Event::GeneralRef(r) => {
                let name = r.xml10_content().into_owned();
                let text = quick_xml::escape::unescape(&format!("&{name};"))
                    .expect("known entity")
                    .into_owned();
                if let Some(e) = stack.last_mut() {
                    e.text.push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements");
    root.expect("a root element")
}

/// The element order and required attributes of nmap.dtd, for the elements a report uses.
fn check_nmap_dtd(root: &Element) {
    assert_eq!(root.name, "nmaprun");
    for a in ["scanner", "args", "start", "startstr", "version"] {
        root.attr(a);
    }
    assert_eq!(root.attr("xmloutputversion"), "1.05");
    assert!(root.attr("start").parse::<i64>().is_ok());
    // (scaninfo*, verbose, debugging, (host | output ...)*, runstats)
    let names: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
    let mut i = 0;
    while names.get(i) == Some(&"scaninfo") {
        let s = &root.children[i];
        assert_eq!(s.attr("type"), "connect");
        assert_eq!(s.attr("protocol"), "tcp");
        assert!(s.attr("numservices").parse::<u64>().is_ok());
        s.attr("services");
        i += 1;
    }
    assert_eq!(names.get(i), Some(&"verbose"), "{names:?}");
    assert_eq!(names.get(i + 1), Some(&"debugging"), "{names:?}");
    i += 2;
    while i + 1 < names.len() {
        assert!(matches!(names[i], "host" | "output"), "{names:?}");
        i += 1;
    }
    assert_eq!(names.last(), Some(&"runstats"), "{names:?}");
    for host in root.all("host") {
        check_host(host);
    }
    let runstats = root.one("runstats");
    let rs: Vec<&str> = runstats.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(rs, ["finished", "hosts"]);
    let finished = runstats.one("finished");
    assert!(finished.attr("time").parse::<i64>().is_ok());
    assert!(finished.attr("elapsed").parse::<f64>().is_ok());
    assert!(matches!(finished.attr("exit"), "success" | "error"));
    runstats.one("hosts").attr("total");
}

fn check_host(host: &Element) {
    // (status, address, (address | hostnames | ports ...)*, times?)
    let names: Vec<&str> = host.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"status"), "{names:?}");
    assert_eq!(names.get(1), Some(&"address"), "{names:?}");
    for (i, n) in names.iter().enumerate().skip(2) {
        assert!(
            matches!(*n, "address" | "hostnames" | "ports")
                || (*n == "times" && i + 1 == names.len()),
            "{names:?}"
        );
    }
    let status = host.one("status");
    assert!(matches!(
        status.attr("state"),
        "up" | "down" | "unknown" | "skipped"
    ));
    status.attr("reason");
    status.attr("reason_ttl");
    let address = &host.children[1];
    let addr: IpAddr = address.attr("addr").parse().unwrap();
    assert_eq!(
        address.attr("addrtype"),
        if addr.is_ipv4() { "ipv4" } else { "ipv6" }
    );
    for hostname in host.one("hostnames").children.iter() {
        assert_eq!(hostname.name, "hostname");
        assert!(matches!(hostname.attr("type"), "user" | "PTR"));
    }
    if let Some(times) = host.all("times").first() {
        for a in ["srtt", "rttvar", "to"] {
            assert!(times.attr(a).parse::<u64>().is_ok());
        }
    }
    let ports = host.one("ports");
    // (extraports*, port*)
    let mut seen_port = false;
    let mut last_port = None;
    for child in &ports.children {
        match child.name.as_str() {
            "extraports" => {
                assert!(!seen_port, "extraports after a port");
                assert!(matches!(child.attr("state"), "closed" | "filtered"));
                let count: u64 = child.attr("count").parse().unwrap();
                let mut sum = 0;
                for r in &child.children {
                    assert_eq!(r.name, "extrareasons");
                    r.attr("reason");
                    sum += r.attr("count").parse::<u64>().unwrap();
                    assert_eq!(r.attr("proto"), "tcp");
                }
                assert_eq!(sum, count, "extrareasons add up");
                assert!(count > 0);
            }
            "port" => {
                seen_port = true;
                assert_eq!(child.attr("protocol"), "tcp");
                let id: u16 = child.attr("portid").parse().unwrap();
                assert!(last_port < Some(id), "ports in order, once each");
                last_port = Some(id);
                let inner: Vec<&str> = child.children.iter().map(|c| c.name.as_str()).collect();
                assert!(
                    inner == ["state"] || inner == ["state", "service"],
                    "{inner:?}"
                );
                let state = child.one("state");
                assert!(matches!(
                    state.attr("state"),
                    "open" | "closed" | "filtered"
                ));
                state.attr("reason");
                assert_eq!(state.attr("reason_ttl"), "0");
                if let Some(service) = child.all("service").first() {
                    service.attr("name");
                    assert_eq!(service.attr("method"), "table");
                    assert_eq!(service.attr("conf"), "3");
                }
            }
            other => panic!("<{other}> in <ports>"),
        }
    }
}

// ---- CSV read back ----

/// Parses RFC 4180 text with CRLF line ends into rows of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' => panic!("a quote inside an unquoted field: {text}"),
            ',' => {
                row.push(std::mem::take(&mut field));
                at_start = true;
            }
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CRLF line ends");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                at_start = true;
            }
            '\n' => panic!("a bare LF: {text:?}"),
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    assert!(!quoted, "unterminated quote");
    assert!(
        field.is_empty() && row.is_empty(),
        "the last row ends in CRLF"
    );
    rows
}

// ---- snapshots of every format ----

#[tokio::test(start_paused = true)]
async fn every_format_of_a_simulated_scan_with_alarms_and_parameter_changes() {
    let (state, meta) = run_scenario(SCENARIO, 1, true, None).await;
    assert!(!state.alarms.is_empty(), "the scenario raises an alarm");
    assert!(
        state.param_changes.len() >= 2,
        "the pace changed: {:?}",
        state.param_changes
    );
    for format in ReportFormat::ALL {
        let report = render(format, &state, &meta);
        assert!(
            !report.contains('\u{1b}') && !report.contains('\u{7}'),
            "{format}: an escape passed through"
        );
        insta::assert_snapshot!(format!("scenario_{}", format.as_str()), report);
    }
}

#[tokio::test(start_paused = true)]
async fn the_text_report_has_every_section() {
    let (state, meta) = run_scenario(SCENARIO, 1, true, None).await;
    let text = render(ReportFormat::Text, &state, &meta);
    for needle in [
        "scanwatch 0.1.0 report: TCP connect scan of the simulated network",
        "Started 2023-11-14T22:13:20Z",
        "Command: scanwatch demo --scenario-file 'report test.toml' --seed 1",
        "Ports: 1-200 (200 per host)",
        "Scan report for 127.0.3.10",
        "Interference alarms (",
        "SHUN 127.0.3.11",
        "evidence: ",
        "Parameter changes (",
        "concurrency 40 → 20, rate 150/s → 75/s",
        "timeout 1s → 1500ms",
        "Connect latency of answered probes:",
        "all hosts",
        "Scan done:",
    ] {
        assert!(text.contains(needle), "`{needle}` not in:\n{text}");
    }
    assert!(!text.contains("PARTIAL"), "{text}");
    assert!(!text.contains("pwned"), "{text}");
}

// ---- json ----

#[tokio::test(start_paused = true)]
async fn json_follows_its_schema_and_carries_everything() {
    let (state, meta) = run_scenario(SCENARIO, 1, true, None).await;
    let doc: serde_json::Value =
        serde_json::from_str(&render(ReportFormat::Json, &state, &meta)).unwrap();
    let schema: serde_json::Value = serde_json::from_str(json::SCHEMA_V1).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(doc["format"], "scanwatch-report");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["partial"], false);
    assert_eq!(doc["scan"]["type"], "simulated");
    assert_eq!(doc["scan"]["ports"], "1-200");
    assert_eq!(doc["scan"]["started"], "2023-11-14T22:13:20.000Z");
    assert_eq!(doc["scan"]["finish"], "completed");
    assert_eq!(doc["alarms"].as_array().unwrap().len(), state.alarms.len());
    let changes = doc["params"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), state.param_changes.len());
    assert_eq!(changes[0]["changes"][0]["param"], "concurrency");
    assert_eq!(changes[0]["changes"][0]["from"], 40);
    assert_eq!(changes[0]["changes"][0]["to"], 20);
    let hosts = doc["hosts"].as_array().unwrap();
    let addrs: Vec<&str> = hosts.iter().map(|h| h["addr"].as_str().unwrap()).collect();
    assert_eq!(
        addrs,
        ["127.0.3.10", "127.0.3.11", "127.0.3.12", "127.0.3.13"],
        "up and silent hosts in address order"
    );
    assert_eq!(hosts[2]["status"], "silent");
    assert_eq!(hosts[2]["filtered"], 200);
    let ssh = &hosts[0]["open"][0];
    assert_eq!(ssh["port"], 22);
    assert_eq!(ssh["after_connect"], "banner");
    let shown = ssh["banner"].as_str().unwrap();
    assert!(
        shown.starts_with("SSH-2.0-OpenSSH_9.6, \"quoted\""),
        "{shown}"
    );
    assert!(!shown.contains('\u{1b}'));
    assert!(ssh["banner_hex"].as_str().unwrap().starts_with("1b5d303b"));
    assert_eq!(doc["totals"]["open"], state.totals.open);
}

// ---- csv ----

#[tokio::test(start_paused = true)]
async fn csv_rows_quote_and_defuse_what_the_network_sent() {
    let (state, meta) = run_scenario(SCENARIO, 1, false, None).await;
    let text = render(ReportFormat::Csv, &state, &meta);
    let rows = parse_csv(&text);
    assert_eq!(rows[0], csv::HEADER);
    assert!(
        rows.iter().all(|r| r.len() == csv::HEADER.len()),
        "{rows:?}"
    );
    let open: Vec<&Vec<String>> = rows.iter().filter(|r| r[3] == "open").collect();
    assert_eq!(open.len() as u64, state.totals.open);
    let ssh = open
        .iter()
        .find(|r| r[0] == "127.0.3.10" && r[2] == "22")
        .unwrap();
    assert!(
        ssh[11].starts_with("SSH-2.0-OpenSSH_9.6, \"quoted\" <b>&amp;</b>"),
        "{ssh:?}"
    );
    assert!(
        text.contains(",\"SSH-2.0-OpenSSH_9.6, \"\"quoted\"\" <b>&amp;</b>\"\r\n"),
        "{text}"
    );
    let smtp = open
        .iter()
        .find(|r| r[0] == "127.0.3.10" && r[2] == "25")
        .unwrap();
    assert!(smtp[11].starts_with("'=HYPERLINK"), "{smtp:?}");
    // Closed and filtered ports are counted per host; the down host has one row.
    let closed: u64 = rows
        .iter()
        .filter(|r| r[3] == "closed")
        .map(|r| r[5].parse::<u64>().unwrap())
        .sum();
    assert_eq!(closed, state.totals.closed);
    let down: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "127.0.3.12").collect();
    assert_eq!(down.len(), 1);
    assert_eq!(down[0][3..6], ["filtered", "no-response", "200"]);
    assert!(rows.iter().all(|r| r[3] != "incomplete"), "a full scan");
}

#[test]
fn csv_quoting_follows_rfc_4180() {
    assert_eq!(csv::quote("plain"), "plain");
    assert_eq!(csv::quote(""), "");
    assert_eq!(csv::quote("a,b"), "\"a,b\"");
    assert_eq!(csv::quote("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv::quote("two\r\nlines"), "\"two\r\nlines\"");
    assert_eq!(csv::quote(" padded"), "\" padded\"");
}

// ---- nmap-xml ----

#[tokio::test(start_paused = true)]
async fn nmap_xml_is_well_formed_and_follows_the_dtd() {
    let (state, meta) = run_scenario(SCENARIO, 1, true, None).await;
    let xml = render(ReportFormat::NmapXml, &state, &meta);
    let root = parse_xml(&xml);
    check_nmap_dtd(&root);
    assert_eq!(root.attr("scanner"), "scanwatch");
    assert_eq!(root.attr("start"), "1700000000");
    assert_eq!(root.attr("startstr"), "Tue Nov 14 22:13:20 2023");
    assert_eq!(
        root.attr("args"),
        "scanwatch demo --scenario-file 'report test.toml' --seed 1"
    );
    let scaninfo = root.one("scaninfo");
    assert_eq!(scaninfo.attr("services"), "1-200");
    assert_eq!(scaninfo.attr("numservices"), "200");
    let hosts = root.all("host");
    assert_eq!(hosts.len(), 4, "three that answered and the down one");
    for host in &hosts {
        assert_eq!(host.one("status").attr("reason"), "user-set");
    }
    // 127.0.3.10: 3 open, 5 filtered, 192 closed: both non-open states summed up (the filtered
    // ones cannot be told from the closed ones by number).
    let web = hosts[0];
    let ports = web.one("ports");
    let extra: Vec<(&str, &str)> = ports
        .all("extraports")
        .iter()
        .map(|e| (e.attr("state"), e.attr("count")))
        .collect();
    assert_eq!(extra, [("closed", "192"), ("filtered", "5")]);
    let open: Vec<&str> = ports.all("port").iter().map(|p| p.attr("portid")).collect();
    assert_eq!(open, ["22", "25", "80"]);
    assert_eq!(
        ports.all("port")[0].one("service").attr("name"),
        "ssh",
        "service names from nmap's table"
    );
    // 127.0.3.13: one open, every other port filtered: the filtered ones are known by number.
    let firewalled = hosts[3].one("ports");
    let extra = firewalled.one("extraports");
    assert_eq!(extra.attr("state"), "filtered");
    assert_eq!(extra.attr("count"), "199");
    assert_eq!(extra.one("extrareasons").attr("ports"), "1-22,24-200");
    // The down host: up as with -Pn, every port filtered.
    let down = hosts[2];
    assert_eq!(down.one("address").attr("addr"), "127.0.3.12");
    assert_eq!(down.one("ports").one("extraports").attr("count"), "200");
    // Alarms and parameter changes in the output element; banners nowhere.
    let output = root.one("output");
    assert!(output.text.contains("ALARM at "), "{}", output.text);
    assert!(output.text.contains("SHUN 127.0.3.11"), "{}", output.text);
    assert!(
        output.text.contains("concurrency 40 -> 20"),
        "{}",
        output.text
    );
    assert!(!xml.contains("OpenSSH"), "banners are left out");
    let finished = root.one("runstats").one("finished");
    assert_eq!(finished.attr("exit"), "success");
    assert_eq!(root.one("runstats").one("hosts").attr("up"), "4");
}

/// Open ports, then `count` closed ports and `filtered` timeouts, on 127.0.0.1 over `ports`.
fn state_with(open: &[u16], closed: &[u16], filtered: &[u16]) -> ScanState {
    let mut m = Monitor::without_detector();
    let mut seq = 0;
    let mut probe = |port: u16, outcome: ProbeOutcome| {
        seq += 1;
        ScanEvent::Probe(ProbeRecord {
            host: 0,
            addr: [127, 0, 0, 1].into(),
            port,
            outcome,
            connect_us: 250,
            attempt: 1,
            seq,
            t_us: seq * 1000,
            after_connect: AfterConnect::NotRead,
        })
    };
    let mut events = Vec::new();
    for &p in open {
        events.push(probe(p, ProbeOutcome::Open));
    }
    for &p in closed {
        events.push(probe(p, ProbeOutcome::Closed));
    }
    for &p in filtered {
        events.push(probe(p, ProbeOutcome::Filtered(FilterReason::NoResponse)));
    }
    events.push(ScanEvent::Finished {
        reason: FinishReason::Completed,
        t_us: 1_000_000,
    });
    for e in &events {
        m.apply(e);
    }
    m.into_state()
}

fn meta_for(ports: std::ops::RangeInclusive<u16>) -> ReportMeta {
    let mut meta = ReportMeta::new(time::from_unix_us(STARTED_US), ScanKind::Connect);
    meta.ports = ports.collect();
    meta
}

fn xml_ports(state: &ScanState, meta: &ReportMeta) -> Element {
    let root = parse_xml(&render(ReportFormat::NmapXml, state, meta));
    check_nmap_dtd(&root);
    root.one("host").one("ports").clone()
}

#[test]
fn nmap_xml_lists_a_state_with_25_ports_or_fewer_port_by_port_as_nmap_does() {
    // 20000-20024: 2 open, 23 closed: every port listed, closed ones with their service.
    let closed: Vec<u16> = (20002..=20024).collect();
    let state = state_with(&[20000, 20001], &closed, &[]);
    let ports = xml_ports(&state, &meta_for(20000..=20024));
    assert!(ports.all("extraports").is_empty());
    let listed = ports.all("port");
    assert_eq!(listed.len(), 25);
    assert_eq!(listed[2].attr("portid"), "20002");
    assert_eq!(listed[2].one("state").attr("state"), "closed");
    assert_eq!(listed[2].one("state").attr("reason"), "conn-refused");
    assert_eq!(listed[2].one("service").attr("name"), "commtact-http");
    // 26 closed: summed up, with the ports they are.
    let closed: Vec<u16> = (20001..=20026).collect();
    let state = state_with(&[20000], &closed, &[]);
    let ports = xml_ports(&state, &meta_for(20000..=20026));
    let extra = ports.one("extraports");
    assert_eq!(extra.attr("count"), "26");
    assert_eq!(extra.one("extrareasons").attr("ports"), "20001-20026");
    assert_eq!(ports.all("port").len(), 1);
    // Filtered only: listed with no-response.
    let state = state_with(&[22], &[], &[23, 24]);
    let ports = xml_ports(&state, &meta_for(22..=24));
    let states: Vec<(&str, &str)> = ports
        .all("port")
        .iter()
        .map(|p| (p.attr("portid"), p.one("state").attr("reason")))
        .collect();
    assert_eq!(
        states,
        [
            ("22", "syn-ack"),
            ("23", "no-response"),
            ("24", "no-response")
        ]
    );
    // Closed and filtered mixed: neither can be told by number, so both are summed up.
    let state = state_with(&[22], &[23], &[24]);
    let ports = xml_ports(&state, &meta_for(22..=24));
    assert_eq!(ports.all("extraports").len(), 2);
    assert!(
        ports
            .all("extraports")
            .iter()
            .all(|e| !e.one("extrareasons").attrs.contains_key("ports"))
    );
    // Without the port list nothing is listed by number.
    let state = state_with(&[22], &[23], &[]);
    let ports = xml_ports(
        &state,
        &ReportMeta::new(time::from_unix_us(0), ScanKind::Connect),
    );
    assert_eq!(ports.one("extraports").attr("state"), "closed");
}

#[test]
fn nmap_xml_service_names_tell_unknown_from_unlisted() {
    let state = state_with(&[20000, 20031, 20077], &[], &[]);
    let ports = xml_ports(&state, &meta_for(20000..=20000));
    let services: Vec<Option<&str>> = ports
        .all("port")
        .iter()
        .map(|p| p.all("service").first().map(|s| s.attr("name")))
        .collect();
    assert_eq!(services, [Some("dnp"), Some("unknown"), None]);
}

// ---- hostile input ----

fn hostile_state() -> ScanState {
    let mut m = Monitor::new();
    let name: Arc<str> = Arc::from("evil\u{1b}[2J\"<host>&'\u{0}\n--x-");
    m.apply(&ScanEvent::HostStarted {
        host: 0,
        addr: "::1".parse().unwrap(),
        name: Some(name),
        t_us: 0,
    });
    let banners: [&[u8]; 5] = [
        b"\x1b]0;pwned\x07<script>alert(1)</script>\r\n",
        b"]]><!-- --> &amp; \"'\x00\x01\x7f\x9b31m",
        b"=1+2,\"x\"\r\nsecond line",
        b"\xff\xfe\xc3\x28 not utf-8 \xe2\x80\xae reversed",
        b"-- -->",
    ];
    for (i, banner) in banners.iter().enumerate() {
        m.apply(&ScanEvent::Probe(ProbeRecord {
            host: 0,
            addr: "::1".parse().unwrap(),
            port: 8000 + i as u16,
            outcome: ProbeOutcome::Open,
            connect_us: 100,
            attempt: 1,
            seq: i as u64,
            t_us: 1000 * i as u64,
            after_connect: AfterConnect::Banner(Arc::from(*banner)),
        }));
    }
    m.into_state()
}

#[test]
fn hostile_banners_and_names_stay_inert_in_every_format() {
    let state = hostile_state();
    let mut meta = ReportMeta::new(time::from_unix_us(STARTED_US), ScanKind::Connect);
    meta.args = vec![
        "scanwatch".into(),
        "scan".into(),
        "--\u{1b}]0;x\u{7}".into(),
    ];
    meta.targets = vec!["evil\u{1b}[2J".into()];
    meta.version = "0.1.0 --> <x>".into();
    for format in ReportFormat::ALL {
        let report = render(format, &state, &meta);
        for bad in ['\u{1b}', '\u{7}', '\u{0}', '\u{9b}', '\u{7f}'] {
            assert!(
                !report.contains(bad),
                "{format}: {bad:?} passed through:\n{report}"
            );
        }
    }
    let xml = render(ReportFormat::NmapXml, &state, &meta);
    let root = parse_xml(&xml);
    check_nmap_dtd(&root);
    let host = root.one("host");
    assert_eq!(host.one("address").attr("addrtype"), "ipv6");
    let name = host.one("hostnames").one("hostname").attr("name");
    assert!(name.starts_with("evil\u{fffd}[2J\"<host>&'"), "{name:?}");
    assert!(name.contains('\n'), "line breaks survive as references");
    let csv_text = render(ReportFormat::Csv, &state, &meta);
    let rows = parse_csv(&csv_text);
    assert!(rows.iter().all(|r| r.len() == csv::HEADER.len()));
    let formula = rows.iter().find(|r| r[2] == "8002").unwrap();
    assert_eq!(formula[11], "'=1+2,\"x\"\\r\\nsecond line");
    let json_doc: serde_json::Value =
        serde_json::from_str(&render(ReportFormat::Json, &state, &meta)).unwrap();
    assert_eq!(json_doc["hosts"][0]["addr"], "::1");
}

#[test]
fn xml_escaping_covers_markup_quotes_and_controls() {
    assert_eq!(
        nmap_xml::attr("a&b<c>d\"e'f\tg\nh\ri\u{0}j\u{1b}"),
        "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i\u{fffd}j\u{fffd}"
    );
    assert_eq!(
        nmap_xml::text("]]> & <x>\n\u{7}\u{ffff}"),
        "]]&gt; &amp; &lt;x&gt;\n\u{fffd}\u{fffd}"
    );
}

// ---- partial results ----

#[tokio::test(start_paused = true)]
async fn a_stopped_scan_gives_a_partial_report_that_says_so() {
    let (state, meta) = run_scenario(SCENARIO, 1, false, Some(150)).await;
    assert!(matches!(state.finished, Some((FinishReason::Stopped, _))));
    let input = ReportInput::new(&state, &meta);
    assert!(input.is_partial());
    let text = render(ReportFormat::Text, &state, &meta);
    assert!(
        text.contains("PARTIAL RESULTS: the scan was stopped before it finished ("),
        "{text}"
    );
    assert!(text.contains("of 800 probes done)"), "{text}");
    let doc: serde_json::Value =
        serde_json::from_str(&render(ReportFormat::Json, &state, &meta)).unwrap();
    assert_eq!(doc["partial"], true);
    assert_eq!(doc["scan"]["finish"], "stopped");
    assert!(doc["partial_note"].as_str().unwrap().contains("stopped"));
    let rows = parse_csv(&render(ReportFormat::Csv, &state, &meta));
    let last = rows.last().unwrap();
    assert_eq!(last[0], "");
    assert_eq!(
        last[3..6],
        ["incomplete", "stopped", &state.probes_done().to_string()]
    );
    let root = parse_xml(&render(ReportFormat::NmapXml, &state, &meta));
    check_nmap_dtd(&root);
    let finished = root.one("runstats").one("finished");
    assert_eq!(finished.attr("exit"), "error");
    assert!(finished.attr("errormsg").contains("partial results"));
}

#[test]
fn an_empty_state_still_gives_every_format() {
    let state = ScanState::default();
    let meta = ReportMeta::new(time::from_unix_us(0), ScanKind::Connect);
    for format in ReportFormat::ALL {
        let report = render(format, &state, &meta);
        assert!(!report.is_empty(), "{format}");
    }
    check_nmap_dtd(&parse_xml(&render(ReportFormat::NmapXml, &state, &meta)));
    let doc: serde_json::Value =
        serde_json::from_str(&render(ReportFormat::Json, &state, &meta)).unwrap();
    assert_eq!(doc["partial"], true, "nothing says it finished");
}

// ---- the mixed scenario ----

#[tokio::test(start_paused = true)]
async fn mixed_seed_1_reports_its_alarms_and_unverified_ports() {
    let scenario = crate::sim::builtin("mixed").unwrap();
    let plan = DemoPlan::new(scenario.clone()).unwrap();
    let mut monitor = Monitor::new();
    crate::demo::run_lockstep(&plan, 1, suggested_params(&scenario), &mut monitor, |_| {}).await;
    let state = monitor.into_state();
    let mut meta = ReportMeta::new(time::from_unix_us(STARTED_US), ScanKind::Simulated);
    meta.ports = plan.ports.clone();
    meta.targets = scenario.targets();
    assert!(state.alarms.iter().any(|a| a.kind == AlarmKind::Deception));
    let doc: serde_json::Value =
        serde_json::from_str(&render(ReportFormat::Json, &state, &meta)).unwrap();
    assert_eq!(doc["alarms"].as_array().unwrap().len(), state.alarms.len());
    let honeypot = doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["addr"] == "127.0.9.14")
        .unwrap();
    assert_eq!(honeypot["open_unverified"], true);
    let rows = parse_csv(&render(ReportFormat::Csv, &state, &meta));
    let open_rows: Vec<&Vec<String>> = rows.iter().filter(|r| r[3] == "open").collect();
    assert_eq!(open_rows.len() as u64, state.totals.open);
    assert!(
        open_rows
            .iter()
            .filter(|r| r[0] == "127.0.9.14")
            .all(|r| r[10] == "yes")
    );
    assert!(
        open_rows
            .iter()
            .filter(|r| r[0] == "127.0.9.10")
            .all(|r| r[10] == "no")
    );
    let root = parse_xml(&render(ReportFormat::NmapXml, &state, &meta));
    check_nmap_dtd(&root);
    let text = render(ReportFormat::Text, &state, &meta);
    for alarm in &state.alarms {
        assert!(
            text.contains(&format!("{} {}", alarm.kind.as_str(), alarm.scope)),
            "{text}"
        );
    }
}

// ---- formats and helpers ----

#[test]
fn formats_by_name_and_by_file_extension() {
    for format in ReportFormat::ALL {
        assert_eq!(format.as_str().parse::<ReportFormat>(), Ok(format));
    }
    assert_eq!(
        "NMAP-XML".parse::<ReportFormat>(),
        Ok(ReportFormat::NmapXml)
    );
    let err = "xml".parse::<ReportFormat>().unwrap_err();
    assert!(err.contains("text, json, csv, nmap-xml"), "{err}");
    for (path, format) in [
        ("out.txt", ReportFormat::Text),
        ("out.JSON", ReportFormat::Json),
        ("dir.d/out.csv", ReportFormat::Csv),
        ("scan.xml", ReportFormat::NmapXml),
        ("report", ReportFormat::Text),
        ("report.md", ReportFormat::Text),
    ] {
        assert_eq!(ReportFormat::from_path(Path::new(path)), format, "{path}");
    }
}

#[test]
fn port_lists_compress_into_ranges() {
    assert_eq!(compress_ports(&[]), "");
    assert_eq!(compress_ports(&[80]), "80");
    assert_eq!(
        compress_ports(&[22, 80, 81, 82, 443, 21]),
        "21-22,80-82,443"
    );
    assert_eq!(compress_ports(&[65534, 65535, 0, 1]), "0-1,65534-65535");
    assert_eq!(compress_ports(&[5, 5, 6]), "5-6");
}

#[test]
fn parameter_changes_say_what_changed_from_what() {
    let initial = ScanParams {
        concurrency: 100,
        max_per_host: 10,
        timeout: Duration::from_secs(1),
        retries: 1,
        rate: None,
        paused: false,
    };
    let mut m = Monitor::without_detector();
    m.apply(&ScanEvent::Started {
        hosts: Some(1),
        ports_per_host: 1,
        probes: Some(1),
        params: initial,
        seed: 7,
    });
    let slower = ScanParams {
        rate: Some(12.5),
        paused: true,
        ..initial
    };
    m.apply(&ScanEvent::ParamsChanged {
        params: slower,
        t_us: 2_000_000,
    });
    m.apply(&ScanEvent::ParamsChanged {
        params: slower,
        t_us: 3_000_000,
    });
    let changes = param_changes(m.state());
    assert_eq!(changes.len(), 2);
    let what: Vec<(String, String, String)> = changes[0]
        .changes
        .iter()
        .map(|c| (c.label().to_string(), c.from.text(), c.to.text()))
        .collect();
    assert_eq!(
        what,
        [
            ("rate".into(), "unlimited".into(), "12.5/s".into()),
            ("paused".into(), "running".into(), "paused".into())
        ]
    );
    assert!(changes[1].changes.is_empty());
}

#[test]
fn scopes_cover_their_addresses() {
    let a: IpAddr = "127.0.0.5".parse().unwrap();
    let range = Scope::Range {
        first: "127.0.0.1".parse().unwrap(),
        last: "127.0.0.9".parse().unwrap(),
    };
    assert!(scope_covers(&range, a));
    assert!(!scope_covers(&range, "127.0.0.10".parse().unwrap()));
    assert!(!scope_covers(&range, "::1".parse().unwrap()));
    assert!(scope_covers(&Scope::Scan, a));
    assert!(scope_covers(&Scope::Host { addr: a }, a));
}

// ---- no panic on any state ----

fn arb_outcome() -> impl Strategy<Value = ProbeOutcome> {
    prop_oneof![
        Just(ProbeOutcome::Open),
        Just(ProbeOutcome::Closed),
        Just(ProbeOutcome::Filtered(FilterReason::NoResponse)),
        Just(ProbeOutcome::Filtered(FilterReason::AdminProhibited)),
        Just(ProbeOutcome::LocalError(
            crate::event::LocalErrorKind::FdLimit
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_state_gives_well_formed_reports(
        probes in proptest::collection::vec(
            (0u32..4, any::<u16>(), arb_outcome(), any::<u64>(), proptest::collection::vec(any::<u8>(), 0..40)),
            0..60,
        ),
        ports in proptest::collection::vec(any::<u16>(), 0..30),
        done in any::<bool>(),
        name in ".{0,20}",
    ) {
        let mut m = Monitor::new();
        for host in 0..4u32 {
            m.apply(&ScanEvent::HostStarted {
                host,
                addr: if host == 3 { "::1".parse().unwrap() } else { IpAddr::from([127, 0, 0, host as u8 + 1]) },
                name: (host == 0).then(|| Arc::from(name.as_str())),
                t_us: 0,
            });
        }
        for (seq, (host, port, outcome, t, banner)) in probes.into_iter().enumerate() {
            m.apply(&ScanEvent::Probe(ProbeRecord {
                host,
                addr: if host == 3 { "::1".parse().unwrap() } else { IpAddr::from([127, 0, 0, host as u8 + 1]) },
                port,
                outcome,
                connect_us: t % 10_000_000_000,
                attempt: 1,
                seq: seq as u64,
                t_us: t % 100_000_000_000,
                after_connect: if banner.is_empty() { AfterConnect::Silent } else { AfterConnect::Banner(Arc::from(banner)) },
            }));
        }
        if done {
            for host in 0..4u32 {
                m.apply(&ScanEvent::HostDone { host, t_us: u64::MAX / 2 });
            }
            m.apply(&ScanEvent::Finished { reason: FinishReason::Completed, t_us: u64::MAX / 2 });
        }
        let state = m.into_state();
        let mut meta = ReportMeta::new(time::from_unix_us(i64::MAX / 2), ScanKind::Connect);
        meta.ports = ports;
        meta.args = vec![name.clone()];
        for format in ReportFormat::ALL {
            let report = render(format, &state, &meta);
            prop_assert!(!report.contains('\u{1b}'), "an escape in {}", format);
        }
        check_nmap_dtd(&parse_xml(&render(ReportFormat::NmapXml, &state, &meta)));
        let rows = parse_csv(&render(ReportFormat::Csv, &state, &meta));
        prop_assert!(rows.iter().all(|r| r.len() == csv::HEADER.len()));
        let _: serde_json::Value = serde_json::from_str(&render(ReportFormat::Json, &state, &meta)).unwrap();
    }
}

// ---- the report file ----

#[test]
fn an_existing_report_file_is_replaced_only_when_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.txt");
    let long = "an older, longer report\n".repeat(1000);
    std::fs::write(&path, &long).unwrap();
    // Opened before the scan: the old report is still whole.
    let file = ReportFile::create(&path, None).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), long);
    // Given up on (the run was refused): left as it was.
    file.discard();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), long);
    // Written: replaced, nothing of the old one left at its end.
    let state = ScanState::default();
    let meta = meta_for(1..=2);
    ReportFile::create(&path, None)
        .unwrap()
        .write(&ReportInput::new(&state, &meta))
        .unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, render(ReportFormat::Text, &state, &meta));
}

#[test]
fn a_report_file_given_up_on_is_removed_when_it_was_new() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.csv");
    let file = ReportFile::create(&path, None).unwrap();
    assert_eq!(file.format(), ReportFormat::Csv);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    file.discard();
    assert!(!path.exists());
    // A directory, or a missing parent, is an error naming the path.
    let e = ReportFile::create(dir.path(), None).unwrap_err();
    assert!(e.contains(&dir.path().display().to_string()), "{e}");
    let missing = dir.path().join("no/such/dir.txt");
    let e = ReportFile::create(&missing, None).unwrap_err();
    assert!(e.contains("no/such/dir.txt"), "{e}");
}

#[test]
fn a_report_can_go_to_a_device() {
    let file = ReportFile::create(std::path::Path::new("/dev/null"), None).unwrap();
    let state = ScanState::default();
    file.write(&ReportInput::new(&state, &meta_for(1..=2)))
        .unwrap();
    assert!(std::path::Path::new("/dev/null").exists());
}
