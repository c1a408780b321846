//! Interference on the namespace's loopback, as nftables rules: what an IPS, a rate limiter, a
//! tarpit or a plain firewall in front of one `127.0.0.N` host would do to the scanner.
//!
//! Loopback packets pass the `output` hook when sent and the `input` hook when received, so a
//! rule "in front of" host H sits on `input` for packets to H and on `output` for packets H sends.
//! NAT for locally generated packets only happens on the nat `output` hook. Every rule has a
//! `counter`, so `nft list ruleset` (see `lab::ruleset`) shows what it did.

use std::fmt::Write;
use std::net::Ipv4Addr;
use std::time::Duration;

/// One host's interference.
#[derive(Debug, Clone)]
pub enum Rule {
    /// Every packet to `host` is dropped, from the start.
    /// (iptables: `-A INPUT -d H -j DROP`.)
    DropAll { host: Ipv4Addr },
    /// Every packet to one port of `host` is dropped (a new firewall rule for one service).
    /// (iptables: `-A INPUT -d H -p tcp --dport P -j DROP`.)
    DropPort { host: Ipv4Addr, port: u16 },
    /// An IPS shun: once SYNs to `host` from a source come faster than `per_second` beyond a
    /// burst of `burst`, that source is banned for `ban`: every packet from it to `host` is
    /// dropped, whatever its pace. (iptables `recent`: `-A INPUT -d H -m recent --name shun
    /// --rcheck --seconds BAN -j DROP`, `-A INPUT -d H -p tcp --syn -m recent --name syns --update
    /// --seconds 2 --hitcount BURST -m recent --name shun --set -j DROP`, `-A INPUT -d H -p tcp
    /// --syn -m recent --name syns --set`.)
    Shun {
        host: Ipv4Addr,
        per_second: u32,
        burst: u32,
        ban: Duration,
    },
    /// A rate limiter (iptables `hashlimit` per source): SYNs to `host` above `per_second`
    /// beyond a burst of `burst` are dropped; no ban, so the kernel's SYN resend may get through.
    /// (iptables: `-A INPUT -d H -p tcp --syn -m hashlimit --hashlimit-name N --hashlimit-mode
    /// srcip --hashlimit-above R/sec --hashlimit-burst B -j DROP`.)
    SynRateLimit {
        host: Ipv4Addr,
        per_second: u32,
        burst: u32,
    },
    /// RSTs sent by `host` (its closed ports' answers) above `per_second` beyond a burst of
    /// `burst` are dropped; SYN-ACKs are not touched. (iptables: `-A OUTPUT -s H -p tcp
    /// --tcp-flags RST RST -m limit --limit R/s --limit-burst B -j ACCEPT`, then the same
    /// without `-m limit` `-j DROP`.)
    RstRateLimit {
        host: Ipv4Addr,
        per_second: u32,
        burst: u32,
    },
    /// A deception host / tarpit: every TCP port of `host` except `except` is redirected to the
    /// listener on `127.0.0.1:to_port` (nat `redirect` sends local traffic to 127.0.0.1).
    /// (iptables: `-t nat -A OUTPUT -d H -p tcp -m multiport ! --dports EXCEPT -j REDIRECT
    /// --to-ports P`.)
    RedirectAll {
        host: Ipv4Addr,
        to_port: u16,
        except: Vec<u16>,
    },
}

/// Where a rule line goes.
enum Hook {
    Input,
    Output,
    NatOutput,
}

/// Matches a connection's first SYN (and its resends), not SYN-ACKs.
const SYN: &str = "tcp flags & (syn | ack) == syn";

impl Rule {
    /// The host whose traffic the rule touches.
    pub fn host(&self) -> Ipv4Addr {
        match self {
            Rule::DropAll { host }
            | Rule::DropPort { host, .. }
            | Rule::Shun { host, .. }
            | Rule::SynRateLimit { host, .. }
            | Rule::RstRateLimit { host, .. }
            | Rule::RedirectAll { host, .. } => *host,
        }
    }

