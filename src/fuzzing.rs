//! One entry point per parser of outside input, for the fuzz targets in `fuzz/` and for the
//! regression test that replays their corpus and every input that once failed
//! (`tests/fuzz_regressions.rs`).
//!
//! Each entry takes arbitrary bytes and drives the parser the way the program does, then checks
//! what must hold for whatever it accepted (round trips, sorted output, bounded work). A panic,
//! an overflow (fuzz builds keep debug assertions) or runaway memory is a finding; an `Err` is
//! the parser doing its job.

use std::io::Cursor;
use std::path::Path;
use std::str::FromStr;

/// A parser's entry point: arbitrary bytes in, a panic on a finding.
pub type Entry = fn(&[u8]);

/// The parsers, by the name of their fuzz target and corpus folder.
pub const TARGETS: &[(&str, Entry)] = &[
    ("targets", targets),
    ("ports", ports),
    ("durations", durations),
    ("config", config),
    ("theme", theme),
    ("scenario", scenario),
    ("baseline", baseline),
    ("session_log", session_log),
    ("key_spec", key_spec),
    ("banner", banner),
];

/// How many hosts of an accepted target list are walked: enough to exercise the iterator
/// (octet ranges, exclusions) without letting a /0 take the fuzzer's time.
const HOSTS_WALKED: usize = 512;

/// Target lists (`-iL`, the command line, `--exclude`): parse, resolve without lookups, walk
/// the first hosts. Every host walked is inside the set and none is excluded.
pub fn targets(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (include, exclude) = text.split_once('!').unwrap_or((&text, ""));
    let Ok(specs) = crate::targets::parse_target_text(include, "fuzz") else {
        return;
    };
    for spec in &specs {
        // What is shown for a spec reads back as the same spec.
        let shown = spec.to_string();
        let again = crate::targets::parse_target(&shown)
            .unwrap_or_else(|e| panic!("{spec:?} shows as `{shown}`, which does not parse: {e}"));
        assert_eq!(&again, spec, "`{shown}` reads back differently");
    }
    let Ok(excluded) = crate::targets::parse_exclude_list(exclude) else {
        return;
    };
    let (Ok(include), Ok(exclude)) = (
        crate::targets::resolved_without_lookup(specs),
        crate::targets::resolved_without_lookup(excluded),
    ) else {
        return;
    };
    let set = crate::targets::TargetSet::new(include, exclude);
    let bound = set.upper_bound();
    let mut walked = 0u128;
    for host in set.hosts().take(HOSTS_WALKED) {
        assert!(!set.is_excluded(host.addr), "{} is excluded", host.addr);
        walked += 1;
    }
    assert!(walked <= bound, "walked {walked} hosts of at most {bound}");
}

/// Port specs (`-p`, `[scan] ports`): the result is sorted, without duplicates, and not empty.
pub fn ports(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(ports) = crate::ports::parse_port_spec(&text) {
        assert!(!ports.is_empty(), "`{text}` gave no ports");
        assert!(ports.windows(2).all(|w| w[0] < w[1]), "`{text}`: unsorted");
    }
}

/// Durations (`--timeout`, `--banner-wait`, config values): what is accepted formats and
/// reads back to the same number of microseconds.
pub fn durations(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(d) = crate::duration::parse_duration(&text) {
        let shown = crate::duration::format_duration(d);
        let again = crate::duration::parse_duration(&shown)
            .unwrap_or_else(|e| panic!("`{text}` shows as `{shown}`, which does not parse: {e}"));
        assert_eq!(again.as_micros(), d.as_micros(), "`{text}` → `{shown}`");
    }
}

/// The config file, and the key map built from its `[keys]`.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = crate::config::parse(text, Path::new("fuzz.toml")) {
        let _ = crate::tui::keymap::KeyMap::from_config(&config.keys);
    }
}

/// A user theme file.
pub fn theme(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::tui::theme::parse_theme(text, "fuzz.toml", "fuzz");
}

