//! Baselines read from files: each format written by the test itself, session logs and nmap-xml
//! reports written by `scanwatch demo` (simulated, nothing leaves the process), and real nmap
//! output of a loopback scan of listeners this test binds (IPv4, and IPv6 when `::1` works),
//! whole and cut at every offset.
//!
//! The nmap tests need `nmap`; they skip with a printed reason when it is missing, unless
//! SCANWATCH_REQUIRE_NETNS=1 or SCANWATCH_REQUIRE_NDIFF=1 makes that a failure. Network
//! safety: only 127.0.0.1 and ::1, on listeners this test binds.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use scanwatch::baseline::{Baseline, BaselineFormat, parse_baseline, read_baseline};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn error_of(path: &Path) -> String {
    match read_baseline(path) {
        Ok(b) => panic!("{}: expected an error, read {b:?}", path.display()),
        Err(e) => {
            assert_eq!(e.exit_code(), 2, "{e}");
            e.to_string()
        }
    }
}

/// Open ports by address.
fn open_by_addr(b: &Baseline) -> BTreeMap<IpAddr, BTreeSet<u16>> {
    b.hosts.iter().map(|h| (h.addr, h.open.clone())).collect()
}

// ---- each format from a file, detected by content ----

const NMAP_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sT -p 1-100 127.0.0.1 ::1" start="1795256100" version="7.94" xmloutputversion="1.05">
<scaninfo type="connect" protocol="tcp" numservices="100" services="1-100"/>
<host><status state="up" reason="user-set" reason_ttl="0"/>
<address addr="127.0.0.1" addrtype="ipv4"/>
<hostnames><hostname name="localhost" type="user"/></hostnames>
<ports><extraports state="closed" count="98"><extrareasons reason="conn-refused" count="98" proto="tcp" ports="1-21,23-79,81-100"/></extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="0"/></port>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="0"/></port>
</ports>
</host>
<host><status state="up" reason="user-set" reason_ttl="0"/>
<address addr="::1" addrtype="ipv6"/>
<ports><port protocol="tcp" portid="25"><state state="open" reason="syn-ack" reason_ttl="0"/></port>
<port protocol="udp" portid="53"><state state="open" reason="udp-response" reason_ttl="0"/></port></ports>
</host>
<runstats><finished time="1795256101" exit="success"/><hosts up="2" down="0" total="2"/></runstats>
</nmaprun>
"#;

const NESSUS: &str = r#"<?xml version="1.0" ?>
<NessusClientData_v2>
<Report name="scan" xmlns:cm="http://www.nessus.org/cm">
<ReportHost name="localhost"><HostProperties>
<tag name="host-ip">127.0.0.1</tag><tag name="host-fqdn">localhost</tag>
</HostProperties>
<ReportItem port="22" svc_name="ssh" protocol="tcp" severity="0" pluginID="11219" pluginName="Nessus SYN scanner" pluginFamily="Port scanners"/>
<ReportItem port="22" svc_name="ssh" protocol="tcp" severity="2" pluginID="90317" pluginName="SSH Weak Algorithms Supported" pluginFamily="Misc."/>
</ReportHost>
</Report>
</NessusClientData_v2>
"#;

#[test]
fn every_format_is_detected_from_the_content_whatever_the_name() {
    let dir = tempfile::tempdir().unwrap();
    // Misleading extensions on purpose.
    let nmap = write(dir.path(), "scan.txt", NMAP_XML.as_bytes());
    let nessus = write(dir.path(), "scan.xml", NESSUS.as_bytes());
    let list = write(
        dir.path(),
        "scan.nessus",
        b"# open ports\n127.0.0.1:22\n[::1]:25\n127.0.0.1 80\n",
    );

    let b = read_baseline(&nmap).unwrap();
    assert_eq!(b.format, BaselineFormat::NmapXml);
    assert_eq!(b.hosts[0].names, ["localhost"]);
    assert_eq!(b.scanned_ports, Some((1..=100).collect()));
    let expected: BTreeMap<IpAddr, BTreeSet<u16>> = [
        (IpAddr::V4(Ipv4Addr::LOCALHOST), BTreeSet::from([22, 80])),
        (IpAddr::V6(Ipv6Addr::LOCALHOST), BTreeSet::from([25])),
    ]
    .into();
    assert_eq!(open_by_addr(&b), expected);

    let b = read_baseline(&list).unwrap();
    assert_eq!(b.format, BaselineFormat::HostPortList);
    assert_eq!(open_by_addr(&b), expected);
    assert_eq!(b.scanned_ports, None);

    let b = read_baseline(&nessus).unwrap();
    assert_eq!(b.format, BaselineFormat::Nessus);
    assert_eq!(b.hosts.len(), 1);
    assert_eq!(b.hosts[0].open, BTreeSet::from([22]));
    assert_eq!(b.hosts[0].names, ["localhost"]);
}

