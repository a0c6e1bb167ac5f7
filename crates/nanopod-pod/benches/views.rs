//! What a view costs (docs/pods.md, "Isolation and least privilege"). The
//! front of a `probe-front` + `probe` pod lists its preopens, reads its
//! environment and sends HTTP requests, in two pods measured in this run:
//!
//! - alike: both components granted the same directory, variable and
//!   host, so the front reaches the host's own entry points (no view);
//! - own: each granted its own, so the front reaches its grants through
//!   views (`nanopod:viewN/…`) that drop the sidecar's preopen, answer
//!   with its own variables and check each request's host.
//!
//! `cargo bench -p nanopod-pod --bench views`

use nanopod_host::linker::component_linker;
use nanopod_host::{Deadline, Engines, HostState};
use nanopod_pod::{BasicGrants, LoadedPod, Pod};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Instant;
use wasmtime::Store;
use wasmtime::component::Instance;

/// A loopback origin answering `200 ok` on fresh connections, forever.
fn origin() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    addr
}

/// The pod with the front granted `front` and the sidecar `sidecar`
/// (bodies of TOML inline tables), composed and loaded.
fn pod(dir: &Path, name: &str, front: &str, sidecar: &str) -> LoadedPod {
    let manifest = dir.join(format!("{name}.toml"));
    std::fs::write(
        &manifest,
        format!(
            "entry = \"front\"\n\
             [components.front]\nfile = {:?}\ngrants = {{ {front} }}\n\
             [components.sidecar]\nfile = {:?}\ngrants = {{ {sidecar} }}\n\
             [[link]]\nfrom = \"front\"\nimport = \"example:probe/probe\"\nto = \"sidecar\"\n",
            test_programs_artifacts::PROBE_FRONT,
            test_programs_artifacts::PROBE,
        ),
    )
    .unwrap();
    let pod = Pod::<BasicGrants>::open(&manifest).unwrap();
    pod.compose("front")
        .unwrap()
        .load(&Engines::default())
        .unwrap()
}

/// An instance of the pod in a store of its own.
fn instantiate(rt: &tokio::runtime::Runtime, pod: &LoadedPod) -> (Store<HostState>, Instance) {
    let engine = &pod.loaded.engine;
    let mut linker = component_linker(engine, engine.mode()).unwrap();
    pod.info.views.add_to_linker(&mut linker).unwrap();
    let component = pod.loaded.component("the benchmark").unwrap();
    let mut store = engine.store(&pod.info.grants, Deadline::NONE).unwrap();
    let instance = rt
        .block_on(linker.instantiate_async(&mut store, component))
        .unwrap();
    (store, instance)
}

/// Nanoseconds per host call of the guest loop `export(n)`, best of 5;
/// checks that the front saw `expected` items.
fn per_call(
    rt: &tokio::runtime::Runtime,
    (store, instance): &mut (Store<HostState>, Instance),
    export: &str,
    n: u32,
    expected: u32,
) -> f64 {
    let f = instance
        .get_typed_func::<(u32,), (u32,)>(&mut *store, export)
        .unwrap();
    (0..5)
        .map(|_| {
            let start = Instant::now();
            let (seen,) = rt.block_on(f.call_async(&mut *store, (n,))).unwrap();
            assert_eq!(seen, expected, "{export}");
            start.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .fold(f64::MAX, f64::min)
}

/// Microseconds per `GET http://AUTHORITY/` through the front's `fetch`,
/// median of `n`.
fn per_request(
    rt: &tokio::runtime::Runtime,
    (store, instance): &mut (Store<HostState>, Instance),
    authority: &str,
    n: usize,
) -> f64 {
    let f = instance
        .get_typed_func::<(&str,), (Result<u16, String>,)>(&mut *store, "fetch")
        .unwrap();
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let start = Instant::now();
            let (status,) = rt
                .block_on(f.call_async(&mut *store, (authority,)))
                .unwrap();
            assert_eq!(status, Ok(200));
            start.elapsed().as_nanos() as f64 / 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[n / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for sub in ["data", "keys"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    let host = origin();
    let alike = format!(
        "ro-dir = [\"data\", \"/data\"], env = [[\"ROLE\", \"app\"]], allow-http = [\"{host}\"]"
    );
    let own_sidecar = "ro-dir = [\"keys\", \"/keys\"], env = [[\"ROLE\", \"sidecar\"]], allow-http = [\"127.0.0.1:1\"]";
    let direct = pod(dir.path(), "alike", &alike, &alike);
    let viewed = pod(dir.path(), "own", &alike, own_sidecar);
    assert!(direct.info.views.is_empty(), "granted alike: no views");
    assert_eq!(
        viewed.info.views.imports().count(),
        6,
        "three entry points for each of the two components"
    );

    let mut direct = instantiate(&rt, &direct);
    let mut viewed = instantiate(&rt, &viewed);
    println!("per-component grants: the front of a two-component pod, direct vs through a view");
    let rows = [
        ("preopens.get-directories (ns/call)", "list-preopens"),
        ("environment.get-environment (ns/call)", "list-environment"),
    ];
    for (label, export) in rows {
        let d = per_call(&rt, &mut direct, export, 100_000, 1);
        let v = per_call(&rt, &mut viewed, export, 100_000, 1);
        println!(
            "  {label:<42} direct {d:>8.0}   view {v:>8.0}   view/direct {:.2}x",
            v / d
        );
    }
    per_request(&rt, &mut direct, &host, 50);
    let d = per_request(&rt, &mut direct, &host, 1_000);
    let v = per_request(&rt, &mut viewed, &host, 1_000);
    println!(
        "  {:<42} direct {d:>8.1}   view {v:>8.1}   view/direct {:.2}x",
        "HTTP GET over loopback (µs/request)",
        v / d
    );
}
