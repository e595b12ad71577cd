//! Builds the dashboard (`web/`) when Node.js is present and the build is
//! stale, so that `cargo run --release -- demo` on a fresh clone shows it.
//!
//! Without npm, or with `REWIND_SKIP_WEB_BUILD=1`, nothing is built and the
//! server answers `/` with instructions instead; the crate always compiles.
//! Nothing is downloaded beyond the npm registry packages in
//! `web/package-lock.json`.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::SystemTime,
};

/// What the dashboard build reads: a change to any of them makes it stale.
const SOURCES: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "vite.config.ts",
    "tsconfig.json",
];

fn main() {
    let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web");
    for p in SOURCES.iter().chain(&["package-lock.json", "dist"]) {
        println!("cargo:rerun-if-changed={}", web.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=REWIND_SKIP_WEB_BUILD");
    if std::env::var_os("REWIND_SKIP_WEB_BUILD").is_some_and(|v| v == "1") {
        return;
    }
    if !web.join("package.json").exists() || !is_stale(&web) {
        return;
    }
    if Command::new("npm").arg("--version").output().is_err() {
        println!("cargo:warning=npm not found: building without the dashboard (see web/README.md)");
        return;
    }
    if !web.join("node_modules").exists() && !npm(&web, &["ci", "--no-audit", "--no-fund"]) {
        return;
    }
    npm(&web, &["run", "build"]);
}

fn npm(web: &Path, args: &[&str]) -> bool {
    let ok = Command::new("npm")
        .args(args)
        .current_dir(web)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!(
            "cargo:warning=`npm {}` failed in web/: building without the dashboard",
            args.join(" ")
        );
    }
    ok
}

/// Whether `dist/index.html` is missing or older than any source file.
fn is_stale(web: &Path) -> bool {
    let Some(built) = mtime(&web.join("dist/index.html")) else {
        return true;
    };
    SOURCES
        .iter()
        .filter_map(|p| newest(&web.join(p)))
        .any(|t| t > built)
}

fn mtime(p: &Path) -> Option<SystemTime> {
    p.metadata().and_then(|m| m.modified()).ok()
}

fn newest(p: &Path) -> Option<SystemTime> {
    if p.is_dir() {
        std::fs::read_dir(p)
            .ok()?
            .flatten()
            .filter_map(|e| newest(&e.path()))
            .max()
    } else {
        mtime(p)
    }
}
