//! nanopod's proxy-wasm host: HTTP filters written for Envoy, Istio and
//! other proxy-wasm hosts (ABI 0.2.1 and 0.2.0), run unchanged in front of
//! a component app, in one process.
//!
//! A filter ([`ProxyFilter`]) keeps a few long-lived VMs; each request is a
//! context in one of them, and every callback is a synchronous call into
//! that instance on the synchronous engine: no fresh instance per request,
//! no async hop, no component-model crossing.
//!
//! - [`abi`]: the ABI's numbers and byte layouts.
//! - `vm`: one VM, its start sequence and callbacks; `plugin`: the pool of
//!   VMs, replaced after a trap, and their ticks.
//! - `host`: the `env.proxy_*` host calls; `wasi`: the preview1 subset
//!   filters get (stdio to the log, clocks, random, granted environment).
//! - `stream`: what a filter sees of a request and response;
//!   `properties`: Envoy's standard attributes.
//! - `filter`: one request through a filter, in Envoy's order.
//! - `shared`: shared data (with compare-and-swap) and queues across a
//!   filter's VMs; [`metrics`]: counters, gauges and histograms, in
//!   Prometheus text; `upstream`: `dispatch_http_call`.

pub mod abi;
mod filter;
mod host;
pub mod metrics;
mod plugin;
mod properties;
mod shared;
mod stream;
mod upstream;
mod vm;
mod wasi;

pub use filter::{FilterFailure, MAX_BUFFERED_BODY};
pub use metrics::Metrics;
pub use plugin::{FilterConfig, FilterError, ProxyFilter};
pub use vm::is_filter;
