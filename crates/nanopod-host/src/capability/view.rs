//! Views: one component's own share of a pod's one WASI context.
//!
//! A statically composed pod is one component in one store, so its WASI
//! context holds the union of what its components were granted. When two
//! components hold a capability in different measure (each its own
//! directory, its own environment variables, its own HTTP hosts), the
//! composition renames each one's entry point into the capability
//! (`wasi:filesystem/preopens` becomes `nanopod:view0/preopens`) and the
//! host serves that name with the component's own grant, on the shared
//! context: preopens it was not granted are dropped from the list,
//! environment variables are its own, and an outgoing HTTP request to a
//! host it was not granted fails with `HTTP-request-denied`, as the host's
//! own check answers. What the entry point hands out (descriptors, response
//! futures) is the shared context's own, so a view costs one host call
//! where the entry point is reached and nothing after it.
//!
//! A view is made only of 0.2 entry points that hand out everything else:
//! `preopens` (every file is reached from a preopen), `environment`, and
//! `outgoing-handler` (every request goes through `handle`).

use super::Capability;
use super::http::HttpGrant;
use crate::grants::Grants;
use crate::interface::InterfaceName;
use crate::store::HostState;
use std::collections::BTreeSet;
use std::sync::Arc;
use wasmtime::Result;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::cli::WasiCliView;
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::cli::environment;
use wasmtime_wasi::p2::bindings::filesystem::preopens;
use wasmtime_wasi_http::p2::bindings::http::outgoing_handler;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::types::{HostFutureIncomingResponse, HostOutgoingRequest};
use wasmtime_wasi_http::{RequestOptions, WasiHttpView};

/// The views of a composed pod, for its linker. Empty for a single
/// component or a pod whose components share grants alike.
#[derive(Clone, Debug, Default)]
pub struct Views {
    views: Vec<View>,
}

#[derive(Clone, Debug)]
struct View {
    /// The renamed import it serves (`nanopod:view0/preopens@0.2.6`).
    import: String,
    grant: Narrowed,
}

#[derive(Clone, Debug)]
enum Narrowed {
    /// The positions in the shared context's preopens that the component
    /// may see. Preopens from position `known` on were added for the whole
    /// pod after the view was made (a pipeline step's scratch directory).
    Preopens {
        keep: Arc<BTreeSet<usize>>,
        known: usize,
    },
    /// The component's own variables.
    Environment(Arc<Vec<(String, String)>>),
    /// The hosts the component may send requests to.
    Http(Arc<HttpGrant>),
}

/// A capability no view can narrow (sockets, configuration, stores: see
/// [`Views::can_narrow`]).
#[derive(Debug, thiserror::Error)]
#[error("{} cannot be given to one component of a pod in its own measure", .0.spec().name)]
pub struct NotNarrowable(pub Capability);

impl Views {
    /// Whether a view can give one component its own measure of
    /// `capability`: directories, environment variables and HTTP hosts.
    pub fn can_narrow(capability: Capability) -> bool {
        matches!(
            capability,
            Capability::Filesystem | Capability::Environment | Capability::Http
        )
    }

