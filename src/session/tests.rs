//! The session log on hand-made events: every kind of line round-trips, a cut log reads up to
//! its last complete line, and what is not a session log is refused with a clear message.

use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::detector::{AlarmKind, Scope};
use crate::event::{AfterConnect, FilterReason, LocalErrorKind, ProbeOutcome, ProbeRecord};

fn params(concurrency: u32) -> ScanParams {
    ScanParams {
        concurrency,
        max_per_host: 7,
        timeout: Duration::from_nanos(1_234_567_891),
        retries: 2,
        rate: Some(0.1 + 0.2),
        paused: false,
    }
}

fn header() -> SessionHeader {
    let thresholds = AlarmThresholds {
        cusum_target: 0.1 + 0.7,
        ..AlarmThresholds::default()
    };
    let mut h = SessionHeader::new(
        SessionMode::Scan,
        vec!["scanwatch".into(), "scan".into(), "127.0.0.1".into()],
        vec!["127.0.0.1".into(), "::1".into()],
        &params(10),
        42,
        thresholds,
    );
    h.banner_wait_us = Some(500_000);
    h
}

fn addr(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn record(host: u32, a: &str, port: u16, outcome: ProbeOutcome, t_us: u64) -> ProbeRecord {
    ProbeRecord {
        host,
        addr: addr(a),
        port,
        outcome,
        connect_us: 321,
        attempt: 2,
        seq: u64::from(port) * 3,
        t_us,
        after_connect: AfterConnect::NotRead,
    }
}

/// One of each kind of event, with the awkward cases: a named host, banners with every byte
/// value, a sentinel after its host is done, a probe for a host with no `h` line.
fn events() -> Vec<ScanEvent> {
    let all_bytes: Vec<u8> = (0..=255).collect();
    let mut open = record(0, "127.0.0.1", 22, ProbeOutcome::Open, 1_000);
    open.after_connect = AfterConnect::Banner(all_bytes.into());
    let mut silent = record(0, "127.0.0.1", 80, ProbeOutcome::Open, 1_100);
    silent.after_connect = AfterConnect::Silent;
    let mut closing = record(1, "::1", 443, ProbeOutcome::Open, 1_200);
    closing.after_connect = AfterConnect::ClosedAtOnce;
    let mut empty_banner = record(1, "::1", 25, ProbeOutcome::Open, 1_250);
    empty_banner.after_connect = AfterConnect::Banner(Vec::new().into());
    vec![
        ScanEvent::Started {
            hosts: None,
            ports_per_host: 1000,
            probes: None,
            params: params(10),
            seed: (1 << 53) + 1,
        },
        ScanEvent::PlanCounted {
            hosts: 2,
            probes: 2000,
        },
        ScanEvent::HostStarted {
            host: 0,
            addr: addr("127.0.0.1"),
            name: Some(Arc::from("localhost \"quoted\" ünïcode")),
            t_us: 0,
        },
        ScanEvent::HostStarted {
            host: 1,
            addr: addr("::1"),
            name: None,
            t_us: 10,
        },
        ScanEvent::Probe(open),
        ScanEvent::Probe(silent),
        ScanEvent::Probe(closing),
        ScanEvent::Probe(empty_banner),
        ScanEvent::Probe(record(0, "127.0.0.1", 23, ProbeOutcome::Closed, 1_300)),
        ScanEvent::Probe(record(
            0,
            "127.0.0.1",
            24,
            ProbeOutcome::Filtered(FilterReason::NoResponse),
            1_400,
        )),
        ScanEvent::Probe(record(
            1,
            "::1",
            24,
            ProbeOutcome::Filtered(FilterReason::AdminProhibited),
            1_500,
        )),
        ScanEvent::LocalError(record(
            1,
            "::1",
            26,
            ProbeOutcome::LocalError(LocalErrorKind::Other(97)),
            1_600,
        )),
        ScanEvent::Probe(record(
            1,
            "::1",
            26,
            ProbeOutcome::LocalError(LocalErrorKind::FdLimit),
            1_700,
        )),
        ScanEvent::ParamsChanged {
            params: ScanParams {
                paused: true,
                ..params(5)
            },
            t_us: 1_800,
        },
        ScanEvent::HostDone {
            host: 0,
            t_us: 2_000,
        },
        ScanEvent::Sentinel(record(
            0,
            "127.0.0.1",
            22,
            ProbeOutcome::Filtered(FilterReason::NoResponse),
            2_100,
        )),
        // The engine never does this; the log still keeps the address.
        ScanEvent::Probe(record(0, "127.0.0.1", 99, ProbeOutcome::Closed, 2_150)),
        ScanEvent::Probe(record(7, "127.0.0.9", 99, ProbeOutcome::Closed, 2_160)),
        ScanEvent::HostDone {
            host: 1,
            t_us: 2_200,
        },
        ScanEvent::Finished {
            reason: crate::event::FinishReason::Completed,
            t_us: 2_300,
        },
    ]
}

fn alarm(cleared_us: Option<u64>) -> Alarm {
    Alarm {
        kind: AlarmKind::Shun,
        scope: Scope::Host {
            addr: addr("127.0.0.1"),
        },
        since_us: 1_000,
        raised_us: 1_500,
        cleared_us,
        evidence: "41 of the last 44 probes timed out".into(),
    }
}

/// Writes `events` (and an alarm raised then cleared) to a log in `dir`; returns its path.
fn write_log(dir: &std::path::Path, events: &[ScanEvent]) -> std::path::PathBuf {
    write_log_with(dir, events, &header())
}

fn write_log_with(
    dir: &std::path::Path,
    events: &[ScanEvent],
    header: &SessionHeader,
) -> std::path::PathBuf {
    let path = dir.join("s.jsonl");
    let mut writer = SessionWriter::create(&path, header).unwrap();
    for (i, event) in events.iter().enumerate() {
        writer.event(event);
        if i == 5 {
            writer.alarms(&[alarm(None)]);
            writer.flush();
        }
    }
    writer.alarms(&[alarm(Some(2_000))]);
    let summary = writer.finish(EndReason::Completed, None).unwrap();
    assert_eq!(summary.path, path);
    assert_eq!(summary.lines, 1 + events.len() as u64 + 2 + 1);
    assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
    path
}

#[test]
fn every_kind_of_line_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let events = events();
    let header = header();
    let path = write_log_with(dir.path(), &events, &header);
    let session = read_session(&path).unwrap();
    assert_eq!(session.header, header);
    assert_eq!(session.events, events);
    assert!(session.notes.is_empty(), "{:?}", session.notes);
    assert_eq!(
        session.alarms,
        vec![
            AlarmRecord {
                change: AlarmChange::Raised,
                alarm: alarm(None)
            },
            AlarmRecord {
                change: AlarmChange::Cleared,
                alarm: alarm(Some(2_000))
            }
        ]
    );
    let end = session.end.unwrap();
    assert_eq!(end.reason, EndReason::Completed);
    assert_eq!(end.events, events.len() as u64);
    assert_eq!(end.t_us, 2_300);
    assert_eq!(end.probes, 10);
    assert_eq!(end.open, 4);
    assert_eq!(end.not_scanned, 1);
    assert_eq!(end.alarms, 1);

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.is_ascii() || text.contains("ünïcode"));
    assert!(
        text.contains("\n[\"p\",1300,0,23,\"c\",321,2,69]\n"),
        "compact probe lines:\n{text}"
    );
    assert!(
        text.contains("\"type\":\"alarm\",\"change\":\"raised\""),
        "{text}"
    );
    assert!(text.contains("\"line\":\"SHUN 127.0.0.1 since"), "{text}");
}

