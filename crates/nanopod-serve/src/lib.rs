//! nanopod's HTTP front end: `wasi:http` components, and pods of
//! middlewares in front of an app, behind a real HTTP/1.1 server.
//!
//! - [`chain`]: the one entry point, [`Server`], built from a component or
//!   a pod's `[serve] chain`.
//! - [`handler`]: one handler component: WASI 0.2 (a fresh instance per
//!   request, middlewares chained by the host) or WASI 0.3 ([`p3`]).
//! - [`server`]: hyper on nanopod's accept loop, the access log.
//! - [`error`]: why a chain cannot be served.

mod chain;
mod error;
mod handler;
mod p3;
mod server;

pub use chain::Server;
pub use error::ServeError;
pub use handler::{Handler, HandlerFailure};
