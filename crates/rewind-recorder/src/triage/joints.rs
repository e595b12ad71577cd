//! Joints that received validated commands without an observed response,
//! and the initial pose.
//!
//! Each cycle's `/dam/action` is paired with its `/dam/obs` by `cycle_id`.
//! For joint `j` of a paired cycle whose action was not rejected:
//!
//! - the cycle **commands** the joint when
//!   `|validated_positions[j] − joint_positions[j]| > position_tolerance`:
//!   the guards let through a command to be somewhere else;
//! - the joint **responds** when its observed position has moved more than
//!   `position_tolerance` from where the current run of commands found it,
//!   or `|joint_velocities[j]| > velocity_tolerance`.
//!
//! A run of commanding cycles without a response ends at a cycle that does
//! not command the joint (reached, held, rejected) or at a response; a new
//! run starts at the next commanding cycle without a response. A joint is
//! reported unresponsive when its longest run is at least
//! `min_unresponsive_cycles` cycles long and spans at least
//! `min_unresponsive_sec` of log time.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    TriageOptions,
    payload::{ActionMsg, ObsMsg},
};

/// Paired cycles waiting for their other half; past this the oldest go.
const MAX_PENDING: usize = 4096;

/// The first observed pose of a session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pose {
    /// The cycle of that `/dam/obs`.
    pub cycle_id: u64,
    /// `joint_positions`.
    pub joint_positions: Vec<f64>,
    /// `end_effector_pose` (x, y, z, qw, qx, qy, qz).
    pub end_effector_pose: Option<Vec<f64>>,
}

/// A run of cycles that commanded a joint without it responding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Streak {
    /// First cycle of the run.
    pub first_cycle: u64,
    /// Last cycle of the run.
    pub last_cycle: u64,
    /// Commanding cycles in the run.
    pub cycles: u64,
    /// Log time from its first to its last cycle.
    pub seconds: f64,
    /// Largest `|validated − observed|` in the run.
    pub max_gap: f64,
    /// Where the joint was observed during the run (it moved less than the
    /// tolerance from there).
    pub observed_position: f64,
}

/// One joint's commands and responses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JointStats {
    /// Index into `joint_positions`.
    pub joint: usize,
    /// Cycles that commanded it.
    pub commanded_cycles: u64,
    /// Largest `|validated − observed|` over the session.
    pub max_gap: f64,
    /// Its longest run of commands without a response.
    pub longest_unresponsive: Option<Streak>,
    /// Whether that run is long enough to report.
    pub unresponsive: bool,
}

#[derive(Debug, Default)]
struct Pending {
    obs: Option<(u64, ObsMsg)>,
    action: Option<ActionMsg>,
}

#[derive(Debug, Clone)]
struct Run {
    first: (u64, u64),
    last: (u64, u64),
    cycles: u64,
    anchor: f64,
    max_gap: f64,
}

#[derive(Debug, Default)]
struct Joint {
    commanded: u64,
    max_gap: f64,
    run: Option<Run>,
    longest: Option<Run>,
}

impl Joint {
    fn end_run(&mut self) {
        if let Some(run) = self.run.take()
            && self.longest.as_ref().is_none_or(|l| run.cycles > l.cycles)
        {
            self.longest = Some(run);
        }
    }
}

/// Pairs observations with actions and follows each joint.
#[derive(Debug)]
pub(super) struct Joints {
    position_tolerance: f64,
    velocity_tolerance: f64,
    pending: BTreeMap<u64, Pending>,
    joints: Vec<Joint>,
    pub(super) initial: Option<Pose>,
    pub(super) paired: u64,
    unpaired: u64,
}

impl Joints {
    pub(super) fn new(o: &TriageOptions) -> Self {
        Self {
            position_tolerance: o.position_tolerance,
            velocity_tolerance: o.velocity_tolerance,
            pending: BTreeMap::new(),
            joints: Vec::new(),
            initial: None,
            paired: 0,
            unpaired: 0,
        }
    }

    pub(super) fn obs(&mut self, log_time: u64, m: ObsMsg) {
        let Some(cycle) = m.cycle_id else { return };
        if let Some(positions) = &m.joint_positions
            && self.initial.as_ref().is_none_or(|p| cycle < p.cycle_id)
        {
            self.initial = Some(Pose {
                cycle_id: cycle,
                joint_positions: positions.clone(),
                end_effector_pose: m.end_effector_pose.clone(),
            });
        }
        self.pending.entry(cycle).or_default().obs = Some((log_time, m));
        self.try_pair(cycle);
    }

    pub(super) fn action(&mut self, m: ActionMsg) {
        let Some(cycle) = m.cycle_id else { return };
        self.pending.entry(cycle).or_default().action = Some(m);
        self.try_pair(cycle);
    }

    fn try_pair(&mut self, cycle: u64) {
        if let Some(p) = self.pending.get(&cycle)
            && p.obs.is_some()
            && p.action.is_some()
            && let Some(Pending {
                obs: Some((log_time, obs)),
                action: Some(action),
            }) = self.pending.remove(&cycle)
        {
            self.paired += 1;
            self.step(cycle, log_time, &obs, &action);
        }
        while self.pending.len() > MAX_PENDING {
            self.pending.pop_first();
            self.unpaired += 1;
        }
    }

