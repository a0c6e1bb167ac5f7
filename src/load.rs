//! Reading a binary from disk and compiling it (through the cache) on the
//! engine it needs.

use anyhow::Result;
use nanopod_host::cache::{CacheOutcome, CompileCache, Compiled};
use nanopod_host::{EngineMode, Engines};
use nanopod_typed::UsageError;
use std::path::Path;
use wasmtime::Engine;

/// A binary read from disk and compiled.
pub struct Loaded {
    /// The raw bytes (for WIT and docs).
    pub bytes: Vec<u8>,
    /// The engine it was compiled for.
    pub engine: Engine,
    /// Which engine configuration.
    pub mode: EngineMode,
    /// The compiled code.
    pub compiled: Compiled,
    /// Whether it came from the cache.
    pub cache: CacheOutcome,
}

/// Reads `path`, checks it is a component or core module, and compiles it.
pub fn load(engines: &Engines, path: &Path) -> Result<Loaded> {
    let bytes = read_wasm(path)?;
    let mode = engine_mode(&bytes);
    load_bytes(engines, bytes, mode, &path.display().to_string())
}

/// Compiles `bytes` (through the cache) on the `mode` engine; `origin`
/// names them in errors and logs.
pub fn load_bytes(
    engines: &Engines,
    bytes: Vec<u8>,
    mode: EngineMode,
    origin: &str,
) -> Result<Loaded> {
    let engine = engines.get(mode)?.clone();
    let (compiled, cache) = CompileCache::from_env()
        .load(&engine, mode, &bytes)
        .map_err(|e| {
            UsageError::new(format!(
                "`{origin}` is not a valid WebAssembly binary: {e:#}"
            ))
        })?;
    tracing::debug!(engine = mode.name(), ?cache, "loaded {origin}");
    Ok(Loaded {
        bytes,
        engine,
        mode,
        compiled,
        cache,
    })
}

/// Reads a file and checks its WebAssembly header.
pub fn read_wasm(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .map_err(|e| UsageError::new(format!("cannot read `{}`: {e}", path.display())))?;
    if !wasmparser::Parser::is_component(&bytes) && !wasmparser::Parser::is_core_wasm(&bytes) {
        return Err(UsageError::new(format!(
            "`{}` is not a WebAssembly component or module",
            path.display()
        ))
        .into());
    }
    Ok(bytes)
}

/// Components that use component-model async (WASI 0.3 imports, async
/// functions, streams or futures) need the concurrent engine; everything
/// else runs on the faster synchronous one.
pub fn engine_mode(bytes: &[u8]) -> EngineMode {
    if !wasmparser::Parser::is_component(bytes) {
        return EngineMode::Sync;
    }
    let Ok(wit_parser::decoding::DecodedWasm::Component(resolve, _)) =
        wit_parser::decoding::decode(bytes)
    else {
        return EngineMode::Concurrent;
    };
    let async_types = resolve.types.iter().any(|(_, t)| {
        matches!(
            t.kind,
            wit_parser::TypeDefKind::Future(_) | wit_parser::TypeDefKind::Stream(_)
        )
    });
    let async_funcs = resolve
        .interfaces
        .iter()
        .flat_map(|(_, i)| i.functions.values())
        .chain(resolve.worlds.iter().flat_map(|(_, w)| {
            w.imports
                .values()
                .chain(w.exports.values())
                .filter_map(|item| match item {
                    wit_parser::WorldItem::Function(f) => Some(f),
                    _ => None,
                })
        }))
        .any(|f| f.kind.is_async());
    let p3_imports = resolve.packages.iter().any(|(_, p)| {
        p.name.namespace == "wasi"
            && p.name
                .version
                .as_ref()
                .is_some_and(|v| v.major == 0 && v.minor >= 3)
    });
    if async_types || async_funcs || p3_imports {
        EngineMode::Concurrent
    } else {
        EngineMode::Sync
    }
}

/// The file name the guest sees as `argv[0]`, as `wasmtime run` does.
pub fn argv0(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
