//! Command-line interface (clap derive). Parsing only: `run` turns these into a scan.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::NonEmptyStringValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::duration::parse_duration;
use crate::engine::Shard;
use crate::report::ReportFormat;

const EXIT_CODES: &str = "\
Exit codes:
  0    the scan finished (or the command succeeded)
  1    runtime failure (the scan could not run, its output or session log could not be
       written)
  2    bad usage or bad input: the message names the option, file, line or value
  3    with --fail-on alarm: the scan finished and raised at least one interference alarm
       (the results are printed first)
  4    (recheck) with --fail-on changed: a port open in the baseline is not open now, or a
       new port is open (the results are printed first)
  130  interrupted (Ctrl-C, SIGTERM or SIGHUP), or the live view was quit before the scan
       finished: the partial results are printed (and written to --output, marked partial)
       first";

const SCAN_EXAMPLES: &str = "\
Examples:
  scanwatch scan 127.0.0.1                      top 1000 TCP ports of localhost
  scanwatch scan -p- 127.0.0.1                  every port, 1-65535
  scanwatch scan -p 22,80,8000-8100 ::1         IPv6 loopback, a port list
  scanwatch scan --top-ports 100 127.0.0.0/29   a CIDR block, the 100 most common ports
  scanwatch scan 127.0.0.1-8 --exclude 127.0.0.5 -c 200 --max-per-host 20 --timeout 3s
  scanwatch scan -iL hosts.txt --json > scan.jsonl
  scanwatch scan 127.0.0.1 --shard 1/2 --seed 7   half of the plan (run 2/2 elsewhere)
  scanwatch scan 127.0.0.1 --banner-wait 0      connect only: do not read open ports
  scanwatch scan 127.0.0.0/29 -o scan.xml       also write nmap XML (ndiff it with nmap -oX)
  scanwatch scan 127.0.0.1 -o out --output-format csv   a CSV report in `out`

Targets follow nmap: addresses (IPv4, IPv6), CIDR blocks (10.0.0.0/24, 2001:db8::/120),
octet ranges (10.0.0.1-20, 192.168.1-3.1, 10.0.0.*), hostnames (resolved first; a name that
does not resolve is reported and skipped). Files given with -iL hold targets separated by
whitespace or newlines; `#` starts a comment.

Ports follow nmap: 22,80,8000-8100, `-p-` for 1-65535, `1-`, `-1024`; port 0 only when named.
The default is the 1000 most common TCP ports, ranked by nmap's nmap-services frequencies.

Pacing can be set in the config file's [scan] section (`scanwatch config --print-default`);
options given here win over the file. The config file's [alarm] section sets when alarms are
raised.

--auto-throttle: when a RATE or QOS alarm is raised, the concurrency is halved (never below 1),
and the rate too when one is set by --rate or [scan] rate (never below 1 per second), once per
alarm; each change is printed as a THROTTLE line on stderr and a `throttle` line with --json.
A scan without a rate limit gets none: its pace follows its concurrency.

  scanwatch scan 127.0.0.0/28 --auto-throttle --fail-on alarm   slow down; exit 3 on any alarm";

const DEMO_EXAMPLES: &str = "\
Examples:
  scanwatch demo                          the `mixed` story in real time
  scanwatch demo --scenario shun          an IPS bans the scanner mid-scan
  scanwatch demo --scenario tarpit --speed 4
  scanwatch demo --speed max --json       as fast as possible, JSON Lines
  scanwatch demo --speed max -o demo.json a JSON report of the whole story
  scanwatch demo --scenario ratelimit --auto-throttle   halve the pace when RATE is raised
  scanwatch demo --scenario qos --speed max --fail-on alarm   exit 3: QOS is raised
  scanwatch demo --list                   the built-in scenarios

The simulated network lives inside the process: probes never reach a socket. Scenario hints
(timeout, concurrency, rate) apply unless the options here override them.";

