//! `nanopod up`: run a pod — its entry component called as `nanopod run`
//! would call it, with the rest of the pod linked in; or, for a pipeline
//! (`[[step]]` tables), each step in turn over a shared in-memory
//! filesystem.

use super::run::{Target, call_target};
use crate::flags::WitFlag;
use crate::load::{argv0, load_bytes};
use crate::pod::{PodFile, byte_list_hint};
use anyhow::Result;
use clap::Args;
use nanopod_host::cache::Compiled;
use nanopod_host::vfs::VirtualDir;
use nanopod_host::{EngineMode, Engines};
use nanopod_remote::RemoteImports;
use nanopod_typed::UsageError;
use nanopod_wit_docs::DocIndex;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Where a pipeline's in-memory filesystem is mounted when `scratch` is not
/// set.
const DEFAULT_SCRATCH: &str = "/out";

/// Run a pod: the entry component of POD (a `pod.toml`) is called exactly
/// as `nanopod run` calls a component (typed arguments, `--invoke`, `-o`,
/// `--help`, exit codes), with its imports served by the other components.
/// Each component gets only the grants its own table names. A pod with
/// `[[step]]` tables is a pipeline: its steps run in order, sharing an
/// in-memory filesystem, and ARGS go to the last step.
#[derive(Args, Debug)]
pub struct UpCommand {
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
    pub fn execute(self) -> Result<ExitCode> {
        let (pod_path, args) = self.words.split_first().expect("clap requires POD");
        let pod_file = PodFile::read(&PathBuf::from(pod_path))?;
        let engines = Engines::default();
        let mut docs = self.wit.docs()?;
        let steps = &pod_file.manifest.steps;
        if steps.is_empty() {
            let entry = Member {
                name: &pod_file.plan.entry,
                default_invoke: pod_file.manifest.invoke.clone(),
                scratch: None,
            };
            return Ok(ExitCode::from(run_member(
                &engines, &pod_file, entry, args, docs,
            )?));
        }
        let mount = pod_file
            .manifest
            .scratch
            .as_deref()
            .unwrap_or(DEFAULT_SCRATCH);
        let scratch = Arc::new(VirtualDir::empty(mount)?);
        // `--help` describes the last step; nothing runs.
        let asks_help = args.iter().any(|a| a == "--help" || a == "-h");
        let first = if asks_help { steps.len() - 1 } else { 0 };
        for (i, step) in steps.iter().enumerate().skip(first) {
            let last = i + 1 == steps.len();
            let mut words = step.args.clone();
            if last {
                words.extend(args.iter().cloned());
            }
            tracing::info!("step {} of {}: `{}`", i + 1, steps.len(), step.component);
            let member = Member {
                name: &step.component,
                default_invoke: None,
                scratch: Some(&scratch),
            };
            let step_docs = if last { docs.take() } else { None };
            let code = run_member(&engines, &pod_file, member, &words, step_docs)?;
            if code != 0 {
                if !last {
                    eprintln!(
                        "error: step {} (`{}`) failed; the pipeline stops here",
                        i + 1,
                        step.component
                    );
                }
                return Ok(ExitCode::from(code));
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The component of a pod to call, and how.
struct Member<'a> {
    name: &'a str,
    default_invoke: Option<String>,
    /// A pipeline's in-memory filesystem: granted to the member, and where
    /// its input paths are opened.
    scratch: Option<&'a Arc<VirtualDir>>,
}

/// Composes `member` with what its links reach and calls it with `args`;
/// returns the exit code.
fn run_member(
    engines: &Engines,
    pod_file: &PodFile,
    member: Member<'_>,
    args: &[String],
    docs: Option<DocIndex>,
) -> Result<u8> {
    let composed = pod_file.compose(member.name)?;
    let mut grants = composed.grants;
    if let Some(scratch) = member.scratch {
        grants.virtual_dir(scratch.clone());
    }
    let loaded = load_bytes(engines, composed.bytes, composed.mode, &pod_file.display())?;
    tracing::info!(
        "`{}` runs on the {} engine{}",
        member.name,
        loaded.mode.name(),
        if loaded.mode == EngineMode::Sync {
            " (no component uses async or streams, so concurrency support is off)"
        } else {
            ""
        }
    );
    let Compiled::Component(component) = &loaded.compiled else {
        unreachable!("a composed pod is a component");
    };
    let remote = RemoteImports::bind(&loaded.engine, component, &composed.remote)
        .map_err(|e| UsageError::new(format!("`{}`: {e}", pod_file.display())))?;
    for (import, url) in remote.describe() {
        tracing::info!("`{import}` is served remotely by {url}");
    }
    for (link, functions) in &composed.byte_lists {
        tracing::info!("link {link}: {}", byte_list_hint(functions));
    }
    let target = Target {
        loaded: &loaded,
        component,
        wit_bytes: &composed.root_bytes,
        docs,
        command: "up",
        display: pod_file.display(),
        argv0: argv0(&composed.root_file),
        default_invoke: member.default_invoke,
        remote: Some(&remote),
        inputs: member.scratch.map(|s| &**s),
    };
    call_target(target, args, &mut grants)
}
