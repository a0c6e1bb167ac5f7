//! One request through a proxy-wasm filter, in Envoy's order: a context is
//! created; request headers, body (streamed, or buffered while the filter
//! pauses) and trailers; the rest of the chain; response headers, body
//! and trailers; then `proxy_on_log`, `proxy_on_done` and
//! `proxy_on_delete` once the response has been sent (or dropped). A
//! filter that pauses is resumed by `proxy_continue_stream`, after the
//! HTTP calls it is waiting for have answered; one that replies itself
//! (`proxy_send_local_response`) ends the request there, and sees its own
//! reply in its response callbacks.

use crate::abi::{Action, MapType};
use crate::plugin::{CallFailure, Inner, ProxyFilter};
use crate::stream::{Stream, StreamInfo, StreamState};
use crate::upstream::CallResponse;
use crate::vm::{Phase, Trapped, Vm};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, ready};
use wasmtime_wasi_http::WasiBody;

/// The largest body nanopod buffers for a paused filter.
pub const MAX_BUFFERED_BODY: usize = 16 << 20;

/// Why a request did not get through a filter.
#[derive(Debug)]
pub enum FilterFailure<E> {
    /// The filter trapped or could not start (the request gets 500).
    Filter(String),
    /// A body the filter paused on grew past [`MAX_BUFFERED_BODY`] (413).
    BodyTooLarge,
    /// The rest of the chain failed.
    Next(E),
}

/// A stream's context in one VM, shared by the request's driver and its
/// bodies; dropping the last of them ends the stream in the filter.
struct Context {
    filter: Arc<Inner>,
    slot: usize,
    generation: u64,
    id: u32,
    stream: Mutex<Stream>,
}

impl Context {
    fn call<R>(
        &self,
        f: impl FnOnce(&mut Vm, &mut Stream, u32) -> Result<R, Trapped>,
    ) -> Result<R, CallFailure> {
        let mut stream = self.stream.lock().expect("stream");
        self.filter
            .with_vm(self.slot, self.generation, |vm| f(vm, &mut stream, self.id))
    }

    fn stream(&self) -> std::sync::MutexGuard<'_, Stream> {
        self.stream.lock().expect("stream")
    }

    /// `proxy_on_*_body` with `chunk` as the buffered body (the filter may
    /// replace it).
    fn body(&self, phase: Phase, chunk: &mut Vec<u8>, end: bool) -> Result<Action, CallFailure> {
        let mut stream = self.stream();
        swap_body(&mut stream, phase, chunk);
        let size = body_of(&mut stream, phase).len();
        let result = self.filter.with_vm(self.slot, self.generation, |vm| {
            vm.on_body(&mut stream, self.id, phase, size, end)
        });
        swap_body(&mut stream, phase, chunk);
        result
    }
}

fn body_of(stream: &mut StreamState, phase: Phase) -> &mut Vec<u8> {
    match phase {
        Phase::Request => &mut stream.request_body,
        Phase::Response => &mut stream.response_body,
    }
}

fn swap_body(stream: &mut StreamState, phase: Phase, chunk: &mut Vec<u8>) {
    std::mem::swap(body_of(stream, phase), chunk);
}

impl Drop for Context {
    fn drop(&mut self) {
        let stream = self.stream.get_mut().unwrap_or_else(|e| e.into_inner());
        let finished = self
            .filter
            .with_vm(self.slot, self.generation, |vm| vm.finish(stream, self.id));
        if let Err(e @ (CallFailure::Trapped(_) | CallFailure::Start(_))) = finished {
            tracing::warn!("filter `{}`: ending a stream: {e}", self.filter.shared.name);
        }
    }
}

fn failed<E>(e: CallFailure) -> FilterFailure<E> {
    FilterFailure::Filter(e.to_string())
}

