//! `nanopod serve` over real loopback HTTP: a middleware chain, per-request
//! instances, limits, and graceful shutdown.

use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;
use test_programs_artifacts::{
    HTTP_APP, HTTP_AUTH, HTTP_LOG, KITCHEN, P3_HTTP_APP, P3_HTTP_AUTH, P3_HTTP_LOG,
};

const TOKEN: &str = "Bearer s3cret-token";

/// A copy of `examples/EXAMPLE` (its `pod.toml` and `secrets/`) with the
/// built `guests` next to its manifest, served.
fn example_pod(example: &str, guests: &[(&str, &'static str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(example);
    std::fs::copy(source.join("pod.toml"), dir.path().join("pod.toml")).unwrap();
    if source.join("secrets").exists() {
        std::fs::create_dir(dir.path().join("secrets")).unwrap();
        std::fs::copy(
            source.join("secrets/token"),
            dir.path().join("secrets/token"),
        )
        .unwrap();
    }
    for (name, path) in guests {
        std::fs::copy(guest(path), dir.path().join(format!("{name}.wasm"))).unwrap();
    }
    let manifest = dir.path().join("pod.toml").display().to_string();
    Server::serve(&[&manifest], Some(dir))
}

/// `examples/http`: WASI 0.2 middlewares chained by the host.
fn http_pod() -> Server {
    example_pod(
        "http",
        &[
            ("http-app", HTTP_APP),
            ("http-auth", HTTP_AUTH),
            ("http-log", HTTP_LOG),
        ],
    )
}

#[test]
fn requests_pass_the_chain_in_order_and_auth_decides() {
    let server = http_pod();
    let (status, body) = server.get("/items", &[]);
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"error":"unauthorized"}"#)
    );
    let (status, _) = server.get("/items", &[("Authorization", "Bearer wrong")]);
    assert_eq!(status, 401);
    let (status, body) = server.get("/items", &[("Authorization", TOKEN)]);
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"items":["apple","pear","plum"],"chain":"log,auth"}"#
    );
}