    /// One paired cycle.
    fn step(&mut self, cycle: u64, log_time: u64, obs: &ObsMsg, action: &ActionMsg) {
        let Some(observed) = &obs.joint_positions else {
            return;
        };
        if self.joints.len() < observed.len() {
            self.joints.resize_with(observed.len(), Joint::default);
        }
        let commands = match (&action.validated_positions, action.was_rejected) {
            (Some(q), None | Some(false)) => Some(q),
            _ => None,
        };
        for (j, (&p, joint)) in observed.iter().zip(&mut self.joints).enumerate() {
            let Some(&q) = commands.and_then(|q| q.get(j)) else {
                joint.end_run();
                continue;
            };
            let gap = (q - p).abs();
            if !(gap.is_finite() && gap > self.position_tolerance) {
                joint.end_run();
                continue;
            }
            joint.commanded += 1;
            joint.max_gap = joint.max_gap.max(gap);
            let moving = obs
                .joint_velocities
                .as_ref()
                .and_then(|v| v.get(j))
                .is_some_and(|v| v.abs() > self.velocity_tolerance);
            if moving {
                joint.end_run();
                continue;
            }
            let moved = joint
                .run
                .as_ref()
                .is_some_and(|r| (p - r.anchor).abs() > self.position_tolerance);
            if moved {
                joint.end_run();
            }
            let at = (cycle, log_time);
            let run = joint.run.get_or_insert(Run {
                first: at,
                last: at,
                cycles: 0,
                anchor: p,
                max_gap: 0.0,
            });
            run.last = at;
            run.cycles += 1;
            run.max_gap = run.max_gap.max(gap);
        }
    }

    /// Observations and actions that found no other half.
    pub(super) fn unpaired(&self) -> u64 {
        self.unpaired + self.pending.len() as u64
    }

    /// Every joint seen, in index order.
    pub(super) fn finish(self, o: &TriageOptions) -> Vec<JointStats> {
        self.joints
            .into_iter()
            .enumerate()
            .map(|(joint, mut j)| {
                j.end_run();
                let longest = j.longest.map(|r| Streak {
                    first_cycle: r.first.0,
                    last_cycle: r.last.0,
                    cycles: r.cycles,
                    #[allow(clippy::cast_precision_loss)]
                    seconds: r.last.1.saturating_sub(r.first.1) as f64 / 1e9,
                    max_gap: r.max_gap,
                    observed_position: r.anchor,
                });
                let unresponsive = longest.as_ref().is_some_and(|s| {
                    s.cycles >= o.min_unresponsive_cycles && s.seconds >= o.min_unresponsive_sec
                });
                JointStats {
                    joint,
                    commanded_cycles: j.commanded,
                    max_gap: j.max_gap,
                    longest_unresponsive: longest,
                    unresponsive,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(cycle: u64, positions: &[f64], velocities: &[f64]) -> ObsMsg {
        ObsMsg {
            cycle_id: Some(cycle),
            joint_positions: Some(positions.to_vec()),
            joint_velocities: Some(velocities.to_vec()),
            end_effector_pose: None,
        }
    }

    fn action(cycle: u64, validated: Option<&[f64]>) -> ActionMsg {
        ActionMsg {
            cycle_id: Some(cycle),
            validated_positions: validated.map(<[f64]>::to_vec),
            was_rejected: Some(validated.is_none()),
        }
    }

    /// 1 kHz: joint 0 follows its command, joint 1 is stuck at 0.5 from
    /// cycle 100 to 399 while commanded to 0.8, then follows again.
    fn run(j: &mut Joints) {
        for c in 0..600_u64 {
            let target = c as f64 * 0.001;
            let stuck = (100..400).contains(&c);
            let p1 = if stuck { 0.5 } else { 0.8 };
            j.obs(c * 1_000_000, obs(c, &[target, p1], &[0.5, 0.0]));
            j.action(action(c, Some(&[target + 0.02, 0.8])));
        }
    }

    #[test]
    fn a_stuck_joint_is_reported_with_its_run() {
        let o = TriageOptions::default();
        let mut j = Joints::new(&o);
        run(&mut j);
        assert_eq!(j.paired, 600);
        let initial = j.initial.clone().unwrap();
        assert_eq!(initial.cycle_id, 0);
        let stats = j.finish(&o);
        assert_eq!(stats.len(), 2);
        // Joint 0 lags its command by 0.02 but moves (velocity 0.5).
        assert_eq!(stats[0].commanded_cycles, 600);
        assert!(!stats[0].unresponsive);
        assert!(stats[0].longest_unresponsive.is_none());
        let s = stats[1].longest_unresponsive.clone().unwrap();
        assert!(stats[1].unresponsive);
        assert_eq!((s.first_cycle, s.last_cycle, s.cycles), (100, 399, 300));
        assert!((s.seconds - 0.299).abs() < 1e-9);
        assert!((s.max_gap - 0.3).abs() < 1e-9);
        assert_eq!(stats[1].commanded_cycles, 300);
    }

    #[test]
    fn rejected_actions_command_nothing_and_short_runs_are_not_reported() {
        let o = TriageOptions::default();
        let mut j = Joints::new(&o);
        for c in 0..20_u64 {
            j.obs(c * 1_000_000, obs(c, &[0.0], &[0.0]));
            let cmd = [1.0];
            j.action(action(c, (c % 2 == 0).then_some(&cmd[..])));
        }
        let stats = j.finish(&o);
        assert_eq!(stats[0].commanded_cycles, 10);
        assert_eq!(stats[0].longest_unresponsive.as_ref().unwrap().cycles, 1);
        assert!(!stats[0].unresponsive);
    }

    #[test]
    fn halves_arrive_in_any_order_and_orphans_are_counted() {
        let o = TriageOptions::default();
        let mut j = Joints::new(&o);
        j.action(action(1, Some(&[1.0])));
        j.obs(0, obs(1, &[0.0], &[0.0]));
        j.obs(0, obs(2, &[0.0], &[0.0]));
        assert_eq!((j.paired, j.unpaired()), (1, 1));
        let stats = j.finish(&o);
        assert_eq!(stats[0].commanded_cycles, 1);
    }
}