#[test]
fn replay_folds_like_the_live_monitor() {
    let dir = tempfile::tempdir().unwrap();
    let events = events();
    let path = write_log(dir.path(), &events);
    let mut live = crate::monitor::Monitor::with_thresholds(header().thresholds);
    for e in &events {
        live.apply(e);
    }
    let replayed = read_session(&path).unwrap().replay();
    assert_eq!(replayed.state(), live.state());
}

#[test]
fn a_log_cut_anywhere_reads_up_to_its_last_complete_line() {
    let dir = tempfile::tempdir().unwrap();
    let events = events();
    let path = write_log(dir.path(), &events);
    let full = std::fs::read(&path).unwrap();
    let header_len = full.iter().position(|&b| b == b'\n').unwrap() + 1;
    let cut_path = dir.path().join("cut.jsonl");
    for cut in 0..=full.len() {
        let prefix = &full[..cut];
        std::fs::write(&cut_path, prefix).unwrap();
        let result = read_session(&cut_path);
        if cut == 0 {
            let message = result.unwrap_err().to_string();
            assert!(message.contains("is empty"), "{message}");
            continue;
        }
        if cut < header_len - 1 {
            let message = result.unwrap_err().to_string();
            assert!(
                message.contains("ends inside its header line"),
                "{cut}: {message}"
            );
            assert!(message.contains("cut.jsonl"), "{message}");
            continue;
        }
        let session = result.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let complete_lines = prefix.iter().filter(|&&b| b == b'\n').count();
        let partial = !prefix.ends_with(b"\n");
        // Lines after the header: the complete ones, and a last one when it parses as it is.
        let entries =
            session.events.len() + session.alarms.len() + usize::from(session.end.is_some());
        let expected = complete_lines.saturating_sub(1);
        if partial && cut > header_len {
            assert!(
                entries == expected || entries == expected + 1,
                "cut at {cut}: {entries} entries, {expected} complete lines"
            );
            if entries == expected {
                assert_eq!(session.notes.len(), 1, "cut at {cut}");
                assert!(
                    session.notes[0].contains("incomplete"),
                    "{:?}",
                    session.notes
                );
            }
        } else {
            assert_eq!(entries, expected, "cut at {cut}");
            assert!(
                session.notes.is_empty(),
                "cut at {cut}: {:?}",
                session.notes
            );
        }
        assert_eq!(
            session.events[..],
            events[..session.events.len()],
            "cut at {cut}: the events read are the first ones written"
        );
    }
}

