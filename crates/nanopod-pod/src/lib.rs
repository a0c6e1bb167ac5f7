//! nanopod pods: an app and its sidecars in one process.
//!
//! A pipeline, one module per step, behind one entry point ([`Pod`]):
//! - [`manifest`]: `pod.toml`, parsed; the grant tables are the front
//!   end's [`GrantSpec`] (`grant`).
//! - [`plan`]: names, links, cycles and the entry, checked before any binary
//!   is read.
//! - `share`: the one WASI context of a composition, the union of the
//!   components' grants, and which capabilities they hold in different
//!   measure.
//! - `deny`: the adapters that keep a component from a capability that
//!   context holds for another component (directories, environment and
//!   HTTP go through the host's views of each component's own grant,
//!   [`nanopod_host::Views`], instead).
//! - `compose`: the components statically composed into one component
//!   with wac-graph, so wasmtime fuses the calls between them; `memcap`
//!   caps a member's own memories.
//! - `pod`: [`Pod::open`] → [`Pod::compose`] → [`ComposedPod::load`],
//!   remote links included.
//! - `pipeline`: `[[step]]` pods, steps over one in-memory filesystem.
//! - [`describe`]: the pod's shape for `inspect`.
//!
//! Serving HTTP is `nanopod-serve`'s; this crate knows nothing of it.

mod compose;
mod deny;
pub mod describe;
mod grant;
pub mod lock;
pub mod manifest;
mod memcap;
mod pipeline;
pub mod plan;
mod pod;
mod share;

pub use compose::ComposeError;
pub use grant::{BasicGrants, GrantSpec, NoGrants};
pub use manifest::{KeyvalueSpec, Link, Manifest, ManifestError, Variable};
pub use memcap::MemCapError;
pub use pipeline::{DEFAULT_SCRATCH, Pipeline, ScratchError, Step};
pub use plan::{Plan, PlanError};
pub use pod::{
    ChainMember, ComposedPod, FilterSettings, LoadedPod, Pod, PodError, PodInfo, RemoteLinkError,
    byte_list_hint,
};
pub use share::ShareError;
