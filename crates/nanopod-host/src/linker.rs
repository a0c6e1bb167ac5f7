//! Linkers with every WASI interface wasmtime 48 provides.
//!
//! Components from other toolchains import far more than they use (sockets,
//! HTTP, terminals) at mixed 0.2.x versions. Everything is linked, the
//! linker matches semver-compatible names, and the grants of each store
//! refuse what was not granted when it is used.

use crate::engine::EngineMode;
use crate::store::{HostState, P1State};
use anyhow::Result;
use wasmtime::Engine;
use wasmtime::component::{Component, InstancePre, Linker};

/// A component imports something no linker entry provides.
#[derive(Debug, thiserror::Error)]
#[error("the component needs an import nanopod cannot provide: {reason}")]
pub struct Unprovided {
    /// wasmtime's explanation, naming the import.
    pub reason: String,
}

/// A component linker with WASI 0.2 (and 0.3 on the concurrent engine),
/// including `wasi:http`.
pub fn component_linker(engine: &Engine, mode: EngineMode) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    if mode == EngineMode::Concurrent {
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    }
    Ok(linker)
}

/// Links `component`'s imports once, for many instances; an import that
/// `linker` does not provide is an [`Unprovided`] naming it.
pub fn prepare(
    linker: &Linker<HostState>,
    component: &Component,
) -> Result<InstancePre<HostState>, Unprovided> {
    linker.instantiate_pre(component).map_err(|e| Unprovided {
        reason: e.to_string(),
    })
}

/// A core-module linker with WASI preview1.
pub fn module_linker(engine: &Engine) -> Result<wasmtime::Linker<P1State>> {
    let mut linker = wasmtime::Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s: &mut P1State| &mut s.wasi)?;
    Ok(linker)
}
