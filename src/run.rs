//! Turns a parsed command line into a run: config, targets, ports, limits, engine, output.

use std::ffi::OsString;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use clap::Parser;
use tokio::sync::{mpsc, oneshot};

use crate::cli::{
    Cli, Command, ConfigArgs, DemoArgs, DemoSpeed, FailOn, LogArgs, OutputArgs, PacingArgs,
    RecheckArgs, ScanArgs,
};
use crate::config::{self, Config, LoadedConfig};
use crate::demo::{DemoPlan, SimWorld};
use crate::engine::{self, ControlLimits, EngineControl, EngineOptions, ScanPlan, Shard};
use crate::error::{EXIT_ALARM, EXIT_OK, Failure};
use crate::event::{ScanEvent, ScanParams};
use crate::headless::{self, HeadlessOptions};
use crate::ports;
use crate::probe::TcpConnect;
use crate::report::{ReportFile, ReportInput, ReportMeta, ScanKind};
use crate::rlimit;
use crate::session::{self, EndReason, SessionHeader, SessionMode, SessionWriter};
use crate::sim::Simulated;
use crate::state::ScanState;
use crate::targets::{self, TargetSet, TargetSpec};
use crate::tui::theme::{self, ThemeChoice};
use crate::tui::{self, TuiOptions};

/// Exit code after Ctrl-C (128 + SIGINT), once the partial results are printed.
pub const EXIT_INTERRUPTED: i32 = 130;
/// Hosts a scan may cover without `--force` (a /8).
pub const MAX_HOSTS_WITHOUT_FORCE: u128 = 1 << 24;
/// Probes a scan may plan without `--force` (2^34, about 17 billion: a /8 × 1,000 ports fits).
pub const MAX_PROBES_WITHOUT_FORCE: u128 = 1 << 34;
/// Exclusions are counted before the scan starts up to this many hosts; beyond, while it runs.
const COUNT_UPFRONT_LIMIT: u128 = 1 << 16;

/// The program: parses `args` (including the program name) and returns the exit code.
pub fn main_with_args<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    let args: Vec<OsString> = args.into_iter().collect();
    // The command line as given, for reports and the session log.
    let argv: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cli = match Cli::try_parse_from(crate::cli::normalize_args(args)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    // Kept until the very end, so the diagnostics of the whole run are written.
    let _diagnostics = match &cli.command {
        Command::Scan(args) => Some(start_diagnostics(&args.logs)),
        Command::Demo(args) if !args.list => Some(start_diagnostics(&args.logs)),
        _ => None,
    };
    let result = match cli.command {
        Command::Scan(args) => run_in_runtime(scan(*args, argv)),
        // The live view draws in real time, so it runs on the ordinary runtime (see `demo`).
        Command::Demo(args) if matches!(args.speed, DemoSpeed::Max) && !live_view(&args.output) => {
            run_in_paused_runtime(demo(*args, argv))
        }
        Command::Demo(args) => run_in_runtime(demo(*args, argv)),
        Command::Recheck(args) => run_in_runtime(recheck(*args, argv)),
        Command::Replay(args) => run_in_runtime(crate::replay::command::replay_command(&args)),
        Command::Report(args) => crate::replay::command::report_command(&args),
        Command::Config(args) => config_command(&args),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("scanwatch: error: {failure}");
            failure.exit_code()
        }
    }
}

/// Starts the diagnostics log (see `diagnostics`) and shows its warnings.
fn start_diagnostics(logs: &LogArgs) -> crate::diagnostics::Diagnostics {
    let (diagnostics, warnings) = crate::diagnostics::start(logs.log_level.as_deref());
    for warning in warnings {
        eprintln!("scanwatch: warning: {warning}");
    }
    diagnostics
}

fn run_in_runtime<F: Future<Output = Result<i32, Failure>>>(f: F) -> Result<i32, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(f)
}

/// A current-thread runtime whose clock is paused: it jumps to the next timer only when every
/// task waits, the output's included, so `demo --speed max` runs in lockstep and a seed always
/// tells the same story.
fn run_in_paused_runtime<F: Future<Output = Result<i32, Failure>>>(f: F) -> Result<i32, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(f)
}

