//! A session against a known-good one: initial poses, guard statistics and
//! latency, with warnings when the two are not comparable.
//!
//! - **Initial pose**: each joint of the first `/dam/obs` differs when the
//!   two are more than `pose_tolerance` apart; the end effector when its
//!   positions (x, y, z) are more than `end_effector_tolerance` apart.
//! - **Guards**: each guard of either session, with its decisions in both.
//!   A guard is flagged when it is in only one of them, when it rejected or
//!   faulted here but never in the known-good session, or when its share of
//!   non-passing results grew by at least `guard_rate_margin` and at least
//!   doubled.
//! - **Latency**: each layer's p99 in both; flagged when it at least
//!   doubled and grew by more than `outlier_margin_ms`.
//! - **Warnings**: the configuration hash, the program version, the control
//!   frequency or the tasks differ.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    DecisionCounts, LatencyStats, Pose, TriageOptions, TriageReport, findings::plural,
    guards::LAYER_NAMES,
};

/// One joint's initial position in both sessions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JointDelta {
    /// Index into `joint_positions`.
    pub joint: usize,
    /// This session's.
    pub session: Option<f64>,
    /// The known-good session's.
    pub known_good: Option<f64>,
    /// `session − known_good`.
    pub delta: Option<f64>,
    /// Beyond `pose_tolerance`, or present in only one.
    pub differs: bool,
}

/// The initial poses side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoseComparison {
    /// This session's first observed pose.
    pub session: Option<Pose>,
    /// The known-good session's.
    pub known_good: Option<Pose>,
    /// Joint by joint.
    pub joints: Vec<JointDelta>,
    /// Distance between the end-effector positions (x, y, z).
    pub end_effector_distance: Option<f64>,
    /// That distance is beyond `end_effector_tolerance`.
    pub end_effector_differs: bool,
}

/// One guard in both sessions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardComparison {
    /// Its layer.
    pub layer: u8,
    /// `guard_name`.
    pub guard: String,
    /// Its decisions here (`None`: not in this session).
    pub session: Option<DecisionCounts>,
    /// Its decisions in the known-good session.
    pub known_good: Option<DecisionCounts>,
    /// Share of results here that were not PASS.
    pub session_not_passed: Option<f64>,
    /// That share in the known-good session.
    pub known_good_not_passed: Option<f64>,
    /// Why it is flagged, when it is.
    pub flag: Option<String>,
}

/// One layer's latency in both sessions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyComparison {
    /// The layer.
    pub layer: u8,
    /// p99 here.
    pub session_p99_ms: f64,
    /// p99 in the known-good session.
    pub known_good_p99_ms: f64,
    /// `session / known_good`.
    pub ratio: Option<f64>,
    /// It at least doubled and grew by more than the outlier margin.
    pub flagged: bool,
}

/// This session against a known-good one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The known-good session's id.
    pub known_good: String,
    /// Why the two may not be comparable.
    pub warnings: Vec<String>,
    /// The initial poses.
    pub initial_pose: PoseComparison,
    /// Every guard of either session, by layer and name.
    pub guards: Vec<GuardComparison>,
    /// Layers with `/dam/latency` in both.
    pub latency: Vec<LatencyComparison>,
    /// The conclusions, as sentences.
    pub findings: Vec<String>,
}

/// Compares `session` with `known_good`.
pub fn compare(session: &TriageReport, known_good: &TriageReport, o: &TriageOptions) -> Comparison {
    let initial_pose = poses(
        session.initial_pose.as_ref(),
        known_good.initial_pose.as_ref(),
        o,
    );
    let guards = guards(session, known_good, o);
    let latency = latency(session, known_good, o);
    let mut c = Comparison {
        known_good: known_good.session.session_id.clone(),
        warnings: warnings(session, known_good),
        initial_pose,
        guards,
        latency,
        findings: Vec::new(),
    };
    c.findings = findings(&c);
    c
}

fn warnings(a: &TriageReport, b: &TriageReport) -> Vec<String> {
    let (x, y) = (&a.session, &b.session);
    let mut w = Vec::new();
    let mut differ = |what: &str, p: Option<String>, q: Option<String>| {
        if p != q {
            w.push(format!(
                "the {what} differs ({} here, {} in the known-good session)",
                p.as_deref().unwrap_or("none"),
                q.as_deref().unwrap_or("none")
            ));
        }
    };
    differ(
        "configuration hash",
        x.config_hash.clone(),
        y.config_hash.clone(),
    );
    differ(
        "program version",
        x.app_version.clone(),
        y.app_version.clone(),
    );
    differ(
        "control frequency",
        x.control_frequency_hz.map(|f| format!("{f} Hz")),
        y.control_frequency_hz.map(|f| format!("{f} Hz")),
    );
    let tasks = |r: &TriageReport| (!r.active_tasks.is_empty()).then(|| r.active_tasks.join(", "));
    differ("task", tasks(a), tasks(b));
    w
}

