//! nanopod's host: everything between a component and the operating system.
//!
//! - [`engine`]: wasmtime engines (one with concurrency support for WASI 0.3
//!   and streams, one without for plain synchronous calls) and the epoch
//!   ticker behind `--timeout`.
//! - [`grants`]: the capability policy, deny by default: directories,
//!   environment variables, outbound HTTP hosts, and the limits.
//! - [`state`]: the per-instance store data and the WASI / `wasi:http` views.
//! - [`linker`]: links every WASI 0.2 and 0.3 interface wasmtime provides,
//!   so wide-importing components instantiate; policy is enforced at use.
//! - [`net`]: the accept loop of nanopod's servers, with graceful shutdown.
//! - [`cache`]: compiled code cached on disk by content, engine and version.
//! - [`io`]: host-opened inputs and outputs turned into `stream<u8>`,
//!   `input-stream` and `output-stream` values without copying through `Val`s.
//! - [`failure`]: how a run failed: trap, limit, or missing capability.
//! - [`snapshot`]: Wizer-style pre-initialization of components.
//! - [`vfs`]: `--vfs`, a private in-memory copy of a directory or archive.
//!
//! This crate knows nothing of command-line syntax or WIT argument parsing.

pub mod cache;
pub mod engine;
pub mod failure;
pub mod grants;
pub mod io;
pub mod linker;
pub mod net;
pub mod snapshot;
pub mod state;
pub mod vfs;

pub use engine::{EngineMode, Engines};
pub use failure::{GuestFailure, LinkFailure};
pub use grants::{Capability, DirGrant, Grants, Limits};
pub use state::{HostState, NextHop};
