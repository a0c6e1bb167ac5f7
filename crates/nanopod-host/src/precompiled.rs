//! Compiled code kept outside nanopod's own cache: a front end (the
//! containerd shim, which stores it in containerd's content store) asks
//! for a [`bundle`] once and hands it back to [`load`] on later starts.
//!
//! A bundle holds the binary itself beside its compiled form, so a loaded
//! bundle still has the WIT and docs the binary carries, and code compiled
//! by another nanopod or wasmtime build is compiled again from those bytes
//! rather than refused. Layout: a magic line, the BLAKE3 digest of the
//! rest, the binary's length (u64, little-endian), the binary, the code.
//!
//! Trust: loading a bundle runs its machine code. Its digest is checked,
//! which catches corruption, not forgery: only bundles written by this
//! module into a store that only the node's administrator can write (the
//! content store of containerd, running as root) may be loaded.

use crate::binary::{BinaryError, Loaded};
use crate::cache::{CacheOutcome, Compiled};
use crate::engine::{EngineMode, Engines};
use std::hash::{Hash, Hasher};

const MAGIC: &[u8] = b"nanopod-precompiled-v1\n";
const DIGEST: usize = 32;
const LENGTH: usize = 8;

/// Compiles `bytes` (a component or a core module) and returns the bundle
/// [`load`] takes back.
pub fn bundle(engines: &Engines, bytes: Vec<u8>, origin: &str) -> Result<Vec<u8>, BinaryError> {
    let mode = EngineMode::needed_by(&bytes);
    let engine = engines.get(mode).map_err(|e| invalid(origin, e))?;
    let compiled = if wasmparser::Parser::is_component(&bytes) {
        wasmtime::component::Component::new(engine, &bytes).map(Compiled::Component)
    } else {
        wasmtime::Module::new(engine, &bytes).map(Compiled::Module)
    }
    .map_err(|e| invalid(origin, e.into()))?;
    let code = compiled.serialize().map_err(|e| invalid(origin, e))?;
    let mut rest = Vec::with_capacity(LENGTH + bytes.len() + code.len());
    rest.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    rest.extend_from_slice(&bytes);
    rest.extend_from_slice(&code);
    let mut out = Vec::with_capacity(MAGIC.len() + DIGEST + rest.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(blake3::hash(&rest).as_bytes());
    out.extend_from_slice(&rest);
    Ok(out)
}

/// Whether `bytes` are a bundle (rather than a binary).
pub fn is_bundle(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The binary a bundle was compiled from, once its digest matched.
pub fn binary<'a>(bundle: &'a [u8], origin: &str) -> Result<&'a [u8], BinaryError> {
    split(bundle)
        .map(|(bytes, _)| bytes)
        .map_err(|problem| malformed(origin, problem))
}

/// Loads a bundle written by [`bundle`]: its code when this build can run
/// it, else its binary compiled again (through nanopod's cache).
pub fn load(engines: &Engines, bundle: &[u8], origin: &str) -> Result<Loaded, BinaryError> {
    let (bytes, code) = split(bundle).map_err(|problem| malformed(origin, problem))?;
    let mode = EngineMode::needed_by(bytes);
    let engine = engines.get(mode).map_err(|e| invalid(origin, e))?.clone();
    let is_component = wasmparser::Parser::is_component(bytes);
    match crate::cache::deserialize_bytes(&engine, code, is_component) {
        Ok(compiled) => Ok(Loaded {
            bytes: bytes.to_vec(),
            engine,
            compiled,
            cache: CacheOutcome::Hit,
            origin: origin.to_string(),
        }),
        Err(e) => {
            tracing::info!("precompiled code of {origin} is for another build ({e:#}); compiling");
            crate::binary::compile(engines, bytes.to_vec(), mode, origin)
        }
    }
}