fn read_text(name: &str, text: &[u8]) -> Result<Session, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    read_session(&path).map_err(|e| {
        assert_eq!(e.exit_code(), 2, "{e}");
        e.to_string()
    })
}

fn valid_header_line() -> String {
    serde_json::to_string(&header()).unwrap()
}

#[test]
fn what_is_not_a_session_log_is_refused_with_the_file_and_line() {
    let h = valid_header_line();
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("empty.jsonl", Vec::new(), vec!["empty.jsonl", "is empty"]),
        (
            "binary.jsonl",
            vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, b'\n', 0xff],
            vec!["binary.jsonl", "binary data"],
        ),
        (
            "gzip.jsonl.gz",
            vec![0x1f, 0x8b, 0x08, 0xa0, 0xff, 0xfe, b'\n'],
            vec!["gzip.jsonl.gz", "not UTF-8 text"],
        ),
        (
            "notes.txt",
            b"hello world\nsecond line\n".to_vec(),
            vec![
                "notes.txt",
                "not a scanwatch session log",
                "not a JSON session header",
            ],
        ),
        (
            "other.jsonl",
            b"{\"type\":\"start\",\"format\":\"scanwatch-jsonl\"}\n".to_vec(),
            vec!["other.jsonl", "format is `scanwatch-jsonl`"],
        ),
        (
            "noformat.jsonl",
            b"{\"version\":1}\n".to_vec(),
            vec!["noformat.jsonl", "no `\"format\":\"scanwatch-session\"`"],
        ),
        (
            "future.jsonl",
            h.replace("\"version\":1", "\"version\":7").into_bytes(),
            vec!["future.jsonl", "version 7", "reads version 1"],
        ),
        (
            "noversion.jsonl",
            h.replace("\"version\":1", "\"version\":\"1\"").into_bytes(),
            vec!["noversion.jsonl:1", "no format version"],
        ),
        (
            "badheader.jsonl",
            h.replace("\"seed\":42", "\"seed\":\"x\"").into_bytes(),
            vec!["badheader.jsonl:1", "bad session header"],
        ),
        (
            "garbage.jsonl",
            format!("{h}\n[\"d\",5,0]\n{{\"type\":\"params\"\n[\"d\",6,0]\n").into_bytes(),
            vec!["garbage.jsonl:3", "not JSON"],
        ),
        (
            "unknown.jsonl",
            format!("{h}\n[\"q\",5,0]\n").into_bytes(),
            vec!["unknown.jsonl:2", "unknown line type `q`"],
        ),
        (
            "unknowntype.jsonl",
            format!("{h}\n{{\"type\":\"frobnicate\"}}\n").into_bytes(),
            vec!["unknowntype.jsonl:2", "bad `frobnicate` line"],
        ),
        (
            "badprobe.jsonl",
            format!("{h}\n[\"h\",0,0,\"127.0.0.1\"]\n[\"p\",5,0,70000,\"c\",1,1,1]\n").into_bytes(),
            vec!["badprobe.jsonl:3", "field 4 (port)", "70000"],
        ),
        (
            "nohost.jsonl",
            format!("{h}\n[\"p\",5,3,80,\"c\",1,1,1]\n").into_bytes(),
            vec!["nohost.jsonl:2", "host 3", "no `h` line"],
        ),
        (
            "midbinary.jsonl",
            [
                format!("{h}\n").into_bytes(),
                vec![0xc3, 0x28, b'\n'],
                b"[\"d\",1,0]\n".to_vec(),
            ]
            .concat(),
            vec!["midbinary.jsonl:2", "not UTF-8"],
        ),
        (
            "badbanner.jsonl",
            format!("{h}\n[\"h\",0,0,\"127.0.0.1\"]\n[\"p\",5,0,22,\"o\",1,1,1,\"b:%%%\"]\n")
                .into_bytes(),
            vec!["badbanner.jsonl:3", "after-connect"],
        ),
        (
            "toomany.jsonl",
            format!("{h}\n[\"d\",5,0,1,2]\n").into_bytes(),
            vec!["toomany.jsonl:2", "at most 3"],
        ),
    ];
    for (name, bytes, needles) in cases {
        let message = read_text(name, &bytes).expect_err(name);
        for needle in needles {
            assert!(
                message.contains(needle),
                "{name}: `{needle}` not in: {message}"
            );
        }
    }
    let message = read_session(std::path::Path::new("/nonexistent/x.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("/nonexistent/x.jsonl does not exist"),
        "{message}"
    );
    let dir = tempfile::tempdir().unwrap();
    let message = read_session(dir.path()).unwrap_err().to_string();
    assert!(message.contains("is a directory"), "{message}");
}

