//! Key-value `set`/`get` of 100-byte values from a guest (`kv`'s
//! `set-loop` and `get-loop`, through `wasi:keyvalue`) against the same
//! store used natively from Rust, in one run:
//!
//! - the embedded file store vs redb used directly (a write transaction,
//!   committed durably, per `set`; a read transaction per `get`);
//! - a NATS bucket vs async-nats used directly (on a `nats-server -js` the
//!   bench starts);
//! - the memory store vs nanopod-keyvalue's API (the host-call cost alone).
//!
//! `cargo bench -p nanopod-host --bench keyvalue` (`NANOPOD_BENCH_ONLY=file`,
//! `nats` or `memory` for one of them)

use nanopod_host::linker::component_linker;
use nanopod_host::{Deadline, EngineMode, Engines, Grants, HostEngine, HostState, StoreUrl};
use std::future::Future;
use std::path::Path;
use std::time::Instant;
use wasmtime::component::{Component, InstancePre};

/// Keys each loop cycles through.
const KEYS: u32 = 100;
const VALUE: [u8; 100] = [b'v'; 100];

/// Operations per second of `ops` operations done by `work`.
async fn rate<F: Future<Output = ()>>(ops: u32, work: F) -> f64 {
    let start = Instant::now();
    work.await;
    f64::from(ops) / start.elapsed().as_secs_f64()
}

/// The guest's (set, get) rates on `url`.
async fn guest(
    engine: &HostEngine,
    pre: &InstancePre<HostState>,
    url: &StoreUrl,
    rounds: (u32, u32),
) -> (f64, f64) {
    let mut grants = Grants::new();
    grants.keyvalue_store("bench", url.clone());
    let mut store = engine.store(&grants, Deadline::NONE).unwrap();
    let instance = pre.instantiate_async(&mut store).await.unwrap();
    let set = instance
        .get_typed_func::<(&str, u32, u32), (Result<(), String>,)>(&mut store, "set-loop")
        .unwrap();
    let get = instance
        .get_typed_func::<(&str, u32, u32), (Result<u64, String>,)>(&mut store, "get-loop")
        .unwrap();
    let sets = rate(KEYS * rounds.0, async {
        set.call_async(&mut store, ("bench", KEYS, rounds.0))
            .await
            .unwrap()
            .0
            .unwrap();
    })
    .await;
    let gets = rate(KEYS * rounds.1, async {
        let (bytes,) = get
            .call_async(&mut store, ("bench", KEYS, rounds.1))
            .await
            .unwrap();
        assert_eq!(bytes.unwrap(), 100 * u64::from(KEYS * rounds.1));
    })
    .await;
    (sets, gets)
}

/// redb used directly: (set, get) rates.
fn native_redb(path: &Path, rounds: (u32, u32)) -> (f64, f64) {
    use redb::{ReadableDatabase, TableDefinition};
    const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("bench");
    let db = redb::Database::create(path).unwrap();
    let start = Instant::now();
    for _ in 0..rounds.0 {
        for i in 0..KEYS {
            let txn = db.begin_write().unwrap();
            txn.open_table(TABLE)
                .unwrap()
                .insert(format!("bench-{i}").as_str(), &VALUE[..])
                .unwrap();
            txn.commit().unwrap();
        }
    }
    let sets = f64::from(KEYS * rounds.0) / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..rounds.1 {
        for i in 0..KEYS {
            let txn = db.begin_read().unwrap();
            let table = txn.open_table(TABLE).unwrap();
            bytes += table
                .get(format!("bench-{i}").as_str())
                .unwrap()
                .unwrap()
                .value()
                .len();
        }
    }
    assert_eq!(bytes, 100 * (KEYS * rounds.1) as usize);
    (
        sets,
        f64::from(KEYS * rounds.1) / start.elapsed().as_secs_f64(),
    )
}

/// async-nats used directly on bucket `bucket` of `server`: (set, get).
async fn native_nats(server: &str, bucket: &str, rounds: (u32, u32)) -> (f64, f64) {
    let js = async_nats::jetstream::new(async_nats::connect(server).await.unwrap());
    let kv = js.get_key_value(bucket).await.unwrap();
    let sets = rate(KEYS * rounds.0, async {
        for _ in 0..rounds.0 {
            for i in 0..KEYS {
                kv.put(format!("bench-{i}"), VALUE.to_vec().into())
                    .await
                    .unwrap();
            }
        }
    })
    .await;
    let gets = rate(KEYS * rounds.1, async {
        for _ in 0..rounds.1 {
            for i in 0..KEYS {
                assert_eq!(
                    kv.get(format!("bench-{i}")).await.unwrap().unwrap().len(),
                    100
                );
            }
        }
    })
    .await;
    (sets, gets)
}

