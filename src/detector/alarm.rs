//! Interference alarms: what was seen, where, since when, the likely cause and what to do.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The kinds of interference scanwatch recognises (DESIGN.md, "Interference alarms").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AlarmKind {
    /// A host that answered went silent, and a port it answered on before no longer does.
    Shun,
    /// Many answering hosts went silent within seconds of each other.
    Range,
    /// Every host and every sentinel went silent at once: the scanner lost its own link.
    Lost,
    /// Answers come only on SYN retry, or losses follow the send rate.
    Rate,
    /// Connect times inflated well above the hosts' own baselines.
    Qos,
    /// Too many open ports, or open ports that close at once, stay silent, or share one banner.
    Deception,
    /// Closed ports stopped answering with RST while open ports still answer.
    RstLimit,
    /// A baseline port is not open now (re-check).
    Recheck,
    /// The scanner itself ran out of descriptors or ephemeral ports.
    Local,
}

impl AlarmKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmKind::Shun => "SHUN",
            AlarmKind::Range => "RANGE",
            AlarmKind::Lost => "LOST",
            AlarmKind::Rate => "RATE",
            AlarmKind::Qos => "QOS",
            AlarmKind::Deception => "DECEPTION",
            AlarmKind::RstLimit => "RSTLIMIT",
            AlarmKind::Recheck => "RECHECK",
            AlarmKind::Local => "LOCAL",
        }
    }

    /// The likely cause, in a few words.
    pub fn cause(self) -> &'static str {
        match self {
            AlarmKind::Shun => "an IPS or firewall is blocking the scanner's address",
            AlarmKind::Range => "a next-generation firewall blocked the scanner for a whole range",
            AlarmKind::Lost => "the scanner lost its own network link",
            AlarmKind::Rate => "a WAF or rate limit drops SYNs above a rate",
            AlarmKind::Qos => "throttling or congestion on the path",
            AlarmKind::Deception => "a tarpit, SYN proxy or deception system answers for the host",
            AlarmKind::RstLimit => "the host or a firewall rate-limits RST replies",
            AlarmKind::Recheck => "the service changed, or a new rule blocks it",
            AlarmKind::Local => "the scanner's own limits (open files, ephemeral ports)",
        }
    }

    /// What to do about it.
    pub fn action(self) -> &'static str {
        match self {
            AlarmKind::Shun => "pause this host, whitelist the scanner's address, re-scan slower",
            AlarmKind::Range => "whitelist the scanner's address for the range, re-scan slower",
            AlarmKind::Lost => "results after this time are invalid; check the link and re-scan",
            AlarmKind::Rate => "lower concurrency or rate",
            AlarmKind::Qos => "raise the timeout, lower the rate",
            AlarmKind::Deception => {
                "treat these open ports as unverified; sample ports instead of the full range"
            }
            AlarmKind::RstLimit => "closed and filtered are unreliable here; slow down",
            AlarmKind::Recheck => "compare with the sentinel: a silent sentinel means interference",
            AlarmKind::Local => {
                "lower concurrency or raise the open-file limit; not the target's doing"
            }
        }
    }
}

/// Where an alarm applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "lowercase")]
pub enum Scope {
    /// One host.
    Host { addr: IpAddr },
    /// The addresses from `first` to `last`.
    Range { first: IpAddr, last: IpAddr },
    /// The whole scan.
    Scan,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Host { addr } => write!(f, "{addr}"),
            Scope::Range { first, last } => write!(f, "{first}-{last}"),
            Scope::Scan => f.write_str("all hosts"),
        }
    }
}

/// One raised alarm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    pub kind: AlarmKind,
    #[serde(flatten)]
    pub scope: Scope,
    /// When the interference began (the change point), µs of scan time.
    pub since_us: u64,
    /// When the alarm was raised, µs of scan time.
    pub raised_us: u64,
    /// When it was cleared after clean windows, if it was.
    pub cleared_us: Option<u64>,
    /// The numbers that justify it, e.g. "41 of the last 44 probes timed out (baseline 0%)".
    pub evidence: String,
}

impl Alarm {
    pub fn is_active(&self) -> bool {
        self.cleared_us.is_none()
    }

    /// The alarm as one readable line.
    pub fn line(&self) -> String {
        format!(
            "{} {} since {}: {}; likely {}; {}",
            self.kind.as_str(),
            self.scope,
            seconds(self.since_us),
            self.evidence,
            self.kind.cause(),
            self.kind.action()
        )
    }
}

fn seconds(us: u64) -> String {
    format!("{:.1}s", us as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_says_what_where_since_when_cause_and_action() {
        let alarm = Alarm {
            kind: AlarmKind::Shun,
            scope: Scope::Host {
                addr: "127.0.3.10".parse().unwrap(),
            },
            since_us: 3_100_000,
            raised_us: 4_200_000,
            cleared_us: None,
            evidence:
                "41 of the last 44 probes timed out (baseline 0%); sentinel 22/tcp silent twice"
                    .into(),
        };
        let line = alarm.line();
        assert!(
            line.starts_with("SHUN 127.0.3.10 since 3.1s: 41 of the last 44"),
            "{line}"
        );
        assert!(line.contains("blocking the scanner"), "{line}");
        assert!(line.contains("whitelist"), "{line}");
        let json = serde_json::to_value(&alarm).unwrap();
        assert_eq!(json["kind"], "SHUN");
        assert_eq!(json["scope"], "host");
        assert_eq!(json["addr"], "127.0.3.10");
    }
}
