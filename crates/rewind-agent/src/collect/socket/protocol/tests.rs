use super::*;

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap()
}

fn ok(line: &str) -> Item {
    parse(line.as_bytes(), now(), "socket/app")
        .unwrap()
        .unwrap()
}

fn refused(line: &str) -> Refusal {
    parse(line.as_bytes(), now(), "socket/app").unwrap_err()
}

fn series(name: &str) -> SeriesName {
    SeriesName::new(name).unwrap()
}

#[test]
fn a_metric_with_and_without_ts() {
    let item = ok(
        r#"{"type":"metric","name":"app.queue_depth","value":12,"unit":"count","ts":"2026-11-23T09:59:59Z"}"#,
    );
    let ts = Timestamp::parse_rfc3339("2026-11-23T09:59:59Z").unwrap();
    assert_eq!(
        item,
        Item::Readings {
            ts: Some(ts),
            unit: "count".into(),
            values: vec![(series("app.queue_depth"), 12.0)]
        }
    );
    let item = ok(r#"{"type":"metric","name":"app.temp","value":-1.5e1}"#);
    assert_eq!(
        item,
        Item::Readings {
            ts: None,
            unit: String::new(),
            values: vec![(series("app.temp"), -15.0)]
        }
    );
    let unix = ok(r#"{"type":"metric","name":"a","value":1,"ts":1795428000.5}"#);
    let Item::Readings { ts: Some(ts), .. } = unix else {
        panic!("{unix:?}")
    };
    assert_eq!(ts, now().add_nanos(500_000_000));
}

#[test]
fn a_batch_of_values_under_a_prefix() {
    let item = ok(
        r#"{"type":"metric","prefix":"app.arm","unit":"celsius","values":{"joint1":40.5,"joint2":41}}"#,
    );
    let values = vec![
        (series("app.arm.joint1"), 40.5),
        (series("app.arm.joint2"), 41.0),
    ];
    assert_eq!(
        item,
        Item::Readings {
            ts: None,
            unit: "celsius".into(),
            values
        }
    );
}

#[test]
fn bad_metrics_are_refused_with_a_reason() {
    for (line, needle) in [
        (
            r#"{"type":"metric","name":"bad name","value":1}"#,
            "invalid series name",
        ),
        (
            r#"{"type":"metric","name":"topic.x.rate_hz","value":1}"#,
            "reserved",
        ),
        (r#"{"type":"metric","name":"a","values":{"b":1}}"#, "either"),
        (r#"{"type":"metric","name":"a"}"#, "either"),
        (r#"{"type":"metric","values":{}}"#, "1 to 1000"),
        (
            r#"{"type":"metric","name":"a","value":"12"}"#,
            "invalid type",
        ),
        (
            r#"{"type":"metric","name":"a","value":1,"unit":"m s"}"#,
            "unit",
        ),
        (
            r#"{"type":"metric","name":"a","value":1,"vaule":2}"#,
            "unknown field",
        ),
        (
            r#"{"type":"metric","name":"a","value":1,"ts":"2026-11-23T10:00:06Z"}"#,
            "ahead",
        ),
        (
            r#"{"type":"metric","name":"a","value":1,"ts":"2026-11-23T09:49:00Z"}"#,
            "behind",
        ),
        (
            r#"{"type":"metric","name":"a","value":1,"ts":"yesterday"}"#,
            "RFC 3339",
        ),
    ] {
        let r = refused(line);
        assert_eq!(r.code, "invalid_message", "{line}");
        assert!(r.message.contains(needle), "{line}: {}", r.message);
    }
}

#[test]
fn events_with_custom_and_typed_kinds() {
    let Item::Event(e) = ok(
        r#"{"type":"event","kind":"gripper_slip","level":"warning","message":"slipped","fields":{"arm":"left","force":3.5,"ok":false,"none":null}}"#,
    ) else {
        panic!("not an event")
    };
    assert_eq!(e.kind, EventKind::Custom("gripper_slip".into()));
    assert_eq!(
        (e.level, e.message.as_str(), e.source.as_str(), e.ts),
        (Level::Warning, "slipped", "socket/app", now())
    );
    let fields: Vec<_> = e.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(fields, ["arm=left", "force=3.5", "ok=false"]);

    let Item::Event(e) = ok(r#"{"type":"event","kind":"io_error","source":"camera_driver"}"#)
    else {
        panic!()
    };
    assert_eq!(
        (e.kind, e.level, e.message.as_str()),
        (EventKind::IoError, Level::Info, "io_error")
    );
    assert_eq!(e.source, "socket/camera_driver");

    assert!(
        refused(r#"{"type":"event","kind":"x","level":"loud"}"#)
            .message
            .contains("unknown variant")
    );
    assert!(
        refused(r#"{"type":"event","kind":"has space"}"#)
            .message
            .contains("kind")
    );
    assert!(
        refused(r#"{"type":"event","message":"no kind"}"#)
            .message
            .contains("missing field `kind`")
    );
}

#[test]
fn topics_and_heartbeats() {
    let item = ok(
        r#"{"type":"topic","topic":"/camera/rgb","publishers":2,"count":30,"ts":"2026-11-23T09:00:00Z"}"#,
    );
    let Item::Topic(t) = item else { panic!() };
    assert_eq!(
        (t.topic.as_str(), t.count, t.publishers),
        ("/camera/rgb", Some(30), Some(2))
    );
    assert!(
        t.ts.is_some(),
        "topic timestamps are only differenced, so not bounded"
    );
    assert!(
        refused(r#"{"type":"topic","topic":"/x","count":-1}"#)
            .message
            .contains("invalid value")
    );

    assert_eq!(
        ok(r#"{"type":"heartbeat","node":"/perception"}"#),
        Item::Heartbeat {
            node: "/perception".into(),
            ttl: Duration::from_secs(3)
        }
    );
    assert_eq!(
        ok(r#"{"type":"heartbeat","node":"n","ttl_s":0.2}"#),
        Item::Heartbeat {
            node: "n".into(),
            ttl: Duration::from_millis(200)
        }
    );
    for ttl in ["0", "-1", "1e9"] {
        let line = format!(r#"{{"type":"heartbeat","node":"n","ttl_s":{ttl}}}"#);
        assert!(refused(&line).message.contains("ttl_s"), "{ttl}");
    }
}

#[test]
fn garbage_is_invalid_json_and_unknown_types_are_invalid_messages() {
    for line in [
        "{",
        "not json",
        "\u{0}\u{1}\u{2}",
        "{\"type\":\"metric\"",
        "{\"type\":}",
    ] {
        assert_eq!(refused(line).code, "invalid_json", "{line:?}");
    }
    assert_eq!(
        parse(&[0xff, 0xfe, b'{'], now(), "p").unwrap_err().code,
        "invalid_json"
    );
    let r = refused(r#"{"type":"shout","x":1}"#);
    assert_eq!(r.code, "invalid_message");
    assert!(
        r.message.contains("unknown variant `shout`"),
        "{}",
        r.message
    );
    assert_eq!(refused(r#"{"name":"a"}"#).code, "invalid_message");
    assert_eq!(
        parse(b"  \r", now(), "p"),
        Ok(None),
        "blank lines are ignored"
    );
}

#[test]
fn refusal_messages_are_bounded() {
    let long = format!(
        r#"{{"type":"metric","name":"{}!","value":1}}"#,
        "a".repeat(5000)
    );
    assert!(refused(&long).message.len() <= MAX_MESSAGE + 3);
}
