//! Calls between components in a pod against the sidecar pattern: the same
//! request over a loopback TCP socket between two native processes with
//! length-prefixed framing. Also a plain Rust call inside one component.
//! Every figure is measured in this run; the ratios are the claim.
//!
//! `cargo bench -p nanopod-pod --bench calls`

use nanopod_host::linker::component_linker;
use nanopod_host::{Deadline, EngineMode, Engines, Grants, HostState};
use nanopod_pod::{NoGrants, Pod};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Instant;
use wasmtime::Store;
use wasmtime::component::{Component, Instance};

const PAYLOAD: u32 = 1024;
const SERVER_ENV: &str = "NANOPOD_BENCH_SOCKET_SIDECAR";

/// The composed `calc-driver` + `calc` pod, through the pod pipeline as
/// `nanopod up` composes it.
fn composed() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pod.toml");
    std::fs::write(
        &manifest,
        format!(
            "entry = \"driver\"\n\
             [components.driver]\nfile = {:?}\n\
             [components.calc]\nfile = {:?}\n\
             [[link]]\nfrom = \"driver\"\nimport = \"example:calc/ops\"\nto = \"calc\"\n",
            test_programs_artifacts::CALC_DRIVER,
            test_programs_artifacts::CALC
        ),
    )
    .unwrap();
    let pod = Pod::<NoGrants>::open(&manifest).unwrap();
    pod.compose("driver").unwrap().bytes
}

/// Nanoseconds per call of the guest loop `export(n, size)`, best of 5.
fn per_call(
    rt: &tokio::runtime::Runtime,
    store: &mut Store<HostState>,
    instance: &Instance,
    export: &str,
    size: Option<u32>,
    n: u32,
) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let elapsed = rt.block_on(async {
            let start = Instant::now();
            match size {
                None => {
                    let f = instance
                        .get_typed_func::<(u32,), (u32,)>(&mut *store, export)
                        .unwrap();
                    f.call_async(&mut *store, (n,)).await.unwrap();
                }
                Some(size) => {
                    let f = instance
                        .get_typed_func::<(u32, u32), (u32,)>(&mut *store, export)
                        .unwrap();
                    let (sum,) = f.call_async(&mut *store, (n, size)).await.unwrap();
                    assert_eq!(sum, n.wrapping_mul(size));
                }
            }
            start.elapsed()
        });
        best = best.min(elapsed.as_nanos() as f64 / f64::from(n));
    }
    best
}

/// The socket sidecar: reads `[len u32][bytes]`, answers `[len u32]`; an
/// 8-byte request is an `add`, answered with the sum.
fn serve_socket_sidecar() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    println!("{}", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let mut len = [0u8; 4];
        if conn.read_exact(&mut len).is_err() {
            return;
        }
        let len = u32::from_le_bytes(len) as usize;
        conn.read_exact(&mut buf[..len]).unwrap();
        let answer = if len == 8 {
            let a = u32::from_le_bytes(buf[0..4].try_into().unwrap());
            let b = u32::from_le_bytes(buf[4..8].try_into().unwrap());
            a.wrapping_add(b)
        } else {
            len as u32
        };
        conn.write_all(&answer.to_le_bytes()).unwrap();
    }
}

/// Median nanoseconds per request/response over the socket sidecar.
fn socket_round_trip(conn: &mut TcpStream, payload: &[u8], n: usize) -> f64 {
    let mut frame = (payload.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(payload);
    let mut times: Vec<u128> = (0..n)
        .map(|_| {
            let start = Instant::now();
            conn.write_all(&frame).unwrap();
            let mut answer = [0u8; 4];
            conn.read_exact(&mut answer).unwrap();
            start.elapsed().as_nanos()
        })
        .collect();
    times.sort();
    times[n / 2] as f64
}

fn main() {
    if std::env::var_os(SERVER_ENV).is_some() {
        return serve_socket_sidecar();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pod = composed();

    let mut rows: Vec<(String, f64)> = Vec::new();
    let engines = Engines::default();
    for mode in [EngineMode::Sync, EngineMode::Concurrent] {
        let engine = engines.get(mode).unwrap();
        let component = Component::new(engine, &pod).unwrap();
        let linker = component_linker(engine, mode).unwrap();
        let mut store = engine.store(&Grants::new(), Deadline::NONE).unwrap();
        let instance = rt
            .block_on(linker.instantiate_async(&mut store, &component))
            .unwrap();
        let engine_name = mode.name();
        let mut measure = |label: &str, export: &str, size: Option<u32>, n: u32| {
            let ns = per_call(&rt, &mut store, &instance, export, size, n);
            rows.push((format!("{label} ({engine_name} engine)"), ns));
        };
        measure("in-pod add(u32, u32)", "call-add", None, 10_000_000);
        measure(
            "in-pod 1 KiB string",
            "call-string",
            Some(PAYLOAD),
            1_000_000,
        );
        measure(
            "in-pod 1 KiB list<u8>",
            "call-bytes",
            Some(PAYLOAD),
            200_000,
        );
        measure(
            "plain Rust call in one component",
            "local-add",
            None,
            10_000_000,
        );
        // How the copy scales: a string is copied with `memory.copy`, a
        // list<u8> element by element (wasmtime 48's fused adapter).
        measure(
            "in-pod 16 KiB string",
            "call-string",
            Some(16 * PAYLOAD),
            200_000,
        );
        measure(
            "in-pod 16 KiB list<u8>",
            "call-bytes",
            Some(16 * PAYLOAD),
            20_000,
        );
    }

    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .env(SERVER_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut addr = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut addr)
        .unwrap();
    let mut conn = TcpStream::connect(addr.trim()).unwrap();
    conn.set_nodelay(true).unwrap();
    let add_request = [1u32.to_le_bytes(), 2u32.to_le_bytes()].concat();
    socket_round_trip(&mut conn, &add_request, 2_000);
    let socket_add = socket_round_trip(&mut conn, &add_request, 20_000);
    let socket_kib = socket_round_trip(&mut conn, &[7u8; PAYLOAD as usize], 20_000);
    drop(conn);
    child.wait().unwrap();

    println!(
        "calls between components, ns per call (wasmtime 48, release; socket: median round trip)"
    );
    for (label, ns) in &rows {
        if label.contains("16 KiB") {
            let per_byte = ns / f64::from(16 * PAYLOAD);
            println!("  {label:<52} {ns:>10.1} ns   {per_byte:>9.3} ns/byte");
            continue;
        }
        let baseline = if label.contains("KiB") {
            socket_kib
        } else {
            socket_add
        };
        println!(
            "  {label:<52} {ns:>10.1} ns   {:>9.0}x faster than the socket",
            baseline / ns
        );
    }
    println!(
        "  {:<52} {socket_add:>10.1} ns",
        "socket sidecar: add request (8 B), loopback TCP"
    );
    println!(
        "  {:<52} {socket_kib:>10.1} ns",
        "socket sidecar: 1 KiB request, loopback TCP"
    );
    println!("  targets: add <= 10 ns and >= 5000x; 1 KiB payloads >= 500x");
}
