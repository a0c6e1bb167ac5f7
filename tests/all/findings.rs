//! The findings of the adversarial pass (issue 14), each a test named
//! after its finding that failed before its fix.

use crate::support::*;
use test_programs_artifacts::{HELLO_P1, KITCHEN, LEGACY, UPPER};

/// Finding 1: `-o` after a WASI 0.2 command is the command's own: it
/// reaches argv, stdout stays the command's, and the file is untouched.
#[test]
fn finding_01_a_commands_dash_o_is_its_own_and_no_file_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("precious.txt");
    std::fs::write(&precious, "keep me").unwrap();
    let path = precious.to_str().unwrap();
    let o = run(&["run", guest(LEGACY), "echo", "input.c", "-o", path]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), format!("input.c -o {path}\n"));
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
    let o = run(&["run", guest(LEGACY), "echo", "--output=x", "--", "--help"]);
    assert_eq!(stdout(&o), "--output=x --help\n");
}

/// The low finding on repeated words: `--invoke` twice, or `-o` twice for
/// a typed function, is refused rather than keeping the last.
#[test]
fn finding_low_repeated_invoke_and_output_are_refused() {
    let o = run(&[
        "run",
        guest(KITCHEN),
        "--invoke",
        "add",
        "--invoke",
        "sum",
        "1",
        "2",
    ]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: `--invoke` is given twice: name one function\n"
    );
    let o = run(&[
        "run",
        guest(KITCHEN),
        "--invoke",
        "repeat",
        "65",
        "3",
        "-o",
        "a",
        "-o",
        "b",
    ]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: `-o` is given twice: name one output file\n"
    );
}

/// Low findings: an error still exits 2, not 101 (a panic), when stderr
/// is full or closed; a WAVE error names the part that failed.
#[test]
fn finding_low_errors_survive_a_full_stderr_and_name_what_failed() {
    let o = nanopod()
        .args(["run", "/nonexistent.wasm"])
        .stderr(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[
        "run",
        guest(KITCHEN),
        "--invoke",
        "sum",
        "[1, 99999999999999999999]",
    ]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: invalid value `[1, 99999999999999999999]` for `--values` (list<s64>): \
         `99999999999999999999` (at 4..24) is out of range for, or not of, the number type it is given for\n"
    );
    let o = run(&[
        "run",
        guest(KITCHEN),
        "--invoke",
        "greet",
        "Bob",
        "false",
        "-o",
        "",
    ]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: an output needs a file name (or `-` for stdout)\n"
    );
    let o = run(&["run", guest(KITCHEN), "--invoke", "sum", "[1, two]"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).ends_with(": `two`\n"), "{}", stderr(&o));
}

/// Finding 17: host paths need not be UTF-8. A component, its `list<u8>`,
/// `stream<u8>` and `input-stream` inputs and its `-o` file may have any
/// bytes for names; a word that is not UTF-8 where a string is needed (a
/// `string` parameter, a WASI command's argv, a nanopod flag) is refused
/// naming the word, not with clap's generic message.
#[test]
fn finding_17_host_paths_need_not_be_utf8() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &[u8]| dir.path().join(OsStr::from_bytes(name));
    let (input, plain) = (at(b"caf\xe9.txt"), at(b"plain.txt"));
    std::fs::write(&input, "hello\n").unwrap();
    std::fs::write(&plain, "hello\n").unwrap();
    let component = at(b"kitchen-\xff.wasm");
    std::fs::copy(guest(KITCHEN), &component).unwrap();
    let checksum = |path: &std::path::Path| {
        nanopod()
            .arg("run")
            .arg(&component)
            .args(["--invoke", "checksum"])
            .arg(path)
            .output()
            .unwrap()
    };
    let (o, expected) = (checksum(&input), checksum(&plain));
    assert_exit(&o, 0);
    assert_exit(&expected, 0);
    assert_eq!(stdout(&o), stdout(&expected));
    let o = nanopod()
        .args(["run", guest(KITCHEN), "--invoke", "drain"])
        .arg(&input)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "6\n");
    let output = at(b"out-\xe9.txt");
    let mut inline = std::ffi::OsString::from("--output=");
    inline.push(&output);
    let o = nanopod()
        .args(["run", guest(UPPER)])
        .arg(&input)
        .arg(inline)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "HELLO\n");

    let o = nanopod()
        .args(["run", guest(KITCHEN), "--invoke", "greet"])
        .arg(OsStr::from_bytes(b"B\xffb"))
        .arg("false")
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: `--name` (string) is given `B\u{fffd}b`, which is not UTF-8: only a path may be other bytes\n"
    );
    let o = nanopod()
        .args(["run", guest(LEGACY), "echo"])
        .arg(&input)
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("is not UTF-8: WASI gives a command its arguments as strings"),
        "{}",
        stderr(&o)
    );
    let o = nanopod()
        .args(["run", "--ro-dir"])
        .arg(dir.path().join(OsStr::from_bytes(b"\xff")))
        .args([guest(KITCHEN), "--invoke", "add", "1", "2"])
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(
        stderr(&o).starts_with("error: argument 3 (`")
            && stderr(&o).contains("is not UTF-8, as nanopod's flags and `up`'s arguments must be"),
        "{}",
        stderr(&o)
    );
}

