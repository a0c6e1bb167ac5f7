//! Builds crates of the `guests/` workspace (WebAssembly components) from a
//! build script, with a nested `cargo build --release` into its own target
//! directory, so the outer build's lock and flags never reach it.
//!
//! Every build script shares that one directory ([`shared_target_dir`]):
//! `cargo clippy`, `cargo test` and `cargo build --release` each run the
//! build scripts anew, and a directory per run held three copies of every
//! guest, which once filled a CI machine's disk. Cargo's lock on the
//! directory keeps concurrent nested builds apart.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `crates` of the workspace at `guests` for `target` into
/// `target_dir`; returns the directory holding the `.wasm` files.
pub fn cargo_build(
    guests: &Path,
    target_dir: &Path,
    target: &str,
    crates: &[&str],
) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(guests)
        .args(["build", "--release", "--target", target, "--target-dir"])
        .arg(target_dir);
    for c in crates {
        cmd.args(["-p", c]);
    }
    // The outer build's flags are for the host, never for the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().context("cannot run cargo for the guests")?;
    if !status.success() {
        bail!(
            "building guests for {target} failed (is the target installed? `rustup target add {target}`)"
        );
    }
    Ok(target_dir.join(target).join("release"))
}

/// Where guests are built: `guests` under the outer build's target directory
/// (`$CARGO_TARGET_DIR`, or `target/` at the repository root holding
/// `guests`). Outside `guests/` itself, so that build scripts watching that
/// directory for changes do not see their own output.
pub fn shared_target_dir(guests: &Path) -> PathBuf {
    let outer = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| guests.parent().unwrap_or(guests).join("target"));
    outer.join("guests")
}

/// The `guests/` workspace, from a crate directly under `crates/` (or
/// deeper: `depth` levels below the repository root).
pub fn guests_dir(manifest_dir: &Path, depth: usize) -> Result<PathBuf> {
    let mut root = manifest_dir.to_path_buf();
    for _ in 0..depth {
        root.pop();
    }
    root.join("guests")
        .canonicalize()
        .context("cannot find the guests/ workspace")
}
