//! A fake `/proc/self` and cgroup tree for tests.

use std::{
    fs,
    path::{Path, PathBuf},
};

/// `<root>/proc` and `<root>/cgroup`, with a process of `rss_kb`, `threads`
/// threads, `fds` open descriptors, a `nofile` soft limit and an optional
/// cgroup v2 memory limit.
#[derive(Debug)]
pub(crate) struct Fixture {
    pub(crate) root: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let f = Self {
            root: tempfile::tempdir().expect("temp dir"),
        };
        f.write("proc/self/cgroup", "0::/app.slice/svc.service\n");
        f.write("proc/sys/kernel/hostname", "fixture-host\n");
        f.write("proc/self/smaps_rollup", "Rss:  1024 kB\n");
        f.write(
            "proc/self/stat",
            "42 (svc) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0\n",
        );
        f.set_status(1024, 2);
        f.set_nofile(1024);
        f.set_fds(3);
        f
    }

    pub(crate) fn proc_root(&self) -> PathBuf {
        self.root.path().join("proc")
    }

    pub(crate) fn cgroup_root(&self) -> PathBuf {
        self.root.path().join("cgroup")
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    pub(crate) fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    /// `status` with `VmRSS` and `Threads`, and that many `task/` entries.
    pub(crate) fn set_status(&self, rss_kb: u64, threads: u64) {
        self.write(
            "proc/self/status",
            &format!(
                "Name:\tsvc\nState:\tS (sleeping)\nVmRSS:\t{rss_kb} kB\nThreads:\t{threads}\n"
            ),
        );
        let task = self.path("proc/self/task");
        fs::remove_dir_all(&task).ok();
        for tid in 0..threads {
            let tid = 100 + tid;
            let dir = format!("proc/self/task/{tid}");
            self.write(
                &format!("{dir}/stat"),
                &format!("{tid} (worker {tid}) S 1 1 1 0 -1 0 0 0 0 0 5 2 0 0 20 0 1 0 7 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1\n"),
            );
            self.write(&format!("{dir}/wchan"), "futex_wait_queue");
            self.write(
                &format!("{dir}/syscall"),
                "202 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8\n",
            );
        }
    }

    pub(crate) fn set_nofile(&self, soft: u64) {
        self.write(
            "proc/self/limits",
            &format!(
                "Limit                     Soft Limit           Hard Limit           Units\n\
                 Max open files            {soft:<20} 1048576              files\n"
            ),
        );
    }

    /// `fd/0` … `fd/<n-1>`, symbolic links to `/dev/null`.
    pub(crate) fn set_fds(&self, n: u64) {
        let dir = self.path("proc/self/fd");
        fs::remove_dir_all(&dir).ok();
        fs::create_dir_all(&dir).expect("mkdir");
        for fd in 0..n {
            std::os::unix::fs::symlink("/dev/null", dir.join(fd.to_string())).expect("symlink");
        }
    }

    /// The cgroup v2 `memory.max` of the service's cgroup (`None`: `max`).
    pub(crate) fn set_memory_max(&self, bytes: Option<u64>) {
        let text = bytes.map_or_else(|| "max".to_owned(), |b| b.to_string());
        self.write(
            "cgroup/app.slice/svc.service/memory.max",
            &format!("{text}\n"),
        );
    }
}

/// A config on this fixture with no thread, no hook, no tools, no profile
/// and no baseline: each test turns on what it checks.
pub(crate) fn config(f: &Fixture, dir: &Path) -> crate::Config {
    let mut c = crate::Config::new(dir);
    c.proc_root = f.proc_root();
    c.cgroup_root = f.cgroup_root();
    c.own_thread = false;
    c.panic_hook = false;
    c.stack_tool = None;
    c.cpu_profile = None;
    c.baseline = None;
    c
}
