//! What one middleware costs per request, without the HTTP server: the app
//! alone, behind `auth`, and behind `log` + `auth`, each request handled by
//! `Handler::handle` (the front of a `Server` built by `Server::from_pod`) with fresh instances. WASI 0.3 chains are composed
//! statically into one component (as `nanopod serve
//! examples/http3/pod.toml` does); WASI 0.2 chains are one handler per
//! member, linked by the host (`examples/http/pod.toml`). Two figures per
//! configuration, both measured in this run:
//!
//! - instantiate: `Store::new` + instantiating the (composed) component +
//!   dropping the store, on the pooled engine `serve` uses (WASI 0.3 only:
//!   a WASI 0.2 chain instantiates its members one by one, as it goes);
//! - request: a whole `GET /items` through `Handler::handle` (the front of a `Server` built by `Server::from_pod`), 16 at a time
//!   on a 2-thread runtime, as CPU time of this process per request.
//!
//! `RUST_LIB_BACKTRACE=0 cargo bench -p nanopod-serve --bench handlers 2>/dev/null`
//! (the `log` middleware writes a line per request to stderr).

use http_body_util::{BodyExt, Empty};
use nanopod_host::linker::component_linker;
use nanopod_host::{Deadline, EngineMode, Engines, HostEngine};
use nanopod_pod::{BasicGrants, Pod};
use nanopod_serve::Server;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::component::Component;

const REQUESTS: usize = 20_000;
const IN_FLIGHT: usize = 16;

/// A pod of `members` (name, binary, the rest of its table as TOML),
/// outermost first: a WASI 0.3 chain links each member's
/// `wasi:http/handler` import to the next; a WASI 0.2 chain (filters
/// included) is a `[serve] chain`.
fn pod(dir: &Path, members: &[(&str, &str, &str)], p3: bool) -> Pod<BasicGrants> {
    let mut text = format!("entry = {:?}\n", members[0].0);
    if !p3 {
        let names: Vec<&str> = members.iter().map(|m| m.0).collect();
        text = format!("[serve]\nchain = {names:?}\n");
    }
    for (name, file, table) in members {
        text += &format!("[components.{name}]\nfile = {file:?}\n{table}\n");
    }
    if p3 {
        for pair in members.windows(2) {
            text += &format!(
                "[[link]]\nfrom = {:?}\nimport = \"wasi:http/handler\"\nto = {:?}\n",
                pair[0].0, pair[1].0
            );
        }
    }
    let manifest = dir.join(format!("{}.toml", members.len()));
    std::fs::write(&manifest, text).unwrap();
    Pod::open(&manifest).unwrap()
}

/// Microseconds to make and drop one instance of the pod's entry composed
/// with its links, best of 3 rounds.
fn instantiate_us(
    rt: &tokio::runtime::Runtime,
    engine: &HostEngine,
    pod: &Pod<BasicGrants>,
) -> f64 {
    let composed = pod.compose(&pod.plan.entry).unwrap();
    let component = Component::new(engine, &composed.bytes).unwrap();
    let linker = component_linker(engine, EngineMode::Concurrent).unwrap();
    let pre = linker.instantiate_pre(&component).unwrap();
    let grants = composed.info.grants;
    let n = 5_000;
    (0..3)
        .map(|_| {
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..n {
                    let mut store = engine.store(&grants, Deadline::NONE).unwrap();
                    pre.instantiate_async(&mut store).await.unwrap();
                }
            });
            start.elapsed().as_secs_f64() / f64::from(n) * 1e6
        })
        .fold(f64::MAX, f64::min)
}

