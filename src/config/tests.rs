use std::time::Duration;

use super::*;
use crate::detector::AlarmThresholds;

const ORIGIN: &str = "/home/user/.config/scanwatch/config.toml";

/// Parses `text` as the file at [`ORIGIN`].
fn parse_text(text: &str) -> Result<Config, Failure> {
    parse(text, Path::new(ORIGIN))
}

/// The message of the usage error `text` must produce.
fn usage_error(text: &str) -> String {
    match parse_text(text) {
        Err(Failure::Usage(message)) => message,
        Err(other) => panic!("expected a usage error for {text:?}, got {other:?}"),
        Ok(config) => panic!("expected an error for {text:?}, got {config:?}"),
    }
}

/// Asserts `message` names the file, `line` and every piece in `parts`.
fn assert_names(message: &str, line: usize, parts: &[&str]) {
    assert!(
        message.starts_with(&format!("{ORIGIN}:{line}:")),
        "expected {ORIGIN}:{line}: at the start of {message:?}"
    );
    for part in parts {
        assert!(message.contains(part), "expected {part:?} in {message:?}");
    }
    assert!(!message.contains('\n'), "one line expected: {message:?}");
}

/// A config with every key set, written as a struct literal so a new field must be added here.
fn every_key_set() -> ScanDefaults {
    ScanDefaults {
        ports: Some("22,80".into()),
        top_ports: 100,
        exclude_ports: Some("9100".into()),
        concurrency: 10,
        max_per_host: 5,
        timeout: Duration::from_secs(2),
        banner_wait: Duration::from_millis(300),
        retries: 2,
        rate: Some(50.0),
        seed: Some(7),
        auto_throttle: true,
    }
}

/// A `[keys]` section listing every action with its default keys.
fn every_action_bound() -> KeysConfig {
    let defaults = crate::tui::KeyMap::default();
    KeysConfig {
        bindings: crate::tui::Action::ALL
            .iter()
            .map(|&a| (a, defaults.keys_for(a)))
            .collect(),
    }
}

/// Every key of every section, as `(section, key)`.
fn every_key() -> Vec<(String, String)> {
    let full = Config {
        scan: every_key_set(),
        alarm: AlarmThresholds::default(),
        keys: every_action_bound(),
        ui: UiConfig {
            fps: 60,
            theme: Some("light".into()),
        },
    };
    let table = toml::Table::try_from(&full).unwrap();
    let mut keys = Vec::new();
    for (section, value) in &table {
        for key in value.as_table().unwrap().keys() {
            keys.push((section.clone(), key.clone()));
        }
    }
    keys
}

#[test]
fn defaults_are_the_documented_values() {
    let scan = Config::default().scan;
    assert_eq!(scan.ports, None);
    assert_eq!(scan.top_ports, 1000);
    assert_eq!(scan.exclude_ports, None);
    assert_eq!(scan.concurrency, 1024);
    assert_eq!(scan.max_per_host, 512);
    assert_eq!(scan.timeout, Duration::from_millis(1500));
    assert_eq!(scan.banner_wait, Duration::from_millis(500));
    assert_eq!(scan.retries, 1);
    assert_eq!(scan.rate, None);
    assert_eq!(scan.seed, None);
    assert!(!scan.auto_throttle);
    assert_eq!(Config::default().alarm, AlarmThresholds::default());
    assert_eq!(Config::default().check(), Ok(()));
}

#[test]
fn empty_and_comment_only_files_give_defaults() {
    for text in [
        "",
        "\n\n",
        "# nothing here\n",
        "[scan]\n",
        "[scan]\n# concurrency = 5\n",
    ] {
        assert_eq!(parse_text(text).unwrap(), Config::default(), "{text:?}");
    }
}

#[test]
fn a_partial_file_keeps_the_other_defaults() {
    let config = parse_text("[scan]\nconcurrency = 200\ntimeout = \"3s\"\n").unwrap();
    let expected = ScanDefaults {
        concurrency: 200,
        timeout: Duration::from_secs(3),
        ..ScanDefaults::default()
    };
    assert_eq!(config.scan, expected);
}

#[test]
fn every_key_can_be_set() {
    let text = r#"
[scan]
ports = "22,80"
top_ports = 100
exclude_ports = "9100"
concurrency = 10
max_per_host = 5
timeout = "2s"
banner_wait = "300ms"
retries = 2
rate = 50
seed = 7
auto_throttle = true
"#;
    assert_eq!(parse_text(text).unwrap().scan, every_key_set());
}

#[test]
fn dotted_keys_and_inline_tables_work_like_a_section() {
    let dotted = parse_text("scan.concurrency = 7\nscan.rate = 2.5\n").unwrap();
    let inline = parse_text("scan = { concurrency = 7, rate = 2.5 }\n").unwrap();
    assert_eq!(dotted, inline);
    assert_eq!(dotted.scan.concurrency, 7);
    assert_eq!(dotted.scan.rate, Some(2.5));
}

#[test]
fn range_limits_are_inclusive() {
    let text = format!(
        "[scan]\ntop_ports = {}\nconcurrency = {}\nmax_per_host = {}\ntimeout = \"1ms\"\nretries = {}\nrate = {RATE_MAX}\nseed = 0\n",
        TOP_PORTS_RANGE.end(),
        CONCURRENCY_RANGE.end(),
        MAX_PER_HOST_RANGE.end(),
        RETRIES_RANGE.end(),
    );
    let scan = parse_text(&text).unwrap().scan;
    assert_eq!(scan.timeout, *TIMEOUT_RANGE.start());
    for wait in ["0ms", "0", "10s"] {
        let scan = parse_text(&format!("[scan]\nbanner_wait = \"{wait}\"\n"))
            .unwrap()
            .scan;
        assert!(BANNER_WAIT_RANGE.contains(&scan.banner_wait), "{wait}");
    }
    assert_eq!(scan.rate, Some(RATE_MAX));
    let low = "[scan]\ntop_ports = 1\nconcurrency = 1\nmax_per_host = 1\ntimeout = \"10m\"\nretries = 0\nrate = 0.001\n";
    assert_eq!(parse_text(low).unwrap().scan.timeout, *TIMEOUT_RANGE.end());
}