/// nanopod-keyvalue's API used directly: (set, get).
async fn native_store(url: &StoreUrl, rounds: (u32, u32)) -> (f64, f64) {
    let store = nanopod_keyvalue::open(url).await.unwrap();
    let sets = rate(KEYS * rounds.0, async {
        for _ in 0..rounds.0 {
            for i in 0..KEYS {
                store
                    .set(&format!("bench-{i}"), VALUE.to_vec())
                    .await
                    .unwrap();
            }
        }
    })
    .await;
    let gets = rate(KEYS * rounds.1, async {
        for _ in 0..rounds.1 {
            for i in 0..KEYS {
                assert!(store.get(&format!("bench-{i}")).await.unwrap().is_some());
            }
        }
    })
    .await;
    (sets, gets)
}

/// (set, get) rates of the guest, then of the native baseline, in ops/s.
type Rates = ((f64, f64), (f64, f64));

/// The median of three (guest, native) pairs, alternated.
fn median(pairs: Vec<Rates>) -> Rates {
    let mid = |mut xs: Vec<f64>| {
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    let col = |f: fn(&Rates) -> f64| mid(pairs.iter().map(f).collect());
    (
        (col(|p| p.0.0), col(|p| p.0.1)),
        (col(|p| p.1.0), col(|p| p.1.1)),
    )
}

/// Prints the guest's rates against the native ones, and the target.
fn report(name: &str, target: Option<f64>, ((gs, gg), (ns, ng)): Rates) {
    let target = target.map_or(String::new(), |t| format!(" (target >= {t}x)"));
    println!("{name}");
    for (op, guest, native) in [("set", gs, ns), ("get", gg, ng)] {
        println!(
            "  {op}: guest {guest:>9.0} ops/s, native {native:>9.0} ops/s: {:.2}x{target}",
            guest / native
        );
    }
}

/// Whether the part `name` runs (all, unless `NANOPOD_BENCH_ONLY` names
/// another).
fn runs(name: &str) -> bool {
    std::env::var("NANOPOD_BENCH_ONLY").map_or(true, |only| only == name)
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engines = Engines::default();
    let engine = engines.get(EngineMode::Sync).unwrap();
    let bytes = std::fs::read(test_programs_artifacts::KV).unwrap();
    let component = Component::new(engine, &bytes).unwrap();
    let pre = component_linker(engine, EngineMode::Sync)
        .unwrap()
        .instantiate_pre(&component)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    println!(
        "kv: 100-byte values over {KEYS} keys, from a guest vs native Rust, median of 3 (same run)"
    );

    if runs("file") {
        file_store(&rt, engine, &pre, dir.path());
    }
    if runs("nats") {
        nats_bucket(&rt, engine, &pre);
    }
    if runs("memory") {
        memory_store(&rt, engine, &pre);
    }
}

fn file_store(
    rt: &tokio::runtime::Runtime,
    engine: &HostEngine,
    pre: &InstancePre<HostState>,
    dir: &Path,
) {
    let rounds = (5, 200);
    let runs = (0..3)
        .map(|run| {
            let url = StoreUrl::File(dir.join(format!("guest-{run}.redb")));
            let g = rt.block_on(guest(engine, pre, &url, rounds));
            (
                g,
                native_redb(&dir.join(format!("native-{run}.redb")), rounds),
            )
        })
        .collect();
    report(
        "embedded file store (redb, durable commit per set) vs redb",
        Some(0.5),
        median(runs),
    );
}

fn nats_bucket(rt: &tokio::runtime::Runtime, engine: &HostEngine, pre: &InstancePre<HostState>) {
    let nats = test_support::NatsServer::start_jetstream();
    let server = format!("nats://{}", nats.addr());
    let rounds = (20, 20);
    let bucket = |name: String| StoreUrl::Nats {
        server: server.clone(),
        bucket: name,
    };
    let runs = (0..3)
        .map(|run| {
            rt.block_on(async {
                let g = guest(engine, pre, &bucket(format!("guest{run}")), rounds).await;
                // The native bucket, made as nanopod makes one.
                let native = format!("native{run}");
                nanopod_keyvalue::open(&bucket(native.clone()))
                    .await
                    .unwrap();
                (g, native_nats(&server, &native, rounds).await)
            })
        })
        .collect();
    report(
        "NATS JetStream bucket vs async-nats",
        Some(0.7),
        median(runs),
    );
}

fn memory_store(rt: &tokio::runtime::Runtime, engine: &HostEngine, pre: &InstancePre<HostState>) {
    let rounds = (200, 200);
    let runs = (0..3)
        .map(|run| {
            rt.block_on(async {
                let g = guest(
                    engine,
                    pre,
                    &StoreUrl::Memory(format!("guest{run}")),
                    rounds,
                )
                .await;
                let native = native_store(&StoreUrl::Memory(format!("native{run}")), rounds).await;
                (g, native)
            })
        })
        .collect();
    report(
        "memory store vs its Rust API (the cost of the host call)",
        None,
        median(runs),
    );
}
