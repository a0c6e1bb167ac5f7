//! What one WASI 0.3 middleware costs per request, without the HTTP server:
//! the p3 app alone, behind `auth`, and behind `log` + `auth` (composed
//! statically, as `nanopod serve examples/http3/pod.toml` does), each
//! request handled by `Handler::handle` in a fresh instance of the whole
//! chain. Two figures per configuration, both measured in this run:
//!
//! - instantiate: `Store::new` + instantiating the (composed) component +
//!   dropping the store, on the pooled engine `serve` uses;
//! - request: a whole `GET /items` through `Handler::handle`, 16 at a time
//!   on a 2-thread runtime, as CPU time of this process per request.
//!
//! `cargo bench -p nanopod-pod --bench handlers 2>/dev/null`
//! (the `log` middleware writes a line per request to stderr).

use http_body_util::{BodyExt, Empty};
use nanopod_host::linker::component_linker;
use nanopod_host::{EngineMode, Engines, Grants, HostState};
use nanopod_pod::compose::{Member, compose};
use nanopod_pod::manifest::Link;
use nanopod_pod::plan::Plan;
use nanopod_pod::serve::Handler;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

const REQUESTS: usize = 20_000;
const IN_FLIGHT: usize = 16;

/// `members` (outermost first) composed into one component, each
/// middleware's `wasi:http/handler` import linked to the next member.
fn chain(members: &[(&str, &str)]) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> = members
        .iter()
        .map(|(_, path)| std::fs::read(path).unwrap())
        .collect();
    if members.len() == 1 {
        return bytes.into_iter().next().unwrap();
    }
    let parts: Vec<Member> = members
        .iter()
        .zip(&bytes)
        .map(|((name, _), bytes)| Member {
            name,
            bytes,
            granted: BTreeSet::new(),
        })
        .collect();
    let links: Vec<Link> = members
        .windows(2)
        .map(|pair| Link {
            from: pair[0].0.into(),
            import: "wasi:http/handler".into(),
            to: pair[1].0.into(),
            remote: None,
            timeout: None,
            token_file: None,
        })
        .collect();
    let plan = Plan {
        order: members
            .iter()
            .rev()
            .map(|(name, _)| name.to_string())
            .collect(),
        entry: members[0].0.into(),
    };
    compose(&parts, &links, &plan, &BTreeSet::new())
        .unwrap()
        .bytes
}

/// Microseconds to make and drop one instance, best of 3 rounds.
fn instantiate_us(
    rt: &tokio::runtime::Runtime,
    linker: &Linker<HostState>,
    component: &Component,
    grants: &Grants,
) -> f64 {
    let pre = linker.instantiate_pre(component).unwrap();
    let n = 5_000;
    (0..3)
        .map(|_| {
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..n {
                    let mut store = Store::new(component.engine(), HostState::new(grants).unwrap());
                    store.set_epoch_deadline(u64::MAX / 2);
                    pre.instantiate_async(&mut store).await.unwrap();
                }
            });
            start.elapsed().as_secs_f64() / f64::from(n) * 1e6
        })
        .fold(f64::MAX, f64::min)
}

/// (requests per second, CPU microseconds per request) of `handler`.
fn requests(rt: &tokio::runtime::Runtime, handler: &Arc<Handler>) -> (f64, f64) {
    let per_task = REQUESTS / IN_FLIGHT;
    let (start, cpu) = (Instant::now(), cpu_seconds());
    rt.block_on(async {
        let tasks: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let handler = handler.clone();
                tokio::spawn(async move {
                    for _ in 0..per_task {
                        let request = http::Request::builder()
                            .uri("http://localhost/items")
                            .header("authorization", "Bearer s3cret-token")
                            .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
                            .unwrap();
                        let response = handler.clone().handle(request).await.unwrap();
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
    use test_programs_artifacts::{P3_HTTP_APP, P3_HTTP_AUTH, P3_HTTP_LOG};
    let configurations = [
        ("app alone", chain(&[("app", P3_HTTP_APP)])),
        (
            "auth + app",
            chain(&[("auth", P3_HTTP_AUTH), ("app", P3_HTTP_APP)]),
        ),
        (
            "log + auth + app",
            chain(&[
                ("log", P3_HTTP_LOG),
                ("auth", P3_HTTP_AUTH),
                ("app", P3_HTTP_APP),
            ]),
        ),
    ];
    let engines = Engines::pooled();
    let engine = engines.get(EngineMode::Concurrent).unwrap();
    let linker = component_linker(engine, EngineMode::Concurrent).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut grants = Grants::new();
    grants.env("AUTH_TOKEN", "s3cret-token");

    println!(
        "{:<18} {:>12} {:>12} {:>14} {:>10}",
        "configuration", "instantiate", "req/s", "CPU/request", "vs app"
    );
    let mut app_cpu = None;
    for (name, bytes) in &configurations {
        let component = Component::new(engine, bytes).unwrap();
        let handler =
            Arc::new(Handler::new(name, &linker, &component, grants.clone(), None).unwrap());
        requests(&rt, &handler); // warm up the pool's slots
        let inst = instantiate_us(&rt, &linker, &component, &grants);
        let (rps, cpu) = requests(&rt, &handler);
        let base = *app_cpu.get_or_insert(cpu);
        println!(
            "{name:<18} {inst:>10.1}us {rps:>12.0} {cpu:>12.1}us {:>9.2}x",
            base / cpu
        );
    }
}