/// Finding 8: a binary, manifest or WIT path that is not a regular file
/// (`/dev/zero`, a FIFO) is refused at once instead of read forever.
#[test]
fn finding_08_non_regular_files_are_refused_not_read_forever() {
    let o = run(&["run", "/dev/zero"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: cannot read `/dev/zero`: not a regular file\n"
    );
    let o = run(&["inspect", "/dev/zero"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    let (_dir, fifo) = fifo_named("pod.toml");
    let o = run(&["up", &fifo]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    let o = run(&["run", "--wit", "/dev/zero", guest(KITCHEN), "--help"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("cannot read WIT at `/dev/zero`: not a regular file or directory"),
        "{}",
        stderr(&o)
    );
}

/// A FIFO (`mkfifo`) called `name` in a new directory.
fn fifo_named(name: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join(name);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let fifo = fifo.to_str().unwrap().to_string();
    (dir, fifo)
}

/// Finding 7: an input that never delivers (a FIFO without a writer, or
/// with one that stalls) is bounded by `--timeout`, for `stream<u8>` and
/// `list<u8>` parameters alike; a FIFO that delivers is read whole.
#[test]
fn finding_07_timeout_bounds_inputs_that_never_deliver() {
    let (_dir, fifo) = fifo_named("fifo");
    let call = |timeout: &str, function: &str| {
        run(&[
            "run",
            "--timeout",
            timeout,
            guest(KITCHEN),
            "--invoke",
            function,
            &fifo,
        ])
    };
    for function in ["drain", "checksum"] {
        let o = call("1s", function);
        assert_exit(&o, 3);
        assert_eq!(stderr(&o), "error: the component ran past its --timeout\n");
    }
    // A writer that opens the FIFO and then stalls.
    let stalled = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let _writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            std::thread::sleep(std::time::Duration::from_secs(3));
        })
    };
    assert_exit(&call("1s", "drain"), 3);
    stalled.join().unwrap();
    // A writer that delivers.
    for (function, expected) in [("drain", "5\n"), ("checksum", "5:a430d84680aabd0b\n")] {
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(&fifo, b"hello").unwrap())
        };
        let o = call("10s", function);
        assert_exit(&o, 0);
        assert_eq!(stdout(&o), expected);
        writer.join().unwrap();
    }
}

/// Finding 9: the resources an instance holds are bounded: a guest that
/// opens files and never closes them is stopped at the bound with a
/// message naming it, and one below it runs.
#[test]
fn finding_09_resources_an_instance_holds_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), "x").unwrap();
    let grant = format!("{}::/d", dir.path().display());
    let hold = |n: &str| {
        run(&[
            "run",
            "--ro-dir",
            &grant,
            guest(LEGACY),
            "fs",
            "hold",
            "/d/f.txt",
            n,
        ])
    };
    let o = hold("3000");
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "hold /d/f.txt 3000 -> held 3000\n");
    let o = hold("5000");
    assert_exit(&o, 3);
    assert_eq!(
        stderr(&o),
        "error: the component held more than 4096 resources (open files, directory streams, sockets, streams) at once\n"
    );
}

