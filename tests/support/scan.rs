//! Runs the real `scanwatch` binary and parses its JSON Lines output
//! (schema: src/headless/schema/scanwatch-jsonl-v1.schema.json).
//!
//! ```ignore
//! let scan = Scan::of(&[HOST]).ports(20000..20080).concurrency(50).timeout_ms(1000).run();
//! let host = scan.host(HOST);
//! assert_eq!(host.count(PortState::Filtered), 80, "{}", host.describe());
//! ```

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

/// A connect answered on the kernel's first SYN resend takes its initial RTO (1 s) plus the
/// round trip; anything this slow on loopback was answered on a resend.
pub const SYN_RESEND_MIN: Duration = Duration::from_millis(900);

/// A `scanwatch scan … --json` command line under construction.
#[derive(Debug, Clone)]
pub struct Scan {
    hosts: Vec<Ipv4Addr>,
    ports: String,
    options: Vec<String>,
}

impl Scan {
    /// Scans `hosts` (127.0.0.0/8 only) with JSON output, seed 1, no progress lines.
    pub fn of(hosts: &[Ipv4Addr]) -> Scan {
        for host in hosts {
            assert!(host.is_loopback(), "scans only 127.0.0.0/8, not {host}");
        }
        Scan {
            hosts: hosts.to_vec(),
            ports: String::new(),
            options: ["--json", "--seed", "1", "-q", "--no-session"]
                .map(String::from)
                .to_vec(),
        }
    }

    /// The ports `range.start` ..= `range.end - 1`.
    pub fn ports(mut self, range: Range<u16>) -> Scan {
        self.ports = format!("{}-{}", range.start, range.end - 1);
        self
    }

    /// These ports.
    pub fn port_list(mut self, ports: &[u16]) -> Scan {
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        self.ports = ports.join(",");
        self
    }

    /// `-c N`: probes in flight at most.
    pub fn concurrency(self, n: u32) -> Scan {
        self.option("-c", n)
    }

    /// `--timeout Nms` per attempt.
    pub fn timeout_ms(self, ms: u64) -> Scan {
        self.option("--timeout", format!("{ms}ms"))
    }

    /// `--retries N`: extra attempts after a timeout.
    pub fn retries(self, n: u32) -> Scan {
        self.option("--retries", n)
    }

    /// `--rate N`: probes per second at most.
    pub fn rate(self, per_second: u32) -> Scan {
        self.option("--rate", per_second)
    }

    /// Any other option.
    pub fn option(mut self, name: &str, value: impl ToString) -> Scan {
        self.options.push(name.to_string());
        self.options.push(value.to_string());
        self
    }

    fn args(&self) -> Vec<String> {
        assert!(!self.ports.is_empty(), "Scan needs ports");
        let mut args = vec!["scan".to_string()];
        args.extend(self.hosts.iter().map(Ipv4Addr::to_string));
        args.extend(["-p".to_string(), self.ports.clone()]);
        args.extend(self.options.iter().cloned());
        args
    }

    /// Runs the scan to the end and parses its output; panics when scanwatch fails or its output
    /// is not a complete scan of every planned (host, port).
    pub fn run(&self) -> ScanOutput {
        let args = self.args();
        let command = format!("scanwatch {}", args.join(" "));
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_scanwatch"))
            .args(&args)
            .output()
            .expect("start scanwatch");
        let wall = started.elapsed();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "`{command}` failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let scan = ScanOutput::parse(command, &stdout, wall);
        scan.check_complete(self.hosts.len());
        scan
    }
}

/// A port's final state, as scanwatch reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortState {
    Open,
    Closed,
    Filtered,
    LocalError,
}

/// One `probe` line: a (host, port) reached its final state.
#[derive(Debug, Clone, Deserialize)]
pub struct Probe {
    pub t_us: u64,
    pub host: IpAddr,
    pub port: u16,
    pub state: PortState,
    pub reason: String,
    pub connect_us: u64,
    pub attempt: u32,
    pub seq: u64,
}