#[test]
fn the_default_config_text_parses_to_the_defaults() {
    assert_eq!(
        parse_text(&default_config_text()).unwrap(),
        Config::default()
    );
}

#[test]
fn the_default_config_text_mentions_every_key() {
    let text = default_config_text();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for (section, key) in every_key() {
        assert!(
            lines.contains(&format!("[{section}]").as_str()),
            "[{section}] missing"
        );
        let set = format!("{key} = ");
        let commented = format!("# {key} = ");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&set) || l.starts_with(&commented)),
            "[{section}] {key} is not in the default config text"
        );
    }
}

#[test]
fn the_default_config_text_explains_precedence_location_and_analogues() {
    let text = default_config_text();
    for needle in [
        "command-line options > this file > built-in defaults",
        "$XDG_CONFIG_HOME/scanwatch/config.toml",
        "~/.config/scanwatch/config.toml",
        "--config",
        "max_checks",
        "checks_read_timeout",
        "--max-rtt-timeout",
        "1 to 100000",
        "0 to 10",
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} missing from the default config text"
        );
    }
    for line in text.lines().filter(|l| !l.is_empty()) {
        let is_toml = line.starts_with('#') || line.starts_with('[') || line.contains(" = ");
        assert!(is_toml, "unexpected line {line:?}");
    }
}

#[test]
fn every_key_says_what_it_allows() {
    for (section, key) in every_key() {
        let allowed = Config::allowed(&section, &key);
        assert!(allowed.is_some_and(|a| !a.is_empty()), "[{section}] {key}");
    }
    assert_eq!(Config::allowed("scan", "nope"), None);
    assert_eq!(Config::allowed("nope", "concurrency"), None);
}

#[test]
fn check_names_the_first_key_out_of_range() {
    let mut config = Config::default();
    config.scan.retries = 11;
    let err = config.check().unwrap_err();
    assert_eq!((err.section, err.key), ("scan", "retries"));
    assert_eq!(
        err.to_string(),
        "[scan] retries is out of range; allowed 0 to 10"
    );
    config.scan.retries = 1;
    config.scan.rate = Some(f64::NAN);
    assert_eq!(config.check().unwrap_err().key, "rate");
}

#[test]
fn an_unknown_key_names_the_key_its_section_and_the_allowed_keys() {
    let message = usage_error("# scan settings\n\n[scan]\nconcurency = 3\n");
    assert_names(
        &message,
        4,
        &[
            "unknown key `concurency` in [scan]; allowed keys: ports, top_ports, exclude_ports, \
             concurrency, max_per_host, timeout, banner_wait, retries, rate, seed, auto_throttle",
            "did you mean `concurrency`?",
        ],
    );
}

#[test]
fn an_unknown_key_far_from_any_allowed_one_gets_no_suggestion() {
    let message = usage_error("[scan]\nwobble = 3\n");
    assert_names(&message, 2, &["unknown key `wobble` in [scan]"]);
    assert!(!message.contains("did you mean"), "{message}");
}

#[test]
fn an_unknown_section_names_the_section_and_the_allowed_sections() {
    let message = usage_error("[sacn]\nconcurrency = 3\n");
    assert_names(
        &message,
        1,
        &[
            "unknown section [sacn]; allowed sections: [scan], [alarm], [keys], [ui]",
            "did you mean [scan]?",
        ],
    );
    let later = usage_error("[scan]\nretries = 2\n\n[display]\n");
    assert_names(&later, 4, &["unknown section [display]"]);
}

#[test]
fn a_key_outside_any_section_is_pointed_at_its_section() {
    let message = usage_error("concurrency = 5\n");
    assert_names(
        &message,
        1,
        &["`concurrency`", "outside any section", "[scan]"],
    );
    let unknown = usage_error("colour = 5\n");
    assert_names(
        &unknown,
        1,
        &["unknown key `colour` outside any section", "[scan]"],
    );
}

#[test]
fn out_of_range_values_name_the_key_the_value_and_the_range() {
    let cases = [
        (
            "concurrency = 0",
            "[scan] concurrency = 0 is out of range; allowed 1 to 100000",
        ),
        ("concurrency = 100001", "allowed 1 to 100000"),
        (
            "max_per_host = 0",
            "[scan] max_per_host = 0 is out of range; allowed 1 to 100000",
        ),
        (
            "top_ports = 0",
            "[scan] top_ports = 0 is out of range; allowed 1 to ",
        ),
        (
            "top_ports = 70000",
            "[scan] top_ports = 70000 is out of range",
        ),
        (
            "retries = 11",
            "[scan] retries = 11 is out of range; allowed 0 to 10",
        ),
        (
            "timeout = \"0ms\"",
            "[scan] timeout = \"0ms\" is out of range; allowed \"1ms\" to \"10m\"",
        ),
        (
            "timeout = \"11m\"",
            "[scan] timeout = \"11m\" is out of range",
        ),
        (
            "banner_wait = \"11s\"",
            "[scan] banner_wait = \"11s\" is out of range; allowed \"0ms\" (do not read) to \"10s\"",
        ),
        (
            "rate = 0",
            "[scan] rate = 0 is out of range; allowed a number of probes per second above 0",
        ),
        ("rate = -5.0", "[scan] rate = -5.0 is out of range"),
        ("rate = 10000001", "at most 10000000"),
        ("rate = nan", "[scan] rate = nan is out of range"),
        ("rate = inf", "[scan] rate = inf is out of range"),
        // Out of range for the type itself: serde rejects these before the range check.
        (
            "concurrency = -1",
            "[scan] concurrency = -1 is out of range; allowed 1 to 100000",
        ),
        (
            "concurrency = 99999999999",
            "[scan] concurrency = 99999999999 is out of range",
        ),
        (
            "seed = -1",
            "[scan] seed = -1 is out of range; allowed a whole number from 0",
        ),
    ];
    for (line, expected) in cases {
        let message = usage_error(&format!("[scan]\n# the key below\n\n{line}   # comment\n"));
        assert_names(&message, 4, &[expected]);
    }
}

