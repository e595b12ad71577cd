use std::{fs, path::PathBuf};

use rewind_model::Timestamp;

use super::*;

/// A laptop-shaped mount table: ext4 root, btrfs /var/lib, an EFI
/// partition, a USB disk with a space in its name, a bind mount of the root
/// filesystem, and the usual pseudo, tmpfs, snap and network mounts.
const MOUNTS: &str = "\
/dev/nvme0n1p2 / ext4 rw,relatime,errors=remount-ro 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
tmpfs /run tmpfs rw,nosuid,nodev,size=3264628k,mode=755 0 0
/dev/nvme0n1p3 /var/lib btrfs rw,relatime,ssd,space_cache=v2,subvolid=5,subvol=/ 0 0
/dev/nvme0n1p1 /boot/efi vfat rw,relatime,fmask=0077,dmask=0077 0 0
/dev/sda1 /media/my\\040disk ext4 rw,nosuid,nodev,relatime 0 0
/dev/nvme0n1p2 /srv/bind ext4 rw,relatime 0 0
/dev/loop3 /snap/core/123 squashfs ro,nodev,relatime 0 0
server:/export /net/home nfs4 rw,relatime,vers=4.2 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0
garbage
";

fn space(blocks: u64, bfree: u64, bavail: u64, files: u64, ffree: u64, fsid: u64) -> Space {
    Space {
        frsize: 4096,
        blocks,
        bfree,
        bavail,
        files,
        ffree,
        fsid,
    }
}

fn fake(path: &Path) -> io::Result<Space> {
    match path.to_str() {
        Some("/" | "/srv/bind") => Ok(space(1000, 400, 300, 100, 25, 1)),
        Some("/var/lib") => Ok(space(2000, 1000, 1000, 0, 0, 2)),
        Some("/boot/efi") => Ok(space(100, 100, 100, 0, 0, 3)),
        Some("/media/my disk") => Err(io::Error::from_raw_os_error(13)),
        _ => Ok(space(0, 0, 0, 0, 0, 9)),
    }
}

fn config(proc_root: PathBuf) -> Config {
    Config {
        proc_root,
        ..Config::default()
    }
}

use crate::collect::system::common::value;

fn poll(d: &mut DiskSpace) -> Batch {
    let mut out = Batch::new(Timestamp::from_unix_millis(0));
    d.poll(&mut out);
    out
}

#[test]
fn reports_real_filesystems_once_each() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("self")).unwrap();
    fs::write(dir.path().join("self/mounts"), MOUNTS).unwrap();
    let mut d = DiskSpace::with_statfs(&config(dir.path().to_path_buf()), fake);
    let b = poll(&mut d);
    assert_eq!(value(&b, "disk.root.used_bytes"), Some(600.0 * 4096.0));
    assert_eq!(value(&b, "disk.root.free_bytes"), Some(300.0 * 4096.0));
    assert_eq!(value(&b, "disk.root.used_pct"), Some(600.0 / 900.0 * 100.0));
    assert_eq!(value(&b, "disk.root.inodes_used_pct"), Some(75.0));
    assert_eq!(value(&b, "disk.var_lib.used_pct"), Some(50.0));
    assert_eq!(
        value(&b, "disk.var_lib.inodes_used_pct"),
        None,
        "btrfs has no inode count"
    );
    assert_eq!(value(&b, "disk.boot_efi.used_bytes"), Some(0.0));
    let mounts: std::collections::BTreeSet<&str> = b
        .readings
        .iter()
        .filter_map(|r| r.series.as_str().split('.').nth(1))
        .collect();
    assert_eq!(
        mounts.into_iter().collect::<Vec<_>>(),
        ["boot_efi", "root", "var_lib"]
    );
    let problems: Vec<&str> = b.problems.iter().map(|p| p.error.as_str()).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("1 malformed line"), "{problems:?}");
    assert!(problems[1].contains("/media/my disk"), "{problems:?}");
}

#[test]
fn falls_back_to_proc_mounts_and_a_missing_table_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = DiskSpace::with_statfs(&config(dir.path().to_path_buf()), fake);
    let b = poll(&mut d);
    assert_eq!((b.problems.len(), b.readings.len()), (1, 0));
    fs::write(dir.path().join("mounts"), "/dev/vda / ext4 rw 0 0\n").unwrap();
    let b = poll(&mut d);
    assert!(b.problems.is_empty());
    assert_eq!(value(&b, "disk.root.inodes_used_pct"), Some(75.0));
}

#[test]
fn reads_the_live_machine() {
    let mut d = DiskSpace::new(&Config::default());
    let b = poll(&mut d);
    for r in &b.readings {
        assert!(r.value >= 0.0, "{r:?}");
        if r.unit == "percent" {
            assert!(r.value <= 100.0, "{r:?}");
        }
    }
    if let Some(used) = value(&b, "disk.root.used_pct") {
        assert!(value(&b, "disk.root.free_bytes").is_some());
        assert!((0.0..=100.0).contains(&used));
    }
}
