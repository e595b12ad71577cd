//! The memory limit of the cgroup this process is in, cgroup v2 or v1.
//!
//! `<proc_root>/self/cgroup` names the cgroup: a v2 line `0::/path`, or a v1
//! line `N:…memory…:/path`. The limit is the smallest `memory.max` (v2) of
//! the cgroup and its ancestors under `<cgroup_root>`, or
//! `memory/<path>/memory.limit_in_bytes` (v1, which already folds in the
//! ancestors' limits through `hierarchical_memory_limit` in `memory.stat`).
//! `max`, and v1's "unlimited" (any value ≥ 2^60), mean no limit.

use std::path::{Path, PathBuf};

/// v1 writes a page-rounded `i64::MAX` for "no limit"; anything this large is no limit.
const V1_UNLIMITED: u64 = 1 << 60;

/// The limit in bytes, `None` when there is none or it cannot be read.
pub(crate) fn memory_limit(proc_root: &Path, cgroup_root: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(proc_root.join("self/cgroup")).ok()?;
    let mut v1 = None;
    let mut v2 = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            v2 = Some(path.to_owned());
        } else if controllers.split(',').any(|c| c == "memory") {
            v1 = Some(path.to_owned());
        }
    }
    if let Some(path) = v1 {
        let file = cgroup_root
            .join("memory")
            .join(relative(&path))
            .join("memory.limit_in_bytes");
        if let Some(limit) = read_number(&file) {
            return (limit < V1_UNLIMITED).then_some(limit);
        }
    }
    let path = v2?;
    let mut dir = cgroup_root.join(relative(&path));
    let mut smallest: Option<u64> = None;
    loop {
        if let Some(limit) = read_number(&dir.join("memory.max")) {
            smallest = Some(smallest.map_or(limit, |s| s.min(limit)));
        }
        if dir == cgroup_root || !dir.pop() || !dir.starts_with(cgroup_root) {
            break;
        }
    }
    smallest
}

fn relative(path: &str) -> PathBuf {
    PathBuf::from(path.trim_start_matches('/'))
}

/// A number in a cgroup file; `max` and unreadable files are `None`.
fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree(cgroup: &str) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("proc/self")).unwrap();
        fs::write(root.path().join("proc/self/cgroup"), cgroup).unwrap();
        root
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn v2_takes_the_smallest_limit_up_the_tree() {
        let root = tree("0::/system.slice/app.service\n");
        let r = root.path();
        write(r, "cg/system.slice/app.service/memory.max", "max\n");
        write(r, "cg/system.slice/memory.max", "1073741824\n");
        assert_eq!(memory_limit(&r.join("proc"), &r.join("cg")), Some(1 << 30));
        write(r, "cg/system.slice/app.service/memory.max", "536870912\n");
        assert_eq!(memory_limit(&r.join("proc"), &r.join("cg")), Some(1 << 29));
    }

    #[test]
    fn v2_max_everywhere_is_no_limit() {
        let root = tree("0::/\n");
        write(root.path(), "cg/memory.max", "max\n");
        assert_eq!(
            memory_limit(&root.path().join("proc"), &root.path().join("cg")),
            None
        );
    }

    #[test]
    fn v1_reads_the_memory_controller() {
        let root = tree("12:pids:/x\n4:memory:/docker/abc\n0::/\n");
        let r = root.path();
        write(
            r,
            "cg/memory/docker/abc/memory.limit_in_bytes",
            "268435456\n",
        );
        assert_eq!(memory_limit(&r.join("proc"), &r.join("cg")), Some(1 << 28));
        write(
            r,
            "cg/memory/docker/abc/memory.limit_in_bytes",
            "9223372036854771712\n",
        );
        assert_eq!(memory_limit(&r.join("proc"), &r.join("cg")), None);
    }

    #[test]
    fn no_cgroup_file_is_no_limit() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(memory_limit(root.path(), root.path()), None);
    }
}