fn poses(a: Option<&Pose>, b: Option<&Pose>, o: &TriageOptions) -> PoseComparison {
    let pa = a.map_or(&[][..], |p| &p.joint_positions[..]);
    let pb = b.map_or(&[][..], |p| &p.joint_positions[..]);
    let joints = (0..pa.len().max(pb.len()))
        .map(|j| {
            let (s, k) = (pa.get(j).copied(), pb.get(j).copied());
            let delta = s.zip(k).map(|(s, k)| s - k);
            JointDelta {
                joint: j,
                session: s,
                known_good: k,
                delta,
                differs: delta.is_none_or(|d| d.is_nan() || d.abs() > o.pose_tolerance),
            }
        })
        .collect();
    let xyz = |p: Option<&Pose>| {
        p.and_then(|p| p.end_effector_pose.as_ref())
            .filter(|e| e.len() >= 3)
            .map(|e| [e[0], e[1], e[2]])
    };
    let end_effector_distance = xyz(a).zip(xyz(b)).map(|(p, q)| {
        ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt()
    });
    PoseComparison {
        session: a.cloned(),
        known_good: b.cloned(),
        joints,
        end_effector_differs: end_effector_distance
            .is_some_and(|d| d.is_nan() || d > o.end_effector_tolerance),
        end_effector_distance,
    }
}

#[allow(clippy::cast_precision_loss)]
fn share(d: &DecisionCounts) -> Option<f64> {
    (d.total() > 0).then(|| d.not_passed() as f64 / d.total() as f64)
}

fn guards(a: &TriageReport, b: &TriageReport, o: &TriageOptions) -> Vec<GuardComparison> {
    /// A guard's decisions here and in the known-good session.
    type Pair = (Option<DecisionCounts>, Option<DecisionCounts>);
    let mut both: BTreeMap<(u8, &str), Pair> = BTreeMap::new();
    for g in &a.guards {
        both.entry((g.layer, &g.guard)).or_default().0 = Some(g.decisions);
    }
    for g in &b.guards {
        both.entry((g.layer, &g.guard)).or_default().1 = Some(g.decisions);
    }
    both.into_iter()
        .map(|((layer, guard), (s, k))| {
            let (rs, rk) = (s.as_ref().and_then(share), k.as_ref().and_then(share));
            let flag = match (&s, &k) {
                (Some(_), None) => Some("only in this session".to_owned()),
                (None, Some(_)) => Some("only in the known-good session".to_owned()),
                (Some(s), Some(k)) if s.violations() > 0 && k.violations() == 0 => Some(format!(
                    "{} rejected or faulted here, none in the known-good session",
                    plural(s.violations(), "result")
                )),
                _ => match (rs, rk) {
                    (Some(x), Some(y)) if x - y >= o.guard_rate_margin && x >= 2.0 * y => {
                        Some(format!(
                            "{:.1} % not passed here, {:.1} % in the known-good session",
                            x * 100.0,
                            y * 100.0
                        ))
                    }
                    _ => None,
                },
            };
            GuardComparison {
                layer,
                guard: guard.to_owned(),
                session: s,
                known_good: k,
                session_not_passed: rs,
                known_good_not_passed: rk,
                flag,
            }
        })
        .collect()
}

fn latency(a: &TriageReport, b: &TriageReport, o: &TriageOptions) -> Vec<LatencyComparison> {
    let p99 = |r: &TriageReport, l: usize| {
        r.layers
            .get(l)
            .and_then(|x| x.latency.as_ref())
            .map(|s: &LatencyStats| s.p99_ms)
    };
    (0..4_u8)
        .filter_map(|layer| {
            let (s, k) = (p99(a, layer.into())?, p99(b, layer.into())?);
            let ratio = (k > 0.0).then(|| s / k);
            Some(LatencyComparison {
                layer,
                session_p99_ms: s,
                known_good_p99_ms: k,
                ratio,
                flagged: s >= 2.0 * k && s - k > o.outlier_margin_ms,
            })
        })
        .collect()
}

fn findings(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    if !c.warnings.is_empty() {
        out.push(format!(
            "Compare only sessions of the same robot, task and calibration: {}.",
            c.warnings.join("; ")
        ));
    }
    let moved: Vec<String> = c
        .initial_pose
        .joints
        .iter()
        .filter(|j| j.differs)
        .map(|j| match j.delta {
            Some(d) => format!("joint {} by {d:+.3}", j.joint),
            None => format!("joint {} (in one session only)", j.joint),
        })
        .collect();
    if !moved.is_empty() {
        out.push(format!(
            "The initial pose differs from the known-good one: {}.",
            moved.join(", ")
        ));
    }
    if let (true, Some(d)) = (
        c.initial_pose.end_effector_differs,
        c.initial_pose.end_effector_distance,
    ) {
        out.push(format!(
            "The initial end-effector position is {d:.3} m from the known-good one."
        ));
    }
    for g in &c.guards {
        if let Some(flag) = &g.flag {
            out.push(format!(
                "Guard `{}` (L{} {}): {flag}.",
                g.guard,
                g.layer,
                LAYER_NAMES
                    .get(usize::from(g.layer))
                    .copied()
                    .unwrap_or("?")
            ));
        }
    }
    for l in c.latency.iter().filter(|l| l.flagged) {
        out.push(format!(
            "L{} latency p99 is {:.2} ms, {:.2} ms in the known-good session.",
            l.layer, l.session_p99_ms, l.known_good_p99_ms
        ));
    }
    if out.is_empty() {
        out.push("No difference from the known-good session beyond the tolerances.".to_owned());
    }
    out
}
