//! What `nanopod serve` serves, built in one place: a component alone, or
//! a pod's `[serve] chain` with each member composed with what its links
//! reach, compiled on the pooled engines servers use, outermost first.

use crate::error::ServeError;
use crate::handler::Handler;
use crate::server;
use nanopod_host::binary::load;
use nanopod_host::linker::component_linker;
use nanopod_host::{Engines, Grants, Loaded};
use nanopod_pod::{GrantSpec, Pod};
use nanopod_remote::RemoteImports;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// A chain of HTTP handlers, ready to serve.
pub struct Server {
    front: Arc<Handler>,
}

/// One member of the chain, compiled.
struct Hop {
    name: String,
    loaded: Loaded,
    remote: Option<RemoteImports>,
    grants: Grants,
}

impl Server {
    /// The pod's `[serve] chain` (its entry alone without one), each member
    /// composed with what its links reach and granted what the manifest
    /// grants it.
    pub fn from_pod<G: GrantSpec>(pod: &Pod<G>) -> Result<Self, ServeError> {
        let engines = Engines::pooled();
        let hops = pod
            .serve_chain()
            .into_iter()
            .map(|name| {
                let loaded = pod.compose(&name)?.load(&engines)?;
                Ok(Hop {
                    name,
                    loaded: loaded.loaded,
                    remote: Some(loaded.remote),
                    grants: loaded.info.grants,
                })
            })
            .collect::<Result<Vec<_>, ServeError>>()?;
        Self::chain(hops)
    }

    /// The component at `path`, under `grants`.
    pub fn from_component(path: &Path, grants: Grants) -> Result<Self, ServeError> {
        let loaded = load(&Engines::pooled(), path)?;
        Self::chain(vec![Hop {
            name: path.display().to_string(),
            loaded,
            remote: None,
            grants,
        }])
    }

    /// Links the handlers, innermost first, each passing its outbound
    /// requests to the next.
    fn chain(hops: Vec<Hop>) -> Result<Self, ServeError> {
        let mut next = None;
        for hop in hops.into_iter().rev() {
            let engine = &hop.loaded.engine;
            let component = hop.loaded.component("serve")?;
            let mut linker = component_linker(engine, engine.mode())
                .map_err(|e| ServeError::Linker(e.into()))?;
            if let Some(remote) = &hop.remote {
                remote
                    .add_to_linker(&mut linker)
                    .map_err(|e| ServeError::Linker(e.into()))?;
            }
            let handler = Handler::new(
                &hop.name,
                engine,
                &linker,
                component,
                hop.grants,
                next.take(),
            )?;
            next = Some(Arc::new(handler));
        }
        Ok(Server {
            front: next.expect("a chain has at least one handler"),
        })
    }

    /// Lets one instance of the front handler take up to `requests`
    /// requests in turn (WASI 0.3 handlers only; see
    /// `Handler::reuse_instances`).
    pub fn reuse_instances(&mut self, requests: usize) -> Result<(), ServeError> {
        Arc::get_mut(&mut self.front)
            .expect("nothing else holds the front handler yet")
            .reuse_instances(requests)
    }

    /// Listens on `addr`, tells `announce` where, and serves until
    /// `shutdown` completes; then stops accepting and lets requests in
    /// flight finish.
    pub async fn serve(
        self,
        addr: SocketAddr,
        announce: impl FnOnce(SocketAddr),
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServeError> {
        let listen_error = |source| ServeError::Listen { addr, source };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(listen_error)?;
        announce(listener.local_addr().map_err(listen_error)?);
        server::serve(listener, self.front, shutdown).await;
        Ok(())
    }

    /// The front handler, for benchmarks that drive it without a server.
    pub fn front(&self) -> Arc<Handler> {
        self.front.clone()
    }
}
