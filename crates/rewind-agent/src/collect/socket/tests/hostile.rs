//! Hostile clients: garbage, over-long lines, floods, too many connections, silence.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::{DEADLINE, problems, reading, start};
use crate::collect::Batch;
use crate::collect::socket::Instant;

#[tokio::test]
async fn garbage_is_answered_and_counted_and_the_connection_keeps_working() {
    let mut agent = start(|_| {}).await;
    let mut c = agent.client().await;
    c.send(b"not json\n\x00\xff\xfe garbage \x01\n{\"type\":\"nope\"}\n{\"type\":\"metric\",\"name\":\"bad name\",\"value\":1}\n").await;
    for (line, code) in [
        (1, "invalid_json"),
        (2, "invalid_json"),
        (3, "invalid_message"),
        (4, "invalid_message"),
    ] {
        let r = c.reply().await;
        assert_eq!(
            (r["line"].as_u64(), r["error"].as_str()),
            (Some(line), Some(code)),
            "{r}"
        );
    }
    c.send("{\"type\":\"metric\",\"name\":\"app.after_garbage\",\"value\":1}\n")
        .await;
    agent
        .until("the metric after the garbage", |s| {
            reading(s, "app.after_garbage").is_some()
        })
        .await;
    let counted = |s: &[Batch]| {
        problems(s)
            .iter()
            .any(|(src, err)| src.starts_with("socket/") && err.contains("invalid_"))
    };
    agent
        .until("the refused lines counted as problems", counted)
        .await;
}

#[tokio::test]
async fn an_over_long_line_is_skipped_with_one_reply() {
    let mut agent = start(|c| c.max_line_bytes = 1024).await;
    let mut c = agent.client().await;
    let long = format!(
        "{{\"type\":\"metric\",\"name\":\"app.long\",\"value\":1,\"unit\":\"{}\"}}\n",
        "x".repeat(100_000)
    );
    c.send(long).await;
    c.send("{\"type\":\"metric\",\"name\":\"app.short\",\"value\":2}\n")
        .await;
    let r = c.reply().await;
    assert_eq!(
        (r["error"].as_str(), r["line"].as_u64()),
        (Some("line_too_long"), Some(1)),
        "{r}"
    );
    agent
        .until("the short line", |s| {
            reading(s, "app.short") == Some((2.0, String::new()))
        })
        .await;
    assert_eq!(reading(&agent.seen, "app.long"), None);
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused_until_one_closes() {
    let mut agent = start(|c| c.max_connections = 2).await;
    let mut first = agent.client().await;
    let mut second = agent.client().await;
    first
        .send("{\"type\":\"metric\",\"name\":\"app.one\",\"value\":1}\n")
        .await;
    second
        .send("{\"type\":\"metric\",\"name\":\"app.two\",\"value\":2}\n")
        .await;
    agent
        .until("both clients", |s| {
            reading(s, "app.one").is_some() && reading(s, "app.two").is_some()
        })
        .await;

    let mut third = agent.client().await;
    assert_eq!(third.reply().await["error"], "too_many_connections");
    assert_eq!(third.reply().await, serde_json::Value::Null, "then closed");

    drop(first);
    let until = Instant::now() + DEADLINE;
    loop {
        let mut again = agent.client().await;
        // The agent may already have refused and closed this one: a failed write is fine.
        again
            .write
            .write_all(b"{\"type\":\"metric\",\"name\":\"app.three\",\"value\":3}\n")
            .await
            .ok();
        again.write.shutdown().await.ok();
        if again.reply().await.is_null() {
            break; // accepted: it read our line and closed at our EOF without complaint
        }
        assert!(Instant::now() < until, "a slot never freed up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    agent
        .until("the metric of the new client", |s| {
            reading(s, "app.three").is_some()
        })
        .await;
}

#[tokio::test]
async fn lines_beyond_the_rate_are_dropped_with_a_reply() {
    let mut agent = start(|c| c.max_lines_per_second = 2).await;
    let mut c = agent.client().await;
    let mut burst = String::new();
    for i in 0..10 {
        burst.push_str(&format!(
            "{{\"type\":\"metric\",\"name\":\"app.n{i}\",\"value\":{i}}}\n"
        ));
    }
    c.send(burst).await;
    let r = c.reply().await;
    assert_eq!(r["error"], "rate_limited", "{r}");
    agent
        .until("the first lines", |s| reading(s, "app.n1").is_some())
        .await;
    agent
        .until("the problem", |s| {
            problems(s).iter().any(|(_, e)| e.contains("rate_limited"))
        })
        .await;
    assert_eq!(reading(&agent.seen, "app.n9"), None);
}

#[tokio::test]
async fn binary_noise_without_newlines_is_skipped_in_bounded_memory() {
    let mut agent = start(|c| c.max_line_bytes = 4096).await;
    let mut c = agent.client().await;
    // 256 KiB of pseudo-random bytes, no newline until the end.
    let mut x: u32 = 0x1234_5678;
    let noise: Vec<u8> = (0..256 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            match x.to_le_bytes()[0] {
                b'\n' => 0,
                b => b,
            }
        })
        .collect();
    c.send(&noise).await;
    c.send("\n{\"type\":\"metric\",\"name\":\"app.after_noise\",\"value\":1}\n")
        .await;
    assert_eq!(c.reply().await["error"], "line_too_long");
    agent
        .until("the metric after the noise", |s| {
            reading(s, "app.after_noise").is_some()
        })
        .await;
}

#[tokio::test]
async fn a_silent_client_is_closed_after_the_idle_timeout() {
    let agent = start(|c| c.idle_timeout = Duration::from_secs(1)).await;
    let mut c = agent.client().await;
    let r = c.reply().await;
    assert_eq!(r["error"], "idle_timeout", "{r}");
    assert!(c.reply().await.is_null(), "then closed");
}