/// Watch what the network does with your port scan.
#[derive(Debug, Parser)]
#[command(
    name = "scanwatch",
    version,
    about = "A TCP port re-scan that shows, live, when a firewall, IPS, WAF, tarpit or QoS device interferes with it",
    after_help = EXIT_CODES,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan TCP ports with full connects (no privileges needed)
    #[command(after_help = format!("{SCAN_EXAMPLES}\n\n{EXIT_CODES}"))]
    Scan(Box<ScanArgs>),
    /// Run the whole product against a simulated network (no packets leave the process)
    #[command(after_help = format!("{DEMO_EXAMPLES}\n\n{EXIT_CODES}"))]
    Demo(Box<DemoArgs>),
    /// Re-check the ports a previous scan found open: still open, now closed, or silenced
    #[command(after_help = format!("{RECHECK_EXAMPLES}\n\n{EXIT_CODES}"))]
    Recheck(Box<RecheckArgs>),
    /// Play recorded session logs in the live view: pause, speed, jump to alarms
    #[command(after_help = REPLAY_HELP)]
    Replay(ReplayArgs),
    /// Write a report of recorded session logs: text, json, csv or nmap-xml
    #[command(after_help = REPORT_HELP)]
    Report(ReportArgs),
    /// Show the configuration file format and defaults
    Config(ConfigArgs),
}

const REPLAY_HELP: &str = "\
Examples:
  scanwatch replay ~/.local/state/scanwatch/sessions/20261121T101500Z-127.0.0.1.jsonl
  scanwatch replay shard-1.jsonl shard-2.jsonl    the shards of one scan, merged on their times
  scanwatch replay --speed 8 --paused scan.jsonl
  scanwatch replay --headless scan.jsonl          print the final summary, as the live run did

Keys: space plays or pauses, - and + halve or double the speed (0.25x to 64x), n and N jump to
the next or previous alarm, e to the end, q quits; the rest as in the live view (? for help).
The status bar shows the session time and the speed.

Exit codes:
  0    done
  2    a file is missing, empty, not a session log, of an unknown version, or damaged before
       its last line: the message names the file and the line
       (a log cut in its last line, as a killed scan leaves it, is read up to there)";

const REPORT_HELP: &str = "\
Examples:
  scanwatch report scan.jsonl                     hosts, open ports, alarms, pace, latency
  scanwatch report scan.jsonl --format nmap-xml -o scan.xml   for ndiff and other nmap tools
  scanwatch report shard-*.jsonl --format csv     the shards of one scan as one

Exit codes:
  0    done
  1    the report could not be written
  2    a file is missing, empty, not a session log, of an unknown version, or damaged before
       its last line: the message names the file and the line";

/// Options of `scanwatch replay`.
#[derive(Debug, Args, Clone)]
pub struct ReplayArgs {
    /// Session logs to play; several (the shards of one scan) are merged on their timestamps
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Scan seconds per real second, 0.25 to 64 (- and + change it while playing)
    #[arg(long, value_name = "X", default_value_t = 1.0, value_parser = parse_replay_speed,
          allow_negative_numbers = true, conflicts_with = "headless")]
    pub speed: f64,

    /// Start paused (space plays)
    #[arg(long, conflicts_with = "headless")]
    pub paused: bool,

    /// No live view: print the summary of the whole recording, as the live run printed it
    #[arg(long)]
    pub headless: bool,

    /// The live view's theme: a built-in name (dark, light, high-contrast, mono), a user theme's
    /// name, or a theme file's path
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,

    /// Read defaults from FILE instead of $XDG_CONFIG_HOME/scanwatch/config.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Options of `scanwatch report`.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// Session logs to report on; several (the shards of one scan) are merged
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Report format
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub format: crate::report::ReportFormat,

    /// Write the report to FILE (created mode 0600) instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// A replay speed between 0.25 and 64.
fn parse_replay_speed(s: &str) -> Result<f64, String> {
    let x: f64 = s
        .trim()
        .trim_end_matches(['x', 'X'])
        .parse()
        .map_err(|_| format!("`{s}` is not a number; a speed is 0.25 to 64, e.g. 4"))?;
    if (crate::replay::MIN_SPEED..=crate::replay::MAX_SPEED).contains(&x) {
        Ok(x)
    } else {
        Err(format!("{s} is out of range; a speed is 0.25 to 64"))
    }
}

