//! Remote links over real loopback TCP: `nanopod export` on one side, a
//! pod whose link says `remote = "tcp://…"` on the other.

use crate::pods::{geo_example, manifest, up, write_pod};
use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;
use test_programs_artifacts::{CALC, CALC_DRIVER, GEO, HTTP_GEO, KITCHEN};
use test_support::NatsServer;

/// `nanopod export ARGS` on a free loopback port.
pub(crate) fn export(args: &[&str]) -> Daemon {
    export_on("tcp://127.0.0.1:0", args)
}

fn export_on(listen: &str, args: &[&str]) -> Daemon {
    let scheme = format!("{}://", listen.split_once("://").unwrap().0);
    Daemon::start("export", args, listen, &scheme, None)
}

/// The geo exporter: the sidecar of `examples/geo`, with its table.
fn geo_exporter(listen: &str, extra: &[&str]) -> Daemon {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/geo/data");
    let grant = format!("{}::/data", data.display());
    let mut args = vec!["--ro-dir", &grant];
    args.extend_from_slice(extra);
    args.push(guest(GEO));
    export_on(listen, &args)
}

/// The geo example's pod with its link pointed at `tcp://ADDR`.
fn remote_geo_pod(addr: &str, link_extra: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    geo_pod_linked_to(&format!("tcp://{addr}"), link_extra)
}

/// The geo example's pod with its link pointed at `url`.
fn geo_pod_linked_to(url: &str, link_extra: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    write_pod(&format!(
        "entry = \"app\"\ninvoke = \"distance\"\n[components.app]\nfile = \"{{geo-app}}\"\n\
         [[link]]\nfrom = \"app\"\nimport = \"example:geo/lookup\"\nremote = \"{url}\"\n{link_extra}"
    ))
}

/// An address nothing listens on.
pub(crate) fn dead_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

#[test]
fn the_same_pod_gives_the_same_output_with_the_link_local_or_remote() {
    let local = geo_example();
    let exporter = geo_exporter("tcp://127.0.0.1:0", &[]);
    let (_dir, remote) = remote_geo_pod(&exporter.addr, "");
    for args in [
        &["Paris", "Berlin"][..],
        &["--from", "london", "--to", "New York"],
        &["Paris", "Atlantis"],
    ] {
        let a = up(Path::new(&manifest(&local)), args);
        let b = up(&remote, args);
        assert_eq!(a.status.code(), b.status.code(), "{}", stderr(&b));
        assert_eq!(a.stdout, b.stdout);
        assert_eq!(stderr(&a), stderr(&b));
    }
    assert_eq!(stdout(&up(&remote, &["Paris", "Berlin"])), "877.5\n");
}