#[test]
fn wrong_types_name_the_key_what_was_given_and_what_is_allowed() {
    let cases = [
        (
            "concurrency = \"lots\"",
            "[scan] concurrency = \"lots\" is a string, not a whole number; allowed 1 to 100000",
        ),
        (
            "concurrency = 1.5",
            "[scan] concurrency = 1.5 is a float, not a whole number",
        ),
        (
            "concurrency = [1, 2]",
            "[scan] concurrency = [1, 2] is an array",
        ),
        (
            "rate = \"fast\"",
            "[scan] rate = \"fast\" is a string, not a number",
        ),
        (
            "ports = 80",
            "[scan] ports = 80 is an integer, not a string in quotes; allowed a port list",
        ),
        (
            "timeout = 5",
            "[scan] timeout = 5 is an integer, not a string in quotes; allowed \"1ms\" to \"10m\"",
        ),
        (
            "seed = true",
            "[scan] seed = true is a boolean, not a whole number",
        ),
    ];
    for (line, expected) in cases {
        let message = usage_error(&format!("[scan]\n{line}\n"));
        assert_names(&message, 2, &[expected]);
    }
}

#[test]
fn a_bad_duration_names_the_key_and_shows_how_to_write_one() {
    let message = usage_error("[scan]\nconcurrency = 5\n\n\ntimeout = \"fast\"\n");
    assert_names(
        &message,
        5,
        &["[scan] timeout = \"fast\": ", "write e.g. 500ms, 2s or 1m"],
    );
    let unit = usage_error("[scan]\ntimeout = \"2x\"\n");
    assert_names(&unit, 2, &["[scan] timeout = \"2x\": unknown unit `x`"]);
}

#[test]
fn a_section_that_is_not_a_table_is_named() {
    assert_names(
        &usage_error("scan = 5\n"),
        1,
        &["[scan] must be a section", "not an integer"],
    );
    assert_names(
        &usage_error("[[scan]]\n"),
        1,
        &["[scan] must be a section", "not an array"],
    );
}

#[test]
fn syntax_errors_give_line_and_column() {
    let message = usage_error("[scan]\nconcurrency = lots\n");
    assert_names(
        &message,
        2,
        &["invalid TOML in [scan] concurrency", "quoted"],
    );
    assert!(
        message.starts_with(&format!("{ORIGIN}:2:15: ")),
        "{message}"
    );

    let unclosed = usage_error("[scan]\nretries = 1\n[scan\n");
    assert!(
        unclosed.starts_with(&format!("{ORIGIN}:3:6: invalid TOML")),
        "{unclosed}"
    );

    let no_value = usage_error("[scan]\nretries =\n");
    assert_names(&no_value, 2, &["invalid TOML"]);
}

#[test]
fn duplicate_keys_and_sections_are_named() {
    let key = usage_error("[scan]\nretries = 1\nconcurrency = 4\nretries = 2\n");
    assert_names(
        &key,
        4,
        &["duplicate key [scan] retries; it is already set on line 2"],
    );
    let section = usage_error("[scan]\nretries = 1\n[scan]\n");
    assert_names(&section, 3, &["section [scan] appears twice"]);
}

#[test]
fn line_numbers_count_crlf_lines_and_multibyte_text() {
    let message = usage_error("# réglages \u{2014} scan\r\n[scan]\r\nconcurrency = 0\r\n");
    assert_names(&message, 3, &["[scan] concurrency = 0 is out of range"]);
    let column = usage_error("# é\n[scan]\nconcurrency = é\n");
    assert!(column.starts_with(&format!("{ORIGIN}:3:15: ")), "{column}");
}

#[test]
fn long_values_are_shortened_in_messages() {
    let long = "9".repeat(200);
    let message = usage_error(&format!("[scan]\nconcurrency = {long}\n"));
    assert!(message.contains('…'), "{message}");
    assert!(message.len() < 200, "{message}");
    let multiline = usage_error("[scan]\nretries = \"\"\"\n1\n2\"\"\"\n");
    assert_names(&multiline, 2, &["[scan] retries = \"\"\"…"]);
}

#[test]
fn no_prefix_of_the_default_text_panics() {
    let text = default_config_text() + "[scan]\nconcurrency = \"\u{e9}\"\n";
    for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
        match parse_text(&text[..end]) {
            Ok(_) => {}
            Err(Failure::Usage(message)) => {
                assert!(message.starts_with(ORIGIN), "{message}");
                assert!(!message.contains('\n'), "{message:?}");
            }
            Err(other) => panic!("{other:?}"),
        }
    }
}

mod files {
    use std::fs;
    use std::io::Write;

    use super::*;

