//! The HTTP/1.1 server in front of a chain: hyper on nanopod's accept loop,
//! the access log, and the status a failed request gets (504 past its
//! timeout, 500 otherwise).

use crate::handler::HandlerFailure;
use crate::stage::{Peer, Stage};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use nanopod_host::net::accept_until;
use nanopod_proxy_wasm::{Metrics, ProxyFilter};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use wasmtime_wasi_http::WasiBody;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `front` on `listener` until `shutdown` completes, then stops
/// accepting, lets requests in flight finish, and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    front: Arc<Stage>,
    shutdown: impl Future<Output = ()>,
) {
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
}

/// Runs one request through the chain and writes the access log line.
async fn respond(
    front: Arc<Stage>,
    req: http::Request<Incoming>,
    peer: SocketAddr,
) -> http::Response<WasiBody> {
    let start = Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    if let Some(problem) = malformed(&req) {
        tracing::info!(target: "nanopod::access", "{peer} \"{method} {path}\" 400 ({problem})");
        return plain(
            http::StatusCode::BAD_REQUEST,
            &format!("bad request: {problem}"),
        );
    }
    let mut req = with_absolute_uri(req.map(|body| body.map_err(Into::into).boxed_unsync()));
    req.extensions_mut().insert(Peer(peer));
    let response = match front.handle(req).await {
        Ok(response) => response,
        Err(failure) => {
            tracing::error!(%peer, "{method} {path}: {failure}");
            let status = match failure {
                HandlerFailure::Timeout { .. }
                | HandlerFailure::ErrorCode {
                    code: ErrorCode::HttpResponseTimeout | ErrorCode::ConnectionReadTimeout,
                    ..
                } => http::StatusCode::GATEWAY_TIMEOUT,
                HandlerFailure::BodyTooLarge { .. }
                | HandlerFailure::ErrorCode {
                    code: ErrorCode::HttpRequestBodySize(_),
                    ..
                } => http::StatusCode::PAYLOAD_TOO_LARGE,
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

/// What makes a request one nanopod answers with 400 itself, before any
/// handler sees it: a target that is not a path (`OPTIONS *`, or an
/// absolute URI naming another host than `Host`), or a `Host` header that
/// is not an authority.
fn malformed(req: &http::Request<Incoming>) -> Option<&'static str> {
    if !req.uri().path().starts_with('/') {
        return Some("the request target must be a path");
    }
    match req.headers().get(http::header::HOST) {
        Some(host) => match host.to_str().ok().map(str::parse::<http::uri::Authority>) {
            Some(Ok(_)) => None,
            _ => Some("the Host header is not HOST[:PORT]"),
        },
        None => None,
    }
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

/// Serves `GET /metrics` on `listener` until `stop` completes: every
/// filter's metrics in the Prometheus text format, and each proxy-wasm
/// filter's VM memory (`nanopod_filter_memory_bytes`).
pub(crate) async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    filters: Vec<ProxyFilter>,
    stop: impl Future<Output = ()>,
) {
    accept_until(listener, stop, move |stream, _peer, _stopping| {
        let metrics = metrics.clone();
        let filters = filters.clone();
        async move {
            let service = service_fn(move |req: http::Request<Incoming>| {
                let text = if req.uri().path() == "/metrics" {
                    let mut text = metrics.prometheus();
                    text.push_str("# TYPE nanopod_filter_memory_bytes gauge\n");
                    for f in &filters {
                        for (vm, bytes) in f.memory_sizes().iter().enumerate() {
                            text.push_str(&format!(
                                "nanopod_filter_memory_bytes{{filter=\"{}\",vm=\"{vm}\"}} {bytes}\n",
                                f.name()
                            ));
                        }
                    }
                    Some(text)
                } else {
                    None
                };
                async move {
                    let response = match text {
                        Some(text) => {
                            let mut r = http::Response::new(
                                Full::new(Bytes::from(text))
                                    .map_err(|never: Infallible| match never {})
                                    .boxed_unsync(),
                            );
                            r.headers_mut().insert(
                                http::header::CONTENT_TYPE,
                                http::HeaderValue::from_static("text/plain; version=0.0.4"),
                            );
                            r
                        }
                        None => plain(http::StatusCode::NOT_FOUND, "Not Found"),
                    };
                    Ok::<_, Infallible>(response)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!("metrics connection ended: {e}");
            }
        }
    })
    .await;
}
