//! Outbound HTTP (`--allow-http HOST[:PORT]`). Default: every outbound
//! request is refused with `HTTP-request-denied`. Denied in a composition
//! by a trapping adapter. A `nanopod serve` middleware's requests go to the
//! next handler of its chain instead ([`NextHop`]).

use super::{CapabilitySpec, Denial};
use std::sync::Arc;
use wasmtime_wasi_http::{WasiBody, WasiHttpHooks};

/// HTTP's entry in the capability table.
pub const SPEC: CapabilitySpec = CapabilitySpec {
    name: "http",
    grant: "--allow-http HOST[:PORT]",
    interfaces: &["wasi:http/*"],
    entry_points: &[
        "wasi:http/outgoing-handler",
        "wasi:http/client",
        "wasi:http/handler",
    ],
    flags: &["--allow-http"],
    manifest_keys: &["allow-http"],
    denial: Denial::Trap,
};

/// The hosts one component may send requests to.
#[derive(Clone, Debug, Default)]
pub(crate) struct HttpGrant {
    hosts: Vec<String>,
}

impl HttpGrant {
    pub(crate) fn allow(&mut self, authority: String) {
        self.hosts.push(authority);
    }

    /// What is granted, in a comparable form: empty when nothing.
    pub(crate) fn measure(&self) -> Vec<String> {
        self.hosts.clone()
    }

    /// Adds `other`'s hosts, each once.
    pub(crate) fn merge(&mut self, other: &HttpGrant) {
        for host in &other.hosts {
            if !self.hosts.contains(host) {
                self.hosts.push(host.clone());
            }
        }
    }

    /// Whether a request to `host` (and `port`, if the URI names one) is
    /// allowed: a grant without a port allows every port.
    pub(crate) fn allows(&self, host: &str, port: Option<u16>) -> bool {
        self.hosts
            .iter()
            .any(|allowed| match allowed.rsplit_once(':') {
                Some((h, p)) => {
                    h.eq_ignore_ascii_case(host)
                        && Some(p) == port.map(|p| p.to_string()).as_deref()
                }
                None => allowed.eq_ignore_ascii_case(host),
            })
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

/// Outbound HTTP: denied unless the request's host is granted, or routed to
/// the next handler of a serve chain.
pub(crate) struct HttpPolicy {
    pub(crate) grant: HttpGrant,
    pub(crate) next_hop: Option<NextHop>,
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
            .is_some_and(|h| self.grant.allows(h, uri.port_u16()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_matches_host_and_port() {
        let mut g = HttpGrant::default();
        g.allow("example.com".into());
        g.allow("api.local:8080".into());
        assert!(g.allows("example.com", None));
        assert!(g.allows("EXAMPLE.com", Some(443)));
        assert!(g.allows("api.local", Some(8080)));
        assert!(!g.allows("api.local", Some(80)));
        assert!(!g.allows("evil.com", None));
        assert!(!HttpGrant::default().allows("example.com", None));
    }
}
