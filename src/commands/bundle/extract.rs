//! `rewind bundle extract FILE DIR`: unpack a validated bundle, safely.
//!
//! The bundle is validated completely first ([`super::load`]: traversal,
//! symlinks, duplicates, bombs and hashes are all refused there). Then only
//! the manifest's own paths are written, each checked again to be a plain
//! relative path, each file created new (never replacing anything), each
//! checked against its listed size and SHA-256. Any failure removes every
//! file and directory this run created.

use std::{
    io::{Cursor, Read as _, Write as _},
    path::{Component, Path, PathBuf},
};

use anyhow::{Context as _, bail};
use rewind_bundle::MANIFEST_PATH;
use sha2::{Digest as _, Sha256};

/// What this run created, removed again on failure (files first, then
/// directories, deepest first).
#[derive(Default)]
struct Created {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

impl Created {
    fn undo(&self) {
        for f in self.files.iter().rev() {
            let _ = std::fs::remove_file(f);
        }
        for d in self.dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

pub(super) fn run(path: &Path, dir: &Path) -> anyhow::Result<()> {
    let (bytes, bundle) = super::load(path)?;
    let mut created = Created::default();
    let written = match extract(&bytes, &bundle.manifest, dir, &mut created) {
        Ok(written) => written,
        Err(err) => {
            created.undo();
            return Err(err.context(format!(
                "cannot extract {} into {} (nothing was left behind)",
                path.display(),
                dir.display()
            )));
        }
    };
    let mut out = std::io::stdout().lock();
    let total: u64 = written.iter().map(|(_, size)| size).sum();
    for (p, size) in &written {
        writeln!(out, "  {size:>10}  {p}")?;
    }
    writeln!(
        out,
        "extracted {} files ({total} bytes) from {} into {}",
        written.len(),
        path.display(),
        dir.display()
    )?;
    Ok(())
}

/// Writes every member; returns (path, size) of each, in manifest order.
fn extract(
    bytes: &[u8],
    manifest: &rewind_bundle::Manifest,
    dir: &Path,
    created: &mut Created,
) -> anyhow::Result<Vec<(String, u64)>> {
    prepare_dir(dir, created)?;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).context("reopening the zip")?;
    // manifest.json is not listed in `files` (it lists them); its content
    // was parsed and validated by the reader.
    let members = std::iter::once((MANIFEST_PATH, None)).chain(
        manifest
            .files
            .iter()
            .map(|f| (f.path.as_str(), Some((f.size, f.sha256.as_str())))),
    );
    let mut written = Vec::new();
    for (member, expected) in members {
        let target = safe_target(dir, member)?;
        let mut file = zip
            .by_name(member)
            .with_context(|| format!("member `{member}` is missing"))?;
        let cap = expected.map_or(file.size(), |(size, _)| size);
        let mut content = Vec::new();
        (&mut file)
            .take(cap.saturating_add(1))
            .read_to_end(&mut content)
            .with_context(|| format!("reading member `{member}`"))?;
        drop(file);
        let size = u64::try_from(content.len()).unwrap_or(u64::MAX);
        if let Some((want_size, want_hash)) = expected {
            let hash = hex(&Sha256::digest(&content));
            if size != want_size || hash != want_hash {
                bail!("member `{member}` does not match its size and SHA-256 in the manifest");
            }
        }
        if let Some(parent) = target.parent() {
            make_dirs(dir, parent, created)?;
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .with_context(|| format!("creating {}", target.display()))?;
        created.files.push(target.clone());
        out.write_all(&content)
            .and_then(|()| out.sync_all())
            .with_context(|| format!("writing {}", target.display()))?;
        written.push((member.to_owned(), size));
    }
    Ok(written)
}

/// DIR must be missing (it is created) or an empty directory.
fn prepare_dir(dir: &Path, created: &mut Created) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) => {
            let is_dir = meta.is_dir() || (meta.is_symlink() && dir.is_dir());
            if !is_dir {
                bail!("{} exists and is not a directory", dir.display());
            }
            let mut entries = std::fs::read_dir(dir)
                .with_context(|| format!("reading directory {}", dir.display()))?;
            if entries.next().is_some() {
                bail!(
                    "{} is not empty; extract into a new or empty directory",
                    dir.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Create missing ancestors too, remembering each for the undo.
            let mut missing = Vec::new();
            let mut at = Some(dir);
            while let Some(p) = at {
                if p.as_os_str().is_empty() || p.exists() {
                    break;
                }
                missing.push(p.to_path_buf());
                at = p.parent();
            }
            for p in missing.into_iter().rev() {
                std::fs::create_dir(&p).with_context(|| format!("creating {}", p.display()))?;
                created.dirs.push(p);
            }
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("checking {}", dir.display())),
    }
}

/// `dir/member`, if `member` is a plain relative path (only normal
/// components, no `\` or `:`); anything else is refused.
fn safe_target(dir: &Path, member: &str) -> anyhow::Result<PathBuf> {
    let plain = !member.is_empty()
        && !member.contains(['\\', ':', '\0'])
        && member
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && Path::new(member)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        bail!("member path `{member}` is not a plain relative path; refusing to write it");
    }
    let target = dir.join(member);
    if !target.starts_with(dir) {
        bail!("member path `{member}` leads outside {}", dir.display());
    }
    Ok(target)
}

/// Creates `parent` and the directories between `dir` and it, each only if
/// missing and each a real directory (never following a symlink).
fn make_dirs(dir: &Path, parent: &Path, created: &mut Created) -> anyhow::Result<()> {
    let Ok(rel) = parent.strip_prefix(dir) else {
        bail!("{} is outside {}", parent.display(), dir.display());
    };
    let mut at = dir.to_path_buf();
    for c in rel.components() {
        at.push(c);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => bail!("{} exists and is not a directory", at.display()),
            Err(_) => {
                std::fs::create_dir(&at).with_context(|| format!("creating {}", at.display()))?;
                created.dirs.push(at.clone());
            }
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