#[test]
fn blank_lines_and_crlf_are_accepted_and_a_cut_line_is_noted() {
    let h = valid_header_line();
    let text = format!("{h}\r\n\r\n[\"h\",0,0,\"127.0.0.1\"]\r\n\n[\"d\",5,0]\n[\"p\",5,0,8");
    let session = read_text("ok.jsonl", text.as_bytes()).unwrap();
    assert_eq!(session.events.len(), 2);
    assert_eq!(session.notes.len(), 1);
    assert!(
        session.notes[0].contains("ok.jsonl:6: the last line is incomplete"),
        "{:?}",
        session.notes
    );
    // A last line that is complete but for its newline is read.
    let text = format!("{h}\n[\"h\",0,0,\"127.0.0.1\"]\n[\"d\",5,0]");
    let session = read_text("ok.jsonl", text.as_bytes()).unwrap();
    assert_eq!(session.events.len(), 2);
    assert!(session.notes.is_empty());
}

#[test]
fn random_bytes_never_panic_the_reader() {
    use proptest::prelude::*;
    let h = valid_header_line();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(300));
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..200), |tail| {
            let mut bytes = format!("{h}\n").into_bytes();
            bytes.extend_from_slice(&tail);
            let reader = SessionReader::new(&bytes[..], "random");
            prop_assert!(reader.is_ok());
            for entry in reader.unwrap() {
                let _ = entry;
            }
            // And as a whole file, header included.
            if let Ok(reader) = SessionReader::new(&tail[..], "random") {
                for entry in reader {
                    let _ = entry;
                }
            }
            Ok(())
        })
        .unwrap();
    let lines = [
        "[]",
        "[1]",
        "[\"p\"]",
        "[\"p\",-1,0,0,\"c\",0,0,0]",
        "[\"p\",1.5,0,0,\"c\",0,0,0]",
        "[\"h\",0,4294967296,\"1.2.3.4\"]",
        "[\"h\",0,0,\"1.2.3\"]",
        "[\"h\",0,0,\"1.2.3.4\",5]",
        "[\"s\",0,0,1,\"o\",1,1,1,null,\"x\"]",
        "{\"type\":\"alarm\"}",
        "{\"type\":\"end\"}",
        "{\"type\":\"started\",\"ports_per_host\":-1}",
        "null",
        "\"text\"",
        "{}",
    ];
    for line in lines {
        let text = format!("{h}\n{line}\n");
        let message = read_text("odd.jsonl", text.as_bytes()).expect_err(line);
        assert!(message.contains("odd.jsonl:2: "), "{line}: {message}");
    }
}

