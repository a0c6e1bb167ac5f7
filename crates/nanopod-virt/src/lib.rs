//! `nanopod virtualize`: a component that carries its files and environment
//! inside itself.
//!
//! Two components are composed into one (with wac-graph):
//!
//! - the **virtual filesystem** (`guests/virt`, built by this crate's build
//!   script), with the [`image`] of the embedded directories and variables
//!   added to its memory ([`embed`]); it exports `wasi:filesystem`
//!   (read-only), `wasi:cli/environment`, and pass-throughs of `wasi:io`,
//!   stdio and the clocks, so that file streams and host streams are one
//!   `wasi:io`;
//! - the original component, whose imports of those interfaces the virtual
//!   filesystem serves; its other imports stay imports of the result.
//!
//! The result imports no `wasi:filesystem` and runs on any host that runs
//! WASI 0.2 components. Sockets and HTTP share `wasi:io` streams with the
//! filesystem and are not passed through, so a component importing them is
//! refused rather than broken.

pub mod embed;
pub mod image;

pub use image::Mount;

use anyhow::{Context, Result, bail};
use wac_graph::types::{ItemKind, Package};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId};

/// The virtual filesystem's core module (`guests/virt`), without an image.
pub const ADAPTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/virt-adapter.wasm"));

/// Name of the custom section that marks a virtualized component; it holds
/// a one-line summary of what was embedded.
pub const SECTION_NAME: &str = "nanopod-virtualized";

/// A virtualized component, with what went into it.
#[derive(Debug)]
pub struct Virtualized {
    /// The composed component.
    pub bytes: Vec<u8>,
    /// Regular files embedded.
    pub files: usize,
    /// Their total size in bytes.
    pub file_bytes: u64,
    /// The original component's imports the virtual filesystem now serves.
    pub served: Vec<String>,
}

/// Embeds `mounts` (and `env`, if given: then the component sees exactly
/// these variables; otherwise the host's) in `component`.
pub fn virtualize(
    component: &[u8],
    mounts: &[Mount],
    env: Option<&[(String, String)]>,
) -> Result<Virtualized> {
    let mut graph = CompositionGraph::new();
    let app = Package::from_bytes("nanopod:app", None, component.to_vec(), graph.types_mut())
        .context("not a WebAssembly component")?;
    let world = &graph.types()[app.ty()];
    let imports: Vec<String> = world
        .imports
        .iter()
        .filter(|(_, kind)| matches!(kind, ItemKind::Instance(_)))
        .map(|(name, _)| name.clone())
        .collect();
    let exports: Vec<String> = world.exports.keys().cloned().collect();
    check_imports(&imports, mounts, env)?;

    let image = image::build(mounts, env)?;
    let adapter = embed::with_image(ADAPTER, &image.bytes)?;
    let adapter = wit_component::ComponentEncoder::default()
        .module(&adapter)?
        .validate(true)
        .encode()
        .context("cannot encode the virtual filesystem")?;
    let adapter = Package::from_bytes("nanopod:virt", None, adapter, graph.types_mut())?;
    let adapter_exports: Vec<String> = graph.types()[adapter.ty()]
        .exports
        .keys()
        .cloned()
        .collect();
    let adapter = graph.register_package(adapter)?;
    let app = graph.register_package(app)?;
    let adapter = graph.instantiate(adapter);

    let app = graph.instantiate(app);
    let mut served = Vec::new();
    for import in &imports {
        let Some(export) = adapter_exports
            .iter()
            .find(|e| unversioned(e) == unversioned(import))
        else {
            continue;
        };
        let source = graph.alias_instance_export(adapter, export)?;
        graph
            .set_instantiation_argument(app, import, source)
            .with_context(|| format!("the virtual filesystem cannot serve `{import}`"))?;
        served.push(import.clone());
    }
    export_all(&mut graph, app, &exports)?;
    let bytes = graph
        .encode(EncodeOptions::default())
        .context("cannot compose the virtualized component")?;
    let summary = summary(mounts, env, &image);
    let bytes = nanopod_wit_docs::replace_section(&bytes, SECTION_NAME, Some(summary.as_bytes()))?;
    Ok(Virtualized {
        bytes,
        files: image.files,
        file_bytes: image.file_bytes,
        served,
    })
}

/// What a virtualized component carries, if `component` is one.
pub fn virtualized_of(component: &[u8]) -> Option<String> {
    let data = nanopod_wit_docs::custom_section(component, SECTION_NAME).ok()??;
    String::from_utf8(data.to_vec()).ok()
}

fn summary(mounts: &[Mount], env: Option<&[(String, String)]>, image: &image::Image) -> String {
    let dirs: Vec<&str> = mounts.iter().map(|m| m.guest.as_str()).collect();
    let env = match env {
        Some(vars) => format!("{} embedded variables", vars.len()),
        None => "the host's environment".into(),
    };
    format!(
        "{} files ({} bytes) in {}; {env}",
        image.files,
        image.file_bytes,
        if dirs.is_empty() {
            "no directory".into()
        } else {
            dirs.join(", ")
        }
    )
}

/// Refuses what virtualizing cannot serve or would not change.
fn check_imports(
    imports: &[String],
    mounts: &[Mount],
    env: Option<&[(String, String)]>,
) -> Result<()> {
    let imports_any = |prefix: &str| imports.iter().any(|i| i.starts_with(prefix));
    if let Some(i) = imports
        .iter()
        .find(|i| i.starts_with("wasi:") && i.contains("@0.3"))
    {
        bail!("the component imports `{i}`: virtualize supports WASI 0.2 components");
    }
    if let Some(i) = imports
        .iter()
        .find(|i| i.starts_with("wasi:sockets/") || i.starts_with("wasi:http/"))
    {
        bail!(
            "the component imports `{i}`, which shares wasi:io streams with the filesystem; \
             virtualize does not pass sockets or HTTP through"
        );
    }
    let uses_fs = imports_any("wasi:filesystem/");
    if !mounts.is_empty() && !uses_fs {
        bail!(
            "the component does not import wasi:filesystem, so there is nothing to serve --dir to"
        );
    }
    if env.is_some() && !imports_any("wasi:cli/environment") {
        bail!("the component does not import wasi:cli/environment, so --env would change nothing");
    }
    if mounts.is_empty() && env.is_none() {
        bail!("nothing to virtualize: give --dir or --env");
    }
    Ok(())
}

fn export_all(graph: &mut CompositionGraph, instance: NodeId, exports: &[String]) -> Result<()> {
    for export in exports {
        let node = graph.alias_instance_export(instance, export)?;
        graph.export(node, export.clone())?;
    }
    Ok(())
}

/// `ns:pkg/iface` without its `@version`.
fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(n, _)| n)
}
