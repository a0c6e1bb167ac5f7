//! The one way to make a store: [`HostEngine::store`] for components and
//! [`HostEngine::module_store`] for WASI preview1 modules, both under a
//! component's [`Grants`] and a [`Deadline`].
//!
//! Every store gets the memory limiter of `max-memory` (growth past it
//! traps) and an epoch callback that, at every tick of the engine's ticker,
//! stops the guest once its deadline has passed and otherwise lets the
//! executor run other work. A store that serves several units of work (a
//! reused instance) restarts its deadline with [`Guard::restart`].

use crate::capability::config::ConfigGrant;
use crate::capability::filesystem::DirError;
use crate::capability::http::{HttpPolicy, NextHop};
use crate::capability::keyvalue::KeyvalueGrant;
use crate::engine::{Deadline, HostEngine};
use crate::grants::Grants;
use crate::limits::Limits;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreContextMut, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The limits of one store: its memory limiter and its deadline.
pub struct Guard {
    limits: MemoryCap,
    deadline: Deadline,
    yields: bool,
}

/// Why a guest's memory could not grow: the error its trapping
/// `memory.grow` carries (a guest that cannot grow its memory cannot go
/// on, so growth failures trap rather than return -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrowthRefused {
    /// Past the store's `max-memory`.
    #[error("growing memory to {desired} bytes passes max-memory ({limit} bytes)")]
    MaxMemory {
        /// The limit, in bytes.
        limit: usize,
        /// The size asked for.
        desired: usize,
    },
    /// Past what the memory can be (its declared maximum, 4 GiB for a
    /// 32-bit memory) or what the host could map.
    #[error("growing memory to {desired} bytes passes what the memory can hold")]
    Maximum {
        /// The size asked for.
        desired: usize,
    },
}

/// The memory limiter: `max-memory` if set, and every failed growth a trap
/// that says which limit it hit.
struct MemoryCap {
    max_memory: Option<usize>,
    /// The size the last growth asked for.
    desired: usize,
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.desired = desired;
        if let Some(limit) = self.max_memory
            && desired > limit
        {
            return Err(GrowthRefused::MaxMemory { limit, desired }.into());
        }
        if maximum.is_some_and(|max| desired > max) {
            return Err(GrowthRefused::Maximum { desired }.into());
        }
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        tracing::debug!("memory growth failed: {error}");
        Err(GrowthRefused::Maximum {
            desired: self.desired,
        }
        .into())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            wasmtime::bail!("growing a table to {desired} elements passes its maximum");
        }
        Ok(true)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(error.context("a table could not grow"))
    }
}

impl Guard {
    /// A guard for `limits` (its memory cap) that stops the guest at
    /// `deadline`.
    pub fn new(limits: &Limits, deadline: Deadline) -> Self {
        Guard {
            limits: MemoryCap {
                max_memory: limits.max_memory,
                desired: 0,
            },
            deadline,
            yields: true,
        }
    }

    /// Starts a new deadline (a reused instance taking its next request).
    pub fn restart(&mut self, deadline: Deadline) {
        self.deadline = deadline;
    }

    /// The current deadline.
    pub fn deadline(&self) -> Deadline {
        self.deadline
    }

    /// Never yields to the executor at a tick: for stores whose guests are
    /// called synchronously (a yield there would trap). Default: yields, so
    /// a long call never holds an executor thread.
    pub fn never_yield(&mut self) {
        self.yields = false;
    }
}

/// Store data that carries a [`Guard`].
pub trait Guarded: Send + 'static {
    /// The store's guard.
    fn guard(&mut self) -> &mut Guard;
}

/// The data of a component store: the WASI context, the `wasi:http` context
/// with nanopod's outbound policy, the resource table and the guard.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    http_policy: HttpPolicy,
    config: Arc<ConfigGrant>,
    keyvalue: Arc<KeyvalueGrant>,
    guard: Guard,
}