#[test]
fn a_transport_failure_is_an_err_when_the_signature_allows_it_and_a_trap_otherwise() {
    // `find` returns `result<location, string>`: the failure is its `err`.
    let dead = dead_addr();
    let (_dir, pod) = remote_geo_pod(&dead, "");
    let o = up(&pod, &["Paris", "Berlin"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).starts_with(&format!(
            "error: remote link `example:geo/lookup@0.1.0` → tcp://{dead}: cannot connect: "
        )),
        "{}",
        stderr(&o)
    );
    // `add` returns a bare `u32`: nothing it returns could say so; it traps.
    let (_dir, pod) = write_pod(&format!(
        "[components.driver]\nfile = \"{CALC_DRIVER}\"\n\
         [[link]]\nfrom = \"driver\"\nimport = \"example:calc/ops\"\nremote = \"tcp://{dead}\"\n"
    ));
    let o = up(&pod, &["--invoke", "call-add", "3"]);
    assert_exit(&o, 3);
    assert!(
        stderr(&o).contains(&format!(
            "remote link `example:calc/ops@0.1.0` → tcp://{dead}: cannot connect"
        )),
        "{}",
        stderr(&o)
    );
    // The same pod with an exporter behind the link works.
    let calc = export(&[guest(CALC)]);
    let (_dir, pod) = write_pod(&format!(
        "[components.driver]\nfile = \"{CALC_DRIVER}\"\n\
         [[link]]\nfrom = \"driver\"\nimport = \"example:calc/ops\"\nremote = \"tcp://{}\"\n",
        calc.addr
    ));
    let o = up(&pod, &["--invoke", "call-bytes", "3", "100000"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "300000\n");
    // A byte list over the wire's 64 MiB message limit is refused by the
    // caller before a byte is sent (a trap: `take-bytes` cannot say
    // `err`); the exporter is untouched and serves the next call.
    let too_big = ((64 << 20) + 1).to_string();
    let o = up(&pod, &["--invoke", "call-bytes", "1", &too_big]);
    assert_exit(&o, 3);
    assert!(
        stderr(&o).contains("a message of 64 MiB, over the 64 MiB limit"),
        "{}",
        stderr(&o)
    );
    let o = up(&pod, &["--invoke", "call-bytes", "1", "10"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "10\n");
}

/// A stand-in for the geo sidecar whose `find` never returns.
fn spinning_geo() -> tempfile::TempDir {
    let wasm = wat::parse_str(
        r#"(component
            (core module $m
              (memory (export "mem") 1)
              (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 1024)
              (func (export "find") (param i32 i32) (result i32) (loop $l (br $l)) unreachable))
            (core instance $i (instantiate $m))
            (func $find (param "city" string) (result u32)
              (canon lift (core func $i "find") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
            (instance $lookup (export "find" (func $find)))
            (export "example:geo/lookup@0.1.0" (instance $lookup)))"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spin.wasm"), wasm).unwrap();
    dir
}

/// Runs the pod's call, kills `exporter` once the call has been running for
/// `after` (and checks it still was), and returns the caller's output.
fn kill_mid_call(pod: &Path, exporter: &mut Daemon, after: Duration) -> std::process::Output {
    let mut caller = nanopod()
        .args(["up", pod.to_str().unwrap(), "Paris", "Berlin"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    assert!(
        caller.try_wait().unwrap().is_none(),
        "the call ended while the exporter was still working on it"
    );
    exporter.child.kill().unwrap();
    exporter.child.wait().unwrap();
    caller.wait_with_output().unwrap()
}

#[test]
fn a_slow_exporter_times_out_a_killed_one_fails_fast_and_the_next_call_reconnects() {
    let spin = spinning_geo();
    let spin_wasm = spin.path().join("spin.wasm").display().to_string();
    let mut slow = export(&[&spin_wasm]);
    let addr = slow.addr.clone();

    // The link's timeout ends the call.
    let (_dir, pod) = remote_geo_pod(&addr, "timeout = \"300ms\"\n");
    let o = up(&pod, &["Paris", "Berlin"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("no answer within 300ms"),
        "{}",
        stderr(&o)
    );

    // The exporter dies mid-call: the caller hears it at once, well before
    // its one-minute timeout.
    let (_dir, pod) = remote_geo_pod(&addr, "timeout = \"60s\"\n");
    let o = kill_mid_call(&pod, &mut slow, Duration::from_millis(500));
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains(&format!(
            "remote link `example:geo/lookup@0.1.0` → tcp://{addr}:"
        )),
        "{}",
        stderr(&o)
    );

    // A new exporter on the same port: the next call connects again.
    let _geo = geo_exporter(&format!("tcp://{addr}"), &[]);
    let o = up(&pod, &["Paris", "Berlin"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "877.5\n");
}

#[test]
fn serve_forwards_a_remote_link_and_a_gone_exporter_is_the_apps_err() {
    let geo = geo_exporter("tcp://127.0.0.1:0", &[]);
    let (dir, pod) = write_pod(&format!(
        "entry = \"web\"\n[components.web]\nfile = \"{HTTP_GEO}\"\n\
         [[link]]\nfrom = \"web\"\nimport = \"example:geo/lookup\"\nremote = \"tcp://{}\"\n",
        geo.addr
    ));
    let server = Daemon::serve(&[pod.to_str().unwrap()], Some(dir));
    let (status, body) = server.get("/where?city=Paris", &[]);
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"city":"Paris","lat":48.8566,"lon":2.3522}"#)
    );
    // The exporter goes away: each request's lookup fails as an `err` the
    // app turns into a 502, and the server goes on.
    let addr = geo.addr.clone();
    drop(geo);
    for _ in 0..2 {
        let (status, body) = server.get("/where?city=Paris", &[]);
        assert_eq!(status, 502, "{body}");
        assert!(
            body.contains(&format!(
                "remote link `example:geo/lookup@0.1.0` → tcp://{addr}: cannot connect"
            )),
            "{body}"
        );
    }
}

#[test]
fn an_exporter_with_a_token_refuses_callers_without_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "right-token\n").unwrap();
    std::fs::write(dir.path().join("wrong"), "wrong-token\n").unwrap();
    let token = dir.path().join("token").display().to_string();
    let exporter = geo_exporter("tcp://127.0.0.1:0", &["--token-file", &token]);
    for (extra, expect) in [
        ("", Err("this exporter requires a token")),
        ("token-file = \"WRONG\"\n", Err("invalid token")),
        ("token-file = \"TOKEN\"\n", Ok("877.5\n")),
    ] {
        let extra = extra
            .replace("WRONG", &dir.path().join("wrong").display().to_string())
            .replace("TOKEN", &token);
        let (_d, pod) = remote_geo_pod(&exporter.addr, &extra);
        let o = up(&pod, &["Paris", "Berlin"]);
        match expect {
            Ok(out) => {
                assert_exit(&o, 0);
                assert_eq!(stdout(&o), out);
            }
            Err(msg) => {
                assert_exit(&o, 1);
                assert!(stderr(&o).contains(msg), "{}", stderr(&o));
            }
        }
    }
    // A caller with a token may still call an exporter that needs none.
    let open = geo_exporter("tcp://127.0.0.1:0", &[]);
    let (_d, pod) = remote_geo_pod(&open.addr, &format!("token-file = \"{token}\"\n"));
    assert_eq!(stdout(&up(&pod, &["Paris", "Berlin"])), "877.5\n");
}

/// Finding 6: callers that connect and send nothing hold an exporter with
/// a token for seconds, not its idle minute: they are told why and cut,
/// and a caller with the token is served after them.
#[test]
fn silent_callers_of_an_exporter_with_a_token_are_cut_after_seconds() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "right-token\n").unwrap();
    let token = dir.path().join("token").display().to_string();
    let exporter = geo_exporter(
        "tcp://127.0.0.1:0",
        &["--token-file", &token, "--max-connections", "2"],
    );
    let silent: Vec<_> = (0..2)
        .map(|_| TcpStream::connect(&exporter.addr).unwrap())
        .collect();
    let started = std::time::Instant::now();
    for mut conn in silent {
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut back = Vec::new();
        let _ = conn.read_to_end(&mut back);
        assert!(
            String::from_utf8_lossy(&back).contains("requires a token, sent within 5 s"),
            "{back:?}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let (_d, pod) = remote_geo_pod(&exporter.addr, &format!("token-file = \"{token}\"\n"));
    let o = up(&pod, &["Paris", "Berlin"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "877.5\n");
}

