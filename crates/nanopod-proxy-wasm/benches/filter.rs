//! What one proxy-wasm filter costs per request, in-process, without the
//! HTTP server or an app: `ProxyFilter::handle` with a `next` that answers
//! at once, on one thread, against the same loop with no filter at all
//! (the baseline, measured in the same run). The filters are the guests
//! `pw-auth` (header-only: one header read, one decision) and `pw-log`
//! (reads headers and properties, stamps the response, records metrics
//! and logs a line).
//!
//! `cargo bench -p nanopod-proxy-wasm --bench filter`

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use nanopod_host::{EngineMode, Engines, Grants};
use nanopod_proxy_wasm::{FilterConfig, Metrics, ProxyFilter};
use std::sync::Arc;
use std::time::Instant;
use wasmtime_wasi_http::WasiBody;

const REQUESTS: u32 = 200_000;

fn request() -> http::Request<WasiBody> {
    http::Request::builder()
        .uri("http://localhost/items")
        .header("authorization", "Bearer s3cret-token")
        .header("user-agent", "bench")
        .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
        .unwrap()
}

fn answer() -> http::Response<WasiBody> {
    http::Response::builder()
        .header("content-type", "application/json")
        .body(
            Full::new(Bytes::from_static(br#"{"items":[]}"#))
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .unwrap()
}

/// Nanoseconds per request through `filters` (outermost first), best of 3.
fn per_request(rt: &tokio::runtime::Runtime, filters: &[ProxyFilter]) -> f64 {
    async fn through(
        filters: &[ProxyFilter],
        req: http::Request<WasiBody>,
    ) -> http::Response<WasiBody> {
        match filters.split_first() {
            None => answer(),
            Some((first, rest)) => first
                .handle(req, None, |r| async move {
                    Ok::<_, ()>(Box::pin(through(rest, r)).await)
                })
                .await
                .unwrap(),
        }
    }
    (0..3)
        .map(|_| {
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..REQUESTS {
                    let response = through(filters, request()).await;
                    assert_eq!(response.status(), 200);
                    response.into_body().collect().await.unwrap();
                }
            });
            start.elapsed().as_nanos() as f64 / f64::from(REQUESTS)
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engines = Engines::pooled();
    let engine = engines.get(EngineMode::Sync).unwrap();
    let metrics = Arc::new(Metrics::default());
    let filter = |name: &str, path: &str, config: &str| {
        let module = wasmtime::Module::from_file(engine, path).unwrap();
        let config = FilterConfig {
            name: name.into(),
            config: config.as_bytes().to_vec(),
            grants: Grants::new(),
            instances: 1,
            ..Default::default()
        };
        ProxyFilter::new(engine, &module, config, metrics.clone()).unwrap()
    };
    let auth = filter("auth", test_programs_artifacts::PW_AUTH, "s3cret-token");
    let log = filter("log", test_programs_artifacts::PW_LOG, "");
    per_request(&rt, &[auth.clone(), log.clone()]); // warm up
    let none = per_request(&rt, &[]);
    let one_auth = per_request(&rt, std::slice::from_ref(&auth));
    let one_log = per_request(&rt, std::slice::from_ref(&log));
    let both = per_request(&rt, &[auth, log]);
    println!(
        "proxy-wasm filters in-process, ns per request (wasmtime 48, sync engine, one thread)"
    );
    println!("  no filter (request + response objects only)  {none:>8.0} ns");
    for (label, ns) in [
        ("pw-auth (header-only)", one_auth),
        ("pw-log (headers, properties, metrics, a log line)", one_log),
        ("pw-auth + pw-log", both),
    ] {
        println!(
            "  {label:<48} {ns:>8.0} ns   +{:.2} us per request over no filter",
            (ns - none) / 1000.0
        );
    }
    println!("  target: a header-only filter <= 1.5 us per request");
}
