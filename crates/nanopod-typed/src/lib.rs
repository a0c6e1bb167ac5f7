//! nanopod's typed layer: the "metacompute" between a shell and a typed
//! function.
//!
//! The pipeline, one module per step:
//! - [`exports`]: find a component's exported functions, with their WIT
//!   signatures (from the component's own type information) and docs.
//! - [`raw`]: split the function's command-line words into flags and
//!   positional words, knowing nothing of types (phase one).
//! - [`bind`]: match those words to the WIT parameters and convert each by
//!   its type (phase two): literals, WAVE, and host-provided inputs.
//! - [`render`]: turn a returned value into what the user sees.
//! - [`help`]: generate `--help` and `inspect` text from WIT and doc
//!   comments, and describe what each parameter takes.
//! - `witfmt`: print WIT types as a user wrote them.
//!
//! This crate never opens a file or enforces a policy: it says "this
//! parameter is an input read from path P" and the host does the rest.

pub mod bind;
pub mod exports;
pub mod help;
pub mod raw;
pub mod render;
mod witfmt;

pub use bind::{ArgValue, BindError, TypedArgs};
pub use exports::{ExportError, ExportFn, Exports, ParamKind, ParamSpec};
pub use render::{RenderError, Rendered};