#[test]
fn files_that_are_not_baselines_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.xml");
    assert!(error_of(&missing).contains("nope.xml does not exist"));
    let e = error_of(dir.path());
    assert!(e.contains("is a directory"), "{e}");
    let empty = write(dir.path(), "empty.xml", b"");
    assert!(error_of(&empty).contains("is empty"));
    let gz = write(
        dir.path(),
        "scan.xml.gz",
        &[0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe],
    );
    let e = error_of(&gz);
    assert!(e.contains("gzip-compressed"), "{e}");
    let bad = write(
        dir.path(),
        "bad.xml",
        NMAP_XML
            .replace("</ports>\n</host>\n<host>", "</host>\n<host>")
            .as_bytes(),
    );
    let e = error_of(&bad);
    assert!(
        e.ends_with("bad.xml:11:1: malformed XML: expected `</ports>`, but `</host>` was found"),
        "{e}"
    );
}

#[test]
fn a_file_cut_inside_a_character_or_with_stray_bytes_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    // Cut in the middle of a two-byte character in a comment.
    let mut bytes = NMAP_XML.as_bytes().to_vec();
    let at = NMAP_XML.find("<runstats>").unwrap();
    bytes.truncate(at);
    bytes.extend_from_slice("<!-- é".as_bytes());
    bytes.pop();
    let path = write(dir.path(), "cut.xml", &bytes);
    let b = read_baseline(&path).unwrap();
    assert_eq!(b.hosts.len(), 2);
    assert!(
        b.notes.iter().any(|n| n.contains("before </nmaprun>")),
        "{:?}",
        b.notes
    );

    // A byte that is not UTF-8 in a host name: replaced, with a note where.
    let mut bytes = NMAP_XML.as_bytes().to_vec();
    let at = NMAP_XML.find("localhost\" type").unwrap();
    bytes[at] = 0xff;
    let path = write(dir.path(), "latin.xml", &bytes);
    let b = read_baseline(&path).unwrap();
    assert_eq!(b.hosts[0].names, ["\u{fffd}ocalhost"]);
    assert!(
        b.notes[0].starts_with(&format!(
            "{}:7:28: the file is not all UTF-8 text",
            path.display()
        )),
        "{:?}",
        b.notes
    );
}

// ---- session logs and reports from `scanwatch demo` ----

/// Runs a simulated demo writing its session log and an nmap-xml report into `dir`.
fn demo(dir: &Path, scenario: &str) -> (PathBuf, PathBuf) {
    let session = dir.join(format!("{scenario}.jsonl"));
    let report = dir.join(format!("{scenario}.xml"));
    let out = Command::new(env!("CARGO_BIN_EXE_scanwatch"))
        .args([
            "demo",
            "--scenario",
            scenario,
            "--speed",
            "max",
            "--seed",
            "11",
            "-q",
        ])
        .arg("--session")
        .arg(&session)
        .arg("--output")
        .arg(&report)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", "/nonexistent-scanwatch-test-config")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (session, report)
}

#[test]
fn a_demo_session_log_and_its_nmap_xml_report_give_the_same_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let (session, report) = demo(dir.path(), "healthy");
    let from_log = read_baseline(&session).unwrap();
    let from_xml = read_baseline(&report).unwrap();
    assert_eq!(from_log.format, BaselineFormat::Session);
    assert_eq!(from_xml.format, BaselineFormat::NmapXml);
    assert!(from_log.open_count() > 0, "the healthy hosts have services");
    assert_eq!(open_by_addr(&from_log), open_by_addr(&from_xml));
    assert!(from_log.scanned_ports.is_some(), "{:?}", from_log.notes);
    assert_eq!(from_log.scanned_ports, from_xml.scanned_ports);

    // The text of the log reads the same as the file.
    let text = std::fs::read_to_string(&session).unwrap();
    let parsed = parse_baseline(&text, &session.display().to_string()).unwrap();
    assert_eq!(parsed, from_log);
}

#[test]
fn a_deception_host_in_the_baseline_is_noted() {
    let dir = tempfile::tempdir().unwrap();
    let (session, _) = demo(dir.path(), "tarpit");
    let b = read_baseline(&session).unwrap();
    assert!(
        b.notes
            .iter()
            .any(|n| n.contains("DECEPTION") && n.contains("unverified")),
        "{:?}",
        b.notes
    );
}