/// Options of `scanwatch scan`.
#[derive(Debug, Args, Clone, Default)]
pub struct ScanArgs {
    /// Targets: addresses, CIDR blocks, octet ranges or hostnames
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Read targets from FILE (`-` for standard input); also `-iL FILE`
    #[arg(long = "input-file", value_name = "FILE", value_parser = NonEmptyStringValueParser::new(),
          help_heading = "Targets")]
    pub input_file: Option<String>,

    /// Skip these targets (comma-separated addresses, CIDR blocks, ranges)
    #[arg(long, value_name = "TARGETS", help_heading = "Targets")]
    pub exclude: Vec<String>,

    /// Skip the targets listed in FILE
    #[arg(long = "exclude-file", value_name = "FILE", value_parser = NonEmptyStringValueParser::new(),
          help_heading = "Targets")]
    pub exclude_file: Option<String>,

    /// Scan a scope larger than 16,777,216 hosts or 17 billion probes
    #[arg(long, help_heading = "Targets")]
    pub force: bool,

    /// Ports to scan, e.g. 22,80,8000-8100 or - for all [default: the top 1000]
    #[arg(
        short = 'p',
        long,
        value_name = "SPEC",
        allow_hyphen_values = true,
        conflicts_with = "top_ports",
        help_heading = "Ports"
    )]
    pub ports: Option<String>,

    /// Scan the N most common TCP ports
    #[arg(
        long = "top-ports",
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Ports"
    )]
    pub top_ports: Option<usize>,

    /// Leave these ports out
    #[arg(
        long = "exclude-ports",
        value_name = "SPEC",
        allow_hyphen_values = true,
        help_heading = "Ports"
    )]
    pub exclude_ports: Option<String>,

    /// Probe ports in ascending order instead of shuffling them per host
    #[arg(long = "no-shuffle", help_heading = "Ports")]
    pub no_shuffle: bool,

    #[command(flatten)]
    pub pacing: PacingArgs,

    /// After a port opens, wait up to DURATION for what it sends first (its banner), e.g. 300ms,
    /// 1s; 0 does not read. Only open ports are read; each holds its concurrency slot while it
    /// waits, so a host of silent open ports (a tarpit) scans slower [default: 500ms]
    #[arg(long = "banner-wait", value_name = "DURATION", value_parser = parse_banner_wait,
          allow_hyphen_values = true, help_heading = "Probe")]
    pub banner_wait: Option<Duration>,

    /// Seed for the port order, to reproduce a run [default: random, printed]
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Plan"
    )]
    pub seed: Option<u64>,

    /// Take part I of N of the plan, e.g. 1/3; N runs with the same targets and ports cover
    /// every (host, port) exactly once
    #[arg(long, value_name = "I/N", value_parser = parse_shard, allow_hyphen_values = true,
          help_heading = "Plan")]
    pub shard: Option<Shard>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub logs: LogArgs,

    /// Read defaults from FILE instead of $XDG_CONFIG_HOME/scanwatch/config.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

const PACING: &str = "Pacing (changeable while running)";
const ALARMS: &str = "Alarms";

/// Pace of the scan; each can also be changed while it runs.
#[derive(Debug, Args, Clone, Default)]
pub struct PacingArgs {
    /// Probes in flight at most, across all hosts [default: 1024]
    #[arg(
        short = 'c',
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = PACING
    )]
    pub concurrency: Option<u32>,

    /// Probes in flight at most to one host (like Nessus max_checks) [default: 512]
    #[arg(
        long = "max-per-host",
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = PACING
    )]
    pub max_per_host: Option<u32>,

    /// Connect timeout per attempt, e.g. 500ms, 2s (like Nessus checks_read_timeout) [default: 1500ms]
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout,
          allow_hyphen_values = true, help_heading = PACING)]
    pub timeout: Option<Duration>,

    /// Extra attempts after a timeout [default: 1]
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = PACING
    )]
    pub retries: Option<u32>,

    /// Probes per second at most [default: unlimited]
    #[arg(long, value_name = "N", value_parser = parse_rate,
          allow_negative_numbers = true, help_heading = PACING)]
    pub rate: Option<f64>,

    /// When a RATE or QOS alarm is raised, halve the concurrency (and the rate, if set)
    /// [default: off, or the config file's [scan] auto_throttle]
    #[arg(
        long = "auto-throttle",
        overrides_with = "no_auto_throttle",
        help_heading = ALARMS
    )]
    pub auto_throttle: bool,

    /// Never throttle automatically, whatever the config file says
    #[arg(
        long = "no-auto-throttle",
        overrides_with = "auto_throttle",
        help_heading = ALARMS
    )]
    pub no_auto_throttle: bool,
}

impl PacingArgs {
    /// Whether to throttle automatically: the options, else the config file's `file` value.
    pub fn auto_throttle_or(&self, file: bool) -> bool {
        if self.auto_throttle {
            true
        } else if self.no_auto_throttle {
            false
        } else {
            file
        }
    }
}