fn config_command(args: &ConfigArgs) -> Result<i32, Failure> {
    if args.print_default {
        print!("{}", config::default_config_text());
        return Ok(EXIT_OK);
    }
    let loaded = config::load(args.config.as_deref())?;
    // The theme the config file names (or the default), and every user theme file: a check
    // reports the first one that cannot be used.
    let themes = theme::resolve_loaded(None, &loaded)?;
    if let Some(warning) = themes.warnings.first() {
        return Err(Failure::usage(warning.clone()));
    }
    match &loaded.path {
        Some(path) => println!("{}: valid", path.display()),
        None => match config::default_path() {
            Some(path) => println!(
                "no configuration file at {}; built-in defaults apply",
                path.display()
            ),
            None => println!("no configuration file; built-in defaults apply"),
        },
    }
    let names: Vec<&str> = themes.themes().iter().map(|t| t.name.as_str()).collect();
    println!(
        "theme: {} (themes: {})",
        themes.current().name,
        names.join(", ")
    );
    Ok(EXIT_OK)
}

/// Everything a scan needs, resolved from the command line, the config file and the defaults.
struct ScanSetup {
    targets: TargetSet,
    /// Hosts to scan when known before the scan starts, else where the count will arrive.
    host_count: Option<u64>,
    host_count_later: Option<oneshot::Receiver<u64>>,
    ports: Vec<u16>,
    params: ScanParams,
    /// How long open ports are read after the handshake (zero: not read).
    banner_wait: std::time::Duration,
    seed: u64,
    shard: Shard,
    shuffle: bool,
    notes: Vec<String>,
    /// The targets as read from the command line and -iL, for reports.
    target_texts: Vec<String>,
}

/// Raises the open-file limit to its hard limit and fits `concurrency` into it (warning on
/// stderr when it had to be lowered). Returns the concurrency to start with and the most the
/// live keys may raise it to.
fn fit_to_open_files(concurrency: u32) -> (u32, u32) {
    let budget = rlimit::raise_nofile_limit();
    let open_now = rlimit::open_fd_count().unwrap_or(16);
    let (fitted, warning) =
        rlimit::clamp_concurrency(concurrency, budget, open_now, rlimit::FD_RESERVE);
    if let Some(warning) = warning {
        eprintln!("scanwatch: warning: {warning}");
    }
    let (max, _) = rlimit::clamp_concurrency(u32::MAX, budget, open_now, rlimit::FD_RESERVE);
    (fitted, max)
}

/// `--fail-on changed` means something only for a re-check.
fn only_for_recheck(output: &OutputArgs, command: &str) -> Result<(), Failure> {
    if output.fail_on.contains(&FailOn::Changed) {
        return Err(Failure::usage(format!(
            "--fail-on changed applies to `scanwatch recheck` (a baseline's ports), not to `scanwatch {command}`; --fail-on alarm does"
        )));
    }
    Ok(())
}

async fn scan(args: ScanArgs, argv: Vec<String>) -> Result<i32, Failure> {
    only_for_recheck(&args.output, "scan")?;
    let loaded = config::load(args.config.as_deref())?;
    let theme = live_view_theme(&args.output, &loaded)?;
    let setup = prepare(&args, &loaded).await?;
    let mut stderr = io::stderr();
    for note in &setup.notes {
        let _ = writeln!(stderr, "scanwatch: warning: {note}");
    }

    let (concurrency, max_concurrency) = fit_to_open_files(setup.params.concurrency);
    let params = ScanParams {
        concurrency,
        ..setup.params
    };

    let opts = headless_options(
        &args.output,
        &args.pacing,
        &loaded.config,
        args.targets.clone(),
        setup.notes,
        Some(setup.banner_wait),
    );
    let mut live = live_options(
        &args.output,
        &args.pacing,
        &loaded.config,
        theme,
        &args.targets,
    )?;
    let mut report =
        create_report_file(&args.output, ScanKind::Connect, argv.clone())?.map(|mut r| {
            r.meta.targets = setup.target_texts;
            r.meta.ports = setup.ports.clone();
            r
        });
    let mut header = SessionHeader::new(
        SessionMode::Scan,
        argv,
        args.targets.clone(),
        &params,
        setup.seed,
        loaded.config.alarm,
    );
    header.banner_wait_us = Some(u64::try_from(setup.banner_wait.as_micros()).unwrap_or(u64::MAX));
    header.auto_throttle = opts.auto_throttle;
    header.shard = (setup.shard != Shard::WHOLE).then(|| setup.shard.to_string());
    let session = open_session_or_discard(&args.logs, &header, live.is_none(), &mut report)?;
    if let (Some(live), Some(session)) = (&mut live, &session) {
        live.session = Some(session.file_name());
    }

    let mut plan = ScanPlan::new(
        Box::new(setup.targets.hosts()),
        setup.host_count,
        setup.ports.into(),
        setup.seed,
    )
    .with_shard(setup.shard);
    if !setup.shuffle {
        plan = plan.without_shuffle();
    }
    let options = EngineOptions {
        limits: ControlLimits {
            max_concurrency,
            ..ControlLimits::default()
        },
        host_count_later: setup.host_count_later,
        held: false,
    };
    let prober = TcpConnect::with_banner_wait(setup.banner_wait);
    let report = report.map(PendingReport::started_now);
    tracing::info!(
        targets = ?args.targets,
        seed = setup.seed,
        concurrency = params.concurrency,
        "scan started"
    );
    let running = engine::start(prober, plan, params, options);
    present(
        &running.control,
        running.events,
        opts,
        live,
        report,
        &args.output,
        session,
    )
    .await
}