impl Probe {
    /// Open or closed: the host answered.
    pub fn answered(&self) -> bool {
        matches!(self.state, PortState::Open | PortState::Closed)
    }

    /// Answered, but only on the kernel's SYN resend: the first SYN (or its answer) was lost.
    pub fn answered_on_resend(&self) -> bool {
        self.answered() && self.connect_us >= SYN_RESEND_MIN.as_micros() as u64
    }

    /// Answered on a later attempt (`--retries`) after earlier ones timed out.
    pub fn answered_on_retry(&self) -> bool {
        self.answered() && self.attempt > 1
    }
}

/// A finished scan's output.
#[derive(Debug)]
pub struct ScanOutput {
    /// The command line, for messages.
    pub command: String,
    /// Every line, parsed; for line types the harness does not model.
    pub lines: Vec<Value>,
    /// The `probe` lines.
    pub probes: Vec<Probe>,
    /// The last line.
    pub summary: Value,
    /// Wall-clock time of the run.
    pub wall: Duration,
}

impl ScanOutput {
    fn parse(command: String, stdout: &str, wall: Duration) -> ScanOutput {
        let lines: Vec<Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let probes = lines
            .iter()
            .filter(|l| l["type"] == "probe")
            .map(|l| serde_json::from_value(l.clone()).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let summary = lines.last().cloned().unwrap_or_default();
        ScanOutput {
            command,
            lines,
            probes,
            summary,
            wall,
        }
    }

    /// Every planned (host, port) has exactly one probe line and the scan completed.
    fn check_complete(&self, hosts: usize) {
        let command = &self.command;
        assert_eq!(
            self.lines.first().map(|l| &l["type"]),
            Some(&Value::from("start")),
            "{command}"
        );
        assert_eq!(self.summary["type"], "summary", "{command}: last line");
        assert_eq!(self.summary["finish"], "completed", "{command}");
        let planned = self.lines[0]["ports_per_host"].as_u64().unwrap() * hosts as u64;
        let distinct: BTreeSet<(IpAddr, u16)> =
            self.probes.iter().map(|p| (p.host, p.port)).collect();
        assert_eq!(self.probes.len() as u64, planned, "{command}: probe lines");
        assert_eq!(
            distinct.len(),
            self.probes.len(),
            "{command}: a port reported twice"
        );
        let errors: Vec<&Value> = self.lines_of_type("error").collect();
        assert!(errors.is_empty(), "{command}: error lines {errors:?}");
    }

    /// Lines of one `type`, e.g. `"alarm"`.
    pub fn lines_of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.lines.iter().filter(move |l| l["type"] == kind)
    }

