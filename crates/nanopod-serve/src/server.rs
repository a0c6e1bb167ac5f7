//! The HTTP/1.1 server in front of a chain: hyper on nanopod's accept loop,
//! the access log, and the status a failed request gets (504 past its
//! timeout, 500 otherwise).

use crate::body::{GuardedBody, Verdict};
use crate::handler::HandlerFailure;
use crate::stage::{Peer, Stage};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Body as _;
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

/// What one server lets its clients hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// The largest request body, in bytes: a larger `Content-Length` is
    /// answered 413 before any handler runs, and a streamed body is cut
    /// (and answered 413) when it passes it.
    pub max_body: u64,
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
}

/// The default `--max-connections`: below what the instance pool holds
/// for chains a few instances deep.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_body: crate::body::DEFAULT_MAX_BODY,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `front` on `listener` until `shutdown` completes, then stops
/// accepting, lets requests in flight finish (within the shutdown grace),
/// and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    front: Arc<Stage>,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    accept_until(listener, shutdown, move |stream, peer, mut stopping| {
        let front = front.clone();
        let slot = slots.clone().try_acquire_owned();
        async move {
            let Ok(_slot) = slot else {
                tracing::warn!(%peer, "refused: {} connections already open (--max-connections)", limits.max_connections);
                refuse_busy(stream).await;
                return;
            };
            let service = service_fn(move |req| {
                let front = front.clone();
                async move { Ok::<_, Infallible>(respond(front, req, peer, limits.max_body).await) }
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

/// Answers a connection past `--max-connections` with 503 and closes it.
async fn refuse_busy(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 20\r\nretry-after: 1\r\nconnection: close\r\n\r\nService Unavailable\n";
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), stream.write_all(BUSY)).await;
    let _ = stream.shutdown().await;
}

/// Runs one request through the chain and writes the access log line.
async fn respond(
    front: Arc<Stage>,
    req: http::Request<Incoming>,
    peer: SocketAddr,
    max_body: u64,
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
    if req.body().size_hint().lower() > max_body {
        tracing::info!(target: "nanopod::access", "{peer} \"{method} {path}\" 413 (body over --max-body {max_body})");
        return plain(http::StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");
    }
    let verdict = Verdict::default();
    let mut req = with_absolute_uri(
        req.map(|body| GuardedBody::new(body, max_body, verdict.clone()).boxed_unsync()),
    );
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
    // The body was cut: whatever the chain made of that, the client hears
    // why.
    let response = match verdict.status() {
        Some(status) => plain(status, status.canonical_reason().unwrap_or("error")),
        None => response,
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
