//! One VM: a long-lived instance of a filter module, its root context,
//! and the callbacks it exports. Callbacks are plain synchronous calls on
//! the synchronous engine: no fresh instance, no async hop, no component
//! model; each runs under the filter's deadline and memory cap.

use crate::abi::Action;
use crate::plugin::{FilterError, PluginShared};
use crate::stream::Stream;
use crate::upstream::PendingCall;
use nanopod_host::store::{Guard, Guarded};
use nanopod_host::{Deadline, HostEngine};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{InstancePre, Memory, Store, TypedFunc};

/// The store data of a VM.
pub(crate) struct VmState {
    guard: Guard,
    pub(crate) plugin: Arc<PluginShared>,
    /// Which of the filter's VMs this is.
    pub(crate) slot: usize,
    pub(crate) memory: Option<Memory>,
    /// The module's allocator, for what the host hands it.
    pub(crate) allocate: Option<TypedFunc<i32, i32>>,
    /// The stream whose callback runs (empty between callbacks).
    pub(crate) stream: Stream,
    pub(crate) root: u32,
    /// Contexts that exist: the root and the streams in flight.
    pub(crate) contexts: HashSet<u32>,
    /// The context host calls act on.
    pub(crate) effective: u32,
    pub(crate) tick_period: Option<Duration>,
    pub(crate) next_token: u32,
    /// HTTP calls the root context (a tick) dispatched.
    pub(crate) root_calls: Vec<PendingCall>,
}

impl Guarded for VmState {
    fn guard(&mut self) -> &mut Guard {
        &mut self.guard
    }
}

/// `proxy_on_http_call_response(context, token, headers, body, trailers)`.
type CallResponseFn = TypedFunc<(i32, i32, i32, i32, i32), ()>;

/// The callbacks a module may export; a missing one is not called.
struct Callbacks {
    context_create: Option<TypedFunc<(i32, i32), ()>>,
    vm_start: Option<TypedFunc<(i32, i32), i32>>,
    configure: Option<TypedFunc<(i32, i32), i32>>,
    request_headers: Option<TypedFunc<(i32, i32, i32), i32>>,
    request_body: Option<TypedFunc<(i32, i32, i32), i32>>,
    request_trailers: Option<TypedFunc<(i32, i32), i32>>,
    response_headers: Option<TypedFunc<(i32, i32, i32), i32>>,
    response_body: Option<TypedFunc<(i32, i32, i32), i32>>,
    response_trailers: Option<TypedFunc<(i32, i32), i32>>,
    log: Option<TypedFunc<i32, ()>>,
    done: Option<TypedFunc<i32, i32>>,
    delete: Option<TypedFunc<i32, ()>>,
    tick: Option<TypedFunc<i32, ()>>,
    queue_ready: Option<TypedFunc<(i32, i32), ()>>,
    http_call_response: Option<CallResponseFn>,
}

/// A callback that trapped (or ran past the filter's timeout): the VM is
/// dead, and the message says why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Trapped(pub(crate) String);

/// Which phase of a stream a callback belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Request,
    Response,
}

/// A running instance of a filter.
pub(crate) struct Vm {
    store: Store<VmState>,
    callbacks: Callbacks,
    next_context: u32,
}