/// Sends raw bytes to `addr`; returns what came back before it closed.
fn raw_exchange(addr: &str, bytes: &[u8]) -> Vec<u8> {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    conn.write_all(bytes).unwrap();
    let _ = conn.shutdown(std::net::Shutdown::Write);
    let mut back = Vec::new();
    let _ = conn.read_to_end(&mut back);
    back
}

fn header(instance: &str, func: &str) -> Vec<u8> {
    let mut out = vec![0, instance.len() as u8];
    out.extend_from_slice(instance.as_bytes());
    out.push(func.len() as u8);
    out.extend_from_slice(func.as_bytes());
    out
}

#[test]
fn hostile_frames_are_refused_and_the_exporter_keeps_serving() {
    let exporter = geo_exporter("tcp://127.0.0.1:0", &[]);
    let find = header("example:geo/lookup@0.1.0", "find");
    let mut huge = find.clone();
    // A root frame claiming 1 TiB.
    huge.extend_from_slice(&[0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    let mut truncated = find.clone();
    // A 10-byte frame with 3 bytes, then the write side closes.
    truncated.extend_from_slice(&[0, 10, 1, 2, 3]);
    let mut wrong_type = find.clone();
    // A string of invalid UTF-8.
    wrong_type.extend_from_slice(&[0, 3, 2, 0xff, 0xfe]);
    // Each is answered with an error frame saying what was wrong (the
    // truncated call has no one left to tell).
    for (bytes, said) in [
        (&huge[..], "a message larger than 64 MiB was refused"),
        (&truncated, ""),
        (&wrong_type, "malformed message"),
        (&[9, 9, 9], "unsupported wRPC version 9"),
        (&header("nope:x/y", "find"), "is not served here"),
    ] {
        let back = String::from_utf8_lossy(&raw_exchange(&exporter.addr, bytes)).into_owned();
        assert!(back.contains(said), "{said:?} not in {back:?}");
    }
    let back = raw_exchange(&exporter.addr, &header("nope:x/y", "find"));
    assert!(
        String::from_utf8_lossy(&back).contains("`nope:x/y#find` is not served here"),
        "{back:?}"
    );
    // A well-formed call from a plain wRPC client (one call, then EOF).
    let mut call = find.clone();
    call.extend_from_slice(&[0, 6, 5, b'P', b'a', b'r', b'i', b's']);
    let back = raw_exchange(&exporter.addr, &call);
    assert_eq!(back[0], 0, "a root frame: {back:?}");
    assert_eq!(back[2], 0, "`ok` with the location: {back:?}");
    // And it still serves pods.
    let (_dir, pod) = remote_geo_pod(&exporter.addr, "");
    assert_eq!(stdout(&up(&pod, &["Paris", "Berlin"])), "877.5\n");
}

/// `export --reuse N`: one instance serves up to N calls in turn (calc's
/// `calls-before` counts them in its memory), then a fresh one takes over;
/// a call that traps takes its instance with it. Without `--reuse`, every
/// call sees a fresh instance.
#[test]
fn export_reuse_lets_an_instance_serve_calls_in_turn() {
    // `calls-before(trap)`: a root function, one `bool`, a `u32` back.
    let calls_before = |addr: &str, trap: bool| {
        let mut call = header("", "calls-before");
        call.extend_from_slice(&[0, 1, u8::from(trap)]);
        raw_exchange(addr, &call)
    };
    let count = |addr: &str| {
        let back = calls_before(addr, false);
        assert_eq!(back.get(..2), Some(&[0, 1][..]), "a one-byte u32: {back:?}");
        back[2]
    };
    let fresh = export(&[guest(CALC)]);
    let seen: Vec<u8> = (0..3).map(|_| count(&fresh.addr)).collect();
    assert_eq!(seen, [0, 0, 0]);
    let reused = export(&["--reuse", "3", guest(CALC)]);
    let seen: Vec<u8> = (0..5).map(|_| count(&reused.addr)).collect();
    assert_eq!(seen, [0, 1, 2, 0, 1]);
    let back = String::from_utf8_lossy(&calls_before(&reused.addr, true)).into_owned();
    assert!(back.contains("the component trapped"), "{back:?}");
    assert_eq!(count(&reused.addr), 0, "the trapped instance was not kept");
    let o = run(&["export", "--reuse", "0", guest(CALC)]);
    assert_exit(&o, 2);
}

/// Finding 6: what callers make an exporter buffer is bounded across
/// connections (`--max-buffered`): a call past it is refused with why, and
/// what a finished call held is given back.
#[test]
fn calls_past_max_buffered_are_refused_and_the_budget_is_given_back() {
    let exporter = geo_exporter("tcp://127.0.0.1:0", &["--max-buffered", "1MiB"]);
    // A call whose string parameter, `len` bytes, comes in frames of 256
    // KiB (as nanopod sends it).
    let call_with_city_of = |len: usize| {
        use nanopod_remote::wire::frame;
        let mut value = Vec::new();
        frame::put_name(&mut value, &"x".repeat(len));
        let mut call = Vec::new();
        frame::put_header(&mut call, "example:geo/lookup@0.1.0", "find");
        frame::put_frames(&mut call, &[], &value);
        call
    };
    let back = raw_exchange(&exporter.addr, &call_with_city_of(2 << 20));
    assert!(
        String::from_utf8_lossy(&back).contains("holds its limit of 1 MiB of calls' values"),
        "{:?}",
        String::from_utf8_lossy(&back)
    );
    for _ in 0..3 {
        let back = raw_exchange(&exporter.addr, &call_with_city_of(600 << 10));
        assert_eq!(back.first(), Some(&0), "answered, not refused: {back:?}");
        assert!(
            !String::from_utf8_lossy(&back).contains("limit"),
            "{back:?}"
        );
    }
}

#[test]
fn export_serves_only_what_it_is_told_to_expose() {
    let kitchen = export(&["--expose", "add", guest(KITCHEN)]);
    let back = raw_exchange(&kitchen.addr, &header("", "greet"));
    assert!(
        String::from_utf8_lossy(&back).contains("`#greet` is not served here"),
        "{back:?}"
    );
    let mut add = header("", "add");
    add.extend_from_slice(&[0, 2, 40, 2]);
    assert_eq!(raw_exchange(&kitchen.addr, &add), [0, 1, 42]);
    let o = run(&[
        "export",
        "--expose",
        "nope",
        "--listen",
        "tcp://127.0.0.1:0",
        guest(KITCHEN),
    ]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("does not export `nope`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn links_that_cannot_cross_hosts_are_refused_before_anything_runs() {
    let (_dir, pod) = write_pod(
        "[components.k]\nfile = \"{kitchen}\"\n\
         [[link]]\nfrom = \"k\"\nimport = \"wasi:io/streams\"\nremote = \"tcp://127.0.0.1:1\"\n",
    );
    let o = up(&pod, &["--invoke", "add", "1", "2"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("resource handles cannot cross hosts"),
        "{}",
        stderr(&o)
    );
    let (_dir, pod) = remote_geo_pod("127.0.0.1", "");
    let o = up(&pod, &["Paris", "Berlin"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("has no port"), "{}", stderr(&o));
}

#[test]
fn export_stops_on_sigterm() {
    let mut calc = export(&[guest(CALC)]);
    calc.terminate();
    let status = calc.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        TcpStream::connect(&calc.addr).is_err(),
        "the port is closed"
    );
}

#[test]
fn a_nats_queue_group_shares_the_calls_and_survives_losing_members() {
    let nats = NatsServer::start();
    let url = format!("nats://127.0.0.1:{}/pods.geo", nats.port());
    let mut first = geo_exporter(&url, &[]);
    let second = geo_exporter(&url, &[]);
    let (_dir, pod) = geo_pod_linked_to(&url, "");
    for _ in 0..20 {
        let o = up(&pod, &["Paris", "Berlin"]);
        assert_exit(&o, 0);
        assert_eq!(stdout(&o), "877.5\n");
    }
    let served = |d: &Daemon| d.log().matches("nanopod::access").count();
    assert!(
        served(&first) > 0 && served(&second) > 0,
        "both members served: {} and {}",
        served(&first),
        served(&second)
    );
    // One member dies: the calls go on with the other.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    for _ in 0..5 {
        assert_eq!(stdout(&up(&pod, &["Paris", "Berlin"])), "877.5\n");
    }
    // None left: the caller hears so at once, as its `err`.
    drop(second);
    let o = up(&pod, &["Paris", "Berlin"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains(&format!("→ {url}: no exporter serves this subject")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_nats_exporter_that_dies_mid_call_is_heard_by_its_silence() {
    let nats = NatsServer::start();
    let url = format!("nats://127.0.0.1:{}/pods.spin", nats.port());
    let spin = spinning_geo();
    let mut slow = export_on(&url, &[spin.path().join("spin.wasm").to_str().unwrap()]);
    let (_dir, pod) = geo_pod_linked_to(&url, "timeout = \"60s\"\n");
    // Longer than the silence a caller tolerates: the exporter's heartbeats
    // keep the call alive while it works. NATS never tells a requester that
    // the member serving it died; the heartbeats stopping does, long before
    // the link's minute.
    let o = kill_mid_call(&pod, &mut slow, Duration::from_secs(4));
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains(&format!(
            "→ {url}: the exporter stopped answering (no heartbeat for 3s)"
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_exporter_at_its_connection_limit_refuses_the_next_caller() {
    let exporter = geo_exporter("tcp://127.0.0.1:0", &["--max-connections", "1"]);
    // One caller holds the only slot: it made a call and keeps the
    // connection open…
    let mut held = TcpStream::connect(&exporter.addr).unwrap();
    let mut call = header("example:geo/lookup@0.1.0", "find");
    call.extend_from_slice(&[0, 6, 5, b'P', b'a', b'r', b'i', b's']);
    held.write_all(&call).unwrap();
    let mut answer = [0u8; 4];
    held.read_exact(&mut answer).unwrap();
    // …so the next is refused, with the reason, instead of queueing in memory.
    let (_dir, pod) = remote_geo_pod(&exporter.addr, "");
    let o = up(&pod, &["Paris", "Berlin"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("the exporter is at its limit of 1 connections"),
        "{}",
        stderr(&o)
    );
    // When the slot is free again (the exporter notices the close), calls
    // go through.
    drop(held);
    let freed = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        stdout(&up(&pod, &["Paris", "Berlin"])) == "877.5\n"
    });
    assert!(freed, "the slot was never released");
}

#[test]
fn export_refuses_bad_flags_with_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let empty = empty.display().to_string();
    let kitchen = guest(KITCHEN);
    for (args, expected) in [
        (
            vec!["--listen", "7000", kitchen],
            "`7000` is not `tcp://HOST:PORT` or `nats://HOST:PORT/SUBJECT`",
        ),
        (vec!["--listen", "tcp://127.0.0.1", kitchen], "has no port"),
        (
            vec!["--listen", "tcp://localhost:0", kitchen],
            "is not `tcp://IP:PORT`",
        ),
        (
            vec!["--max-connections", "0", kitchen],
            "`0` is not a whole number of at least 1",
        ),
        (
            vec!["--max-buffered", "lots", kitchen],
            "`lots` is not a size like 64MiB",
        ),
        (
            vec!["--token-file", "/no/such/token", kitchen],
            "cannot read `/no/such/token`",
        ),
        (vec!["--token-file", &empty, kitchen], "is empty"),
        (
            vec!["--vfs", "/tmp::/t", kitchen],
            "`--vfs` gives one run a private copy",
        ),
        (vec!["no-such.wasm"], "no-such.wasm"),
    ] {
        let o = run(&[&["export"][..], &args].concat());
        assert_exit(&o, 2);
        let err = stderr(&o);
        assert!(err.contains(expected), "{args:?}: {err}");
        // One error line (kitchen's unservable functions add warnings).
        let errors = err.lines().filter(|l| l.starts_with("error:")).count();
        assert_eq!(errors, 1, "{args:?}: {err}");
    }
}

#[test]
fn a_links_empty_token_file_is_refused_as_the_exporter_refuses_one() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-token");
    std::fs::write(&empty, " \n").unwrap();
    // Nothing listens there: the token is read, and refused, before any
    // call is made.
    let extra = format!("token-file = \"{}\"\n", empty.display());
    let (_d, pod) = geo_pod_linked_to(&format!("tcp://{}", dead_addr()), &extra);
    let o = up(&pod, &["Paris", "Berlin"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(&format!("`{}` is empty", empty.display())),
        "{}",
        stderr(&o)
    );
}
