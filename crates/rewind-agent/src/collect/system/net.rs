//! Network interface rates from `/proc/net/dev`.
//!
//! Series per interface (rates need two passes): `net.<iface>.rx_bytes_per_s`,
//! `.tx_bytes_per_s` (bytes_per_second), `.rx_packets_per_s`,
//! `.tx_packets_per_s`, `.rx_errors_per_s`, `.tx_errors_per_s`,
//! `.rx_drops_per_s`, `.tx_drops_per_s` (per_second).
//!
//! Hand-written parser rather than procfs-core's `InterfaceDeviceStatus`:
//! that one splits the name off at whitespace, so on kernels that print
//! `eth0:1234567890` (no space once the byte count is wide) every field
//! shifts and the whole file fails; it also builds a map of owned strings
//! each pass. This one splits at the colon and borrows from the buffer.
//! The file is read every pass, so interfaces that come and go (USB
//! modems, VPNs) are followed without re-discovery; at most 256 are tracked.

use std::{path::PathBuf, time::Duration};

use super::{
    Batch, Part,
    common::{clip, names, read_to, segment},
    tracked::Table,
};

const MAX_INTERFACES: usize = 256;
const METRICS: [&str; 8] = [
    "rx_bytes_per_s",
    "tx_bytes_per_s",
    "rx_packets_per_s",
    "tx_packets_per_s",
    "rx_errors_per_s",
    "tx_errors_per_s",
    "rx_drops_per_s",
    "tx_drops_per_s",
];

/// Counter fields (0-based, after the colon) in [`METRICS`] order.
const FIELDS: [usize; 8] = [0, 8, 1, 9, 2, 10, 3, 11];

/// Follows `/proc/net/dev`.
#[derive(Debug)]
pub(super) struct Net {
    path: PathBuf,
    exclude: Vec<String>,
    ifaces: Table<8>,
}

/// Parses one interface line into its name and counters.
fn parse_line(line: &str) -> Option<(&str, [u64; 8])> {
    let (name, rest) = line.split_once(':')?;
    let mut all = [0_u64; 16];
    let mut n = 0;
    for (slot, f) in all.iter_mut().zip(rest.split_ascii_whitespace()) {
        *slot = f.parse().ok()?;
        n += 1;
    }
    (n == 16).then(|| (name.trim(), FIELDS.map(|i| all[i])))
}

/// Whether `name` matches one of the patterns (exact, or a prefix ending in `*`).
fn excluded(name: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| {
        p.strip_suffix('*')
            .map_or(p == name, |prefix| name.starts_with(prefix))
    })
}

impl Net {
    pub(super) fn new(path: PathBuf, exclude: Vec<String>) -> Self {
        Self {
            path,
            exclude,
            ifaces: Table::new(MAX_INTERFACES),
        }
    }

    fn track(&mut self, name: &str, counters: [u64; 8], now: Duration, out: &mut Batch) {
        let exclude = &self.exclude;
        let names = || {
            segment(name)
                .filter(|_| !excluded(name, exclude))
                .and_then(|s| names("net", &s, METRICS))
        };
        for (series, i, r) in self.ifaces.rates(name, counters, now, names) {
            out.reading(
                series,
                if i < 2 {
                    "bytes_per_second"
                } else {
                    "per_second"
                },
                r,
            );
        }
    }
}

impl Part for Net {
    fn poll(&mut self, now: Duration, buf: &mut String, out: &mut Batch) {
        if let Err(e) = read_to(&self.path, buf) {
            return out.problem("system/net", e);
        }
        self.ifaces.begin();
        // The first two lines are headers (`Inter-|   Receive …`, ` face |bytes …`).
        for line in buf.lines().skip(2).filter(|l| !l.trim().is_empty()) {
            match parse_line(line) {
                Some((name, counters)) => self.track(name, counters, now, out),
                None => out.problem(
                    "system/net",
                    format!("{}: malformed line {:?}", self.path.display(), clip(line)),
                ),
            }
        }
        self.ifaces.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_model::Timestamp;

    use crate::collect::system::common::value;

    /// Shaped like a real `/proc/net/dev`; `eth1` as old kernels print wide counters.
    fn netdev(rx: u64, tx: u64, drops: u64) -> String {
        format!(
            "Inter-|   Receive                                                |  Transmit\n \
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
             lo: 3264158    5401    0    0    0     0          0         0  3264158    5401    0    0    0     0       0          0\n  \
             eth0: {rx}   19586    0    {drops}    0     0          0         0  {tx}   11568    2    0    0     0       0          0\n  \
             eth1:{rx}   10    0    0    0     0          0         0  {tx}   10    0    0    0     0       0          0\n \
             veth12ab: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
        )
    }

    fn poll(net: &mut Net, millis: u64) -> Batch {
        let mut out = Batch::new(Timestamp::from_unix_millis(0));
        net.poll(Duration::from_millis(millis), &mut String::new(), &mut out);
        out
    }

    #[test]
    fn two_passes_give_exact_rates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dev");
        std::fs::write(&path, netdev(6_422_071_910, 1_208_000, 0)).unwrap();
        let mut net = Net::new(path.clone(), vec!["lo".into(), "veth*".into()]);
        assert!(poll(&mut net, 1000).readings.is_empty());
        std::fs::write(&path, netdev(6_422_071_910 + 50_000, 1_208_000 + 1000, 3)).unwrap();
        let b = poll(&mut net, 1500);
        assert!(b.problems.is_empty(), "{:?}", b.problems);
        assert_eq!(value(&b, "net.eth0.rx_bytes_per_s"), Some(100_000.0));
        assert_eq!(value(&b, "net.eth0.tx_bytes_per_s"), Some(2000.0));
        assert_eq!(value(&b, "net.eth0.rx_packets_per_s"), Some(0.0));
        assert_eq!(value(&b, "net.eth0.rx_drops_per_s"), Some(6.0));
        assert_eq!(value(&b, "net.eth0.tx_errors_per_s"), Some(0.0));
        assert_eq!(
            value(&b, "net.eth1.rx_bytes_per_s"),
            Some(100_000.0),
            "colon-glued counters"
        );
        assert!(
            b.readings
                .iter()
                .all(|r| !r.series.as_str().starts_with("net.lo."))
        );
        assert!(
            b.readings
                .iter()
                .all(|r| !r.series.as_str().starts_with("net.veth"))
        );
        assert_eq!(b.readings.len(), 16);
    }

    #[test]
    fn malformed_lines_are_problems_and_counter_resets_skip_a_rate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dev");
        std::fs::write(&path, netdev(500, 500, 0)).unwrap();
        let mut net = Net::new(path.clone(), Vec::new());
        poll(&mut net, 0);
        std::fs::write(
            &path,
            format!("{}wlan0: 1 2 3\n\u{0}\u{7f}\n", netdev(100, 600, 0)),
        )
        .unwrap();
        let b = poll(&mut net, 1000);
        assert_eq!(b.problems.len(), 2, "{:?}", b.problems);
        assert_eq!(
            value(&b, "net.eth0.rx_bytes_per_s"),
            None,
            "counter went back"
        );
        assert_eq!(value(&b, "net.eth0.tx_bytes_per_s"), Some(100.0));
        assert!(
            value(&b, "net.lo.rx_bytes_per_s").is_some(),
            "nothing excluded"
        );
    }
}
