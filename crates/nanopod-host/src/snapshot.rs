//! Snapshot pre-initialization (Wizer-style): run a component's init
//! function once, at build time, and write a component whose memories and
//! globals already hold the result.
//!
//! Uses `wasmtime-wizer` 48 (which handles components). The init function is
//! kept in the output (`keep_init_func`): without it wasmtime-wizer's
//! component snapshots do not load (upstream FIXME #13186). The output
//! carries a `nanopod-snapshot` custom section naming the init function, so
//! `nanopod inspect` can say it was pre-initialized.

use crate::engine::{Deadline, HostEngine};
use crate::grants::Grants;
use crate::linker::component_linker;
use anyhow::{Context, Result, bail};

/// The init export names tried when none is given, in order.
pub const DEFAULT_INIT_FUNCS: &[&str] = &["wizer-initialize", "wizer.initialize"];

/// Name of the custom section that marks a snapshot.
pub const SECTION_NAME: &str = "nanopod-snapshot";

/// Runs `init` (or a default init export) in `component` under `grants`
/// (its `timeout` bounds the init) and returns the pre-initialized
/// component.
pub async fn snapshot(
    engine: &HostEngine,
    component: &[u8],
    init: Option<&str>,
    grants: &Grants,
) -> Result<Vec<u8>> {
    let deadline = Deadline::after(grants.limits.timeout);
    deadline
        .bound(initialize(engine, component, init, grants, deadline))
        .await
}

async fn initialize(
    engine: &HostEngine,
    component: &[u8],
    init: Option<&str>,
    grants: &Grants,
    deadline: Deadline,
) -> Result<Vec<u8>> {
    let exports = top_level_exports(component)?;
    let init = match init {
        // `name(args…)` is a WAVE call: wasmtime-wizer passes the arguments.
        Some(call) if exports.iter().any(|e| e == call.split('(').next().unwrap_or(call)) => {
            call.to_string()
        }
        Some(name) => bail!(
            "the component exports no function `{name}` to initialize with; it exports: {}",
            exports.join(", ")
        ),
        None => DEFAULT_INIT_FUNCS
            .iter()
            .find(|d| exports.iter().any(|e| e == *d))
            .map(|d| d.to_string())
            .with_context(|| {
                format!(
                    "the component exports no `wizer-initialize` or `wizer.initialize`; name its init function with --init (exports: {})",
                    exports.join(", ")
                )
            })?,
    };
    let linker = component_linker(engine, engine.mode())?;
    let mut store = engine.store(grants, deadline)?;
    let mut wizer = wasmtime_wizer::Wizer::new();
    wizer.init_func(&init).keep_init_func(true);
    let (snapshot, _) = wizer
        .run_component(&mut store, component, async |store, component| {
            linker.instantiate_async(store, component).await
        })
        .await
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot pre-initialize with `{init}`"))?;
    nanopod_marker(&snapshot, &init)
}

/// The init function a snapshot was made with, if `component` is one.
pub fn snapshot_of(component: &[u8]) -> Option<String> {
    let data = nanopod_wit_docs::custom_section(component, SECTION_NAME).ok()??;
    String::from_utf8(data.to_vec()).ok()
}

/// Marks `component` as a snapshot made with `init`.
fn nanopod_marker(component: &[u8], init: &str) -> Result<Vec<u8>> {
    nanopod_wit_docs::replace_section(component, SECTION_NAME, Some(init.as_bytes()))
}

/// The names a component exports at its top level.
fn top_level_exports(component: &[u8]) -> Result<Vec<String>> {
    if !wasmparser::Parser::is_component(component) {
        bail!("snapshots are made of components; this is a core module");
    }
    let mut names = Vec::new();
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        match payload.context("not a valid component")? {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentExportSection(s) if depth == 0 => {
                for export in s {
                    names.push(export?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(names)
}
