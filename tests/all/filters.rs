//! HTTP filters in `nanopod serve`, over real loopback HTTP: proxy-wasm
//! filters (built with the `proxy-wasm` SDK, unchanged binaries) and
//! synchronous component filters, in front of the JSON app.

use crate::support::*;
use std::path::{Path, PathBuf};
use test_programs_artifacts::{HTTP_APP, PW_AUTH, PW_LOG, PW_RATELIMIT};
use test_support::NatsServer;

const TOKEN: &str = "Bearer s3cret-token";

/// Writes `manifest` as `pod.toml` in a new directory, with `{name}`
/// standing for each built guest, and serves it with `args`.
fn serve_pod(manifest: &str, args: &[&str]) -> Server {
    let (dir, path) = pod_dir(manifest);
    let mut all = vec![path.to_str().unwrap().to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    Server::serve(&all, Some(dir))
}

fn pod_dir(manifest: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut text = manifest.to_string();
    for (name, path) in test_programs_artifacts::ALL {
        text = text.replace(&format!("{{{name}}}"), path);
    }
    let path = dir.path().join("pod.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// The kitchen filter in front of the app, with `settings` for the filter.
fn kitchen_pod(settings: &str) -> Server {
    serve_pod(
        &format!(
            "[serve]\nchain = [\"kitchen\", \"app\"]\n\
             [components.kitchen]\nfile = \"{{pw-kitchen}}\"\n{settings}\n\
             [components.app]\nfile = \"{{http-app}}\"\n"
        ),
        &[],
    )
}

fn get(server: &Server, path: &str, headers: &[(&str, &str)]) -> Reply {
    http(&server.addr, "GET", path, headers, b"")
}

/// Waits (up to 5 s) for the server's log to hold `text`, and fails the
/// test with the log if it never does.
fn assert_logged(server: &Server, text: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !server.log().contains(text) {
        assert!(
            std::time::Instant::now() < deadline,
            "the log lacks {text:?}:\n{}",
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The metrics `--metrics` serves.
fn metrics(addr: &str) -> String {
    let reply = http(addr, "GET", "/metrics", &[], b"");
    assert_eq!(reply.status, 200);
    reply.body
}

/// The value of metric line `line` (`name{labels}`).
fn metric(text: &str, line: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `{line}` in:\n{text}"))
}

/// Puts the built binaries `examples/mesh`'s manifests name into `dir`.
fn copy_mesh_binaries(dir: &Path) {
    for (name, path) in [
        ("pw-ratelimit", PW_RATELIMIT),
        ("pw-auth", PW_AUTH),
        ("pw-log", PW_LOG),
        ("http-app", HTTP_APP),
    ] {
        std::fs::copy(guest(path), dir.join(format!("{name}.wasm"))).unwrap();
    }
}

/// A copy of `examples/mesh` with the built binaries next to its manifest,
/// served with its metrics.
fn mesh_example() -> (Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mesh");
    std::fs::copy(example.join("pod.toml"), dir.path().join("pod.toml")).unwrap();
    copy_mesh_binaries(dir.path());
    let metrics_port = free_port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let manifest = dir.path().join("pod.toml");
    let server = Server::serve(
        &[manifest.to_str().unwrap(), "--metrics", &metrics],
        Some(dir),
    );
    (server, metrics)
}

#[test]
fn the_mesh_example_replies_locally_and_passes_authorized_requests() {
    let (server, metrics_at) = mesh_example();
    let denied = get(&server, "/items", &[]);
    assert_eq!(denied.status, 401, "{denied:?}");
    assert_eq!(denied.body, "unauthorized\n");
    assert_eq!(denied.header("www-authenticate"), Some("Bearer"));
    let wrong = get(&server, "/items", &[("Authorization", "Bearer wrong")]);
    assert_eq!(wrong.status, 401);
    let ok = get(&server, "/items", &[("Authorization", TOKEN)]);
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(
        ok.body.contains(r#""items":["apple","pear","plum"]"#),
        "{}",
        ok.body
    );
    // The access log filter stamps the response with the request's id.
    // Without one from the client it is a fresh UUID, as Envoy makes.
    let id = ok.header("x-request-id").expect("a request id");
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.as_bytes()[14], b'4', "{id}");
    let given = get(
        &server,
        "/items",
        &[("Authorization", TOKEN), ("x-request-id", "abc")],
    );
    assert_eq!(given.header("x-request-id"), Some("abc"));
    let text = metrics(&metrics_at);
    assert_eq!(metric(&text, "auth_denied{filter=\"auth\"}"), 2);
    assert_eq!(metric(&text, "auth_allowed{filter=\"auth\"}"), 2);
    assert_eq!(metric(&text, "requests_total{filter=\"log\"}"), 2);
    assert_eq!(
        metric(&text, "request_duration_us_count{filter=\"log\"}"),
        2
    );
    assert!(
        text.contains("# TYPE request_duration_us histogram"),
        "{text}"
    );
    // The access log lines carry the filter's name.
    assert_logged(&server, "log: GET /items 200");
}

#[test]
fn header_edits_reach_the_app_and_the_client_and_local_replies_pass_the_filter() {
    let server = kitchen_pod("");
    let reply = get(&server, "/headers", &[]);
    assert_eq!(reply.status, 200);
    assert!(
        reply.body.contains("x-kitchen-seen: yes\n"),
        "{}",
        reply.body
    );
    assert_eq!(reply.header("x-kitchen-response"), Some("yes"));
    // A local reply goes through the filter's own response callbacks.
    let local = get(&server, "/", &[("x-kitchen", "count")]);
    assert_eq!(local.header("x-kitchen-local"), Some("yes"));
    assert_eq!(local.header("x-kitchen-response"), Some("yes"));
}

#[test]
fn configuration_comes_from_the_manifest_or_a_file() {
    let server = kitchen_pod("config = \"some configuration\"");
    let reply = get(&server, "/", &[("x-kitchen", "config")]);
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "some configuration")
    );
    drop(server);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kitchen.json");
    std::fs::write(&file, r#"{"from":"a file"}"#).unwrap();
    let server = kitchen_pod(&format!("config-file = \"{}\"", file.display()));
    let reply = get(&server, "/", &[("x-kitchen", "config")]);
    assert_eq!(reply.body, r#"{"from":"a file"}"#);
}

#[test]
fn bodies_are_buffered_while_the_filter_pauses_and_replaced() {
    let server = kitchen_pod("");
    // Request body: buffered until its end, then upper-cased for the app.
    let body = "a body in several words ".repeat(2000);
    let reply = http(
        &server.addr,
        "POST",
        "/echo",
        &[("x-kitchen", "upper-body")],
        body.as_bytes(),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, body.to_ascii_uppercase());
    // Response body: buffered, then replaced (its content-length removed).
    let reply = get(&server, "/items", &[("x-kitchen", "redact")]);
    assert_eq!(reply.status, 200);
    assert!(reply.body.starts_with("redacted "), "{}", reply.body);
    assert!(reply.body.ends_with(" bytes\n"), "{}", reply.body);
    // Without a mode the body passes unchanged.
    let reply = http(&server.addr, "POST", "/echo", &[], b"as it was");
    assert_eq!(reply.body, "as it was");
}

#[test]
fn shared_data_counts_across_requests_and_vms() {
    let server = kitchen_pod("");
    // Shared data lives outside the VMs: however the server's workers pick
    // them, the count is one (two VMs on two threads: nanopod-proxy-wasm's
    // tests/shared_data.rs).
    let counts: Vec<String> = (0..6)
        .map(|_| get(&server, "/", &[("x-kitchen", "count")]).body)
        .collect();
    assert_eq!(counts, ["1\n", "2\n", "3\n", "4\n", "5\n", "6\n"]);
}

#[test]
fn the_rate_limiter_answers_429_past_its_limit() {
    let server = serve_pod(
        "[serve]\nchain = [\"ratelimit\", \"app\"]\n\
         [components.ratelimit]\nfile = \"{pw-ratelimit}\"\nconfig = \"3\"\n\
         [components.app]\nfile = \"{http-app}\"\n",
        &[],
    );
    // Within one second: three pass, the rest are refused. (Should the
    // second change midway, a fresh window lets more through, so retry.)
    for attempt in 0..3 {
        let statuses: Vec<u16> = (0..5).map(|_| get(&server, "/items", &[]).status).collect();
        if statuses == [200, 200, 200, 429, 429] {
            let reply = get(&server, "/items", &[]);
            if reply.status == 429 {
                assert_eq!(reply.header("retry-after"), Some("1"));
                assert_eq!(reply.body, "too many requests\n");
            }
            return;
        }
        assert!(attempt < 2, "statuses {statuses:?}");
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
}

/// Two hosts serving `examples/mesh/cluster.toml` (its limit lowered to 3,
/// its bucket on the test's NATS server) count one client in one window:
/// requests alternate between the hosts, and the fourth is refused.
#[test]
fn two_hosts_rate_limit_a_client_together_through_a_nats_bucket() {
    let nats = NatsServer::start_jetstream();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mesh/cluster.toml");
    let manifest = std::fs::read_to_string(example)
        .unwrap()
        .replace("config = \"50\"", "config = \"3\"")
        .replace(
            "nats://127.0.0.1:4222/",
            &format!("nats://{}/", nats.addr()),
        );
    assert!(manifest.contains("config = \"3\"") && manifest.contains(&nats.addr()));
    let hosts: Vec<Server> = (0..2)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("pod.toml"), &manifest).unwrap();
            copy_mesh_binaries(dir.path());
            let manifest = dir.path().join("pod.toml");
            Server::serve(&[manifest.to_str().unwrap()], Some(dir))
        })
        .collect();
    // 401s: the limiter passes them to auth, which refuses them; past the
    // limit the limiter answers first.
    for attempt in 0..3 {
        let statuses: Vec<u16> = (0..6)
            .map(|i| get(&hosts[i % 2], "/items", &[]).status)
            .collect();
        if statuses == [401, 401, 401, 429, 429, 429] {
            return;
        }
        assert!(attempt < 2, "statuses {statuses:?}");
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
}

#[test]
fn shared_data_must_name_a_granted_store() {
    let (_dir, manifest) = pod_dir(
        "[serve]\nchain = [\"ratelimit\", \"app\"]\n\
         [components.ratelimit]\nfile = \"{pw-ratelimit}\"\nconfig = \"3\"\nshared-data = \"limits\"\n\
         [components.app]\nfile = \"{http-app}\"\n",
    );
    let out = run(&[
        "serve",
        manifest.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`shared-data = \"limits\"` names a store its grants do not: add `keyvalue = [\"limits\"]` to its grants"),
        "{stderr}"
    );
}

#[test]
fn ticks_queues_and_metrics_are_served() {
    let metrics_port = free_port();
    let metrics_at = format!("127.0.0.1:{metrics_port}");
    let server = serve_pod(
        "[serve]\nchain = [\"kitchen\", \"app\"]\n\
         [components.kitchen]\nfile = \"{pw-kitchen}\"\n\
         [components.app]\nfile = \"{http-app}\"\n",
        &["--metrics", &metrics_at],
    );
    for _ in 0..3 {
        assert_eq!(
            get(&server, "/items", &[("x-kitchen", "queue")]).status,
            200
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(400));
    let text = metrics(&metrics_at);
    assert_eq!(metric(&text, "kitchen_requests{filter=\"kitchen\"}"), 3);
    assert_eq!(metric(&text, "kitchen_dequeued{filter=\"kitchen\"}"), 3);
    let ticks = metric(&text, "kitchen_ticks{filter=\"kitchen\"}");
    assert!(ticks >= 2, "{text}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(metric(&metrics(&metrics_at), "kitchen_ticks{filter=\"kitchen\"}") > ticks);
    assert_eq!(http(&metrics_at, "GET", "/other", &[], b"").status, 404);
}

#[test]
fn properties_are_envoys_attributes() {
    let server = kitchen_pod("root-id = \"kitchen-root\"");
    let reply = get(
        &server,
        "/props?x=1",
        &[("x-kitchen", "props"), ("x-request-id", "r-42")],
    );
    let lines: Vec<&str> = reply.body.lines().collect();
    assert_eq!(lines[0], "request.path=/props?x=1");
    assert_eq!(lines[1], "request.method=GET");
    assert_eq!(lines[2], "request.id=r-42");
    assert_eq!(lines[3], "request.time=true");
    assert!(
        lines[4].starts_with("source.address=127.0.0.1:"),
        "{}",
        reply.body
    );
    assert_eq!(lines[5], "plugin_name=kitchen");
    assert_eq!(lines[6], "plugin_root_id=kitchen-root");
}

#[test]
fn http_calls_reach_granted_upstreams_only() {
    // The upstream: a second nanopod serve on loopback.
    let upstream = Server::serve(&[guest(HTTP_APP)], None);
    let granted = kitchen_pod(&format!(
        "vm-config = \"{}\"\ngrants = {{ allow-http = [\"{}\"] }}",
        upstream.addr, upstream.addr
    ));
    let reply = get(&granted, "/", &[("x-kitchen", "call")]);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        reply.body.starts_with("upstream said 200: {\"items\""),
        "{}",
        reply.body
    );
    // After the call the filter resumes the request, which reaches the app.
    let reply = get(&granted, "/headers", &[("x-kitchen", "resume")]);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        reply.body.contains("x-kitchen-called: yes\n"),
        "{}",
        reply.body
    );
    // Not granted: the call is refused with a status the SDK reports.
    let refused = kitchen_pod(&format!("vm-config = \"{}\"", upstream.addr));
    let reply = get(&refused, "/", &[("x-kitchen", "call")]);
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (503, "call refused: BadArgument\n")
    );
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(
        refused.log().contains("not granted with allow-http"),
        "{}",
        refused.log()
    );
}

#[test]
fn a_trapping_filter_fails_only_its_request_and_is_replaced() {
    let server = kitchen_pod("");
    let reply = get(&server, "/items", &[("x-kitchen", "trap")]);
    assert_eq!(reply.status, 500);
    for _ in 0..4 {
        assert_eq!(get(&server, "/items", &[]).status, 200);
    }
    assert_logged(&server, "asked to trap");
}

#[test]
fn a_filter_past_its_timeout_or_max_memory_fails_only_its_request() {
    let server = kitchen_pod("grants = { timeout = \"300ms\", max-memory = \"32MiB\" }");
    for (mode, why) in [
        ("spin", "ran past its --timeout"),
        ("grow", "needed more memory than --max-memory allows"),
    ] {
        let started = std::time::Instant::now();
        let reply = get(&server, "/items", &[("x-kitchen", mode)]);
        assert_eq!(reply.status, 500, "{mode}: {reply:?}");
        // The VM is replaced and the next request is served.
        let next = get(&server, "/items", &[]);
        assert_eq!(next.status, 200, "after {mode}: {next:?}");
        assert_eq!(next.header("x-kitchen-response"), Some("yes"));
        std::thread::sleep(std::time::Duration::from_millis(50));
        let log = server.log();
        assert!(
            log.contains(&format!("`kitchen`: the component {why}")),
            "{mode}: {log}"
        );
        // The spin stops at its deadline, not at the client's.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    // A replaced VM is no failure of the filter's ticks.
    assert!(!server.log().contains("proxy_on_tick"), "{}", server.log());
}

#[test]
fn a_filter_that_refuses_its_configuration_stops_serve_at_start() {
    let (_dir, pod) = pod_dir(
        "[serve]\nchain = [\"kitchen\", \"app\"]\n\
         [components.kitchen]\nfile = \"{pw-kitchen}\"\nconfig = \"refuse\"\n\
         [components.app]\nfile = \"{http-app}\"\n",
    );
    let o = run(&["serve", pod.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("filter `kitchen` did not start: proxy_on_configure returned false"),
        "{err}"
    );
}

#[test]
fn malformed_and_unknown_core_modules_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"\0asm\x01\0\0\0\x01\xff\xff").unwrap();
    for (file, expected) in [
        (
            garbage.display().to_string(),
            "is not a valid WebAssembly binary",
        ),
        (
            test_programs_artifacts::HELLO_P1.to_string(),
            "exports no `proxy_abi_version_0_2_1` (or `_0_2_0`): not a proxy-wasm filter",
        ),
    ] {
        let (_d, pod) = pod_dir(&format!(
            "[serve]\nchain = [\"f\", \"app\"]\n[components.f]\nfile = \"{file}\"\n\
             [components.app]\nfile = \"{{http-app}}\"\n"
        ));
        let o = run(&["serve", pod.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
        assert_exit(&o, 2);
        assert!(stderr(&o).contains(expected), "{}", stderr(&o));
    }
    // Filter settings on a component, and a filter as the app, are refused.
    for (manifest, expected) in [
        (
            "[serve]\nchain = [\"app\"]\n[components.app]\nfile = \"{http-app}\"\nconfig = \"x\"\n",
            "`config`, `vm-config`, `root-id` and `shared-data` are for proxy-wasm filters",
        ),
        (
            "[serve]\nchain = [\"auth\"]\n[components.auth]\nfile = \"{pw-auth}\"\nconfig = \"t\"\n",
            "the app at the end of a chain must be a component",
        ),
    ] {
        let (_d, pod) = pod_dir(manifest);
        let o = run(&["serve", pod.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
        assert_exit(&o, 2);
        assert!(stderr(&o).contains(expected), "{}", stderr(&o));
    }
}

#[test]
fn filters_component_filters_and_middlewares_mix_in_one_chain() {
    let server = serve_pod(
        "[serve]\nchain = [\"auth\", \"log\", \"stamp\", \"app\"]\n\
         [components.auth]\nfile = \"{pw-auth}\"\nconfig = \"s3cret-token\"\n\
         [components.log]\nfile = \"{http-log}\"\n\
         [components.stamp]\nfile = \"{cf-stamp}\"\n\
         [components.app]\nfile = \"{http-app}\"\n",
        &[],
    );
    assert_eq!(get(&server, "/headers", &[]).status, 401);
    let reply = get(&server, "/headers", &[("Authorization", TOKEN)]);
    assert_eq!(reply.status, 200, "{reply:?}");
    // The component filter edited what the app saw, and the response.
    assert!(reply.body.contains("x-stamp: rust\n"), "{}", reply.body);
    assert!(
        reply.body.contains("authorization: Bearer s3cret-token\n"),
        "{}",
        reply.body
    );
    assert_eq!(reply.header("x-stamped"), Some("rust"));
    // The component filter's state is kept across requests.
    let again = get(&server, "/headers", &[("Authorization", TOKEN)]);
    assert!(again.body.contains("x-stamp-count: 2\n"), "{}", again.body);
    // Its own reply ends the request before the app.
    let denied = get(&server, "/deny", &[("Authorization", TOKEN)]);
    assert_eq!(
        (denied.status, denied.body.as_str()),
        (403, "denied by cf-stamp\n")
    );
}

#[test]
fn a_chain_member_reuses_instances_only_when_asked() {
    let hits = |server: &Server| -> Vec<String> {
        (0..4).map(|_| get(server, "/hits", &[]).body).collect()
    };
    let fresh = serve_pod(
        "[serve]\nchain = [\"app\"]\n[components.app]\nfile = \"{http-app}\"\n",
        &[],
    );
    assert_eq!(hits(&fresh), vec![r#"{"hits":1}"#; 4]);
    let reused = serve_pod(
        "[serve]\nchain = [\"app\"]\n[components.app]\nfile = \"{http-app}\"\nreuse = 3\n",
        &[],
    );
    assert_eq!(
        hits(&reused),
        [
            r#"{"hits":1}"#,
            r#"{"hits":2}"#,
            r#"{"hits":3}"#,
            r#"{"hits":1}"#
        ]
    );
}

#[test]
fn a_filters_memory_does_not_grow_with_the_requests_it_serves() {
    let metrics_port = free_port();
    let metrics_at = format!("127.0.0.1:{metrics_port}");
    let server = serve_pod(
        "[serve]\nchain = [\"log\", \"auth\", \"app\"]\n\
         [components.log]\nfile = \"{pw-log}\"\n\
         [components.auth]\nfile = \"{pw-auth}\"\nconfig = \"s3cret-token\"\n\
         [components.app]\nfile = \"{http-app}\"\n",
        &["--metrics", &metrics_at],
    );
    let memory = |text: &str| -> Vec<u64> {
        text.lines()
            .filter(|l| l.starts_with("nanopod_filter_memory_bytes"))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect()
    };
    for _ in 0..100 {
        get(&server, "/items", &[("Authorization", TOKEN)]);
    }
    let after_100 = memory(&metrics(&metrics_at));
    for _ in 0..1000 {
        get(&server, "/items", &[("Authorization", TOKEN)]);
    }
    assert_eq!(memory(&metrics(&metrics_at)), after_100);
}

#[test]
fn a_request_in_flight_through_filters_finishes_on_shutdown() {
    let server = serve_pod(
        "[serve]\nchain = [\"log\", \"app\"]\n\
         [components.log]\nfile = \"{pw-log}\"\n\
         [components.app]\nfile = \"{http-app}\"\n",
        &[],
    );
    let addr = server.addr.clone();
    let in_flight = std::thread::spawn(move || http(&addr, "GET", "/slow?ms=700", &[], b"").status);
    std::thread::sleep(std::time::Duration::from_millis(200));
    server.terminate();
    assert_eq!(in_flight.join().unwrap(), 200);
}

#[test]
fn a_component_filter_that_traps_spins_grows_or_waits_fails_only_its_request() {
    let server = serve_pod(
        "[serve]\nchain = [\"stamp\", \"app\"]\n\
         [components.stamp]\nfile = \"{cf-stamp}\"\n\
         grants = { timeout = \"300ms\", max-memory = \"32MiB\" }\n\
         [components.app]\nfile = \"{http-app}\"\n",
        &[],
    );
    for (path, why) in [
        ("/cf/trap", "cf-stamp was told to trap"),
        ("/cf/spin", "ran past its --timeout"),
        ("/cf/grow", "needed more memory than --max-memory allows"),
        ("/cf/sleep", "a synchronous filter may not wait for I/O"),
    ] {
        let started = std::time::Instant::now();
        let reply = get(&server, path, &[]);
        assert_eq!(reply.status, 500, "{path}: {reply:?}");
        // Each failure is the filter's alone: the next request is served.
        let next = get(&server, "/items", &[]);
        assert_eq!(next.status, 200, "after {path}: {next:?}");
        assert_eq!(next.header("x-stamped"), Some("rust"));
        assert_logged(&server, why);
        // The spin stops at its deadline, not at the client's.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    // Printing is not waiting: stdout and stderr are always ready.
    let printed = get(&server, "/cf/print", &[]);
    assert_eq!(printed.status, 404, "{printed:?}");
    assert_eq!(printed.header("x-stamped"), Some("rust"));
    assert_logged(&server, "cf-stamp prints to stderr");
}

#[test]
fn a_component_filter_is_refused_a_directory_at_start() {
    let secrets = tempfile::tempdir().unwrap();
    let (_d, pod) = pod_dir(&format!(
        "[serve]\nchain = [\"stamp\", \"app\"]\n\
         [components.stamp]\nfile = \"{{cf-stamp}}\"\n\
         grants = {{ ro-dirs = [\"{}::/secrets\"] }}\n\
         [components.app]\nfile = \"{{http-app}}\"\n",
        secrets.path().display()
    ));
    let o = run(&["serve", pod.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("stamp"), "{err}");
    assert!(err.contains("a filter gets no directory"), "{err}");
    assert!(err.contains("wasi:http middleware"), "{err}");
}