// ---- real nmap output ----

/// Whether the environment asks for the nmap tests to run rather than skip.
fn required() -> bool {
    ["SCANWATCH_REQUIRE_NDIFF", "SCANWATCH_REQUIRE_NETNS"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| v == "1"))
}

fn have_nmap() -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("nmap").is_file()));
    if !found {
        assert!(!required(), "nmap is required but not installed");
        eprintln!("skipped: nmap not installed (Debian: apt-get install nmap)");
    }
    found
}

/// Ten ports from `base` on `ip` with listeners on three of them and nothing on the others,
/// in a range below the ephemeral ports so no other socket wanders in.
fn listeners(ip: IpAddr) -> (u16, Vec<u16>, Vec<TcpListener>) {
    const OFFSETS: [u16; 3] = [1, 4, 8];
    for attempt in 0..50u16 {
        let base = 20_000 + (std::process::id() as u16 % 500) * 10 + attempt * 97 % 5000;
        let mut bound = Vec::new();
        for offset in OFFSETS {
            match TcpListener::bind(SocketAddr::new(ip, base + offset)) {
                Ok(l) => bound.push(l),
                Err(_) => break,
            }
        }
        if bound.len() < OFFSETS.len() {
            continue;
        }
        let others_closed = (base..base + 10)
            .filter(|p| !OFFSETS.contains(&(p - base)))
            .all(|p| {
                TcpStream::connect_timeout(&SocketAddr::new(ip, p), Duration::from_millis(200))
                    .is_err()
            });
        if others_closed {
            let open = OFFSETS.iter().map(|o| base + o).collect();
            return (base, open, bound);
        }
    }
    panic!("no free block of 10 ports on {ip}");
}

/// `nmap -sT -Pn -n -p base-(base+9) ADDR -oX FILE`.
fn nmap_scan(ip: IpAddr, base: u16, out: &Path) {
    let mut cmd = Command::new("nmap");
    if ip.is_ipv6() {
        cmd.arg("-6");
    }
    let status = cmd
        .args(["-sT", "-Pn", "-n", "-p", &format!("{base}-{}", base + 9)])
        .arg(ip.to_string())
        .arg("-oX")
        .arg(out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "nmap failed");
}

/// Scans `ip` with nmap and reads the result: the listeners exactly, the range scanned; the
/// same file cut at every offset keeps the host only when its element is complete.
fn real_nmap_scan(ip: IpAddr) {
    let dir = tempfile::tempdir().unwrap();
    let (base, open, _listeners) = listeners(ip);
    let file = dir.path().join("loopback.xml");
    nmap_scan(ip, base, &file);
    let b = read_baseline(&file).unwrap();
    assert_eq!(b.format, BaselineFormat::NmapXml);
    assert_eq!(b.hosts.len(), 1, "{b:?}");
    assert_eq!(b.hosts[0].addr, ip);
    assert_eq!(
        b.hosts[0].open,
        open.iter().copied().collect::<BTreeSet<u16>>()
    );
    assert_eq!(b.scanned_ports, Some((base..=base + 9).collect()));
    assert!(b.notes.is_empty(), "{:?}", b.notes);

    let text = std::fs::read_to_string(&file).unwrap();
    let host_end = text.find("</host>").unwrap() + "</host>".len();
    let root_end = text.find("<nmaprun").unwrap();
    let root_end = root_end + text[root_end..].find('>').unwrap() + 1;
    let whole_end = text.find("</nmaprun>").unwrap() + "</nmaprun>".len();
    for cut in root_end..text.len() {
        let cut_text = &text[..cut];
        let b = parse_baseline(cut_text, "cut.xml").unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(b.hosts.len(), usize::from(cut >= host_end), "cut at {cut}");
        if cut >= host_end {
            assert_eq!(b.hosts[0].open.len(), open.len(), "cut at {cut}");
        }
        assert_eq!(
            b.notes.iter().any(|n| n.contains("before </nmaprun>")),
            cut < whole_end,
            "cut at {cut}: {:?}",
            b.notes
        );
    }
}

#[test]
fn real_nmap_output_of_a_loopback_scan() {
    if !have_nmap() {
        return;
    }
    real_nmap_scan(IpAddr::V4(Ipv4Addr::LOCALHOST));
}

#[test]
fn real_nmap_output_of_an_ipv6_loopback_scan() {
    if !have_nmap() {
        return;
    }
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: IPv6 loopback (::1) is not available here");
        return;
    }
    real_nmap_scan(IpAddr::V6(Ipv6Addr::LOCALHOST));
}
