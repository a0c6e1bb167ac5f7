//! A filter: one compiled proxy-wasm module, its configuration and grants,
//! and a small pool of long-lived VMs (one per worker thread, as Envoy
//! keeps one per worker). A VM that traps is dropped and started again for
//! the next request; shared data, queues and metrics outlive it.

use crate::host;
use crate::metrics::Metrics;
use crate::shared::{SharedData, SharedQueues};
use crate::stream::Stream;
use crate::upstream::PendingCall;
use crate::vm::{Trapped, Vm, VmState};
use nanopod_host::net::worker_slot;
use nanopod_host::{Grants, HostEngine, Limits};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use wasmtime::{ExternType, InstancePre, Linker, Module, Val, ValType};

/// How a filter is configured, as `pod.toml` gives it.
#[derive(Debug, Clone, Default)]
pub struct FilterConfig {
    /// Its name in the pod (the `plugin_name` property, and in logs).
    pub name: String,
    /// The root id the module registers its root context under
    /// (`plugin_root_id`). Default: empty, as in Envoy.
    pub root_id: String,
    /// The VM id (`plugin_vm_id`).
    pub vm_id: String,
    /// The plugin configuration, read in `proxy_on_configure`.
    pub config: Vec<u8>,
    /// The VM configuration, read in `proxy_on_vm_start`.
    pub vm_config: Vec<u8>,
    /// What it may reach: environment variables (its WASI environment),
    /// `allow-http` hosts (for `dispatch_http_call`), and its limits
    /// (`max-memory` per VM, `timeout` per callback).
    pub grants: Grants,
    /// How many VMs to keep (at least one).
    pub instances: usize,
    /// Where its shared data lives: a key-value store (a NATS bucket
    /// shares it with the same filter on other hosts). Default: in the
    /// process.
    pub shared_data: Option<nanopod_keyvalue::StoreUrl>,
}

/// Why a filter cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// Its imports cannot be linked.
    #[error("filter `{filter}` cannot be linked")]
    Link {
        /// The filter.
        filter: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// It did not start: a trap, a refused configuration, a missing export.
    #[error("filter `{filter}` did not start: {reason}")]
    Start {
        /// The filter.
        filter: String,
        /// Why.
        reason: String,
    },
}

/// What every VM of a filter shares.
pub(crate) struct PluginShared {
    pub(crate) name: String,
    pub(crate) root_id: String,
    pub(crate) vm_id: String,
    pub(crate) vm_config: Vec<u8>,
    pub(crate) plugin_config: Vec<u8>,
    pub(crate) env: Vec<(String, String)>,
    grants: Grants,
    pub(crate) limits: Limits,
    pub(crate) data: SharedData,
    pub(crate) queues: SharedQueues,
    pub(crate) metrics: Arc<Metrics>,
    filter: OnceLock<Weak<Inner>>,
}

impl PluginShared {
    /// Whether `dispatch_http_call` may reach `upstream` (`host:port`).
    pub(crate) fn may_call(&self, upstream: &str) -> bool {
        let (host, port) = match upstream.rsplit_once(':') {
            Some((h, p)) => match p.parse::<u16>() {
                Ok(p) => (h, Some(p)),
                Err(_) => (upstream, None),
            },
            None => (upstream, None),
        };
        self.grants.allows_http(host, port)
    }

    /// Tells the VM that owns a queue that an item arrived.
    pub(crate) fn notify_queue(&self, (slot, _root): (usize, u32), queue: u32) {
        let Some(filter) = self.filter.get().and_then(Weak::upgrade) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let generation = filter.slots[slot].generation.load(Ordering::Acquire);
            if let Err(e) = filter.with_vm(slot, generation, |vm| vm.on_queue_ready(queue)) {
                tracing::warn!("filter `{}`: proxy_on_queue_ready: {e}", filter.shared.name);
            }
        });
    }
}

/// One VM of the pool.
struct Slot {
    vm: Mutex<Option<Vm>>,
    /// Bumped each time the VM is replaced: contexts of an older VM are
    /// gone.
    generation: AtomicU64,
}

impl Slot {
    /// Whether a callback runs in this VM right now.
    fn is_busy(&self) -> bool {
        matches!(self.vm.try_lock(), Err(std::sync::TryLockError::WouldBlock))
    }
}

