//! `nanopod compile`: fill the compile cache ahead of time.

use anyhow::Result;
use clap::Args;
use nanopod_host::Engines;
use nanopod_host::binary::load;
use nanopod_host::cache::CacheOutcome;
use std::path::PathBuf;
use std::process::ExitCode;

/// Compile COMPONENT into the on-disk cache so later runs start at once.
#[derive(Args, Debug)]
pub(crate) struct CompileCommand {
    /// The component or module to compile.
    pub component: PathBuf,
}

impl CompileCommand {
    /// Runs the command.
    pub(crate) fn execute(self) -> Result<ExitCode> {
        let loaded = load(&Engines::default(), &super::local_file(&self.component)?)?;
        let what = match loaded.cache {
            CacheOutcome::Hit => "already cached",
            CacheOutcome::Stored => "compiled and cached",
            CacheOutcome::Uncached => "compiled (cache disabled or not writable)",
        };
        say!(
            "{}: {what} ({} engine)",
            self.component.display(),
            loaded.engine.mode().name()
        );
        Ok(ExitCode::SUCCESS)
    }
}
