//! Integration tests: every test drives the real `nanopod` binary.
//!
//! Module map (the file-driven golden cases are their own test binary,
//! `tests/golden.rs`; `support` is `tests/common/`, which both share):
//! - `typed`: typed main with files, stdin, outputs, byte lists, streams.
//! - `capabilities`: directory, environment and network grants, escapes.
//! - `inspect`: `inspect --json`, `compile` and the compile cache.
//! - `python`: components built from source with componentize-py (a typed
//!   component and a filter).
//! - `javascript`: a component filter built with componentize-js (npm).
//! - `interop`: a proxy-wasm filter from another SDK (AssemblyScript, npm).
//! - `keyvalue`: `--kv` and `[keyvalue]` stores, embedded and on NATS.
//! - `pods`: `nanopod up`: linked components, per-component grants, bad
//!   manifests.
//! - `serve`: `nanopod serve` over real loopback HTTP.
//! - `filters`: proxy-wasm and component filters in `serve`.
//! - `findings`: the adversarial pass's findings, one test each.
//! - `remote`: `nanopod export` and remote links over real loopback TCP.
//! - `remote_stream`: `stream<u8>` values across hosts, chunk by chunk.
//! - `snapshot`: `nanopod snapshot` pre-initialization.
//! - `vfs`: `--vfs` in-memory directories against real preopens.
//! - `views`: per-component directories, environment and HTTP hosts in
//!   one composed pod (`up` and `serve`).

mod capabilities;
mod filters;
mod findings;
mod inspect;
mod interop;
mod javascript;
mod keyvalue;
mod oci;
mod pods;
mod python;
mod remote;
mod remote_stream;
mod serve;
mod snapshot;
#[path = "../common/mod.rs"]
mod support;
mod typed;
mod vfs;
mod views;
mod virtualize;
