//! Why a chain cannot be served.

use nanopod_host::BinaryError;
use nanopod_host::linker::Unprovided;
use nanopod_pod::PodError;
use nanopod_remote::LinkError;

/// Why `nanopod serve` cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The pod cannot be composed or loaded.
    #[error(transparent)]
    Pod(#[from] PodError),
    /// The component cannot be read or compiled.
    #[error(transparent)]
    Binary(#[from] BinaryError),
    /// A remote link of the component does not fit it.
    #[error(transparent)]
    Remote(#[from] LinkError),
    /// A granted key-value store cannot be opened.
    #[error("{0}")]
    Keyvalue(String),
    /// A handler imports what nanopod cannot provide.
    #[error("`{name}` cannot be linked")]
    Link {
        /// The handler.
        name: String,
        /// What is missing.
        #[source]
        source: Unprovided,
    },
    /// A component that cannot be a handler (or not at its place).
    #[error("`{name}` {problem}")]
    Handler {
        /// The handler.
        name: String,
        /// Why.
        problem: String,
    },
    /// A chain member's binary cannot be used.
    #[error("component `{name}`")]
    Member {
        /// The member.
        name: String,
        /// Why.
        #[source]
        source: BinaryError,
    },
    /// A proxy-wasm filter did not start.
    #[error(transparent)]
    Filter(#[from] nanopod_proxy_wasm::FilterError),
    /// `--reuse` for a chain whose front is a filter.
    #[error("--reuse: the front of the chain is a filter, which keeps its instances anyway")]
    ReuseFilter,
    /// `--reuse` for a WASI 0.2 handler.
    #[error("--reuse: `{0}` is a WASI 0.2 handler: only WASI 0.3 handlers reuse instances")]
    Reuse(String),
    /// The WASI linker could not be built.
    #[error("cannot link WASI")]
    Linker(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The listening socket.
    #[error("cannot listen on `{addr}`")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
