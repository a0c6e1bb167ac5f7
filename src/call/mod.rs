//! The call layer every command that runs a component shares: how a
//! component is picked and called from words ([`Target`], [`call_target`],
//! [`words`]), one call ([`invoke`]), and the refusals several commands
//! make alike.

mod invoke;
mod words;

pub(crate) use invoke::run_module;
pub(crate) use words::{OwnWords, os_words, utf8_command_word};

use crate::error::{UsageError, exit_as_code};
use crate::flags::CapabilityFlags;
use anyhow::Result;
use invoke::{Call, call_component};
use nanopod_host::vfs::VirtualDir;
use nanopod_host::{Deadline, Grants, Loaded, Views};
use nanopod_remote::RemoteImports;
use nanopod_typed::{Exports, help, raw};
use nanopod_wit_docs::DocIndex;
use std::path::Path;
use wasmtime::component::Component;

/// A component ready to be called: read from a file by `run`, or composed
/// from a pod by `up`.
pub(crate) struct Target<'a> {
    /// The engine and compiled code.
    pub(crate) loaded: &'a Loaded,
    /// The compiled component.
    pub(crate) component: &'a Component,
    /// The binary whose WIT and docs describe the exports (for a pod, the
    /// entry component's own binary).
    pub(crate) wit_bytes: &'a [u8],
    /// Docs given with `--wit`, which win over embedded ones.
    pub(crate) docs: Option<DocIndex>,
    /// The subcommand that calls it, for help texts: `run` or `up`.
    pub(crate) command: &'static str,
    /// How help texts name it.
    pub(crate) display: String,
    /// `argv[0]` for a command.
    pub(crate) argv0: String,
    /// The function to call when `--invoke` is not given.
    pub(crate) default_invoke: Option<String>,
    /// Imports served by exporters on other hosts.
    pub(crate) remote: Option<&'a RemoteImports>,
    /// The views through which a pod's components reach their own grants.
    pub(crate) views: Option<&'a Views>,
    /// Where input paths are opened (a pipeline's in-memory filesystem);
    /// the host's filesystem when `None`.
    pub(crate) inputs: Option<&'a VirtualDir>,
}

/// Calls the function that `words` (after COMPONENT) pick, with those
/// arguments, or prints help; returns the exit code.
pub(crate) fn call_target(target: Target<'_>, words: OwnWords, grants: &mut Grants) -> Result<u8> {
    let mut own = words;
    if own.invoke.is_none() && !own.help {
        own.invoke = target.default_invoke;
    }
    let engine = &target.loaded.engine;
    let exports = Exports::read(engine, target.component, target.wit_bytes, target.docs)?;
    let function = match &own.invoke {
        Some(name) => exports.find(name)?,
        None if own.help => {
            print!(
                "{}",
                help::overview(target.command, &target.display, &exports)
            );
            return Ok(0);
        }
        None => exports.default_function()?,
    };
    if own.help {
        print!(
            "{}",
            help::function(target.command, &target.display, function)
        );
        return Ok(0);
    }
    let typed_args = if function.is_cli_run() {
        // A command's `-o FILE` is its own (nanopod's `-o` is for a typed
        // function's result): it stays in argv, and stdout is the command's.
        grants.args(own.argv(&target.argv0)?).inherit_stdin();
        own.output = None;
        Vec::new()
    } else {
        if own.repeated_output {
            return Err(UsageError::new("`-o` is given twice: name one output file").into());
        }
        nanopod_typed::bind::bind(function, &raw::split(&own.rest))?
    };
    let deadline = Deadline::after(grants.limits.timeout);
    let call = Call {
        engine,
        component: target.component,
        function,
        args: typed_args,
        output: own.output.as_deref(),
        remote: target.remote,
        views: target.views,
        inputs: target.inputs,
    };
    let run = async move {
        // Opened on the runtime the guest runs on, which keeps a NATS
        // store's connection.
        grants
            .open_keyvalue_stores()
            .await
            .map_err(anyhow::Error::msg)?;
        call_component(call, grants, deadline).await
    };
    block_on(deadline.bound(run)).or_else(exit_as_code)
}

/// Whether `path` names a pod manifest rather than a component.
pub(crate) fn is_pod(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "toml")
}

/// Refuses `--vfs` for a command that runs many calls (`serve`, `export`).
pub(crate) fn refuse_vfs(caps: &CapabilityFlags, command: &str) -> Result<(), UsageError> {
    if caps.vfs.is_some() {
        return Err(UsageError::new(format!(
            "`--vfs` gives one run a private copy; `{command}` runs many, so grant a directory with `--ro-dir` or `--dir`"
        )));
    }
    Ok(())
}

/// Runs `fut` on a current-thread runtime (a single guest runs on one
/// thread anyway; blocking stdin reads go to tokio's blocking pool). The
/// runtime is shut down without waiting for those reads, so a run that
/// ended while stdin was still open exits at once.
pub(crate) fn block_on<T>(fut: impl Future<Output = Result<T>>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(fut);
    runtime.shutdown_background();
    result
}
