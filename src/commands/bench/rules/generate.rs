//! The synthetic workload of `rewind bench rules`: series names, their
//! values at every tick, and a rule set over them. Everything is derived
//! from indices with a fixed hash, so every run sees the same data.
//!
//! Series `j` is `svc.g<j/100>.n<j%100>.<metric>`, the metric cycling
//! through `latency_ms`, `errors_per_s`, `busy_pct` and `queue_depth`.
//! Values are noise around a per-series level; one series in 97 has a
//! 5-second excursion, and one in 89 ramps up slowly, so some rules pend,
//! fire and resolve as they would in production.

use std::collections::BTreeMap;

use rewind_detect::RuleSet;
use rewind_model::SeriesName;

/// The metric of series `j`, cycling.
const METRICS: [&str; 4] = ["latency_ms", "errors_per_s", "busy_pct", "queue_depth"];
/// Series per group (`svc.g<N>.*`).
const GROUP: usize = 100;

/// SplitMix64: a fast, well-mixed hash of one integer.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A value in `[0, 1)` from a hash.
#[allow(clippy::cast_precision_loss)] // 53 bits are kept exactly
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1_u64 << 53) as f64
}

/// The name of series `j`.
fn name(j: usize) -> String {
    format!(
        "svc.g{}.n{}.{}",
        j / GROUP,
        j % GROUP,
        METRICS[j % METRICS.len()]
    )
}

/// The names of `count` series.
pub(super) fn series(count: usize) -> anyhow::Result<Vec<SeriesName>> {
    (0..count)
        .map(|j| SeriesName::new(name(j)).map_err(|e| anyhow::anyhow!("bench series name: {e}")))
        .collect()
}

/// The level series `j` hovers around: 10 to 100.
fn level(j: usize) -> f64 {
    10.0 + 90.0 * unit(mix(j as u64))
}

/// Fills `out` with every series' value at `tick` (10 ticks a second).
#[allow(clippy::cast_precision_loss)] // ticks and indices are small
pub(super) fn values(tick: u64, out: &mut [f64]) {
    for (j, v) in out.iter_mut().enumerate() {
        let noise = unit(mix(((j as u64) << 32) ^ tick)) * 4.0 - 2.0;
        let mut value = level(j) + noise;
        if j.is_multiple_of(97) && (100..150).contains(&(tick % 600)) {
            value += 60.0; // a 5-second excursion every minute
        }
        if j.is_multiple_of(89) {
            value += (tick % 1200) as f64 * 0.05; // a slow ramp, reset every 2 minutes
        }
        *v = value;
    }
}

/// The rule types of the mix, with their share of the rules, in percent.
const MIX: [(&str, usize); 5] = [
    ("metric_threshold_wildcard", 4),
    ("change", 10),
    ("trend", 10),
    ("absent", 5),
    ("composite", 1),
];

/// A rule set of `rules` rules over `series` series, and how many of each
/// kind it has. Literal thresholds come first (`r0`, `r1`, …) and fill what
/// the mix leaves; a rule type this build refuses is replaced by them, and
/// said so in the returned notes.
pub(super) fn rule_set(
    rules: usize,
    series: usize,
) -> anyhow::Result<(RuleSet, BTreeMap<&'static str, usize>, Vec<String>)> {
    let mut counts = BTreeMap::new();
    let mut notes = Vec::new();
    let mut taken = 0;
    for (kind, share) in MIX {
        let n = (rules * share / 100).max(usize::from(rules >= 100));
        let n = n.min(rules - taken);
        if n == 0 {
            continue;
        }
        let probe = ["metric_threshold", "metric_threshold", kind]
            .iter()
            .enumerate()
            .map(|(i, k)| rule(k, i, series, 2))
            .collect::<String>();
        if let Err(why) = RuleSet::parse(&format!("triggers:\n{probe}"), "probe") {
            notes.push(format!(
                "{kind} is refused by this build, so its {n} rules are literal thresholds: {why}"
            ));
            continue;
        }
        counts.insert(kind, n);
        taken += n;
    }
    let literal = rules - taken;
    if literal < 2 {
        counts.remove("composite"); // it names two literal thresholds
    }
    let literal = rules - counts.values().sum::<usize>();
    counts.insert("metric_threshold", literal);
    let mut yaml = String::from("triggers:\n");
    for i in 0..literal {
        yaml.push_str(&rule("metric_threshold", i, series, literal));
    }
    let mut i = literal;
    for (kind, _) in MIX {
        for _ in 0..counts.get(kind).copied().unwrap_or(0) {
            yaml.push_str(&rule(kind, i, series, literal));
            i += 1;
        }
    }
    let set = RuleSet::parse(&yaml, "bench")
        .map_err(|e| anyhow::anyhow!("the generated bench rules were refused:\n{e}"))?;
    Ok((set, counts, notes))
}

/// The YAML of rule `i` of the given kind (one list item); rules `r0` to
/// `r<literal - 1>` are literal thresholds, which composite rules name.
fn rule(kind: &str, i: usize, series: usize, literal: usize) -> String {
    let series = series.max(1);
    // Spread the rules over the series; 7919 is prime, so they rarely meet.
    let j = i.wrapping_mul(7919) % series;
    let metric = name(j);
    let above = format!("{:.1}", level(j) + 30.0);
    let head = format!("  - name: r{i}\n    severity: {}\n", severity(i));
    let body = match kind {
        "metric_threshold_wildcard" if i.is_multiple_of(20) => {
            // A few span every group: thousands of series each.
            format!(
                "    type: metric_threshold\n    metric: \"svc.*.{}\"\n    threshold: {{ above: 150 }}\n    duration: 1\n",
                METRICS[(i / 20) % 2]
            )
        }
        "metric_threshold_wildcard" => format!(
            "    type: metric_threshold\n    metric: \"svc.g{}.*.latency_ms\"\n    threshold: {{ above: 140 }}\n    hysteresis: 5\n    duration: 1\n",
            i % (series / GROUP).max(1)
        ),
        "change" => format!(
            "    type: change\n    metric: {metric}\n    baseline: 60\n    min_samples: 30\n    direction: up\n    duration: 0.5\n"
        ),
        "trend" => format!(
            "    type: trend\n    metric: {metric}\n    threshold: {{ above: {above} }}\n    within: 60\n    window: 30\n    min_samples: 100\n"
        ),
        "absent" => format!("    type: absent\n    metric: {metric}\n    after: 5\n"),
        "composite" => format!(
            "    type: composite\n    {}: [r{}, r{}]\n",
            if i.is_multiple_of(2) { "all" } else { "any" },
            i * 13 % literal.max(1),
            (i * 13 + 1) % literal.max(1)
        ),
        _ => format!(
            "    type: metric_threshold\n    metric: {metric}\n    threshold: {{ above: {above} }}\n    duration: 2\n"
        ),
    };
    format!("{head}{body}")
}

fn severity(i: usize) -> &'static str {
    ["low", "medium", "high", "critical"][i % 4]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workload_is_the_same_every_time_and_the_mix_adds_up() {
        let mut a = vec![0.0; 300];
        let mut b = vec![0.0; 300];
        values(120, &mut a);
        values(120, &mut b);
        assert_eq!(a, b);
        assert!(
            a[0] > level(0) + 50.0,
            "series 0 is in its excursion at tick 120"
        );
        let (set, counts, _notes) = rule_set(1000, 10_000).unwrap();
        assert_eq!(set.rules().len(), 1000);
        assert_eq!(counts.values().sum::<usize>(), 1000);
        let (small, _, _) = rule_set(10, 40).unwrap();
        assert_eq!(small.rules().len(), 10);
    }
}