/// A report file created before the scan, with what the report says about the scan.
struct PendingReport {
    file: ReportFile,
    meta: ReportMeta,
}

impl PendingReport {
    /// The scan starts now: scan time zero in the report is this wall-clock time.
    fn started_now(mut self) -> Self {
        self.meta.started = SystemTime::now();
        self
    }

    /// Writes the report of the final `state`; says where on stderr unless `quiet`.
    fn write(self, state: &crate::state::ScanState, quiet: bool) -> Result<(), Failure> {
        let path = self.file.path().display().to_string();
        let format = self.file.format();
        self.file
            .write(&ReportInput::new(state, &self.meta))
            .map_err(Failure::runtime)?;
        if !quiet {
            let partial = if ReportInput::new(state, &self.meta).is_partial() {
                "partial "
            } else {
                ""
            };
            let _ = writeln!(
                io::stderr(),
                "scanwatch: {partial}report written to {path} ({format})"
            );
        }
        Ok(())
    }
}

/// Creates the `--output` file, if one is asked for, before the scan starts: a path that
/// cannot be written is a usage error (exit 2) and the scan does not run.
fn create_report_file(
    output: &OutputArgs,
    kind: ScanKind,
    argv: Vec<String>,
) -> Result<Option<PendingReport>, Failure> {
    let Some(path) = &output.report_file else {
        return Ok(None);
    };
    let file = ReportFile::create(path, output.report_format)
        .map_err(|e| Failure::usage(format!("--output: {e}")))?;
    let mut meta = ReportMeta::new(SystemTime::now(), kind);
    meta.args = argv;
    Ok(Some(PendingReport { file, meta }))
}

/// Opens the session log the options ask for: none with `--no-session`, the `--session` path,
/// else a new file in the default directory. Says where on stderr when `announce`. A log that
/// cannot be created stops the run before the scan starts.
fn open_session(
    logs: &LogArgs,
    header: &SessionHeader,
    announce: bool,
) -> Result<Option<SessionWriter>, Failure> {
    if logs.no_session {
        return Ok(None);
    }
    let writer = match &logs.session {
        Some(path) => SessionWriter::create(path, header).map_err(|e| {
            Failure::usage(format!(
                "cannot write the session log {}: {e}; give another --session path, or --no-session",
                path.display()
            ))
        })?,
        None => {
            let Some(dir) = session::paths::sessions_dir() else {
                eprintln!(
                    "scanwatch: warning: no session log: neither XDG_STATE_HOME nor HOME is an absolute path; give --session PATH to keep one"
                );
                return Ok(None);
            };
            let started = std::time::UNIX_EPOCH
                + std::time::Duration::from_micros(header.started_unix_us);
            let name = session::paths::file_name(
                started,
                header.mode,
                &header.targets,
                header.scenario.as_deref(),
            );
            SessionWriter::create_in(&dir, &name, header).map_err(|e| {
                Failure::runtime(format!(
                    "cannot write a session log in {}: {e}; give --session PATH, or --no-session",
                    dir.display()
                ))
            })?
        }
    };
    tracing::info!(path = %writer.path().display(), "session log opened");
    if announce {
        eprintln!("scanwatch: session log: {}", writer.path().display());
    }
    Ok(Some(writer))
}

/// [`open_session`], giving up on the `--output` file when the log cannot be opened: a run
/// refused before it starts creates no report file and leaves an existing one as it was.
fn open_session_or_discard(
    logs: &LogArgs,
    header: &SessionHeader,
    announce: bool,
    report: &mut Option<PendingReport>,
) -> Result<Option<SessionWriter>, Failure> {
    open_session(logs, header, announce).inspect_err(|_| {
        if let Some(report) = report.take() {
            report.file.discard();
        }
    })
}

/// How the session log ends, from how the run ended.
fn end_reason(
    outcome: &Result<ScanState, Failure>,
    interrupted: bool,
) -> (EndReason, Option<String>) {
    match outcome {
        Err(e) => (EndReason::Error, Some(e.to_string())),
        Ok(_) if interrupted => (EndReason::Interrupted, None),
        Ok(state) => match state.finished {
            Some((reason, _)) => (reason.into(), None),
            None => (EndReason::Stopped, None),
        },
    }
}

