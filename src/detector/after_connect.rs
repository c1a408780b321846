//! What a host's open ports did right after the handshake, as DECEPTION evidence.
//!
//! Real services differ from port to port: some greet (SSH, FTP, SMTP), most wait for the client
//! (HTTP, TLS). A tarpit holds every port open and silent, a SYN proxy completes the handshake and
//! drops the connection at once, a honeypot sends the same banner everywhere. The counts here
//! are per host and a few words in size: the first banner is kept only as a hash and a length.

use std::hash::{DefaultHasher, Hash, Hasher};

use crate::event::AfterConnect;

/// Read ports needed before the after-connect picture counts as strong evidence.
const STRONG_MIN: u32 = 10;

/// Open ports of one host by what they did after the handshake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AfterConnectCounts {
    pub banner: u32,
    pub silent: u32,
    pub closed_at_once: u32,
    pub not_read: u32,
    /// Hash and length of the first banner (meaningful once `banner` > 0).
    first_hash: u64,
    first_len: u32,
    /// Banners equal to the first one, the first included.
    pub same_banner: u32,
}

impl AfterConnectCounts {
    /// Counts one open port.
    pub fn add(&mut self, after: &AfterConnect) {
        match after {
            AfterConnect::NotRead => self.not_read = self.not_read.saturating_add(1),
            AfterConnect::Silent => self.silent = self.silent.saturating_add(1),
            AfterConnect::ClosedAtOnce => {
                self.closed_at_once = self.closed_at_once.saturating_add(1);
            }
            AfterConnect::Banner(bytes) => {
                let hash = banner_hash(bytes);
                let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                if self.banner == 0 {
                    self.first_hash = hash;
                    self.first_len = len;
                }
                if hash == self.first_hash && len == self.first_len {
                    self.same_banner = self.same_banner.saturating_add(1);
                }
                self.banner = self.banner.saturating_add(1);
            }
        }
    }

    /// Open ports that were read (banner, silent or closed at once).
    pub fn read(&self) -> u32 {
        self.banner
            .saturating_add(self.silent)
            .saturating_add(self.closed_at_once)
    }

    /// Most read ports have no service behind them: they closed at once or stayed silent.
    pub fn mostly_empty(&self) -> bool {
        let empty = u64::from(self.silent) + u64::from(self.closed_at_once);
        self.read() >= STRONG_MIN && 2 * empty > u64::from(self.read())
    }

    /// Most read ports sent one and the same banner.
    pub fn mostly_one_banner(&self) -> bool {
        self.same_banner >= STRONG_MIN && 2 * u64::from(self.same_banner) > u64::from(self.read())
    }

    /// The evidence clause, e.g. `after connect: 970 stayed silent, 0 sent a banner`, followed by
    /// what makes it strong; `None` when no open port was read.
    pub fn describe(&self) -> Option<String> {
        let read = self.read();
        if read == 0 {
            return None;
        }
        let mut parts = Vec::with_capacity(4);
        if self.closed_at_once > 0 {
            parts.push(format!("{} closed at once", self.closed_at_once));
        }
        if self.silent > 0 {
            parts.push(format!("{} stayed silent", self.silent));
        }
        let len = self.first_len;
        parts.push(match (self.banner, self.same_banner) {
            (0, _) => "0 sent a banner".to_string(),
            (b, same) if same == b && b >= 2 && b == read => {
                format!("all {b} sent the same {len}-byte banner")
            }
            (b, same) if same == b && b >= 2 => format!("{b} sent the same {len}-byte banner"),
            (b, same) if same >= 2 => {
                format!("{b} sent a banner, {same} of them the same {len}-byte one")
            }
            (b, _) => format!("{b} sent a banner"),
        });
        if self.not_read > 0 {
            parts.push(format!("{} not read", self.not_read));
        }
        let strength = if self.mostly_one_banner() {
            ": one banner on most ports, strong evidence"
        } else if self.mostly_empty() {
            ": no service behind most of them, strong evidence"
        } else {
            ""
        };
        Some(format!("after connect: {}{strength}", parts.join(", ")))
    }
}

/// A banner's hash: the same bytes give the same hash in every run (replays agree).
fn banner_hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn banner(b: &[u8]) -> AfterConnect {
        AfterConnect::Banner(Arc::from(b))
    }

    fn counts(items: impl IntoIterator<Item = (AfterConnect, u32)>) -> AfterConnectCounts {
        let mut c = AfterConnectCounts::default();
        for (after, n) in items {
            for _ in 0..n {
                c.add(&after);
            }
        }
        c
    }

    #[test]
    fn nothing_read_says_nothing() {
        let c = counts([(AfterConnect::NotRead, 500)]);
        assert_eq!(c.describe(), None);
        assert!(!c.mostly_empty() && !c.mostly_one_banner());
    }

    #[test]
    fn silent_and_closed_ports_are_counted_and_strong() {
        let c = counts([(AfterConnect::Silent, 970)]);
        assert_eq!(
            c.describe().unwrap(),
            "after connect: 970 stayed silent, 0 sent a banner: no service behind most of them, \
             strong evidence"
        );
        let c = counts([
            (AfterConnect::ClosedAtOnce, 40),
            (AfterConnect::Silent, 8),
            (banner(b"SSH-2.0-x\r\n"), 2),
        ]);
        assert!(c.mostly_empty());
        assert!(
            c.describe().unwrap().starts_with(
                "after connect: 40 closed at once, 8 stayed silent, 2 sent the same 11-byte banner: no service"
            ),
            "{:?}",
            c.describe()
        );
    }

    #[test]
    fn identical_banners_are_noticed() {
        let c = counts([(banner(b"220 ProFTPD 1.3.5 Server ready.\r\n"), 300)]);
        assert!(c.mostly_one_banner());
        assert_eq!(
            c.describe().unwrap(),
            "after connect: all 300 sent the same 33-byte banner: one banner on most ports, strong \
             evidence"
        );
        let c = counts([
            (banner(b"same"), 3),
            (banner(b"other"), 1),
            (AfterConnect::Silent, 2),
        ]);
        assert_eq!(
            c.describe().unwrap(),
            "after connect: 2 stayed silent, 4 sent a banner, 3 of them the same 4-byte one"
        );
    }

    #[test]
    fn a_few_ordinary_ports_are_not_strong() {
        let c = counts([
            (AfterConnect::Silent, 3),
            (banner(b"SSH-2.0-x\r\n"), 1),
            (banner(b"220 mail ESMTP\r\n"), 1),
        ]);
        assert!(!c.mostly_empty() && !c.mostly_one_banner());
        assert_eq!(
            c.describe().unwrap(),
            "after connect: 3 stayed silent, 2 sent a banner"
        );
        let c = counts([(banner(b"x"), 1), (AfterConnect::NotRead, 4)]);
        assert_eq!(
            c.describe().unwrap(),
            "after connect: 1 sent a banner, 4 not read"
        );
    }

    #[test]
    fn the_counts_stay_small() {
        assert!(std::mem::size_of::<AfterConnectCounts>() <= 32);
    }
}