/// Finding 12: exit codes pass through where WASI carries them
/// (`exit-with-code`, preview1's `proc_exit`), and a preview1 status
/// outside 0..=255 is one line and exit 1, not a backtrace and exit 2.
#[test]
fn finding_12_exit_codes_pass_through_where_wasi_carries_them() {
    let o = run(&["run", guest(LEGACY), "exit-code", "7"]);
    assert_exit(&o, 7);
    // Rust's `exit(7)` on wasm32-wasip2 reports only failure.
    let o = run(&["run", guest(LEGACY), "exit", "7"]);
    assert_exit(&o, 1);
    for code in ["126", "255"] {
        let o = run(&["run", guest(HELLO_P1), code]);
        assert_exit(&o, code.parse().unwrap());
        assert_eq!(stderr(&o), "");
    }
    for (code, status) in [("256", "256"), ("-1", "-1")] {
        let o = run(&["run", guest(HELLO_P1), code]);
        assert_exit(&o, 1);
        assert_eq!(
            stderr(&o),
            format!(
                "error: the component exited with status {status}, which is no exit code (0 to 255)\n"
            )
        );
    }
}

/// Finding 13: memory exhausted without `--max-memory` names the limit
/// actually hit.
#[test]
fn finding_13_out_of_memory_names_the_limit_hit() {
    let o = run(&["run", guest(KITCHEN), "--invoke", "hog", "5000"]);
    assert_exit(&o, 3);
    assert_eq!(
        stderr(&o),
        "error: the component needed more memory than a wasm memory can hold (4 GiB for 32-bit memories, or the maximum the component declares)\n"
    );
    let o = run(&[
        "run",
        "--max-memory",
        "16MiB",
        guest(KITCHEN),
        "--invoke",
        "hog",
        "64",
    ]);
    assert_exit(&o, 3);
    assert_eq!(
        stderr(&o),
        "error: the component needed more memory than --max-memory allows\n"
    );
}

/// Finding 15: two directories at one guest path, or an empty guest path,
/// are refused before the run.
#[test]
fn finding_15_duplicate_and_empty_guest_paths_are_refused() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (a, b) = (a.path().to_str().unwrap(), b.path().to_str().unwrap());
    let o = run(&[
        "run",
        "--ro-dir",
        &format!("{a}::/g"),
        "--ro-dir",
        &format!("{b}::/g/"),
        guest(LEGACY),
        "cat",
        "/g/x",
    ]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        format!(
            "error: invalid `--ro-dir {b}::/g/`: guest path `/g/` is granted twice: give each directory its own\n"
        )
    );
    let o = run(&[
        "run",
        "--dir",
        &format!("{a}::"),
        guest(LEGACY),
        "cat",
        "/x",
    ]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        format!("error: invalid `--dir {a}::`: the guest path is empty: write HOST::/PATH\n")
    );
    // A guest path written after `::` must be absolute (a bare `--dir d`
    // keeps wasmtime's convention).
    for spec in [format!("{a}::data"), format!("{a}::./data")] {
        let o = run(&["run", "--ro-dir", &spec, guest(LEGACY), "cat", "/x"]);
        assert_exit(&o, 2);
        assert_eq!(
            stderr(&o),
            format!(
                "error: invalid `--ro-dir {spec}`: the guest path `data` is not absolute: write HOST::/data\n"
            )
        );
    }
    let o = run(&[
        "run",
        "--dir",
        &format!("{a}::/v"),
        "--vfs",
        &format!("{b}::/v"),
        guest(LEGACY),
        "cat",
        "/v/x",
    ]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("guest path `/v` is granted twice"),
        "{}",
        stderr(&o)
    );
}

