//! The baseline readers on hand-written files of every format: what they keep, what they note,
//! and the errors (with line and column for XML) for what they refuse; cut files at every
//! offset; arbitrary and mutated input never panics.

use std::collections::BTreeSet;
use std::net::IpAddr;

use proptest::prelude::*;

use super::*;

fn addr(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn ports(list: &[u16]) -> BTreeSet<u16> {
    list.iter().copied().collect()
}

fn error(result: Result<Baseline, Failure>) -> String {
    match result {
        Ok(b) => panic!("expected an error, read {b:?}"),
        Err(e) => {
            assert_eq!(e.exit_code(), crate::error::EXIT_USAGE, "{e}");
            e.to_string()
        }
    }
}

fn has_note(b: &Baseline, needle: &str) -> bool {
    b.notes.iter().any(|n| n.contains(needle))
}

// ---- nmap XML ----

/// nmap -oX as nmap 7.9x writes it, with a host of each kind: IPv4 with a MAC address, host
/// names, open, closed, UDP and open|filtered ports and extraports; IPv6; down; up with
/// nothing open. A hosthint (not a host) and entities in attributes.
pub(super) const NMAP: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<?xml-stylesheet href="file:///usr/bin/../share/nmap/nmap.xsl" type="text/xsl"?>
<!-- Nmap 7.94 scan initiated Sat Nov 21 10:15:00 2026 as: nmap -sT -sU -p T:1-1024,8080,U:53 -oX base.xml 127.0.0.0/29 ::1 -->
<nmaprun scanner="nmap" args="nmap -sT -sU -p T:1-1024,8080,U:53 -oX base.xml &quot;127.0.0.0/29&quot; ::1" start="1795256100" startstr="Sat Nov 21 10:15:00 2026" version="7.94" xmloutputversion="1.05">
<scaninfo type="connect" protocol="tcp" numservices="1025" services="1-1024,8080"/>
<scaninfo type="udp" protocol="udp" numservices="1" services="53"/>
<verbose level="1"/>
<debugging level="0"/>
<hosthint><status state="up" reason="unknown-response" reason_ttl="0"/>
<address addr="127.0.0.9" addrtype="ipv4"/>
<hostnames>
</hostnames>
</hosthint>
<host starttime="1795256100" endtime="1795256102"><status state="up" reason="conn-refused" reason_ttl="0"/>
<address addr="127.0.0.1" addrtype="ipv4"/>
<address addr="02:42:AC:11:00:02" addrtype="mac" vendor="Unknown"/>
<hostnames>
<hostname name="localhost" type="user"/>
<hostname name="web&#45;1.example" type="PTR"/>
</hostnames>
<ports><extraports state="closed" count="1020">
<extrareasons reason="conn-refused" count="1020" proto="tcp" ports="1-21,23-79,81-442,444-1024"/>
</extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="ssh" method="table" conf="3"/></port>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="http" method="table" conf="3"/></port>
<port protocol="tcp" portid="443"><state state="closed" reason="conn-refused" reason_ttl="0"/><service name="https" method="table" conf="3"/></port>
<port protocol="tcp" portid="8080"><state state="open|filtered" reason="no-response" reason_ttl="0"/><service name="http-proxy" method="table" conf="3"/></port>
<port protocol="udp" portid="53"><state state="open" reason="udp-response" reason_ttl="0"/><service name="domain" method="table" conf="3"/></port>
</ports>
<times srtt="64" rttvar="27" to="100000"/>
</host>
<host starttime="1795256100" endtime="1795256103"><status state="up" reason="user-set" reason_ttl="0"/>
<address addr="::1" addrtype="ipv6"/>
<hostnames>
<hostname name="ip6-localhost" type="PTR"/>
</hostnames>
<ports><extraports state="closed" count="1024">
<extrareasons reason="conn-refused" count="1024" proto="tcp" ports="1-630,632-1024,8080"/>
</extraports>
<port protocol="tcp" portid="631"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="ipp" method="table" conf="3"/></port>
</ports>
<times srtt="51" rttvar="30" to="100000"/>
</host>
<host><status state="down" reason="no-response" reason_ttl="0"/>
<address addr="127.0.0.5" addrtype="ipv4"/>
</host>
<host starttime="1795256100" endtime="1795256110"><status state="up" reason="user-set" reason_ttl="0"/>
<address addr="127.0.0.2" addrtype="ipv4"/>
<hostnames>
</hostnames>
<ports><extraports state="filtered" count="1025">
<extrareasons reason="no-response" count="1025" proto="tcp" ports="1-1024,8080"/>
</extraports>
</ports>
<times srtt="0" rttvar="5000" to="100000"/>
</host>
<runstats><finished time="1795256110" timestr="Sat Nov 21 10:15:10 2026" summary="Nmap done at Sat Nov 21 10:15:10 2026; 9 IP addresses (3 hosts up) scanned in 10.00 seconds" elapsed="10.00" exit="success"/><hosts up="3" down="1" total="4"/>
</runstats>
</nmaprun>
"#;

#[test]
fn nmap_xml_hosts_names_open_ports_and_the_scanned_ports() {
    let b = parse_baseline(NMAP, "base.xml").unwrap();
    assert_eq!(b.format, BaselineFormat::NmapXml);
    let addrs: Vec<IpAddr> = b.hosts.iter().map(|h| h.addr).collect();
    assert_eq!(
        addrs,
        [
            addr("127.0.0.1"),
            addr("::1"),
            addr("127.0.0.5"),
            addr("127.0.0.2")
        ],
        "file order, the hosthint and the MAC address left out"
    );
    assert_eq!(b.hosts[0].names, ["localhost", "web-1.example"]);
    assert_eq!(b.hosts[0].open, ports(&[22, 80]), "not 443, 8080 or 53/udp");
    assert_eq!(b.hosts[1].names, ["ip6-localhost"]);
    assert_eq!(b.hosts[1].open, ports(&[631]));
    assert!(b.hosts[2].open.is_empty() && b.hosts[3].open.is_empty());
    let mut expected: Vec<u16> = (1..=1024).collect();
    expected.push(8080);
    assert_eq!(b.scanned_ports.as_deref(), Some(&expected[..]), "tcp only");
    assert!(
        has_note(&b, "1 host was down in the baseline scan (127.0.0.5)"),
        "{:?}",
        b.notes
    );
    assert!(has_note(&b, "1 TCP port is open|filtered"), "{:?}", b.notes);
    assert!(!has_note(&b, "ends"), "a whole file: {:?}", b.notes);
    assert_eq!(b.open_count(), 3);
    assert_eq!(b.host(addr("::1")).map(|h| h.open.len()), Some(1));
}

#[test]
fn nmap_xml_cut_at_every_offset_keeps_the_complete_hosts() {
    let full = parse_baseline(NMAP, "base.xml").unwrap();
    let root = NMAP.find("<nmaprun").unwrap()
        + NMAP[NMAP.find("<nmaprun").unwrap()..].find('>').unwrap()
        + 1;
    let end = NMAP.find("</nmaprun>").unwrap() + "</nmaprun>".len();
    let scaninfo = NMAP.find("services=\"1-1024,8080\"/>").unwrap() + 24;
    let host_ends: Vec<usize> = NMAP
        .match_indices("</host>")
        .map(|(i, _)| i + "</host>".len())
        .collect();
    for cut in 0..NMAP.len() {
        let text = &NMAP[..cut];
        let result = parse_baseline(text, "base.xml");
        if cut < root {
            // Before the root element: a prolog or less, refused or read as no host.
            if let Ok(b) = result {
                assert!(b.hosts.is_empty(), "cut at {cut}");
            }
            continue;
        }
        let b = result.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let complete = host_ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(b.hosts.len(), complete, "cut at {cut}");
        assert_eq!(b.hosts[..], full.hosts[..complete], "cut at {cut}");
        if cut >= scaninfo {
            assert_eq!(b.scanned_ports, full.scanned_ports, "cut at {cut}");
        } else {
            assert_eq!(b.scanned_ports, None, "cut at {cut}");
        }
        if cut < end {
            assert!(
                has_note(&b, "the XML ends at line") && has_note(&b, "before </nmaprun>"),
                "cut at {cut}: {:?}",
                b.notes
            );
            assert!(
                has_note(&b, &format!("read the {complete} host")),
                "cut at {cut}: {:?}",
                b.notes
            );
        } else {
            assert_eq!(
                b.notes, full.notes,
                "cut at {cut}: only the last line end is missing"
            );
        }
    }
}

#[test]
fn a_cut_host_is_named_by_its_line() {
    let cut = NMAP.find("<port protocol=\"tcp\" portid=\"631\"").unwrap() + 20;
    let b = parse_baseline(&NMAP[..cut], "cut.xml").unwrap();
    assert_eq!(b.hosts.len(), 1);
    let line = NMAP[..NMAP.find("<address addr=\"::1\"").unwrap()]
        .lines()
        .count();
    assert!(
        has_note(
            &b,
            &format!("the host started at line {line} was cut and is left out")
        ),
        "{:?}",
        b.notes
    );
}

/// The line and column reported for `bad`, a copy of NMAP with one edit.
fn nmap_error(from: &str, to: &str) -> String {
    assert!(NMAP.contains(from));
    error(parse_baseline(&NMAP.replacen(from, to, 1), "bad.xml"))
}

#[test]
fn malformed_nmap_xml_is_an_error_with_line_and_column() {
    // The end tag of <ports> is missing: </host> closes the wrong element.
    let e = nmap_error("</ports>\n<times srtt=\"51\"", "\n<times srtt=\"51\"");
    assert!(e.starts_with("bad.xml:44:1: malformed XML: "), "{e}");
    assert!(
        e.contains("expected `</ports>`, but `</host>` was found"),
        "{e}"
    );

    // An attribute without quotes: the error points at its tag.
    let e = nmap_error(
        "<port protocol=\"tcp\" portid=\"80\">",
        "<port protocol=tcp portid=\"80\">",
    );
    assert!(
        e.starts_with("bad.xml:26:16: malformed XML: bad attribute in <port>: an attribute value must be in quotes"),
        "{e}"
    );

    // An unknown entity in text.
    let e = nmap_error("<verbose level=\"1\"/>", "<verbose level=\"1\"/>x &nbsp; y");
    assert!(
        e.starts_with("bad.xml:8:23: malformed XML: unknown entity"),
        "{e}"
    );

    // An unknown entity in an attribute value.
    let e = nmap_error("web&#45;1", "web&dash;1");
    assert!(
        e.starts_with("bad.xml:20:1: malformed XML: attribute `name` of <hostname>"),
        "{e}"
    );

    // An end tag with no start.
    let e = nmap_error("</runstats>", "</runstats></host>");
    assert!(e.starts_with("bad.xml:59:12: malformed XML: "), "{e}");

    // `<!` that is not a comment, CDATA or DOCTYPE.
    let e = nmap_error("<debugging level=\"0\"/>", "<!x>");
    assert!(e.starts_with("bad.xml:9:1: malformed XML: "), "{e}");

    // A comment never closed reads as a cut file, and the note says where it starts.
    let b = parse_baseline(&NMAP.replacen("<debugging", "<!-- <debugging", 1), "c.xml").unwrap();
    assert!(b.hosts.is_empty());
    assert!(
        has_note(
            &b,
            "the XML ends at line 61, inside markup that starts at line 9, column 1"
        ),
        "{:?}",
        b.notes
    );

    // A port that is not a number, an address that is not one.
    let e = nmap_error("portid=\"631\"", "portid=\"63x\"");
    assert!(
        e.starts_with("bad.xml:41:1: <port portid=…>: `63x` is not a port number"),
        "{e}"
    );
    let e = nmap_error("addr=\"::1\"", "addr=\"::g\"");
    assert!(
        e.starts_with("bad.xml:34:1: <address addrtype=\"ipv6\"> has addr=\"::g\""),
        "{e}"
    );
}

#[test]
fn columns_count_characters_and_lines_count_from_one() {
    assert_eq!(line_col("", 0), (1, 1));
    assert_eq!(line_col("ab\ncd", 3), (2, 1));
    assert_eq!(line_col("ab\ncd", 4), (2, 2));
    assert_eq!(line_col("é<x", 2), (1, 2), "é is one character");
    assert_eq!(line_col("é<x", 1), (1, 1), "inside a character: its start");
    assert_eq!(line_col("ab", 99), (1, 3));
}

#[test]
fn scanners_other_than_nmap_and_appended_runs_merge_repeated_addresses() {
    // masscan -oX: one <host> per open port, and a scaninfo with no services.
    let masscan = r#"<?xml version="1.0"?>
<!-- masscan v1.3 scan -->
<nmaprun scanner="masscan" start="1795256100" version="1.0-BETA" xmloutputversion="1.03">
<scaninfo type="syn" protocol="tcp" />
<host endtime="1795256101"><address addr="127.0.0.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/></port></ports></host>
<host endtime="1795256101"><address addr="127.0.0.3" addrtype="ipv4"/><ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/></port></ports></host>
<host endtime="1795256102"><address addr="127.0.0.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/></port></ports></host>
<runstats>
<finished time="1795256110" timestr="2026-11-21 10:15:10" elapsed="10" />
<hosts up="3" down="0" total="3" />
</runstats>
</nmaprun>
"#;
    let b = parse_baseline(masscan, "masscan.xml").unwrap();
    assert_eq!(b.hosts.len(), 2);
    assert_eq!(b.hosts[0].open, ports(&[22, 80]));
    assert_eq!(b.hosts[1].open, ports(&[22]));
    assert_eq!(b.scanned_ports, None);
    assert!(
        has_note(&b, "masscan writes one <host> per open port"),
        "{:?}",
        b.notes
    );
    assert!(has_note(&b, "lists no services"), "{:?}", b.notes);

    // nmap --append-output -oX: a second document after the first.
    let twice = format!("{NMAP}{}", NMAP.replace("portid=\"631\"", "portid=\"632\""));
    let b = parse_baseline(&twice, "twice.xml").unwrap();
    assert_eq!(b.hosts.len(), 4);
    assert_eq!(b.hosts[1].open, ports(&[631, 632]));
    assert!(has_note(&b, "holds 2 nmap runs"), "{:?}", b.notes);
}

#[test]
fn an_nmap_run_that_failed_says_so() {
    let failed = NMAP.replace(
        "exit=\"success\"",
        "exit=\"error\" errormsg=\"Interrupted &amp; stopped\"",
    );
    let b = parse_baseline(&failed, "x.xml").unwrap();
    assert!(
        has_note(
            &b,
            "nmap ended the scan with an error: Interrupted & stopped"
        ),
        "{:?}",
        b.notes
    );
}

#[test]
fn an_nmap_file_cut_before_its_root_has_no_host() {
    let cut = &NMAP[..NMAP.find("<nmaprun").unwrap()];
    let b = parse_baseline(cut, "early.xml").unwrap();
    assert!(b.hosts.is_empty());
    assert!(
        has_note(&b, "ends before <nmaprun> starts"),
        "{:?}",
        b.notes
    );
}

#[test]
fn other_xml_is_refused_listing_the_formats() {
    let e = error(parse_baseline(
        "<?xml version=\"1.0\"?>\n<svg></svg>\n",
        "pic.svg",
    ));
    assert!(e.contains("root element is <svg>"), "{e}");
    assert!(
        e.contains("nmap XML (nmap -oX)") && e.contains("host:port"),
        "{e}"
    );
    let e = error(parse_baseline(
        "<NessusClientData><Report/></NessusClientData>",
        "v1.nessus",
    ));
    assert!(e.contains("Nessus v1"), "{e}");
}

// ---- Nessus v2 ----

/// A .nessus export: a policy with its port range, a host by address with an FQDN, a host by
/// name with its host-ip, an IPv6 host; port-scanner items (SYN, TCP, netstat, UDP), other
/// findings on open ports, and an item on port 0.
pub(super) const NESSUS: &str = r#"<?xml version="1.0" ?>
<NessusClientData_v2>
<Policy><policyName>Basic Network Scan</policyName>
<Preferences><ServerPreferences>
<preference><name>TARGET</name><value>127.0.0.1,db.example,::1</value></preference>
<preference><name>port_range</name><value>1-1024,5432,T:8000-8010,U:161</value></preference>
</ServerPreferences></Preferences></Policy>
<Report name="weekly" xmlns:cm="http://www.nessus.org/cm">
<ReportHost name="127.0.0.1"><HostProperties>
<tag name="HOST_END">Sat Nov 21 10:20:00 2026</tag>
<tag name="host-fqdn">web.example</tag>
<tag name="host-ip">127.0.0.1</tag>
<tag name="HOST_START">Sat Nov 21 10:15:00 2026</tag>
</HostProperties>
<ReportItem port="0" svc_name="general" protocol="tcp" severity="0" pluginID="19506" pluginName="Nessus Scan Information" pluginFamily="Settings">
<description>Information about this scan.</description>
<plugin_output>Port scanner(s) : nessus_syn_scanner</plugin_output>
</ReportItem>
<ReportItem port="22" svc_name="ssh" protocol="tcp" severity="0" pluginID="11219" pluginName="Nessus SYN scanner" pluginFamily="Port scanners">
<description>It was possible to determine that the port is open.</description>
<plugin_output>Port 22/tcp was found to be open</plugin_output>
</ReportItem>
<ReportItem port="22" svc_name="ssh" protocol="tcp" severity="0" pluginID="22964" pluginName="Service Detection" pluginFamily="Service detection">
<plugin_output>An SSH server is running on this port.</plugin_output>
</ReportItem>
<ReportItem port="443" svc_name="www" protocol="tcp" severity="2" pluginID="51192" pluginName="SSL Certificate Cannot Be Trusted" pluginFamily="General">
<plugin_output>The certificate &lt;CN=web&gt; is self-signed.</plugin_output>
</ReportItem>
<ReportItem port="8443" svc_name="www" protocol="tcp" severity="0" pluginID="10335" pluginName="Nessus TCP scanner" pluginFamily="Port scanners"/>
<ReportItem port="161" svc_name="snmp" protocol="udp" severity="0" pluginID="34277" pluginName="Nessus UDP Scanner" pluginFamily="Port scanners"/>
<ReportItem port="0" svc_name="general" protocol="tcp" severity="0" pluginID="10180" pluginName="Ping the remote host" pluginFamily="Port scanners"/>
</ReportHost>
<ReportHost name="db.example"><HostProperties>
<tag name="host-ip">127.0.0.2</tag>
<tag name="host-fqdn">db.example</tag>
</HostProperties>
<ReportItem port="5432" svc_name="postgresql" protocol="tcp" severity="0" pluginID="14272" pluginName="Netstat Portscanner (SSH)" pluginFamily="Port scanners"/>
<ReportItem port="3389" svc_name="msrdp" protocol="tcp" severity="0" pluginID="34220" pluginName="Netstat Portscanner (WMI)"/>
</ReportHost>
<ReportHost name="::1"><HostProperties>
<tag name="HOST_END">Sat Nov 21 10:20:00 2026</tag>
</HostProperties>
<ReportItem port="0" svc_name="general" protocol="tcp" severity="0" pluginID="19506" pluginName="Nessus Scan Information" pluginFamily="Settings"/>
</ReportHost>
</Report>
</NessusClientData_v2>
"#;

#[test]
fn nessus_open_ports_are_its_port_scanner_findings() {
    let b = parse_baseline(NESSUS, "weekly.nessus").unwrap();
    assert_eq!(b.format, BaselineFormat::Nessus);
    let addrs: Vec<IpAddr> = b.hosts.iter().map(|h| h.addr).collect();
    assert_eq!(addrs, [addr("127.0.0.1"), addr("127.0.0.2"), addr("::1")]);
    assert_eq!(
        b.hosts[0].open,
        ports(&[22, 8443]),
        "SYN and TCP scanners; not 443 (a vulnerability), 161/udp or port 0"
    );
    assert_eq!(b.hosts[0].names, ["web.example"]);
    assert_eq!(
        b.hosts[1].open,
        ports(&[3389, 5432]),
        "netstat SSH and WMI (by plugin ID without a family)"
    );
    assert_eq!(b.hosts[1].names, ["db.example"], "fqdn and name, once");
    assert!(b.hosts[2].open.is_empty() && b.hosts[2].names.is_empty());
    let mut expected: Vec<u16> = (1..=1024).collect();
    expected.push(5432);
    expected.extend(8000..=8010);
    assert_eq!(b.scanned_ports.as_deref(), Some(&expected[..]));
    assert!(
        has_note(&b, "1 UDP port-scanner finding left out"),
        "{:?}",
        b.notes
    );
}

#[test]
fn nessus_port_ranges_default_and_all() {
    let default = NESSUS.replace("1-1024,5432,T:8000-8010,U:161", "default");
    assert_eq!(
        parse_baseline(&default, "d.nessus").unwrap().scanned_ports,
        None
    );
    let all = NESSUS.replace("1-1024,5432,T:8000-8010,U:161", "all");
    let b = parse_baseline(&all, "a.nessus").unwrap();
    assert_eq!(b.scanned_ports.map(|p| p.len()), Some(65535));
    let bad = NESSUS.replace("1-1024,5432,T:8000-8010,U:161", "1-x");
    let b = parse_baseline(&bad, "b.nessus").unwrap();
    assert_eq!(b.scanned_ports, None);
    assert!(
        has_note(&b, "port_range `1-x` is not a port list"),
        "{:?}",
        b.notes
    );
}

#[test]
fn a_nessus_host_named_without_host_ip_is_an_error_naming_it() {
    let text = NESSUS.replace("<tag name=\"host-ip\">127.0.0.2</tag>\n", "");
    let e = error(parse_baseline(&text, "w.nessus"));
    assert!(
        e.starts_with("w.nessus:33:1: <ReportHost name=\"db.example\"> has no host-ip tag"),
        "{e}"
    );
    let text = NESSUS.replace(">127.0.0.2<", ">127.0.0.256<");
    let e = error(parse_baseline(&text, "w.nessus"));
    assert!(
        e.contains("its host-ip `127.0.0.256` is not an IP address"),
        "{e}"
    );
}

#[test]
fn a_nessus_export_without_port_scanner_findings_says_so() {
    let text = NESSUS
        .replace("pluginFamily=\"Port scanners\"", "pluginFamily=\"General\"")
        .replace("pluginID=\"11219\"", "pluginID=\"1\"")
        .replace("pluginID=\"10335\"", "pluginID=\"2\"")
        .replace("pluginID=\"14272\"", "pluginID=\"3\"")
        .replace("pluginID=\"34220\"", "pluginID=\"4\"");
    let b = parse_baseline(&text, "vulns.nessus").unwrap();
    assert_eq!(b.open_count(), 0);
    assert!(has_note(
        &b,
        "no port-scanner finding (plugins 11219, 10335, 14272, 34220)"
    ));
}

#[test]
fn nessus_cut_at_every_offset_keeps_the_complete_hosts() {
    let full = parse_baseline(NESSUS, "w.nessus").unwrap();
    let root = NESSUS.find("<NessusClientData_v2>").unwrap() + "<NessusClientData_v2>".len();
    let ends: Vec<usize> = NESSUS
        .match_indices("</ReportHost>")
        .map(|(i, _)| i + "</ReportHost>".len())
        .collect();
    for cut in root..NESSUS.len() {
        let b = parse_baseline(&NESSUS[..cut], "w.nessus")
            .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(b.hosts[..], full.hosts[..complete], "cut at {cut}");
    }
}

// ---- host:port lists ----

#[test]
fn host_port_lines_in_every_spelling() {
    let text = "# naabu -host 127.0.0.0/30 -silent\n\
                127.0.0.1:80\n\
                127.0.0.1:22   # ssh\n\
                \n\
                [::1]:443\n\
                127.0.0.2 8080\n\
                127.0.0.3,25/tcp\r\n\
                ::1 631\n\
                127.0.0.3:53/udp\n\
                127.0.0.1:80\n\
                {\"host\":\"web.example\",\"ip\":\"127.0.0.4\",\"port\":8443,\"protocol\":\"tcp\",\"tls\":true}\n\
                {\"ip\":\"127.0.0.4\",\"port\":{\"Port\":9000,\"Protocol\":0}}\n\
                open tcp 3306 127.0.0.5 1795256100\n\
                banner tcp 3306 127.0.0.5 1795256100 mysql 5.7\n\
                open udp 161 127.0.0.5 1795256100\n";
    let b = parse_baseline(text, "open.txt").unwrap();
    assert_eq!(b.format, BaselineFormat::HostPortList);
    let got: Vec<(IpAddr, Vec<u16>)> = b
        .hosts
        .iter()
        .map(|h| (h.addr, h.open.iter().copied().collect()))
        .collect();
    assert_eq!(
        got,
        [
            (addr("127.0.0.1"), vec![22, 80]),
            (addr("::1"), vec![443, 631]),
            (addr("127.0.0.2"), vec![8080]),
            (addr("127.0.0.3"), vec![25]),
            (addr("127.0.0.4"), vec![8443, 9000]),
            (addr("127.0.0.5"), vec![3306]),
        ]
    );
    assert_eq!(b.hosts[4].names, ["web.example"]);
    assert_eq!(b.scanned_ports, None);
    assert!(has_note(&b, "2 UDP ports left out"), "{:?}", b.notes);
}

#[test]
fn bad_list_lines_are_errors_naming_file_line_and_text() {
    let cases = [
        (
            "127.0.0.1:80\nhost.example:22\n",
            "list.txt:2: `host.example:22`: `host.example` is a host name",
        ),
        (
            "127.0.0.1:80\n::1:443\n",
            "list.txt:2: `::1:443`: an IPv6 address and its port need brackets",
        ),
        (
            "127.0.0.1:80\n\n127.0.0.1:99999\n",
            "list.txt:3: `127.0.0.1:99999`: `99999` is not a port number",
        ),
        (
            "127.0.0.1:80\n127.0.0.1:0\n",
            "list.txt:2: `127.0.0.1:0`: port 0",
        ),
        (
            "127.0.0.1:80\n127.0.0.1\n",
            "list.txt:2: `127.0.0.1`: no port",
        ),
        (
            "127.0.0.1:80\n[::1:443\n",
            "list.txt:2: `[::1:443`: `[` without its `]`",
        ),
        (
            "127.0.0.1:80\n127.0.0.1 80 tcp\n",
            "list.txt:2: `127.0.0.1 80 tcp`: 3 fields",
        ),
        (
            "127.0.0.1:80\n{\"port\":80}\n",
            "list.txt:2: `{\"port\":80}`: a JSON line needs \"ip\"",
        ),
        (
            "127.0.0.1:80\n127.0.0.300:22\n",
            "`127.0.0.300` is not an IP address",
        ),
    ];
    for (text, expected) in cases {
        let e = error(parse_baseline(text, "list.txt"));
        assert!(e.contains(expected), "{text:?}: {e}");
        assert!(e.contains("one open port per line"), "{e}");
    }
}

#[test]
fn unknown_content_is_refused_listing_the_formats() {
    for (text, why) in [
        (
            "hello world\n",
            "line 1, `hello world`, is not a host:port line",
        ),
        (
            "# Nmap 7.94 scan initiated\nHost: 127.0.0.1 ()\tStatus: Up\n",
            "-oN, -oG",
        ),
        (
            "{\n  \"format\": \"scanwatch-report\"\n}\n",
            "scanwatch JSON report",
        ),
        ("{\"format\":\"other\"}\n", "a JSON line needs"),
        ("x\0y", "binary data"),
    ] {
        let e = error(parse_baseline(text, "what"));
        assert!(
            e.starts_with("what is not a baseline scanwatch can read"),
            "{e}"
        );
        assert!(e.contains(why), "{text:?}: {e}");
        assert!(e.contains(ACCEPTED_FORMATS), "{e}");
    }
    let e = error(parse_baseline(" \n\t\n", "blank"));
    assert!(e.contains("baseline blank is empty"), "{e}");
    let e = error(parse_baseline("# only\n# comments\n", "c.txt"));
    assert!(e.contains("holds no open port"), "{e}");
}

// ---- session logs ----

/// A session log as `scanwatch scan 127.0.0.1 127.0.0.2 ::1 -p 22,80,443` writes it: 127.0.0.1
/// has 22 and 443 open, 127.0.0.2 answers with closed ports only, ::1 never answers.
fn session_log(args: &[&str], end: bool) -> String {
    let header = crate::session::SessionHeader::new(
        crate::session::SessionMode::Scan,
        args.iter().map(|s| s.to_string()).collect(),
        vec!["127.0.0.1".into(), "127.0.0.2".into(), "::1".into()],
        &crate::event::ScanParams {
            concurrency: 10,
            max_per_host: 10,
            timeout: std::time::Duration::from_secs(1),
            retries: 0,
            rate: None,
            paused: false,
        },
        7,
        crate::detector::AlarmThresholds::default(),
    );
    let params = r#"{"concurrency":10,"max_per_host":10,"timeout_ns":1000000000,"retries":0,"rate":null,"paused":false}"#;
    let mut log = serde_json::to_string(&header).unwrap();
    log.push('\n');
    log.push_str(&format!(
        "{{\"type\":\"started\",\"hosts\":3,\"ports_per_host\":3,\"probes\":9,\"seed\":7,\"params\":{params}}}\n"
    ));
    for line in [
        r#"["h",0,0,"127.0.0.1","localhost"]"#,
        r#"["h",0,1,"127.0.0.2"]"#,
        r#"["h",0,2,"::1"]"#,
        r#"["p",100,0,22,"o",50,1,0]"#,
        r#"["p",110,0,80,"c",50,1,1]"#,
        r#"["p",120,0,443,"o",50,1,2]"#,
        r#"["p",130,1,22,"c",50,1,0]"#,
        r#"["p",140,1,80,"c",50,1,1]"#,
        r#"["p",150,1,443,"c",50,1,2]"#,
        r#"["p",1000000,2,22,"f",1000000,1,0]"#,
        r#"["p",1000000,2,80,"f",1000000,1,1]"#,
        r#"["p",1000000,2,443,"f",1000000,1,2]"#,
        r#"["d",1000000,0]"#,
        r#"["d",1000000,1]"#,
        r#"["d",1000000,2]"#,
    ] {
        log.push_str(line);
        log.push('\n');
    }
    if end {
        log.push_str("{\"type\":\"finished\",\"t_us\":1000000,\"reason\":\"completed\"}\n");
        log.push_str("{\"type\":\"end\",\"reason\":\"completed\",\"t_us\":1000000,\"events\":17,\"probes\":9,\"open\":2,\"closed\":4,\"filtered\":3,\"not_scanned\":0,\"alarms\":0}\n");
    }
    log
}

const SCAN_ARGS: [&str; 7] = [
    "scanwatch",
    "scan",
    "127.0.0.1",
    "127.0.0.2",
    "::1",
    "-p",
    "22,80,443",
];

#[test]
fn a_session_log_gives_every_started_host_and_the_plan_ports() {
    let b = parse_baseline(&session_log(&SCAN_ARGS, true), "s.jsonl").unwrap();
    assert_eq!(b.format, BaselineFormat::Session);
    let got: Vec<(IpAddr, Vec<u16>)> = b
        .hosts
        .iter()
        .map(|h| (h.addr, h.open.iter().copied().collect()))
        .collect();
    assert_eq!(
        got,
        [
            (addr("127.0.0.1"), vec![22, 443]),
            (addr("127.0.0.2"), vec![]),
            (addr("::1"), vec![]),
        ]
    );
    assert_eq!(b.hosts[0].names, ["localhost"]);
    assert_eq!(b.scanned_ports.as_deref(), Some(&[22, 80, 443][..]));
    assert!(
        has_note(&b, "1 host never answered in the baseline scan (::1)"),
        "{:?}",
        b.notes
    );
    assert!(!has_note(&b, "finished"), "{:?}", b.notes);
}

#[test]
fn a_session_log_whose_ports_cannot_be_recovered_says_so() {
    // No -p: the ports came from the defaults or a configuration file; 3 is not 1000.
    let b = parse_baseline(&session_log(&SCAN_ARGS[..5], true), "s.jsonl").unwrap();
    assert_eq!(b.scanned_ports, None);
    assert!(
        has_note(&b, "gives 1000 ports but the scan probed 3 per host"),
        "{:?}",
        b.notes
    );
    // A cut log: the hosts it reached, and a note.
    let mut log = session_log(&SCAN_ARGS, false);
    log.push_str("[\"p\",2000000,0,8");
    let b = parse_baseline(&log, "cut.jsonl").unwrap();
    assert_eq!(b.hosts.len(), 3);
    assert!(has_note(&b, "the last line is incomplete"), "{:?}", b.notes);
    assert!(
        has_note(&b, "the log ends before the scan finished"),
        "{:?}",
        b.notes
    );
}

#[test]
fn a_host_known_only_from_its_probe_lines_is_kept() {
    let mut log = session_log(&SCAN_ARGS, false);
    log.push_str("[\"p\",1000100,9,8080,\"o\",50,1,9,null,\"127.0.0.9\"]\n");
    let b = parse_baseline(&log, "s.jsonl").unwrap();
    assert_eq!(b.hosts.len(), 4, "{:?}", b.hosts);
    assert_eq!(b.hosts[3].addr, addr("127.0.0.9"));
    assert_eq!(b.hosts[3].open, ports(&[8080]));
}

#[test]
fn an_address_without_its_type_counts_when_it_is_one() {
    let text = NMAP.replace(
        "<address addr=\"127.0.0.2\" addrtype=\"ipv4\"/>",
        "<address addr=\"127.0.0.3\"/>",
    );
    let b = parse_baseline(&text, "x.xml").unwrap();
    assert_eq!(b.hosts[3].addr, addr("127.0.0.3"));
    let text = NMAP.replace(
        "addr=\"::1\" addrtype=\"ipv6\"",
        "addr=\"::1\" addrtype=\"ipv4\"",
    );
    let e = error(parse_baseline(&text, "x.xml"));
    assert!(e.contains("an address of the other family"), "{e}");
}

#[test]
fn a_bad_session_log_is_the_session_readers_error() {
    let mut log = session_log(&SCAN_ARGS, true);
    log.insert_str(log.find("[\"d\"").unwrap(), "nonsense\n");
    let e = error(parse_baseline(&log, "bad.jsonl"));
    assert!(e.starts_with("bad.jsonl:15: "), "{e}");
    let cut = session_log(&SCAN_ARGS, true);
    let e = error(parse_baseline(&cut[..40], "cut.jsonl"));
    assert!(e.contains("ends inside its header line"), "{e}");
}

// ---- shared pieces ----

#[test]
fn port_lists_as_scanners_write_them() {
    assert_eq!(
        parse_port_ranges("22,80,8000-8002").unwrap(),
        [22, 80, 8000, 8001, 8002]
    );
    assert_eq!(
        parse_port_ranges(" 5-6 , 1-5,,").unwrap(),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(parse_port_ranges("0-65535").unwrap().len(), 65536);
    assert_eq!(parse_port_ranges("").unwrap(), Vec::<u16>::new());
    assert!(parse_port_ranges("9-1").is_err());
    assert!(parse_port_ranges("http").is_err());
    assert!(parse_port_ranges("65536").is_err());
    assert!(parse_port_ranges("-5").is_err());
    // Many large overlapping ranges stay fast.
    let many = vec!["1-65535"; 100_000].join(",");
    assert_eq!(parse_port_ranges(&many).unwrap().len(), 65535);
}

#[test]
fn a_file_with_a_bom_and_crlf_lines_reads() {
    let text = format!("\u{feff}{}", NMAP.replace('\n', "\r\n"));
    let b = parse_baseline(&text, "win.xml").unwrap();
    assert_eq!(b.hosts.len(), 4);
    let b = parse_baseline("\u{feff}127.0.0.1:22\r\n", "win.txt").unwrap();
    assert_eq!(b.hosts[0].open, ports(&[22]));
}

#[test]
fn deep_nesting_and_many_attributes_are_linear() {
    let deep = format!(
        "<nmaprun>{}{}</nmaprun>",
        "<a>".repeat(200_000),
        "</a>".repeat(200_000)
    );
    assert!(parse_baseline(&deep, "deep.xml").unwrap().hosts.is_empty());
    let attrs: String = (0..100_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
    let wide = format!("<nmaprun><host{attrs}/></nmaprun>");
    let b = parse_baseline(&wide, "wide.xml").unwrap();
    assert!(b.hosts.is_empty());
    assert!(
        has_note(&b, "1 host without an IPv4 or IPv6 address"),
        "{:?}",
        b.notes
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_reads_or_is_refused_without_panicking(text in ".{0,400}") {
        let _ = parse_baseline(&text, "any");
    }

    #[test]
    fn any_xml_like_text_reads_or_is_refused_without_panicking(
        text in r#"(<[a-z/!?]{0,3}[ a-z="'&;#0-9:.]{0,12}>?|[a-z0-9 &;<>"]{0,6}){0,40}"#
    ) {
        let _ = parse_baseline(&format!("<nmaprun>{text}"), "xml");
        let _ = parse_baseline(&format!("<NessusClientData_v2><Report><ReportHost name=\"::1\">{text}"), "xml");
    }

    #[test]
    fn mutated_baselines_read_or_are_refused_without_panicking(
        which in 0..3usize,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..24usize, ".{0,6}"), 1..6),
    ) {
        let mut text = [NMAP, NESSUS, &session_log(&SCAN_ARGS, true)][which].to_string();
        for (at, remove, insert) in edits {
            let mut start = at.index(text.len() + 1);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + remove).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.replace_range(start..end, &insert);
        }
        let _ = parse_baseline(&text, "mutated");
    }
}

// ---- files too large or binary, refused before they are read ----

#[test]
fn a_huge_sparse_file_is_refused_from_its_first_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zeros");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(MAX_BASELINE_BYTES * 2)
        .unwrap();
    let started = std::time::Instant::now();
    let message = error(read_baseline(&path));
    assert!(message.contains("binary data"), "{message}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn a_text_file_above_the_limit_is_refused_from_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.txt");
    let lines = "127.0.0.1:22\n".repeat(10_000);
    std::fs::write(&path, &lines).unwrap();
    // Text first, then (sparse) zeros far beyond the limit.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(MAX_BASELINE_BYTES + 1)
        .unwrap();
    let message = error(read_baseline(&path));
    assert!(message.contains("larger than 1024 MiB"), "{message}");
}

#[test]
fn a_gzip_file_is_named_as_such_from_its_first_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.xml.gz");
    std::fs::write(&path, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff]).unwrap();
    let message = error(read_baseline(&path));
    assert!(message.contains("gzip-compressed"), "{message}");
}