#[test]
fn the_app_cannot_read_the_key_granted_to_auth() {
    let server = http_pod();
    let (status, body) = server.get("/file?path=/secrets/token", &[("Authorization", TOKEN)]);
    assert_eq!(status, 404);
    assert!(
        body.starts_with(r#"{"error":"cannot read /secrets/token:"#),
        "{body}"
    );
}

#[test]
fn the_example_app_counts_visits_in_its_store_beside_the_manifest() {
    let server = http_pod();
    let hits = || server.get("/hits", &[("Authorization", TOKEN)]);
    assert_eq!(hits(), (200, r#"{"hits":1}"#.to_string()));
    assert_eq!(hits(), (200, r#"{"hits":2}"#.to_string()));
    let dir = server.dir().expect("the pod's directory");
    assert!(dir.join(".nanopod/kv/hits.redb").is_file());
}

#[test]
fn a_trapping_component_fails_only_its_request() {
    let server = http_pod();
    for component in ["log", "auth", "app"] {
        let (status, body) =
            server.get("/items", &[("Authorization", TOKEN), ("x-trap", component)]);
        assert_eq!(
            (status, body.as_str()),
            (500, "Internal Server Error\n"),
            "{component}"
        );
        let (status, _) = server.get("/items", &[("Authorization", TOKEN)]);
        assert_eq!(status, 200, "the request after a trap in `{component}`");
    }
}

#[test]
fn per_request_limits_end_the_request_not_the_server() {
    let server = Server::serve(
        &[
            "--timeout",
            "300ms",
            "--max-memory",
            "32MiB",
            guest(HTTP_APP),
        ],
        None,
    );
    let (status, _) = server.get("/slow?ms=5000", &[]);
    assert_eq!(status, 504);
    let (status, _) = server.get("/alloc?mb=64", &[]);
    assert_eq!(status, 500);
    let (status, body) = server.get("/alloc?mb=1", &[]);
    assert_eq!((status, body.as_str()), (200, r#"{"bytes":1048576}"#));
}

#[test]
fn shutdown_finishes_requests_in_flight() {
    let mut server = Server::serve(&[guest(HTTP_APP)], None);
    let addr = server.addr.clone();
    let in_flight = std::thread::spawn(move || {
        let reply = http(&addr, "GET", "/slow?ms=700", &[], b"");
        (reply.status, reply.body)
    });
    std::thread::sleep(Duration::from_millis(250));
    server.terminate();
    assert_eq!(
        in_flight.join().unwrap(),
        (200, r#"{"slept":true}"#.to_string())
    );
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        TcpStream::connect(&server.addr).is_err(),
        "no longer listening"
    );
}

#[test]
fn a_component_that_is_not_an_http_handler_is_refused() {
    let o = run(&["serve", guest(KITCHEN)]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o)
            .contains("does not export `wasi:http/incoming-handler@0.2` or `wasi:http/handler@0.3`, so it cannot serve HTTP"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let server = Server::serve(&[guest(HTTP_APP)], None);
    let mut slow = TcpStream::connect(&server.addr).unwrap();
    slow.write_all(b"GET /items HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // Longer than the server's 10 s header timeout: the server must close
    // the connection first (EOF), not leave it open until this read gives up.
    slow.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut rest = Vec::new();
    slow.read_to_end(&mut rest)
        .expect("the server closes the connection");
    let (status, _) = server.get("/items", &[]);
    assert_eq!(status, 200, "other clients are served meanwhile and after");
}

#[test]
fn serve_refuses_what_it_cannot_honour() {
    let dir = tempfile::tempdir().unwrap();
    let vfs = format!("{}::/data", dir.path().display());
    let o = run(&["serve", "--vfs", &vfs, guest(HTTP_APP)]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("`--vfs` gives one run a private copy"),
        "{}",
        stderr(&o)
    );
    let pod = dir.path().join("pod.toml");
    std::fs::write(&pod, format!("[components.app]\nfile = \"{HTTP_APP}\"\n")).unwrap();
    let o = run(&["serve", "--env", "A=1", pod.to_str().unwrap()]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("a pod's grants come from its manifest"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_address_in_use_is_a_usage_error() {
    let server = Server::serve(&[guest(HTTP_APP)], None);
    let o = run(&["serve", "--listen", &server.addr, guest(HTTP_APP)]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).starts_with(&format!("error: cannot listen on `{}`:", server.addr)),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

/// `examples/http3`: WASI 0.3 middlewares composed statically.
fn http3_pod() -> Server {
    example_pod(
        "http3",
        &[
            ("p3-http-app", P3_HTTP_APP),
            ("p3-http-auth", P3_HTTP_AUTH),
            ("p3-http-log", P3_HTTP_LOG),
        ],
    )
}

#[test]
fn a_wasi_0_3_chain_composed_statically_passes_log_then_auth_then_app() {
    let server = http3_pod();
    let (status, body) = server.get("/items", &[]);
    assert_eq!(
        (status, body.as_str()),
        (401, "{\"error\":\"unauthorized\"}\n")
    );
    let (status, _) = server.get("/items", &[("Authorization", "Bearer wrong")]);
    assert_eq!(status, 401);
    let (status, body) = server.get("/items", &[("Authorization", TOKEN)]);
    assert_eq!(
        (status, body.as_str()),
        (200, "{\"items\":[\"apple\",\"banana\",\"cherry\"]}\n")
    );
    let (status, _) = server.get("/nope", &[("Authorization", TOKEN)]);
    assert_eq!(status, 404);
    // A trap in the app fails its request only.
    let (status, _) = server.get("/items", &[("Authorization", TOKEN), ("x-trap", "1")]);
    assert_eq!(status, 500);
    let (status, _) = server.get("/items", &[("Authorization", TOKEN)]);
    assert_eq!(status, 200);
    // `log` ran first: it saw auth's 401 and the app's answers.
    let log = server.log();
    for line in [
        "log: GET /items -> 401",
        "log: GET /items -> 200",
        "log: GET /nope -> 404",
    ] {
        assert!(log.contains(line), "{line:?} in:\n{log}");
    }
}

#[test]
fn a_wasi_0_3_request_past_its_timeout_gets_504_and_the_next_one_is_served() {
    let server = Server::serve(&["--timeout", "300ms", guest(P3_HTTP_APP)], None);
    // The wall clock and the epoch deadline race to stop it: either way
    // the answer is 504, every time.
    for _ in 0..5 {
        let (status, _) = server.get("/items", &[("x-spin", "1")]);
        assert_eq!(status, 504);
    }
    let (status, _) = server.get("/items", &[]);
    assert_eq!(status, 200);
}

#[test]
fn a_wasi_0_3_handler_reuses_instances_only_when_asked() {
    // `/hits` counts the requests the instance answering it has handled.
    let hits = |server: &Server| {
        let (status, body) = server.get("/hits", &[]);
        assert_eq!(status, 200);
        body.trim().to_string()
    };
    let counts =
        |ns: &[u32]| -> Vec<String> { ns.iter().map(|n| format!("{{\"hits\":{n}}}")).collect() };
    // By default every request gets a fresh instance.
    let server = Server::serve(&[guest(P3_HTTP_APP)], None);
    let seen: Vec<String> = (0..3).map(|_| hits(&server)).collect();
    assert_eq!(seen, counts(&[1, 1, 1]));
    drop(server);
    // `--reuse 3`: one instance takes three requests in turn, then a fresh
    // one takes over.
    let server = Server::serve(&["--reuse", "3", guest(P3_HTTP_APP)], None);
    let seen: Vec<String> = (0..5).map(|_| hits(&server)).collect();
    assert_eq!(seen, counts(&[1, 2, 3, 1, 2]));
    // A trap fails only its request, and the instance it killed is gone.
    let (status, _) = server.get("/items", &[("x-trap", "1")]);
    assert_eq!(status, 500);
    assert_eq!(hits(&server), counts(&[1])[0]);
    drop(server);
    // `--timeout` bounds each request, not the instance: a reused instance
    // older than the timeout still serves, and a spinning request still
    // ends at it.
    let server = Server::serve(
        &["--reuse", "3", "--timeout", "300ms", guest(P3_HTTP_APP)],
        None,
    );
    assert_eq!(hits(&server), counts(&[1])[0]);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(hits(&server), counts(&[2])[0]);
    let (status, _) = server.get("/items", &[("x-spin", "1")]);
    assert_eq!(status, 504);
    drop(server);
    // At least one request per instance.
    let o = run(&["serve", "--reuse", "0", guest(P3_HTTP_APP)]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("invalid value '0' for '--reuse <N>'"),
        "{}",
        stderr(&o)
    );
    // WASI 0.2 handlers always get fresh instances.
    let o = run(&["serve", "--reuse", "2", guest(HTTP_APP)]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("is a WASI 0.2 handler: only WASI 0.3 handlers reuse instances"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_wasi_0_3_app_is_served_alone_and_refused_in_a_serve_chain() {
    let server = Server::serve(&[guest(P3_HTTP_APP)], None);
    let (status, body) = server.get("/items", &[]);
    assert_eq!(
        (status, body.as_str()),
        (200, "{\"items\":[\"apple\",\"banana\",\"cherry\"]}\n")
    );
    drop(server);
    // 0.3 middlewares compose through links, not the host's chain.
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("pod.toml");
    std::fs::write(
        &pod,
        format!(
            "[components.log]\nfile = \"{P3_HTTP_LOG}\"\n[components.app]\nfile = \"{P3_HTTP_APP}\"\n\
             [serve]\nchain = [\"log\", \"app\"]\n"
        ),
    )
    .unwrap();
    let o = run(&["serve", "--listen", "127.0.0.1:0", pod.to_str().unwrap()]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(
            "`log` imports `wasi:http/handler@0.3.0`: WASI 0.3 middlewares compose statically"
        ),
        "{}",
        stderr(&o)
    );
}

/// Writes `raw` on a new connection and reads the status line of what
/// the server answers (the connection is then closed by either side).
fn raw_status(addr: &str, raw: &[u8]) -> String {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    conn.write_all(raw).unwrap();
    let mut reply = Vec::new();
    let _ = conn.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Finding 4: `--max-body` answers 413 for a declared or a streamed body
/// past it, before (or instead of) the chain buffering it.
#[test]
fn a_body_past_max_body_is_413_declared_or_streamed() {
    let server = Server::serve(&["--max-body", "1KiB", guest(HTTP_APP)], None);
    let small = http(&server.addr, "POST", "/echo", &[], &[b'a'; 512]);
    assert_eq!((small.status, small.body.len()), (200, 512));
    let large = http(&server.addr, "POST", "/echo", &[], &[b'a'; 2048]);
    assert_eq!(large.status, 413);
    let mut chunked = format!(
        "POST /echo HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.addr
    )
    .into_bytes();
    for _ in 0..3 {
        chunked.extend_from_slice(b"3e8\r\n");
        chunked.extend_from_slice(&[b'b'; 1000]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(
        raw_status(&server.addr, &chunked),
        "HTTP/1.1 413 Payload Too Large"
    );
    for (flag, value, said) in [
        ("--max-body", "lots", "`lots` is not a size like 64MiB"),
        ("--max-connections", "0", "0 is not in 1.."),
    ] {
        let o = run(&["serve", flag, value, guest(HTTP_APP)]);
        assert_exit(&o, 2);
        assert!(stderr(&o).contains(said), "{flag} {value}: {}", stderr(&o));
    }
}

/// Finding 5: past `--max-connections`, a client is answered 503 at once
/// (not left to fill the instance pool), and served again once a slot
/// frees.
#[test]
fn connections_past_max_connections_are_503_until_one_closes() {
    let server = Server::serve(&["--max-connections", "2", guest(HTTP_APP)], None);
    let idle: Vec<_> = (0..2)
        .map(|_| TcpStream::connect(&server.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let busy = raw_status(
        &server.addr,
        format!("GET /items HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes(),
    );
    assert_eq!(busy, "HTTP/1.1 503 Service Unavailable");
    drop(idle);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.get("/items", &[]).0, 200);
}

/// Finding 5: a body that stalls is cut off with 408, and a server told
/// to stop cuts such a client after its grace instead of waiting on it.
#[test]
fn a_stalled_body_is_408_and_does_not_hold_shutdown() {
    let server = Server::serve(&[guest(HTTP_APP)], None);
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: {}\r\nContent-Length: 100\r\n\r\n0123456789",
        server.addr
    );
    let started = std::time::Instant::now();
    assert_eq!(
        raw_status(&server.addr, head.as_bytes()),
        "HTTP/1.1 408 Request Timeout"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(15),
        "cut by the idle timeout"
    );

    let mut server = server;
    let mut staller = TcpStream::connect(&server.addr).unwrap();
    staller.write_all(head.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    let stopped = std::time::Instant::now();
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        stopped.elapsed() < Duration::from_secs(18),
        "stopped after its grace, not the client's pace: {:?}",
        stopped.elapsed()
    );
    drop(staller);
}
