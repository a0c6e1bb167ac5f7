//! The subcommands; one file each. The root enum only dispatches.

mod compile;
mod embed_docs;
mod export;
mod inspect;
mod pull;
mod push;
pub(crate) mod run;
pub(crate) mod serve;
mod snapshot;
mod up;
mod virtualize;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Run WebAssembly components as typed functions, with capabilities denied
/// by default.
#[derive(Parser, Debug)]
#[command(name = "nanopod", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Log more (-v: debug logs, the wasm backtrace of traps; -vv: all).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Take `oci://` components from the local cache only; never reach a
    /// registry (also `NANOPOD_OFFLINE=1`).
    #[arg(long, global = true)]
    pub offline: bool,

    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// nanopod's subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Call a component's exported function, or run a WASI command.
    Run(run::RunCommand),
    /// Show what a component imports (as capabilities) and exports.
    Inspect(inspect::InspectCommand),
    /// Compile a component ahead of time into the cache.
    Compile(compile::CompileCommand),
    /// Embed WIT doc comments into a component.
    EmbedDocs(embed_docs::EmbedDocsCommand),
    /// Pre-initialize a component at build time (Wizer-style snapshot).
    Snapshot(snapshot::SnapshotCommand),
    /// Embed files and environment variables in a component, which then
    /// imports no filesystem.
    Virtualize(virtualize::VirtualizeCommand),
    /// Run a pod: an app and its sidecars linked by typed calls.
    Up(up::UpCommand),
    /// Serve HTTP with a wasi:http component or a pod of middlewares.
    Serve(serve::ServeCommand),
    /// Serve a component's functions to remote callers (wRPC over TCP).
    Export(export::ExportCommand),
    /// Push a component to an OCI registry.
    Push(push::PushCommand),
    /// Pull a component from an OCI registry into the local cache.
    Pull(pull::PullCommand),
}

impl Command {
    /// Runs the subcommand, returning the process exit code.
    pub(crate) fn execute(self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Run(c) => c.execute(),
            Command::Inspect(c) => c.execute(),
            Command::Compile(c) => c.execute(),
            Command::EmbedDocs(c) => c.execute(),
            Command::Snapshot(c) => c.execute(),
            Command::Virtualize(c) => c.execute(),
            Command::Up(c) => c.execute(),
            Command::Serve(c) => c.execute(),
            Command::Export(c) => c.execute(),
            Command::Push(c) => c.execute(),
            Command::Pull(c) => c.execute(),
        }
    }
}

/// The local file of a component named on the command line: a path as
/// it is, an `oci://` reference pulled into (or found in) the cache.
pub(crate) fn local_file(location: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    match location.to_str() {
        Some(text) if nanopod_oci::is_oci(text) => Ok(nanopod_oci::resolve(text)?),
        _ => Ok(location.to_path_buf()),
    }
}

/// Listens for SIGTERM and SIGINT from now on (a signal sent as soon as
/// the address is printed is not lost), and returns what completes at the
/// first of them.
pub(crate) fn shutdown_signal(
    runtime: &tokio::runtime::Runtime,
) -> impl Future<Output = ()> + use<> {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    let _entered = runtime.enter();
    let term = signal(SignalKind::terminate()).ok();
    let interrupt = signal(SignalKind::interrupt()).ok();
    async fn until(signal: Option<Signal>) {
        match signal {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    async move {
        tokio::select! {
            () = until(term) => {}
            () = until(interrupt) => {}
        }
        say!("nanopod: shutting down, finishing work in flight");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    /// The capability table names flags and `pod.toml` keys in its
    /// messages; they must be the ones the CLI and manifests take.
    #[test]
    fn the_capability_table_names_the_flags_and_keys_nanopod_takes() {
        use nanopod_host::Capability;
        let cli = Cli::command();
        let run = cli.find_subcommand("run").expect("a run subcommand");
        for capability in Capability::ALL {
            let spec = capability.spec();
            for flag in spec.flags {
                let long = flag.trim_start_matches("--");
                assert!(
                    run.get_arguments().any(|a| a.get_long() == Some(long)),
                    "`{flag}` of {} is not a flag of `nanopod run`",
                    spec.name
                );
            }
            // A key of the `grants` table (a list or a switch), or of the
            // component itself (`variables`).
            for key in spec.manifest_keys {
                let grant = |value: &str| {
                    toml::from_str::<crate::flags::CapabilityFlags>(&format!("{key} = {value}"))
                        .is_ok()
                };
                let component = toml::from_str::<
                    nanopod_pod::manifest::ComponentSpec<crate::flags::CapabilityFlags>,
                >(&format!("file = \"x.wasm\"\n{key} = {{}}"))
                .is_ok();
                assert!(
                    grant("[]") || grant("true") || component,
                    "`{key}` of {} is not a pod.toml key",
                    spec.name
                );
            }
        }
    }
}
