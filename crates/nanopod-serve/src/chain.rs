//! What `nanopod serve` serves, built in one place: a component alone, or
//! a pod's `[serve] chain`. Each member's binary says what it is:
//! - a core module exporting `proxy_abi_version_0_2_1` (or `_0_2_0`) is a
//!   proxy-wasm filter, run in long-lived VMs on the synchronous engine;
//! - a component exporting `nanopod:http/filter` is a synchronous
//!   component filter, its instances kept;
//! - any other component is a `wasi:http` handler (a middleware, or the
//!   app), composed with what its links reach.
//!
//! Everything is compiled on the pooled engines servers use.

use crate::component_filter::{ComponentFilter, FILTER_INTERFACE};
use crate::error::ServeError;
use crate::handler::Handler;
use crate::server::{self, ServeLimits};
use crate::stage::Stage;
use nanopod_host::binary::{compile, load, read_wasm};
use nanopod_host::cache::Compiled;
use nanopod_host::linker::component_linker;
use nanopod_host::pool::worker_threads;
use nanopod_host::{EngineMode, Engines, Grants, InterfaceName, Loaded, Views};
use nanopod_pod::{ChainMember, GrantSpec, Pod};
use nanopod_proxy_wasm::{FilterConfig, Metrics, ProxyFilter, is_filter};
use nanopod_remote::RemoteImports;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// A chain of stages, ready to serve.
pub struct Server {
    front: Arc<Stage>,
    filters: Vec<ProxyFilter>,
    metrics: Arc<Metrics>,
    /// Every member's grants, whose key-value stores are opened before
    /// the server listens.
    grants: Vec<Grants>,
    /// What clients may hold.
    limits: ServeLimits,
}

/// One member of the chain, compiled.
enum Hop {
    Handler {
        name: String,
        loaded: Loaded,
        remote: Option<RemoteImports>,
        views: Views,
        grants: Grants,
        reuse: Option<u32>,
    },
    ProxyWasm(ProxyFilter),
    Component {
        name: String,
        loaded: Loaded,
        remote: RemoteImports,
        views: Views,
        grants: Grants,
    },
}

impl Server {
    /// The pod's `[serve] chain` (its entry alone without one): each member
    /// granted what the manifest grants it, filters configured.
    pub fn from_pod<G: GrantSpec>(pod: &Pod<G>) -> Result<Self, ServeError> {
        let engines = Engines::pooled();
        let metrics = Arc::new(Metrics::default());
        let chain = pod.serve_chain();
        let last = chain.len() - 1;
        let mut hops = Vec::new();
        for (i, name) in chain.into_iter().enumerate() {
            let member = pod.chain_member(&name)?;
            let bytes = read_wasm(&member.file).map_err(|source| ServeError::Member {
                name: name.clone(),
                source,
            })?;
            if !wasmparser::Parser::is_component(&bytes) {
                if i == last {
                    return Err(ServeError::Handler {
                        name,
                        problem:
                            "is a core module; the app at the end of a chain must be a component"
                                .into(),
                    });
                }
                hops.push(Hop::ProxyWasm(proxy_filter(
                    &engines, member, bytes, &metrics,
                )?));
                continue;
            }
            if member.filter.is_some() {
                return Err(ServeError::Handler {
                    name,
                    problem: "is a component: `config`, `vm-config`, `root-id` and `shared-data` are for proxy-wasm filters".into(),
                });
            }
            let loaded = pod.compose(&name)?.load(&engines)?;
            let component = loaded.loaded.component("serve")?;
            if exports(component, &loaded.loaded, FILTER_INTERFACE) {
                if i == last {
                    return Err(ServeError::Handler {
                        name,
                        problem: format!(
                            "exports `{FILTER_INTERFACE}`: a filter cannot be the app at the end of a chain"
                        ),
                    });
                }
                hops.push(Hop::Component {
                    name,
                    loaded: loaded.loaded,
                    remote: loaded.remote,
                    views: loaded.info.views,
                    grants: loaded.info.grants,
                });
                continue;
            }
            hops.push(Hop::Handler {
                name,
                loaded: loaded.loaded,
                remote: Some(loaded.remote),
                views: loaded.info.views,
                grants: loaded.info.grants,
                reuse: member.reuse,
            });
        }
        Self::chain(hops, metrics)
    }

