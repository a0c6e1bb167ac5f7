//! `dispatch_http_call`: a filter's HTTP request to an upstream, sent by
//! the host while the filter waits, and delivered back to it with
//! `proxy_on_http_call_response`. The upstream is a `host:port` the
//! filter's `allow-http` grant must name.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::OnceLock;
use std::time::Duration;

/// The largest response body a call delivers to the filter.
const MAX_CALL_BODY: usize = 16 << 20;

/// A call sent and not answered yet.
pub(crate) struct PendingCall {
    pub(crate) token: u32,
    pub(crate) answer: tokio::task::JoinHandle<CallResponse>,
}

/// What came back: a response, or (`failed`) nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
    pub(crate) trailers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Why the call failed (the connection, the timeout), if it did.
    pub(crate) failure: Option<String>,
}

impl CallResponse {
    fn failed(why: impl std::fmt::Display) -> Self {
        CallResponse {
            failure: Some(why.to_string()),
            ..Default::default()
        }
    }

    /// The `num_headers` the callback gets: 0 for a failed call.
    pub(crate) fn header_count(&self) -> usize {
        if self.failure.is_some() {
            0
        } else {
            self.headers.len() + 1
        }
    }
}

fn client() -> &'static Client<HttpConnector, Full<Bytes>> {
    static CLIENT: OnceLock<Client<HttpConnector, Full<Bytes>>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Client::builder(TokioExecutor::new()).build(connector)
    })
}

/// Sends a request to `upstream` (`host:port`) with `headers` (which must
/// hold `:method` and `:path`; `:authority` becomes `Host`) and `body`,
/// on the current runtime; the answer arrives within `timeout` (none when
/// zero) or as a failure.
pub(crate) fn dispatch(
    upstream: &str,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<tokio::task::JoinHandle<CallResponse>, String> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| "no runtime to send HTTP calls on".to_string())?;
    let pseudo = |name: &[u8]| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    };
    let (Some(method), Some(path)) = (pseudo(b":method"), pseudo(b":path")) else {
        return Err("headers must hold `:method` and `:path`".into());
    };
    let uri: http::Uri = format!("http://{upstream}{path}")
        .parse()
        .map_err(|e| format!("`{upstream}{path}` is not a URL: {e}"))?;
    let mut request = http::Request::builder().method(method).uri(uri);
    let authority = pseudo(b":authority").unwrap_or(upstream);
    request = request.header(http::header::HOST, authority);
    for (k, v) in headers.iter().filter(|(k, _)| !k.starts_with(b":")) {
        request = request.header(k.as_slice(), v.as_slice());
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("not a valid request: {e}"))?;
    Ok(runtime.spawn(async move {
        let call = async {
            let response = client()
                .request(request)
                .await
                .map_err(CallResponse::failed)?;
            let (parts, body) = response.into_parts();
            let collected = Limited::new(body, MAX_CALL_BODY)
                .collect()
                .await
                .map_err(CallResponse::failed)?;
            let trailers = collected
                .trailers()
                .map(|t| pairs_of(t.iter()))
                .unwrap_or_default();
            Ok::<_, CallResponse>(CallResponse {
                status: parts.status.as_u16(),
                headers: pairs_of(parts.headers.iter()),
                body: collected.to_bytes().to_vec(),
                trailers,
                failure: None,
            })
        };
        let answered = if timeout.is_zero() {
            call.await
        } else {
            tokio::time::timeout(timeout, call)
                .await
                .unwrap_or_else(|_| Err(CallResponse::failed("timed out")))
        };
        answered.unwrap_or_else(|failed| failed)
    }))
}

fn pairs_of<'a>(
    headers: impl Iterator<Item = (&'a http::HeaderName, &'a http::HeaderValue)>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    headers
        .map(|(k, v)| (k.as_str().as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}