impl HostState {
    /// Sends every outbound HTTP request of this instance to `next` instead
    /// of the network: how a `nanopod serve` middleware reaches the next
    /// handler of its chain. Default: outbound HTTP goes to the network,
    /// under the `allow-http` grants.
    pub fn route_http_to(&mut self, next: NextHop) -> &mut Self {
        self.http_policy.next_hop = Some(next);
        self
    }

    /// Whether outbound HTTP goes to the next handler of a serve chain
    /// rather than the network (see [`HostState::route_http_to`]).
    pub(crate) fn routes_http_to_next_hop(&self) -> bool {
        self.http_policy.next_hop.is_some()
    }

    /// The configuration values `wasi:config/store` answers with.
    pub(crate) fn config(&self) -> &ConfigGrant {
        &self.config
    }

    /// The key-value stores `wasi:keyvalue/store` may open.
    pub(crate) fn keyvalue(&self) -> &KeyvalueGrant {
        &self.keyvalue
    }

    /// The resource table, for host-made resources such as input streams.
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// The resource table, to read.
    pub(crate) fn table_ref(&self) -> &ResourceTable {
        &self.table
    }
}

impl Guarded for HostState {
    fn guard(&mut self) -> &mut Guard {
        &mut self.guard
    }
}

/// The data of a WASI preview1 module's store.
pub struct P1State {
    /// The preview1 context.
    pub(crate) wasi: wasmtime_wasi::p1::WasiP1Ctx,
    guard: Guard,
}

impl Guarded for P1State {
    fn guard(&mut self) -> &mut Guard {
        &mut self.guard
    }
}

/// The most resources (open files, directory streams, sockets, streams,
/// pollables, …) one instance may hold at once: each costs host memory
/// and often a file descriptor, which the guest's `--max-memory` does not
/// count.
pub const MAX_HANDLES: usize = 4096;

impl HostEngine {
    /// A store for one component instance under `grants`, to stop at
    /// `deadline`.
    pub fn store(&self, grants: &Grants, deadline: Deadline) -> Result<Store<HostState>, DirError> {
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_HANDLES);
        let state = HostState {
            wasi: grants.wasi_builder()?.build(),
            http: WasiHttpCtx::new(),
            table,
            http_policy: HttpPolicy {
                grant: grants.http.clone(),
                next_hop: None,
            },
            config: grants.config.clone(),
            keyvalue: grants.keyvalue.clone(),
            guard: Guard::new(&grants.limits, deadline),
        };
        Ok(self.guarded(state, deadline))
    }

    /// A store for one WASI preview1 module instance under `grants`, to
    /// stop at `deadline`.
    pub fn module_store(
        &self,
        grants: &Grants,
        deadline: Deadline,
    ) -> Result<Store<P1State>, DirError> {
        let mut wasi = grants.wasi_builder()?.build_p1();
        wasi.ctx().table.set_max_capacity(MAX_HANDLES);
        let state = P1State {
            wasi,
            guard: Guard::new(&grants.limits, deadline),
        };
        Ok(self.guarded(state, deadline))
    }

    /// A store for other store data (a proxy-wasm VM's): the same memory
    /// limiter and deadline check, from the data's own [`Guard`].
    pub fn custom_store<T: Guarded>(&self, data: T, deadline: Deadline) -> Store<T> {
        self.guarded(data, deadline)
    }

    fn guarded<T: Guarded>(&self, data: T, deadline: Deadline) -> Store<T> {
        self.tick_for(deadline);
        let mut store = Store::new(self, data);
        store.limiter(|s| &mut s.guard().limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx: StoreContextMut<'_, T>| {
            let guard = ctx.data_mut().guard();
            Ok(if guard.deadline.has_passed() {
                UpdateDeadline::Interrupt
            } else if guard.yields {
                UpdateDeadline::Yield(1)
            } else {
                UpdateDeadline::Continue(1)
            })
        });
        store
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_policy,
        }
    }
}
