//! `nanopod serve`: `wasi:http` handlers behind a real HTTP/1.1 server
//! (WASI 0.2 here; WASI 0.3 handlers in [`crate::serve_p3`]).
//!
//! Each request gets a fresh instance (from the pooling allocator when the
//! engine has it) with its own store, grants and limits. A chain of
//! middlewares is a list of [`Handler`]s: each middleware's outbound
//! requests go to the next handler in the same process instead of the
//! network (WASI 0.2 cannot compose an exported `incoming-handler` into an
//! imported `outgoing-handler` statically, so the host links them).

use crate::serve_p3::Instances;
use anyhow::{Context, Result};
use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use nanopod_host::engine::{EPOCH_TICK, NO_DEADLINE, ticks_for};
use nanopod_host::net::accept_until;
use nanopod_host::{Grants, GuestFailure, HostState};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};
use wasmtime_wasi_http::WasiBody;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{ExpirationError, ProxyHandler};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p3::bindings::ServicePre;

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How WASI 0.3 handlers are chained, for errors.
const P3_CHAINS: &str = "WASI 0.3 middlewares compose statically: link each one's `wasi:http/handler` import to the next with `[[link]]` and serve the outermost, instead of a `[serve] chain`";

/// One HTTP handler component of a serve chain.
pub struct Handler {
    name: String,
    engine: Engine,
    guest: Guest,
    grants: Grants,
    next: Option<Arc<Handler>>,
}

/// Which `wasi:http` the component serves.
enum Guest {
    /// WASI 0.2 `wasi:http/incoming-handler`.
    P2(ProxyPre<HostState>),
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
}

impl Handler {
    /// Prepares `component`, linked by `linker`, to handle requests under
    /// `grants`, passing its outbound requests to `next` when given.
    pub fn new(
        name: &str,
        linker: &Linker<HostState>,
        component: &Component,
        grants: Grants,
        next: Option<Arc<Handler>>,
    ) -> Result<Self> {
        let engine = component.engine();
        if let Some((import, _)) = component
            .component_type()
            .imports(engine)
            .find(|(i, _)| i.starts_with("wasi:http/handler@0.3"))
        {
            anyhow::bail!("`{name}` imports `{import}`: {P3_CHAINS}");
        }
        let pre = linker
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("`{name}` cannot be linked"))?;
        let guest = match ProxyPre::new(pre.clone()) {
            Ok(p2) => Guest::P2(p2),
            Err(p2_error) => {
                let Ok(p3) = ServicePre::new(pre) else {
                    anyhow::bail!(
                        "`{name}` does not export `wasi:http/incoming-handler@0.2` or `wasi:http/handler@0.3`, so it cannot serve HTTP: {p2_error}"
                    );
                };
                if next.is_some() {
                    anyhow::bail!("`{name}` is a WASI 0.3 handler: {P3_CHAINS}");
                }
                Guest::P3(ProxyHandler::new(Instances {
                    engine: component.engine().clone(),
                    pre: p3,
                    grants: grants.clone(),
                    requests_per_instance: 1,
                }))
            }
        };
        Ok(Handler {
            name: name.to_string(),
            engine: component.engine().clone(),
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
    pub fn reuse_instances(&mut self, requests: usize) -> Result<()> {
        let Guest::P3(handler) = &self.guest else {
            anyhow::bail!(
                "`{}` is a WASI 0.2 handler: only WASI 0.3 handlers reuse instances",
                self.name
            );
        };
        let state = handler.state();
        self.guest = Guest::P3(ProxyHandler::new(Instances {
            engine: state.engine.clone(),
            pre: state.pre.clone(),
            grants: state.grants.clone(),
            requests_per_instance: requests.max(1),
        }));
        Ok(())
    }

    /// Handles one request in a fresh instance (or, after
    /// [`Handler::reuse_instances`], in one that may have served others).
    /// (Boxed: a chain's handlers call each other through it.)
    pub fn handle(
        self: Arc<Self>,
        request: http::Request<WasiBody>,
    ) -> BoxFuture<'static, Result<http::Response<WasiBody>, HandlerFailure>> {
        Box::pin(self.handle_in_fresh_instance(request))
    }

    async fn handle_in_fresh_instance(
        self: Arc<Self>,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HandlerFailure> {
        // The epoch deadline and the wall-clock timeout race to stop a
        // request past `timeout`: either way it is a timeout (504).
        let guest = |e: anyhow::Error| match GuestFailure::classify(&e) {
            Some(GuestFailure::Timeout) => HandlerFailure::Timeout {
                handler: self.name.clone(),
            },
            failure => HandlerFailure::Guest {
                handler: self.name.clone(),
                reason: failure.map_or_else(|| format!("{e:#}"), |f| f.to_string()),
            },
        };
        let pre = match &self.guest {
            Guest::P2(pre) => pre.clone(),
            Guest::P3(handler) => {
                let started = Instant::now();
                let response = handler.handle((), request);
                let timeout = self.grants.limits.timeout;
                let result = match timeout {
                    None => response.await,
                    Some(t) => tokio::time::timeout(t, response)
                        .await
                        .unwrap_or_else(|_| Err(ExpirationError.into())),
                };
                // An epoch interruption reaches us only as "worker trapped":
                // a failure once the timeout (less one epoch tick) has
                // passed is the timeout.
                let timed_out = timeout.is_some_and(|t| started.elapsed() + EPOCH_TICK >= t);
                return result.map_err(|e| {
                    if timed_out || e.downcast_ref::<ExpirationError>().is_some() {
                        HandlerFailure::Timeout {
                            handler: self.name.clone(),
                        }
                    } else {
                        guest(e.into())
                    }
                });
            }
        };
        let mut state = HostState::new(&self.grants).map_err(guest)?;
        if let Some(next) = &self.next {
            let next = next.clone();
            state.route_http_to(Arc::new(move |req| {
                let next = next.clone();
                Box::pin(async move {
                    next.handle(req).await.map_err(|failure| {
                        tracing::warn!("{failure}");
                        wasmtime_wasi_http::Error::InternalError(Some(failure.to_string()))
                    })
                })
            }));
        }
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(self.grants.limits.timeout.map_or(NO_DEADLINE, ticks_for));
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .map_err(|e| guest(e.into()))?;
        let out = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(|e| guest(e.into()))?;
        let mut task = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });
        let response = async {
            match receiver.await {
                Ok(Ok(response)) => Ok(response),
                Ok(Err(code)) => Err(HandlerFailure::ErrorCode {
                    handler: self.name.clone(),
                    code,
                }),
                // The guest returned or trapped without answering.
                Err(_) => Err(guest(match (&mut task).await {
                    Ok(Ok(())) => anyhow::anyhow!("returned without a response"),
                    Ok(Err(e)) => e.into(),
                    Err(join) => anyhow::anyhow!("{join}"),
                })),
            }
        };
        let Some(timeout) = self.grants.limits.timeout else {
            return response.await;
        };
        match tokio::time::timeout(timeout, response).await {
            Ok(result) => result,
            Err(_) => {
                task.abort();
                Err(HandlerFailure::Timeout {
                    handler: self.name.clone(),
                })
            }
        }
    }
}

