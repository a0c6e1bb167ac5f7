//! `nanopod export`: a component's exported functions served to remote
//! callers over wRPC, each call in a fresh instance (from the pooling
//! allocator; with `--reuse N`, an instance serves up to N calls in turn)
//! under the component's own grants and limits: on [`tcp`], or as a member
//! of a [`nats`] queue group; [`call`] runs one call.

mod call;
mod nats;
mod tcp;

use crate::transport::Transport;
use crate::wire::WireError;
use crate::wire::frame::{self, BulkParams, PROTOCOL, TOKEN_PREAMBLE};
use crate::wire::value::{Slot, cannot_cross};
use anyhow::{Context, Result};
use nanopod_bulk::{Bulk, Caller, Shape};
use nanopod_host::linker::{component_linker, prepare};
use nanopod_host::pool::Idle;
use nanopod_host::types::is_byte_stream;
use nanopod_host::{Grants, HostEngine, HostState, InterfaceName};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncBufRead;
use tokio::net::TcpListener;
use wasmtime::Store;
use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::component::{Component, ComponentExportIndex, Instance, InstancePre, Val};

/// How long a connection may sit between calls (or before its first).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a caller of an exporter with a token has to present it: a
/// connection that sends nothing holds a slot this long, not the idle
/// timeout.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a streaming call's connection waits for its caller to close
/// after the last result.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a caller may take to send one call once it has started.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Host memory a call's values may take, as `Val`s, before the call is
/// refused (bounds what one connection can make the exporter allocate).
const HOSTCALL_FUEL: usize = frame::MAX_MESSAGE * size_of::<Val>() + (16 << 20);

/// The queue group NATS exporters join: a request goes to one member.
pub const NATS_QUEUE_GROUP: &str = "nanopod";

/// What an invocation read from a caller comes to.
enum Invocation<'a> {
    /// A token preamble that was accepted.
    Token,
    /// A call to run.
    Call(Call<'a>),
    /// A refusal, with the reason for the caller.
    Refused(String),
}

/// A call's parameters as they arrived.
enum Arguments {
    /// As `Val`s (and streams).
    Slots(Vec<Slot>),
    /// On the byte fast path.
    Bulk(Vec<Bulk>),
}

/// One call: which function, with which parameters.
struct Call<'a> {
    instance: String,
    func: String,
    f: &'a Exported,
    params: Arguments,
    /// The share of the buffered-bytes budget its parameters hold, given
    /// back when the call is done.
    _held: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Call<'_> {
    fn name(&self) -> String {
        format!("{}#{}", self.instance, self.func)
    }
}

/// One exported function.
struct Exported {
    index: ComponentExportIndex,
    params: Vec<Type>,
    results: Vec<Type>,
    /// Whether a parameter or result is a `stream<u8>`.
    streams: bool,
    /// Its typed call, when its signature is on the byte fast path.
    bulk: Option<Caller<HostState>>,
}

/// How an exporter admits callers.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The interfaces and root functions to serve; all exports when empty.
    pub expose: Vec<String>,
    /// The token callers must present, if any.
    pub token: Option<String>,
    /// The most connections (TCP) or calls in flight (NATS) at once; more
    /// are refused with an error frame, so no number of callers can make
    /// the exporter hold more than this many messages in memory.
    pub max_connections: usize,
    /// The most bytes of calls' parameters held at once, across every
    /// connection; a call that would pass it is refused with an error
    /// frame.
    pub max_buffered: usize,
    /// How many calls one instance serves, one after another (1: a fresh
    /// instance per call). Calls an instance serves share its memory, so
    /// what one leaves there the next can see; a call that traps or runs
    /// out of time takes its instance with it. Calls with `stream<u8>`
    /// values always get a fresh instance.
    pub reuse: usize,
}

/// [`ExportOptions::max_buffered`] unless set: 1 GiB.
pub const DEFAULT_MAX_BUFFERED: usize = 1 << 30;

/// The granule of the buffered-bytes budget.
const BUDGET_UNIT: usize = 64 << 10;

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            expose: Vec::new(),
            token: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_buffered: DEFAULT_MAX_BUFFERED,
            reuse: 1,
        }
    }
}