/// (requests per second, CPU microseconds per request) of `server`'s
/// chain.
fn requests(rt: &tokio::runtime::Runtime, server: &Arc<Server>) -> (f64, f64) {
    let per_task = REQUESTS / IN_FLIGHT;
    let (start, cpu) = (Instant::now(), cpu_seconds());
    rt.block_on(async {
        let tasks: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let server = server.clone();
                tokio::spawn(async move {
                    for _ in 0..per_task {
                        let request = http::Request::builder()
                            .uri("http://localhost/items")
                            .header("authorization", "Bearer s3cret-token")
                            .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
                            .unwrap();
                        let response = server.handle(request).await.unwrap();
                        assert_eq!(response.status(), 200);
                        response.into_body().collect().await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let n = (per_task * IN_FLIGHT) as f64;
    (
        n / start.elapsed().as_secs_f64(),
        (cpu_seconds() - cpu) / n * 1e6,
    )
}

/// CPU time (user + system) of this process so far, from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn main() {
    use test_programs_artifacts::{
        CF_STAMP, HTTP_APP, HTTP_AUTH, HTTP_LOG, P3_HTTP_APP, P3_HTTP_AUTH, P3_HTTP_LOG, PW_AUTH,
        PW_LOG,
    };
    let dir = tempfile::tempdir().unwrap();
    let engines = Engines::pooled();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{:<28} {:>12} {:>12} {:>14} {:>10}",
        "configuration", "instantiate", "req/s", "CPU/request", "vs app"
    );
    let row = |name: &str, inst: Option<f64>, (rps, cpu): (f64, f64), base: f64| {
        let inst = inst.map_or_else(|| "-".to_string(), |us| format!("{us:.1}us"));
        println!(
            "{name:<28} {inst:>12} {rps:>12.0} {cpu:>12.1}us {:>9.2}x",
            base / cpu
        );
    };

    // WASI 0.3: each chain composed into one component.
    let engine = engines.get(EngineMode::Concurrent).unwrap();
    let token = r#"grants = { env = [["AUTH_TOKEN", "s3cret-token"]] }"#;
    let p3_chains = [
        ("0.3 app alone", vec![("app", P3_HTTP_APP, "")]),
        (
            "0.3 auth + app",
            vec![("auth", P3_HTTP_AUTH, token), ("app", P3_HTTP_APP, "")],
        ),
        (
            "0.3 log + auth + app",
            vec![
                ("log", P3_HTTP_LOG, ""),
                ("auth", P3_HTTP_AUTH, token),
                ("app", P3_HTTP_APP, ""),
            ],
        ),
    ];
    // `NANOPOD_BENCH_ONLY=TEXT` runs only the rows whose name holds TEXT
    // (their baseline row too), as a profiler wants it.
    let only = std::env::var("NANOPOD_BENCH_ONLY").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || name.contains(&only) || name.contains("alone");
    let mut base = None;
    for (name, members) in p3_chains.iter().filter(|(n, _)| wanted(n)) {
        let pod = pod(dir.path(), members, true);
        let handler = Arc::new(Server::from_pod(&pod).unwrap());
        requests(&rt, &handler); // warm up the pool's slots
        let inst = instantiate_us(&rt, engine, &pod);
        let measured = requests(&rt, &handler);
        row(name, Some(inst), measured, *base.get_or_insert(measured.1));
    }

    // WASI 0.2: one handler per member, chained by the host; filters are
    // calls into their long-lived instances.
    let secrets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/http/secrets");
    let secret = format!(
        "grants = {{ ro-dir = [{:?}, \"/secrets\"] }}",
        secrets.display().to_string()
    );
    let token = "config = \"s3cret-token\"";
    let p2_chains = [
        ("0.2 app alone", vec![("app", HTTP_APP, "")]),
        (
            "0.2 auth + app (host-chained)",
            vec![("auth", HTTP_AUTH, secret.as_str()), ("app", HTTP_APP, "")],
        ),
        (
            "0.2 log + auth + app",
            vec![
                ("log", HTTP_LOG, ""),
                ("auth", HTTP_AUTH, secret.as_str()),
                ("app", HTTP_APP, ""),
            ],
        ),
        (
            "proxy-wasm auth + app",
            vec![("auth", PW_AUTH, token), ("app", HTTP_APP, "")],
        ),
        (
            "proxy-wasm auth + log + app",
            vec![
                ("auth", PW_AUTH, token),
                ("log", PW_LOG, ""),
                ("app", HTTP_APP, ""),
            ],
        ),
        (
            "component filter + app",
            vec![("stamp", CF_STAMP, ""), ("app", HTTP_APP, "")],
        ),
        (
            "2 component filters + app",
            vec![
                ("stamp", CF_STAMP, ""),
                ("stamp2", CF_STAMP, ""),
                ("app", HTTP_APP, ""),
            ],
        ),
    ];
    // The same filters in front of an app whose instance is reused, so
    // that what the filters cost is not lost in the app's instantiation.
    let reused = "reuse = 1000000";
    let reused_chains = [
        ("0.2 app alone, reused", vec![("app", HTTP_APP, reused)]),
        (
            "proxy-wasm auth + log + reused app",
            vec![
                ("auth", PW_AUTH, token),
                ("log", PW_LOG, ""),
                ("app", HTTP_APP, reused),
            ],
        ),
        (
            "2 component filters + reused app",
            vec![
                ("stamp", CF_STAMP, ""),
                ("stamp2", CF_STAMP, ""),
                ("app", HTTP_APP, reused),
            ],
        ),
    ];
    for chains in [&p2_chains[..], &reused_chains[..]] {
        let mut base = None;
        for (name, members) in chains.iter().filter(|(n, _)| wanted(n)) {
            let handler = Arc::new(Server::from_pod(&pod(dir.path(), members, false)).unwrap());
            requests(&rt, &handler);
            let measured = requests(&rt, &handler);
            row(name, None, measured, *base.get_or_insert(measured.1));
        }
    }
}