impl Vm {
    /// Instantiates the module and starts it as Envoy does: `_initialize`
    /// (or `_start`), `main` if exported, then the root context:
    /// `proxy_on_context_create`, `proxy_on_vm_start` (with the VM
    /// configuration) and `proxy_on_configure` (with the plugin
    /// configuration); a start or configure that returns false fails.
    pub(crate) fn start(
        engine: &HostEngine,
        pre: &InstancePre<VmState>,
        plugin: Arc<PluginShared>,
        slot: usize,
    ) -> Result<Vm, FilterError> {
        let timeout = plugin.limits.timeout;
        let mut guard = Guard::new(&plugin.limits, Deadline::after(timeout));
        guard.never_yield();
        let state = VmState {
            guard,
            plugin: plugin.clone(),
            slot,
            memory: None,
            allocate: None,
            stream: Stream::default(),
            root: 1,
            contexts: HashSet::from([1]),
            effective: 1,
            tick_period: None,
            next_token: 0,
            root_calls: Vec::new(),
        };
        let mut store = engine.custom_store(state, Deadline::after(timeout));
        let failed = |what: &str, e: wasmtime::Error| FilterError::Start {
            filter: plugin.name.clone(),
            reason: format!("{what}: {}", describe(e)),
        };
        let instance = pre
            .instantiate(&mut store)
            .map_err(|e| failed("cannot instantiate it", e))?;
        let memory = instance.get_memory(&mut store, "memory");
        let allocate = ["malloc", "proxy_on_memory_allocate"]
            .into_iter()
            .find_map(|name| instance.get_typed_func::<i32, i32>(&mut store, name).ok());
        if memory.is_none() || allocate.is_none() {
            return Err(FilterError::Start {
                filter: plugin.name.clone(),
                reason:
                    "it exports no memory or no allocator (`malloc` or `proxy_on_memory_allocate`)"
                        .into(),
            });
        }
        store.data_mut().memory = memory;
        store.data_mut().allocate = allocate;
        macro_rules! export {
            ($name:literal) => {
                instance.get_typed_func(&mut store, $name).ok()
            };
        }
        let callbacks = Callbacks {
            context_create: export!("proxy_on_context_create"),
            vm_start: export!("proxy_on_vm_start"),
            configure: export!("proxy_on_configure"),
            request_headers: export!("proxy_on_request_headers"),
            request_body: export!("proxy_on_request_body"),
            request_trailers: export!("proxy_on_request_trailers"),
            response_headers: export!("proxy_on_response_headers"),
            response_body: export!("proxy_on_response_body"),
            response_trailers: export!("proxy_on_response_trailers"),
            log: export!("proxy_on_log"),
            done: export!("proxy_on_done"),
            delete: export!("proxy_on_delete"),
            tick: export!("proxy_on_tick"),
            queue_ready: export!("proxy_on_queue_ready"),
            http_call_response: export!("proxy_on_http_call_response"),
        };
        let init = ["_initialize", "_start"]
            .into_iter()
            .find_map(|name| instance.get_typed_func::<(), ()>(&mut store, name).ok());
        if let Some(init) = init {
            init.call(&mut store, ())
                .map_err(|e| failed("its initialization trapped", e))?;
        }
        if let Ok(main) = instance.get_typed_func::<(i32, i32), i32>(&mut store, "main") {
            main.call(&mut store, (0, 0))
                .map_err(|e| failed("its `main` trapped", e))?;
        }
        let mut vm = Vm {
            store,
            callbacks,
            next_context: 2,
        };
        let root = 1;
        let vm_config = plugin.vm_config.len() as i32;
        let config = plugin.plugin_config.len() as i32;
        let started = vm
            .call(root, |s, cb| {
                if let Some(f) = &cb.context_create {
                    f.call(&mut *s, (root as i32, 0))?;
                }
                let vm_ok = match &cb.vm_start {
                    Some(f) => f.call(&mut *s, (root as i32, vm_config))? != 0,
                    None => true,
                };
                if !vm_ok {
                    return Ok(Err("proxy_on_vm_start returned false"));
                }
                let configured = match &cb.configure {
                    Some(f) => f.call(&mut *s, (root as i32, config))? != 0,
                    None => true,
                };
                Ok(if configured {
                    Ok(())
                } else {
                    Err("proxy_on_configure returned false (its configuration was refused)")
                })
            })
            .map_err(|t| FilterError::Start {
                filter: plugin.name.clone(),
                reason: t.0,
            })?;
        started.map_err(|why| FilterError::Start {
            filter: plugin.name.clone(),
            reason: why.to_string(),
        })?;
        Ok(vm)
    }

    /// Runs `f` as context `context` would: host calls act on it, and the
    /// filter's deadline starts now.
    fn call<R>(
        &mut self,
        context: u32,
        f: impl FnOnce(&mut Store<VmState>, &Callbacks) -> wasmtime::Result<R>,
    ) -> Result<R, Trapped> {
        let timeout = self.store.data().plugin.limits.timeout;
        let data = self.store.data_mut();
        data.effective = context;
        data.guard().restart(Deadline::after(timeout));
        f(&mut self.store, &self.callbacks).map_err(|e| Trapped(describe(e)))
    }

    /// Runs `f` with `stream` installed, so host calls see it.
    fn with_stream<R>(
        &mut self,
        stream: &mut Stream,
        context: u32,
        f: impl FnOnce(&mut Store<VmState>, &Callbacks) -> wasmtime::Result<R>,
    ) -> Result<R, Trapped> {
        std::mem::swap(&mut self.store.data_mut().stream, stream);
        let result = self.call(context, f);
        std::mem::swap(&mut self.store.data_mut().stream, stream);
        result
    }

    /// A new HTTP context, created in the module.
    pub(crate) fn create_context(&mut self) -> Result<u32, Trapped> {
        let id = self.next_context;
        self.next_context = self.next_context.wrapping_add(1).max(2);
        let root = self.store.data().root;
        self.store.data_mut().contexts.insert(id);
        self.call(id, |s, cb| match &cb.context_create {
            Some(f) => f.call(s, (id as i32, root as i32)),
            None => Ok(()),
        })?;
        Ok(id)
    }

    /// `proxy_on_{request,response}_headers`.
    pub(crate) fn on_headers(
        &mut self,
        stream: &mut Stream,
        context: u32,
        phase: Phase,
        count: usize,
        end_of_stream: bool,
    ) -> Result<Action, Trapped> {
        self.with_stream(stream, context, |s, cb| {
            let f = match phase {
                Phase::Request => cb.request_headers.as_ref(),
                Phase::Response => cb.response_headers.as_ref(),
            };
            match f {
                Some(f) => Ok(Action::from_wasm(
                    f.call(s, (context as i32, count as i32, i32::from(end_of_stream)))?,
                )),
                None => Ok(Action::Continue),
            }
        })
    }

