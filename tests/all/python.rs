//! A component built by another toolchain: componentize-py, from source.

use crate::support::*;
use std::path::PathBuf;
use std::process::Command;

/// Builds module `module` of `tests/fixtures/FIXTURE` for `world` of
/// `wit` (relative to the project root) with componentize-py (installed
/// by `scripts/test.sh`) into `OUT` in the test target directory.
fn componentize(fixture: &str, wit: &str, world: &str, module: &str, out: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(out);
    let status = Command::new("componentize-py")
        .current_dir(root.join("tests/fixtures").join(fixture))
        .arg("-d")
        .arg(root.join(wit))
        .args(["-w", world, "componentize", module, "-o"])
        .arg(&out)
        .status()
        .expect("componentize-py is not installed: run scripts/test.sh, or `pip install componentize-py`");
    assert!(status.success(), "componentize-py failed on {fixture}");
    out
}

/// `tests/fixtures/python` as a component, built once per test run.
fn python_component() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            componentize(
                "python",
                "tests/fixtures/python/calc.wit",
                "calc",
                "app",
                "calc.wasm",
            )
        })
        .clone()
}

#[test]
fn python_component_exports_typed_functions() {
    let calc = python_component();
    let calc = calc.to_str().unwrap();
    let o = run(&["run", calc, "--invoke", "hello", "World"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "Hello from Python, World!\n");

    let o = run(&[
        "run",
        calc,
        "--invoke",
        "divide",
        "7",
        "2",
        "--rounding",
        "up",
    ]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "4\n");

    let o = run(&["run", calc, "--invoke", "divide", "7", "0", "down"]);
    assert_exit(&o, 1);
    assert_eq!(stderr(&o), "error: cannot divide 7 by zero\n");

    let o = run(&["run", calc, "--invoke", "divide", "7", "2", "sideways"]);
    assert_exit(&o, 2);

    let photo = format!("{}/examples/photo.png", env!("CARGO_MANIFEST_DIR"));
    let expected: u64 = std::fs::read(&photo)
        .unwrap()
        .iter()
        .map(|b| u64::from(*b))
        .sum();
    let o = run(&["run", calc, "--invoke", "byte-sum", &photo]);
    assert_eq!(stdout(&o), format!("{expected}\n"));

    let wit = format!(
        "{}/tests/fixtures/python/calc.wit",
        env!("CARGO_MANIFEST_DIR")
    );
    let o = run(&["run", "--wit", &wit, calc, "--invoke", "divide", "--help"]);
    assert!(
        stdout(&o).contains("Divide, rounding as asked"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("enum rounding"), "{}", stdout(&o));
}

#[test]
fn a_python_component_filter_runs_synchronously_in_front_of_the_app() {
    let filter = componentize(
        "python-filter",
        "crates/nanopod-serve/wit",
        "http-filter",
        "filter",
        "python-filter.wasm",
    );
    assert_the_key_filter_in("python", "python", "py-key", &filter);
}

/// A TCP peer on loopback that greets every client with `pong`.
fn pong_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let _ = std::io::Write::write_all(&mut client.unwrap(), b"pong");
        }
    });
    addr
}

#[test]
fn python_sockets_follow_the_grants() {
    let net = componentize(
        "python-sockets",
        "tests/fixtures/python-sockets/net.wit",
        "net",
        "app",
        "net.wasm",
    );
    let net = net.to_str().unwrap();
    let addr = pong_server();
    // CPython's create_connection resolves even an IP literal: --allow-dns.
    let granted = ["run", "--allow-dns", "--allow-tcp", &addr, net];
    let o = run(&[&granted[..], &["--invoke", "fetch", &addr]].concat());
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "pong\n");
    let o = run(&["run", "--allow-dns", net, "--invoke", "fetch", &addr]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).starts_with(&format!("error: cannot connect to {addr}: ")),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("Permission denied"), "{}", stderr(&o));

    // Listening: on the granted address it serves a client; elsewhere not.
    let port = free_port();
    let here = format!("127.0.0.1:{port}");
    let client = {
        let here = here.clone();
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                if let Ok(mut s) = std::net::TcpStream::connect(&here) {
                    let mut got = String::new();
                    std::io::Read::read_to_string(&mut s, &mut got).unwrap();
                    return got;
                }
                assert!(std::time::Instant::now() < deadline, "nothing listened");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        })
    };
    let o = run(&[
        "run",
        "--allow-dns",
        "--allow-listen",
        &here,
        net,
        "--invoke",
        "serve-once",
        &here,
    ]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "served\n");
    assert_eq!(client.join().unwrap(), "hello");
    let elsewhere = format!("127.0.0.1:{}", port.wrapping_add(1));
    let o = run(&[
        "run",
        "--allow-dns",
        "--allow-listen",
        &elsewhere,
        net,
        "--invoke",
        "serve-once",
        &here,
    ]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains(&format!("cannot listen on {here}")),
        "{}",
        stderr(&o)
    );
}
