//! Real interference on a real kernel: each test runs as root in a private network namespace
//! (`unshare -n`), puts nftables rules in front of one loopback host `127.0.0.N`, starts real
//! listeners on it, runs the `scanwatch` binary against it and checks what the rules did to the
//! scan's output (see DESIGN.md, "Real interference in tests").
//!
//! One function per scenario builds the lab and returns the parsed scans; the `#[test]` fns
//! check them. Without root, `unshare`, `nft` or `ip` the tests print why and pass, unless
//! `SCANWATCH_REQUIRE_NETNS=1`.
//!
//! Network safety: only 127.0.0.0/8, only inside the namespace the test made.

mod support;

use std::net::Ipv4Addr;
use std::ops::Range;
use std::time::Duration;

use support::firewall::Rule;
use support::lab::{self, Lab};
use support::netns::{REPORT_PREFIX, run_isolated};
use support::scan::{HostResult, PortState, Scan, ScanOutput};

/// Bans the scanner after a burst of SYNs.
const SHUNNING: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// Drops SYNs above a rate.
const RATE_LIMITED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
/// Its closed ports' RSTs are rate limited.
const RST_LIMITED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 4);
/// Every port answers (redirected to one listener).
const DECEPTIVE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 5);
/// Drops everything from the start.
const DROPPED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 6);
/// No rules.
const CLEAN: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 7);

/// The ports scanned on each host.
const PORTS: Range<u16> = 20000..20080;
/// The ports scanned on the shunning host in its own test.
const SHUN_PORTS: Range<u16> = 20000..20300;
/// Real listeners on each host, inside `PORTS`.
const LISTENERS: [u16; 2] = [20011, 20033];
/// The deceptive host's catch-all listener on 127.0.0.1 (outside `PORTS`).
const TARPIT_PORT: u16 = 19999;

/// Closed ports in a scan of `PORTS`.
fn closed_count() -> usize {
    PORTS.len() - LISTENERS.len()
}

/// Prints one line about a host's scan; the parent test repeats it.
fn report(behaviour: &str, host: &HostResult) {
    println!("{REPORT_PREFIX}{behaviour}: {}", host.describe());
}

/// What the firewall rules did, for assertion messages.
fn context(host: &HostResult) -> String {
    format!("{}\n{}", host.describe(), lab::ruleset())
}

// ---------------------------------------------------------------------------------------------
// The lab: each host's listeners and rule.

/// Every behaviour's host.
const ALL_HOSTS: [Ipv4Addr; 6] = [
    SHUNNING,
    RATE_LIMITED,
    RST_LIMITED,
    DECEPTIVE,
    DROPPED,
    CLEAN,
];

/// The interference in front of `host`, if any.
fn rule_for(host: Ipv4Addr) -> Option<Rule> {
    let rule = match host {
        // An IPS: a burst of 20 SYNs faster than 10/s bans the scanner for 30 s.
        SHUNNING => Rule::Shun {
            host,
            per_second: 10,
            burst: 20,
            ban: Duration::from_secs(30),
        },
        // A rate limiter (hashlimit-like): SYNs above 20/s beyond a burst of 10 dropped, no ban.
        RATE_LIMITED => Rule::SynRateLimit {
            host,
            per_second: 20,
            burst: 10,
        },
        // RSTs from closed ports above 10/s beyond a burst of 5 dropped.
        RST_LIMITED => Rule::RstRateLimit {
            host,
            per_second: 10,
            burst: 5,
        },
        // Deception: every port but the real listeners answered by one listener.
        DECEPTIVE => Rule::RedirectAll {
            host,
            to_port: TARPIT_PORT,
            except: LISTENERS.to_vec(),
        },
        DROPPED => Rule::DropAll { host },
        _ => return None,
    };
    Some(rule)
}

/// A lab with `hosts`: each with real listeners on `LISTENERS` and its rule in front of it.
fn build_lab(hosts: &[Ipv4Addr]) -> Lab {
    let mut lab = Lab::new();
    for &host in hosts {
        lab.listen(host, &LISTENERS);
    }
    if hosts.contains(&DECEPTIVE) {
        lab.listen(Ipv4Addr::LOCALHOST, &[TARPIT_PORT]);
    }
    let rules: Vec<Rule> = hosts.iter().filter_map(|&h| rule_for(h)).collect();
    lab.firewall(&rules);
    lab
}