    /// `proxy_on_{request,response}_body`, with the size buffered so far.
    pub(crate) fn on_body(
        &mut self,
        stream: &mut Stream,
        context: u32,
        phase: Phase,
        size: usize,
        end_of_stream: bool,
    ) -> Result<Action, Trapped> {
        self.with_stream(stream, context, |s, cb| {
            let f = match phase {
                Phase::Request => cb.request_body.as_ref(),
                Phase::Response => cb.response_body.as_ref(),
            };
            match f {
                Some(f) => Ok(Action::from_wasm(
                    f.call(s, (context as i32, size as i32, i32::from(end_of_stream)))?,
                )),
                None => Ok(Action::Continue),
            }
        })
    }

    /// `proxy_on_{request,response}_trailers`.
    pub(crate) fn on_trailers(
        &mut self,
        stream: &mut Stream,
        context: u32,
        phase: Phase,
        count: usize,
    ) -> Result<Action, Trapped> {
        self.with_stream(stream, context, |s, cb| {
            let f = match phase {
                Phase::Request => cb.request_trailers.as_ref(),
                Phase::Response => cb.response_trailers.as_ref(),
            };
            match f {
                Some(f) => Ok(Action::from_wasm(
                    f.call(s, (context as i32, count as i32))?,
                )),
                None => Ok(Action::Continue),
            }
        })
    }

    /// `proxy_on_http_call_response`, with the answer installed.
    pub(crate) fn on_http_call_response(
        &mut self,
        stream: &mut Stream,
        token: u32,
        headers: usize,
        body: usize,
        trailers: usize,
    ) -> Result<(), Trapped> {
        let root = self.store.data().root;
        self.with_stream(stream, root, |s, cb| match &cb.http_call_response {
            Some(f) => f.call(
                s,
                (
                    root as i32,
                    token as i32,
                    headers as i32,
                    body as i32,
                    trailers as i32,
                ),
            ),
            None => Ok(()),
        })
    }

    /// The end of a stream: `proxy_on_log`, `proxy_on_done`,
    /// `proxy_on_delete`, as Envoy calls them.
    pub(crate) fn finish(&mut self, stream: &mut Stream, context: u32) -> Result<(), Trapped> {
        let result = self.with_stream(stream, context, |s, cb| {
            if let Some(f) = &cb.log {
                f.call(&mut *s, context as i32)?;
            }
            if let Some(f) = &cb.done {
                f.call(&mut *s, context as i32)?;
            }
            if let Some(f) = &cb.delete {
                f.call(&mut *s, context as i32)?;
            }
            Ok(())
        });
        self.store.data_mut().contexts.remove(&context);
        result
    }

    /// `proxy_on_tick` on the root context.
    pub(crate) fn on_tick(&mut self) -> Result<(), Trapped> {
        let root = self.store.data().root;
        let mut none = Stream::default();
        self.with_stream(&mut none, root, |s, cb| match &cb.tick {
            Some(f) => f.call(s, root as i32),
            None => Ok(()),
        })
    }

    /// `proxy_on_queue_ready` on the root context.
    pub(crate) fn on_queue_ready(&mut self, queue: u32) -> Result<(), Trapped> {
        let root = self.store.data().root;
        let mut none = Stream::default();
        self.with_stream(&mut none, root, |s, cb| match &cb.queue_ready {
            Some(f) => f.call(s, (root as i32, queue as i32)),
            None => Ok(()),
        })
    }

    /// How often the module asked to be ticked.
    pub(crate) fn tick_period(&self) -> Option<Duration> {
        self.store.data().tick_period
    }

    /// HTTP calls the root context dispatched, taken for delivery.
    pub(crate) fn take_root_calls(&mut self) -> Vec<PendingCall> {
        std::mem::take(&mut self.store.data_mut().root_calls)
    }

    /// The size of its linear memory, in bytes.
    pub(crate) fn memory_size(&self) -> usize {
        self.store
            .data()
            .memory
            .map_or(0, |m| m.data_size(&self.store))
    }
}

/// A trap or limit, in one line.
fn describe(e: wasmtime::Error) -> String {
    let e = anyhow::Error::from(e);
    nanopod_host::GuestFailure::classify(&e).map_or_else(|| format!("{e:#}"), |f| f.to_string())
}

/// Whether `module` is a proxy-wasm filter: it exports an ABI marker
/// (`proxy_abi_version_0_2_1` or `_0_2_0`).
pub fn is_filter(module: &wasmtime::Module) -> bool {
    module
        .exports()
        .any(|e| crate::abi::ABI_MARKERS.contains(&e.name()))
}
