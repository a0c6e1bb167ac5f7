//! `nanopod up`: run a pod — its entry component called as `nanopod run`
//! would call it, with the rest of the pod linked in.

use super::run::{Target, call_target};
use crate::flags::{CapabilityFlags, WitFlag};
use crate::load::{argv0, engine_mode, load_bytes, read_wasm};
use anyhow::{Context, Result};
use clap::Args;
use nanopod_host::cache::Compiled;
use nanopod_host::{EngineMode, Engines, Grants};
use nanopod_pod::compose::{Member, compose};
use nanopod_pod::manifest::Manifest;
use nanopod_pod::plan::plan;
use nanopod_pod::share::share;
use nanopod_typed::UsageError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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

/// A pod read from its manifest and composed into one component.
pub struct ComposedPod {
    /// The composed component.
    pub bytes: Vec<u8>,
    /// The entry component's own binary (its WIT and docs).
    pub entry_bytes: Vec<u8>,
    /// The entry component's file, for `argv[0]`.
    pub entry_file: PathBuf,
    /// The pod's one WASI context.
    pub grants: Grants,
    /// The manifest's `invoke`.
    pub invoke: Option<String>,
    /// The engine the pod needs: concurrent if any component uses async
    /// functions, streams or WASI 0.3.
    pub mode: EngineMode,
}

/// Reads `pod.toml` at `path`, checks it, and composes the pod.
pub fn compose_pod(path: &Path) -> Result<ComposedPod> {
    let usage = |e: anyhow::Error| anyhow::Error::from(UsageError::new(format!("{e:#}")));
    let manifest = Manifest::<CapabilityFlags>::read(path).map_err(usage)?;
    let plan =
        plan(&manifest).map_err(|e| UsageError::new(format!("`{}`: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));

    let mut binaries = BTreeMap::new();
    let mut grants = BTreeMap::new();
    for (name, spec) in &manifest.components {
        let file = base.join(&spec.file);
        let bytes =
            read_wasm(&file).map_err(|e| UsageError::new(format!("component `{name}`: {e:#}")))?;
        if !wasmparser::Parser::is_component(&bytes) {
            return Err(UsageError::new(format!(
                "component `{name}`: `{}` is a core module; pods link components",
                file.display()
            ))
            .into());
        }
        if name != &plan.entry
            && (spec.grants.max_memory.is_some() || spec.grants.timeout.is_some())
        {
            return Err(UsageError::new(format!(
                "component `{name}`: `max-memory` and `timeout` bound the whole pod; set them on the entry component `{}`",
                plan.entry
            ))
            .into());
        }
        let g = spec
            .grants
            .clone()
            .relative_to(base)
            .grants()
            .with_context(|| format!("component `{name}`"))
            .map_err(usage)?;
        binaries.insert(name.clone(), (file, bytes));
        grants.insert(name.clone(), g);
    }
    let shared = share(grants.iter().map(|(n, g)| (n.as_str(), g)))
        .map_err(|e| UsageError::new(format!("`{}`: {e}", path.display())))?;
    let members: Vec<Member<'_>> = binaries
        .iter()
        .map(|(name, (_, bytes))| Member {
            name,
            bytes,
            granted: shared.granted[name].clone(),
        })
        .collect();
    let composition = if plan.order.len() == 1 {
        None
    } else {
        Some(
            compose(&members, &manifest.links, &plan, &shared.capabilities)
                .map_err(|e| UsageError::new(format!("`{}`: {e}", path.display())))?,
        )
    };
    for (component, import) in composition.iter().flat_map(|c| &c.denied) {
        tracing::debug!("`{component}` was not granted `{import}`: wired to a deny adapter");
    }
    let mode = if binaries
        .values()
        .any(|(_, b)| engine_mode(b) == EngineMode::Concurrent)
    {
        EngineMode::Concurrent
    } else {
        EngineMode::Sync
    };
    let (entry_file, entry_bytes) = binaries
        .remove(&plan.entry)
        .expect("the plan's entry exists");
    let mut pod_grants = shared.grants;
    pod_grants.limits = grants[&plan.entry].limits;
    Ok(ComposedPod {
        bytes: composition.map_or_else(|| entry_bytes.clone(), |c| c.bytes),
        entry_bytes,
        entry_file,
        grants: pod_grants,
        invoke: manifest.invoke.clone(),
        mode,
    })
}

impl UpCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let (pod_path, args) = self.words.split_first().expect("clap requires POD");
        let pod_path = PathBuf::from(pod_path);
        let mut pod = compose_pod(&pod_path)?;
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
        let docs = self.wit.docs()?;
        let target = Target {
            loaded: &loaded,
            component,
            wit_bytes: &pod.entry_bytes,
            docs,
            display: pod_path.display().to_string(),
            argv0: argv0(&pod.entry_file),
            default_invoke: pod.invoke.take(),
        };
        let code = call_target(target, args, &mut pod.grants)?;
        Ok(ExitCode::from(code))
    }
}
