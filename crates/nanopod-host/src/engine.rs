//! Engines, each with its one epoch ticker.
//!
//! Concurrency support (WASI 0.3, `stream<u8>`, async exports) costs every
//! host↔guest crossing about 240 ns in wasmtime 48, so nanopod keeps two
//! engines and picks the synchronous one whenever a component needs no async
//! feature ([`EngineMode::needed_by`]).
//!
//! Time limits are wall-clock [`Deadline`]s checked by an epoch callback
//! (see [`crate::store`]); the ticker only says how often the check runs.
//! An engine owns its ticker, started the first time a store needs it, so
//! there is exactly one per engine and the tick rate can never change a
//! timeout.

use anyhow::Result;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use wasmtime::{Config, Engine};

/// Which engine configuration a component needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineMode {
    /// No component-model async: faster synchronous calls.
    Sync,
    /// Concurrency support on: required for WASI 0.3, streams and futures.
    Concurrent,
}

impl EngineMode {
    /// A short name for logs and `inspect`.
    pub fn name(self) -> &'static str {
        match self {
            EngineMode::Sync => "sync",
            EngineMode::Concurrent => "concurrent",
        }
    }

    /// The engine `bytes` (a component or a core module) needs: concurrent
    /// when a component uses component-model async (WASI 0.3 imports,
    /// async functions, streams or futures), else the faster synchronous
    /// one.
    pub fn needed_by(bytes: &[u8]) -> EngineMode {
        use wit_parser::{TypeDefKind, WorldItem};
        if !wasmparser::Parser::is_component(bytes) {
            return EngineMode::Sync;
        }
        let Ok(wit_parser::decoding::DecodedWasm::Component(resolve, _)) =
            wit_parser::decoding::decode(bytes)
        else {
            return EngineMode::Concurrent;
        };
        let async_types = resolve
            .types
            .iter()
            .any(|(_, t)| matches!(t.kind, TypeDefKind::Future(_) | TypeDefKind::Stream(_)));
        let async_funcs = resolve
            .interfaces
            .iter()
            .flat_map(|(_, i)| i.functions.values())
            .chain(resolve.worlds.iter().flat_map(|(_, w)| {
                w.imports
                    .values()
                    .chain(w.exports.values())
                    .filter_map(|item| match item {
                        WorldItem::Function(f) => Some(f),
                        _ => None,
                    })
            }))
            .any(|f| f.kind.is_async());
        let p3_imports = resolve.packages.iter().any(|(_, p)| {
            p.name.namespace == "wasi"
                && p.name
                    .version
                    .as_ref()
                    .is_some_and(|v| v.major == 0 && v.minor >= 3)
        });
        if async_types || async_funcs || p3_imports {
            EngineMode::Concurrent
        } else {
            EngineMode::Sync
        }
    }

    /// The engine a pod of components needs: concurrent if any needs it.
    pub fn for_all(modes: impl IntoIterator<Item = EngineMode>) -> EngineMode {
        if modes.into_iter().any(|m| m == EngineMode::Concurrent) {
            EngineMode::Concurrent
        } else {
            EngineMode::Sync
        }
    }
}

/// How often the epoch ticks: the resolution of deadlines, and how often a
/// long-running guest yields to the executor.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of each pooled memory and table reset in place (not unmapped)
/// when an instance ends.
const POOL_KEEP_RESIDENT: usize = 2 << 20;

/// Largest wasm stack a guest may use before it traps with a stack overflow.
const MAX_WASM_STACK: usize = 1024 * 1024;

/// When a unit of guest work (a run, a request, a call) must stop. Checked
/// against the wall clock, so it means the same whatever the tick rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No deadline.
    pub const NONE: Deadline = Deadline(None);

    /// `timeout` from now, or none.
    pub fn after(timeout: Option<Duration>) -> Self {
        Deadline(timeout.map(|t| Instant::now() + t))
    }

    /// The instant, if any.
    pub fn instant(self) -> Option<Instant> {
        self.0
    }

    /// Whether the deadline has passed.
    pub fn has_passed(self) -> bool {
        self.0.is_some_and(|d| Instant::now() >= d)
    }

    /// Runs `work`, which may wait without running wasm (on stdin, a
    /// stream, a clock, the network), until the deadline: past it the work
    /// is dropped and this returns [`Expired`]. The wall clock is given two
    /// ticks of grace, so that a guest that computes is stopped by its
    /// store's epoch check, with the trap that check gives.
    pub async fn within<F: Future>(self, work: F) -> Result<F::Output, Expired> {
        match self.0 {
            None => Ok(work.await),
            Some(at) => {
                let at = tokio::time::Instant::from_std(at + 2 * EPOCH_TICK);
                tokio::time::timeout_at(at, work).await.map_err(|_| Expired)
            }
        }
    }

    /// [`Deadline::within`] for work that fails with guest errors: past
    /// the deadline it fails as a timeout (`Trap::Interrupt`).
    pub async fn bound<T>(self, work: impl Future<Output = Result<T>>) -> Result<T> {
        self.within(work)
            .await
            .unwrap_or_else(|Expired| Err(wasmtime::Trap::Interrupt.into()))
    }
}

