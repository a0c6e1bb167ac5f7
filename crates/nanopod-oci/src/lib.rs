//! Components as OCI artifacts, in the CNCF Wasm layout (config
//! `application/vnd.wasm.config.v0+json`, one `application/wasm` layer)
//! that `wkg oci push/pull` uses too, through `oci-wasm` and `oci-client`.
//!
//! - [`resolve`] turns a component location into a local file: a path
//!   stays as it is; an `oci://REGISTRY/REPOSITORY[:TAG][@sha256:HEX]` is
//!   pulled once into the content-addressed [`BlobCache`] and answered
//!   from it afterwards, without the network (the compile cache then keys
//!   on the same bytes).
//! - Every layer is checked against its manifest's size and digest while
//!   it streams in, and a pinned reference against the manifest's digest;
//!   nothing unverified is ever given its name in the cache.
//! - Offline ([`set_offline`] or `NANOPOD_OFFLINE=1`), only the cache
//!   answers.
//!
//! The environment configures the client:
//!
//! | variable | meaning |
//! |---|---|
//! | `NANOPOD_REGISTRY_USERNAME`, `NANOPOD_REGISTRY_PASSWORD` | basic-auth credentials for every registry (else the docker config file's `auths`, else anonymous) |
//! | `DOCKER_CONFIG` | the folder of the docker `config.json` (default `~/.docker`) |
//! | `NANOPOD_INSECURE_REGISTRIES` | comma-separated `host:port`s spoken to over plain HTTP |
//! | `NANOPOD_REGISTRY_CA` | a PEM file of extra root certificates (a private registry's CA) |
//! | `NANOPOD_OCI_CACHE` | the cache folder (default: the `oci` folder of nanopod's cache) |
//! | `NANOPOD_OFFLINE` | `1`: use the cache only |
//!
//! Credentials are never logged or printed.

mod error;
mod reference;
mod registry;
mod store;

pub use error::OciError;
pub use reference::{OciRef, SCHEME, is_oci};
pub use registry::{MAX_LAYER, Pulled, Registry};
pub use store::{BlobCache, IndexEntry};

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

static OFFLINE: AtomicBool = AtomicBool::new(false);

/// From now on, in this process, answer from the cache only.
pub fn set_offline() {
    OFFLINE.store(true, Ordering::Relaxed);
}

/// Whether pulls are answered from the cache only ([`set_offline`], or
/// `NANOPOD_OFFLINE=1`).
pub fn offline() -> bool {
    OFFLINE.load(Ordering::Relaxed)
        || std::env::var("NANOPOD_OFFLINE").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The local file for a component `location`: a path as it is, or an
/// `oci://` reference's layer in the cache (pulled if it is not there).
pub fn resolve(location: &str) -> Result<PathBuf, OciError> {
    if !is_oci(location) {
        return Ok(PathBuf::from(location));
    }
    let reference = OciRef::parse(location)?;
    Ok(blocking(|registry| async move { registry.fetch(&reference).await })?.path)
}

/// Runs `work` with a registry client on a runtime of its own, on a
/// thread of its own: callers are synchronous code, some of which runs
/// inside another runtime.
pub fn blocking<F, Fut, T>(work: F) -> Result<T, OciError>
where
    F: FnOnce(Registry) -> Fut + Send,
    Fut: Future<Output = Result<T, OciError>>,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| OciError::other("starting the registry client", e))?;
                let registry = Registry::from_env()?;
                runtime.block_on(work(registry))
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
