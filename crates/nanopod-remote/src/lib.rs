//! Remote links: the same import served by a component on another host.
//!
//! Layers, each using only those above it:
//! - [`wire`]: LEB128, WIT values as bytes (the wRPC value encoding),
//!   frames, and the chunk buffer pool.
//! - [`stream`]: top-level `stream<u8>` values, sent chunk by chunk on
//!   their own paths while the call runs.
//! - [`transport`]: where a link points (`tcp://`, `nats://`), its timeout
//!   and token.
//! - `client`: the calling side, a connection pool per exporter or NATS
//!   requests.
//! - `export`: the serving side, `nanopod export`.
//! - `link`: remote imports defined in a component's linker, and how a
//!   transport failure reaches the caller.

mod client;
mod export;
mod link;
pub mod stream;
pub mod transport;
pub mod wire;

pub use client::{CallError, Client};
pub use export::{
    DEFAULT_MAX_BUFFERED, DEFAULT_MAX_CONNECTIONS, ExportOptions, Exporter, NATS_QUEUE_GROUP,
    ServeError,
};
pub use link::{LinkError, RemoteImports, RemoteLink};
pub use transport::{Endpoint, EndpointError, TokenError, Transport};
