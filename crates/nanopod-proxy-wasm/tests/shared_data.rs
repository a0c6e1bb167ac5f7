//! Shared data is one store for every VM of a filter: two OS threads, each
//! served by its own VM (a thread keeps to the VM of its worker slot),
//! count through `pw-kitchen`'s compare-and-swap loop, and together they
//! see every number once. The same holds for two filters (as on two hosts)
//! whose shared data is one NATS bucket.

use http_body_util::{BodyExt, Empty, Full};
use nanopod_host::{EngineMode, Engines, Grants};
use nanopod_keyvalue::StoreUrl;
use nanopod_proxy_wasm::{FilterConfig, Metrics, ProxyFilter};
use std::path::Path;
use std::sync::Arc;
use test_support::NatsServer;
use wasmtime_wasi_http::WasiBody;

const PER_THREAD: usize = 25;

fn count_request() -> http::Request<WasiBody> {
    http::Request::builder()
        .uri("http://localhost/")
        .header("x-kitchen", "count")
        .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
        .unwrap()
}

/// What `filter` answers to `requests` count requests, in order.
fn counts(filter: &ProxyFilter, requests: usize) -> Vec<u64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut seen = Vec::new();
        for _ in 0..requests {
            let response = filter
                .handle(count_request(), None, |_| async {
                    // The filter answers itself; the app is never reached.
                    Ok::<_, ()>(http::Response::new(
                        Full::new(bytes::Bytes::new())
                            .map_err(|never| match never {})
                            .boxed_unsync(),
                    ))
                })
                .await
                .unwrap();
            assert_eq!(response.headers()["x-kitchen-local"], "yes");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            seen.push(std::str::from_utf8(&body).unwrap().trim().parse().unwrap());
        }
        seen
    })
}

fn kitchen(instances: usize, shared_data: Option<StoreUrl>) -> ProxyFilter {
    let engines = Engines::pooled();
    let engine = engines.get(EngineMode::Sync).unwrap();
    let module = wasmtime::Module::from_file(engine, test_programs_artifacts::PW_KITCHEN).unwrap();
    let config = FilterConfig {
        name: "kitchen".into(),
        grants: Grants::new(),
        instances,
        shared_data,
        ..Default::default()
    };
    ProxyFilter::new(engine, &module, config, Arc::new(Metrics::default())).unwrap()
}

/// Counts `PER_THREAD` times on each of two threads, the first through
/// `filters.0`, the second through `filters.1`, and checks that together
/// they saw every number once.
fn count_concurrently(filters: (ProxyFilter, ProxyFilter)) {
    // The key is created first, on its own: as in Envoy, the set that
    // creates a key carries no CAS (the SDK passes 0 for a key it found
    // missing), so two VMs creating it at once would both succeed.
    assert_eq!(counts(&filters.0, 1), [1]);
    let threads: Vec<_> = [filters.0, filters.1]
        .into_iter()
        .map(|filter| std::thread::spawn(move || counts(&filter, PER_THREAD)))
        .collect();
    let mut all = Vec::new();
    for thread in threads {
        let seen = thread.join().unwrap();
        // Each thread sees its own counts rise.
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        all.extend(seen);
    }
    all.sort_unstable();
    let expected: Vec<u64> = (2..=2 * PER_THREAD as u64 + 1).collect();
    assert_eq!(all, expected);
}

#[test]
fn two_vms_on_two_threads_count_in_one_shared_store() {
    let filter = kitchen(2, None);
    count_concurrently((filter.clone(), filter));
}

/// Two filters, as on two hosts, keep their shared data in one NATS
/// bucket: their compare-and-swap holds across them.
#[test]
fn two_filters_sharing_a_nats_bucket_lose_no_update() {
    let nats = NatsServer::start_jetstream();
    let url = StoreUrl::parse(&format!("nats://{}/kitchen", nats.addr()), Path::new("/")).unwrap();
    count_concurrently((kitchen(1, Some(url.clone())), kitchen(1, Some(url))));
}

/// A filter whose store cannot be reached does not start, and says why.
#[test]
fn an_unreachable_shared_data_store_stops_the_filter() {
    let port = test_support::free_port();
    let url = StoreUrl::parse(&format!("nats://127.0.0.1:{port}/b"), Path::new("/")).unwrap();
    let engines = Engines::pooled();
    let engine = engines.get(EngineMode::Sync).unwrap();
    let module = wasmtime::Module::from_file(engine, test_programs_artifacts::PW_KITCHEN).unwrap();
    let config = FilterConfig {
        name: "kitchen".into(),
        shared_data: Some(url),
        ..Default::default()
    };
    let error = ProxyFilter::new(engine, &module, config, Arc::new(Metrics::default()))
        .err()
        .expect("no filter")
        .to_string();
    assert!(
        error.starts_with(&format!("filter `kitchen` did not start: its shared-data store nats://127.0.0.1:{port}/b: cannot reach")),
        "{error}"
    );
}