/// Work stopped at its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("past its deadline")]
pub struct Expired;

/// A wasmtime engine and its epoch ticker. Cheap to clone; dereferences to
/// the [`Engine`].
#[derive(Clone)]
pub struct HostEngine {
    engine: Engine,
    mode: EngineMode,
    /// A server's engine: its guests yield to the executor at every tick
    /// even without a deadline, so a long call never holds a thread.
    serves_many: bool,
    ticker: Arc<OnceLock<EpochTicker>>,
}

impl HostEngine {
    fn new(mode: EngineMode, pooling: bool) -> Result<Self> {
        Ok(HostEngine {
            engine: build(mode, pooling)?,
            mode,
            serves_many: pooling,
            ticker: Arc::new(OnceLock::new()),
        })
    }

    /// The configuration it was built with.
    pub fn mode(&self) -> EngineMode {
        self.mode
    }

    /// Starts the engine's ticker, if it is not running yet, when a store
    /// with `deadline` needs it: always for a server's engine, else when
    /// there is a deadline.
    pub(crate) fn tick_for(&self, deadline: Deadline) {
        if self.serves_many || deadline.instant().is_some() {
            self.ticker.get_or_init(|| EpochTicker::start(&self.engine));
        }
    }
}

impl std::ops::Deref for HostEngine {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.engine
    }
}

/// Lazily built engines, one per [`EngineMode`].
#[derive(Default)]
pub struct Engines {
    pooling: bool,
    sync: OnceLock<HostEngine>,
    concurrent: OnceLock<HostEngine>,
}

impl Engines {
    /// Engines with the pooling instance allocator, for servers that make
    /// a fresh instance per request: slots for memories and tables are
    /// reserved once and reused. Default ([`Engines::default`]): on-demand
    /// allocation, cheaper for a single run.
    pub fn pooled() -> Self {
        Engines {
            pooling: true,
            ..Default::default()
        }
    }

    /// The engine for `mode`, built on first use.
    pub fn get(&self, mode: EngineMode) -> Result<&HostEngine> {
        let cell = match mode {
            EngineMode::Sync => &self.sync,
            EngineMode::Concurrent => &self.concurrent,
        };
        if let Some(engine) = cell.get() {
            return Ok(engine);
        }
        let engine = HostEngine::new(mode, self.pooling)?;
        Ok(cell.get_or_init(|| engine))
    }
}

fn build(mode: EngineMode, pooling: bool) -> Result<Engine> {
    let mut config = Config::new();
    if pooling {
        // A slot's memory and tables are reset in place for the next
        // instance instead of being unmapped: unmapping costs page faults on
        // reuse and, in a multi-threaded server, TLB shootdowns on every
        // core (35% of a middleware chain's time before this).
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.linear_memory_keep_resident(POOL_KEEP_RESIDENT)
            .table_keep_resident(POOL_KEEP_RESIDENT)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    }
    let concurrent = mode == EngineMode::Concurrent;
    // Epoch interruption is always on so that deadlines work; its cost is a
    // load and compare per loop header.
    config
        .wasm_component_model(true)
        .wasm_component_model_async(concurrent)
        .concurrency_support(concurrent)
        .epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK);
    Ok(Engine::new(&config)?)
}

/// Increments an engine's epoch every [`EPOCH_TICK`] until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
        EpochTicker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_wall_clock_instants() {
        assert!(!Deadline::NONE.has_passed());
        assert!(Deadline::after(Some(Duration::ZERO)).has_passed());
        assert!(!Deadline::after(Some(Duration::from_secs(60))).has_passed());
        assert_eq!(Deadline::after(None), Deadline::NONE);
    }

    #[test]
    fn an_engine_has_one_ticker_however_many_stores_need_it() {
        let engines = Engines::default();
        let engine = engines.get(EngineMode::Sync).unwrap();
        engine.tick_for(Deadline::NONE);
        assert!(engine.ticker.get().is_none(), "no deadline, no ticker");
        let soon = Deadline::after(Some(Duration::from_secs(1)));
        engine.tick_for(soon);
        let first = engine.ticker.get().map(|t| t as *const EpochTicker);
        assert!(first.is_some());
        engine.clone().tick_for(soon);
        assert_eq!(engine.ticker.get().map(|t| t as *const EpochTicker), first);
    }
}
