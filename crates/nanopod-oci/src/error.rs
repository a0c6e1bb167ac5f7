//! What can go wrong between nanopod and a registry, each case named so
//! the user knows which of their inputs to fix.

/// An `oci://` reference that could not be pulled or pushed.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The reference is not `oci://REGISTRY/REPOSITORY[:TAG][@sha256:HEX]`.
    #[error("`{reference}` is not a registry reference: {reason}")]
    Reference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--offline` (or `NANOPOD_OFFLINE=1`) and the cache has no copy.
    #[error(
        "{reference} is not in the local cache and nanopod is offline: run `nanopod pull {reference}` online first"
    )]
    NotCached {
        /// The reference.
        reference: String,
    },
    /// The registry did not answer (down, wrong port, TLS failure).
    #[error("cannot reach the registry {registry} for {reference}: {reason}")]
    Unreachable {
        /// `host[:port]`.
        registry: String,
        /// The reference.
        reference: String,
        /// The transport's own words.
        reason: String,
    },
    /// The registry refused the credentials, or asked for some.
    #[error(
        "the registry {registry} refused access to {reference}: give credentials with `NANOPOD_REGISTRY_USERNAME`/`NANOPOD_REGISTRY_PASSWORD` or `docker login`"
    )]
    Unauthorized {
        /// `host[:port]`.
        registry: String,
        /// The reference.
        reference: String,
    },
    /// No manifest under that tag or digest.
    #[error("{reference} does not exist in its registry")]
    NotFound {
        /// The reference.
        reference: String,
    },
    /// The artifact is not the CNCF Wasm layout (one `application/wasm`
    /// layer, a `application/vnd.wasm.config.v0+json` config).
    #[error("{reference} is not a WebAssembly artifact: {reason}")]
    NotWasm {
        /// The reference.
        reference: String,
        /// What the manifest has instead.
        reason: String,
    },
    /// The layer is larger than nanopod loads.
    #[error("{reference} has a {size}-byte layer, larger than the {max} bytes nanopod loads")]
    TooLarge {
        /// The reference.
        reference: String,
        /// The size the manifest declares (or that arrived).
        size: u64,
        /// The bound.
        max: u64,
    },
    /// What arrived is not what the manifest (or the pinned reference)
    /// promised: a corrupt, truncated or substituted blob.
    #[error(
        "{reference}: the registry sent {what} with digest {actual}, expected {expected}; nothing was cached"
    )]
    DigestMismatch {
        /// The reference.
        reference: String,
        /// "the manifest" or "the layer".
        what: &'static str,
        /// The digest asked for.
        expected: String,
        /// The digest of what came.
        actual: String,
    },
    /// The layer ended before its declared size.
    #[error(
        "{reference}: the layer ended after {received} of its {size} bytes; nothing was cached"
    )]
    Truncated {
        /// The reference.
        reference: String,
        /// Bytes received.
        received: u64,
        /// Bytes declared by the manifest.
        size: u64,
    },
    /// Anything else the registry or the local cache answered.
    #[error("{context}")]
    Other {
        /// What nanopod was doing.
        context: String,
        /// Why it failed.
        #[source]
        source: anyhow::Error,
    },
}

impl OciError {
    /// Wraps `source` with what nanopod was doing.
    pub(crate) fn other(context: impl Into<String>, source: impl Into<anyhow::Error>) -> Self {
        OciError::Other {
            context: context.into(),
            source: source.into(),
        }
    }
}