// ---------------------------------------------------------------------------------------------
// Scenarios: each builds its lab and returns the parsed scans.

/// The shunning host's scans: the fast scan that triggers the ban, then a re-scan of the
/// listeners' ports while the ban lasts.
struct ShunScans {
    scan: ScanOutput,
    rescan: ScanOutput,
}

/// Shun: a fast scan (20 in flight) trips the IPS within its first SYNs; it scans more ports
/// than the others (`SHUN_PORTS`) so that the scan outlasts the detector's confirmation (a
/// baseline of 30 probes, the change point, two silent sentinels and the grace period).
fn shun() -> ShunScans {
    let _lab = build_lab(&[SHUNNING]);
    let scan = Scan::of(&[SHUNNING])
        .ports(SHUN_PORTS)
        .concurrency(20)
        .timeout_ms(1000)
        .retries(0)
        .run();
    let rescan = Scan::of(&[SHUNNING])
        .port_list(&LISTENERS)
        .timeout_ms(1000)
        .retries(0)
        .run();
    ShunScans { scan, rescan }
}

/// The rate-limited host's scans: a fast one, then a slow one under the limit.
struct RateLimitScans {
    fast: ScanOutput,
    slow: ScanOutput,
}

/// Rate limit: every port at once, with a timeout (1.8 s) that lets the kernel's first SYN
/// resend (at 1 s) be answered but not the second (at 2 s or 3 s, depending on the kernel's
/// `tcp_syn_linear_timeouts`); then 40 ports at 12 probes/s, under the limit.
fn rate_limit() -> RateLimitScans {
    let _lab = build_lab(&[RATE_LIMITED]);
    let fast = Scan::of(&[RATE_LIMITED])
        .ports(PORTS)
        .concurrency(100)
        .timeout_ms(1800)
        .retries(0)
        .run();
    let slow = Scan::of(&[RATE_LIMITED])
        .ports(PORTS.start..PORTS.start + 40)
        .concurrency(4)
        .rate(12)
        .timeout_ms(1800)
        .retries(0)
        .run();
    RateLimitScans { fast, slow }
}

/// RST limit: every port at once; the timeout (700 ms) ends each attempt before the kernel's SYN
/// resend, so a lost RST reads as filtered.
fn rst_limit() -> ScanOutput {
    let _lab = build_lab(&[RST_LIMITED]);
    Scan::of(&[RST_LIMITED])
        .ports(PORTS)
        .concurrency(80)
        .timeout_ms(700)
        .retries(0)
        .run()
}

/// Deception: a plain fast scan.
fn deception() -> ScanOutput {
    let _lab = build_lab(&[DECEPTIVE]);
    Scan::of(&[DECEPTIVE])
        .ports(PORTS)
        .concurrency(50)
        .timeout_ms(1000)
        .retries(0)
        .run()
}

/// Dropped from the start: every port at once, one attempt.
fn dropped() -> ScanOutput {
    let _lab = build_lab(&[DROPPED]);
    Scan::of(&[DROPPED])
        .ports(PORTS)
        .concurrency(80)
        .timeout_ms(1000)
        .retries(0)
        .run()
}

/// Clean: no rules, scanned fast.
fn clean() -> ScanOutput {
    let _lab = build_lab(&[CLEAN]);
    Scan::of(&[CLEAN])
        .ports(PORTS)
        .concurrency(80)
        .timeout_ms(1000)
        .retries(0)
        .run()
}

/// Every behaviour on one network, in one scan of all hosts (the detector must tell them apart).
fn whole_network() -> ScanOutput {
    let _lab = build_lab(&ALL_HOSTS);
    Scan::of(&ALL_HOSTS)
        .ports(PORTS)
        .concurrency(100)
        .timeout_ms(1800)
        .retries(0)
        .run()
}

// ---------------------------------------------------------------------------------------------
// What each behaviour does to the scan's output.