/// A condition that `--fail-on` turns into a non-zero exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// any interference alarm was raised: exit 3
    Alarm,
    /// (recheck) a port open in the baseline is not open now, or a new port is: exit 4
    Changed,
}

const RECHECK_EXAMPLES: &str = "\
Examples:
  scanwatch recheck --baseline last.xml                 nmap -oX output (a cut file is fine)
  scanwatch recheck --baseline scan.nessus 10.0.0.5     one host of a Nessus v2 export
  scanwatch recheck --baseline open.txt --full          host:port lines, then the rest of the ports
  scanwatch recheck --baseline session.jsonl --fail-on changed   exit 4 when anything changed

Each port open in the baseline ends as: still open; now closed (RST: the service changed); or
now silent, probed again after --cooldown, and then a sentinel to a port the host answers on
tells a port-level block from the whole host being silent (a shun, or the host is down). Ports
open now that the baseline did not see open are new. The baseline's format (nmap XML, Nessus v2,
host:port lines, a scanwatch session log) is read from its content.";

/// Options of `scanwatch recheck`.
#[derive(Debug, Args, Clone)]
pub struct RecheckArgs {
    /// The previous scan: nmap XML (-oX), a Nessus v2 export, host:port lines, or a session log
    #[arg(long, value_name = "FILE")]
    pub baseline: PathBuf,

    /// Re-check only these of the baseline's hosts (addresses, CIDR blocks, ranges)
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// After the baseline's open ports, probe the rest of the ports the original scan covered
    /// (its port list when the baseline says, else the top 1000)
    #[arg(long)]
    pub full: bool,

    /// After a port opens, wait up to DURATION for its banner; 0 does not read [default: 500ms]
    #[arg(long = "banner-wait", value_name = "DURATION", value_parser = parse_banner_wait,
          allow_hyphen_values = true)]
    pub banner_wait: Option<Duration>,

    /// How long a port that went silent waits before it is probed again [default: 3s]
    #[arg(long, value_name = "DURATION", value_parser = parse_cooldown, allow_hyphen_values = true)]
    pub cooldown: Option<Duration>,

    #[command(flatten)]
    pub pacing: PacingArgs,

    /// Seed for the port order, to reproduce a run [default: random, printed]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<u64>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub logs: LogArgs,

    /// Read defaults from FILE instead of $XDG_CONFIG_HOME/scanwatch/config.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// A cool-down between 0 and 10 minutes.
fn parse_cooldown(s: &str) -> Result<Duration, String> {
    let d = crate::duration::parse_duration(s)?;
    if d <= Duration::from_secs(600) {
        Ok(d)
    } else {
        Err(format!("{s} is too long; a cool-down is at most 10m"))
    }
}

/// Where and how results are printed.
#[derive(Debug, Args, Clone, Default)]
pub struct OutputArgs {
    /// Print results instead of the live view (automatic when stdout is not a terminal)
    #[arg(long, help_heading = "Output")]
    pub headless: bool,

    /// Print JSON Lines (one object per line with a "type" field) instead of text
    #[arg(long, help_heading = "Output")]
    pub json: bool,

    /// No progress lines on stderr
    #[arg(short = 'q', long, help_heading = "Output")]
    pub quiet: bool,

    /// Also write the result to FILE when the scan ends, in the format its extension names:
    /// .txt text, .json json, .csv csv, .xml nmap-xml (nmap's -oX format, for ndiff); any other
    /// is text. After Ctrl-C or quitting the live view the partial result is written and marked
    /// partial. FILE is opened (created mode 0600) before the scan starts; if it cannot be, the
    /// scan does not start (exit 2). An existing FILE is replaced only when the result is written
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        help_heading = "Output"
    )]
    pub report_file: Option<PathBuf>,

    /// Format of --output, whatever its extension
    #[arg(
        long = "output-format",
        value_name = "FORMAT",
        value_enum,
        requires = "report_file",
        help_heading = "Output"
    )]
    pub report_format: Option<ReportFormat>,

    /// Theme of the live view: dark, light, high-contrast, mono, a user theme (NAME.toml in
    /// $XDG_CONFIG_HOME/scanwatch/themes), or the path of a theme file (containing `/` or
    /// ending in .toml); checked even when the output is headless [default: the config file's
    /// [ui] theme, else dark, or mono when NO_COLOR is set]
    #[arg(long, value_name = "NAME|PATH", help_heading = "Output")]
    pub theme: Option<String>,

    /// Exit with a distinct code when a condition held (see Exit codes); several are separated
    /// by commas
    #[arg(
        long = "fail-on",
        value_name = "CONDITION",
        value_enum,
        value_delimiter = ',',
        help_heading = ALARMS
    )]
    pub fail_on: Vec<FailOn>,
}

