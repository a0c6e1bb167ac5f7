//! Key-value stores (`--kv`, pod.toml's `[keyvalue]`): one suite run
//! against the embedded file store and a NATS bucket, persistence across
//! runs, crash safety, limits, denial, and stores shared between hosts.

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use test_programs_artifacts::{HTTP_APP, KV};
use test_support::NatsServer;

/// `nanopod run --kv store=URL kv.wasm --invoke FUNCTION ARGS…`.
fn kv(url: &str, function: &str, args: &[&str]) -> std::process::Output {
    let grant = format!("store={url}");
    let mut words = vec!["run", "--kv", &grant, guest(KV), "--invoke", function];
    words.extend_from_slice(args);
    run(&words)
}

/// What a successful call printed.
fn ok(url: &str, function: &str, args: &[&str]) -> String {
    let o = kv(url, function, args);
    assert_exit(&o, 0);
    stdout(&o)
}

/// The suite every backend passes, each call its own `nanopod run` (so
/// every value also survives a restart).
fn suite(url: &str) {
    assert_eq!(ok(url, "get", &["store", "greeting"]), "none\n");
    ok(url, "set", &["store", "greeting", "hello"]);
    assert_eq!(ok(url, "get", &["store", "greeting"]), "some(\"hello\")\n");
    assert_eq!(ok(url, "exists", &["store", "greeting"]), "true\n");

    // Bytes round-trip exactly, zero bytes and high bytes included (a
    // `list<u8>` argument is a file the host reads).
    let bytes = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bytes.path(), [0, 1, 127, 128, 255]).unwrap();
    ok(
        url,
        "set-bytes",
        &["store", "raw", bytes.path().to_str().unwrap()],
    );
    assert_eq!(
        ok(url, "get-bytes", &["store", "raw"]),
        "some([0, 1, 127, 128, 255])\n"
    );

    assert_eq!(ok(url, "increment", &["store", "hits", "5"]), "5\n");
    assert_eq!(ok(url, "increment", &["store", "hits", "-2"]), "3\n");
    let o = kv(url, "increment", &["store", "greeting", "1"]);
    assert_exit(&o, 1);
    assert_eq!(
        stderr(&o),
        "error: value of \"greeting\" is not an integer\n"
    );

    // Compare-and-swap against what the key holds now.
    assert_eq!(
        ok(url, "swap", &["store", "greeting", "some(\"hello\")", "hi"]),
        "true\n"
    );
    assert_eq!(
        ok(
            url,
            "swap",
            &["store", "greeting", "some(\"hello\")", "bye"]
        ),
        "false\n"
    );
    assert_eq!(ok(url, "get", &["store", "greeting"]), "some(\"hi\")\n");

    ok(
        url,
        "set-many",
        &["store", "[(\"a\", \"1\"), (\"b\", \"2\")]"],
    );
    assert_eq!(
        ok(url, "get-many", &["store", "[\"a\", \"nope\", \"b\"]"]),
        "[some(\"1\"), none, some(\"2\")]\n"
    );
    assert_eq!(
        ok(url, "keys", &["store"]),
        "[\"a\", \"b\", \"greeting\", \"hits\", \"raw\"]\n"
    );
    ok(url, "delete", &["store", "a"]);
    assert_eq!(ok(url, "exists", &["store", "a"]), "false\n");

    // An over-large value is the component's error, and nothing is kept.
    let o = kv(url, "set-large", &["store", "big", "2000000"]);
    assert_exit(&o, 1);
    assert_eq!(
        stderr(&o),
        "error: value is 2000000 bytes; the limit is 1048576\n"
    );
    assert_eq!(ok(url, "get", &["store", "big"]), "none\n");
}

#[test]
fn the_embedded_store_passes_the_suite_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    suite(&format!("file://{}", dir.path().join("kv.redb").display()));
}

#[test]
fn a_nats_bucket_passes_the_same_suite() {
    let nats = NatsServer::start_jetstream();
    suite(&format!("nats://{}/suite", nats.addr()));
}

#[test]
fn a_store_without_url_is_a_file_under_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let run_in = |args: &[&str]| {
        nanopod()
            .current_dir(dir.path())
            .args(["run", "--kv", "cache", guest(KV), "--invoke"])
            .args(args)
            .output()
            .unwrap()
    };
    assert_exit(&run_in(&["set", "cache", "k", "v"]), 0);
    assert!(dir.path().join(".nanopod/kv/cache.redb").is_file());
    let o = run_in(&["get", "cache", "k"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "some(\"v\")\n");
}

#[test]
fn a_store_not_granted_is_access_denied() {
    // Nothing granted at all, and a grant of another name.
    let o = run(&["run", guest(KV), "--invoke", "get", "store", "k"]);
    assert_exit(&o, 1);
    assert_eq!(stderr(&o), "error: store `store`: access denied\n");
    let o = kv("memory:", "get", &["other", "k"]);
    assert_exit(&o, 1);
    assert_eq!(stderr(&o), "error: store `other`: access denied\n");
}