/// Whether the scan is shown in the live view: stdout is a terminal and neither `--headless`
/// nor `--json` was asked for.
fn live_view(output: &OutputArgs) -> bool {
    !output.headless && !output.json && io::stdout().is_terminal()
}

/// The live view's options when the scan is shown in it (see [`live_view`]): the theme and the
/// themes to cycle through, the key bindings and frame rate of the config file. When standard
/// input is not a terminal, the view closes by itself once the scan has finished.
fn live_options(
    output: &OutputArgs,
    pacing: &PacingArgs,
    config: &Config,
    theme: ThemeChoice,
    targets: &[String],
) -> Result<Option<TuiOptions>, Failure> {
    if !live_view(output) {
        return Ok(None);
    }
    let keymap = crate::tui::KeyMap::from_config(&config.keys)
        .map_err(|e| Failure::usage(format!("configuration: {e}")))?;
    let mut stderr = io::stderr();
    for warning in &theme.warnings {
        let _ = writeln!(stderr, "scanwatch: warning: {warning}");
    }
    Ok(Some(TuiOptions {
        theme: theme.current().clone(),
        themes: theme.themes().to_vec(),
        keymap,
        fps: config.ui.fps,
        targets: targets.to_vec(),
        thresholds: config.alarm,
        auto_throttle: pacing.auto_throttle_or(config.scan.auto_throttle),
        exit_when_finished: !io::stdin().is_terminal(),
        session: None,
        recheck: None,
    }))
}

/// The live view's theme from `--theme`, the config file and `NO_COLOR`. Resolved before the
/// scan starts even when the output is headless, so that a wrong name or theme file is a usage
/// error at once rather than when the view opens.
fn live_view_theme(output: &OutputArgs, loaded: &LoadedConfig) -> Result<ThemeChoice, Failure> {
    theme::resolve_loaded(output.theme.as_deref(), loaded)
}

/// How the headless printer runs: output options, the config's alarm thresholds, whether to
/// throttle automatically (the options, else the config file) and the banner wait to report.
fn headless_options(
    output: &OutputArgs,
    pacing: &PacingArgs,
    config: &Config,
    targets: Vec<String>,
    notes: Vec<String>,
    banner_wait: Option<std::time::Duration>,
) -> HeadlessOptions {
    HeadlessOptions {
        json: output.json,
        progress: !output.quiet,
        progress_in_place: io::stderr().is_terminal(),
        targets,
        notes,
        thresholds: config.alarm,
        auto_throttle: pacing.auto_throttle_or(config.scan.auto_throttle),
        banner_wait,
        recheck: None,
    }
}

