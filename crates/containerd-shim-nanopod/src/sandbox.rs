//! The sandbox runwasi calls inside a created container.

use crate::mounts;
use crate::workload::{Entry, Workload};
use anyhow::{Context, Result};
use containerd_shim_wasm::sandbox::Sandbox;
use containerd_shim_wasm::sandbox::context::{RuntimeContext, Source};

/// Runs a container's Wasm with nanopod's host.
#[derive(Default)]
pub(crate) struct NanopodSandbox;

impl Sandbox for NanopodSandbox {
    async fn run_wasi(&self, ctx: &impl RuntimeContext) -> Result<i32> {
        let workload = workload(ctx)?;
        // nanopod runs its own runtimes; runwasi's is driving this call.
        let code = std::thread::spawn(move || workload.run())
            .join()
            .unwrap_or(101);
        Ok(i32::from(code))
    }

    /// A Wasm artifact layer, a `.wasm` file, or a pod's `.toml`; anything
    /// else is not a container for nanopod.
    async fn can_handle(&self, ctx: &impl RuntimeContext) -> Result<()> {
        match ctx.entrypoint().source {
            Source::Oci(_) => Ok(()),
            Source::File(path) => {
                if path.extension().is_some_and(|e| e == "toml") {
                    anyhow::ensure!(path.is_file(), "no pod manifest `{}`", path.display());
                    return Ok(());
                }
                nanopod_host::binary::read_wasm(&path)?;
                Ok(())
            }
        }
    }
}

/// What `ctx` asks for, with the container's mounts.
fn workload(ctx: &impl RuntimeContext) -> Result<Workload> {
    let entrypoint = ctx.entrypoint();
    let entry = match entrypoint.source {
        Source::File(path) => Entry::File(path),
        Source::Oci([layer]) => Entry::Layer(layer.layer.clone()),
        Source::Oci(layers) => anyhow::bail!(
            "the image has {} Wasm layers; nanopod runs an image of one component (or a pod.toml in a filesystem image)",
            layers.len()
        ),
    };
    let mounts = mounts::current().context("cannot read the container's mounts")?;
    Workload::new(entry, ctx.args(), ctx.envs(), &entrypoint.func, mounts)
}
