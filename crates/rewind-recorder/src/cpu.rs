//! CPU time of one thread of this process, from `/proc`.

use std::time::Duration;

/// Linux's `USER_HZ`: the unit of `utime`/`stime` in `/proc/*/stat`, 100 on
/// every architecture Rewind runs on.
const USER_HZ: u64 = 100;

/// The calling thread's id, from `/proc/thread-self` (`<pid>/task/<tid>`).
pub(crate) fn current_thread_id() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// CPU time (user + system) thread `tid` of this process has used:
/// nanosecond `schedstat` when the kernel has it, else the tick counters of
/// `stat`.
pub(crate) fn thread_cpu_time(tid: u32) -> Option<Duration> {
    let base = format!("/proc/self/task/{tid}");
    if let Ok(text) = std::fs::read_to_string(format!("{base}/schedstat"))
        && let Some(ns) = text.split_whitespace().next().and_then(|v| v.parse().ok())
    {
        return Some(Duration::from_nanos(ns));
    }
    let text = std::fs::read_to_string(format!("{base}/stat")).ok()?;
    parse_stat_ticks(&text).map(|ticks| Duration::from_millis(ticks * 1000 / USER_HZ))
}

/// `utime + stime` from a `stat` line; the command name in parentheses may
/// hold spaces, so fields are counted from the last `)`.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    // After ")": state is field 3; utime and stime are fields 14 and 15.
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_are_counted_after_the_command_name() {
        let stat = "1234 (rewind rec) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(parse_stat_ticks(stat), Some(300));
        assert_eq!(parse_stat_ticks("garbage"), None);
    }

    #[test]
    fn this_thread_can_be_measured() {
        let Some(tid) = current_thread_id() else {
            return; // not Linux, or no /proc
        };
        let spin = std::time::Instant::now();
        let mut x = 0_u64;
        while spin.elapsed() < Duration::from_millis(30) {
            x = x.wrapping_add(1);
        }
        assert!(x > 0);
        assert!(thread_cpu_time(tid).is_some());
    }
}
