//! `nanopod embed-docs`: carry WIT doc comments inside a component.

use anyhow::Result;
use clap::Args;
use nanopod_host::binary::read_wasm;
use std::path::PathBuf;
use std::process::ExitCode;

/// Write COMPONENT with the doc comments of the WIT at `--wit` embedded (a
/// `package-docs` section any WIT decoder reads, and nanopod's own
/// `nanopod-docs` section), so `nanopod run --help` can show them.
#[derive(Args, Debug)]
pub(crate) struct EmbedDocsCommand {
    /// The component to annotate.
    pub component: PathBuf,
    /// The WIT sources it was built from (a .wit file or a directory).
    #[arg(long, value_name = "PATH")]
    pub wit: PathBuf,
    /// Where to write the result (may equal COMPONENT).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

impl EmbedDocsCommand {
    /// Runs the command.
    pub(crate) fn execute(self) -> Result<ExitCode> {
        let bytes = read_wasm(&self.component)?;
        let out = nanopod_wit_docs::embed(&bytes, &self.wit)?;
        nanopod_host::io::write_atomically(&self.output, &out)?;
        Ok(ExitCode::SUCCESS)
    }
}