/// Shows a running scan until it ends, in the live view when `live` is given, else headless,
/// with Ctrl-C (and, in the live view, SIGTERM and SIGHUP) stopping it cleanly. After the live
/// view the text summary is printed as in headless mode. Every event goes to `session` too,
/// which is finished here whichever way the scan ended (its `end` line says which) and dropped
/// before returning. Returns the exit code: 130 after Ctrl-C or when the user quit the live view
/// before the scan finished, else 3 when `fail_on` holds `alarm` and an alarm was raised, else
/// 0; a session log that could not be written in full is a runtime failure (exit 1), reported
/// after the results.
async fn present(
    control: &EngineControl,
    mut events: mpsc::Receiver<ScanEvent>,
    opts: HeadlessOptions,
    live: Option<TuiOptions>,
    report: Option<PendingReport>,
    output: &OutputArgs,
    mut session: Option<SessionWriter>,
) -> Result<i32, Failure> {
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let control = control.clone();
        let interrupted = Arc::clone(&interrupted);
        tokio::spawn(async move {
            if stop_signal().await {
                interrupted.store(true, Ordering::SeqCst);
                control.stop();
            }
        });
    }
    let mut output_error: Option<Failure> = None;
    let outcome = match live {
        Some(tui_opts) => match tui::run(&mut events, control, &tui_opts, session.as_mut()).await {
            Ok(outcome) => {
                if outcome.quit_early {
                    interrupted.store(true, Ordering::SeqCst);
                }
                let mut stdout = io::stdout().lock();
                let written = stdout
                    .write_all(headless::text::summary(&outcome.state).as_bytes())
                    .and_then(|_| stdout.flush());
                // As headless: results that cannot be printed still go to the report and log.
                if let Err(e) = written
                    && e.kind() != io::ErrorKind::BrokenPipe
                {
                    output_error = Some(Failure::runtime(format!("cannot write the results: {e}")));
                }
                Ok(outcome.state)
            }
            Err(e) => Err(e),
        },
        None => {
            let mut stderr = io::stderr();
            let mut stdout = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
            let ended = headless::run(
                &mut events,
                control,
                &opts,
                &mut stdout,
                &mut stderr,
                session.as_mut(),
            )
            .await;
            match ended {
                Ok(state) => Ok(state),
                // The results could not be printed: the report and the log still get them.
                Err(failed) => {
                    output_error = Some(failed.error);
                    Ok(failed.state)
                }
            }
        }
    };
    let interrupted = interrupted.load(Ordering::SeqCst);
    let (reason, message) = match &output_error {
        Some(e) => (EndReason::Error, Some(e.to_string())),
        None => end_reason(&outcome, interrupted),
    };
    tracing::info!(reason = reason.as_str(), "scan ended");
    // A log that could not be written whole fails the run, but only after the results and the
    // report are out: the evidence that did not fit in the log is kept elsewhere.
    let mut log_failure = None;
    if let Some(session) = session {
        match session.finish(reason, message) {
            Ok(summary) => eprintln!(
                "scanwatch: session log: {} ({} lines)",
                summary.path.display(),
                summary.lines
            ),
            // The run failed anyway: its own error is the one to exit with.
            Err(message) if outcome.is_err() || output_error.is_some() => {
                eprintln!("scanwatch: error: {message}")
            }
            Err(message) => log_failure = Some(message),
        }
    }
    let state = match outcome {
        Ok(state) => state,
        Err(e) => {
            // No results to report: a report file made for this run is removed, not left empty.
            if let Some(report) = report {
                report.file.discard();
            }
            return Err(e);
        }
    };
    if let Some(report) = report
        && let Err(e) = report.write(&state, output.quiet)
    {
        for message in output_error
            .iter()
            .map(ToString::to_string)
            .chain(log_failure)
        {
            eprintln!("scanwatch: error: {message}");
        }
        return Err(e);
    }
    if let Some(e) = output_error {
        return Err(e);
    }
    if let Some(message) = log_failure {
        return Err(Failure::runtime(message));
    }
    if interrupted {
        return Ok(EXIT_INTERRUPTED);
    }
    if output.fail_on.contains(&FailOn::Alarm) && !state.alarms.is_empty() {
        return Ok(EXIT_ALARM);
    }
    if output.fail_on.contains(&FailOn::Changed)
        && state
            .recheck
            .as_ref()
            .is_some_and(crate::recheck::Rechecker::changed)
    {
        return Ok(crate::error::EXIT_CHANGED);
    }
    Ok(EXIT_OK)
}

/// Resolves when Ctrl-C, SIGTERM or SIGHUP arrives (true): each ends a scan as cleanly as the
/// others, headless or live (the live view restores the terminal first), with the results
/// printed and the session log closed with an `interrupted` end line. False when no signal can
/// be waited for.
async fn stop_signal() -> bool {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return tokio::signal::ctrl_c().await.is_ok();
    };
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.is_ok(),
        _ = term.recv() => true,
        _ = hup.recv() => true,
    }
}

/// Default wait before a port that went silent in a re-check is probed again.
const DEFAULT_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(3);

