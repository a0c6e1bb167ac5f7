//! Instantiate-to-first-call of a small typed component (`kitchen`,
//! `add(1, 2)`), in-process: a fresh store and instance each time, from an
//! `InstancePre`, with on-demand allocation (`nanopod run`) and with the
//! pooling allocator (`nanopod serve`), measured in one run.
//!
//! `cargo bench -p nanopod-host --bench instantiate`

use nanopod_host::linker::component_linker;
use nanopod_host::{Deadline, EngineMode, Engines, Grants, HostEngine, HostState};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, InstancePre};

/// Median of `runs` fresh instantiations each followed by `add(1, 2)`.
fn median(
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
                let add = instance
                    .get_typed_func::<(u32, u32), (u32,)>(&mut store, "add")
                    .unwrap();
                let (sum,) = add.call_async(&mut store, (1, 2)).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(sum, 3);
                elapsed
            })
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bytes = std::fs::read(test_programs_artifacts::KITCHEN).unwrap();
    let mut results = Vec::new();
    for (label, engines) in [
        ("on-demand allocation (nanopod run)", Engines::default()),
        ("pooling allocator (nanopod serve)", Engines::pooled()),
    ] {
        let mode = EngineMode::Sync;
        let engine = engines.get(mode).unwrap();
        let component = Component::new(engine, &bytes).unwrap();
        let pre = component_linker(engine, mode)
            .unwrap()
            .instantiate_pre(&component)
            .unwrap();
        median(&rt, engine, &pre, 200);
        results.push((label, median(&rt, engine, &pre, 2001)));
    }
    println!(
        "kitchen: instantiate + add(1, 2), median of 2001, in-process (wasmtime 48, sync engine)"
    );
    for (label, t) in &results {
        println!("  {label:<38} {t:>10.1?}");
    }
    println!(
        "  pooling: {:.2}x the on-demand time (target <= 50 us)",
        results[1].1.as_secs_f64() / results[0].1.as_secs_f64()
    );
}
