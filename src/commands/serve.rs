//! `nanopod serve`: a `wasi:http` component, or a pod's chain of
//! middlewares and app, behind a real HTTP/1.1 server.

use crate::flags::CapabilityFlags;
use crate::load::{engine_mode, load_bytes, read_wasm};
use crate::pod::PodFile;
use anyhow::Result;
use clap::Args;
use nanopod_host::cache::Compiled;
use nanopod_host::engine::EpochTicker;
use nanopod_host::linker::component_linker;
use nanopod_host::{EngineMode, Engines, Grants};
use nanopod_pod::serve::{Handler, serve};
use nanopod_remote::{RemoteImports, RemoteLink};
use nanopod_typed::UsageError;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Serve HTTP with a `wasi:http/incoming-handler` component (WASI 0.2), or
/// with a pod (`pod.toml`) whose `[serve] chain` puts middlewares in front
/// of an app. Every request gets a fresh instance. SIGINT or SIGTERM stops
/// accepting and lets requests in flight finish.
#[derive(Args, Debug)]
pub struct ServeCommand {
    /// Capabilities and limits of a single component (a pod's come from
    /// its manifest). `--max-memory` and `--timeout` apply per request.
    #[command(flatten)]
    pub caps: CapabilityFlags,

    /// The address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

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

/// One handler of the chain, before it is compiled.
struct Hop {
    name: String,
    bytes: Vec<u8>,
    grants: Grants,
    mode: EngineMode,
    remote: Vec<RemoteLink>,
}

impl ServeCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let hops = self.hops()?;
        let engines = Engines::pooled();
        let mut next = None;
        let mut tickers = Vec::new();
        for hop in hops.into_iter().rev() {
            let loaded = load_bytes(&engines, hop.bytes, hop.mode, &hop.name)?;
            let Compiled::Component(component) = &loaded.compiled else {
                return Err(UsageError::new(format!(
                    "`{}` is a core module; serve needs a component",
                    hop.name
                ))
                .into());
            };
            // One ticker per engine: two would advance its epoch twice as
            // fast and halve every timeout.
            if hop.grants.limits.timeout.is_some() && !tickers.iter().any(|(m, _)| *m == hop.mode) {
                tickers.push((hop.mode, EpochTicker::start(&loaded.engine)));
            }
            let mut linker = component_linker(&loaded.engine, hop.mode)?;
            RemoteImports::bind(&loaded.engine, component, &hop.remote)
                .map_err(UsageError::new)?
                .add_to_linker(&mut linker)?;
            let handler = Handler::new(&hop.name, &linker, component, hop.grants, next.take())
                .map_err(|e| UsageError::new(format!("{e:#}")))?;
            next = Some(Arc::new(handler));
        }
        let mut front = next.expect("a chain has at least one handler");
        if self.reuse > 1 {
            Arc::get_mut(&mut front)
                .expect("nothing else holds the front handler yet")
                .reuse_instances(self.reuse as usize)
                .map_err(|e| UsageError::new(format!("--reuse: {e}")))?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(self.listen)
                .await
                .map_err(|e| UsageError::new(format!("cannot listen on `{}`: {e}", self.listen)))?;
            eprintln!(
                "nanopod: serving `{}` on http://{}",
                self.target.display(),
                listener.local_addr()?
            );
            serve(listener, front, super::shutdown_signal()).await
        })?;
        drop(tickers);
        eprintln!("nanopod: stopped");
        Ok(ExitCode::SUCCESS)
    }

    /// The handlers, outermost first: the component alone, or each member
    /// of the pod's `[serve] chain` composed with what its links reach.
    fn hops(&self) -> Result<Vec<Hop>> {
        if self.target.extension().is_some_and(|e| e == "toml") {
            if self.caps.any() {
                return Err(UsageError::new(
                    "a pod's grants come from its manifest; give `--dir`, `--env`, … to components in `pod.toml`",
                )
                .into());
            }
            let pod = PodFile::read(&self.target)?;
            let chain = match &pod.manifest.serve {
                Some(s) if !s.chain.is_empty() => s.chain.clone(),
                _ => vec![pod.plan.entry.clone()],
            };
            return chain
                .into_iter()
                .map(|name| {
                    let composed = pod.compose(&name)?;
                    Ok(Hop {
                        name,
                        bytes: composed.bytes,
                        grants: composed.grants,
                        mode: composed.mode,
                        remote: composed.remote,
                    })
                })
                .collect();
        }
        if self.caps.vfs.is_some() {
            return Err(UsageError::new(
                "`--vfs` gives one run a private copy; `serve` runs many, so grant a directory with `--ro-dir` or `--dir`",
            )
            .into());
        }
        let bytes = read_wasm(&self.target)?;
        Ok(vec![Hop {
            name: self.target.display().to_string(),
            mode: engine_mode(&bytes),
            bytes,
            grants: self.caps.grants()?,
            remote: Vec::new(),
        }])
    }
}
