//! `nanopod pull`: fetch a component from an OCI registry into the cache.

use anyhow::{Context, Result};
use clap::Args;
use nanopod_oci::OciRef;
use std::path::PathBuf;
use std::process::ExitCode;

/// Pull REFERENCE into the local cache (refreshing what a tag points at),
/// verified by digest; print the reference pinned to its manifest digest.
/// Later `run`, `serve`, … of the reference start from the cache, without
/// the network.
#[derive(Args, Debug)]
pub(crate) struct PullCommand {
    /// What to pull: `oci://REGISTRY/REPOSITORY:TAG` or `…@sha256:HEX`.
    #[arg(value_name = "REFERENCE")]
    pub reference: String,

    /// Also write the component to FILE (created whole or not at all).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl PullCommand {
    /// Runs the command.
    pub(crate) fn execute(self) -> Result<ExitCode> {
        let reference = OciRef::parse(&self.reference)?;
        let pulled =
            nanopod_oci::blocking(|registry| async move { registry.pull(&reference).await })?;
        if let Some(output) = &self.output {
            let bytes = nanopod_host::binary::read_wasm(&pulled.path)?;
            nanopod_host::io::write_atomically(output, &bytes)
                .with_context(|| format!("writing {}", output.display()))?;
        }
        println!("{}", pulled.pinned);
        Ok(ExitCode::SUCCESS)
    }
}