/// `scanwatch recheck`: the baseline's open ports first, on every host of the baseline (or the
/// given subset), then with `--full` the rest of the original ports; each baseline port judged
/// by the `Rechecker`, the scan held open until every one has its verdict.
async fn recheck(args: RecheckArgs, argv: Vec<String>) -> Result<i32, Failure> {
    let loaded = config::load(args.config.as_deref())?;
    let theme = live_view_theme(&args.output, &loaded)?;
    let baseline = crate::baseline::read_baseline(&args.baseline)?;
    let mut stderr = io::stderr();
    for note in &baseline.notes {
        let _ = writeln!(stderr, "scanwatch: note: baseline: {note}");
    }
    let subset = if args.targets.is_empty() {
        None
    } else {
        let specs = targets::parse_target_args(&args.targets)
            .map_err(|e| Failure::usage(format!("targets: {e}")))?;
        Some(targets::resolved_without_lookup(specs).map_err(|name| {
            Failure::usage(format!(
                "target `{name}` is a name; a re-check's targets pick baseline hosts by address"
            ))
        })?)
    };
    let mut open: std::collections::BTreeMap<std::net::IpAddr, std::collections::BTreeSet<u16>> =
        std::collections::BTreeMap::new();
    for host in &baseline.hosts {
        if subset
            .as_ref()
            .is_some_and(|specs| !specs.iter().any(|s| s.contains(host.addr)))
        {
            continue;
        }
        open.entry(host.addr).or_default().extend(&host.open);
    }
    if open.is_empty() {
        return Err(Failure::usage(match subset {
            Some(_) => format!(
                "none of the targets is a host of the baseline {}",
                args.baseline.display()
            ),
            None => format!("the baseline {} names no host", args.baseline.display()),
        }));
    }
    let first: std::collections::BTreeSet<u16> = open.values().flatten().copied().collect();
    let mut ports: Vec<u16> = first.iter().copied().collect();
    if args.full {
        let rest = match &baseline.scanned_ports {
            Some(p) => p.clone(),
            None => ports::top_ports(1000).map_err(Failure::usage)?,
        };
        ports.extend(rest.into_iter().filter(|p| !first.contains(p)));
    }
    if ports.is_empty() {
        return Err(Failure::usage(format!(
            "the baseline {} has no open port on the hosts to re-check; --full probes the original ports",
            args.baseline.display()
        )));
    }
    let hosts: Vec<std::net::IpAddr> = open.keys().copied().collect();
    let targets: Vec<String> = hosts.iter().map(ToString::to_string).collect();
    let cooldown = args.cooldown.unwrap_or(DEFAULT_COOLDOWN);
    let cooldown_us = u64::try_from(cooldown.as_micros()).unwrap_or(u64::MAX);
    let record = crate::session::RecheckRecord {
        baseline: open.clone(),
        cooldown_us,
    };
    let rechecker = crate::recheck::Rechecker::new(open, cooldown_us);
    let mut params = pacing(&args.pacing, &loaded.config.scan)?;
    let (concurrency, max_concurrency) = fit_to_open_files(params.concurrency);
    params.concurrency = concurrency;
    let seed = args.seed.unwrap_or_else(random_seed);
    let banner_wait = args.banner_wait.unwrap_or(loaded.config.scan.banner_wait);
    let mut opts = headless_options(
        &args.output,
        &args.pacing,
        &loaded.config,
        targets.clone(),
        Vec::new(),
        Some(banner_wait),
    );
    opts.recheck = Some(rechecker.clone());
    let mut live = live_options(&args.output, &args.pacing, &loaded.config, theme, &targets)?;
    if let Some(live) = &mut live {
        live.recheck = Some(rechecker);
    }
    let mut report =
        create_report_file(&args.output, ScanKind::Connect, argv.clone())?.map(|mut r| {
            r.meta.targets = targets.clone();
            r.meta.ports = ports.clone();
            r
        });
    let mut header = SessionHeader::new(
        SessionMode::Recheck,
        argv,
        targets,
        &params,
        seed,
        loaded.config.alarm,
    );
    header.banner_wait_us = Some(u64::try_from(banner_wait.as_micros()).unwrap_or(u64::MAX));
    header.auto_throttle = opts.auto_throttle;
    header.recheck = Some(record);
    let session = open_session_or_discard(&args.logs, &header, live.is_none(), &mut report)?;
    if let (Some(live), Some(session)) = (&mut live, &session) {
        live.session = Some(session.file_name());
    }
    let plan = ScanPlan::for_addrs(hosts, ports, seed).with_first(first.len() as u32);
    let options = EngineOptions {
        limits: ControlLimits {
            max_concurrency,
            ..ControlLimits::default()
        },
        host_count_later: None,
        // Open until every baseline port has its verdict (the re-probes after the cool-down).
        held: true,
    };
    let report = report.map(PendingReport::started_now);
    let running = engine::start(
        TcpConnect::with_banner_wait(banner_wait),
        plan,
        params,
        options,
    );
    present(
        &running.control,
        running.events,
        opts,
        live,
        report,
        &args.output,
        session,
    )
    .await
}

