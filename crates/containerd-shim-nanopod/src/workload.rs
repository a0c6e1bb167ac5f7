//! What a container asks for, and running it: a command (a `wasi:cli/run`
//! component, a preview1 module, or a component's typed function) as
//! `nanopod run` runs it, or an HTTP component or a pod served as `nanopod
//! serve` serves it.

use crate::mounts::Mount;
use anyhow::{Context, Result};
use nanopod_host::binary::{compile, read_wasm};
use nanopod_host::{DirGrant, EngineMode, Engines, Grants, Loaded, precompiled};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The container environment variable that names where a served
/// component or pod listens (`PORT` or `ADDR:PORT`).
pub(crate) const LISTEN_VARIABLE: &str = "NANOPOD_LISTEN";
/// Where a served component or pod listens without [`LISTEN_VARIABLE`].
pub(crate) const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// Environment variables with this prefix configure the shim; the guest
/// does not see them.
const SHIM_PREFIX: &str = "NANOPOD_";

/// Where the Wasm comes from.
#[derive(Debug)]
pub(crate) enum Entry {
    /// An image layer of Wasm artifact type (read from containerd's
    /// content store by runwasi): the binary, or nanopod's precompiled
    /// bundle of it.
    Layer(Vec<u8>),
    /// A file in the container's rootfs: a `.wasm`, or a pod's `.toml`.
    File(PathBuf),
}

/// A container's Wasm workload.
#[derive(Debug)]
pub(crate) struct Workload {
    entry: Entry,
    /// The container's first argument, naming the entry (`argv[0]`).
    name: PathBuf,
    /// The arguments after it (nanopod's own `--invoke F` first when the
    /// first argument ends in `#F`).
    args: Vec<String>,
    env: Vec<(String, String)>,
    mounts: Vec<Mount>,
    listen: SocketAddr,
}