    /// The component at `path`, under `grants`.
    pub fn from_component(path: &Path, grants: Grants) -> Result<Self, ServeError> {
        Self::from_loaded(load(&Engines::pooled(), path)?, grants)
    }

    /// A component its front end loaded (best on [`Engines::pooled`]
    /// engines: each request instantiates it), under `grants`.
    pub fn from_loaded(loaded: Loaded, grants: Grants) -> Result<Self, ServeError> {
        Self::chain(
            vec![Hop::Handler {
                name: loaded.origin.clone(),
                loaded,
                remote: None,
                views: Views::default(),
                grants,
                reuse: None,
            }],
            Arc::new(Metrics::default()),
        )
    }

    /// Links the stages, innermost first, each passing requests to the
    /// next.
    fn chain(hops: Vec<Hop>, metrics: Arc<Metrics>) -> Result<Self, ServeError> {
        let mut next: Option<Arc<Stage>> = None;
        let mut filters = Vec::new();
        let mut all_grants = Vec::new();
        for hop in hops.into_iter().rev() {
            if let Hop::Handler { grants, .. } | Hop::Component { grants, .. } = &hop {
                all_grants.push(grants.clone());
            }
            let stage = match hop {
                Hop::Handler {
                    name,
                    loaded,
                    remote,
                    views,
                    grants,
                    reuse,
                } => {
                    let engine = &loaded.engine;
                    let component = loaded.component("serve")?;
                    let mut linker = component_linker(engine, engine.mode())
                        .map_err(|e| ServeError::Linker(e.into()))?;
                    if let Some(remote) = &remote {
                        remote
                            .add_to_linker(&mut linker)
                            .map_err(|e| ServeError::Linker(e.into()))?;
                    }
                    views
                        .add_to_linker(&mut linker)
                        .map_err(|e| ServeError::Linker(e.into()))?;
                    let mut handler =
                        Handler::new(&name, engine, &linker, component, grants, next.take())?;
                    if let Some(requests) = reuse {
                        handler.reuse_member(requests as usize)?;
                    }
                    Stage::Handler(Arc::new(handler))
                }
                Hop::ProxyWasm(filter) => {
                    filters.push(filter.clone());
                    Stage::ProxyWasm {
                        filter,
                        next: next.take().expect("a filter is never last"),
                    }
                }
                Hop::Component {
                    name,
                    loaded,
                    remote,
                    views,
                    grants,
                } => Stage::Component {
                    filter: Box::new(ComponentFilter::new(
                        &name,
                        &loaded.engine,
                        loaded.component("serve")?,
                        &remote,
                        &views,
                        grants,
                    )?),
                    next: next.take().expect("a filter is never last"),
                },
            };
            next = Some(Arc::new(stage));
        }
        Ok(Server {
            front: next.expect("a chain has at least one member"),
            filters,
            metrics,
            grants: all_grants,
            limits: ServeLimits::default(),
        })
    }

    /// Sets what clients may hold (body size, connections).
    pub fn set_limits(&mut self, limits: ServeLimits) {
        self.limits = limits;
    }

    /// Lets one instance of the front handler take up to `requests`
    /// requests in turn (WASI 0.3 handlers only; see
    /// `Handler::reuse_instances`).
    pub fn reuse_instances(&mut self, requests: usize) -> Result<(), ServeError> {
        let Some(Stage::Handler(handler)) = Arc::get_mut(&mut self.front) else {
            return Err(ServeError::ReuseFilter);
        };
        Arc::get_mut(handler)
            .expect("nothing else holds the front handler yet")
            .reuse_instances(requests)
    }

