//! Parsing and filtering the mount table (`/proc/self/mounts`).

use super::super::Config;

/// Pseudo filesystems and read-only images: never a disk that fills up.
const PSEUDO: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "devfs",
    "cgroup",
    "cgroup2",
    "securityfs",
    "pstore",
    "debugfs",
    "tracefs",
    "configfs",
    "fusectl",
    "mqueue",
    "hugetlbfs",
    "bpf",
    "autofs",
    "binfmt_misc",
    "rpc_pipefs",
    "nsfs",
    "efivarfs",
    "selinuxfs",
    "ramfs",
    "nfsd",
    "squashfs",
    "erofs",
    "iso9660",
    "udf",
    "sockfs",
    "pipefs",
    "rootfs",
];

/// Network filesystems, whose statvfs can hang on a dead server.
const NETWORK: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "ceph",
    "glusterfs",
    "9p",
    "afs",
    "lustre",
    "ncpfs",
    "davfs",
];

/// Which mounts are reported.
#[derive(Debug)]
pub(super) struct Filter {
    tmpfs: bool,
    overlay: bool,
    network: bool,
    exclude: Vec<String>,
}

impl Filter {
    pub(super) fn new(c: &Config) -> Self {
        let exclude = c
            .mounts_exclude
            .iter()
            .map(|e| e.trim_end_matches('/').to_owned())
            .collect();
        Self {
            tmpfs: c.mounts_include_tmpfs,
            overlay: c.mounts_include_overlay,
            network: c.mounts_include_network,
            exclude,
        }
    }

    fn keeps(&self, fstype: &str, path: &str) -> bool {
        let kind_ok = match fstype {
            "tmpfs" => self.tmpfs,
            "overlay" => self.overlay,
            t if PSEUDO.contains(&t) => false,
            t if NETWORK.contains(&t) || t.starts_with("fuse.") => self.network,
            _ => true,
        };
        kind_ok
            && !self.exclude.iter().any(|e| {
                path == e
                    || path
                        .strip_prefix(e.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            })
    }
}

/// The kept mount points, shortest path first, each once; and how many lines were malformed.
pub(super) fn parse(text: &str, filter: &Filter) -> (Vec<String>, usize) {
    let mut kept: Vec<String> = Vec::new();
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut f = line.split(' ');
        let (Some(_device), Some(path), Some(fstype)) = (f.next(), f.next(), f.next()) else {
            bad += 1;
            continue;
        };
        let path = unescape(path);
        if !path.starts_with('/') {
            bad += 1;
            continue;
        }
        if filter.keeps(fstype, &path) && !kept.contains(&path) {
            kept.push(path);
        }
    }
    kept.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    (kept, bad)
}

/// Decodes the kernel's `\ooo` octal escapes (space, tab, newline, backslash, `#`).
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let code = b
            .get(i + 1..i + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u8::from_str_radix(d, 8).ok());
        match (b[i], code) {
            (b'\\', Some(c)) => {
                out.push(c);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(unescape(r"/media/my\040disk"), "/media/my disk");
        assert_eq!(unescape(r"/a\134b"), r"/a\b");
        assert_eq!(unescape(r"/odd\"), r"/odd\");
        assert_eq!(unescape(r"/odd\9xx"), r"/odd\9xx");
    }

    #[test]
    fn keeps_real_filesystems_only() {
        let c = Config {
            mounts_exclude: vec!["/var/lib/docker/".into()],
            ..Config::default()
        };
        let f = Filter::new(&c);
        assert!(f.keeps("ext4", "/"));
        assert!(f.keeps("overlay", "/"));
        assert!(f.keeps("fuseblk", "/mnt/win"));
        assert!(!f.keeps("tmpfs", "/dev/shm"));
        assert!(!f.keeps("nfs4", "/net/home"));
        assert!(!f.keeps("fuse.sshfs", "/mnt/remote"));
        assert!(!f.keeps("ext4", "/var/lib/docker/volumes"));
        assert!(!f.keeps("ext4", "/var/lib/docker"));
        assert!(f.keeps("ext4", "/var/lib/dockerd"));
        let c = Config {
            mounts_include_tmpfs: true,
            mounts_include_overlay: false,
            ..Config::default()
        };
        let f = Filter::new(&c);
        assert!(f.keeps("tmpfs", "/dev/shm") && !f.keeps("overlay", "/"));
    }
}