/// A key that changes whenever bundles of this build stop loading as
/// code: nanopod's version and its engines' compatibility hashes.
pub fn compatibility_key(engines: &Engines) -> Result<String, BinaryError> {
    let mut hash = std::collections::hash_map::DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut hash);
    for mode in [EngineMode::Sync, EngineMode::Concurrent] {
        let engine = engines.get(mode).map_err(|e| invalid("the engine", e))?;
        engine.precompile_compatibility_hash().hash(&mut hash);
    }
    Ok(format!("{:016x}", hash.finish()))
}

/// The binary and the code of a bundle, once its digest matched.
fn split(bundle: &[u8]) -> Result<(&[u8], &[u8]), &'static str> {
    let rest = bundle.strip_prefix(MAGIC).ok_or("no bundle header")?;
    if rest.len() < DIGEST + LENGTH {
        return Err("truncated");
    }
    let (digest, rest) = rest.split_at(DIGEST);
    if blake3::hash(rest).as_bytes()[..] != digest[..] {
        return Err("its contents do not match its digest");
    }
    let (length, rest) = rest.split_at(LENGTH);
    let length = u64::from_le_bytes(length.try_into().expect("8 bytes"));
    let length = usize::try_from(length).map_err(|_| "binary length out of range")?;
    if length > rest.len() {
        return Err("binary length out of range");
    }
    Ok(rest.split_at(length))
}

fn malformed(origin: &str, problem: &'static str) -> BinaryError {
    BinaryError::Bundle {
        origin: origin.to_string(),
        problem,
    }
}

fn invalid(origin: &str, source: anyhow::Error) -> BinaryError {
    BinaryError::Invalid {
        origin: origin.to_string(),
        source: source.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMAND: &str = r#"(module (func (export "_start")) (memory (export "memory") 1))"#;

    #[test]
    fn a_bundle_loads_as_code_with_its_binary() {
        let engines = Engines::default();
        let wasm = wat::parse_str(COMMAND).unwrap();
        let b = bundle(&engines, wasm.clone(), "t.wasm").unwrap();
        assert!(is_bundle(&b) && !is_bundle(&wasm));
        let loaded = load(&engines, &b, "t.wasm").unwrap();
        assert_eq!(loaded.bytes, wasm);
        assert_eq!(loaded.cache, CacheOutcome::Hit);
        assert!(matches!(loaded.compiled, Compiled::Module(_)));
    }

    #[test]
    fn a_damaged_bundle_is_refused_not_run() {
        let engines = Engines::default();
        let mut b = bundle(&engines, wat::parse_str(COMMAND).unwrap(), "t.wasm").unwrap();
        let last = b.len() - 1;
        b[last] ^= 1;
        let err = load(&engines, &b, "t.wasm").err().unwrap();
        assert!(
            format!("{err:#}").contains("do not match its digest"),
            "{err:#}"
        );
        let err = load(&engines, &b[..MAGIC.len() + 3], "t.wasm")
            .err()
            .unwrap();
        assert!(format!("{err:#}").contains("truncated"), "{err:#}");
    }

    #[test]
    fn code_this_build_cannot_run_is_compiled_again() {
        let engines = Engines::default();
        let wasm = wat::parse_str(COMMAND).unwrap();
        // A bundle whose code is not wasmtime's, digest intact.
        let mut rest = (wasm.len() as u64).to_le_bytes().to_vec();
        rest.extend_from_slice(&wasm);
        rest.extend_from_slice(b"code of another build");
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(blake3::hash(&rest).as_bytes());
        b.extend_from_slice(&rest);
        // Compiled from the bundle's binary (through nanopod's cache, so
        // its outcome may be a hit there).
        let loaded = load(&engines, &b, "t.wasm").unwrap();
        assert_eq!(loaded.bytes, wasm);
        assert!(matches!(loaded.compiled, Compiled::Module(_)));
    }

    #[test]
    fn the_key_is_stable_within_a_build() {
        let a = compatibility_key(&Engines::default()).unwrap();
        assert_eq!(a, compatibility_key(&Engines::pooled()).unwrap());
    }
}
