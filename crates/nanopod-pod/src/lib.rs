//! nanopod pods: an app and its sidecars in one process.
//!
//! - [`manifest`]: `pod.toml`, parsed.
//! - [`plan`]: names, links, cycles and the entry, checked before any binary
//!   is read.
//! - [`compose`]: the components statically composed into one component
//!   with wac-graph, so wasmtime fuses the calls between them.
//! - [`deny`]: the adapters that keep a component from a capability the
//!   pod's shared WASI context holds for another component.
//! - [`serve`]: `wasi:http` handlers behind HTTP/1.1, chained in-process.
//! - [`serve_p3`]: WASI 0.3 `wasi:http/handler` components, a fresh
//!   instance per request.
//! - [`share`]: that one WASI context, the union of equal grants.

pub mod compose;
pub mod deny;
pub mod manifest;
pub mod memcap;
pub mod plan;
pub mod serve;
pub mod serve_p3;
pub mod share;