const LOGS: &str = "Session log and diagnostics";

/// Where the session log goes, and the diagnostics log's level.
#[derive(Debug, Args, Clone, Default)]
pub struct LogArgs {
    /// Write the session log to PATH (created mode 0600, emptied if it exists; format:
    /// src/session/FORMAT.md) [default: a new file in $XDG_STATE_HOME/scanwatch/sessions/, named
    /// by start time and targets]
    #[arg(long, value_name = "PATH", help_heading = LOGS)]
    pub session: Option<PathBuf>,

    /// Write no session log
    #[arg(long = "no-session", conflicts_with = "session", help_heading = LOGS)]
    pub no_session: bool,

    /// Level of the diagnostics log in $XDG_STATE_HOME/scanwatch/logs/ (never shown on screen):
    /// off, error, warn, info, debug, trace, or a filter such as scanwatch=debug
    /// [default: $SCANWATCH_LOG, else warn]
    #[arg(long = "log-level", value_name = "LEVEL", value_parser = parse_log_level,
          help_heading = LOGS)]
    pub log_level: Option<String>,
}

fn parse_log_level(s: &str) -> Result<String, String> {
    crate::diagnostics::check_filter(s)
}

/// Options of `scanwatch demo`.
#[derive(Debug, Args, Clone, Default)]
pub struct DemoArgs {
    /// A built-in scenario (see --list)
    #[arg(
        long,
        value_name = "NAME",
        default_value = "mixed",
        conflicts_with = "scenario_file"
    )]
    pub scenario: String,

    /// A scenario file (format: src/sim/FORMAT.md)
    #[arg(long = "scenario-file", value_name = "FILE")]
    pub scenario_file: Option<PathBuf>,

    /// Simulated seconds per real second, or `max` to run as fast as possible
    #[arg(long, value_name = "X", default_value = "1", value_parser = parse_speed,
          allow_negative_numbers = true)]
    pub speed: DemoSpeed,

    /// List the built-in scenarios and exit
    #[arg(long)]
    pub list: bool,

    /// Seed for the simulated network and the port order [default: random, printed]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<u64>,

    #[command(flatten)]
    pub pacing: PacingArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub logs: LogArgs,

    /// Read defaults from FILE instead of $XDG_CONFIG_HOME/scanwatch/config.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// How fast simulated time runs in `scanwatch demo`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DemoSpeed {
    /// Simulated seconds per real second.
    Factor(f64),
    /// As fast as the machine goes.
    Max,
}

impl Default for DemoSpeed {
    fn default() -> Self {
        DemoSpeed::Factor(1.0)
    }
}

fn parse_speed(s: &str) -> Result<DemoSpeed, String> {
    if s.trim().eq_ignore_ascii_case("max") {
        return Ok(DemoSpeed::Max);
    }
    let x: f64 = s
        .trim()
        .trim_end_matches('x')
        .parse()
        .map_err(|_| format!("`{s}` is not a speed; write e.g. 0.5, 4 or max"))?;
    if !(x.is_finite() && (0.01..=1000.0).contains(&x)) {
        return Err(format!(
            "speed `{s}` is out of range; allowed 0.01 to 1000, or max"
        ));
    }
    Ok(DemoSpeed::Factor(x))
}

/// Options of `scanwatch config`.
#[derive(Debug, Args, Clone)]
#[command(arg_required_else_help = true)]
pub struct ConfigArgs {
    /// Print the commented default configuration file
    #[arg(long = "print-default", conflicts_with_all = ["check", "config"])]
    pub print_default: bool,

    /// Check a configuration file (default: the one scanwatch would read) and print where it is
    #[arg(long)]
    pub check: bool,

    /// The configuration file to check
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_millis(1) || d > Duration::from_secs(600) {
        return Err(format!("`{s}` is out of range; allowed 1ms to 10m"));
    }
    Ok(d)
}

