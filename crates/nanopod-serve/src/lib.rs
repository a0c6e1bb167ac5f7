//! nanopod's HTTP front end: `wasi:http` components, and pods of
//! middlewares in front of an app, behind a real HTTP/1.1 server.
//!
//! - `chain`: the one entry point, [`Server`], built from a component or
//!   a pod's `[serve] chain`, whose members' binaries say what they are.
//! - `stage`: the chain's stages, each passing a request to the next.
//! - `handler`: a `wasi:http` handler component: WASI 0.2 (a fresh
//!   instance per request, or `reuse = N`; middlewares chained by the
//!   host) or WASI 0.3 (`p3`).
//! - `component_filter`: synchronous component filters
//!   (`nanopod:http/filter`, wit/filter.wit) on kept instances;
//!   proxy-wasm filters are `nanopod-proxy-wasm`'s.
//! - `server`: hyper on nanopod's accept loop, the access log, and the
//!   metrics endpoint.
//! - `error`: why a chain cannot be served.
//!
//! Instances kept for later requests wait in [`nanopod_host::pool`], a
//! shard per worker thread.

mod body;
mod chain;
mod component_filter;
mod error;
mod handler;
mod p3;
mod server;
mod stage;

pub use body::{BODY_IDLE_TIMEOUT, BODY_MIN_RATE, BODY_RATE_GRACE, DEFAULT_MAX_BODY};
pub use chain::{Server, serves_http};
pub use error::ServeError;
pub use handler::HandlerFailure;
pub use server::{DEFAULT_MAX_CONNECTIONS, ServeLimits};