async fn demo(args: DemoArgs, argv: Vec<String>) -> Result<i32, Failure> {
    if args.list {
        for (name, description) in crate::sim::BUILTIN_SCENARIOS {
            println!("{name:<10} {description}");
        }
        return Ok(EXIT_OK);
    }
    only_for_recheck(&args.output, "demo")?;
    let loaded = config::load(args.config.as_deref())?;
    let theme = live_view_theme(&args.output, &loaded)?;
    let scenario = match &args.scenario_file {
        Some(path) => crate::sim::load_scenario_file(path).map_err(Failure::usage)?,
        None => crate::sim::builtin(&args.scenario).map_err(Failure::usage)?,
    };
    let scan = &loaded.config.scan;
    let hinted = crate::config::ScanDefaults {
        concurrency: scenario.suggested_concurrency().unwrap_or(scan.concurrency),
        timeout: scenario.suggested_timeout().unwrap_or(scan.timeout),
        rate: scenario.suggested_rate().or(scan.rate),
        ..scan.clone()
    };
    let params = pacing(&args.pacing, &hinted)?;
    let seed = args.seed.unwrap_or_else(random_seed);
    let targets = scenario.targets();
    let mut stderr = io::stderr();
    if !args.output.quiet {
        let _ = writeln!(
            stderr,
            "scanwatch demo: scenario `{}`: {} (simulated network; seed {seed})",
            scenario.name, scenario.description
        );
    }
    let mut header = SessionHeader::new(
        SessionMode::Demo,
        argv.clone(),
        targets.clone(),
        &params,
        seed,
        loaded.config.alarm,
    );
    header.scenario = Some(scenario.name.clone());
    let plan = DemoPlan::new(scenario)?;
    let mut live = live_options(&args.output, &args.pacing, &loaded.config, theme, &targets)?;
    let report = create_report_file(&args.output, ScanKind::Simulated, argv)?.map(|mut r| {
        r.meta.targets = targets.clone();
        r.meta.ports = plan.ports.clone();
        r
    });
    let opts = headless_options(
        &args.output,
        &args.pacing,
        &loaded.config,
        targets,
        Vec::new(),
        None,
    );
    let mut report = report.map(PendingReport::started_now);
    header.auto_throttle = opts.auto_throttle;
    let session = open_session_or_discard(&args.logs, &header, live.is_none(), &mut report)?;
    if let (Some(live), Some(session)) = (&mut live, &session) {
        live.session = Some(session.file_name());
    }
    tracing::info!(scenario = %plan.scenario.name, seed, "demo started");
    if matches!(args.speed, DemoSpeed::Max) && live.is_none() {
        // This runtime's clock is paused (see `run_in_paused_runtime`): the simulated world runs
        // right here, in lockstep with the output.
        let running = engine::start(
            Simulated::new(&plan.scenario, seed),
            plan.scan_plan(seed),
            params,
            EngineOptions::default(),
        );
        let code = present(
            &running.control,
            running.events,
            opts,
            None,
            report,
            &args.output,
            session,
        )
        .await;
        running.control.stop();
        return code;
    }
    // The live view takes its events in real time: the world runs on its own thread at
    // `--speed` (at `max`, as fast as it goes, not in lockstep with the view).
    let world = SimWorld::start(plan, params, seed, args.speed)?;
    let code = present(
        &world.control,
        world.events,
        opts,
        live,
        report,
        &args.output,
        session,
    )
    .await;
    world.control.stop();
    code
}

/// Pacing from the options, falling back on `defaults` (the config file's or a scenario's).
fn pacing(
    args: &PacingArgs,
    defaults: &crate::config::ScanDefaults,
) -> Result<ScanParams, Failure> {
    let params = ScanParams {
        concurrency: args.concurrency.unwrap_or(defaults.concurrency),
        max_per_host: args.max_per_host.unwrap_or(defaults.max_per_host),
        timeout: args.timeout.unwrap_or(defaults.timeout),
        retries: args.retries.unwrap_or(defaults.retries),
        rate: args.rate.or(defaults.rate),
        paused: false,
    };
    check_option_ranges(&params)?;
    Ok(params)
}

/// The host count when it is known without iterating, else a channel that delivers it.
fn host_count(targets: &TargetSet) -> (Option<u64>, Option<oneshot::Receiver<u64>>) {
    let clamp = |n: u128| u64::try_from(n).unwrap_or(u64::MAX);
    if !targets.has_excludes() {
        return (Some(clamp(targets.upper_bound())), None);
    }
    if targets.upper_bound() <= COUNT_UPFRONT_LIMIT {
        return (Some(clamp(targets.count())), None);
    }
    let (tx, rx) = oneshot::channel();
    let counting = targets.clone();
    tokio::task::spawn_blocking(move || {
        let _ = tx.send(clamp(counting.count()));
    });
    (None, Some(rx))
}