/// Shun: the burst before the ban answers at once, then the host is silent for good: no answer
/// on a SYN resend, and the answers come first in send order.
fn check_shun(host: &HostResult) {
    let why = context(host);
    let answered: Vec<u64> = host
        .probes
        .iter()
        .filter(|p| p.answered())
        .map(|p| p.seq)
        .collect();
    let silent: Vec<u64> = host
        .probes
        .iter()
        .filter(|p| !p.answered())
        .map(|p| p.seq)
        .collect();
    assert!(
        answered.len() >= 10,
        "the burst before the ban answers: {why}"
    );
    assert!(silent.len() >= 40, "the ban silences the rest: {why}");
    assert_eq!(
        host.answered_on_resend().len(),
        0,
        "banned means no late answers: {why}"
    );
    assert!(
        median(&answered) < median(&silent),
        "answers come before the silence in send order: {why}"
    );
}

/// Rate limit, scanned fast: answers at once up to the burst, answers on the SYN resend, losses.
fn check_rate_limited(host: &HostResult) {
    let why = context(host);
    let at_once = host
        .probes
        .iter()
        .filter(|p| p.answered() && !p.answered_on_resend());
    assert!(at_once.count() >= 5, "the burst answers at once: {why}");
    assert!(
        host.answered_on_resend().len() >= 5,
        "answers on the SYN resend: {why}"
    );
    assert!(
        host.count(PortState::Filtered) >= 10,
        "losses above the rate: {why}"
    );
    assert!(
        host.ports(PortState::Open).is_subset(&LISTENERS.into()),
        "{why}"
    );
}

/// No interference (or under the limit): the listeners open, every other port closed at once.
fn check_exact(host: &HostResult) {
    let why = context(host);
    let scanned = host.probes.len();
    assert_eq!(host.ports(PortState::Open), LISTENERS.into(), "{why}");
    assert_eq!(host.summary_open(), LISTENERS.into(), "{why}");
    assert_eq!(
        host.count(PortState::Closed),
        scanned - LISTENERS.len(),
        "{why}"
    );
    assert_eq!(host.answered_on_resend().len(), 0, "{why}");
}

/// RST limit: open ports exact; closed ports answer at once only up to the burst, and at least
/// `min_lost` of them lose their RST (filtered, or answered on the SYN resend).
fn check_rst_limited(host: &HostResult, min_lost: usize) {
    let why = context(host);
    let lost = host.count(PortState::Filtered) + host.answered_on_resend().len();
    assert_eq!(
        host.ports(PortState::Open),
        LISTENERS.into(),
        "SYN-ACKs pass: {why}"
    );
    assert!(
        host.count(PortState::Closed) >= 3,
        "the RST burst answers: {why}"
    );
    assert!(lost >= min_lost, "RSTs above the limit are lost: {why}");
}

/// Deception: every port open.
fn check_all_open(host: &HostResult) {
    assert_eq!(
        host.count(PortState::Open),
        PORTS.len(),
        "{}",
        context(host)
    );
    assert_eq!(host.summary_open().len(), PORTS.len(), "{}", context(host));
}

/// Dropped: every port filtered, no response at all.
fn check_all_silent(host: &HostResult) {
    assert_eq!(
        host.count(PortState::Filtered),
        PORTS.len(),
        "{}",
        context(host)
    );
    assert!(
        host.probes.iter().all(|p| p.reason == "no-response"),
        "{}",
        context(host)
    );
}

// ---------------------------------------------------------------------------------------------
// Tests: one namespace each.

#[test]
fn shun_answers_first_then_goes_silent() {
    run_isolated("shun_answers_first_then_goes_silent", || {
        let runs = shun();
        let (scan, rescan) = (runs.scan.host(SHUNNING), runs.rescan.host(SHUNNING));
        report("shun", &scan);
        report("shun, re-scan of the open ports", &rescan);
        check_shun(&scan);
        assert_eq!(
            runs.scan.alarms_on(SHUNNING),
            ["SHUN"],
            "{}",
            context(&scan)
        );
        assert_eq!(runs.scan.alarms().len(), 1, "{}", context(&scan));
        assert_eq!(
            rescan.count(PortState::Filtered),
            LISTENERS.len(),
            "during the ban even the open ports are silent: {}",
            context(&rescan)
        );
    });
}

