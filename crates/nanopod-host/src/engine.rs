//! Engines and the epoch ticker.
//!
//! Concurrency support (WASI 0.3, `stream<u8>`, async exports) costs every
//! host↔guest crossing about 240 ns in wasmtime 48, so nanopod keeps two
//! engines and picks the synchronous one whenever a component needs no async
//! feature.

use anyhow::Result;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
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
}

/// Interval of the epoch ticker: the resolution of `--timeout`.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of each pooled memory and table reset in place (not unmapped)
/// when an instance ends.
const POOL_KEEP_RESIDENT: usize = 2 << 20;

/// An epoch deadline never reached: far enough ahead, yet safe to add to
/// an epoch that a ticker has already advanced.
pub const NO_DEADLINE: u64 = u64::MAX / 2;

/// Largest wasm stack a guest may use before it traps with a stack overflow.
pub const MAX_WASM_STACK: usize = 1024 * 1024;

/// Lazily built engines, one per [`EngineMode`].
#[derive(Default)]
pub struct Engines {
    pooling: bool,
    sync: std::sync::OnceLock<Engine>,
    concurrent: std::sync::OnceLock<Engine>,
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
    pub fn get(&self, mode: EngineMode) -> Result<&Engine> {
        let cell = match mode {
            EngineMode::Sync => &self.sync,
            EngineMode::Concurrent => &self.concurrent,
        };
        if let Some(engine) = cell.get() {
            return Ok(engine);
        }
        let engine = build(mode, self.pooling)?;
        Ok(cell.get_or_init(|| engine))
    }
}

/// Builds an engine for `mode`. Epoch interruption is always on so that
/// `--timeout` works; its cost is a load and compare per loop header.
pub fn build_engine(mode: EngineMode) -> Result<Engine> {
    build(mode, false)
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
    config
        .wasm_component_model(true)
        .wasm_component_model_async(concurrent)
        .concurrency_support(concurrent)
        .epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK);
    Ok(Engine::new(&config)?)
}

/// Increments the engine's epoch every [`EPOCH_TICK`] until dropped, so
/// stores with an epoch deadline are interrupted on time.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts ticking `engine`'s epoch on a background thread.
    pub fn start(engine: &Engine) -> Self {
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

/// Number of epoch ticks that make up `timeout` (at least one).
pub fn ticks_for(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// Applies `timeout` to `store`: an epoch deadline plus the ticker that
/// advances the epoch (returned; keep it alive for the run). Without a
/// timeout the deadline is never reached.
pub fn arm_timeout<T>(
    engine: &Engine,
    store: &mut wasmtime::Store<T>,
    timeout: Option<Duration>,
) -> Option<EpochTicker> {
    match timeout {
        Some(t) => {
            store.set_epoch_deadline(ticks_for(t));
            Some(EpochTicker::start(engine))
        }
        None => {
            store.set_epoch_deadline(NO_DEADLINE);
            None
        }
    }
}
