//! Real clients on a real socket in a tempdir; assertions on what reaches the sink.

use std::time::Duration;

use rewind_model::{EventKind, Level};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::UnixStream,
    sync::mpsc,
    task::JoinHandle,
};

use super::*;
use crate::collect::StopHandle;

mod hostile;

const DEADLINE: Duration = Duration::from_secs(10);

struct Agent {
    _dir: tempfile::TempDir,
    path: PathBuf,
    rx: mpsc::Receiver<Batch>,
    seen: Vec<Batch>,
    stop: StopHandle,
    task: JoinHandle<()>,
}

async fn start(tune: impl FnOnce(&mut Config)) -> Agent {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.sock");
    let mut config = Config {
        path: Some(path.clone()),
        interval: Duration::from_millis(100),
        ..Config::default()
    };
    tune(&mut config);
    let stream = config.streams().pop().unwrap();
    let (sink, rx) = Sink::channel(4096);
    let (stop, flag) = Stop::new();
    let task = tokio::spawn(stream.run(sink, flag));
    let until = Instant::now() + DEADLINE;
    while !path.exists() {
        assert!(Instant::now() < until, "the socket never appeared");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Agent {
        _dir: dir,
        path,
        rx,
        seen: Vec::new(),
        stop,
        task,
    }
}

impl Agent {
    /// Collects batches until `done` holds for everything seen so far.
    async fn until(&mut self, what: &str, done: impl Fn(&[Batch]) -> bool) {
        let until = tokio::time::Instant::now() + DEADLINE;
        while !done(&self.seen) {
            match tokio::time::timeout_at(until, self.rx.recv()).await {
                Ok(Some(b)) => self.seen.push(b),
                _ => panic!("timed out waiting for {what}; saw {:#?}", self.seen),
            }
        }
    }

    async fn client(&self) -> Client {
        let (read, write) = UnixStream::connect(&self.path).await.unwrap().into_split();
        Client {
            replies: BufReader::new(read),
            write,
        }
    }
}

struct Client {
    replies: BufReader<tokio::net::unix::OwnedReadHalf>,
    write: tokio::net::unix::OwnedWriteHalf,
}

impl Client {
    async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.write.write_all(bytes.as_ref()).await.unwrap();
    }

    /// The next reply line as JSON (`Null` at end of stream).
    async fn reply(&mut self) -> serde_json::Value {
        let mut line = String::new();
        tokio::time::timeout(DEADLINE, self.replies.read_line(&mut line))
            .await
            .unwrap()
            .unwrap();
        if line.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&line).unwrap()
        }
    }
}

fn reading(seen: &[Batch], series: &str) -> Option<(f64, String)> {
    seen.iter()
        .flat_map(|b| &b.readings)
        .rfind(|r| r.series.as_str() == series)
        .map(|r| (r.value, r.unit.to_string()))
}

fn events(seen: &[Batch], kind: &EventKind) -> Vec<rewind_model::Event> {
    seen.iter()
        .flat_map(|b| &b.events)
        .filter(|e| &e.kind == kind)
        .cloned()
        .collect()
}

fn problems(seen: &[Batch]) -> Vec<(String, String)> {
    seen.iter()
        .flat_map(|b| &b.problems)
        .map(|p| (p.source.clone(), p.error.clone()))
        .collect()
}

#[tokio::test]
async fn metrics_and_events_reach_the_sink() {
    let mut agent = start(|_| {}).await;
    let mut c = agent.client().await;
    c.send(concat!(
        r#"{"type":"metric","name":"app.queue_depth","value":12,"unit":"count"}"#,
        "\n",
        r#"{"type":"metric","prefix":"app.arm","unit":"celsius","values":{"j1":40.5,"j2":41}}"#,
        "\n",
        r#"{"type":"event","kind":"gripper_slip","level":"warning","message":"slipped","fields":{"arm":"left"}}"#,
        "\n"
    ))
    .await;
    agent
        .until("the metrics and the event", |s| {
            reading(s, "app.arm.j2").is_some()
                && !events(s, &EventKind::Custom("gripper_slip".into())).is_empty()
        })
        .await;
    assert_eq!(
        reading(&agent.seen, "app.queue_depth"),
        Some((12.0, "count".into()))
    );
    assert_eq!(
        reading(&agent.seen, "app.arm.j1"),
        Some((40.5, "celsius".into()))
    );
    let e = &events(&agent.seen, &EventKind::Custom("gripper_slip".into()))[0];
    assert_eq!((e.level, e.message.as_str()), (Level::Warning, "slipped"));
    assert!(e.source.starts_with("socket/"), "{}", e.source);
    assert!(
        problems(&agent.seen).is_empty(),
        "{:?}",
        problems(&agent.seen)
    );
}

