//! `nanopod snapshot`: pre-initialize a component at build time.

use crate::call::block_on;
use crate::flags::CapabilityFlags;
use anyhow::Result;
use clap::Args;
use nanopod_host::binary::read_wasm;
use nanopod_host::{EngineMode, Engines};
use std::path::PathBuf;
use std::process::ExitCode;

/// Run COMPONENT's initialization once and write a component whose memory
/// and globals already hold the result (Wizer-style), so heavy init work
/// happens at build time instead of at every start. Capability flags grant
/// the init function what it needs (e.g. `--ro-dir` for data to load).
#[derive(Args, Debug)]
pub(crate) struct SnapshotCommand {
    /// Capabilities and limits for the init function.
    #[command(flatten)]
    pub caps: CapabilityFlags,

    /// The init export (default: `wizer-initialize`, else `wizer.initialize`),
    /// or a WAVE call with arguments such as `init("en")`.
    #[arg(long, value_name = "EXPORT")]
    pub init: Option<String>,

    /// The component to pre-initialize.
    pub component: PathBuf,

    /// Where to write the pre-initialized component.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

impl SnapshotCommand {
    /// Runs the command.
    pub(crate) fn execute(self) -> Result<ExitCode> {
        let bytes = read_wasm(&self.component)?;
        let grants = self.caps.grants()?;
        let engines = Engines::default();
        let engine = engines.get(EngineMode::needed_by(&bytes))?;
        let run = nanopod_host::snapshot::snapshot(engine, &bytes, self.init.as_deref(), &grants);
        let snapshot = block_on(run)?;
        nanopod_host::io::write_atomically(&self.output, &snapshot)?;
        self.caps.finish(&grants, 0)?;
        say!(
            "{}: pre-initialized, {} KiB",
            self.output.display(),
            snapshot.len() / 1024
        );
        Ok(ExitCode::SUCCESS)
    }
}
