//! Reading a binary from disk and compiling it (through the cache) on the
//! engine it needs.

use crate::cache::{CacheOutcome, CompileCache, Compiled};
use crate::engine::{EngineMode, Engines, HostEngine};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;

/// Why a binary cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BinaryError {
    /// The file cannot be read.
    #[error("cannot read `{}`", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not WebAssembly.
    #[error("`{}` is not a WebAssembly component or module", .0.display())]
    NotWasm(PathBuf),
    /// wasmtime refused to compile it.
    #[error("`{origin}` is not a valid WebAssembly binary")]
    Invalid {
        /// Where the bytes came from.
        origin: String,
        /// wasmtime's reason.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A precompiled bundle that is damaged or not one.
    #[error("`{origin}` is a damaged precompiled bundle: {problem}")]
    Bundle {
        /// Where the bytes came from.
        origin: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A core module where a component is needed.
    #[error("`{origin}` is a core module; {needed_by} needs a component")]
    CoreModule {
        /// Where the bytes came from.
        origin: String,
        /// What needs a component (`serve`, `export`).
        needed_by: String,
    },
}

/// A binary read from disk and compiled.
pub struct Loaded {
    /// The raw bytes (for WIT and docs).
    pub bytes: Vec<u8>,
    /// The engine it was compiled for.
    pub engine: HostEngine,
    /// The compiled code.
    pub compiled: Compiled,
    /// Whether it came from the cache.
    pub cache: CacheOutcome,
    /// Where the bytes came from, for messages.
    pub origin: String,
}

impl Loaded {
    /// The compiled component; a core module is refused, naming what needs
    /// a component.
    pub fn component(&self, needed_by: &str) -> Result<&Component, BinaryError> {
        match &self.compiled {
            Compiled::Component(c) => Ok(c),
            Compiled::Module(_) => Err(BinaryError::CoreModule {
                origin: self.origin.clone(),
                needed_by: needed_by.to_string(),
            }),
        }
    }
}

/// Reads `path`, checks it is a component or core module, and compiles it
/// on the engine it needs.
pub fn load(engines: &Engines, path: &Path) -> Result<Loaded, BinaryError> {
    let bytes = read_wasm(path)?;
    let mode = EngineMode::needed_by(&bytes);
    compile(engines, bytes, mode, &path.display().to_string())
}

/// Compiles `bytes` (through the cache) on the `mode` engine; `origin`
/// names them in errors and logs.
pub fn compile(
    engines: &Engines,
    bytes: Vec<u8>,
    mode: EngineMode,
    origin: &str,
) -> Result<Loaded, BinaryError> {
    let invalid = |source: anyhow::Error| BinaryError::Invalid {
        origin: origin.to_string(),
        source: source.into(),
    };
    let engine = engines.get(mode).map_err(invalid)?.clone();
    let (compiled, cache) = CompileCache::from_env()
        .load(&engine, mode, &bytes)
        .map_err(invalid)?;
    tracing::debug!(engine = mode.name(), ?cache, "loaded {origin}");
    Ok(Loaded {
        bytes,
        engine,
        compiled,
        cache,
        origin: origin.to_string(),
    })
}

/// Reads a file and checks its WebAssembly header.
pub fn read_wasm(path: &Path) -> Result<Vec<u8>, BinaryError> {
    let bytes = crate::files::read_regular(path, crate::files::MAX_BINARY).map_err(|source| {
        BinaryError::Unreadable {
            path: path.to_path_buf(),
            source,
        }
    })?;
    if !wasmparser::Parser::is_component(&bytes) && !wasmparser::Parser::is_core_wasm(&bytes) {
        return Err(BinaryError::NotWasm(path.to_path_buf()));
    }
    Ok(bytes)
}

/// The file name the guest sees as `argv[0]`, as `wasmtime run` does.
pub fn argv0(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
