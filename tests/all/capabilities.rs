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