impl ProxyFilter {
    /// Filters `request` (from `peer`), passing it on to `next` unless the
    /// filter replies itself, and filters the response.
    pub async fn handle<N, F, E>(
        &self,
        request: http::Request<WasiBody>,
        peer: Option<SocketAddr>,
        next: N,
    ) -> Result<http::Response<WasiBody>, FilterFailure<E>>
    where
        N: FnOnce(http::Request<WasiBody>) -> F,
        F: Future<Output = Result<http::Response<WasiBody>, E>>,
    {
        let inner = &self.inner;
        let (slot, generation) = inner.pick();
        let id = inner
            .with_vm(slot, generation, |vm| vm.create_context())
            .map_err(failed)?;
        let (parts, body) = request.into_parts();
        let info = StreamInfo::new(&parts.headers, peer);
        let ctx = Arc::new(Context {
            filter: inner.clone(),
            slot,
            generation,
            id,
            stream: Mutex::new(Box::new(StreamState {
                request: Some(parts),
                info: Some(info),
                ..Default::default()
            })),
        });
        let request_ends = body.is_end_stream();
        let action = ctx
            .call(|vm, s, id| {
                let count = s.count(MapType::RequestHeaders);
                vm.on_headers(s, id, Phase::Request, count, request_ends)
            })
            .map_err(failed)?;
        let paused = wait(&ctx, Phase::Request, action).await.map_err(failed)?;
        if ctx.stream().local_response.is_some() {
            return reply_locally(ctx).map_err(failed);
        }
        let body = if paused && !request_ends {
            let collected = collect(FilterBody::new(body, ctx.clone(), Phase::Request)).await?;
            if ctx.stream().local_response.is_some() {
                return reply_locally(ctx).map_err(failed);
            }
            full(collected)
        } else if request_ends {
            body
        } else {
            FilterBody::new(body, ctx.clone(), Phase::Request).boxed_unsync()
        };
        let outgoing = {
            let mut stream = ctx.stream();
            let parts = stream.request.as_mut().expect("the request head");
            http::Request::from_parts(copy_request(parts), body)
        };
        let response = next(outgoing).await.map_err(FilterFailure::Next)?;
        let (parts, body) = response.into_parts();
        let response_ends = body.is_end_stream();
        ctx.stream().response = Some(parts);
        let action = ctx
            .call(|vm, s, id| {
                let count = s.count(MapType::ResponseHeaders);
                vm.on_headers(s, id, Phase::Response, count, response_ends)
            })
            .map_err(failed)?;
        let paused = wait(&ctx, Phase::Response, action).await.map_err(failed)?;
        if ctx.stream().local_response.is_some() {
            return reply_locally(ctx).map_err(failed);
        }
        let body = if paused && !response_ends {
            let collected = collect(FilterBody::new(body, ctx.clone(), Phase::Response)).await?;
            if ctx.stream().local_response.is_some() {
                return reply_locally(ctx).map_err(failed);
            }
            let mut stream = ctx.stream();
            let parts = stream.response.as_mut().expect("the response head");
            parts
                .headers
                .insert(http::header::CONTENT_LENGTH, collected.len().into());
            drop(stream);
            // The context ends when the reply has been sent.
            FilterBody::done(full(collected), ctx.clone()).boxed_unsync()
        } else {
            FilterBody::new(body, ctx.clone(), Phase::Response).boxed_unsync()
        };
        let mut stream = ctx.stream();
        let parts = stream.response.as_mut().expect("the response head");
        Ok(http::Response::from_parts(copy_response(parts), body))
    }
}

/// Delivers the answers of the HTTP calls a paused filter waits for, until
/// it resumes the stream or replies; returns whether it is still paused
/// (having nothing more to wait for).
async fn wait(ctx: &Context, phase: Phase, action: Action) -> Result<bool, CallFailure> {
    let index = match phase {
        Phase::Request => 0,
        Phase::Response => 1,
    };
    loop {
        let call = {
            let mut s = ctx.stream();
            if action == Action::Continue || s.resumed[index] || s.local_response.is_some() {
                return Ok(false);
            }
            match s.calls.pop() {
                Some(call) => call,
                None => return Ok(true),
            }
        };
        let answer = call.answer.await.unwrap_or_else(|e| CallResponse {
            failure: Some(e.to_string()),
            ..Default::default()
        });
        let (h, b, t) = (
            answer.header_count(),
            answer.body.len(),
            answer.trailers.len(),
        );
        ctx.stream().call_response = Some(answer);
        let delivered = ctx.call(|vm, s, _| vm.on_http_call_response(s, call.token, h, b, t));
        ctx.stream().call_response = None;
        delivered?;
    }
}

/// The filter's own reply, through its response callbacks.
fn reply_locally(ctx: Arc<Context>) -> Result<http::Response<WasiBody>, CallFailure> {
    let local = {
        let mut s = ctx.stream();
        let local = s.local_response.take().expect("a local reply");
        let mut response = http::Response::builder().status(local.status);
        for (k, v) in &local.headers {
            response = response.header(k.as_slice(), v.as_slice());
        }
        let (mut parts, ()) = response
            .body(())
            .unwrap_or_else(|_| http::Response::new(()))
            .into_parts();
        if !local.body.is_empty() && !parts.headers.contains_key(http::header::CONTENT_TYPE) {
            parts.headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain"),
            );
        }
        s.response = Some(parts);
        local
    };
    let ends = local.body.is_empty();
    ctx.call(|vm, s, id| {
        let count = s.count(MapType::ResponseHeaders);
        vm.on_headers(s, id, Phase::Response, count, ends)
    })?;
    let body = FilterBody::new(full(local.body), ctx.clone(), Phase::Response).boxed_unsync();
    let mut s = ctx.stream();
    s.local_response = None;
    let parts = s.response.as_mut().expect("the response head");
    Ok(http::Response::from_parts(copy_response(parts), body))
}

