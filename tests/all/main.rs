//! Integration tests: every test drives the real `nanopod` binary.
//!
//! Module map:
//! - `golden`: file-driven CLI cases in `tests/golden/*.golden` (command,
//!   exit code, exact stdout and stderr); re-bless with `BLESS=1`.
//! - `typed`: typed main with files, stdin, outputs, byte lists, streams.
//! - `capabilities`: directory, environment and network grants, escapes.
//! - `inspect`: `inspect --json`, `compile` and the compile cache.
//! - `python`: a component built from source with componentize-py.
//! - `pods`: `nanopod up`: linked components, per-component grants, bad
//!   manifests.
//! - `serve`: `nanopod serve` over real loopback HTTP.
//! - `remote`: `nanopod export` and remote links over real loopback TCP.
//! - `remote_stream`: `stream<u8>` values across hosts, chunk by chunk.
//! - `snapshot`: `nanopod snapshot` pre-initialization.
//! - `vfs`: `--vfs` in-memory directories against real preopens.

mod capabilities;
mod golden;
mod inspect;
mod pods;
mod python;
mod remote;
mod remote_stream;
mod serve;
mod snapshot;
mod support;
mod typed;
mod vfs;
mod virtualize;
