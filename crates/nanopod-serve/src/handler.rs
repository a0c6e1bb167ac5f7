//! One `wasi:http` handler component of a serve chain.
//!
//! A WASI 0.2 `incoming-handler` gets a fresh instance per request, with its
//! own store, grants and limits (or, with `reuse = N`, an instance that
//! takes up to N requests in turn); a middleware's outbound requests go to
//! the next stage in the same process instead of the network (WASI 0.2
//! cannot compose an exported `incoming-handler` into an imported
//! `outgoing-handler` statically, so the host links them). A WASI 0.3
//! `wasi:http/handler` is run by wasmtime-wasi-http's `ProxyHandler`
//! ([`crate::p3`]).

use crate::error::ServeError;
use crate::p3::Instances;
use crate::stage::Stage;
use nanopod_host::linker::prepare;
use nanopod_host::pool::Idle;
use nanopod_host::store::Guarded;
use nanopod_host::{Deadline, Grants, GuestFailure, HostEngine, HostState, InterfaceName};
use std::sync::Arc;
use wasmtime::Store;
use wasmtime::component::{Component, Linker};
use wasmtime_wasi_http::WasiBody;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{ExpirationError, ProxyHandler};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p3::bindings::ServicePre;

/// How WASI 0.3 handlers are chained, for errors.
const P3_CHAINS: &str = "WASI 0.3 middlewares compose statically: link each one's `wasi:http/handler` import to the next with `[[link]]` and serve the outermost, instead of a `[serve] chain`";

/// One HTTP handler component of a serve chain.
pub(crate) struct Handler {
    name: String,
    engine: HostEngine,
    guest: Guest,
    grants: Grants,
    next: Option<Arc<Stage>>,
}

/// An instance of a WASI 0.2 handler kept for its next request, and how
/// many it has taken.
struct Kept {
    store: Store<HostState>,
    proxy: wasmtime_wasi_http::p2::bindings::Proxy,
    served: usize,
}

/// Which `wasi:http` the component serves.
enum Guest {
    /// WASI 0.2 `wasi:http/incoming-handler`, with the instances kept for
    /// more requests (with `reuse`).
    P2 {
        pre: ProxyPre<HostState>,
        reuse: usize,
        idle: Idle<Kept>,
    },
    /// WASI 0.3 `wasi:http/handler`, run by wasmtime-wasi-http's handler.
    P3(ProxyHandler<Instances>),
}

/// Why a handler gave no response.
#[derive(Debug, thiserror::Error)]
pub enum HandlerFailure {
    /// The guest trapped, hit a limit, or could not be instantiated.
    #[error("`{handler}`: {reason}")]
    Guest {
        /// The handler.
        handler: String,
        /// What happened, in one line.
        reason: String,
    },
    /// The guest answered with a `wasi:http` error code instead of a
    /// response.
    #[error("`{handler}` answered with the error {code:?}")]
    ErrorCode {
        /// The handler.
        handler: String,
        /// Its error code.
        code: ErrorCode,
    },
    /// The request took longer than the handler's `timeout`.
    #[error("`{handler}` ran past its timeout")]
    Timeout {
        /// The handler.
        handler: String,
    },
    /// A body a filter buffers grew past its bound.
    #[error("`{handler}`: the body is larger than a filter buffers")]
    BodyTooLarge {
        /// The filter.
        handler: String,
    },
}

impl Handler {
    /// Prepares `component` (compiled for `engine`), linked by `linker`, to
    /// handle requests under `grants`, passing its outbound requests to
    /// `next` when given.
    pub(crate) fn new(
        name: &str,
        engine: &HostEngine,
        linker: &Linker<HostState>,
        component: &Component,
        grants: Grants,
        next: Option<Arc<Stage>>,
    ) -> Result<Self, ServeError> {
        let refuse = |problem: String| ServeError::Handler {
            name: name.to_string(),
            problem,
        };
        let p3_handler = InterfaceName::parse("wasi:http/handler@0.3.0");
        if let Some((import, _)) = component
            .component_type()
            .imports(engine)
            .find(|(i, _)| InterfaceName::parse(i).matches(&p3_handler))
        {
            return Err(refuse(format!("imports `{import}`: {P3_CHAINS}")));
        }
        let pre = prepare(linker, component).map_err(|source| ServeError::Link {
            name: name.to_string(),
            source,
        })?;
        let guest = match ProxyPre::new(pre.clone()) {
            Ok(p2) => Guest::P2 {
                pre: p2,
                reuse: 1,
                idle: Idle::new(),
            },
            Err(p2_error) => {
                let Ok(p3) = ServicePre::new(pre) else {
                    return Err(refuse(format!(
                        "does not export `wasi:http/incoming-handler@0.2` or `wasi:http/handler@0.3`, so it cannot serve HTTP: {p2_error}"
                    )));
                };
                if next.is_some() {
                    return Err(refuse(format!("is a WASI 0.3 handler: {P3_CHAINS}")));
                }
                Guest::P3(ProxyHandler::new(Instances::new(
                    engine.clone(),
                    p3,
                    grants.clone(),
                    1,
                )))
            }
        };
        Ok(Handler {
            name: name.to_string(),
            engine: engine.clone(),
            guest,
            grants,
            next,
        })
    }

