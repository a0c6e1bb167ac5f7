//! Instantiate + first call of the `primes` example before and after
//! `nanopod snapshot`, in-process, printed as a ratio measured in one run.
//!
//! `cargo bench -p nanopod-host --bench snapshot`

use nanopod_host::linker::component_linker;
use nanopod_host::{Deadline, EngineMode, Engines, Grants, HostEngine, HostState};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, InstancePre};

/// Median time of `runs` fresh instantiations each followed by one call.
fn measure(
    rt: &tokio::runtime::Runtime,
    engine: &HostEngine,
    pre: &InstancePre<HostState>,
    runs: usize,
) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            rt.block_on(async {
                let start = Instant::now();
                let mut store = engine.store(&Grants::new(), Deadline::NONE).unwrap();
                let instance = pre.instantiate_async(&mut store).await.unwrap();
                let nth = instance
                    .get_typed_func::<(u32,), (Result<u32, String>,)>(&mut store, "nth-prime")
                    .unwrap();
                let (prime,) = nth.call_async(&mut store, (1_000_000,)).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(prime, Ok(15_485_863));
                elapsed
            })
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mode = EngineMode::Sync;
    let engines = Engines::default();
    let engine = engines.get(mode).unwrap();
    let linker = component_linker(engine, mode).unwrap();
    let original = std::fs::read(test_programs_artifacts::PRIMES).unwrap();
    let snapshot = rt
        .block_on(nanopod_host::snapshot::snapshot(
            engine,
            &original,
            None,
            &Grants::new(),
        ))
        .unwrap();
    let pre = |bytes: &[u8]| {
        let component = Component::new(engine, bytes).unwrap();
        linker.instantiate_pre(&component).unwrap()
    };
    let before = measure(&rt, engine, &pre(&original), 11);
    let after = measure(&rt, engine, &pre(&snapshot), 501);
    println!(
        "primes: instantiate + nth-prime(1000000), median, in-process (wasmtime 48, sync engine)"
    );
    println!("  original:         {before:>12.3?}");
    println!("  nanopod snapshot: {after:>12.3?}");
    println!(
        "  ratio: {:.0}x faster after snapshot (target >= 10x)",
        before.as_secs_f64() / after.as_secs_f64()
    );
}