    /// The alarms raised, as (kind, scope), e.g. `("SHUN", "127.0.0.2")`.
    pub fn alarms(&self) -> Vec<(String, String)> {
        self.lines_of_type("alarm")
            .map(|l| {
                (
                    l["kind"].as_str().unwrap_or_default().to_string(),
                    l["scope"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The alarms whose scope names `host` (a host scope, or a range holding it).
    pub fn alarms_on(&self, host: Ipv4Addr) -> Vec<String> {
        self.alarms()
            .into_iter()
            .filter(|(_, scope)| scope_holds(scope, host))
            .map(|(kind, _)| kind)
            .collect()
    }

    /// What this scan saw of `host`.
    pub fn host(&self, host: Ipv4Addr) -> HostResult<'_> {
        let addr = IpAddr::V4(host);
        let mut probes: Vec<&Probe> = self.probes.iter().filter(|p| p.host == addr).collect();
        probes.sort_by_key(|p| p.seq);
        HostResult {
            scan: self,
            addr,
            probes,
        }
    }
}

/// One host's probes in a scan, in dispatch order.
pub struct HostResult<'a> {
    scan: &'a ScanOutput,
    addr: IpAddr,
    /// Sorted by `seq`.
    pub probes: Vec<&'a Probe>,
}

impl HostResult<'_> {
    /// Ports in `state`.
    pub fn ports(&self, state: PortState) -> BTreeSet<u16> {
        self.probes
            .iter()
            .filter(|p| p.state == state)
            .map(|p| p.port)
            .collect()
    }

    /// How many ports ended in `state`.
    pub fn count(&self, state: PortState) -> usize {
        self.probes.iter().filter(|p| p.state == state).count()
    }

    /// Probes answered only on the kernel's SYN resend.
    pub fn answered_on_resend(&self) -> Vec<&Probe> {
        self.probes
            .iter()
            .copied()
            .filter(|p| p.answered_on_resend())
            .collect()
    }

    /// The open ports listed for this host in the summary line.
    pub fn summary_open(&self) -> BTreeSet<u16> {
        let hosts = self.scan.summary["hosts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        hosts
            .iter()
            .filter(|h| h["addr"] == self.addr.to_string())
            .flat_map(|h| h["open"].as_array().cloned().unwrap_or_default())
            .map(|o| o["port"].as_u64().unwrap() as u16)
            .collect()
    }

    /// When the host's last answer arrived, since the scan started.
    pub fn last_answer(&self) -> Option<Duration> {
        let t_us = self
            .probes
            .iter()
            .filter(|p| p.answered())
            .map(|p| p.t_us)
            .max()?;
        Some(Duration::from_micros(t_us))
    }

    /// One line for logs and assertion messages: counts, resend answers, the dispatch order of
    /// answers and silences, and the command.
    fn addr_v4(&self) -> Ipv4Addr {
        match self.addr {
            IpAddr::V4(a) => a,
            IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
        }
    }

    pub fn describe(&self) -> String {
        let resends = self.answered_on_resend();
        let resend_ms: Vec<u64> = resends.iter().map(|p| p.connect_us / 1000).collect();
        let retried = self.probes.iter().filter(|p| p.answered_on_retry()).count();
        let last_answer_ms = self.last_answer().map(|t| t.as_millis());
        let order: String = self
            .probes
            .iter()
            .map(|p| match (p.state, p.answered_on_resend()) {
                (PortState::Open, false) => 'o',
                (PortState::Closed, false) => 'c',
                (_, true) => 'r',
                (PortState::Filtered, _) => '.',
                (PortState::LocalError, _) => 'E',
            })
            .collect();
        format!(
            "{}: open={} closed={} filtered={} local-error={} answered-on-resend={} \
             (connect ms {:?}) answered-on-retry={retried} last-answer-ms={last_answer_ms:?}; \
             alarms {:?}; \
             scan took {:.2} s; by seq [{order}] (o open, c closed, r resend answer, . filtered); \
             `{}`",
            self.addr,
            self.count(PortState::Open),
            self.count(PortState::Closed),
            self.count(PortState::Filtered),
            self.count(PortState::LocalError),
            resends.len(),
            min_max(&resend_ms),
            self.scan.alarms_on(self.addr_v4()),
            self.scan.wall.as_secs_f64(),
            self.scan.command,
        )
    }
}

fn min_max(values: &[u64]) -> Option<(u64, u64)> {
    Some((*values.iter().min()?, *values.iter().max()?))
}

/// Whether an alarm scope (`127.0.0.2`, `127.0.0.2-127.0.0.5`, `scan`) holds `host`.
fn scope_holds(scope: &str, host: Ipv4Addr) -> bool {
    match scope.split_once('-') {
        Some((first, last)) => match (first.parse::<Ipv4Addr>(), last.parse::<Ipv4Addr>()) {
            (Ok(first), Ok(last)) => first <= host && host <= last,
            _ => false,
        },
        None => scope == "all hosts" || scope.parse::<Ipv4Addr>() == Ok(host),
    }
}