/// Serves `front` on `listener` until `shutdown` completes, then stops
/// accepting, lets requests in flight finish, and returns.
pub async fn serve(
    listener: TcpListener,
    front: Arc<Handler>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    accept_until(listener, shutdown, move |stream, peer, mut stopping| {
        let front = front.clone();
        async move {
            let service = service_fn(move |req| {
                let front = front.clone();
                async move { Ok::<_, Infallible>(respond(front, req, peer).await) }
            });
            // A client that trickles its headers (slowloris) is cut off.
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        }
    })
    .await;
    Ok(())
}

/// Runs one request through the chain and writes the access log line.
async fn respond(
    front: Arc<Handler>,
    req: http::Request<Incoming>,
    peer: SocketAddr,
) -> http::Response<WasiBody> {
    let start = Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let req = with_absolute_uri(req.map(|body| body.map_err(Into::into).boxed_unsync()));
    let response = match front.handle(req).await {
        Ok(response) => response,
        Err(failure) => {
            tracing::error!(%peer, "{method} {path}: {failure}");
            let status = match failure {
                HandlerFailure::Timeout { .. } => http::StatusCode::GATEWAY_TIMEOUT,
                _ => http::StatusCode::INTERNAL_SERVER_ERROR,
            };
            plain(status, status.canonical_reason().unwrap_or("error"))
        }
    };
    tracing::info!(
        target: "nanopod::access",
        "{peer} \"{method} {path}\" {} {:.1}ms",
        response.status().as_u16(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    response
}

/// HTTP/1.1 requests carry only a path; `wasi:http` wants the scheme and
/// authority too, taken from the `Host` header.
fn with_absolute_uri(mut req: http::Request<WasiBody>) -> http::Request<WasiBody> {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    if let Ok(uri) = http::Uri::builder()
        .scheme("http")
        .authority(host)
        .path_and_query(path)
        .build()
    {
        *req.uri_mut() = uri;
    }
    req
}

fn plain(status: http::StatusCode, text: &str) -> http::Response<WasiBody> {
    let body = Full::new(Bytes::from(format!("{text}\n")))
        .map_err(|never: Infallible| match never {})
        .boxed_unsync();
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    response
}