    /// The short name of the 0.2 entry point through which a view narrows
    /// `capability` (`preopens`), if it can.
    pub fn entry_point(capability: Capability) -> Option<&'static str> {
        match capability {
            Capability::Filesystem => Some("preopens"),
            Capability::Environment => Some("environment"),
            Capability::Http => Some("outgoing-handler"),
            _ => None,
        }
    }

    /// Serves `import` (a renamed 0.2 entry point of `capability`) with
    /// what `member` was granted of it, out of the pod's `shared` context
    /// (which must hold the union of the members' grants).
    pub fn narrow(
        &mut self,
        import: impl Into<String>,
        capability: Capability,
        member: &Grants,
        shared: &Grants,
    ) -> Result<(), NotNarrowable> {
        let grant = match capability {
            Capability::Filesystem => {
                let mine = member.measure(Capability::Filesystem);
                let all = shared.measure(Capability::Filesystem);
                let keep = all
                    .iter()
                    .enumerate()
                    .filter(|(_, dir)| mine.contains(dir))
                    .map(|(i, _)| i)
                    .collect();
                Narrowed::Preopens {
                    keep: Arc::new(keep),
                    known: all.len(),
                }
            }
            Capability::Environment => Narrowed::Environment(Arc::new(member.env_vars().to_vec())),
            Capability::Http => Narrowed::Http(Arc::new(member.http.clone())),
            other => return Err(NotNarrowable(other)),
        };
        self.views.push(View {
            import: import.into(),
            grant,
        });
        Ok(())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// The imports they serve.
    pub fn imports(&self) -> impl Iterator<Item = &str> {
        self.views.iter().map(|v| v.import.as_str())
    }

    /// The capability the view serving `import` narrows, if one does.
    pub fn capability(&self, import: &str) -> Option<Capability> {
        let view = self.views.iter().find(|v| v.import == import)?;
        Some(match view.grant {
            Narrowed::Preopens { .. } => Capability::Filesystem,
            Narrowed::Environment(_) => Capability::Environment,
            Narrowed::Http(_) => Capability::Http,
        })
    }

    /// Defines each view's import in `linker`.
    pub fn add_to_linker(&self, linker: &mut Linker<HostState>) -> Result<()> {
        self.define(linker, |_| true)
    }

    /// Defines in `linker` the views whose calls never wait (directories
    /// and environment), for a guest called synchronously (an HTTP
    /// filter), and returns the imports they serve, unversioned. An HTTP
    /// view is left out: outbound HTTP waits, so such a guest traps on it
    /// as it does on the host's own.
    pub fn add_waitless_to_linker(&self, linker: &mut Linker<HostState>) -> Result<Vec<String>> {
        let waitless = |grant: &Narrowed| !matches!(grant, Narrowed::Http(_));
        self.define(linker, waitless)?;
        Ok(self
            .views
            .iter()
            .filter(|v| waitless(&v.grant))
            .map(|v| InterfaceName::parse(&v.import).unversioned().to_string())
            .collect())
    }

    /// Defines the views whose grant `wanted` accepts.
    fn define(
        &self,
        linker: &mut Linker<HostState>,
        wanted: impl Fn(&Narrowed) -> bool,
    ) -> Result<()> {
        for view in self.views.iter().filter(|v| wanted(&v.grant)) {
            let mut instance = linker.instance(&view.import)?;
            match &view.grant {
                Narrowed::Preopens { keep, known } => {
                    let (keep, known) = (keep.clone(), *known);
                    instance.func_wrap("get-directories", move |mut store, (): ()| {
                        Ok((own_preopens(store.data_mut(), &keep, known)?,))
                    })?;
                }
                Narrowed::Environment(vars) => {
                    let vars = vars.clone();
                    instance.func_wrap("get-environment", move |_, (): ()| {
                        Ok((vars.as_ref().clone(),))
                    })?;
                    instance.func_wrap("get-arguments", |mut store, (): ()| {
                        Ok((environment::Host::get_arguments(
                            &mut store.data_mut().cli(),
                        )?,))
                    })?;
                    instance.func_wrap("initial-cwd", |mut store, (): ()| {
                        Ok((environment::Host::initial_cwd(&mut store.data_mut().cli())?,))
                    })?;
                }
                Narrowed::Http(grant) => {
                    let grant = grant.clone();
                    instance.func_wrap(
                        "handle",
                        move |mut store,
                              (request, options): (
                            Resource<HostOutgoingRequest>,
                            Option<Resource<RequestOptions>>,
                        )| {
                            Ok((handle(store.data_mut(), &grant, request, options)?,))
                        },
                    )?;
                }
            }
        }
        Ok(())
    }
}

type Preopens = Vec<(Resource<Descriptor>, String)>;

/// The shared context's preopens at the positions in `keep` (and from
/// `known` on); the others' descriptors are dropped at once.
fn own_preopens(state: &mut HostState, keep: &BTreeSet<usize>, known: usize) -> Result<Preopens> {
    let mut fs = state.filesystem();
    let all = preopens::Host::get_directories(&mut fs)?;
    let mut mine = Vec::with_capacity(keep.len());
    for (i, (fd, name)) in all.into_iter().enumerate() {
        if i >= known || keep.contains(&i) {
            mine.push((fd, name));
        } else {
            fs.table.delete(fd)?;
        }
    }
    Ok(mine)
}

/// `outgoing-handler.handle` for a component granted `grant`: a request
/// to another host is answered `HTTP-request-denied` from its response
/// future, as the host's own check answers; the rest goes to the shared
/// context's handler. A serve middleware's requests, which go to the next
/// handler of its chain rather than the network, pass as they do without
/// a view.
fn handle(
    state: &mut HostState,
    grant: &HttpGrant,
    request: Resource<HostOutgoingRequest>,
    options: Option<Resource<RequestOptions>>,
) -> Result<Result<Resource<HostFutureIncomingResponse>, ErrorCode>> {
    if !state.routes_http_to_next_hop() {
        let authority = state.table_ref().get(&request)?.authority.as_deref();
        let allowed = authority
            .and_then(|a| a.parse::<http::uri::Authority>().ok())
            .is_some_and(|a| grant.allows(a.host(), a.port_u16()));
        if !allowed {
            tracing::warn!(
                authority = authority.unwrap_or_default(),
                "outbound HTTP denied: this component was not granted the host with allow-http"
            );
            let table = state.table();
            table.delete(request)?;
            if let Some(options) = options {
                table.delete(options)?;
            }
            let denied = HostFutureIncomingResponse::Ready(Err(
                wasmtime_wasi_http::Error::HttpRequestDenied,
            ));
            return Ok(Ok(table.push(denied)?));
        }
    }
    match outgoing_handler::Host::handle(&mut state.http(), request, options) {
        Ok(response) => Ok(Ok(response)),
        Err(e) => Ok(Err(e.downcast()?)),
    }
}
