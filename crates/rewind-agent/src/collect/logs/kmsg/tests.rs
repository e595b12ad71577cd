//! Kernel log records: parsing of recorded records, and the stream on a
//! regular file standing in for `/dev/kmsg` (see the module doc for how the
//! two differ), and on the live device when it can be opened.

use std::{io::Write as _, time::Instant};

use tokio::task::JoinHandle;

use super::*;
use crate::collect::{
    StopHandle,
    logs::testing::{Seen, until},
};

const LIMIT: Duration = Duration::from_secs(10);
const BTIME: i64 = 1_700_000_000;

fn at_usec(usec: i64) -> Timestamp {
    Timestamp::from_unix_nanos(BTIME * 1_000_000_000 + usec * 1_000)
}

#[test]
fn records_are_parsed_and_dated_from_boot() {
    let boot = Some(Timestamp::from_unix_nanos(BTIME * 1_000_000_000));
    let e = parse(
        b"6,1234,5140900,-;usb 1-1: new high-speed USB device number 2 using xhci_hcd",
        boot,
        8192,
    )
    .unwrap();
    assert_eq!(
        (e.kind, e.level, e.ts),
        (EventKind::Log, Level::Info, at_usec(5_140_900))
    );
    assert_eq!(
        (e.source.as_str(), e.message.as_str()),
        (
            "kmsg",
            "usb 1-1: new high-speed USB device number 2 using xhci_hcd"
        )
    );

    let e = parse(
        b"3,1235,7000000,-;Out of memory: Killed process 1234 (stress) total-vm:100kB",
        boot,
        8192,
    )
    .unwrap();
    assert_eq!((e.kind, e.level), (EventKind::OomKill, Level::Error));
    assert_eq!(e.fields.get("pid").map(String::as_str), Some("1234"));
    assert_eq!(e.fields.get("process").map(String::as_str), Some("stress"));

    // Newer kernels add fields after the flags (caller id).
    let e = parse(b"4,99,12,c,caller=T42;CPU9: Package temperature is above threshold, cpu clock is throttled (total events = 1)", boot, 8192).unwrap();
    assert_eq!((e.kind, e.level), (EventKind::Thermal, Level::Warning));

    // Facility bits (here 1 = user) do not disturb the severity.
    let e = parse(
        b"11,5,1,-;systemd[1]: Failed to start x.service",
        boot,
        8192,
    )
    .unwrap();
    assert_eq!(e.level, Level::Error);

    for bad in [&b"no separator"[..], b"x,1,2,-;msg", b"6,1;msg", b""] {
        assert!(parse(bad, boot, 8192).is_none(), "{bad:?}");
    }
}

#[test]
fn btime_comes_from_proc_stat() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stat"),
        format!("cpu 1 2 3 4\nbtime {BTIME}\nprocesses 9\n"),
    )
    .unwrap();
    assert_eq!(
        boot_time(dir.path()),
        Ok(Timestamp::from_unix_nanos(BTIME * 1_000_000_000))
    );
    std::fs::write(dir.path().join("stat"), "cpu 1 2 3 4\n").unwrap();
    assert!(boot_time(dir.path()).unwrap_err().contains("no btime"));
}

struct Running {
    rx: tokio::sync::mpsc::Receiver<crate::collect::Batch>,
    seen: Seen,
    stop: StopHandle,
    task: JoinHandle<()>,
    live: Arc<AtomicBool>,
}

fn start(kmsg_path: PathBuf, proc_root: PathBuf) -> Running {
    let config = Config {
        kmsg_path,
        proc_root,
        poll_interval: Duration::from_millis(20),
        ..Config::default()
    };
    let live = Arc::new(AtomicBool::new(false));
    let (sink, rx) = Sink::channel(1024);
    let (stop, flag) = Stop::new();
    let task = tokio::spawn(Box::new(Kmsg::new(&config, live.clone())).run(sink, flag));
    Running {
        rx,
        seen: Seen::default(),
        stop,
        task,
        live,
    }
}

