use super::*;
use crate::logsig::{Miner, MinerConfig};

fn miner() -> Miner {
    Miner::new(MinerConfig::default(), WhenFull::RefuseNew).unwrap()
}

fn texts(drain: &Drain) -> Vec<(u64, String, u64)> {
    drain
        .templates()
        .map(|(id, text, n)| (id.0, text, n))
        .collect()
}

#[test]
fn lines_that_differ_only_in_variables_share_a_template() {
    let mut m = miner();
    let a = m.add("2026-03-30T14:03:05Z connection to 10.0.0.7:5432 refused after 12 ms");
    let b = m.add("2026-03-30T14:03:06Z connection to 10.0.0.9:6543 refused after 250 ms");
    assert_eq!(a, Outcome::Created(TemplateId(1)));
    assert_eq!(b, Outcome::Matched(TemplateId(1)));
    assert_eq!(
        texts(m.drain()),
        [(1, "connection to <IP> refused after <NUM> ms".to_owned(), 2)]
    );
}

#[test]
fn unmasked_differences_become_wildcards() {
    let mut m = miner();
    m.add("login failed for user alice from office");
    let out = m.add("login failed for user bob from office");
    assert_eq!(out, Outcome::Generalised(TemplateId(1)));
    assert_eq!(
        m.add("login failed for user carol from office"),
        Outcome::Matched(TemplateId(1))
    );
    assert_eq!(
        m.drain().template_text(TemplateId(1)).unwrap(),
        "login failed for user <*> from office"
    );
    assert_eq!(
        m.find("login failed for user dave from office"),
        Some(TemplateId(1))
    );
    // Drain takes the first tokens as constant: a difference there is
    // another template, however similar the rest.
    m.add("user alice logged in");
    assert_eq!(m.add("user bob logged in"), Outcome::Created(TemplateId(3)));
}

#[test]
fn different_messages_stay_apart() {
    let mut m = miner();
    for line in [
        "connection to 10.0.0.7 refused",
        "disk /dev/sda1 is full",
        "connection pool exhausted waiting for slot",
        "panic: index out of range",
        "connection to 10.0.0.8 refused",
        "connection reset by peer during handshake",
    ] {
        m.add(line);
    }
    let got: Vec<_> = texts(m.drain())
        .into_iter()
        .map(|(_, t, n)| (t, n))
        .collect();
    assert_eq!(
        got,
        [
            ("connection to <IP> refused".to_owned(), 2),
            ("disk <PATH> is full".to_owned(), 1),
            ("connection pool exhausted waiting for slot".to_owned(), 1),
            ("panic: index out of range".to_owned(), 1),
            ("connection reset by peer during handshake".to_owned(), 1),
        ]
    );
}

#[test]
fn the_cap_refuses_new_templates_and_counts_them() {
    let config = MinerConfig {
        drain: DrainConfig {
            max_templates: 3,
            ..DrainConfig::default()
        },
        ..MinerConfig::default()
    };
    let mut m = Miner::new(config, WhenFull::RefuseNew).unwrap();
    let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    for (i, w) in words.iter().enumerate() {
        let out = m.add(&format!("{w} failed badly here"));
        assert_eq!(out.template().is_some(), i < 3, "{w}");
    }
    // Known templates still match when full.
    assert_eq!(
        m.add("alpha failed badly here"),
        Outcome::Matched(TemplateId(1))
    );
    assert_eq!(m.drain().len(), 3);
    assert_eq!(m.drain().refused(), 3);
}

#[test]
fn the_cap_evicts_the_least_recent_and_never_reuses_an_id() {
    let config = DrainConfig {
        max_templates: 2,
        ..DrainConfig::default()
    };
    let mut d = Drain::new(config, WhenFull::EvictLeastRecent).unwrap();
    assert_eq!(d.add("alpha one two"), Outcome::Created(TemplateId(1)));
    assert_eq!(
        d.add("bravo one two three"),
        Outcome::Created(TemplateId(2))
    );
    assert_eq!(d.add("alpha one two"), Outcome::Matched(TemplateId(1)));
    // Full: bravo was used longest ago and goes, with its branch of the tree.
    assert_eq!(d.add("charlie x y z w"), Outcome::Created(TemplateId(3)));
    assert_eq!(d.evicted(), 1);
    assert_eq!(
        texts(&d)
            .into_iter()
            .map(|(id, _, _)| id)
            .collect::<Vec<_>>(),
        [1, 3]
    );
    assert!(!d.by_length.contains_key(&4), "the empty branch is pruned");
    assert_eq!(
        d.add("bravo one two three"),
        Outcome::Created(TemplateId(4))
    );
    for i in 0..1000 {
        let word = letters(i);
        assert_eq!(
            d.add(&format!("{word} {word}")),
            Outcome::Created(TemplateId(5 + i))
        );
    }
    assert_eq!(d.len(), 2);
    assert_eq!(d.evicted(), 1002);
    let nodes: usize = d.by_length.values().map(count_nodes).sum();
    assert!(nodes <= 2 * 3, "the tree stays bounded: {nodes} nodes");
}