    /// The usage error `load` gives for the explicit `path`.
    fn load_error(path: &Path) -> String {
        match load(Some(path)) {
            Err(Failure::Usage(message)) => message,
            other => panic!(
                "expected a usage error for {}, got {other:?}",
                path.display()
            ),
        }
    }

    #[test]
    fn an_explicit_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.toml");
        fs::write(&path, "[scan]\nretries = 3\n").unwrap();
        let loaded = load(Some(&path)).unwrap();
        assert_eq!(loaded.path.as_deref(), Some(path.as_path()));
        assert_eq!(loaded.config.scan.retries, 3);
    }

    #[test]
    fn the_line_of_ui_theme_is_known() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ui.toml");
        fs::write(
            &path,
            "[scan]\nretries = 3\n\n[ui]\nfps = 10\ntheme = \"nosuch\"\n",
        )
        .unwrap();
        let loaded = load(Some(&path)).unwrap();
        assert_eq!(loaded.ui_theme_at(), Some(format!("{}:6", path.display())));
        fs::write(&path, "[ui]\nfps = 10\n").unwrap();
        assert_eq!(load(Some(&path)).unwrap().ui_theme_at(), None);
        fs::write(&path, "ui = { theme = \"light\" }\n").unwrap();
        assert_eq!(
            load(Some(&path)).unwrap().ui_theme_at(),
            Some(format!("{}:1", path.display()))
        );
    }

    #[test]
    fn a_missing_explicit_file_is_a_usage_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.toml");
        let message = load_error(&path);
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("does not exist"), "{message}");
    }

    #[test]
    fn errors_in_a_loaded_file_name_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(&path, "[scan]\nconcurrency = 0\n").unwrap();
        let message = load_error(&path);
        assert!(
            message.starts_with(&format!("{}:2: [scan] concurrency", path.display())),
            "{message}"
        );
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let message = load_error(dir.path());
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
        assert!(message.contains("is a directory"), "{message}");
    }

    #[test]
    fn a_file_over_one_mebibyte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.toml");
        let mut file = fs::File::create(&path).unwrap();
        let line = "# padding padding padding padding padding padding padding padding\n";
        let mut written = 0;
        while written <= file::MAX_FILE_BYTES as usize {
            file.write_all(line.as_bytes()).unwrap();
            written += line.len();
        }
        drop(file);
        let message = load_error(&path);
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("larger than 1024 KiB"), "{message}");
    }

    #[test]
    fn a_file_of_exactly_one_mebibyte_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edge.toml");
        let mut text = "[scan]\nretries = 2\n".to_string();
        let pad = file::MAX_FILE_BYTES as usize - text.len();
        text.push('#');
        text.push_str(&" ".repeat(pad - 2));
        text.push('\n');
        assert_eq!(text.len() as u64, file::MAX_FILE_BYTES);
        fs::write(&path, text).unwrap();
        assert_eq!(load(Some(&path)).unwrap().config.scan.retries, 2);
    }

    #[test]
    fn a_binary_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("binary.toml");
        fs::write(&path, b"[scan]\n\x7fELF\x02\x01\x01\x00\x00").unwrap();
        let message = load_error(&path);
        assert!(
            message.starts_with(&format!("{}:2: ", path.display())),
            "{message}"
        );
        assert!(message.contains("binary"), "{message}");
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.toml");
        fs::write(&path, b"[scan]\n# r\xe9glages\nretries = 1\n").unwrap();
        let message = load_error(&path);
        assert!(
            message.starts_with(&format!("{}:2: ", path.display())),
            "{message}"
        );
        assert!(message.contains("not UTF-8"), "{message}");
    }

    #[test]
    fn a_leading_byte_order_mark_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bom.toml");
        fs::write(&path, "\u{feff}[scan]\nretries = 4\n").unwrap();
        assert_eq!(load(Some(&path)).unwrap().config.scan.retries, 4);
    }

    #[test]
    fn an_unreachable_file_is_a_usage_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_dir = dir.path().join("plain");
        fs::write(&not_a_dir, "").unwrap();
        let path = not_a_dir.join("config.toml");
        let message = load_error(&path);
        assert!(message.contains("cannot read config file"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
    }

    #[test]
    fn an_unreadable_file_is_a_usage_error_naming_it() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.toml");
        fs::write(&path, "[scan]\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
        if fs::File::open(&path).is_ok() {
            eprintln!("skipped: this user (root?) can read a mode-000 file");
            return;
        }
        let message = load_error(&path);
        assert!(message.contains("cannot read config file"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
    }

    #[test]
    fn the_default_path_follows_xdg_config_home() {
        let path = |xdg: Option<&str>, home: Option<&str>| {
            file::path_from_env(xdg.map(Into::into), home.map(Into::into))
        };
        assert_eq!(
            path(Some("/xdg"), Some("/home/u")),
            Some(PathBuf::from("/xdg/scanwatch/config.toml"))
        );
        for unusable in [None, Some(""), Some("relative/dir")] {
            assert_eq!(
                path(unusable, Some("/home/u")),
                Some(PathBuf::from("/home/u/.config/scanwatch/config.toml")),
                "XDG_CONFIG_HOME={unusable:?}"
            );
        }
        assert_eq!(path(None, None), None);
        assert_eq!(path(Some(""), Some("")), None);
    }

    #[test]
    fn user_themes_live_beside_the_default_config_file() {
        let dir = |xdg: Option<&str>, home: Option<&str>| {
            file::themes_dir_from_env(xdg.map(Into::into), home.map(Into::into))
        };
        assert_eq!(
            dir(Some("/xdg"), Some("/home/u")),
            Some(PathBuf::from("/xdg/scanwatch/themes"))
        );
        assert_eq!(
            dir(Some("relative"), Some("/home/u")),
            Some(PathBuf::from("/home/u/.config/scanwatch/themes"))
        );
        assert_eq!(dir(None, None), None);
    }

    #[test]
    fn existence_counts_only_not_found_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        assert!(file::exists(dir.path()));
        assert!(!file::exists(&dir.path().join("absent.toml")));
    }
}

#[test]
fn the_commented_out_examples_are_valid_when_uncommented() {
    let text = default_config_text();
    let uncommented: String = text
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if rest.contains(" = ") => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(uncommented, text);
    let scan = parse_text(&uncommented).unwrap().scan;
    assert!(scan.ports.is_some() && scan.exclude_ports.is_some());
    assert!(scan.rate.is_some() && scan.seed.is_some());
}

#[test]
fn top_ports_stops_at_the_ranked_list() {
    assert_eq!(
        *TOP_PORTS_RANGE.end() as usize,
        crate::ports::services::RANKED_TCP_PORTS.len()
    );
    let text = format!("[scan]\ntop_ports = {}\n", TOP_PORTS_RANGE.end() + 1);
    assert_names(
        &usage_error(&text),
        2,
        &["[scan] top_ports = ", "is out of range"],
    );
}

#[test]
fn bad_port_specs_name_the_key_and_say_what_is_wrong() {
    for (line, key) in [
        ("ports = \"\"", "[scan] ports = \"\": "),
        (
            "ports = \"22,nosuchservice\"",
            "[scan] ports = \"22,nosuchservice\": ",
        ),
        ("ports = \"80-70000\"", "[scan] ports = \"80-70000\": "),
        (
            "exclude_ports = \"U:53\"",
            "[scan] exclude_ports = \"U:53\": ",
        ),
    ] {
        let message = usage_error(&format!("[scan]\nretries = 1\n{line}\n"));
        assert_names(&message, 3, &[key]);
        let reason = message.split(key).nth(1).unwrap_or_default();
        assert!(!reason.is_empty(), "no reason in {message:?}");
    }
    let fine = parse_text("[scan]\nports = \"T:22, http*, 8000-\"\nexclude_ports = \"-1023\"\n");
    assert!(fine.is_ok(), "{fine:?}");
}

/// Every `[alarm]` key set to a value other than its default.
fn every_alarm_key_set() -> AlarmThresholds {
    AlarmThresholds {
        baseline_probes: 40,
        cusum_target: 0.8,
        cusum_threshold: 12.5,
        sentinel_failures: 3,
        loss_check_timeouts: 0.3,
        grace_s: 2.5,
        range_min_hosts: 4,
        range_window_s: 8.0,
        rate_retry_answers: 6,
        qos_factor: 4.0,
        qos_min_extra_ms: 10.0,
        qos_min_hosts: 5,
        qos_host_fraction: 0.5,
        deception_open_ports: 200,
        deception_open_fraction: 0.75,
        deception_min_probes: 80,
        local_errors: 20,
        local_window_s: 2.0,
    }
}

#[test]
fn every_alarm_key_can_be_set() {
    let text = r#"
[alarm]
baseline_probes = 40
cusum_target = 0.8
cusum_threshold = 12.5
sentinel_failures = 3
loss_check_timeouts = 0.3
grace_s = 2.5
range_min_hosts = 4
range_window_s = 8
rate_retry_answers = 6
qos_factor = 4
qos_min_extra_ms = 10
qos_min_hosts = 5
qos_host_fraction = 0.5
deception_open_ports = 200
deception_open_fraction = 0.75
deception_min_probes = 80
local_errors = 20
local_window_s = 2
"#;
    let config = parse_text(text).unwrap();
    assert_eq!(config.alarm, every_alarm_key_set());
    assert_eq!(config.scan, ScanDefaults::default());
    let every = toml::Table::try_from(every_alarm_key_set()).unwrap();
    let defaults = toml::Table::try_from(AlarmThresholds::default()).unwrap();
    for (key, value) in &every {
        assert_ne!(
            Some(value),
            defaults.get(key),
            "[alarm] {key} keeps its default"
        );
    }
}

#[test]
fn a_partial_alarm_section_keeps_the_other_defaults() {
    let config = parse_text("[scan]\nretries = 2\n\n[alarm]\ndeception_open_ports = 5\n").unwrap();
    assert_eq!(config.scan.retries, 2);
    assert_eq!(
        config.alarm,
        AlarmThresholds {
            deception_open_ports: 5,
            ..AlarmThresholds::default()
        }
    );
}

#[test]
fn every_alarm_key_is_in_the_default_text_with_its_default() {
    let text = default_config_text();
    let rest = text.split("[alarm]\n").nth(1).expect("an [alarm] section");
    let section = rest.split("\n[").next().unwrap_or(rest);
    let defaults = toml::Table::try_from(AlarmThresholds::default()).unwrap();
    let parsed: toml::Table = toml::from_str(section).unwrap();
    assert_eq!(parsed, defaults, "every key, each at its default");
    for key in defaults.keys() {
        let allowed = Config::allowed("alarm", key);
        assert!(allowed.is_some_and(|a| !a.is_empty()), "[alarm] {key}");
    }
}

#[test]
fn alarm_range_limits_are_inclusive() {
    let high = format!(
        "[alarm]\nbaseline_probes = {}\ncusum_target = 1\ncusum_threshold = {CUSUM_THRESHOLD_MAX}\n\
         sentinel_failures = {}\nloss_check_timeouts = 1\ngrace_s = {}\nrange_min_hosts = {}\n\
         range_window_s = {}\nrate_retry_answers = {}\nqos_factor = {}\nqos_min_extra_ms = {}\n\
         qos_min_hosts = {}\nqos_host_fraction = 1\ndeception_open_ports = {}\n\
         deception_open_fraction = 1\ndeception_min_probes = {}\nlocal_errors = {}\n\
         local_window_s = {}\n",
        BASELINE_PROBES_RANGE.end(),
        SENTINEL_FAILURES_RANGE.end(),
        SECONDS_RANGE.end(),
        RANGE_MIN_HOSTS_RANGE.end(),
        SECONDS_RANGE.end(),
        RATE_RETRY_ANSWERS_RANGE.end(),
        QOS_FACTOR_RANGE.end(),
        QOS_MIN_EXTRA_MS_RANGE.end(),
        QOS_MIN_HOSTS_RANGE.end(),
        DECEPTION_OPEN_PORTS_RANGE.end(),
        DECEPTION_MIN_PROBES_RANGE.end(),
        LOCAL_ERRORS_RANGE.end(),
        SECONDS_RANGE.end(),
    );
    assert!(parse_text(&high).is_ok(), "{:?}", parse_text(&high));
    let low = "[alarm]\nbaseline_probes = 1\ncusum_target = 0.001\ncusum_threshold = 0.001\n\
               sentinel_failures = 1\nloss_check_timeouts = 0.001\ngrace_s = 0\n\
               range_min_hosts = 2\nrange_window_s = 0\nrate_retry_answers = 1\nqos_factor = 1\n\
               qos_min_extra_ms = 0\nqos_min_hosts = 1\nqos_host_fraction = 0.001\n\
               deception_open_ports = 1\ndeception_open_fraction = 0.001\n\
               deception_min_probes = 1\nlocal_errors = 1\nlocal_window_s = 0\n";
    assert!(parse_text(low).is_ok(), "{:?}", parse_text(low));
}

#[test]
fn alarm_values_out_of_range_name_the_key_the_value_and_the_range() {
    let cases = [
        (
            "baseline_probes = 0",
            "[alarm] baseline_probes = 0 is out of range; allowed 1 to 65536",
        ),
        (
            "cusum_target = 0",
            "[alarm] cusum_target = 0 is out of range; allowed a number above 0 and at most 1",
        ),
        (
            "cusum_target = 1.5",
            "[alarm] cusum_target = 1.5 is out of range",
        ),
        (
            "cusum_target = nan",
            "[alarm] cusum_target = nan is out of range",
        ),
        (
            "cusum_threshold = 0",
            "[alarm] cusum_threshold = 0 is out of range",
        ),
        ("cusum_threshold = inf", "at most 1000"),
        (
            "sentinel_failures = 0",
            "[alarm] sentinel_failures = 0 is out of range; allowed 1 to 100",
        ),
        (
            "loss_check_timeouts = -0.1",
            "[alarm] loss_check_timeouts = -0.1 is out of range",
        ),
        (
            "grace_s = -1",
            "[alarm] grace_s = -1 is out of range; allowed 0 to 600 seconds",
        ),
        ("grace_s = 601", "[alarm] grace_s = 601 is out of range"),
        (
            "range_min_hosts = 1",
            "[alarm] range_min_hosts = 1 is out of range; allowed 2 to 1000000",
        ),
        (
            "range_window_s = nan",
            "[alarm] range_window_s = nan is out of range",
        ),
        (
            "rate_retry_answers = 65",
            "[alarm] rate_retry_answers = 65 is out of range; allowed 1 to 64",
        ),
        (
            "rate_retry_answers = -1",
            "[alarm] rate_retry_answers = -1 is out of range; allowed 1 to 64",
        ),
        (
            "qos_factor = 0.5",
            "[alarm] qos_factor = 0.5 is out of range; allowed 1 to 1000",
        ),
        (
            "qos_min_extra_ms = -5",
            "[alarm] qos_min_extra_ms = -5 is out of range",
        ),
        (
            "qos_min_hosts = 0",
            "[alarm] qos_min_hosts = 0 is out of range",
        ),
        (
            "qos_host_fraction = 2",
            "[alarm] qos_host_fraction = 2 is out of range",
        ),
        (
            "deception_open_ports = 0",
            "[alarm] deception_open_ports = 0 is out of range; allowed 1 to 65536",
        ),
        (
            "deception_open_ports = 65537",
            "[alarm] deception_open_ports = 65537 is out of range",
        ),
        (
            "deception_open_fraction = 0",
            "[alarm] deception_open_fraction = 0 is out of range",
        ),
        (
            "deception_min_probes = 0",
            "[alarm] deception_min_probes = 0 is out of range",
        ),
        (
            "local_errors = 0",
            "[alarm] local_errors = 0 is out of range",
        ),
        (
            "local_window_s = 1e9",
            "[alarm] local_window_s = 1e9 is out of range",
        ),
    ];
    for (line, expected) in cases {
        let message = usage_error(&format!("[scan]\nretries = 1\n\n[alarm]\n{line}\n"));
        assert_names(&message, 5, &[expected]);
    }
}

#[test]
fn alarm_check_names_the_first_key_out_of_range() {
    let mut config = Config::default();
    config.alarm.qos_host_fraction = 0.0;
    config.alarm.local_errors = 0;
    let err = config.check().unwrap_err();
    assert_eq!((err.section, err.key), ("alarm", "qos_host_fraction"));
    assert_eq!(
        err.to_string(),
        "[alarm] qos_host_fraction is out of range; allowed a number above 0 and at most 1, e.g. 0.25"
    );
    config.alarm.qos_host_fraction = 0.5;
    assert_eq!(config.check().unwrap_err().key, "local_errors");
    config.alarm.local_errors = 1;
    config.scan.retries = 11;
    assert_eq!(
        config.check().unwrap_err().section,
        "scan",
        "[scan] is checked first"
    );
}

#[test]
fn an_unknown_alarm_key_names_the_file_line_key_and_the_allowed_keys() {
    let message = usage_error("[scan]\nretries = 1\n\n[alarm]\ngrace_s = 2\ndeception_ports = 5\n");
    assert_names(
        &message,
        6,
        &[
            "unknown key `deception_ports` in [alarm]; allowed keys: baseline_probes, ",
            "local_window_s",
            "did you mean `deception_open_ports`?",
        ],
    );
    let dotted = usage_error("alarm.qos_facter = 2\n");
    assert_names(
        &dotted,
        1,
        &[
            "unknown key `qos_facter` in [alarm]",
            "did you mean `qos_factor`?",
        ],
    );
    let outside = usage_error("grace_s = 2\n");
    assert_names(
        &outside,
        1,
        &["`grace_s` is outside any section; move it under [alarm]"],
    );
}

#[test]
fn wrong_alarm_types_name_the_key() {
    let cases = [
        (
            "baseline_probes = 2.5",
            "[alarm] baseline_probes = 2.5 is a float, not a whole number; allowed 1 to 65536",
        ),
        (
            "cusum_target = \"high\"",
            "[alarm] cusum_target = \"high\" is a string, not a number; allowed a number above 0",
        ),
        (
            "grace_s = \"3s\"",
            "[alarm] grace_s = \"3s\" is a string, not a number",
        ),
        (
            "local_errors = true",
            "[alarm] local_errors = true is a boolean",
        ),
    ];
    for (line, expected) in cases {
        let message = usage_error(&format!("[alarm]\n{line}\n"));
        assert_names(&message, 2, &[expected]);
    }
}

#[test]
fn auto_throttle_is_true_or_false() {
    assert!(
        parse_text("[scan]\nauto_throttle = true\n")
            .unwrap()
            .scan
            .auto_throttle
    );
    let message = usage_error("[scan]\nauto_throttle = \"yes\"\n");
    assert_names(
        &message,
        2,
        &["[scan] auto_throttle = \"yes\" is a string, not true or false"],
    );
}

#[test]
fn ui_defaults_are_30_fps_and_no_theme_named() {
    let ui = Config::default().ui;
    assert_eq!(ui.fps, 30);
    assert_eq!(
        ui.theme, None,
        "dark, or mono under NO_COLOR, is decided at start-up"
    );
    assert_eq!(parse_text("[ui]\n").unwrap(), Config::default());
}

#[test]
fn every_ui_key_can_be_set_and_fps_limits_are_inclusive() {
    let ui = parse_text("[ui]\nfps = 120\ntheme = \"high-contrast\"\n")
        .unwrap()
        .ui;
    assert_eq!(
        ui,
        UiConfig {
            fps: 120,
            theme: Some("high-contrast".into())
        }
    );
    assert_eq!(parse_text("[ui]\nfps = 1\n").unwrap().ui.fps, 1);
    let path = parse_text("[ui]\ntheme = \"/home/u/my theme.toml\"\n").unwrap();
    assert_eq!(path.ui.theme.as_deref(), Some("/home/u/my theme.toml"));
}

#[test]
fn bad_ui_values_name_the_key_the_value_and_what_is_allowed() {
    let cases = [
        (
            "fps = 0",
            3,
            "[ui] fps = 0 is out of range; allowed 1 to 120",
        ),
        (
            "fps = 121",
            3,
            "[ui] fps = 121 is out of range; allowed 1 to 120",
        ),
        (
            "fps = -1",
            3,
            "[ui] fps = -1 is out of range; allowed 1 to 120",
        ),
        (
            "fps = \"fast\"",
            3,
            "[ui] fps = \"fast\" is a string, not a whole number; allowed 1 to 120",
        ),
        ("theme = \"\"", 3, "[ui] theme = \"\": empty; name a theme"),
        ("theme = \"  \"", 3, "[ui] theme = \"  \": empty"),
        (
            "theme = \"a\\u001bb\"",
            3,
            "[ui] theme = \"a\\u001bb\": not a theme name or a path",
        ),
        (
            "theme = 5",
            3,
            "[ui] theme = 5 is an integer, not a string in quotes; allowed a theme name",
        ),
        (
            "them = \"light\"",
            3,
            "unknown key `them` in [ui]; allowed keys: fps, theme",
        ),
    ];
    for (line, at, expected) in cases {
        let message = usage_error(&format!("[ui]\n# the key below\n{line}\n"));
        assert_names(&message, at, &[expected]);
    }
    assert_names(
        &usage_error("[ui]\nthem = \"light\"\n"),
        2,
        &["did you mean `theme`?"],
    );
    assert_names(
        &usage_error("theme = \"light\"\n"),
        1,
        &["`theme` is outside any section; move it under [ui]"],
    );
}

/// The key map a config text gives.
fn key_map(text: &str) -> crate::tui::KeyMap {
    crate::tui::KeyMap::from_config(&parse_text(text).unwrap().keys).unwrap()
}

#[test]
fn a_listed_action_gets_exactly_its_keys_and_the_others_keep_their_defaults() {
    use crate::tui::{Action, KeyMap};
    let map = key_map("[keys]\nquit = [\"x\", \"ctrl-q\"]\nconcurrency_down = \"_\"\n");
    assert_eq!(map.keys_for(Action::Quit), ["x", "ctrl-q"]);
    assert_eq!(map.keys_for(Action::ConcurrencyDown), ["_"]);
    let defaults = KeyMap::default();
    for action in Action::ALL {
        if ![Action::Quit, Action::ConcurrencyDown].contains(&action) {
            assert_eq!(map.keys_for(action), defaults.keys_for(action), "{action}");
        }
    }
    assert_eq!(map.bindings().count(), defaults.bindings().count());
    let q = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('q'),
        crossterm::event::KeyModifiers::NONE,
    );
    assert_eq!(map.action(&q), None, "`q` is free now");
    let dotted = parse_text("keys.quit = \"x\"\nkeys.help = [\"?\", \"f1\"]\n").unwrap();
    assert_eq!(
        dotted.keys,
        KeysConfig::from_pairs([(Action::Quit, &["x"][..]), (Action::Help, &["?", "f1"][..])])
    );
}

