//! `nanopod push`: publish a component to an OCI registry.

use anyhow::Result;
use clap::Args;
use nanopod_oci::OciRef;
use std::path::PathBuf;
use std::process::ExitCode;

/// Push FILE (a component or WASI preview1 module) to REFERENCE as a CNCF
/// Wasm OCI artifact, as `wkg oci push` does; print the reference pinned
/// to the pushed manifest's digest.
#[derive(Args, Debug)]
pub(crate) struct PushCommand {
    /// The component or module to push.
    pub file: PathBuf,

    /// Where to: `oci://REGISTRY/REPOSITORY:TAG`.
    #[arg(value_name = "REFERENCE")]
    pub reference: String,
}

impl PushCommand {
    /// Runs the command.
    pub(crate) fn execute(self) -> Result<ExitCode> {
        let reference = OciRef::parse(&self.reference)?;
        let bytes = nanopod_host::binary::read_wasm(&self.file)?;
        let pinned =
            nanopod_oci::blocking(
                |registry| async move { registry.push(bytes, &reference).await },
            )?;
        println!("{pinned}");
        Ok(ExitCode::SUCCESS)
    }
}
