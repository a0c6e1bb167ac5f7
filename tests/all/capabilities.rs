//! Capabilities are denied by default; grants never reach past themselves.

use crate::support::*;
use test_programs_artifacts::{HELLO_P1, LEGACY, SETTINGS};

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

/// A loopback port nothing listens on.
#[test]
fn allow_tcp_connects_to_its_port_only() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    for grant in [
        addr.clone(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{}-{}", port - 1, port),
        "*:*".into(),
    ] {
        let o = run(&[
            "run",
            "--allow-tcp",
            &grant,
            guest(LEGACY),
            "connect",
            &addr,
        ]);
        assert_exit(&o, 0);
        assert_eq!(stdout(&o), "connected\n", "--allow-tcp {grant}");
    }
    // Another port of the same host, and a listen grant, are not enough.
    let other = format!("127.0.0.1:{}", port + 1);
    for flag in ["--allow-tcp", "--allow-listen"] {
        let granted = if flag == "--allow-tcp" { &other } else { &addr };
        let o = run(&["run", flag, granted, guest(LEGACY), "connect", &addr]);
        assert_exit(&o, 1);
        assert!(
            stderr(&o).contains(&format!("cannot connect to {addr}")),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn allow_listen_binds_its_address_only() {
    use std::io::Read;
    let (mut child, addr) = legacy_listening(guest(LEGACY), &[]);
    let mut client = std::net::TcpStream::connect(&addr).unwrap();
    let mut greeting = String::new();
    client.read_to_string(&mut greeting).unwrap();
    assert_eq!(greeting, "hello");
    assert!(child.wait().unwrap().success());
    // Another port, every interface, or only a connect grant: refused.
    let other = format!("127.0.0.1:{}", free_port());
    for (flag, grant, target) in [
        ("--allow-listen", other.as_str(), addr.as_str()),
        ("--allow-listen", addr.as_str(), "0.0.0.0:0"),
        ("--allow-tcp", addr.as_str(), addr.as_str()),
    ] {
        let o = run(&["run", flag, grant, guest(LEGACY), "listen", target]);
        assert_exit(&o, 1);
        assert!(
            stderr(&o).contains(&format!("cannot listen on {target}")),
            "{flag} {grant}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn allow_udp_sends_to_its_peer_only() {
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let addr = peer.local_addr().unwrap().to_string();
    let o = run(&[
        "run",
        "--allow-udp",
        &addr,
        guest(LEGACY),
        "udp",
        &addr,
        "ping",
    ]);
    assert_exit(&o, 0);
    let mut buf = [0u8; 16];
    let (n, _) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");
    for flag in ["--allow-tcp", "--allow-listen"] {
        let o = run(&["run", flag, &addr, guest(LEGACY), "udp", &addr, "ping"]);
        assert_exit(&o, 1);
        assert!(stderr(&o).contains("cannot send"), "{}", stderr(&o));
    }
}

#[test]
fn allow_dns_grants_name_lookup() {
    let o = run(&["run", guest(LEGACY), "resolve", "localhost"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("cannot resolve localhost"),
        "{}",
        stderr(&o)
    );
    let o = run(&["run", "--allow-dns", guest(LEGACY), "resolve", "localhost"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).lines().any(|l| l == "127.0.0.1" || l == "::1"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn malformed_socket_grants_name_the_flag() {
    for (flag, spec, why) in [
        ("--allow-tcp", "127.0.0.1", "expected HOST:PORT"),
        ("--allow-listen", "127.0.0.1:99999", "the port must be"),
        ("--allow-udp", "no-such-host.invalid:53", "cannot resolve"),
    ] {
        let o = run(&["run", flag, spec, guest(LEGACY), "connect", "127.0.0.1:1"]);
        assert_exit(&o, 2);
        let err = stderr(&o);
        assert!(
            err.contains(&format!("invalid `{flag} {spec}`: {why}")),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn outbound_http_is_denied_unless_granted() {
    let (addr, server) = http_origin(1);
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
    assert_eq!(server.join().unwrap(), 1, "the request reached the server");
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

#[test]
fn configuration_values_come_from_var_and_var_file_only() {
    let o = run(&["run", guest(SETTINGS), "--invoke", "get", "greeting"]);
    assert_exit(&o, 1);
    assert_eq!(stderr(&o), "error: `greeting` is not configured\n");
    let o = run(&[
        "run",
        "--var",
        "greeting=hi=there",
        guest(SETTINGS),
        "--invoke",
        "get",
        "greeting",
    ]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "hi=there\n");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vars.toml");
    std::fs::write(&file, "a = \"1\"\nport = 8080\nverbose = true\n").unwrap();
    let file = file.to_str().unwrap();
    // A --var wins over the file.
    let o = run(&[
        "run",
        "--var-file",
        file,
        "--var",
        "a=2",
        guest(SETTINGS),
        "--invoke",
        "all",
    ]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "a=2\nport=8080\nverbose=true\n");
}

#[test]
fn malformed_configuration_is_refused_with_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("nested.toml");
    std::fs::write(&nested, "[db]\nhost = \"x\"\n").unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "a = \n").unwrap();
    let missing = dir.path().join("missing.toml");
    let cases = [
        (
            vec!["--var", "novalue"],
            "error: invalid `--var novalue`: expected KEY=VALUE".to_string(),
        ),
        (
            vec!["--var-file", nested.to_str().unwrap()],
            format!(
                "error: invalid `--var-file {}`: `db` is not a string, number or boolean",
                nested.display()
            ),
        ),
        (
            vec!["--var-file", broken.to_str().unwrap()],
            format!("error: invalid `--var-file {}`: ", broken.display()),
        ),
        (
            vec!["--var-file", missing.to_str().unwrap()],
            format!("error: invalid `--var-file {}`: ", missing.display()),
        ),
    ];
    for (flags, message) in cases {
        let args = [&["run"], &flags[..], &[guest(SETTINGS), "--invoke", "all"]].concat();
        let o = run(&args);
        assert_exit(&o, 2);
        assert!(
            stderr(&o).starts_with(&message),
            "{flags:?}: {}",
            stderr(&o)
        );
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    }
}

#[test]
fn pod_variables_and_secret_files_reach_their_component() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    std::fs::write(dir.path().join("secrets/token"), "s3cret\n").unwrap();
    let pod = dir.path().join("pod.toml");
    let write = |secret: &str| {
        std::fs::write(
            &pod,
            format!(
                "[components.settings]\nfile = \"{}\"\n\
                 variables = {{ greeting = \"hello\", token = {{ file = \"{secret}\" }} }}\n",
                guest(SETTINGS)
            ),
        )
        .unwrap()
    };
    write("secrets/token");
    let o = run(&["up", pod.to_str().unwrap(), "--invoke", "all"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "greeting=hello\ntoken=s3cret\n");
    // inspect names the keys, never the values.
    let o = run(&["inspect", pod.to_str().unwrap()]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("variable token"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("s3cret"), "{}", stdout(&o));
    write("secrets/none");
    let o = run(&["up", pod.to_str().unwrap(), "--invoke", "all"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).starts_with("error: component `settings`: cannot read `"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn socket_grants_in_a_pod_manifest() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("pod.toml");
    std::fs::write(
        &pod,
        format!(
            "[components.legacy]\nfile = \"{}\"\ngrants = {{ allow-tcp = [\"{addr}\"] }}\n",
            guest(LEGACY)
        ),
    )
    .unwrap();
    let o = run(&["up", pod.to_str().unwrap(), "connect", &addr]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "connected\n");
    let o = run(&["up", pod.to_str().unwrap(), "connect", "127.0.0.1:1"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("cannot connect to 127.0.0.1:1"),
        "{}",
        stderr(&o)
    );
}
