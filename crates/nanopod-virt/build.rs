//! Builds the virtual filesystem (`guests/virt`, a core module for
//! wasm32-unknown-unknown so it imports nothing but what its WIT names),
//! which `src/lib.rs` embeds; `virtualize` adds the image to it and makes
//! it a component. Checked here that it does become one.

use anyhow::{Context, Result};
use std::path::PathBuf;

fn main() -> Result<()> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let guests = guest_build::guests_dir(&manifest_dir, 2)?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed={}", guests.join("virt").display());
    let release = guest_build::cargo_build(
        &guests,
        &guest_build::shared_target_dir(&guests),
        "wasm32-unknown-unknown",
        &["virt"],
    )?;
    let module = std::fs::read(release.join("virt.wasm")).context("guests/virt was not built")?;
    wit_component::ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()
        .context("cannot make guests/virt a component")?;
    std::fs::write(out_dir.join("virt-adapter.wasm"), module)?;
    Ok(())
}