#[tokio::test]
async fn topic_reports_become_rates_and_publisher_counts() {
    let mut agent = start(|_| {}).await;
    let mut c = agent.client().await;
    for (count, ts) in [(3, "10:00:00"), (10, "10:00:01"), (10, "10:00:02")] {
        c.send(format!(
            "{{\"type\":\"topic\",\"topic\":\"/camera/rgb\",\"publishers\":1,\"count\":{count},\"ts\":\"2026-11-23T{ts}Z\"}}\n"
        ))
        .await;
    }
    agent
        .until("a rate of 10 Hz", |s| {
            reading(s, "topic./camera/rgb.rate_hz").is_some_and(|r| r.0 == 10.0)
        })
        .await;
    assert_eq!(
        reading(&agent.seen, "topic./camera/rgb.rate_hz").unwrap().1,
        "hertz"
    );
    assert_eq!(
        reading(&agent.seen, "topic./camera/rgb.publishers"),
        Some((1.0, "count".into()))
    );
}

#[tokio::test]
async fn a_missed_heartbeat_is_a_missing_node_and_the_next_one_brings_it_back() {
    let mut agent = start(|_| {}).await;
    let mut c = agent.client().await;
    c.send("{\"type\":\"heartbeat\",\"node\":\"/perception\",\"ttl_s\":0.2}\n")
        .await;
    agent
        .until("node_seen", |s| !events(s, &EventKind::NodeSeen).is_empty())
        .await;
    agent
        .until("node_missing after 200 ms", |s| {
            !events(s, &EventKind::NodeMissing).is_empty()
        })
        .await;
    let missing = &events(&agent.seen, &EventKind::NodeMissing)[0];
    assert_eq!(missing.level, Level::Error);
    assert_eq!(
        missing.fields.get("node").map(String::as_str),
        Some("/perception")
    );
    agent
        .until("alive = 0", |s| {
            reading(s, "node./perception.alive").is_some_and(|r| r.0 == 0.0)
        })
        .await;

    c.send("{\"type\":\"heartbeat\",\"node\":\"/perception\",\"ttl_s\":5}\n")
        .await;
    agent
        .until("node_seen again", |s| {
            events(s, &EventKind::NodeSeen).len() == 2
        })
        .await;
    agent
        .until("alive = 1", |s| {
            reading(s, "node./perception.alive").is_some_and(|r| r.0 == 1.0)
        })
        .await;
}

#[tokio::test]
async fn stopping_removes_the_socket_and_a_stale_file_is_taken_over() {
    let agent = start(|_| {}).await;
    let path = agent.path.clone();
    agent.stop.stop();
    agent.task.await.unwrap();
    assert!(!path.exists());

    drop(std::os::unix::net::UnixListener::bind(&path).unwrap()); // a dead agent's socket
    let (sink, _rx) = Sink::channel(16);
    let (stop, flag) = Stop::new();
    let config = Config {
        path: Some(path.clone()),
        ..Config::default()
    };
    let task = tokio::spawn(config.streams().pop().unwrap().run(sink, flag));
    let until = Instant::now() + DEADLINE;
    while UnixStream::connect(&path).await.is_err() {
        assert!(Instant::now() < until, "the stale socket was not replaced");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.stop();
    task.await.unwrap();
}

#[test]
fn disabled_means_no_stream_and_the_default_path_is_under_run() {
    assert!(
        Config {
            enabled: false,
            ..Config::default()
        }
        .streams()
        .is_empty()
    );
    assert_eq!(
        Config::default().socket_path(),
        Path::new("/run/rewind/agent.sock")
    );
    let c: Config =
        serde_saphyr::from_str("path: /tmp/x.sock\nidle_timeout: 10s\nmax_topics: 3\n").unwrap();
    assert_eq!(
        (c.socket_path(), c.idle_timeout, c.max_topics),
        (Path::new("/tmp/x.sock"), Duration::from_secs(10), 3)
    );
}
