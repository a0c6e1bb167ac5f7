//! The on-disk compile cache.
//!
//! Compiled code is stored under `NANOPOD_CACHE_DIR` (default
//! `$XDG_CACHE_HOME/nanopod` or `~/.cache/nanopod`), one file per key. The key
//! hashes the binary's bytes, the engine's compatibility hash (wasmtime
//! version, compiler settings, target CPU features) and nanopod's version, so
//! any change to either side compiles afresh. Files are written to a
//! temporary name and renamed, so a crash never leaves a torn entry. Each
//! entry has its BLAKE3 digest beside it (`KEY.cwasm.blake3`), checked
//! before the code is loaded: an entry corrupted on disk (or one without
//! its digest) is compiled again, never mapped as code.
//!
//! Trust: loading a cache entry runs its machine code. The directory is
//! created private to the user (mode 0700); anyone who can write there can
//! already run code as that user.

use crate::engine::EngineMode;
use anyhow::{Context, Result};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// A compiled binary: a component, or a WASI preview1 core module.
pub enum Compiled {
    /// A component.
    Component(Component),
    /// A core module.
    Module(Module),
}

impl Compiled {
    /// The compiled code as bytes wasmtime loads back, on an engine with
    /// the same compatibility hash.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        Ok(match self {
            Compiled::Component(c) => c.serialize()?,
            Compiled::Module(m) => m.serialize()?,
        })
    }
}

/// Whether a load came from the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded precompiled code from the cache.
    Hit,
    /// Compiled, and stored in the cache.
    Stored,
    /// Compiled; the cache is disabled or could not be written.
    Uncached,
}

/// The compile cache in one directory.
pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
}

impl CompileCache {
    /// The cache in the default directory, or disabled when
    /// `NANOPOD_CACHE_DIR` is set to an empty string.
    pub(crate) fn from_env() -> Self {
        let dir = match std::env::var_os("NANOPOD_CACHE_DIR") {
            Some(d) if d.is_empty() => None,
            Some(d) => Some(PathBuf::from(d)),
            None => std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|d| d.join("nanopod")),
        };
        CompileCache { dir }
    }

    /// Compiles `bytes` (a component or a core module) for `engine`, or loads
    /// the result of an earlier compile.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        mode: EngineMode,
        bytes: &[u8],
    ) -> Result<(Compiled, CacheOutcome)> {
        let is_component = wasmparser::Parser::is_component(bytes);
        let entry = self
            .dir
            .as_ref()
            .map(|d| d.join(cache_key(engine, mode, bytes)));
        if let Some(path) = &entry
            && path.exists()
        {
            match verify(path).map(|signed| signed.then(|| deserialize(engine, path, is_component)))
            {
                Ok(Some(Ok(c))) => return Ok((c, CacheOutcome::Hit)),
                // Written before entries had digests: replaced.
                Ok(None) => tracing::debug!("cache entry {} has no digest", path.display()),
                Ok(Some(Err(e))) | Err(e) => tracing::warn!(
                    "cache entry {} is unusable, compiling again: {e:#}",
                    path.display()
                ),
            }
        }
        let compiled = compile_with_progress(engine, bytes, is_component)?;
        let outcome = match &entry {
            Some(path) => match store(path, &compiled) {
                Ok(()) => CacheOutcome::Stored,
                Err(e) => {
                    tracing::warn!("cannot write compile cache {}: {e:#}", path.display());
                    CacheOutcome::Uncached
                }
            },
            None => CacheOutcome::Uncached,
        };
        Ok((compiled, outcome))
    }
}

fn cache_key(engine: &Engine, mode: EngineMode, bytes: &[u8]) -> String {
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    // BLAKE3: the binary is hashed on every run, and at several GB/s it
    // costs a few milliseconds even for an embedded Python (SHA-256 took
    // 17% of such a run).
    let mut h = blake3::Hasher::new();
    h.update(bytes);
    h.update(&engine_hash.finish().to_le_bytes());
    h.update(mode.name().as_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    format!("{}.cwasm", hex::encode(&h.finalize().as_bytes()[..20]))
}

fn compile_with_progress(engine: &Engine, bytes: &[u8], is_component: bool) -> Result<Compiled> {
    // Large components (an embedded Python or JS engine) take seconds: show
    // a spinner on a terminal, nothing on a pipe.
    let spinner =
        crate::files::terminal_spinner(format!("compiling {} KiB of wasm", bytes.len() / 1024));
    let started = std::time::Instant::now();
    let result = if is_component {
        Component::new(engine, bytes).map(Compiled::Component)
    } else {
        Module::new(engine, bytes).map(Compiled::Module)
    };
    if let Some(pb) = spinner {
        pb.finish_and_clear();
    }
    tracing::debug!(elapsed = ?started.elapsed(), "compiled");
    Ok(result?)
}

/// Where an entry's digest is kept.
fn digest_path(entry: &Path) -> PathBuf {
    entry.with_extension("cwasm.blake3")
}

/// Checks `entry` against the digest stored beside it: `false` when it has
/// none, an error when it does not match.
fn verify(entry: &Path) -> Result<bool> {
    let expected = match std::fs::read(digest_path(entry)) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(entry)?)?;
    if hasher.finalize().as_bytes()[..] != expected[..] {
        anyhow::bail!("its contents do not match its digest");
    }
    Ok(true)
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path, is_component: bool) -> Result<Compiled> {
    // SAFETY: the file was written by `store` below from code wasmtime
    // compiled, under a key that includes the engine's compatibility hash,
    // and matched its digest just now; wasmtime additionally checks the
    // header. See the module docs on trust.
    unsafe {
        Ok(if is_component {
            Compiled::Component(Component::deserialize_file(engine, path)?)
        } else {
            Compiled::Module(Module::deserialize_file(engine, path)?)
        })
    }
}

/// Loads code serialized by [`Compiled::serialize`] from memory.
#[allow(unsafe_code)]
pub(crate) fn deserialize_bytes(
    engine: &Engine,
    code: &[u8],
    is_component: bool,
) -> Result<Compiled> {
    // SAFETY: only code from `crate::precompiled` bundles comes here, after
    // their digest matched; see that module's docs on trust. wasmtime
    // checks the header and the engine's compatibility itself.
    unsafe {
        Ok(if is_component {
            Compiled::Component(Component::deserialize(engine, code)?)
        } else {
            Compiled::Module(Module::deserialize(engine, code)?)
        })
    }
}

fn store(path: &Path, compiled: &Compiled) -> Result<()> {
    let dir = path.parent().context("cache path has no parent")?;
    create_private_dir(dir)?;
    let bytes = compiled.serialize()?;
    // The digest first: an entry is never without it.
    let write = |to: &Path, contents: &[u8]| -> Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, contents)?;
        tmp.persist(to)?;
        Ok(())
    };
    write(&digest_path(path), blake3::hash(&bytes).as_bytes())?;
    write(path, &bytes)
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create cache directory `{}`", dir.display()))
}