#[test]
fn bad_store_urls_are_refused_with_the_flag() {
    let o = kv("redis://localhost", "get", &["store", "k"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).starts_with(
            "error: invalid `--kv store=redis://localhost`: `redis://localhost`: expected memory:"
        ),
        "{}",
        stderr(&o)
    );
    // A server that is not there stops the run before the guest starts.
    let port = free_port();
    let o = kv(
        &format!("nats://127.0.0.1:{port}/b"),
        "get",
        &["store", "k"],
    );
    assert_exit(&o, 2);
    assert!(
        stderr(&o).starts_with(&format!(
            "error: key-value store store (nats://127.0.0.1:{port}/b): cannot reach nats://127.0.0.1:{port}"
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_kill_mid_write_loses_no_acknowledged_set() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("kv.redb").display());
    let grant = format!("store={url}");
    let mut child = nanopod()
        .args(["run", "--kv", &grant, guest(KV), "--invoke", "fill"])
        .args(["store", "k", "1000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acknowledged = 0;
    for line in lines.by_ref().take(200) {
        acknowledged = line.unwrap().strip_prefix("set ").unwrap().parse().unwrap();
    }
    // While it runs, the file is its: another process is told so.
    let o = kv(&url, "get", &["store", "k-0"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("another process has it open"),
        "{}",
        stderr(&o)
    );
    child.kill().unwrap(); // SIGKILL, mid-write
    child.wait().unwrap();
    assert_eq!(
        ok(&url, "get", &["store", &format!("k-{acknowledged}")]),
        format!("some(\"{acknowledged}\")\n")
    );
    assert_eq!(ok(&url, "get", &["store", "k-0"]), "some(\"0\")\n");
}

#[test]
fn two_hosts_incrementing_one_nats_key_lose_no_update() {
    let nats = NatsServer::start_jetstream();
    let url = format!("nats://{}/shared", nats.addr());
    let grant = format!("store={url}");
    let hosts: Vec<_> = (0..2)
        .map(|_| {
            nanopod()
                .args(["run", "--kv", &grant, guest(KV), "--invoke", "bump"])
                .args(["store", "n", "500"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for host in hosts {
        let o = host.wait_with_output().unwrap();
        assert_exit(&o, 0);
    }
    assert_eq!(ok(&url, "get", &["store", "n"]), "some(\"1000\")\n");
}

#[test]
fn pod_stores_are_granted_per_component() {
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("pod.toml");
    let write = |grants: &str| {
        std::fs::write(
            &pod,
            format!(
                "[keyvalue.cache]\nurl = \"file://data/cache.redb\"\n\n\
                 [components.kv]\nfile = \"{}\"\n{grants}\n",
                guest(KV)
            ),
        )
        .unwrap()
    };
    let up = |args: &[&str]| {
        let mut words = vec!["up", pod.to_str().unwrap(), "--invoke"];
        words.extend_from_slice(args);
        run(&words)
    };
    write("grants = { keyvalue = [\"cache\"] }");
    let o = up(&["bump", "cache", "n", "3"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "3\n");
    // The table's path is relative to the manifest.
    assert!(dir.path().join("data/cache.redb").is_file());
    let o = run(&["inspect", pod.to_str().unwrap()]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("keyvalue cache"), "{}", stdout(&o));

    write("");
    let o = up(&["get", "cache", "n"]);
    assert_exit(&o, 1);
    assert_eq!(stderr(&o), "error: store `cache`: access denied\n");

    std::fs::write(
        &pod,
        format!(
            "[keyvalue.cache]\nurl = \"s3://bucket\"\n\n[components.kv]\nfile = \"{}\"\n\
             grants = {{ keyvalue = [\"cache\"] }}\n",
            guest(KV)
        ),
    )
    .unwrap();
    let o = up(&["get", "cache", "n"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("[keyvalue.cache]: `s3://bucket`: expected memory:"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn inspect_names_the_flag_that_grants_a_store() {
    let o = run(&["inspect", guest(KV)]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("--kv NAME[=URL]"), "{}", stdout(&o));
}

#[test]
fn the_visit_counter_persists_across_restarts_and_hosts() {
    // One host, restarted: the count goes on.
    let dir = tempfile::tempdir().unwrap();
    let grant = format!("hits=file://{}", dir.path().join("hits.redb").display());
    let hits = |server: &Server| server.get("/hits", &[]);
    let server = Server::serve(&["--kv", &grant, guest(HTTP_APP)], None);
    assert_eq!(hits(&server), (200, r#"{"hits":1}"#.into()));
    assert_eq!(hits(&server), (200, r#"{"hits":2}"#.into()));
    drop(server);
    let server = Server::serve(&["--kv", &grant, guest(HTTP_APP)], None);
    assert_eq!(hits(&server), (200, r#"{"hits":3}"#.into()));
    drop(server);

    // Two hosts on one NATS bucket count together.
    let nats = NatsServer::start_jetstream();
    let grant = format!("hits=nats://{}/hits", nats.addr());
    let a = Server::serve(&["--kv", &grant, guest(HTTP_APP)], None);
    let b = Server::serve(&["--kv", &grant, guest(HTTP_APP)], None);
    assert_eq!(hits(&a), (200, r#"{"hits":1}"#.into()));
    assert_eq!(hits(&b), (200, r#"{"hits":2}"#.into()));
    assert_eq!(hits(&a), (200, r#"{"hits":3}"#.into()));
}
