//! Finding the cgroup v2 hierarchy and the cgroups to follow (at build time
//! and every `rediscover_interval`, never on every pass).

use std::path::{Component, Path, PathBuf};

use super::{FILES, METRICS, Target};
use crate::collect::system::common::{names, read_to, segment};

/// The v2 hierarchy: `fs/cgroup` (unified) or `fs/cgroup/unified` (hybrid).
pub(super) fn hierarchy(sys_root: &Path) -> Option<PathBuf> {
    let base = sys_root.join("fs/cgroup");
    [base.clone(), base.join("unified")]
        .into_iter()
        .find(|p| p.join("cgroup.controllers").is_file())
}

/// The agent's own v2 cgroup path, from the `0::` line of `self/cgroup`.
fn own(proc_root: &Path) -> Option<String> {
    let mut text = String::new();
    read_to(&proc_root.join("self/cgroup"), &mut text).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| p.trim().to_owned())
}

/// The cgroups that exist now and have something to read; `notice` logs why others are left out.
pub(super) fn targets(
    proc_root: &Path,
    root: &Path,
    watch: &[String],
    notice: bool,
) -> Vec<Target> {
    let mut wanted: Vec<(String, String, String)> = Vec::new();
    match own(proc_root) {
        Some(path) => wanted.push(("agent".into(), "agent".into(), path)),
        None if notice => {
            tracing::info!(proc_root = %proc_root.display(), "the agent's own cgroup is unknown (no `0::` line in self/cgroup)")
        }
        None => {}
    }
    for path in watch {
        let seg = segment(path).unwrap_or_else(|| "root".into());
        wanted.push((path.clone(), seg, path.clone()));
    }
    let mut targets: Vec<Target> = Vec::new();
    for (label, seg, path) in wanted {
        if targets
            .iter()
            .any(|t| t.names[0].as_str().split('.').nth(1) == Some(seg.as_str()))
        {
            continue; // two paths with the same name: the first wins
        }
        match target(root, &label, &seg, &path) {
            Ok(t) => targets.push(t),
            Err(why) if notice => {
                tracing::info!(cgroup = %label, "{why}: its cgroup.* series are off for now")
            }
            Err(_) => {}
        }
    }
    targets
}

fn target(root: &Path, label: &str, seg: &str, path: &str) -> Result<Target, String> {
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(format!("cgroup path `{path}` is outside the hierarchy"));
    }
    let dir = root.join(rel);
    if !dir.is_dir() {
        return Err(format!("no cgroup at {}", dir.display()));
    }
    let mut files = FILES.map(|f| dir.join(f).is_file());
    // Without the cpu controller `cpu.stat` has only usage: nothing to read each pass.
    let mut buf = String::new();
    files[3] = files[3]
        && read_to(&dir.join(FILES[3]), &mut buf).is_ok()
        && buf.contains("throttled_usec");
    if !files.iter().any(|f| *f) {
        return Err(format!(
            "{} has no memory or cpu controller files",
            dir.display()
        ));
    }
    let names = names("cgroup", seg, METRICS)
        .ok_or_else(|| format!("`{seg}` makes no valid series name"))?;
    Ok(Target {
        label: label.to_owned(),
        dir,
        files,
        names,
        oom_kills: None,
        throttled: None,
    })
}