/// A sink that fails once `limit` bytes were written, like a full disk.
#[derive(Clone)]
struct FullDisk {
    written: Arc<Mutex<Vec<u8>>>,
    limit: usize,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut written = self.written.lock().unwrap();
        if written.len() + buf.len() > self.limit {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_write_failure_is_reported_and_the_log_stays_readable() {
    let disk = FullDisk {
        written: Arc::default(),
        limit: 2_000,
    };
    let mut writer =
        SessionWriter::from_writer("full.jsonl".into(), disk.clone(), &header()).unwrap();
    assert!(writer.failure().is_none());
    for round in 0..50u64 {
        for event in events() {
            writer.event(&event);
        }
        writer.flush();
        let _ = round;
    }
    let message = writer.finish(EndReason::Completed, None).unwrap_err();
    assert!(
        message.contains("cannot write the session log full.jsonl"),
        "{message}"
    );
    assert!(message.contains("No space left on device"), "{message}");
    assert!(message.contains("holds the first 1 lines"), "{message}");
    // Only the header made it: every batch after it was larger than the room left.
    let written = disk.written.lock().unwrap().clone();
    let session = SessionReader::new(&written[..], "full.jsonl").unwrap();
    assert_eq!(session.count(), 0);

    // A failure seen while the scan runs is reported once.
    let disk = FullDisk {
        written: Arc::default(),
        limit: 3_000,
    };
    let mut writer =
        SessionWriter::from_writer("full.jsonl".into(), disk.clone(), &header()).unwrap();
    let mut seen = 0;
    for _ in 0..200 {
        for event in events() {
            writer.event(&event);
        }
        writer.flush();
        std::thread::sleep(Duration::from_millis(1));
        if writer.new_failure().is_some() {
            seen += 1;
        }
    }
    assert_eq!(seen, 1, "reported once");
    assert!(writer.failure().is_some());
    let written = disk.written.lock().unwrap().clone();
    let reader = SessionReader::new(&written[..], "full.jsonl").unwrap();
    let entries: Result<Vec<_>, _> = reader.collect();
    assert!(
        !entries.unwrap().is_empty(),
        "complete batches before the failure are kept"
    );
}

#[test]
fn a_dropped_writer_ends_its_log_as_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aborted.jsonl");
    let result = std::panic::catch_unwind(|| {
        let mut writer = SessionWriter::create(&path, &header()).unwrap();
        for event in &events()[..6] {
            writer.event(event);
        }
        panic!("something broke mid-scan");
    });
    assert!(result.is_err());
    let session = read_session(&path).unwrap();
    assert_eq!(session.events, events()[..6]);
    assert_eq!(session.end.unwrap().reason, EndReason::Aborted);
}

#[test]
fn the_header_write_fails_at_once() {
    let err = SessionWriter::create(std::path::Path::new("/dev/full"), &header()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let err = SessionWriter::create(&file.join("s.jsonl"), &header()).unwrap_err();
    assert!(
        err.to_string().contains("cannot create the directory"),
        "{err}"
    );
}

#[test]
fn an_endless_binary_source_is_refused_from_its_first_bytes() {
    // Without the early check this would read a 16 MiB "line" of zeros first.
    let input = io::BufReader::new(io::repeat(0));
    let Err(e) = SessionReader::new(input, "zeros") else {
        panic!("zeros read as a session log");
    };
    let message = e.to_string();
    assert!(message.contains("zeros"), "{message}");
    assert!(message.contains("binary data"), "{message}");
}