#[test]
fn an_action_may_take_a_key_from_another_that_is_rebound_too() {
    use crate::tui::Action;
    let map = key_map("[keys]\nconcurrency_down = \"c\"\ncycle_theme = \"T\"\n");
    assert_eq!(map.keys_for(Action::ConcurrencyDown), ["c"]);
    assert_eq!(map.keys_for(Action::CycleTheme), ["T"]);
    let unbound = key_map("[keys]\nhelp = []\n");
    assert!(unbound.keys_for(Action::Help).is_empty());
    let same = key_map("[keys]\nbottom = [\"G\", \"shift-g\", \"end\"]\n");
    assert_eq!(
        same.keys_for(Action::Bottom),
        ["G", "end"],
        "one chord, written twice"
    );
}

#[test]
fn an_unknown_action_names_the_file_line_and_the_actions() {
    let message = usage_error("[keys]\nquit = \"q\"\nconcurency_down = \"-\"\n");
    assert_names(
        &message,
        3,
        &[
            "unknown key `concurency_down` in [keys]; allowed keys: quit, help, focus_next",
            "cycle_theme",
            "did you mean `concurrency_down`?",
        ],
    );
    let far = usage_error("[keys]\n\njump = \"j\"\n");
    assert_names(&far, 3, &["unknown key `jump` in [keys]"]);
    assert!(!far.contains("did you mean"), "{far}");
    assert_names(
        &usage_error("quit = \"q\"\n"),
        1,
        &["`quit` is outside any section; move it under [keys]"],
    );
}

