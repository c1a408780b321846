//! The lab: the loopback network of the test's private namespace, with real listeners and
//! firewall rules on `127.0.0.N` hosts.
//!
//! ```ignore
//! let mut lab = Lab::new();
//! lab.listen(HOST, &[20011, 20047])
//!     .firewall(&[Rule::DropAll { host: HOST }]);
//! let scan = Scan::of(&[HOST]).ports(20000..20080).run();
//! ```

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Stdio};

use super::firewall::{self, Rule};
use super::netns;

/// The namespace's loopback network. Listeners live until the test process ends (each test
/// runs in a process of its own), and so do the rules (they die with the namespace).
pub struct Lab {
    firewall_applied: bool,
}

impl Lab {
    /// Checks that this process is inside a namespace the test made (refuses to touch the
    /// machine's own network otherwise) and brings its loopback up.
    pub fn new() -> Lab {
        assert!(
            netns::in_test_namespace(),
            "Lab::new() outside the test's network namespace: use netns::run_isolated"
        );
        let interfaces = interfaces();
        assert_eq!(
            interfaces,
            ["lo"],
            "not a fresh network namespace (interfaces {interfaces:?}): refusing to change it"
        );
        run("ip", &["link", "set", "lo", "up"], None);
        Lab {
            firewall_applied: false,
        }
    }

    /// Binds a listener on each of `ports` of `host` that accepts connections and closes them.
    pub fn listen(&mut self, host: Ipv4Addr, ports: &[u16]) -> &mut Self {
        assert!(
            host.is_loopback(),
            "listeners only on 127.0.0.0/8, not {host}"
        );
        for &port in ports {
            let listener = TcpListener::bind((host, port))
                .unwrap_or_else(|e| panic!("bind {host}:{port}: {e}"));
            std::thread::spawn(move || accept_and_close(listener));
        }
        self
    }

    /// Installs `rules` in one nftables transaction (once per lab).
    pub fn firewall(&mut self, rules: &[Rule]) -> &mut Self {
        assert!(!self.firewall_applied, "Lab::firewall called twice");
        self.firewall_applied = true;
        let script = firewall::script(rules);
        run("nft", &["-f", "-"], Some(&script));
        self
    }
}

/// `nft list ruleset`, with every rule's packet counter: what the rules did so far.
pub fn ruleset() -> String {
    run("nft", &["list", "ruleset"], None)
}

fn accept_and_close(listener: TcpListener) {
    for connection in listener.incoming() {
        drop(connection);
    }
}

/// Interface names in this process's network namespace.
fn interfaces() -> Vec<String> {
    let dev = std::fs::read_to_string("/proc/self/net/dev").expect("read /proc/self/net/dev");
    dev.lines()
        .skip(2)
        .filter_map(|line| line.split(':').next())
        .map(|name| name.trim().to_string())
        .collect()
}

/// Runs a system tool, feeding `stdin`; panics with its stderr when it fails. Returns stdout.
fn run(name: &str, args: &[&str], stdin: Option<&str>) -> String {
    let path = netns::tool(name).unwrap_or_else(|| panic!("`{name}` not found"));
    let mut child = Command::new(path)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {name}: {e}"));
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{name} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr).trim(),
        stdin.unwrap_or_default()
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
