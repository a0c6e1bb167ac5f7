//! Synchronous component filters: a component exporting
//! `nanopod:http/filter` (wit/filter.wit) looks at request and response
//! heads through host resources and decides, in one call per phase into a
//! long-lived instance: a plain synchronous call on the executor thread,
//! no fiber, no task. Its instances are kept and reused request after
//! request: what a filter keeps in its memory is shared by the requests
//! its instance sees, by design.
//!
//! A synchronous call must not wait, so a filter gets WASI 0.2's
//! non-blocking interfaces only (clocks, random, its environment, stdout
//! and stderr; `nanopod_host::linker::sync_component_linker`); what else it
//! imports (files, sockets, HTTP) is linked as traps, and directory grants
//! and remote links are refused at start.

use crate::handler::HandlerFailure;
use nanopod_host::linker::{prepare, sync_component_linker, trap_the_rest};
use nanopod_host::pool::Idle;
use nanopod_host::{Deadline, Grants, GuestFailure, HostEngine, HostState};
use std::net::SocketAddr;
use wasmtime::Store;
use wasmtime::component::{Component, InstancePre, Resource};

wasmtime::component::bindgen!({
    path: "wit",
    world: "http-filter",
    imports: { default: trappable },
    require_store_data_send: true,
    with: {
        "nanopod:http/types.request-head": RequestHead,
        "nanopod:http/types.response-head": ResponseHead,
    },
});

use exports::nanopod::http::filter::Decision;
use nanopod::http::types::{Host, HostRequestHead, HostResponseHead};

/// The interface a component exports to be a synchronous filter.
pub(crate) const FILTER_INTERFACE: &str = "nanopod:http/filter";

/// A request's head while a filter looks at it. (Public because the
/// generated bindings re-export it.)
#[allow(unreachable_pub)]
pub struct RequestHead {
    parts: http::request::Parts,
    peer: Option<SocketAddr>,
}

/// A response's head while a filter looks at it.
#[allow(unreachable_pub)]
pub struct ResponseHead {
    parts: http::response::Parts,
}

/// A filter's own reply: its head and body.
pub(crate) type LocalReply = (http::Response<()>, Vec<u8>);

/// One kept instance.
struct Kept {
    store: Store<HostState>,
    filter: HttpFilter,
}

/// A synchronous component filter and its kept instances.
pub(crate) struct ComponentFilter {
    name: String,
    engine: HostEngine,
    pre: HttpFilterPre<HostState>,
    grants: Grants,
    idle: Idle<Kept>,
}

