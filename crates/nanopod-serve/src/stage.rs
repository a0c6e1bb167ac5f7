//! A serve chain is a list of stages, outermost first, each passing the
//! request on to the next: proxy-wasm filters and synchronous component
//! filters (calls into long-lived instances), `wasi:http` middlewares (a
//! handler whose outbound requests go to the next stage), and the app.

use crate::component_filter::ComponentFilter;
use crate::handler::{Handler, HandlerFailure};
use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use nanopod_proxy_wasm::{FilterFailure, ProxyFilter};
use std::net::SocketAddr;
use std::sync::Arc;
use wasmtime_wasi_http::WasiBody;

/// The client's address, carried in a request's extensions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Peer(pub(crate) SocketAddr);

/// One stage of a chain.
pub(crate) enum Stage {
    /// A `wasi:http` handler (its next stage, if any, inside it).
    Handler(Arc<Handler>),
    /// A proxy-wasm filter.
    ProxyWasm {
        filter: ProxyFilter,
        next: Arc<Stage>,
    },
    /// A synchronous component filter.
    Component {
        filter: Box<ComponentFilter>,
        next: Arc<Stage>,
    },
}

impl Stage {
    /// Runs the request through this stage and those after it. (Boxed: the
    /// stages call each other.)
    pub(crate) fn handle(
        self: Arc<Self>,
        request: http::Request<WasiBody>,
    ) -> BoxFuture<'static, Result<http::Response<WasiBody>, HandlerFailure>> {
        Box::pin(async move {
            match &*self {
                Stage::Handler(handler) => handler.clone().handle(request).await,
                Stage::ProxyWasm { filter, next } => {
                    let peer = request.extensions().get::<Peer>().map(|p| p.0);
                    let next = next.clone();
                    filter
                        .handle(request, peer, move |r| next.handle(r))
                        .await
                        .map_err(|failure| match failure {
                            FilterFailure::Filter(reason) => HandlerFailure::Guest {
                                handler: filter.name().to_string(),
                                reason,
                            },
                            FilterFailure::BodyTooLarge => HandlerFailure::BodyTooLarge {
                                handler: filter.name().to_string(),
                            },
                            FilterFailure::Next(e) => e,
                        })
                }
                Stage::Component { filter, next } => {
                    let peer = request.extensions().get::<Peer>().map(|p| p.0);
                    let (parts, body) = request.into_parts();
                    let (parts, reply) = filter.on_request(parts, peer)?;
                    if let Some((reply, body)) = reply {
                        return Ok(reply.map(|()| full(body)));
                    }
                    let head = copy_head(&parts);
                    let response = next
                        .clone()
                        .handle(http::Request::from_parts(parts, body))
                        .await?;
                    let (parts, body) = response.into_parts();
                    let parts = filter.on_response(head, parts)?;
                    Ok(http::Response::from_parts(parts, body))
                }
            }
        })
    }
}

/// A request head without its body or extensions, for the response phase.
fn copy_head(parts: &http::request::Parts) -> http::request::Parts {
    let (mut copy, ()) = http::Request::new(()).into_parts();
    copy.method = parts.method.clone();
    copy.uri = parts.uri.clone();
    copy.version = parts.version;
    copy.headers = parts.headers.clone();
    copy
}

/// `bytes` as a body.
pub(crate) fn full(bytes: Vec<u8>) -> WasiBody {
    Full::new(Bytes::from(bytes))
        .map_err(|never| match never {})
        .boxed_unsync()
}