pub(crate) struct Inner {
    pub(crate) shared: Arc<PluginShared>,
    engine: HostEngine,
    pre: InstancePre<VmState>,
    slots: Vec<Slot>,
}

/// Why a callback of a stream did not run.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum CallFailure {
    /// It trapped (the VM is replaced).
    #[error("{0}")]
    Trapped(#[from] Trapped),
    /// The VM the stream began on was replaced since.
    #[error("its VM was replaced after a trap")]
    Gone,
    /// A replacement VM did not start.
    #[error("{0}")]
    Start(String),
}

/// A proxy-wasm filter, ready to filter requests.
#[derive(Clone)]
pub struct ProxyFilter {
    pub(crate) inner: Arc<Inner>,
}

impl ProxyFilter {
    /// Links `module` (compiled for `engine`, the synchronous engine) and
    /// starts its VMs, each with its root context configured; fails if any
    /// does not start. `metrics` is where its metrics go.
    pub fn new(
        engine: &HostEngine,
        module: &Module,
        config: FilterConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, FilterError> {
        let link_error = |e: wasmtime::Error| FilterError::Link {
            filter: config.name.clone(),
            source: anyhow::Error::from(e).into(),
        };
        let mut linker = Linker::new(engine);
        host::add_to_linker(&mut linker).map_err(link_error)?;
        stub_unknown_imports(&mut linker, module).map_err(link_error)?;
        let pre = linker.instantiate_pre(module).map_err(link_error)?;
        let data =
            match &config.shared_data {
                None => SharedData::default(),
                Some(url) => SharedData::in_store(
                    nanopod_keyvalue::BlockingStore::open(url).map_err(|e| FilterError::Start {
                        filter: config.name.clone(),
                        reason: format!("its shared-data store {url}: {e}"),
                    })?,
                ),
            };
        let shared = Arc::new(PluginShared {
            name: config.name.clone(),
            root_id: config.root_id,
            vm_id: config.vm_id,
            vm_config: config.vm_config,
            plugin_config: config.config,
            env: config.grants.env_vars().to_vec(),
            limits: config.grants.limits,
            grants: config.grants,
            data,
            queues: SharedQueues::default(),
            metrics,
            filter: OnceLock::new(),
        });
        let mut slots = Vec::new();
        for i in 0..config.instances.max(1) {
            let vm = Vm::start(engine, &pre, shared.clone(), i)?;
            slots.push(Slot {
                vm: Mutex::new(Some(vm)),
                generation: AtomicU64::new(0),
            });
        }
        let inner = Arc::new(Inner {
            shared,
            engine: engine.clone(),
            pre,
            slots,
        });
        let _ = inner.shared.filter.set(Arc::downgrade(&inner));
        Ok(ProxyFilter { inner })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.inner.shared.name
    }

    /// The linear memory size of each running VM, in bytes.
    pub fn memory_sizes(&self) -> Vec<usize> {
        self.inner
            .slots
            .iter()
            .filter_map(|s| s.vm.lock().expect("vm").as_ref().map(Vm::memory_size))
            .collect()
    }

    /// Starts what runs beside requests: each VM's `proxy_on_tick`, at the
    /// period its root context asked for (call inside the runtime that
    /// serves).
    pub fn start_background(&self) {
        for slot in 0..self.inner.slots.len() {
            let inner = Arc::downgrade(&self.inner);
            tokio::spawn(async move {
                loop {
                    let Some(filter) = inner.upgrade() else {
                        return;
                    };
                    let generation = filter.slots[slot].generation.load(Ordering::Acquire);
                    let period = filter
                        .with_vm(slot, generation, |vm| Ok(vm.tick_period()))
                        .ok()
                        .flatten();
                    drop(filter);
                    let Some(period) = period else {
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        continue;
                    };
                    tokio::time::sleep(period).await;
                    let Some(filter) = inner.upgrade() else {
                        return;
                    };
                    let ticked = filter.with_vm(slot, generation, |vm| {
                        vm.on_tick()?;
                        Ok(vm.take_root_calls())
                    });
                    match ticked {
                        Ok(calls) => filter.deliver_root_calls(slot, generation, calls),
                        // The VM was replaced while this task slept: the
                        // next round ticks its successor.
                        Err(CallFailure::Gone) => {}
                        Err(e) => {
                            tracing::warn!("filter `{}`: proxy_on_tick: {e}", filter.shared.name)
                        }
                    }
                }
            });
        }
    }
}

impl Inner {
    /// A VM for a new stream: the current worker thread's own, or another
    /// that is free right now if that one is busy (a task that moved
    /// between threads); returns its slot and generation.
    pub(crate) fn pick(&self) -> (usize, u64) {
        let n = self.slots.len();
        let own = worker_slot(n);
        let slot = (0..n)
            .map(|i| (own + i) % n)
            .find(|&s| !self.slots[s].is_busy())
            .unwrap_or(own);
        (slot, self.slots[slot].generation.load(Ordering::Acquire))
    }