    /// Lets one instance handle up to `requests` requests in turn instead
    /// of making a fresh one per request: faster, but the requests one
    /// instance handles share its memory, so whatever one leaves there the
    /// next can see. WASI 0.3 handlers only: a WASI 0.2 middleware chain is
    /// linked through fresh instances.
    pub(crate) fn reuse_instances(&mut self, requests: usize) -> Result<(), ServeError> {
        let Guest::P3(handler) = &self.guest else {
            return Err(ServeError::Reuse(self.name.clone()));
        };
        let reused = handler.state().with_requests_per_instance(requests);
        self.guest = Guest::P3(ProxyHandler::new(reused));
        Ok(())
    }

    /// Lets one instance take up to `requests` requests in turn, whichever
    /// `wasi:http` it serves (a pod's `reuse = N`).
    pub(crate) fn reuse_member(&mut self, requests: usize) -> Result<(), ServeError> {
        match &mut self.guest {
            Guest::P2 { reuse, .. } => {
                *reuse = requests.max(1);
                Ok(())
            }
            Guest::P3(_) => self.reuse_instances(requests),
        }
    }

    /// Handles one request in a fresh instance (or, after
    /// [`Handler::reuse_instances`], in one that may have served others).
    /// (Boxed: a chain's handlers call each other through it.)
    pub(crate) async fn handle(
        self: Arc<Self>,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HandlerFailure> {
        self.handle_request(request).await
    }

    /// What a guest error means for the request: past the deadline it is
    /// the timeout (the epoch check stopped the guest); otherwise the
    /// guest's own failure.
    fn failure(&self, e: anyhow::Error, deadline: Deadline) -> HandlerFailure {
        match GuestFailure::classify(&e) {
            Some(GuestFailure::Timeout) => self.timeout(),
            _ if deadline.has_passed() => self.timeout(),
            failure => HandlerFailure::Guest {
                handler: self.name.clone(),
                reason: failure.map_or_else(|| format!("{e:#}"), |f| f.to_string()),
            },
        }
    }

    fn timeout(&self) -> HandlerFailure {
        HandlerFailure::Timeout {
            handler: self.name.clone(),
        }
    }

    async fn handle_request(
        self: Arc<Self>,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HandlerFailure> {
        let deadline = Deadline::after(self.grants.limits.timeout);
        let (pre, kept) = match &self.guest {
            Guest::P2 { pre, idle, .. } => (pre.clone(), idle.take()),
            Guest::P3(handler) => {
                // The store's deadline restarts with the request (see
                // `crate::p3`); this one stops a guest that waits.
                let response = deadline.within(handler.handle((), request)).await;
                return match response {
                    Ok(Ok(response)) => Ok(response),
                    Err(_) => Err(self.timeout()),
                    Ok(Err(e)) if e.downcast_ref::<ExpirationError>().is_some() => {
                        Err(self.timeout())
                    }
                    Ok(Err(e)) => Err(self.failure(e.into(), deadline)),
                };
            }
        };
        let (mut store, proxy, served) = match kept {
            Some(kept) => (kept.store, Some(kept.proxy), kept.served),
            None => (self.new_store(deadline)?, None, 0),
        };
        store.data_mut().guard().restart(deadline);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .map_err(|e| self.failure(e.into(), deadline))?;
        let out = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(|e| self.failure(e.into(), deadline))?;
        let handler = self.clone();
        let mut task = tokio::spawn(async move {
            let proxy = match proxy {
                Some(proxy) => proxy,
                None => pre.instantiate_async(&mut store).await?,
            };
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await?;
            // The guest returned: its instance may take the next request.
            handler.keep(Kept {
                store,
                proxy,
                served: served + 1,
            });
            Ok::<(), wasmtime::Error>(())
        });
        let response = async {
            match receiver.await {
                Ok(Ok(response)) => Ok(response),
                Ok(Err(code)) => Err(HandlerFailure::ErrorCode {
                    handler: self.name.clone(),
                    code,
                }),
                // The guest returned or trapped without answering.
                Err(_) => Err(self.failure(
                    match (&mut task).await {
                        Ok(Ok(())) => anyhow::anyhow!("returned without a response"),
                        Ok(Err(e)) => e.into(),
                        Err(join) => anyhow::anyhow!("{join}"),
                    },
                    deadline,
                )),
            }
        };
        match deadline.within(response).await {
            Ok(result) => result,
            Err(_) => {
                task.abort();
                Err(self.timeout())
            }
        }
    }

    /// A store for a new instance, its outbound requests routed to the
    /// next stage of the chain.
    fn new_store(&self, deadline: Deadline) -> Result<Store<HostState>, HandlerFailure> {
        let mut store = self
            .engine
            .store(&self.grants, deadline)
            .map_err(|e| self.failure(e.into(), deadline))?;
        if let Some(next) = &self.next {
            let next = next.clone();
            store.data_mut().route_http_to(Arc::new(move |req| {
                let next = next.clone();
                Box::pin(async move {
                    next.handle(req).await.map_err(|failure| {
                        tracing::warn!("{failure}");
                        // What the outer handler sees, and passes on: a
                        // timeout stays a timeout (504 at the edge).
                        match failure {
                            HandlerFailure::Timeout { .. } => {
                                wasmtime_wasi_http::Error::HttpResponseTimeout
                            }
                            HandlerFailure::BodyTooLarge { .. } => {
                                wasmtime_wasi_http::Error::HttpRequestBodySize(None)
                            }
                            other => {
                                wasmtime_wasi_http::Error::InternalError(Some(other.to_string()))
                            }
                        }
                    })
                })
            }));
        }
        Ok(store)
    }

    /// Keeps a WASI 0.2 instance for its next request, if it may take one.
    fn keep(&self, kept: Kept) {
        if let Guest::P2 { reuse, idle, .. } = &self.guest
            && kept.served < *reuse
        {
            idle.put(kept);
        }
    }
}