/// A word of letters only, different for every `i`.
fn letters(mut i: u64) -> String {
    let mut word = String::new();
    loop {
        word.push(char::from(b'a' + u8::try_from(i % 26).unwrap()));
        i /= 26;
        if i == 0 {
            return word;
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    1 + node.children.values().map(count_nodes).sum::<usize>()
}

#[test]
fn tokens_with_digits_and_crowded_nodes_go_down_the_wildcard_branch() {
    let config = DrainConfig {
        max_children: 2,
        ..DrainConfig::default()
    };
    let mut d = Drain::new(config, WhenFull::RefuseNew).unwrap();
    d.add("a1 x y");
    d.add("b p q");
    d.add("c r s");
    d.add("d t u");
    let root = &d.by_length[&3];
    let keys: Vec<&str> = root.children.keys().map(|k| &**k).collect();
    assert_eq!(keys, ["<*>", "b", "c"]);
    // `a1` (a digit) and `d` (no room left) both went down `<*>`.
    let under: Vec<&str> = root.children["<*>"].children.keys().map(|k| &**k).collect();
    assert_eq!(under, ["t", "x"]);
    assert_eq!(d.len(), 4);
    // A line that would start a new branch first tries the `<*>` one.
    assert_eq!(d.add("e x y"), Outcome::Generalised(TemplateId(1)));
    assert_eq!(d.template_text(TemplateId(1)).unwrap(), "<*> x y");
}

#[test]
fn the_same_lines_in_the_same_order_give_the_same_templates_and_ids() {
    let lines: Vec<String> = (0..500)
        .map(|i| match i % 5 {
            0 => format!("user u{} logged in from 10.0.{}.{}", i % 7, i % 3, i % 11),
            1 => format!("request {i:08x}ab failed after {i}ms"),
            2 => format!("worker {} {} restarted", ["a", "b", "c"][i % 3], i % 4),
            3 => format!("cache miss for key k{} in shard {}", i % 13, i % 2),
            _ => format!("GET /api/v1/items/{i} returned 500"),
        })
        .collect();
    let run = || {
        let mut m = miner();
        let ids: Vec<_> = lines.iter().map(|l| m.add(l).template()).collect();
        (ids, texts(m.drain()))
    };
    let first = run();
    assert_eq!(first, run());
    let want = [
        (1, "user <*> logged in from <IP>", 100),
        (2, "request <ID> failed after <DUR>", 100),
        (3, "worker c <NUM> restarted", 34),
        (4, "cache miss for key <*> in shard <NUM>", 100),
        (5, "GET <PATH> returned <NUM>", 100),
        (6, "worker b <NUM> restarted", 33),
        (7, "worker a <NUM> restarted", 33),
    ]
    .map(|(id, text, n)| (id, text.to_owned(), n));
    assert_eq!(first.1, want);
}

#[test]
fn configs_out_of_range_are_refused() {
    let bad = |f: fn(&mut DrainConfig)| {
        let mut c = DrainConfig::default();
        f(&mut c);
        Drain::new(c, WhenFull::RefuseNew).unwrap_err().to_string()
    };
    assert_eq!(
        bad(|c| c.depth = 2),
        "drain depth must be at least 3, got 2"
    );
    assert_eq!(
        bad(|c| c.similarity = 1.5),
        "drain similarity must be between 0 and 1, got 1.5"
    );
    assert_eq!(
        bad(|c| c.similarity = f64::NAN),
        "drain similarity must be between 0 and 1, got NaN"
    );
    assert_eq!(
        bad(|c| c.max_children = 0),
        "drain max_children must be at least 1"
    );
    assert_eq!(
        bad(|c| c.max_templates = 0),
        "drain max_templates must be at least 1"
    );
}

#[test]
fn keys_hash_the_final_text_stably() {
    assert_eq!(template_key(""), "cbf29ce484222325");
    assert_eq!(template_key("a"), "af63dc4c8601ec8c");
    assert_ne!(template_key("x <*>"), template_key("x <NUM>"));
}

#[test]
fn a_large_input_is_mined_to_a_handful_of_templates() {
    // A sanity check of volume, not of speed: no clock is read.
    let mut m = miner();
    let mut n = 0u64;
    for i in 0..20_000u64 {
        let line = match i % 4 {
            0 => format!(
                "2026-03-30T14:{:02}:05Z ERROR upstream 10.1.{}.{}:8080 timed out after {}ms",
                i % 60,
                i % 250,
                i % 200,
                i
            ),
            1 => format!(
                "WARN retry {} of 5 for job {:x}{:x}",
                i % 5,
                i * 7_919,
                i * 104_729
            ),
            2 => format!(
                "ERROR write /var/lib/app/{i}/data.db failed: disk full ({}KiB free)",
                i % 97
            ),
            _ => format!(
                "ERROR panic in worker {}: index {} out of range for length {}",
                i % 8,
                i,
                i / 2
            ),
        };
        n += u64::from(m.add(&line).template().is_some());
    }
    assert_eq!(n, 20_000);
    assert_eq!(m.drain().len(), 4, "{:#?}", texts(m.drain()));
}
