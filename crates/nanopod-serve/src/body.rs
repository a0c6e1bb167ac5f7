//! The request body as nanopod hands it to a chain: streamed (never
//! buffered by nanopod), cut off past `--max-body` bytes, and cut off when
//! the client stops sending or sends slower than a minimum rate, so that a
//! slow or huge upload cannot hold a server's instances or memory.

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;

/// The default `--max-body`: 16 MiB.
pub const DEFAULT_MAX_BODY: u64 = 16 << 20;

/// How long a body may go without a byte.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// After this long, a body must have come at [`BODY_MIN_RATE`] on
/// average (Apache's `mod_reqtimeout` defaults).
pub const BODY_RATE_GRACE: Duration = Duration::from_secs(20);

/// Bytes per second a body must average once past [`BODY_RATE_GRACE`].
pub const BODY_MIN_RATE: u64 = 500;

/// What became of a request's body, for the status of its answer.
#[derive(Clone, Default)]
pub(crate) struct Verdict(Arc<AtomicU8>);

const TOO_LARGE: u8 = 1;
const TOO_SLOW: u8 = 2;

impl Verdict {
    /// The status nanopod answers with instead of the chain's: 413 or 408.
    pub(crate) fn status(&self) -> Option<http::StatusCode> {
        match self.0.load(Ordering::Relaxed) {
            TOO_LARGE => Some(http::StatusCode::PAYLOAD_TOO_LARGE),
            TOO_SLOW => Some(http::StatusCode::REQUEST_TIMEOUT),
            _ => None,
        }
    }

    fn set(&self, what: u8) {
        self.0.store(what, Ordering::Relaxed);
    }
}

/// A request body with the bounds above.
pub(crate) struct GuardedBody {
    inner: Incoming,
    max: u64,
    received: u64,
    started: Instant,
    /// Armed when the body first has to wait: a request whose body is
    /// already in (most of them) never touches the timer wheel.
    idle: Option<Pin<Box<Sleep>>>,
    verdict: Verdict,
}

impl GuardedBody {
    /// `inner`, bounded to `max` bytes; `verdict` learns why it was cut.
    pub(crate) fn new(inner: Incoming, max: u64, verdict: Verdict) -> Self {
        GuardedBody {
            inner,
            max,
            received: 0,
            started: Instant::now(),
            idle: None,
            verdict,
        }
    }

    fn too_slow(&self) -> bool {
        let elapsed = self.started.elapsed();
        elapsed > BODY_RATE_GRACE
            && self.received < BODY_MIN_RATE * (elapsed - BODY_RATE_GRACE).as_secs()
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                }
                if this.received > this.max {
                    this.verdict.set(TOO_LARGE);
                    return Poll::Ready(Some(Err(ErrorCode::HttpRequestBodySize(Some(
                        this.received,
                    ))
                    .into())));
                }
                if this.too_slow() {
                    this.verdict.set(TOO_SLOW);
                    return Poll::Ready(Some(Err(ErrorCode::ConnectionReadTimeout.into())));
                }
                if let Some(idle) = &mut this.idle {
                    idle.as_mut().reset(Instant::now() + BODY_IDLE_TIMEOUT);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this
                .idle
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(BODY_IDLE_TIMEOUT)))
                .as_mut()
                .poll(cx)
            {
                Poll::Ready(()) => {
                    this.verdict.set(TOO_SLOW);
                    Poll::Ready(Some(Err(ErrorCode::ConnectionReadTimeout.into())))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
