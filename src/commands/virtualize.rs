//! `nanopod virtualize`: embed files and environment variables in a
//! component (see the nanopod-virt crate).

use crate::flags::{parse_dir, parse_env};
use anyhow::{Context, Result};
use clap::Args;
use nanopod_host::binary::read_wasm;
use nanopod_virt::Mount;
use std::path::PathBuf;
use std::process::ExitCode;

/// Write a component that carries HOST directories (read-only) and
/// environment variables inside itself: it imports no wasi:filesystem, runs
/// with no --dir, and works on any host that runs WASI 0.2 components.
#[derive(Args, Debug)]
pub(crate) struct VirtualizeCommand {
    /// Embed the directory (or .tar archive) HOST, seen by the component
    /// as GUEST (default: the same path). Repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub dirs: Vec<String>,

    /// Embed the variable NAME=VALUE (NAME alone: its value here). With
    /// any --env, the component sees exactly these variables; without, the
    /// host's environment as granted at run time. Repeatable.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    pub env: Vec<String>,

    /// The component to virtualize.
    pub component: PathBuf,

    /// Where to write the virtualized component.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

impl VirtualizeCommand {
    /// Runs the command.
    pub(crate) fn execute(self) -> Result<ExitCode> {
        let bytes = read_wasm(&self.component)?;
        let mounts: Vec<Mount> = self
            .dirs
            .iter()
            .map(|spec| {
                let dir = parse_dir(spec, true);
                Mount {
                    host: dir.host,
                    guest: dir.guest,
                }
            })
            .collect();
        let env = if self.env.is_empty() {
            None
        } else {
            Some(
                self.env
                    .iter()
                    .map(|e| parse_env(e))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        };
        let out = nanopod_virt::virtualize(&bytes, &mounts, env.as_deref())
            .with_context(|| format!("cannot virtualize `{}`", self.component.display()))?;
        nanopod_host::io::write_atomically(&self.output, &out.bytes)?;
        say!(
            "{}: {} files ({} bytes) embedded, {} KiB",
            self.output.display(),
            out.files,
            out.file_bytes,
            out.bytes.len() / 1024,
        );
        tracing::debug!("the virtual filesystem serves {}", out.served.join(", "));
        Ok(ExitCode::SUCCESS)
    }
}