#[test]
fn a_key_that_cannot_be_read_names_the_action_and_the_key() {
    let cases = [
        (
            "quit = \"ctlr-c\"",
            "[keys] quit = \"ctlr-c\": `ctlr-c`: unknown modifier `ctlr-` (did you mean `ctrl-`?)",
        ),
        (
            "quit = [\"q\", \"escc\"]",
            "[keys] quit = [\"q\", \"escc\"]: `escc` is not a key (did you mean `esc`?)",
        ),
        ("help = \"f13\"", "function keys are f1 to f12"),
        ("help = \"\"", "[keys] help = \"\": an empty key"),
        ("help = \"ctrl-\"", "`ctrl-` needs a key after `ctrl-`"),
        (
            "help = \"shift-1\"",
            "write the character the shifted key types",
        ),
        ("help = \"ctrl-G\"", "write `ctrl-g`"),
        ("help = \"ctrl-ctrl-x\"", "names `ctrl-` twice"),
        ("help = \"\\t\"", "not a key that can be bound"),
        ("quit = []", "[keys] quit = []: quit needs at least one key"),
        (
            "quit = 5",
            "[keys] quit = 5 is an integer, not a key in quotes or a list of keys; allowed a key in quotes",
        ),
        ("quit = [\"q\", 5]", "[keys] quit = [\"q\", 5] is an array"),
        (
            "quit = { key = \"q\" }",
            "[keys] quit = { key = \"q\" } is a table",
        ),
    ];
    for (line, expected) in cases {
        let message = usage_error(&format!("[keys]\nup = \"k\"\n{line}\n"));
        assert_names(&message, 3, &[expected]);
    }
}