#[test]
fn rate_limit_answers_on_syn_resend_and_a_slow_scan_is_clean() {
    run_isolated(
        "rate_limit_answers_on_syn_resend_and_a_slow_scan_is_clean",
        || {
            let runs = rate_limit();
            let (fast, slow) = (runs.fast.host(RATE_LIMITED), runs.slow.host(RATE_LIMITED));
            report("rate limit, fast scan", &fast);
            report("rate limit, slow scan", &slow);
            check_rate_limited(&fast);
            check_exact(&slow);
            // 80 ports are over before a loss check can finish: no alarm is required here (the
            // longer scan in `every_behaviour_in_one_scan` requires RATE), but none may be wrong.
            check_alarms_within(&runs.fast, RATE_LIMITED, &["RATE"], true);
            check_no_alarm(&runs.slow);
        },
    );
}

#[test]
fn rst_limit_turns_closed_ports_filtered_while_open_ports_answer() {
    run_isolated(
        "rst_limit_turns_closed_ports_filtered_while_open_ports_answer",
        || {
            let scan = rst_limit();
            let host = scan.host(RST_LIMITED);
            report("RST limit", &host);
            check_rst_limited(&host, closed_count() / 2);
            check_alarms_within(&scan, RST_LIMITED, &["RSTLIMIT"], true);
        },
    );
}

#[test]
fn deception_shows_every_port_open() {
    run_isolated("deception_shows_every_port_open", || {
        let scan = deception();
        let host = scan.host(DECEPTIVE);
        report("deception", &host);
        check_all_open(&host);
        assert_eq!(
            scan.alarms_on(DECEPTIVE),
            ["DECEPTION"],
            "{}",
            context(&host)
        );
        assert_eq!(scan.alarms().len(), 1, "{}", context(&host));
    });
}

#[test]
fn dropped_host_is_filtered_everywhere() {
    run_isolated("dropped_host_is_filtered_everywhere", || {
        let scan = dropped();
        let host = scan.host(DROPPED);
        report("dropped", &host);
        check_all_silent(&host);
        check_no_alarm(&scan);
    });
}

#[test]
fn clean_host_is_exact() {
    run_isolated("clean_host_is_exact", || {
        let scan = clean();
        let host = scan.host(CLEAN);
        report("clean", &host);
        check_exact(&host);
        check_no_alarm(&scan);
    });
}

#[test]
fn every_behaviour_in_one_scan() {
    run_isolated("every_behaviour_in_one_scan", || {
        let scan = whole_network();
        for addr in ALL_HOSTS {
            report("one scan of every host", &scan.host(addr));
        }
        check_shun(&scan.host(SHUNNING));
        check_rate_limited(&scan.host(RATE_LIMITED));
        // RSTs refill at 10/s while this longer scan runs: fewer are lost.
        check_rst_limited(&scan.host(RST_LIMITED), 20);
        check_all_open(&scan.host(DECEPTIVE));
        check_all_silent(&scan.host(DROPPED));
        check_exact(&scan.host(CLEAN));
        // The detector tells them apart: each kind on its own host, nothing on the others.
        let alarms = |host| (scan.alarms_on(host), context(&scan.host(host)));
        check_alarms_within(&scan, SHUNNING, &["SHUN"], false);
        let (on, why) = alarms(RATE_LIMITED);
        assert_eq!(on, ["RATE"], "{why}");
        let (on, why) = alarms(RST_LIMITED);
        assert_eq!(on, ["RSTLIMIT"], "{why}");
        let (on, why) = alarms(DECEPTIVE);
        assert_eq!(on, ["DECEPTION"], "{why}");
        let (on, why) = alarms(DROPPED);
        assert!(
            on.is_empty(),
            "filtered from the start is not interference: {why}"
        );
        let (on, why) = alarms(CLEAN);
        assert!(on.is_empty(), "{why}");
    });
}

/// Any alarm on `host` is one of `kinds`; with `only`, there is no alarm on any other host.
fn check_alarms_within(scan: &ScanOutput, host: Ipv4Addr, kinds: &[&str], only: bool) {
    for kind in scan.alarms_on(host) {
        assert!(
            kinds.contains(&kind.as_str()),
            "unexpected alarm {kind}: {}",
            context(&scan.host(host))
        );
    }
    if only {
        assert_eq!(
            scan.alarms().len(),
            scan.alarms_on(host).len(),
            "alarms on other hosts: {:?}",
            scan.alarms()
        );
    }
}

/// The scan raised no alarm.
fn check_no_alarm(scan: &ScanOutput) {
    let alarms = scan.alarms();
    assert!(alarms.is_empty(), "{}: {alarms:?}", scan.command);
}

/// The middle value of `values` (0 when empty).
fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}
