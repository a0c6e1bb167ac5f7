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

/// A component linker for guests called synchronously from a server's
/// executor threads: WASI 0.2's non-blocking interfaces, with `wasi:io`'s
/// blocking calls answered only when ready at once (see
/// `nonblocking.rs`), and the guest must be granted no directory.
/// Everything else a component imports is linked by [`trap_the_rest`]:
/// an asynchronous host function in the linker would make every call into
/// the instance asynchronous.
pub fn sync_component_linker(engine: &Engine) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    crate::nonblocking::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// Links what `component` imports beyond a [`sync_component_linker`] and
/// the caller's own interfaces (`also_linked`, unversioned) as functions
/// that trap with the import's name, so that components importing
/// sockets or HTTP they never call still instantiate.
pub fn trap_the_rest(
    linker: &mut Linker<HostState>,
    component: &Component,
    also_linked: &[&str],
) -> Result<()> {
    crate::nonblocking::trap_the_rest(linker, component, also_linked)
}

/// A component linker with WASI 0.2 (and 0.3 on the concurrent engine),
/// including `wasi:http`.
pub fn component_linker(engine: &Engine, mode: EngineMode) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    crate::symlinks::guard_p2(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::capability::config::add_to_linker(&mut linker)?;
    crate::capability::keyvalue::add_to_linker(&mut linker)?;
    if mode == EngineMode::Concurrent {
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        crate::symlinks::guard_p3(&mut linker)?;
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
    crate::symlinks::guard_p1(&mut linker)?;
    // `proc_exit` with any status: wasmtime-wasi refuses codes from 126 up
    // with an error (and a backtrace) instead of the exit; nanopod passes
    // 0 to 255 through and reports the rest as what they are.
    linker.allow_shadowing(true);
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "proc_exit",
        |_: wasmtime::Caller<'_, P1State>, status: i32| -> wasmtime::Result<()> {
            Err(wasmtime_wasi::I32Exit(status).into())
        },
    )?;
    linker.allow_shadowing(false);
    Ok(linker)
}