/// [`ExportOptions::max_connections`] unless set.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// Why a component cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// It imports something nanopod cannot provide.
    #[error(transparent)]
    Unprovided(#[from] nanopod_host::linker::Unprovided),
    /// `--expose` names something it does not export.
    #[error("`{component}` does not export `{name}` (it exports: {exported})")]
    NotExported {
        /// The component.
        component: String,
        /// The name asked for.
        name: String,
        /// What it exports.
        exported: String,
    },
    /// It exports no function that can be served.
    #[error("`{0}` exports no function to serve")]
    Nothing(String),
    /// Its exports cannot be read.
    #[error("cannot read the exports of `{0}`")]
    Exports(String),
    /// The WASI linker could not be built.
    #[error("cannot link WASI")]
    Linker(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A component's functions, ready to serve.
pub struct Exporter {
    name: String,
    engine: HostEngine,
    pre: InstancePre<HostState>,
    grants: Grants,
    token: Option<String>,
    /// One permit per connection (TCP) or call in flight (NATS).
    slots: Arc<tokio::sync::Semaphore>,
    max_connections: usize,
    /// One permit per [`BUDGET_UNIT`] of parameter bytes held.
    budget: Arc<tokio::sync::Semaphore>,
    max_buffered: usize,
    /// `(instance, function)` → the function. Root functions have the
    /// instance `""`, as in wRPC.
    functions: Vec<((String, String), Exported)>,
    /// [`ExportOptions::reuse`].
    reuse: usize,
    /// Instances waiting for their next call (with `reuse` over 1).
    idle: Idle<Kept>,
}

/// An instance of the component and its store, and how many calls it has
/// served.
struct Kept {
    store: Store<HostState>,
    instance: Instance,
    served: usize,
}

impl Exporter {
    /// Prepares `component` (compiled for `engine`) to serve the
    /// interfaces named in `options.expose` (all of its exports when empty)
    /// under `grants`. Refuses a name it does not export, and functions
    /// whose values cannot cross hosts.
    pub fn new(
        name: &str,
        engine: &HostEngine,
        component: &Component,
        grants: Grants,
        options: ExportOptions,
    ) -> Result<Self, ServeError> {
        let linker =
            component_linker(engine, engine.mode()).map_err(|e| ServeError::Linker(e.into()))?;
        let pre = prepare(&linker, component)?;
        let expose: Vec<InterfaceName> = options
            .expose
            .iter()
            .map(|e| InterfaceName::parse(e))
            .collect();
        let ty = component.component_type();
        let mut functions = Vec::new();
        let mut exported_names = Vec::new();
        let index = |parent: Option<&ComponentExportIndex>, export: &str| {
            component
                .get_export_index(parent, export)
                .ok_or_else(|| ServeError::Exports(name.to_string()))
        };
        for (export, item) in ty.exports(engine) {
            exported_names.push(export.to_string());
            let export_name = InterfaceName::parse(export);
            if !expose.is_empty() && !expose.iter().any(|e| e.matches(&export_name)) {
                continue;
            }
            match item.ty {
                ComponentItem::ComponentFunc(f) => {
                    let index = index(None, export)?;
                    functions.push((("".into(), export.to_string()), exported(index, &f)));
                }
                ComponentItem::ComponentInstance(instance) => {
                    let parent = index(None, export)?;
                    for (fname, item) in instance.exports(engine) {
                        let ComponentItem::ComponentFunc(f) = item.ty else {
                            continue;
                        };
                        let index = index(Some(&parent), fname)?;
                        functions
                            .push(((export.to_string(), fname.to_string()), exported(index, &f)));
                    }
                }
                _ => {}
            }
        }
        for (e, asked) in expose.iter().zip(&options.expose) {
            if !exported_names
                .iter()
                .any(|n| e.matches(&InterfaceName::parse(n)))
            {
                return Err(ServeError::NotExported {
                    component: name.to_string(),
                    name: asked.clone(),
                    exported: exported_names.join(", "),
                });
            }
        }
        if functions.is_empty() {
            return Err(ServeError::Nothing(name.to_string()));
        }
        functions.retain(|((instance, func), f)| {
            let unsupported = f.params.iter().chain(&f.results).find_map(cannot_cross);
            if let Some(what) = unsupported {
                tracing::warn!(
                    "not serving `{instance}#{func}`: its {what} values cannot cross hosts"
                );
            }
            unsupported.is_none()
        });
        Ok(Exporter {
            name: name.to_string(),
            engine: engine.clone(),
            pre,
            grants,
            token: options.token,
            slots: Arc::new(tokio::sync::Semaphore::new(options.max_connections)),
            max_connections: options.max_connections,
            budget: Arc::new(tokio::sync::Semaphore::new(
                options.max_buffered.div_ceil(BUDGET_UNIT).max(1),
            )),
            max_buffered: options.max_buffered,
            functions,
            reuse: options.reuse.max(1),
            idle: Idle::new(),
        })
    }

    /// `instance#function` for each served function.
    pub fn describe(&self) -> Vec<String> {
        self.functions
            .iter()
            .map(|((i, f), _)| {
                if i.is_empty() {
                    f.clone()
                } else {
                    format!("{i}#{f}")
                }
            })
            .collect()
    }

    /// Serves callers at `listen` (`tcp://IP:PORT`, or
    /// `nats://HOST:PORT/SUBJECT` to join that subject's queue group) until
    /// `shutdown` completes, then stops taking calls and lets those in
    /// flight finish. `announce` is told where it serves, once it does.
    pub async fn run(
        self: Arc<Self>,
        listen: &str,
        announce: impl FnOnce(&str),
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        match Transport::parse(listen)? {
            Transport::Tcp { addr } => {
                let addr: SocketAddr = addr.parse().map_err(|_| {
                    anyhow::anyhow!("`{listen}` is not `tcp://IP:PORT` (port 0 picks a free port)")
                })?;
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on `{listen}`"))?;
                announce(&format!("tcp://{}", listener.local_addr()?));
                self.serve_tcp(listener, shutdown).await;
                Ok(())
            }
            Transport::Nats { server, subject } => {
                let client = async_nats::connect(&server)
                    .await
                    .with_context(|| format!("cannot connect to the NATS server at `{server}`"))?;
                self.serve_nats(
                    client,
                    &subject,
                    || {
                        announce(&format!(
                            "nats://{server}/{subject} (queue group `{NATS_QUEUE_GROUP}`)"
                        ))
                    },
                    shutdown,
                )
                .await
            }
        }
    }

    /// Reads what follows the first byte `first` of an invocation (or of a
    /// token preamble). Refusals are reasons for the caller.
    async fn read_invocation<'a>(
        &'a self,
        r: &mut (impl AsyncBufRead + Unpin),
        first: u8,
        authorized: &mut bool,
    ) -> Result<Invocation<'a>, WireError> {
        if first == TOKEN_PREAMBLE {
            let token = frame::read_name(r).await?;
            // An exporter without a token takes any caller.
            *authorized = self
                .token
                .as_deref()
                .is_none_or(|t| constant_time_eq(t, &token));
            return Ok(if *authorized {
                Invocation::Token
            } else {
                self.refused("invalid token".into())
            });
        }
        if first != PROTOCOL {
            return Ok(self.refused(format!("unsupported wRPC version {first}")));
        }
        if !*authorized {
            return Ok(self.refused("this exporter requires a token".into()));
        }
        let instance = frame::read_name(r).await?;
        let func = frame::read_name(r).await?;
        let Some(f) = self.lookup(&instance, &func) else {
            // Read nothing more: the parameters' types are unknown.
            return Ok(self.refused(format!("`{instance}#{func}` is not served here")));
        };
        let mut held: Option<tokio::sync::OwnedSemaphorePermit> = None;
        let budget = &self.budget;
        let max_buffered = self.max_buffered;
        let mut reserve = |bytes: usize| {
            let units = u32::try_from(bytes.div_ceil(BUDGET_UNIT)).unwrap_or(u32::MAX);
            let permit = budget.clone().try_acquire_many_owned(units).map_err(|_| {
                WireError::OverBudget(format!(
                    "the exporter holds its limit of {} MiB of calls' values; try again later",
                    max_buffered >> 20
                ))
            })?;
            match &mut held {
                Some(h) => h.merge(permit),
                None => held = Some(permit),
            }
            Ok(())
        };
        let read = match &f.bulk {
            Some(bulk) => {
                let kinds = BulkParams(&bulk.shape().params);
                frame::read_root_within(r, &kinds, &mut reserve)
                    .await
                    .map(Arguments::Bulk)
            }
            None => frame::read_slots_within(r, &f.params, &mut reserve)
                .await
                .map(Arguments::Slots),
        };
        let params = match read {
            Ok(params) => params,
            Err(WireError::OverBudget(reason)) => return Ok(self.refused(reason)),
            Err(e) => return Err(e),
        };
        Ok(Invocation::Call(Call {
            instance,
            func,
            f,
            params,
            _held: held,
        }))
    }

    /// The refusal when every slot is taken.
    fn busy(&self) -> String {
        let reason = format!(
            "the exporter is at its limit of {} connections; try again later",
            self.max_connections
        );
        tracing::warn!("refused a caller: {reason}");
        reason
    }

    fn refused<'a>(&self, reason: String) -> Invocation<'a> {
        tracing::warn!("refused a call: {reason}");
        Invocation::Refused(reason)
    }

    fn lookup(&self, instance: &str, func: &str) -> Option<&Exported> {
        let wanted = InterfaceName::parse(instance);
        self.functions
            .iter()
            .find(|((i, f), _)| {
                f == func
                    && (i == instance
                        || (!i.is_empty() && InterfaceName::parse(i).matches(&wanted)))
            })
            .map(|(_, e)| e)
    }
}

fn exported(
    index: ComponentExportIndex,
    f: &wasmtime::component::types::ComponentFunc,
) -> Exported {
    let params: Vec<Type> = f.params().map(|(_, t)| t).collect();
    let results: Vec<Type> = f.results().collect();
    let streams = params.iter().chain(&results).any(is_byte_stream);
    let bulk = Shape::of(&params, &results).map(|shape| shape.caller());
    Exported {
        index,
        params,
        results,
        streams,
        bulk,
    }
}

/// Compares tokens without leaking where they differ through timing.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