    /// nft set declarations the rule needs.
    fn sets(&self) -> Vec<String> {
        let id = set_id(self.host());
        match self {
            Rule::Shun { .. } => vec![
                format!("set shun_syns_{id} {{ type ipv4_addr; flags dynamic; }}"),
                format!("set shunned_{id} {{ type ipv4_addr; flags dynamic,timeout; }}"),
            ],
            Rule::SynRateLimit { .. } => {
                vec![format!(
                    "set syn_rate_{id} {{ type ipv4_addr; flags dynamic; }}"
                )]
            }
            _ => Vec::new(),
        }
    }

    /// The rule lines and the hook each goes to.
    fn lines(&self) -> Vec<(Hook, String)> {
        let host = self.host();
        let id = set_id(host);
        match self {
            Rule::DropAll { .. } => vec![(Hook::Input, format!("ip daddr {host} counter drop"))],
            Rule::DropPort { port, .. } => vec![(
                Hook::Input,
                format!("ip daddr {host} tcp dport {port} counter drop"),
            )],
            Rule::Shun {
                per_second,
                burst,
                ban,
                ..
            } => vec![
                (
                    Hook::Input,
                    format!("ip daddr {host} ip saddr @shunned_{id} counter drop"),
                ),
                (
                    Hook::Input,
                    format!(
                        "ip daddr {host} {SYN} add @shun_syns_{id} {{ ip saddr limit rate over \
                         {per_second}/second burst {burst} packets }} add @shunned_{id} \
                         {{ ip saddr timeout {}s }} counter drop",
                        ban.as_secs().max(1)
                    ),
                ),
            ],
            Rule::SynRateLimit {
                per_second, burst, ..
            } => vec![(
                Hook::Input,
                format!(
                    "ip daddr {host} {SYN} add @syn_rate_{id} {{ ip saddr limit rate over \
                     {per_second}/second burst {burst} packets }} counter drop"
                ),
            )],
            Rule::RstRateLimit {
                per_second, burst, ..
            } => vec![(
                Hook::Output,
                format!(
                    "ip saddr {host} tcp flags & rst == rst limit rate over {per_second}/second \
                     burst {burst} packets counter drop"
                ),
            )],
            Rule::RedirectAll {
                to_port, except, ..
            } => {
                let spared = if except.is_empty() {
                    String::new()
                } else {
                    let ports: Vec<String> = except.iter().map(u16::to_string).collect();
                    format!("tcp dport != {{ {} }} ", ports.join(", "))
                };
                vec![(
                    Hook::NatOutput,
                    format!(
                        "ip daddr {host} meta l4proto tcp {spared}counter redirect to :{to_port}"
                    ),
                )]
            }
        }
    }
}

/// The nftables script for `rules`: table `inet scanwatch_lab` (filter) and, when a rule needs
/// NAT, table `ip scanwatch_lab_nat`. Applied with `nft -f -` in one transaction.
pub fn script(rules: &[Rule]) -> String {
    for rule in rules {
        assert!(
            rule.host().is_loopback(),
            "firewall rules only for 127.0.0.0/8, not {}",
            rule.host()
        );
    }
    let lines: Vec<(Hook, String)> = rules.iter().flat_map(Rule::lines).collect();
    let on = |hook: fn(&Hook) -> bool| -> String {
        lines
            .iter()
            .filter(|(h, _)| hook(h))
            .fold(String::new(), |mut s, (_, line)| {
                let _ = writeln!(s, "\t\t{line}");
                s
            })
    };
    let mut out = String::from("table inet scanwatch_lab {\n");
    for set in rules.iter().flat_map(Rule::sets) {
        let _ = writeln!(out, "\t{set}");
    }
    let _ = write!(
        out,
        "\tchain input {{\n\t\ttype filter hook input priority filter; policy accept;\n{}\t}}\n\
         \tchain output {{\n\t\ttype filter hook output priority filter; policy accept;\n{}\t}}\n}}\n",
        on(|h| matches!(h, Hook::Input)),
        on(|h| matches!(h, Hook::Output)),
    );
    let nat = on(|h| matches!(h, Hook::NatOutput));
    if !nat.is_empty() {
        let _ = write!(
            out,
            "table ip scanwatch_lab_nat {{\n\tchain output {{\n\t\ttype nat hook output priority -100; \
             policy accept;\n{nat}\t}}\n}}\n"
        );
    }
    out
}

/// `127.0.0.2` → `127_0_0_2`, for set names.
fn set_id(host: Ipv4Addr) -> String {
    host.to_string().replace('.', "_")
}
