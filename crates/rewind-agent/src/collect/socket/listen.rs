//! Binding the socket file: stale files, permissions, group, clean-up.

use std::{
    io,
    os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    time::Duration,
};

use tokio::net::{UnixListener, UnixStream};

/// Mode of the socket file: the agent's user and group may connect.
const MODE: u32 = 0o660;

/// A bound listener; dropping it removes the socket file (if it is still ours).
#[derive(Debug)]
pub(super) struct Bound {
    pub listener: UnixListener,
    path: PathBuf,
    /// Device and inode of the file we created.
    id: (u64, u64),
}

impl Drop for Bound {
    fn drop(&mut self) {
        let ours =
            std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.id);
        if ours {
            std::fs::remove_file(&self.path).ok();
        }
    }
}

/// Binds `path` (creating its directory), mode 0660, owned by `group` when set.
/// A socket file already there is removed only if nothing answers on it.
///
/// # Errors
/// A message saying what is in the way.
pub(super) async fn bind(path: &Path, group: Option<&str>) -> Result<Bound, String> {
    let shown = path.display();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    remove_stale(path).await?;
    let listener =
        UnixListener::bind(path).map_err(|e| format!("cannot listen on {shown}: {e}"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(MODE))
        .map_err(|e| format!("cannot set mode 0660 on {shown}: {e}"))?;
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| format!("{shown} vanished after binding: {e}"))?;
    let bound = Bound {
        listener,
        path: path.to_owned(),
        id: (meta.dev(), meta.ino()),
    };
    if let Some(group) = group {
        let gid = gid_of(
            group,
            &std::fs::read_to_string("/etc/group").unwrap_or_default(),
        )
        .ok_or_else(|| format!("group `{group}` not found in /etc/group"))?;
        std::os::unix::fs::chown(path, None, Some(gid))
            .map_err(|e| format!("cannot give {shown} to group `{group}`: {e}"))?;
    }
    Ok(bound)
}

/// Removes a socket file nobody listens on; refuses anything else.
async fn remove_stale(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot inspect {shown}: {e}")),
    };
    if !meta.file_type().is_socket() {
        return Err(format!(
            "{shown} exists and is not a socket: not touching it"
        ));
    }
    match tokio::time::timeout(Duration::from_secs(1), UnixStream::connect(path)).await {
        Ok(Ok(_)) | Err(_) => Err(format!(
            "another process is listening on {shown}: is another agent running?"
        )),
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(path = %shown, "removing a stale socket file");
            std::fs::remove_file(path).map_err(|e| format!("cannot remove the stale {shown}: {e}"))
        }
        Ok(Err(e)) => Err(format!("cannot check whether {shown} is in use: {e}")),
    }
}

/// The id of `group` in an `/etc/group` text (`name:x:gid:members`).
fn gid_of(group: &str, etc_group: &str) -> Option<u32> {
    etc_group.lines().find_map(|line| {
        let mut parts = line.split(':');
        let name = parts.next()?;
        let gid = parts.nth(1)?;
        (name == group).then(|| gid.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_found_by_name() {
        let text = "root:x:0:\nrewind:x:997:ros,alice\nbroken\n";
        assert_eq!(gid_of("rewind", text), Some(997));
        assert_eq!(gid_of("root", text), Some(0));
        assert_eq!(gid_of("nobody", text), None);
        assert_eq!(gid_of("broken", text), None);
    }

    #[tokio::test]
    async fn binds_with_mode_0660_and_removes_the_file_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/agent.sock");
        let bound = bind(&path, None).await.unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        drop(bound);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn a_stale_socket_is_replaced_but_a_live_one_or_a_file_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap()); // leaves a dead socket file
        let live = bind(&path, None).await.unwrap();
        let err = bind(&path, None).await.unwrap_err();
        assert!(err.contains("another process is listening"), "{err}");
        drop(live);

        std::fs::write(&path, "not a socket").unwrap();
        let err = bind(&path, None).await.unwrap_err();
        assert!(err.contains("not a socket"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a socket");
    }

    #[tokio::test]
    async fn an_unknown_group_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = bind(&dir.path().join("a.sock"), Some("no-such-group-here"))
            .await
            .unwrap_err();
        assert!(err.contains("not found"), "{err}");
    }
}
