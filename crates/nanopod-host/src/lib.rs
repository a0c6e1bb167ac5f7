//! nanopod's host: everything between a component and the operating system.
//!
//! - [`engine`]: wasmtime engines (one with concurrency support for WASI 0.3
//!   and streams, one without for plain synchronous calls), each with its
//!   one epoch ticker, and the wall-clock [`Deadline`] behind `--timeout`.
//! - [`store`]: the one store builder, with the memory limiter and the
//!   deadline check every store gets.
//! - [`capability`]: the capability table, one module per capability.
//! - [`Grants`]: what one component was granted, deny by default.
//! - [`limits`]: memory and time limits, sizes and durations as users
//!   write them.
//! - [`linker`]: links every WASI 0.2 and 0.3 interface wasmtime provides,
//!   so wide-importing components instantiate; policy is enforced at use.
//! - [`binary`]: reading binaries and compiling them on the engine they
//!   need, through the [`cache`] of compiled code.
//! - [`InterfaceName`]: interface names and the one rule for matching them.
//! - [`types`]: the one walk over WIT value types.
//! - [`io`]: host-opened inputs and outputs turned into `stream<u8>`,
//!   `input-stream` and `output-stream` values without copying through
//!   `Val`s.
//! - [`net`]: the accept loop of nanopod's servers, with graceful shutdown.
//! - [`GuestFailure`] and [`LinkFailure`]: how a run failed: trap, limit,
//!   or an import that failed.
//! - [`snapshot`]: Wizer-style pre-initialization of components.
//! - [`pool`]: idle instances kept for later requests or calls (`serve`'s
//!   reuse, `export --reuse`), a shard per worker thread.
//! - [`vfs`]: `--vfs`, a private in-memory copy of a directory or archive.
//! - `symlinks`: a symlink a guest creates in a grant must point down from
//!   where it is (WASI 0.2, 0.3 and preview1 alike).
//!
//! This crate knows nothing of command-line syntax or WIT argument parsing;
//! the capability table names flags and manifest keys only as data, for
//! messages.

pub mod binary;
pub mod cache;
pub mod capability;
pub mod engine;
mod failure;
pub mod files;
mod grants;
mod interface;
pub mod io;
pub mod limits;
pub mod linker;
pub mod net;
mod nonblocking;
pub mod pool;
pub mod precompiled;
pub mod snapshot;
pub mod store;
mod symlinks;
mod tmpfs;
pub mod types;
pub mod vfs;

pub use binary::{BinaryError, Loaded};
pub use capability::Capability;
pub use capability::filesystem::{DirError, DirGrant};
pub use capability::view::Views;
pub use engine::{Deadline, EngineMode, Engines, Expired, HostEngine};
pub use failure::{GuestFailure, LinkFailure};
pub use grants::Grants;
pub use interface::InterfaceName;
pub use limits::Limits;
pub use nanopod_keyvalue::StoreUrl;
pub use store::{HostState, P1State};