    /// Runs `f` on the VM in `slot`, if it is still the one of
    /// `generation` (started again first if it died since). A trap drops
    /// the VM.
    pub(crate) fn with_vm<R>(
        &self,
        slot: usize,
        generation: u64,
        f: impl FnOnce(&mut Vm) -> Result<R, Trapped>,
    ) -> Result<R, CallFailure> {
        let s = &self.slots[slot];
        let mut vm = s.vm.lock().expect("vm");
        if s.generation.load(Ordering::Acquire) != generation {
            return Err(CallFailure::Gone);
        }
        if vm.is_none() {
            let started = Vm::start(&self.engine, &self.pre, self.shared.clone(), slot)
                .map_err(|e| CallFailure::Start(e.to_string()))?;
            *vm = Some(started);
        }
        let result = f(vm.as_mut().expect("started above"));
        if let Err(trapped) = &result {
            tracing::error!(
                "filter `{}` trapped ({trapped}); its VM is replaced",
                self.shared.name
            );
            *vm = None;
            s.generation.fetch_add(1, Ordering::AcqRel);
        }
        result.map_err(CallFailure::from)
    }

    /// Delivers the answers of HTTP calls a root context made.
    fn deliver_root_calls(self: Arc<Self>, slot: usize, generation: u64, calls: Vec<PendingCall>) {
        for call in calls {
            let filter = self.clone();
            tokio::spawn(async move {
                let Ok(answer) = call.answer.await else {
                    return;
                };
                let mut stream = Stream::default();
                let (h, b, t) = (
                    answer.header_count(),
                    answer.body.len(),
                    answer.trailers.len(),
                );
                stream.call_response = Some(answer);
                let delivered = filter.with_vm(slot, generation, |vm| {
                    vm.on_http_call_response(&mut stream, call.token, h, b, t)
                });
                if let Err(e) = delivered {
                    tracing::warn!(
                        "filter `{}`: proxy_on_http_call_response: {e}",
                        filter.shared.name
                    );
                }
            });
        }
    }
}

/// Links every import of `module` that nanopod does not define to a stub:
/// `env` calls answer `Unimplemented`, WASI calls `ENOSYS`, so a module
/// written for a richer host still loads and learns at use what it lacks.
fn stub_unknown_imports(linker: &mut Linker<VmState>, module: &Module) -> wasmtime::Result<()> {
    for import in module.imports() {
        let ExternType::Func(ty) = import.ty() else {
            continue;
        };
        let answer = if import.module() == "env" {
            crate::abi::Status::Unimplemented as i32
        } else {
            crate::wasi::NOSYS
        };
        let results: Vec<ValType> = ty.results().collect();
        let numeric =
            |t: &ValType| matches!(t, ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64);
        if !results.iter().all(numeric) {
            continue;
        }
        let (module_name, name) = (import.module().to_string(), import.name().to_string());
        let stub = linker.func_new(&module_name, &name, ty, move |_c, _params, out| {
            for (slot, ty) in out.iter_mut().zip(&results) {
                *slot = match ty {
                    ValType::I64 => Val::I64(i64::from(answer)),
                    ValType::F32 => Val::F32(0),
                    ValType::F64 => Val::F64(0),
                    _ => Val::I32(answer),
                };
            }
            Ok(())
        });
        // Already defined: nanopod implements it.
        drop(stub);
    }
    Ok(())
}
