//! `containerd-shim-nanopod-v1`: the containerd shim (runtime
//! `io.containerd.nanopod.v1`) that runs Wasm images with nanopod's host,
//! built on runwasi's `containerd-shim-wasm`.
//!
//! runwasi creates the container (namespaces, cgroups, rootfs, through
//! youki's libcontainer) and calls [`sandbox::NanopodSandbox`] inside it;
//! what the container's spec says becomes a [`workload::Workload`]: a
//! command run as `nanopod run` runs it, or an HTTP component or pod served
//! as `nanopod serve` serves it. Images whose layers are Wasm artifacts get
//! their code precompiled once into containerd's content store
//! ([`compiler`]). docs/kubernetes.md has the user's side.

mod compiler;
mod mounts;
mod sandbox;
mod workload;

use containerd_shim_wasm::shim::{Cli, Shim, Version, version};

/// The shim: its name (`nanopod`, so containerd's runtime is
/// `io.containerd.nanopod.v1`), its sandbox and its compiler.
struct NanopodShim;

impl Shim for NanopodShim {
    type Sandbox = sandbox::NanopodSandbox;

    fn name() -> &'static str {
        "nanopod"
    }

    fn version() -> Version {
        version!()
    }

    async fn compiler() -> Option<impl containerd_shim_wasm::shim::Compiler> {
        compiler::NanopodCompiler::new()
    }

    fn supported_layers_types() -> &'static [&'static str] {
        &[
            "application/wasm",
            "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
        ]
    }
}

fn main() {
    nanopod_shim_environment();
    NanopodShim::run(None);
}

/// nanopod's compile cache is off in the shim: a container's rootfs is no
/// place for it, and images of Wasm artifacts are precompiled into
/// containerd's content store instead.
fn nanopod_shim_environment() {
    // SAFETY: the first thing `main` does, before any thread exists.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("NANOPOD_CACHE_DIR", "");
    }
}
