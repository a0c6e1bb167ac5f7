//! Per-instance store data: the WASI context, the `wasi:http` context with
//! nanopod's outbound policy, the resource table and the memory limiter.

use crate::grants::Grants;
use anyhow::Result;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// The data of a component store.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    http_policy: HttpPolicy,
    /// The memory limiter, installed with `Store::limiter`.
    pub limits: StoreLimits,
}

impl HostState {
    /// State for one instance under `grants`.
    pub fn new(grants: &Grants) -> Result<Self> {
        Ok(HostState {
            wasi: grants.wasi_ctx()?,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            http_policy: HttpPolicy {
                grants: Arc::new(grants.clone()),
                next_hop: None,
            },
            limits: store_limits(grants),
        })
    }

    /// Sends every outbound HTTP request of this instance to `next` instead
    /// of the network: how a `nanopod serve` middleware reaches the next
    /// handler of its chain. Default: outbound HTTP goes to the network,
    /// under the `allow-http` grants.
    pub fn route_http_to(&mut self, next: NextHop) -> &mut Self {
        self.http_policy.next_hop = Some(next);
        self
    }

    /// The resource table, for host-made resources such as input streams.
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

/// The memory limiter for `grants`: growth past `--max-memory` traps.
pub fn store_limits(grants: &Grants) -> StoreLimits {
    let mut b = StoreLimitsBuilder::new().trap_on_grow_failure(true);
    if let Some(max) = grants.limits.max_memory {
        b = b.memory_size(max);
    }
    b.build()
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_policy,
        }
    }
}

/// An in-process HTTP handler that takes a middleware's outbound requests.
pub type NextHop = Arc<
    dyn Fn(
            http::Request<WasiBody>,
        ) -> futures::future::BoxFuture<
            'static,
            Result<http::Response<WasiBody>, wasmtime_wasi_http::Error>,
        > + Send
        + Sync,
>;

/// Outbound HTTP: denied unless the request's host is granted with
/// `--allow-http`, or routed to the next handler of a serve chain.
struct HttpPolicy {
    grants: Arc<Grants>,
    next_hop: Option<NextHop>,
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for HttpPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> SendFuture {
        if let Some(next) = &self.next_hop {
            let response = next(request);
            return Box::new(async move {
                let done = Box::new(async { Ok(()) });
                Ok((response.await?, done as Box<dyn Future<Output = _> + Send>))
            });
        }
        let uri = request.uri();
        let allowed = uri
            .host()
            .is_some_and(|h| self.grants.http_allowed(h, uri.port_u16()));
        if !allowed {
            tracing::warn!(uri = %uri, "outbound HTTP denied: not granted with --allow-http");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}
