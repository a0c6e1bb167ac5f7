//! `nanopod up`: run a pod — its entry component called as `nanopod run`
//! would call it, with the rest of the pod linked in.

use super::run::{Target, call_target};
use crate::flags::WitFlag;
use crate::load::{argv0, load_bytes};
use crate::pod::PodFile;
use anyhow::Result;
use clap::Args;
use nanopod_host::cache::Compiled;
use nanopod_host::{EngineMode, Engines};
use nanopod_remote::RemoteImports;
use nanopod_typed::UsageError;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run a pod: the entry component of POD (a `pod.toml`) is called exactly
/// as `nanopod run` calls a component (typed arguments, `--invoke`, `-o`,
/// `--help`, exit codes), with its imports served by the other components.
/// Each component gets only the grants its own table names.
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
        let pod_path = PathBuf::from(pod_path);
        let pod_file = PodFile::read(&pod_path)?;
        let mut pod = pod_file.compose(&pod_file.plan.entry)?;
        let engines = Engines::default();
        let loaded = load_bytes(
            &engines,
            pod.bytes,
            pod.mode,
            &pod_path.display().to_string(),
        )?;
        tracing::info!(
            "pod `{}` runs on the {} engine{}",
            pod_path.display(),
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
        let remote = RemoteImports::bind(&loaded.engine, component, &pod.remote)
            .map_err(|e| UsageError::new(format!("`{}`: {e}", pod_file.display())))?;
        for (import, url) in remote.describe() {
            tracing::info!("`{import}` is served remotely by {url}");
        }
        let docs = self.wit.docs()?;
        let target = Target {
            loaded: &loaded,
            component,
            wit_bytes: &pod.root_bytes,
            docs,
            display: pod_file.display(),
            argv0: argv0(&pod.root_file),
            default_invoke: pod_file.manifest.invoke.clone(),
            remote: Some(&remote),
        };
        let code = call_target(target, args, &mut pod.grants)?;
        Ok(ExitCode::from(code))
    }
}
