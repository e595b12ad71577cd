//! Snapshots of what people read: rendered rules errors and triggers.

use crate::Fired as _;
use std::fmt::Write as _;

use rewind_detect::{Engine, RuleSet};
use rewind_model::{Sample, SeriesName, Timestamp, Trigger};

#[test]
fn a_file_with_several_problems() {
    let yaml = "\
version: 1
triggers:
  - name: \"CPU saturated\"
    type: metric_threshold
    metric: cpu.total.busy_pct
    threshold: { above: \"hot\" }
    duration: -2
    severity: urgent
  - name: \"Memory low\"
    type: metric_treshold
    metric: memory.available_bytes
    threshold: { below: 52428800, above: 0 }
    severty: critical
  - name: \"CPU saturated\"
    type: cpu_hot
    metric: \"cpu load\"
    threshold: { above: 90 }
    severity: high
    colour: red
";
    let err = RuleSet::parse(yaml, "rules.yaml").unwrap_err();
    insta::assert_snapshot!(err.to_string());
}

fn render(t0: Timestamp, triggers: &[Trigger]) -> String {
    let secs = |ts: Timestamp| format!("+{:.1}s", ts.as_unix_secs_f64() - t0.as_unix_secs_f64());
    let mut out = String::new();
    for t in triggers {
        let _ = writeln!(
            out,
            "{} {} [{}] {} at {}",
            secs(t.fired_at),
            t.rule,
            t.severity,
            t.rule_type,
            t.fired_at
        );
        let _ = writeln!(out, "  summary: {}", t.summary);
        for e in &t.evidence {
            let _ = writeln!(
                out,
                "  evidence: {} {}: observed {}, peak {}, since {}, {} samples",
                e.series,
                e.condition,
                e.observed,
                e.peak,
                secs(e.since),
                e.samples
            );
        }
    }
    out
}

/// Twenty seconds of a machine sampled every half second: a CPU spike, a
/// blip too short to count, a second spike, and memory running out.
#[test]
fn the_demo_rules_over_a_scripted_incident() {
    let rules = RuleSet::parse(
        include_str!("../../../../examples/rules/demo.yaml"),
        "demo.yaml",
    )
    .unwrap();
    let mut engine = Engine::new(&rules);
    let cpu = SeriesName::new("cpu.total.busy_pct").unwrap();
    let mem = SeriesName::new("memory.available_bytes").unwrap();
    let t0 = Timestamp::from_unix_millis(1_763_892_000_000);
    let mut fired = Vec::new();
    for step in 0..=40_i32 {
        let ts = t0.add_nanos(i64::from(step) * 500_000_000);
        let busy = match step {
            6..=16 => 85.0 + f64::from(step % 4) * 4.0, // 3 s to 8 s: saturated
            20..=22 => 95.0,                            // 10 s to 11 s: a blip
            30..=40 => 99.5,                            // 15 s on: saturated again
            _ => 30.0,
        };
        let available = if (24..=36).contains(&step) {
            40.0 * 1024.0 * 1024.0
        } else {
            2e9
        };
        fired.extend(engine.observe(&cpu, Sample::new(ts, busy)).fired());
        fired.extend(engine.observe(&mem, Sample::new(ts, available)).fired());
    }
    insta::assert_snapshot!(render(t0, &fired));
}
