//! Building the function binaries with the workspace's own cargo, for the stack, the cold
//! start test and the size benchmark.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Builds `binaries` (their packages) in `root`'s workspace, in release or debug, and returns
/// the directory they are in (`CARGO_TARGET_DIR`, else `root/target`, then the profile).
/// A no-op build when they are fresh.
pub async fn build_functions(
    root: &Path,
    binaries: &[&str],
    release: bool,
) -> anyhow::Result<PathBuf> {
    // The cargo running the tests or the CLI, so that both build with the same toolchain.
    let mut cargo =
        tokio::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(root).args(["build", "--quiet"]);
    if release {
        cargo.arg("--release");
    }
    for binary in binaries {
        cargo.args(["-p", binary]);
    }
    let status = cargo.status().await.context("running cargo build")?;
    if !status.success() {
        bail!("cargo build of {} failed ({status})", binaries.join(", "));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target.join(if release { "release" } else { "debug" }))
}
