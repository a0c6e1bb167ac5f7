//! `nanopod export`: serve a component's exported functions to remote
//! callers, the other end of a pod's `remote = "tcp://…"` link.

use crate::call::refuse_vfs;
use crate::flags::CapabilityFlags;
use anyhow::Result;
use clap::Args;
use nanopod_host::Engines;
use nanopod_host::binary::load;
use nanopod_remote::DEFAULT_MAX_CONNECTIONS;
use nanopod_remote::transport::read_token;
use nanopod_remote::{ExportOptions, Exporter, Transport};
use std::path::PathBuf;
use std::process::ExitCode;

/// Serve COMPONENT's exported functions over the network (the wRPC
/// protocol over TCP), so a pod elsewhere can link an import to it with
/// `remote = "tcp://HOST:PORT"`. Every call gets a fresh instance under the
/// grants and limits given here (`--timeout`, `--max-memory` per call),
/// unless `--reuse` lets an instance serve several.
/// SIGINT or SIGTERM stops accepting and lets calls in flight finish.
#[derive(Args, Debug)]
pub(crate) struct ExportCommand {
    /// Capabilities and limits of the component; limits apply per call.
    #[command(flatten)]
    pub caps: CapabilityFlags,

    /// Where to listen (port 0 picks a free port).
    #[arg(
        long,
        value_name = "tcp://IP:PORT",
        default_value = "tcp://127.0.0.1:7000"
    )]
    pub listen: String,

    /// Serve only this exported interface (`ns:pkg/iface`) or function;
    /// repeat for more. Default: every export.
    #[arg(long, value_name = "NAME")]
    pub expose: Vec<String>,

    /// Refuse callers that do not present the token in FILE (the pod's
    /// link names the same file with `token-file`).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// The most connections (TCP) or calls in flight (NATS) served at once;
    /// more callers are refused with an error until one finishes.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = at_least_one)]
    pub max_connections: usize,

    /// The most bytes of calls' parameters held at once, across every
    /// connection (`1GiB`, `256MiB`); a call that would pass it is refused
    /// with an error until others finish.
    #[arg(long = "max-buffered", value_name = "SIZE", default_value = "1GiB", value_parser = nanopod_host::limits::parse_size)]
    pub max_buffered: usize,

    /// Let one instance serve up to N calls in turn instead of making a
    /// fresh one per call: faster, but the calls it serves share its
    /// memory, so what one leaves there the next can see. A call that traps
    /// or runs out of time takes its instance with it; calls with
    /// `stream<u8>` values always get a fresh one.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = at_least_one)]
    pub reuse: usize,

    /// The component (.wasm) to serve.
    #[arg(value_name = "COMPONENT")]
    pub component: PathBuf,
}

impl ExportCommand {
    /// Runs the command.
    pub(crate) fn execute(self) -> Result<ExitCode> {
        refuse_vfs(&self.caps, "export")?;
        Transport::parse(&self.listen)?;
        let token = self.token_file.as_deref().map(read_token).transpose()?;
        let grants = self.caps.grants()?;
        let loaded = load(&Engines::pooled(), &super::local_file(&self.component)?)?;
        let component = loaded.component("export")?;
        let options = ExportOptions {
            expose: self.expose.clone(),
            token,
            max_connections: self.max_connections,
            max_buffered: self.max_buffered,
            reuse: self.reuse,
        };
        let name = loaded.origin.clone();
        let exporter = Exporter::new(&name, &loaded.engine, component, grants, options)?;
        let functions = exporter.describe().join(", ");
        let exporter = std::sync::Arc::new(exporter);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(exporter.run(
            &self.listen,
            |at| say!("nanopod: exporting `{name}` on {at} ({functions})"),
            super::shutdown_signal(&runtime),
        ))?;
        say!("nanopod: stopped");
        Ok(ExitCode::SUCCESS)
    }
}

/// A count of at least 1.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a whole number of at least 1")),
    }
}
