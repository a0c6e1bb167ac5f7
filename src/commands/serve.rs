//! `nanopod serve`: a `wasi:http` component, or a pod's chain of
//! middlewares and app, behind a real HTTP/1.1 server.

use crate::call::{is_pod, refuse_vfs};
use crate::error::UsageError;
use crate::flags::CapabilityFlags;
use anyhow::Result;
use clap::Args;
use nanopod_pod::Pod;
use nanopod_serve::Server;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Serve HTTP with a `wasi:http` component, or with a pod (`pod.toml`)
/// whose `[serve] chain` puts filters and middlewares in front of an app:
/// proxy-wasm filters (Envoy's ABI, unchanged binaries) and synchronous
/// component filters (`nanopod:http/filter`) are calls into long-lived
/// instances; `wasi:http` middlewares and the app get a fresh instance per
/// request (or `reuse = N`). SIGINT or SIGTERM stops accepting and lets
/// requests in flight finish.
#[derive(Args, Debug)]
pub(crate) struct ServeCommand {
    /// Capabilities and limits of a single component (a pod's come from
    /// its manifest). `--max-memory` and `--timeout` apply per request.
    #[command(flatten)]
    pub caps: CapabilityFlags,

    /// The largest request body (`16MiB`, `512KiB`): a larger
    /// `Content-Length` is answered 413 before any component runs, and a
    /// streamed body is cut and answered 413 when it passes it. Bodies are
    /// streamed to the chain, never buffered by nanopod; a body that stalls
    /// for 20 s, or averages under 500 bytes/s after its first 20 s, is cut
    /// and answered 408.
    #[arg(long = "max-body", value_name = "SIZE", default_value = "16MiB", value_parser = nanopod_host::limits::parse_size)]
    pub max_body: usize,

    /// Connections served at once; one more is answered 503 and closed.
    #[arg(long = "max-connections", value_name = "N", default_value_t = nanopod_serve::DEFAULT_MAX_CONNECTIONS as u32, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// The address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Also serve the filters' metrics (and each proxy-wasm VM's memory) at
    /// `http://ADDR/metrics`, in the Prometheus text format.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,

    /// WASI 0.3 handlers only: let one instance handle up to N requests,
    /// one after another (kept 1 s while idle), instead of a fresh instance
    /// per request. Faster, but requests handled by one instance share its
    /// memory: what one leaves there, the next can see.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub reuse: u32,

    /// The component (.wasm) or pod manifest (.toml) to serve.
    #[arg(value_name = "COMPONENT|POD")]
    pub target: PathBuf,
}

impl ServeCommand {
    /// Runs the command.
    pub(crate) fn execute(self) -> Result<ExitCode> {
        let mut server = if is_pod(&self.target) {
            if self.caps.any() {
                return Err(UsageError::new(
                    "a pod's grants come from its manifest; give `--dir`, `--env`, … to components in `pod.toml`",
                )
                .into());
            }
            pod_server(&self.target)?
        } else {
            refuse_vfs(&self.caps, "serve")?;
            Server::from_component(&super::local_file(&self.target)?, self.caps.grants()?)?
        };
        server.set_limits(nanopod_serve::ServeLimits {
            max_body: self.max_body as u64,
            max_connections: self.max_connections as usize,
        });
        if self.reuse > 1 {
            server.reuse_instances(self.reuse as usize)?;
        }
        serve_until_signal(
            server,
            self.listen,
            self.metrics,
            &self.target.display().to_string(),
        )?;
        Ok(ExitCode::SUCCESS)
    }
}

/// The server of the pod whose manifest is `path`: its `[serve] chain`,
/// each member granted what the manifest grants it.
pub(crate) fn pod_server(path: &Path) -> Result<Server> {
    Ok(Server::from_pod(&Pod::<CapabilityFlags>::open(path)?)?)
}

/// Serves `server` on `listen` (and its metrics on `metrics`) until SIGTERM
/// or SIGINT, then lets requests in flight finish; says where it serves
/// `target`, and when it stopped.
pub(crate) fn serve_until_signal(
    server: Server,
    listen: SocketAddr,
    metrics: Option<SocketAddr>,
    target: &str,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(server.serve(
        listen,
        metrics,
        |at, metrics| {
            say!("nanopod: serving `{target}` on http://{at}");
            if let Some(m) = metrics {
                say!("nanopod: metrics on http://{m}/metrics");
            }
        },
        super::shutdown_signal(&runtime),
    ))?;
    say!("nanopod: stopped");
    Ok(())
}