/// A scenario file: parsed, checked, planned and built into a simulated network, as
/// `demo --scenario-file` does before its scan starts.
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scenario) = crate::sim::parse_scenario(text, "fuzz.toml") else {
        return;
    };
    let Ok(plan) = crate::demo::DemoPlan::new(scenario) else {
        return;
    };
    let _ = crate::demo::suggested_params(&plan.scenario);
    let _ = crate::sim::Simulated::new(&plan.scenario, 1);
}

/// A baseline for `recheck`: nmap XML (whole or cut), a Nessus v2 export, a host:port list or
/// a session log, told apart by their content.
pub fn baseline(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(baseline) = crate::baseline::parse_baseline(&text, "fuzz") {
        let _ = baseline.open_count();
    }
}

/// A session log (`replay`, `report`, a baseline): every entry read; the events played by the
/// replay clock (forward, alarm jumps back and forth, to the end); the final state drawn as the
/// live view draws it and written in every report format.
pub fn session_log(data: &[u8]) {
    let Ok(mut reader) = crate::session::SessionReader::new(Cursor::new(data), "fuzz.jsonl") else {
        return;
    };
    let mut events = Vec::new();
    for entry in &mut reader {
        match entry {
            Ok(crate::session::Entry::Event(event)) => events.push(event),
            Ok(_) => {}
            Err(_) => return,
        }
    }
    let recording =
        crate::replay::command::Recording::of_logs(vec![crate::replay::command::RecordedLog {
            path: "fuzz.jsonl".into(),
            header: reader.header().clone(),
        }]);
    let mut replay =
        crate::replay::Replay::of_recheck(events, recording.thresholds, recording.recheck.clone());
    replay.advance(1.0);
    while replay.next_alarm() {}
    while replay.previous_alarm() {}
    replay.set_speed(crate::replay::MAX_SPEED);
    replay.advance(1e6);
    replay.jump_to_end();
    let state = replay.state();
    draw(state);
    let meta = recording.report_meta(state);
    let input = crate::report::ReportInput::new(state, &meta);
    for format in [
        crate::report::ReportFormat::Text,
        crate::report::ReportFormat::Json,
        crate::report::ReportFormat::Csv,
        crate::report::ReportFormat::NmapXml,
    ] {
        let mut out = Vec::new();
        crate::report::write_report(format, &input, &mut out).expect("writing to memory");
    }
    let _ = crate::headless::text::summary(state);
}

/// Draws `state` on an 80×24 screen as the live view does.
fn draw(state: &crate::state::ScanState) {
    let opts = crate::tui::TuiOptions::default();
    let mut app = crate::tui::App::new(&opts, None);
    app.refresh_index(state, std::time::Instant::now(), true);
    let backend = ratatui::backend::TestBackend::new(80, 24);
    let mut terminal = ratatui::Terminal::new(backend).expect("a test terminal");
    terminal
        .draw(|frame| crate::tui::draw(frame, &app, state))
        .expect("drawing into memory");
}

/// A key spec in `[keys]`: what is accepted shows as a spec that reads back as the same key.
pub fn key_spec(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(chord) = crate::tui::keymap::KeyChord::from_str(&text) {
        let shown = chord.display();
        let again = crate::tui::keymap::KeyChord::from_str(&shown)
            .unwrap_or_else(|e| panic!("`{text}` shows as `{shown}`, which does not parse: {e}"));
        assert_eq!(again, chord, "`{text}` → `{shown}`");
    }
}

/// A banner read from a target: what is shown has no control character and stays within its
/// width.
pub fn banner(data: &[u8]) {
    let shown = crate::banner::display(data, 80);
    assert!(
        !shown.chars().any(char::is_control),
        "a control character survives in {shown:?}"
    );
    assert!(shown.chars().count() <= 80, "{shown:?} is wider than 80");
    let hex = crate::banner::hex(data);
    assert_eq!(hex.len(), data.len().min(crate::banner::BANNER_MAX) * 2);
}