    /// Listens on `addr` (and serves its metrics on `metrics`, when
    /// given), tells `announce` where, and serves until `shutdown`
    /// completes; then stops accepting and lets requests in flight finish.
    pub async fn serve(
        self,
        addr: SocketAddr,
        metrics: Option<SocketAddr>,
        announce: impl FnOnce(SocketAddr, Option<SocketAddr>),
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServeError> {
        let listen = |addr: SocketAddr| async move {
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Listen { addr, source })
        };
        for grants in &self.grants {
            grants
                .open_keyvalue_stores()
                .await
                .map_err(ServeError::Keyvalue)?;
        }
        let listener = listen(addr).await?;
        let local = |l: &tokio::net::TcpListener, addr| {
            l.local_addr()
                .map_err(|source| ServeError::Listen { addr, source })
        };
        let metrics_listener = match metrics {
            Some(at) => Some(listen(at).await?),
            None => None,
        };
        let metrics_at = match &metrics_listener {
            Some(l) => Some(local(l, metrics.expect("an address"))?),
            None => None,
        };
        announce(local(&listener, addr)?, metrics_at);
        for filter in &self.filters {
            filter.start_background();
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        if let Some(l) = metrics_listener {
            let metrics = self.metrics.clone();
            let filters = self.filters.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let until_stopped = async move {
                    let _ = stopped.changed().await;
                };
                server::serve_metrics(l, metrics, filters, until_stopped).await;
            });
        }
        server::serve(listener, self.front, self.limits, shutdown).await;
        let _ = stop.send(true);
        Ok(())
    }

    /// Runs a request through the chain without the HTTP server, as
    /// benchmarks drive it.
    pub async fn handle(
        &self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
    ) -> Result<http::Response<wasmtime_wasi_http::WasiBody>, crate::HandlerFailure> {
        self.front.clone().handle(request).await
    }

    /// Starts what filters run beside requests (ticks); `serve` does this
    /// itself.
    pub fn start_background(&self) {
        for filter in &self.filters {
            filter.start_background();
        }
    }
}

/// Whether `component` exports the interface `name` (any version).
/// Whether `bytes` are a component that serves HTTP: it exports
/// `wasi:http/incoming-handler` (WASI 0.2) or `wasi:http/handler` (WASI
/// 0.3). Read from the binary, before anything is compiled, so that a front
/// end can pick the engines that suit serving ([`Engines::pooled`]).
pub fn serves_http(bytes: &[u8]) -> bool {
    use wasmparser::{Parser, Payload};
    if !Parser::is_component(bytes) {
        return false;
    }
    let wanted = [
        InterfaceName::parse("wasi:http/incoming-handler"),
        InterfaceName::parse("wasi:http/handler"),
    ];
    // Nested modules and components open with their own header and close
    // with `End`; only the outer component's exports count.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::Version { .. }) => depth += 1,
            Ok(Payload::End(_)) => depth = depth.saturating_sub(1),
            Ok(Payload::ComponentExportSection(exports)) if depth == 1 => {
                for export in exports.into_iter().flatten() {
                    let name = InterfaceName::parse(export.name.name);
                    if wanted.iter().any(|w| name.matches(w)) {
                        return true;
                    }
                }
            }
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

fn exports(component: &wasmtime::component::Component, loaded: &Loaded, name: &str) -> bool {
    let wanted = InterfaceName::parse(name);
    component
        .component_type()
        .exports(&loaded.engine)
        .any(|(export, _)| InterfaceName::parse(export).matches(&wanted))
}

/// A proxy-wasm filter from its manifest table and binary.
fn proxy_filter(
    engines: &Engines,
    member: ChainMember,
    bytes: Vec<u8>,
    metrics: &Arc<Metrics>,
) -> Result<ProxyFilter, ServeError> {
    let name = member.name;
    if !member.grants.virtual_dirs().is_empty() || member.grants.has_dirs() {
        return Err(ServeError::Handler {
            name,
            problem: "is a proxy-wasm filter: filters get no filesystem, so grant it no `dirs` or `ro-dirs`".into(),
        });
    }
    let loaded =
        compile(engines, bytes, EngineMode::Sync, &name).map_err(|source| ServeError::Member {
            name: name.clone(),
            source,
        })?;
    let Compiled::Module(module) = &loaded.compiled else {
        unreachable!("a core module compiles to a module");
    };
    if !is_filter(module) {
        return Err(ServeError::Handler {
            name,
            problem: "is a core module that exports no `proxy_abi_version_0_2_1` (or `_0_2_0`): not a proxy-wasm filter".into(),
        });
    }
    let settings = member.filter.unwrap_or_default();
    let config = FilterConfig {
        name: name.clone(),
        root_id: settings.root_id,
        vm_id: String::new(),
        config: settings.config,
        vm_config: settings.vm_config,
        grants: member.grants,
        instances: worker_threads(),
        shared_data: settings.shared_data,
    };
    Ok(ProxyFilter::new(
        &loaded.engine,
        module,
        config,
        metrics.clone(),
    )?)
}