/// Everything `body` yields, bounded.
async fn collect<E>(mut body: FilterBody) -> Result<Vec<u8>, FilterFailure<E>> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| FilterFailure::Filter(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
            if out.len() > MAX_BUFFERED_BODY {
                return Err(FilterFailure::BodyTooLarge);
            }
        }
    }
    Ok(out)
}

fn full(bytes: Vec<u8>) -> WasiBody {
    Full::new(Bytes::from(bytes))
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The request head to send on: the filter's edits, the original's
/// extensions.
fn copy_request(parts: &mut http::request::Parts) -> http::request::Parts {
    let (mut copy, ()) = http::Request::new(()).into_parts();
    copy.method = parts.method.clone();
    copy.uri = parts.uri.clone();
    copy.version = parts.version;
    copy.headers = parts.headers.clone();
    copy.extensions = std::mem::take(&mut parts.extensions);
    copy
}

fn copy_response(parts: &mut http::response::Parts) -> http::response::Parts {
    let (mut copy, ()) = http::Response::new(()).into_parts();
    copy.status = parts.status;
    copy.version = parts.version;
    copy.headers = parts.headers.clone();
    copy.extensions = std::mem::take(&mut parts.extensions);
    copy
}

/// A body passed through the filter's body and trailers callbacks: what a
/// `Pause` holds back is buffered and given on with the next `Continue`
/// (or at the end).
struct FilterBody {
    inner: WasiBody,
    ctx: Arc<Context>,
    phase: Option<Phase>,
    pending: Vec<u8>,
    trailers: Option<http::HeaderMap>,
    ended: bool,
}

impl FilterBody {
    fn new(inner: WasiBody, ctx: Arc<Context>, phase: Phase) -> Self {
        FilterBody {
            inner,
            ctx,
            phase: Some(phase),
            pending: Vec::new(),
            trailers: None,
            ended: false,
        }
    }

    /// A body that has been through the filter already; it only keeps the
    /// stream's context until it is sent.
    fn done(inner: WasiBody, ctx: Arc<Context>) -> Self {
        FilterBody {
            phase: None,
            ..FilterBody::new(inner, ctx, Phase::Response)
        }
    }

    fn trap(e: CallFailure) -> wasmtime_wasi_http::Error {
        wasmtime_wasi_http::Error::InternalError(Some(format!("a filter failed: {e}")))
    }
}

impl Body for FilterBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let Some(phase) = this.phase else {
            return Pin::new(&mut this.inner).poll_frame(cx);
        };
        loop {
            if this.ended {
                return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        if this.pending.is_empty() {
                            // The frame's own buffer, without a copy when
                            // nothing else holds it.
                            this.pending = Vec::from(data);
                        } else {
                            this.pending.extend_from_slice(&data);
                        }
                        let end = this.inner.is_end_stream();
                        let action = this
                            .ctx
                            .body(phase, &mut this.pending, end)
                            .map_err(Self::trap)?;
                        if action == Action::Continue || end {
                            this.ended = end;
                            let chunk = std::mem::take(&mut this.pending);
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))));
                        }
                    }
                    Err(frame) => {
                        let Ok(trailers) = frame.into_trailers() else {
                            continue;
                        };
                        let map = match phase {
                            Phase::Request => MapType::RequestTrailers,
                            Phase::Response => MapType::ResponseTrailers,
                        };
                        let ctx = this.ctx.clone();
                        {
                            let mut s = ctx.stream();
                            match phase {
                                Phase::Request => s.request_trailers = Some(trailers),
                                Phase::Response => s.response_trailers = Some(trailers),
                            }
                        }
                        ctx.call(|vm, s, id| {
                            let count = s.count(map);
                            vm.on_trailers(s, id, phase, count)
                        })
                        .map_err(Self::trap)?;
                        let mut s = ctx.stream();
                        this.trailers = match phase {
                            Phase::Request => s.request_trailers.take(),
                            Phase::Response => s.response_trailers.take(),
                        };
                        this.ended = true;
                        if !this.pending.is_empty() {
                            let chunk = std::mem::take(&mut this.pending);
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))));
                        }
                    }
                },
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    // The end, without a frame saying so: the filter sees
                    // the rest with `end_of_stream`.
                    this.ended = true;
                    if this.pending.is_empty() {
                        continue;
                    }
                    this.ctx
                        .body(phase, &mut this.pending, true)
                        .map_err(Self::trap)?;
                    let chunk = std::mem::take(&mut this.pending);
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        if self.phase.is_none() {
            return self.inner.is_end_stream();
        }
        self.ended && self.trailers.is_none() && self.pending.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        if self.phase.is_none() {
            return self.inner.size_hint();
        }
        SizeHint::default()
    }
}
