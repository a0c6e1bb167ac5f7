//! Capabilities are denied by default; grants never reach past themselves.

use crate::support::*;
use test_programs_artifacts::{HELLO_P1, LEGACY};

/// A sandbox: `data/in.txt` inside, `secret.txt` outside, and a symlink
/// inside that points outside.
fn sandbox() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/in.txt"), "inside\n").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "secret\n").unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("secret.txt"),
        dir.path().join("data/link.txt"),
    )
    .unwrap();
    dir
}

fn grant(dir: &tempfile::TempDir) -> String {
    format!("{}::/data", dir.path().join("data").display())
}

#[test]
fn granted_directory_is_readable() {
    let sb = sandbox();
    let o = run(&[
        "run",
        "--ro-dir",
        &grant(&sb),
        guest(LEGACY),
        "cat",
        "/data/in.txt",
    ]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "inside\n");
}

#[test]
fn nothing_is_readable_without_a_grant() {
    let sb = sandbox();
    let path = sb.path().join("secret.txt");
    let o = run(&["run", guest(LEGACY), "cat", path.to_str().unwrap()]);
    assert_exit(&o, 1);
    assert!(!stdout(&o).contains("secret"));
}

#[test]
fn dot_dot_absolute_and_symlink_escapes_fail() {
    let sb = sandbox();
    let secret = sb.path().join("secret.txt");
    for path in [
        "/data/../secret.txt",
        "/data/link.txt",
        secret.to_str().unwrap(),
    ] {
        let o = run(&["run", "--dir", &grant(&sb), guest(LEGACY), "cat", path]);
        assert_exit(&o, 1);
        assert!(!stdout(&o).contains("secret"), "{path} escaped the grant");
        assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
    }
}

#[test]
fn read_only_grant_refuses_writes_and_read_write_allows_them() {
    let sb = sandbox();
    let target = sb.path().join("data/new.txt");
    let o = run(&[
        "run",
        "--ro-dir",
        &grant(&sb),
        guest(LEGACY),
        "write",
        "/data/new.txt",
        "x",
    ]);
    assert_exit(&o, 1);
    assert!(!target.exists());
    let o = run(&[
        "run",
        "--dir",
        &grant(&sb),
        guest(LEGACY),
        "write",
        "/data/new.txt",
        "x",
    ]);
    assert_exit(&o, 0);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "x");
}

#[test]
fn environment_only_as_granted() {
    let o = nanopod()
        .env("NANOPOD_TEST_VAR", "from-host")
        .args(["run", guest(LEGACY), "env", "NANOPOD_TEST_VAR"])
        .output()
        .unwrap();
    assert_exit(&o, 1);
    let o = nanopod()
        .env("NANOPOD_TEST_VAR", "from-host")
        .args([
            "run",
            "--env",
            "NANOPOD_TEST_VAR",
            guest(LEGACY),
            "env",
            "NANOPOD_TEST_VAR",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "from-host\n");
    let o = run(&["run", "--env", "A=b=c", guest(LEGACY), "env", "A"]);
    assert_eq!(stdout(&o), "b=c\n");
}

#[test]
fn sockets_are_denied_even_to_a_listening_loopback_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let o = run(&["run", guest(LEGACY), "connect", &addr]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("cannot connect"), "{}", stderr(&o));
}

/// A one-shot HTTP server on loopback answering `200 OK`; returns its
/// address and a handle that yields whether a request arrived.
fn http_server() -> (String, std::thread::JoinHandle<bool>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok((mut s, _)) = listener.accept() {
                s.set_nonblocking(false).unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    });
    (addr, handle)
}

#[test]
fn outbound_http_is_denied_unless_granted() {
    let (addr, server) = http_server();
    let o = run(&["run", guest(LEGACY), "fetch", &addr]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("HttpRequestDenied"), "{}", stderr(&o));

    let host = addr.split(':').next().unwrap();
    let other_port = format!("{host}:1");
    let o = run(&[
        "run",
        "--allow-http",
        &other_port,
        guest(LEGACY),
        "fetch",
        &addr,
    ]);
    assert_exit(&o, 1);

    let o = run(&["run", "--allow-http", &addr, guest(LEGACY), "fetch", &addr]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "HTTP 200\n");
    assert!(server.join().unwrap(), "the request reached the server");
}

#[test]
fn preview1_module_gets_argv_and_its_exit_code() {
    let o = run(&["run", guest(HELLO_P1), "9", "x"]);
    assert_exit(&o, 9);
    assert_eq!(stdout(&o), "hello from preview1: 9 x\n");
}

#[test]
fn preview1_module_is_sandboxed_too() {
    let o = run(&["run", "--timeout", "5s", guest(HELLO_P1)]);
    assert_exit(&o, 0);
}
