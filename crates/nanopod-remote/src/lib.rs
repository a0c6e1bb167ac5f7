//! Remote links: the same import served by a component on another host.
//!
//! - [`codec`]: WIT values ⇄ bytes, the wRPC value encoding.
//! - [`frame`]: wRPC framing of invocations, parameters and results.
//! - [`client`]: the calling side, a connection pool per exporter.
//! - [`link`]: remote imports defined in a component's linker, and how a
//!   transport failure reaches the caller.
//! - [`stream`]: top-level `stream<u8>` values, sent chunk by chunk on
//!   their own paths while the call runs.
//! - [`export`]: the serving side, `nanopod export`.

pub mod client;
pub mod codec;
pub mod export;
pub mod frame;
pub mod link;
pub mod stream;

pub use client::{CallError, Client, Endpoint};
pub use export::{ExportOptions, Exporter};
pub use link::{RemoteImports, RemoteLink};