fn parse_banner_wait(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if !crate::config::BANNER_WAIT_RANGE.contains(&d) {
        return Err(format!(
            "`{s}` is out of range; allowed 0 (do not read) to {}",
            crate::duration::format_duration(*crate::config::BANNER_WAIT_RANGE.end())
        ));
    }
    Ok(d)
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of probes per second"))?;
    if !(rate.is_finite() && rate > 0.0 && rate <= 10_000_000.0) {
        return Err(format!(
            "`{s}` is out of range; allowed more than 0 up to 10000000"
        ));
    }
    Ok(rate)
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    s.parse()
}

/// nmap spells the input-file option `-iL`, which clap cannot express as a short flag:
/// rewrite it (and `-iLFILE`) to `--input-file` before parsing.
pub fn normalize_args<I: IntoIterator<Item = OsString>>(args: I) -> Vec<OsString> {
    let mut out = Vec::new();
    for arg in args {
        match arg.to_str() {
            Some("-iL") => out.push(OsString::from("--input-file")),
            Some(s) if s.starts_with("-iL") && s.len() > 3 => {
                out.push(OsString::from("--input-file"));
                out.push(OsString::from(&s[3..]));
            }
            _ => out.push(arg),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let args = normalize_args(
            std::iter::once("scanwatch")
                .chain(args.iter().copied())
                .map(OsString::from),
        );
        Cli::try_parse_from(args)
    }

    fn scan(args: &[&str]) -> ScanArgs {
        match parse(args).unwrap().command {
            Command::Scan(a) => *a,
            other => panic!("not a scan: {other:?}"),
        }
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn nmap_style_options() {
        let a = scan(&["scan", "-p-", "127.0.0.1"]);
        assert_eq!(a.ports.as_deref(), Some("-"));
        let a = scan(&["scan", "-p", "-1024", "127.0.0.1"]);
        assert_eq!(a.ports.as_deref(), Some("-1024"));
        let a = scan(&["scan", "-iL", "hosts.txt"]);
        assert_eq!(a.input_file.as_deref(), Some("hosts.txt"));
        let a = scan(&["scan", "-iL-"]);
        assert_eq!(a.input_file.as_deref(), Some("-"));
        let a = scan(&[
            "scan",
            "--timeout",
            "500ms",
            "--rate",
            "250",
            "--shard",
            "2/3",
            "x",
        ]);
        assert_eq!(a.pacing.timeout, Some(Duration::from_millis(500)));
        assert_eq!(a.pacing.rate, Some(250.0));
        assert_eq!(a.shard, Some(Shard { index: 1, count: 3 }));
        assert_eq!(a.banner_wait, None);
        let a = scan(&["scan", "--banner-wait", "300ms", "x"]);
        assert_eq!(a.banner_wait, Some(Duration::from_millis(300)));
        let a = scan(&["scan", "--banner-wait", "0", "x"]);
        assert_eq!(a.banner_wait, Some(Duration::ZERO));
    }

    #[test]
    fn demo_options() {
        let Command::Demo(a) = parse(&["demo", "--speed", "max", "-c", "8"])
            .unwrap()
            .command
        else {
            panic!("not a demo");
        };
        assert_eq!(a.speed, DemoSpeed::Max);
        assert_eq!(a.scenario, "mixed");
        assert_eq!(a.pacing.concurrency, Some(8));
        let Command::Demo(a) = parse(&["demo", "--speed", "4x"]).unwrap().command else {
            panic!("not a demo");
        };
        assert_eq!(a.speed, DemoSpeed::Factor(4.0));
        assert_eq!(a.output.theme, None);
        let Command::Demo(a) = parse(&["demo", "--theme", "light"]).unwrap().command else {
            panic!("not a demo");
        };
        assert_eq!(a.output.theme.as_deref(), Some("light"));
        let a = scan(&["scan", "--theme", "./my.toml", "x"]);
        assert_eq!(a.output.theme.as_deref(), Some("./my.toml"));
    }

    #[test]
    fn auto_throttle_and_fail_on() {
        let a = scan(&["scan", "x"]);
        assert!(a.output.fail_on.is_empty());
        assert!(!a.pacing.auto_throttle_or(false));
        assert!(a.pacing.auto_throttle_or(true), "the file's value applies");
        let a = scan(&["scan", "--auto-throttle", "--fail-on", "alarm", "x"]);
        assert!(a.pacing.auto_throttle_or(false));
        assert_eq!(a.output.fail_on, [FailOn::Alarm]);
        let a = scan(&["scan", "--no-auto-throttle", "x"]);
        assert!(
            !a.pacing.auto_throttle_or(true),
            "the option wins over the file"
        );
        let a = scan(&["scan", "--no-auto-throttle", "--auto-throttle", "x"]);
        assert!(a.pacing.auto_throttle_or(false), "the last one given wins");
        let a = scan(&["scan", "--auto-throttle", "--no-auto-throttle", "x"]);
        assert!(!a.pacing.auto_throttle_or(true), "the last one given wins");
        let a = scan(&["scan", "--fail-on=alarm,alarm", "x"]);
        assert_eq!(a.output.fail_on, [FailOn::Alarm, FailOn::Alarm]);
    }

    #[test]
    fn session_and_log_options() {
        let a = scan(&["scan", "x"]);
        assert_eq!(a.logs.session, None);
        assert!(!a.logs.no_session);
        assert_eq!(a.logs.log_level, None);
        let a = scan(&["scan", "--session", "s.jsonl", "--log-level", "info", "x"]);
        assert_eq!(a.logs.session, Some(PathBuf::from("s.jsonl")));
        assert_eq!(a.logs.log_level.as_deref(), Some("info"));
        let a = scan(&[
            "scan",
            "--no-session",
            "--log-level",
            "scanwatch=debug",
            "x",
        ]);
        assert!(a.logs.no_session);
        assert_eq!(a.logs.log_level.as_deref(), Some("scanwatch=debug"));
        let Command::Demo(a) = parse(&["demo", "--no-session"]).unwrap().command else {
            panic!("not a demo");
        };
        assert!(a.logs.no_session);
    }

    #[test]
    fn bad_values_are_rejected_by_the_parser() {
        for bad in [
            &["scan", "--timeout", "0ms", "x"][..],
            &["scan", "--timeout", "soon", "x"],
            &["scan", "--rate", "-5", "x"],
            &["scan", "--banner-wait", "11s", "x"],
            &["scan", "--banner-wait", "soon", "x"],
            &["scan", "--shard", "3/2", "x"],
            &["scan", "-c", "many", "x"],
            &["scan", "-p", "22", "--top-ports", "10", "x"],
            &["demo", "--speed", "0"],
            &["demo", "--speed", "fast"],
            &["demo", "--scenario", "shun", "--scenario-file", "x.toml"],
            &["scan", "--fail-on", "", "x"],
            &["demo", "--fail-on", "ALARMS"],
            &["scan", "--session", "a", "--no-session", "x"],
            &["demo", "--log-level", "verbose"],
            &["demo", "--log-level", ""],
            &["scan", "-iL", "", "x"],
            &["scan", "--exclude-file", "", "x"],
            &["replay", "--headless", "--paused", "x.jsonl"],
            &["replay", "--headless", "--speed", "4", "x.jsonl"],
            &["config", "--print-default", "--check"],
            &["config", "--print-default", "--config", "c.toml"],
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    /// A negative number or duration is the option's value (a bad one), not an unknown option.
    #[test]
    fn negative_values_are_rejected_naming_the_option() {
        for (args, option) in [
            (&["scan", "-c", "-1", "x"][..], "--concurrency"),
            (&["scan", "--max-per-host", "-1", "x"], "--max-per-host"),
            (&["scan", "--retries", "-1", "x"], "--retries"),
            (&["scan", "--rate", "-0.5", "x"], "--rate"),
            (&["scan", "--seed", "-1", "x"], "--seed"),
            (&["scan", "--top-ports", "-1", "x"], "--top-ports"),
            (&["scan", "--shard", "-1/2", "x"], "--shard"),
            (&["scan", "--timeout", "-5s", "x"], "--timeout"),
            (&["scan", "--banner-wait", "-1", "x"], "--banner-wait"),
            (
                &["recheck", "--baseline", "b", "--cooldown", "-1s"],
                "--cooldown",
            ),
            (&["demo", "--speed", "-2"], "--speed"),
            (&["demo", "--seed", "-2"], "--seed"),
            (&["replay", "--speed", "-2", "x.jsonl"], "--speed"),
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{args:?}: {err}"
            );
            assert!(err.to_string().contains(option), "{args:?}: {err}");
        }
    }
}