#[test]
fn a_key_bound_twice_names_both_actions() {
    let message = usage_error("[keys]\nhelp = \"?\"\n\nconcurrency_down = \"c\"\n");
    assert_names(
        &message,
        4,
        &[
            "[keys] concurrency_down = \"c\": `c` is already a default key of cycle_theme",
            "rebind cycle_theme too (e.g. cycle_theme = \"…\" in [keys])",
        ],
    );
    // Whichever of the two comes later in the file is pointed at.
    let both = usage_error("[keys]\nhelp = \"x\"\nquit = [\"q\", \"x\"]\n");
    assert_names(
        &both,
        3,
        &["[keys] quit = [\"q\", \"x\"]: `x` is bound to both quit and help; a key does one thing"],
    );
    let swapped = usage_error("[keys]\nquit = [\"q\", \"x\"]\n\nhelp = \"x\"\n");
    assert_names(
        &swapped,
        4,
        &["[keys] help = \"x\": `x` is bound to both quit and help"],
    );
    let shifted = usage_error("[keys]\ntop = \"shift-g\"\n");
    assert_names(&shifted, 2, &["`G` is already a default key of bottom"]);
}

#[test]
fn the_default_key_bindings_in_the_default_text_are_the_defaults() {
    let text = default_config_text();
    let rest = text.split("[keys]\n").nth(1).expect("a [keys] section");
    let section: String = rest
        .split("\n[")
        .next()
        .unwrap_or(rest)
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|line| line.contains(" = "))
        .collect::<Vec<_>>()
        .join("\n");
    let keys = parse_text(&format!("[keys]\n{section}\n")).unwrap().keys;
    assert_eq!(keys.bindings.len(), crate::tui::Action::ALL.len());
    assert_eq!(
        crate::tui::KeyMap::from_config(&keys).unwrap(),
        crate::tui::KeyMap::default()
    );
}