async fn wait_live(r: &Running) {
    let deadline = Instant::now() + LIMIT;
    while !r.live.load(Ordering::Relaxed) {
        assert!(Instant::now() < deadline, "the reader never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Recorded records: one per `read()` on the device, here all in one file.
const RECORDS: &str = "\
6,1001,5140900,-;usb 1-1: new high-speed USB device number 2 using xhci_hcd
 SUBSYSTEM=usb
 DEVICE=c189:1
this line is not a record
4,1002,6000000,-;stress-ng invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0
6,1003,6000100,-;oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/user.slice,task=stress-ng,pid=4242,uid=1000
3,1004,6000200,-;Out of memory: Killed process 4242 (stress-ng) total-vm:1234567kB, anon-rss:987654kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:2000kB oom_score_adj:0
3,1005,7000000,-;blk_update_request: I/O error, dev sda, sector 123456 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 0
";

#[tokio::test]
async fn a_regular_file_standing_in_for_kmsg_yields_typed_events() {
    let dir = tempfile::tempdir().unwrap();
    let kmsg = dir.path().join("kmsg");
    std::fs::write(
        &kmsg,
        "6,1,1,-;written before start, skipped (the reader starts at the end)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("stat"), format!("btime {BTIME}\n")).unwrap();
    let mut r = start(kmsg.clone(), dir.path().to_path_buf());
    wait_live(&r).await;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&kmsg)
        .unwrap()
        .write_all(RECORDS.as_bytes())
        .unwrap();
    assert!(until(&mut r.rx, &mut r.seen, LIMIT, |s| s.events.len() >= 5).await);
    r.stop.stop();
    tokio::time::timeout(LIMIT, r.task).await.unwrap().unwrap();
    assert!(!r.live.load(Ordering::Relaxed));

    let e = &r.seen.events;
    let kinds: Vec<_> = e.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Log,
            EventKind::Log,
            EventKind::OomKill,
            EventKind::Log,
            EventKind::IoError
        ]
    );
    assert_eq!(e[0].ts, at_usec(5_140_900));
    assert_eq!(
        e[0].fields.get("subsystem").map(String::as_str),
        Some("usb")
    );
    assert_eq!(
        e[0].fields.get("device").map(String::as_str),
        Some("c189:1")
    );
    assert_eq!(e[2].fields.get("pid").map(String::as_str), Some("4242"));
    assert_eq!(
        e[3].level,
        Level::Error,
        "the second report of the same kill stays an error line"
    );
    assert_eq!(e[4].fields.get("device").map(String::as_str), Some("sda"));
    assert_eq!(r.seen.problems.len(), 1, "{:?}", r.seen.problems);
    assert!(r.seen.problems[0].error.contains("not a kernel log record"));
}

#[tokio::test]
async fn a_missing_device_is_one_problem_and_the_stream_ends() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = start(dir.path().join("no-kmsg"), dir.path().to_path_buf());
    tokio::time::timeout(LIMIT, &mut r.task)
        .await
        .expect("the stream ends by itself")
        .unwrap();
    until(&mut r.rx, &mut r.seen, Duration::ZERO, |_| false).await;
    assert_eq!(r.seen.problems.len(), 1);
    assert!(r.seen.problems[0].error.contains("not collected"));
}

#[tokio::test]
async fn the_live_kernel_log_is_read_or_cleanly_refused() {
    let mut r = start(PathBuf::from("/dev/kmsg"), PathBuf::from("/proc"));
    // Whatever arrives in a short while (nothing, fresh records, or a refusal).
    until(&mut r.rx, &mut r.seen, Duration::from_millis(300), |_| {
        false
    })
    .await;
    r.stop.stop();
    tokio::time::timeout(LIMIT, r.task)
        .await
        .expect("stops promptly")
        .unwrap();
    // Either it ran (no problem, and only fresh records) or it said why not.
    for p in &r.seen.problems {
        assert!(
            p.error.contains("not collected") || p.error.contains("overwritten"),
            "{p:?}"
        );
    }
    assert!(
        r.seen
            .events
            .iter()
            .all(|e| e.source == "kmsg" && !e.message.is_empty())
    );
}
