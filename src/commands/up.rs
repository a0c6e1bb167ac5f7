//! `nanopod up`: run a pod — its entry component called as `nanopod run`
//! would call it, with the rest of the pod linked in; or, for a pipeline
//! (`[[step]]` tables), each step in turn over a shared in-memory
//! filesystem.

use crate::call::{OwnWords, Target, call_target, os_words};
use crate::flags::{CapabilityFlags, WitFlag};
use anyhow::Result;
use clap::Args;
use nanopod_host::Engines;
use nanopod_host::binary::argv0;
use nanopod_host::vfs::VirtualDir;
use nanopod_pod::{ComposedPod, Pod};
use nanopod_wit_docs::DocIndex;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run a pod: the entry component of POD (a `pod.toml`) is called exactly
/// as `nanopod run` calls a component (typed arguments, `--invoke`, `-o`,
/// `--help`, exit codes), with its imports served by the other components.
/// Each component gets only the grants its own table names. A pod with
/// `[[step]]` tables is a pipeline: its steps run in order, sharing an
/// in-memory filesystem, and ARGS go to the last step.
#[derive(Args, Debug)]
pub(crate) struct UpCommand {
    /// Write the digests the pod's `oci://` components resolved to into
    /// `pod.lock` beside the manifest; later runs use them while the
    /// manifest names the same references.
    #[arg(long)]
    pub lock: bool,

    /// Doc comments from WIT sources.
    #[command(flatten)]
    pub wit: WitFlag,

    /// The pod manifest, then the entry function's arguments (and
    /// `--invoke F`, `-o FILE`, `--help`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "POD [ARGS]"
    )]
    pub words: Vec<String>,
}

impl UpCommand {
    /// Runs the command.
    pub(crate) fn execute(self) -> Result<ExitCode> {
        let (pod_path, args) = self.words.split_first().expect("clap requires POD");
        let pod = Pod::<CapabilityFlags>::open(&PathBuf::from(pod_path))?;
        if self.lock {
            let lock = pod.write_lock()?;
            say!(
                "nanopod: pinned the pod's registry components in {}",
                lock.display()
            );
        }
        let engines = Engines::default();
        let mut docs = self.wit.docs()?;
        // Checked before any step runs: a mistake in nanopod's own words
        // must not run half a pipeline.
        let own = OwnWords::split(&os_words(args))?;
        let Some(pipeline) = pod.pipeline(args, own.help)? else {
            let composed = pod.compose(&pod.plan.entry)?;
            let invoke = pod.manifest.invoke.clone();
            let code = call_pod(&engines, composed, own, invoke, None, docs)?;
            return Ok(ExitCode::from(code));
        };
        for step in pipeline.steps() {
            tracing::info!("step {} of {}: `{}`", step.number, step.of, step.component);
            let words = OwnWords::split(&os_words(&step.words))?;
            let step_docs = if step.is_last() { docs.take() } else { None };
            let composed = step.compose(&pod)?;
            let code = call_pod(
                &engines,
                composed,
                words,
                None,
                Some(&step.scratch),
                step_docs,
            )?;
            if let Some(failure) = step.failure(code) {
                say!("error: {failure}");
            }
            if code != 0 {
                return Ok(ExitCode::from(code));
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Compiles a composed pod and calls it with `words`; returns the exit
/// code.
fn call_pod(
    engines: &Engines,
    composed: ComposedPod,
    words: OwnWords,
    default_invoke: Option<String>,
    scratch: Option<&VirtualDir>,
    docs: Option<DocIndex>,
) -> Result<u8> {
    let mut pod = composed.load(engines)?;
    let mode = pod.loaded.engine.mode();
    tracing::info!(
        "`{}` runs on the {} engine{}",
        pod.info.root,
        mode.name(),
        if mode == nanopod_host::EngineMode::Sync {
            " (no component uses async or streams, so concurrency support is off)"
        } else {
            ""
        }
    );
    for (link, functions) in &pod.info.byte_lists {
        tracing::info!("link {link}: {}", nanopod_pod::byte_list_hint(functions));
    }
    let component = pod.loaded.component("up")?;
    let target = Target {
        loaded: &pod.loaded,
        component,
        wit_bytes: &pod.info.root_bytes,
        docs,
        command: "up",
        display: pod.info.origin.clone(),
        argv0: argv0(&pod.info.root_file),
        default_invoke,
        remote: Some(&pod.remote),
        views: Some(&pod.info.views),
        inputs: scratch,
    };
    call_target(target, words, &mut pod.info.grants)
}