impl Workload {
    /// The workload of a container whose process has `args` and `envs`
    /// (`NAME=value`), its Wasm from `entry`, a function named after `#`
    /// in its first argument (`func`, `_start` when none), and `mounts`.
    pub(crate) fn new(
        entry: Entry,
        args: &[String],
        envs: &[String],
        func: &str,
        mounts: Vec<Mount>,
    ) -> Result<Self> {
        let (first, rest) = args.split_first().context(
            "the container has no arguments: its first one names the .wasm file (or pod .toml) to run",
        )?;
        let name = PathBuf::from(
            first
                .split_once('#')
                .map_or(first.as_str(), |(path, _)| path),
        );
        let mut own_args = Vec::new();
        if func != "_start" {
            own_args.extend(["--invoke".to_string(), func.to_string()]);
        }
        own_args.extend(rest.iter().cloned());
        let env: Vec<(String, String)> = envs
            .iter()
            .filter_map(|e| e.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let listen = env
            .iter()
            .find(|(k, _)| k == LISTEN_VARIABLE)
            .map_or(DEFAULT_LISTEN, |(_, v)| v.as_str());
        let listen = parse_listen(listen)?;
        Ok(Workload {
            entry,
            name,
            args: own_args,
            env: env
                .into_iter()
                .filter(|(k, _)| !k.starts_with(SHIM_PREFIX))
                .collect(),
            mounts,
            listen,
        })
    }

    /// The grants of the container: its environment and its mounted
    /// directories, nothing else.
    fn grants(&self) -> Result<Grants> {
        let mut grants = Grants::new();
        for (k, v) in &self.env {
            grants.env(k, v);
        }
        for mount in &self.mounts {
            grants.dir(DirGrant {
                host: mount.path.clone(),
                guest: mount.path.display().to_string(),
                read_only: mount.read_only,
            })?;
        }
        Ok(grants)
    }

    /// Runs the workload to its end (a served one: until SIGTERM) and
    /// returns the container's exit code; errors are printed to its
    /// stderr.
    pub(crate) fn run(self) -> u8 {
        self.start()
            .unwrap_or_else(|err| nanopod::embed::report(&err))
    }

    fn start(self) -> Result<u8> {
        let display = self.name.display().to_string();
        if let Entry::File(path) = &self.entry
            && path.extension().is_some_and(|e| e == "toml")
        {
            let server = nanopod::embed::pod_server(path)?;
            return Ok(nanopod::embed::serve(server, self.listen, &display));
        }
        let bytes = match &self.entry {
            Entry::Layer(bytes) => bytes.clone(),
            Entry::File(path) => read_wasm(path)?,
        };
        let binary = if precompiled::is_bundle(&bytes) {
            precompiled::binary(&bytes, &display)?
        } else {
            &bytes
        };
        let serves_http = nanopod_serve::serves_http(binary);
        // Serving instantiates per request: pooled engines. Code compiled
        // for either loads on both.
        let engines = if serves_http {
            Engines::pooled()
        } else {
            Engines::default()
        };
        let loaded = load(&engines, bytes, &display)?;
        let grants = self.grants()?;
        if serves_http {
            let server = nanopod_serve::Server::from_loaded(loaded, grants)?;
            return Ok(nanopod::embed::serve(server, self.listen, &display));
        }
        exit_on_termination();
        Ok(nanopod::embed::run(&loaded, &self.name, &self.args, grants))
    }
}

fn load(engines: &Engines, bytes: Vec<u8>, origin: &str) -> Result<Loaded> {
    if precompiled::is_bundle(&bytes) {
        return Ok(precompiled::load(engines, &bytes, origin)?);
    }
    let is_wasm =
        wasmparser::Parser::is_component(&bytes) || wasmparser::Parser::is_core_wasm(&bytes);
    anyhow::ensure!(
        is_wasm,
        "`{origin}` is not a WebAssembly component or module"
    );
    let mode = EngineMode::needed_by(&bytes);
    Ok(compile(engines, bytes, mode, origin)?)
}

/// `PORT` (on every address) or `ADDR:PORT`.
fn parse_listen(text: &str) -> Result<SocketAddr> {
    let with_address = match text.parse::<u16>() {
        Ok(port) => format!("0.0.0.0:{port}"),
        Err(_) => text.to_string(),
    };
    with_address.parse().with_context(|| {
        format!("{LISTEN_VARIABLE}=`{text}` is not a port or an address like 0.0.0.0:8080")
    })
}

/// A command's container is the init of its PID namespace, which the
/// kernel shields from signals it has no handler for: without this,
/// `ctr task kill` (SIGTERM) would not stop a command. It exits 143, as a
/// process killed by SIGTERM reports itself.
fn exit_on_termination() {
    std::thread::spawn(|| {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            std::process::exit(143);
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn args_env_and_the_function_after_a_hash() {
        let w = Workload::new(
            Entry::File("/app.wasm".into()),
            &words(&["/app.wasm#greet", "Ada", "--loud"]),
            &words(&[
                "PATH=/bin",
                "GREETING=hi=there",
                "NANOPOD_LISTEN=9000",
                "NOVALUE",
            ]),
            "greet",
            Vec::new(),
        )
        .unwrap();
        assert_eq!(w.name, PathBuf::from("/app.wasm"));
        assert_eq!(w.args, words(&["--invoke", "greet", "Ada", "--loud"]));
        assert_eq!(
            w.env,
            [
                ("PATH".into(), "/bin".into()),
                ("GREETING".into(), "hi=there".into())
            ]
        );
        assert_eq!(w.listen, "0.0.0.0:9000".parse().unwrap());
    }

    #[test]
    fn a_command_keeps_its_own_words_and_listens_by_default() {
        let w = Workload::new(
            Entry::File("app.wasm".into()),
            &words(&["app.wasm", "--help"]),
            &[],
            "_start",
            Vec::new(),
        )
        .unwrap();
        assert_eq!(w.args, words(&["--help"]));
        assert_eq!(w.listen, DEFAULT_LISTEN.parse().unwrap());
    }

    #[test]
    fn bad_settings_are_named() {
        let none = Workload::new(Entry::File("a".into()), &[], &[], "_start", Vec::new());
        assert!(format!("{:#}", none.unwrap_err()).contains("no arguments"));
        let bad = Workload::new(
            Entry::File("a".into()),
            &words(&["a.wasm"]),
            &words(&["NANOPOD_LISTEN=everywhere"]),
            "_start",
            Vec::new(),
        );
        assert!(format!("{:#}", bad.unwrap_err()).contains("NANOPOD_LISTEN=`everywhere`"));
        assert_eq!(parse_listen("127.0.0.1:81").unwrap().port(), 81);
    }
}
