//! What one middleware costs per request, without the HTTP server: the app
//! alone, behind `auth`, and behind `log` + `auth`, each request handled by
//! `Handler::handle` with fresh instances. WASI 0.3 chains are composed
//! statically into one component (as `nanopod serve
//! examples/http3/pod.toml` does); WASI 0.2 chains are one handler per
//! member, linked by the host (`examples/http/pod.toml`). Two figures per
//! configuration, both measured in this run:
//!
//! - instantiate: `Store::new` + instantiating the (composed) component +
//!   dropping the store, on the pooled engine `serve` uses (WASI 0.3 only:
//!   a WASI 0.2 chain instantiates its members one by one, as it goes);
//! - request: a whole `GET /items` through `Handler::handle`, 16 at a time
//!   on a 2-thread runtime, as CPU time of this process per request.
//!
//! `RUST_LIB_BACKTRACE=0 cargo bench -p nanopod-pod --bench handlers 2>/dev/null`
//! (the `log` middleware writes a line per request to stderr).

use http_body_util::{BodyExt, Empty};
use nanopod_host::grants::DirGrant;
use nanopod_host::linker::component_linker;
use nanopod_host::{EngineMode, Engines, Grants, HostState};
use nanopod_pod::compose::{Member, compose};
use nanopod_pod::manifest::Link;
use nanopod_pod::plan::Plan;
use nanopod_pod::serve::Handler;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::Engine;
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

/// A WASI 0.2 chain: one handler per `(name, path, grants)` member,
/// outermost first, each passing its outbound requests to the next.
fn host_chain(engine: &Engine, members: &[(&str, &str, Grants)]) -> Arc<Handler> {
    let linker = component_linker(engine, EngineMode::Sync).unwrap();
    let mut next = None;
    for (name, path, grants) in members.iter().rev() {
        let component = Component::from_file(engine, path).unwrap();
        let handler = Handler::new(name, &linker, &component, grants.clone(), next.take()).unwrap();
        next = Some(Arc::new(handler));
    }
    next.unwrap()
}

fn main() {
    use test_programs_artifacts::{
        HTTP_APP, HTTP_AUTH, HTTP_LOG, P3_HTTP_APP, P3_HTTP_AUTH, P3_HTTP_LOG,
    };
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
    let linker = component_linker(engine, EngineMode::Concurrent).unwrap();
    let mut grants = Grants::new();
    grants.env("AUTH_TOKEN", "s3cret-token");
    let composed = [
        ("0.3 app alone", chain(&[("app", P3_HTTP_APP)])),
        (
            "0.3 auth + app",
            chain(&[("auth", P3_HTTP_AUTH), ("app", P3_HTTP_APP)]),
        ),
        (
            "0.3 log + auth + app",
            chain(&[
                ("log", P3_HTTP_LOG),
                ("auth", P3_HTTP_AUTH),
                ("app", P3_HTTP_APP),
            ]),
        ),
    ];
    let mut base = None;
    for (name, bytes) in &composed {
        let component = Component::new(engine, bytes).unwrap();
        let handler =
            Arc::new(Handler::new(name, &linker, &component, grants.clone(), None).unwrap());
        requests(&rt, &handler); // warm up the pool's slots
        let inst = instantiate_us(&rt, &linker, &component, &grants);
        let measured = requests(&rt, &handler);
        row(name, Some(inst), measured, *base.get_or_insert(measured.1));
    }

    // WASI 0.2: one handler per member, chained by the host.
    let engine = engines.get(EngineMode::Sync).unwrap();
    let mut auth_grants = Grants::new();
    auth_grants
        .dir(DirGrant {
            host: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../examples/http/secrets"),
            guest: "/secrets".into(),
            read_only: true,
        })
        .unwrap();
    let none = Grants::new;
    let chains = [
        ("0.2 app alone", vec![("app", HTTP_APP, none())]),
        (
            "0.2 auth + app (host-chained)",
            vec![
                ("auth", HTTP_AUTH, auth_grants.clone()),
                ("app", HTTP_APP, none()),
            ],
        ),
        (
            "0.2 log + auth + app",
            vec![
                ("log", HTTP_LOG, none()),
                ("auth", HTTP_AUTH, auth_grants.clone()),
                ("app", HTTP_APP, none()),
            ],
        ),
    ];
    let mut base = None;
    for (name, members) in &chains {
        let handler = host_chain(engine, members);
        requests(&rt, &handler);
        let measured = requests(&rt, &handler);
        row(name, None, measured, *base.get_or_insert(measured.1));
    }
}