impl ComponentFilter {
    /// Prepares `component` (compiled for `engine`) as a filter under
    /// `grants` (`timeout` bounds each call, `max-memory` each instance).
    pub(crate) fn new(
        name: &str,
        engine: &HostEngine,
        component: &Component,
        remote: &nanopod_remote::RemoteImports,
        views: &nanopod_host::Views,
        grants: Grants,
    ) -> Result<Self, crate::ServeError> {
        let refuse = |problem: &str| crate::ServeError::Handler {
            name: name.to_string(),
            problem: format!(
                "exports `{FILTER_INTERFACE}`, whose calls are synchronous and may not wait: \
                 {problem}; make it a wasi:http middleware instead"
            ),
        };
        if grants.has_dirs() || !grants.virtual_dirs().is_empty() {
            return Err(refuse("a filter gets no directory"));
        }
        if !remote.describe().is_empty() {
            return Err(refuse("a filter cannot call over a remote link"));
        }
        let linker_error = |e: anyhow::Error| crate::ServeError::Linker(e.into());
        let mut linker = sync_component_linker(engine).map_err(linker_error)?;
        HttpFilter::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |s| s,
        )
        .map_err(|e| linker_error(e.into()))?;
        // A pod's components see their own environment through views.
        let mut linked = views
            .add_waitless_to_linker(&mut linker)
            .map_err(|e| linker_error(e.into()))?;
        linked.push("nanopod:http/types".into());
        let linked: Vec<&str> = linked.iter().map(String::as_str).collect();
        // Files, sockets and HTTP would wait: a filter that calls them traps.
        trap_the_rest(&mut linker, component, &linked).map_err(linker_error)?;
        let pre: InstancePre<HostState> =
            prepare(&linker, component).map_err(|source| crate::ServeError::Link {
                name: name.to_string(),
                source,
            })?;
        let pre = HttpFilterPre::new(pre).map_err(|e| crate::ServeError::Handler {
            name: name.to_string(),
            problem: format!("does not export `{FILTER_INTERFACE}` as nanopod expects: {e}"),
        })?;
        Ok(ComponentFilter {
            name: name.to_string(),
            engine: engine.clone(),
            pre,
            grants,
            idle: Idle::new(),
        })
    }

    /// An instance: one this thread kept, another thread's, or a new one.
    /// Its deadline is restarted for the call to come.
    fn take(&self) -> Result<Kept, HandlerFailure> {
        let deadline = Deadline::after(self.grants.limits.timeout);
        if let Some(mut kept) = self.idle.take() {
            kept.store.data_mut().guard().restart(deadline);
            return Ok(kept);
        }
        let mut store = self
            .engine
            .store(&self.grants, deadline)
            .map_err(|e| self.failure(e.into()))?;
        // A synchronous call cannot yield to the executor: it runs to its
        // end or to its deadline.
        store.data_mut().guard().never_yield();
        let filter = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| self.failure(e.into()))?;
        Ok(Kept { store, filter })
    }

    /// Gives an instance back to be reused.
    fn keep(&self, kept: Kept) {
        self.idle.put(kept);
    }

    fn failure(&self, e: anyhow::Error) -> HandlerFailure {
        HandlerFailure::Guest {
            handler: self.name.clone(),
            reason: GuestFailure::classify(&e).map_or_else(|| format!("{e:#}"), |f| f.to_string()),
        }
    }

    /// Runs `on-request`: the request's head, possibly edited, or the
    /// filter's own reply. A trap fails the request and drops the instance.
    pub(crate) fn on_request(
        &self,
        parts: http::request::Parts,
        peer: Option<SocketAddr>,
    ) -> Result<(http::request::Parts, Option<LocalReply>), HandlerFailure> {
        let mut kept = self.take()?;
        let head = kept
            .store
            .data_mut()
            .table()
            .push(RequestHead { parts, peer })
            .map_err(|e| self.failure(e.into()))?;
        let borrowed = Resource::new_borrow(head.rep());
        let decision = kept
            .filter
            .nanopod_http_filter()
            .call_on_request(&mut kept.store, borrowed);
        let head = kept
            .store
            .data_mut()
            .table()
            .delete(head)
            .map_err(|e| self.failure(e.into()))?;
        let decision = decision.map_err(|e| self.failure(e.into()))?;
        self.keep(kept);
        Ok(match decision {
            Decision::Continue => (head.parts, None),
            Decision::Respond(reply) => {
                let mut response = http::Response::builder().status(reply.status);
                for (k, v) in &reply.headers {
                    response = response.header(k, v);
                }
                let response = response.body(()).map_err(|e| HandlerFailure::Guest {
                    handler: self.name.clone(),
                    reason: format!("its reply is not valid HTTP: {e}"),
                })?;
                (head.parts, Some((response, reply.body)))
            }
        })
    }

    /// Runs `on-response` with the request's head and the response's; the
    /// response's head as the filter left it.
    pub(crate) fn on_response(
        &self,
        request: http::request::Parts,
        response: http::response::Parts,
    ) -> Result<http::response::Parts, HandlerFailure> {
        let mut kept = self.take()?;
        let table = kept.store.data_mut().table();
        let req = table
            .push(RequestHead {
                parts: request,
                peer: None,
            })
            .map_err(|e| self.failure(e.into()))?;
        let resp = table
            .push(ResponseHead { parts: response })
            .map_err(|e| self.failure(e.into()))?;
        let called = kept.filter.nanopod_http_filter().call_on_response(
            &mut kept.store,
            Resource::new_borrow(req.rep()),
            Resource::new_borrow(resp.rep()),
        );
        let table = kept.store.data_mut().table();
        let _ = table.delete(req);
        let resp = table.delete(resp).map_err(|e| self.failure(e.into()))?;
        called.map_err(|e| self.failure(e.into()))?;
        self.keep(kept);
        Ok(resp.parts)
    }
}

use nanopod_host::store::Guarded;