async fn prepare(args: &ScanArgs, loaded: &LoadedConfig) -> Result<ScanSetup, Failure> {
    let cfg: &Config = &loaded.config;
    let ports = scan_ports(args, loaded)?;

    let mut specs = targets::parse_target_args(&args.targets).map_err(usage)?;
    if let Some(file) = &args.input_file {
        specs.extend(targets::read_target_file(file).map_err(usage)?);
    }
    let target_texts: Vec<String> = specs.iter().map(ToString::to_string).collect();
    if specs.is_empty() {
        return Err(Failure::usage(match args.input_file.as_deref() {
            Some(file) => format!(
                "no targets given: the target file {} lists none (it is empty or holds only comments)",
                if file == "-" { "<stdin>" } else { file }
            ),
            None => "no targets given: name at least one (e.g. 127.0.0.1 or 127.0.0.0/24) or read them with -iL FILE".to_string(),
        }));
    }
    let mut exclude_specs: Vec<TargetSpec> = Vec::new();
    for list in &args.exclude {
        exclude_specs.extend(targets::parse_exclude_list(list).map_err(usage)?);
    }
    if let Some(file) = &args.exclude_file {
        exclude_specs.extend(targets::read_target_file(file).map_err(usage)?);
    }

    let (include, failures) = targets::resolve(specs).await;
    let mut notes: Vec<String> = failures.iter().map(ToString::to_string).collect();
    if include.is_empty() {
        return Err(Failure::usage(format!(
            "no target left to scan: {}",
            notes.join("; ")
        )));
    }
    let (exclude, exclude_failures) = targets::resolve(exclude_specs).await;
    notes.extend(
        exclude_failures
            .iter()
            .map(|f| format!("exclusion skipped: {f}")),
    );
    let targets = TargetSet::new(include, exclude);
    check_scope(&targets, ports.len(), args.force)?;
    let (host_count, host_count_later) = host_count(&targets);
    if host_count == Some(0) {
        return Err(Failure::usage(
            "every target is excluded by --exclude / --exclude-file: nothing to scan",
        ));
    }

    let scan = &cfg.scan;
    let params = pacing(&args.pacing, scan)?;
    Ok(ScanSetup {
        targets,
        host_count,
        host_count_later,
        ports,
        params,
        banner_wait: args.banner_wait.unwrap_or(scan.banner_wait),
        seed: args.seed.or(scan.seed).unwrap_or_else(random_seed),
        shard: args.shard.unwrap_or(Shard::WHOLE),
        shuffle: !args.no_shuffle,
        notes,
        target_texts,
    })
}

/// The port list from the options, falling back on the config file's `[scan]` values.
fn scan_ports(args: &ScanArgs, loaded: &LoadedConfig) -> Result<Vec<u16>, Failure> {
    let scan = &loaded.config.scan;
    let from_cli = args.ports.is_some() || args.top_ports.is_some();
    let (spec, top) = if from_cli {
        (args.ports.as_deref(), args.top_ports)
    } else {
        (scan.ports.as_deref(), Some(scan.top_ports as usize))
    };
    let exclude = args
        .exclude_ports
        .as_deref()
        .or(scan.exclude_ports.as_deref());
    ports::resolve_ports(spec, top, exclude).map_err(|message| {
        let from_file = (!from_cli
            && (scan.ports.is_some() || scan.top_ports as usize != ports::DEFAULT_TOP_PORTS))
            || (args.exclude_ports.is_none() && scan.exclude_ports.is_some());
        match (&loaded.path, from_file) {
            (Some(path), true) => Failure::usage(format!("{} [scan]: {message}", path.display())),
            _ => Failure::usage(message),
        }
    })
}

fn check_option_ranges(p: &ScanParams) -> Result<(), Failure> {
    let check = |name: &str, value: u32, range: std::ops::RangeInclusive<u32>| {
        if range.contains(&value) {
            Ok(())
        } else {
            Err(Failure::usage(format!(
                "{name} {value} is out of range; allowed {} to {}",
                range.start(),
                range.end()
            )))
        }
    };
    check("-c/--concurrency", p.concurrency, config::CONCURRENCY_RANGE)?;
    check("--max-per-host", p.max_per_host, config::MAX_PER_HOST_RANGE)?;
    check("--retries", p.retries, config::RETRIES_RANGE)
}

/// Refuses scopes no one means to scan by accident, unless `--force`.
fn check_scope(targets: &TargetSet, ports: usize, force: bool) -> Result<(), Failure> {
    let hosts = targets.upper_bound();
    let probes = hosts.saturating_mul(ports as u128);
    if force || (hosts <= MAX_HOSTS_WITHOUT_FORCE && probes <= MAX_PROBES_WITHOUT_FORCE) {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "the scope is {hosts} hosts × {ports} ports = {probes} probes, more than the {} hosts or {} probes \
         scanwatch scans without --force; narrow the targets or ports, or add --force if you mean it",
        MAX_HOSTS_WITHOUT_FORCE, MAX_PROBES_WITHOUT_FORCE
    )))
}

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::usage(e.to_string())
}

/// A seed for this run's port order when none is given (printed with the results).
fn random_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() >> 11 // keep it exactly representable as a JSON number
}