/// Finding 10: a compiled entry corrupted in the cache (its code
/// overwritten, its header intact) is compiled again, not run.
#[test]
fn finding_10_a_corrupted_cache_entry_is_compiled_again() {
    let cache = tempfile::tempdir().unwrap();
    let with_cache = |args: &[&str]| run_cached(cache.path(), args);
    assert_exit(&with_cache(&["compile", guest(KITCHEN)]), 0);
    let entry = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    let mut bytes = std::fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 4096] {
        *b = 0xcc; // int3
    }
    std::fs::write(&entry, &bytes).unwrap();
    let o = with_cache(&["-v", "run", guest(KITCHEN), "--invoke", "add", "1", "1"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "2\n");
    assert!(
        stderr(&o).contains("is unusable, compiling again: its contents do not match its digest"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("cache=Stored"), "{}", stderr(&o));
}

/// Finding 11: a `list<u8>` result past what `nanopod run` copies in one
/// call names that limit and points to streams, instead of wasmtime's
/// "fuel allocated for hostcalls has been exhausted".
#[test]
fn finding_11_a_byte_list_result_past_the_limit_names_it() {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("big.bin");
    let o = run(&[
        "run",
        guest(KITCHEN),
        "--invoke",
        "repeat",
        "65",
        "70000000",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: the component's values are larger than the 64 MiB `nanopod run` copies in one call; take and return stream<u8> for data this large\n"
    );
    assert!(!file.exists(), "no output written");
}

/// Sends `request` as it is and returns the status of the reply.
fn raw_status(addr: &str, request: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    conn.write_all(request).unwrap();
    let mut reply = Vec::new();
    let _ = conn.read_to_end(&mut reply);
    let text = String::from_utf8_lossy(&reply);
    text.get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

/// Finding 14: behind a middleware, the app's timeout is still 504; odd
/// requests (`OPTIONS *`, `Host: a b c`, a malformed chunked body) get
/// 400, and no middleware panics on them.
#[test]
fn finding_14_timeouts_behind_middlewares_are_504_and_odd_requests_400() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pod.toml"),
        format!(
            "[serve]\nchain = [\"log\", \"app\"]\n\
             [components.log]\nfile = \"{}\"\n\
             [components.app]\nfile = \"{}\"\ngrants = {{ timeout = \"300ms\" }}\n",
            guest(test_programs_artifacts::HTTP_LOG),
            guest(test_programs_artifacts::HTTP_APP)
        ),
    )
    .unwrap();
    let manifest = dir.path().join("pod.toml");
    let server = Server::serve(&[manifest.to_str().unwrap()], Some(dir));
    let (status, _) = server.get("/slow?ms=5000", &[]);
    assert_eq!(status, 504);
    let (status, _) = server.get("/items", &[]);
    assert_eq!(status, 200);
    let addr = server.addr.clone();
    assert_eq!(
        raw_status(
            &addr,
            b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ),
        400
    );
    assert_eq!(
        raw_status(
            &addr,
            b"GET /items HTTP/1.1\r\nHost: a b c\r\nConnection: close\r\n\r\n"
        ),
        400
    );
    let chunked = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nnot hex\r\n0\r\n\r\n";
    assert_eq!(raw_status(&addr, chunked), 400);
    assert!(
        !server.log().contains("panicked"),
        "a component panicked:\n{}",
        server.log()
    );
    let (status, _) = server.get("/items", &[]);
    assert_eq!(status, 200);
}

/// Finding 3 (outputs): a run killed mid-write (SIGKILL, SIGTERM, SIGINT)
/// leaves no partial `-o` file, named or hidden, and the existing file as
/// it was: the output has no name until it is committed.
#[test]
fn finding_03_a_killed_run_leaves_no_partial_output_behind() {
    use std::io::Write;
    for signal in ["KILL", "TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.txt");
        std::fs::write(&out, "before").unwrap();
        let mut child = nanopod()
            .args([
                "run",
                guest(test_programs_artifacts::UPPER),
                "-",
                "-o",
                out.to_str().unwrap(),
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // The output is being written while stdin stays open.
        for _ in 0..64 {
            stdin.write_all(&[b'a'; 16 << 10]).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let killed = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert!(!status.success(), "{signal}: {status:?}");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["out.txt"], "{signal}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "before", "{signal}");
        drop(stdin);
    }
}

/// Finding 18: a guest cannot leave a symlink on the host disk that points
/// out of its `--dir` grant (other host tools would follow it): a target
/// that is absolute or has a `..` is refused (EPERM) and nothing is
/// created; a link that points down from where it is still works.
#[test]
fn finding_18_symlinks_a_guest_creates_stay_inside_the_grant() {
    let dir = tempfile::tempdir().unwrap();
    let grant_dir = dir.path().join("grant");
    std::fs::create_dir_all(grant_dir.join("sub")).unwrap();
    std::fs::write(grant_dir.join("sub/inside.txt"), "in").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
    let grant = format!("{}::/d", grant_dir.display());
    let o = run(&[
        "run",
        "--dir",
        &grant,
        guest(LEGACY),
        "fs",
        "ln",
        "../secret.txt",
        "/d/up",
        ",",
        "ln",
        "/etc/passwd",
        "/d/abs",
        ",",
        "ln",
        "sub/../../secret.txt",
        "/d/around",
        ",",
        "ln",
        "sub/inside.txt",
        "/d/down",
        ",",
        "read",
        "/d/down",
    ]);
    assert_exit(&o, 0);
    assert_eq!(
        stdout(&o),
        "ln ../secret.txt /d/up -> error: not-permitted\n\
         ln /etc/passwd /d/abs -> error: not-permitted\n\
         ln sub/../../secret.txt /d/around -> error: not-permitted\n\
         ln sub/inside.txt /d/down -> ok\n\
         read /d/down -> \"in\"\n"
    );
    for refused in ["up", "abs", "around"] {
        assert!(
            std::fs::symlink_metadata(grant_dir.join(refused)).is_err(),
            "`{refused}` was created"
        );
    }
    assert_eq!(
        std::fs::read_link(grant_dir.join("down")).unwrap(),
        std::path::Path::new("sub/inside.txt")
    );
}

/// Finding 18 for WASI 0.3: `symlink-at` (nanopod's guard over
/// wasmtime-wasi's p3 filesystem) refuses a target that leaves the grant
/// and creates nothing; a link inside is made.
#[test]
fn finding_18_wasi_0_3_symlinks_stay_inside_the_grant() {
    let dir = tempfile::tempdir().unwrap();
    let grant_dir = dir.path().join("grant");
    std::fs::create_dir(&grant_dir).unwrap();
    std::fs::write(grant_dir.join("inside.txt"), "in").unwrap();
    let grant = format!("{}::/d", grant_dir.display());
    let ln = |target: &str, link: &str| {
        let o = run(&[
            "run",
            "--dir",
            &grant,
            guest(test_programs_artifacts::P3_HELLO),
            "ln",
            target,
            link,
        ]);
        assert_exit(&o, 0);
        stdout(&o)
    };
    assert_eq!(ln("../outside", "up"), "error: not-permitted\n");
    assert_eq!(ln("a/../../outside", "around"), "error: not-permitted\n");
    assert_eq!(ln("/etc/passwd", "abs"), "error: not-permitted\n");
    assert_eq!(ln("inside.txt", "down"), "ok\n");
    for refused in ["up", "around", "abs"] {
        assert!(
            std::fs::symlink_metadata(grant_dir.join(refused)).is_err(),
            "`{refused}` was created"
        );
    }
    assert_eq!(
        std::fs::read_link(grant_dir.join("down")).unwrap(),
        std::path::Path::new("inside.txt")
    );
}

/// Finding 18 for preview1 modules: `path_symlink` refuses a target out
/// of the grant with EPERM (63) and creates nothing; one inside is made.
#[test]
fn finding_18_preview1_symlinks_stay_inside_the_grant() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("ln.wasm");
    let grant_dir = dir.path().join("grant");
    std::fs::create_dir(&grant_dir).unwrap();
    let grant = format!("{}::/d", grant_dir.display());
    // `path_symlink(TARGET, fd 3 (the first preopen), "link")`; exits
    // with its errno.
    let wat = |target: &str| {
        format!(
            r#"(module
              (import "wasi_snapshot_preview1" "path_symlink"
                (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
              (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
              (memory (export "memory") 1)
              (data (i32.const 16) "link")
              (data (i32.const 32) "{target}")
              (func (export "_start")
                (call $exit (call $symlink (i32.const 32) (i32.const {len})
                                           (i32.const 3) (i32.const 16) (i32.const 4)))))"#,
            len = target.len()
        )
    };
    for (target, code) in [("../outside", 63), ("/abs", 63), ("inside", 0)] {
        std::fs::write(&module, wat::parse_str(wat(target)).unwrap()).unwrap();
        let o = run(&["run", "--dir", &grant, module.to_str().unwrap()]);
        assert_exit(&o, code);
        let made = std::fs::read_link(grant_dir.join("link")).ok();
        assert_eq!(made.is_some(), code == 0, "{target}: {made:?}");
    }
}