/// The first value of header `name`, in any case (`HeaderMap` folds the
/// case of a `&str` key without allocating).
fn first(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn all(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Sets or adds a header; a name or value HTTP does not allow is dropped
/// with a warning rather than trapping the filter.
fn put(headers: &mut http::HeaderMap, name: &str, value: &str, replace: bool) {
    let (Ok(name), Ok(value)) = (
        http::HeaderName::from_bytes(name.as_bytes()),
        http::HeaderValue::from_str(value),
    ) else {
        tracing::warn!("a filter set header `{name}` to a value HTTP does not allow; ignored");
        return;
    };
    if replace {
        headers.insert(name, value);
    } else {
        headers.append(name, value);
    }
}

fn remove(headers: &mut http::HeaderMap, name: &str) {
    if let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) {
        headers.remove(name);
    }
}

impl Host for HostState {}

impl HostRequestHead for HostState {
    fn method(&mut self, head: Resource<RequestHead>) -> wasmtime::Result<String> {
        Ok(self.table().get(&head)?.parts.method.to_string())
    }

    fn path(&mut self, head: Resource<RequestHead>) -> wasmtime::Result<String> {
        let uri = &self.table().get(&head)?.parts.uri;
        Ok(uri.path_and_query().map_or("/", |p| p.as_str()).to_string())
    }

    fn authority(&mut self, head: Resource<RequestHead>) -> wasmtime::Result<Option<String>> {
        let parts = &self.table().get(&head)?.parts;
        Ok(parts
            .uri
            .authority()
            .map(|a| a.to_string())
            .or_else(|| first(&parts.headers, "host")))
    }

    fn header(
        &mut self,
        head: Resource<RequestHead>,
        name: String,
    ) -> wasmtime::Result<Option<String>> {
        Ok(first(&self.table().get(&head)?.parts.headers, &name))
    }

    fn headers(&mut self, head: Resource<RequestHead>) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(all(&self.table().get(&head)?.parts.headers))
    }

    fn set_header(
        &mut self,
        head: Resource<RequestHead>,
        name: String,
        value: String,
    ) -> wasmtime::Result<()> {
        put(
            &mut self.table().get_mut(&head)?.parts.headers,
            &name,
            &value,
            true,
        );
        Ok(())
    }

    fn add_header(
        &mut self,
        head: Resource<RequestHead>,
        name: String,
        value: String,
    ) -> wasmtime::Result<()> {
        put(
            &mut self.table().get_mut(&head)?.parts.headers,
            &name,
            &value,
            false,
        );
        Ok(())
    }

    fn remove_header(&mut self, head: Resource<RequestHead>, name: String) -> wasmtime::Result<()> {
        remove(&mut self.table().get_mut(&head)?.parts.headers, &name);
        Ok(())
    }

    fn set_path(&mut self, head: Resource<RequestHead>, path: String) -> wasmtime::Result<()> {
        let parts = &mut self.table().get_mut(&head)?.parts;
        let mut uri = parts.uri.clone().into_parts();
        match path.parse() {
            Ok(p) => uri.path_and_query = Some(p),
            Err(_) => {
                tracing::warn!("a filter set the path to `{path}`, which is not a path; ignored");
                return Ok(());
            }
        }
        if let Ok(uri) = http::Uri::from_parts(uri) {
            parts.uri = uri;
        }
        Ok(())
    }

    fn peer(&mut self, head: Resource<RequestHead>) -> wasmtime::Result<Option<String>> {
        Ok(self.table().get(&head)?.peer.map(|p| p.to_string()))
    }

    fn drop(&mut self, head: Resource<RequestHead>) -> wasmtime::Result<()> {
        // The host owns the heads it lends; a guest drop of a borrow is a
        // no-op, and nanopod deletes the head itself after the call.
        let _ = head;
        Ok(())
    }
}

impl HostResponseHead for HostState {
    fn status(&mut self, head: Resource<ResponseHead>) -> wasmtime::Result<u16> {
        Ok(self.table().get(&head)?.parts.status.as_u16())
    }

    fn set_status(&mut self, head: Resource<ResponseHead>, status: u16) -> wasmtime::Result<()> {
        match http::StatusCode::from_u16(status) {
            Ok(s) => self.table().get_mut(&head)?.parts.status = s,
            Err(_) => {
                tracing::warn!("a filter set status {status}, which HTTP does not allow; ignored")
            }
        }
        Ok(())
    }

    fn header(
        &mut self,
        head: Resource<ResponseHead>,
        name: String,
    ) -> wasmtime::Result<Option<String>> {
        Ok(first(&self.table().get(&head)?.parts.headers, &name))
    }

    fn headers(&mut self, head: Resource<ResponseHead>) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(all(&self.table().get(&head)?.parts.headers))
    }

    fn set_header(
        &mut self,
        head: Resource<ResponseHead>,
        name: String,
        value: String,
    ) -> wasmtime::Result<()> {
        put(
            &mut self.table().get_mut(&head)?.parts.headers,
            &name,
            &value,
            true,
        );
        Ok(())
    }

    fn add_header(
        &mut self,
        head: Resource<ResponseHead>,
        name: String,
        value: String,
    ) -> wasmtime::Result<()> {
        put(
            &mut self.table().get_mut(&head)?.parts.headers,
            &name,
            &value,
            false,
        );
        Ok(())
    }

    fn remove_header(
        &mut self,
        head: Resource<ResponseHead>,
        name: String,
    ) -> wasmtime::Result<()> {
        remove(&mut self.table().get_mut(&head)?.parts.headers, &name);
        Ok(())
    }

    fn drop(&mut self, head: Resource<ResponseHead>) -> wasmtime::Result<()> {
        let _ = head;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_match_in_any_case() {
        let mut headers = http::HeaderMap::new();
        put(&mut headers, "X-Stamp", "one", true);
        put(&mut headers, "x-stamp", "two", false);
        assert_eq!(first(&headers, "X-STAMP").as_deref(), Some("one"));
        assert_eq!(
            all(&headers),
            [
                ("x-stamp".into(), "one".into()),
                ("x-stamp".into(), "two".into())
            ]
        );
        remove(&mut headers, "X-Stamp");
        assert!(headers.is_empty());
        // A name HTTP does not allow is dropped, not a trap.
        put(&mut headers, "bad name", "v", true);
        assert!(headers.is_empty());
    }
}
