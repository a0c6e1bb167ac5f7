//! The shim under the real thing: Debian's containerd and `ctr`, started
//! by each test with a private root; images built here and imported, run
//! with `ctr run --runtime io.containerd.nanopod.v1`. Needs root (as CI
//! runs).

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::{Containerd, text, wasm_layer_image};
use test_programs_artifacts::{HELLO_P1, HTTP_APP, HTTP_LOG, KITCHEN, LEGACY};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// containerd with the `legacy` command imported as `legacy:1`.
fn with_legacy() -> Containerd {
    let ctd = Containerd::start();
    ctd.import_files("legacy:1", &[("app.wasm", &read(LEGACY))], &["/app.wasm"]);
    ctd
}

#[test]
fn a_command_gets_its_args_env_and_mounts_and_its_exit_code_is_the_tasks() {
    let ctd = with_legacy();
    let out = ctd.run(
        &[],
        "legacy:1",
        "echo",
        &["/app.wasm", "echo", "hello", "pods"],
    );
    assert_eq!(text(&out.stdout), "hello pods\n", "{}", text(&out.stderr));
    assert!(out.status.success());

    let out = ctd.run(
        &["--env", "GREETING=hi"],
        "legacy:1",
        "env",
        &["/app.wasm", "env", "GREETING"],
    );
    assert_eq!(text(&out.stdout), "hi\n", "{}", text(&out.stderr));
    // Variables that configure the shim are not the guest's.
    let out = ctd.run(
        &["--env", "NANOPOD_LISTEN=9"],
        "legacy:1",
        "env2",
        &["/app.wasm", "env", "NANOPOD_LISTEN"],
    );
    assert!(!out.status.success(), "{}", text(&out.stdout));

    let out = ctd.run(&[], "legacy:1", "exit", &["/app.wasm", "exit-code", "7"]);
    assert_eq!(out.status.code(), Some(7));

    let data = ctd.scratch().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("in.txt"), "mounted\n").unwrap();
    let ro = format!(
        "type=bind,src={},dst=/data,options=rbind:ro",
        data.display()
    );
    let out = ctd.run(
        &["--mount", &ro],
        "legacy:1",
        "cat",
        &["/app.wasm", "cat", "/data/in.txt"],
    );
    assert_eq!(text(&out.stdout), "mounted\n", "{}", text(&out.stderr));
    let out = ctd.run(
        &["--mount", &ro],
        "legacy:1",
        "ro",
        &["/app.wasm", "write", "/data/out.txt", "x"],
    );
    assert!(!out.status.success());
    assert!(
        !data.join("out.txt").exists(),
        "a read-only mount is granted read-only"
    );
    let rw = format!(
        "type=bind,src={},dst=/data,options=rbind:rw",
        data.display()
    );
    let out = ctd.run(
        &["--mount", &rw],
        "legacy:1",
        "rw",
        &["/app.wasm", "write", "/data/out.txt", "written"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(data.join("out.txt")).unwrap(),
        "written"
    );
}

#[test]
fn a_preview1_module_runs_as_a_command() {
    let ctd = Containerd::start();
    ctd.import_files("p1:1", &[("hello.wasm", &read(HELLO_P1))], &["/hello.wasm"]);
    let out = ctd.run(&[], "p1:1", "p1", &["/hello.wasm", "5", "from", "ctr"]);
    assert_eq!(
        text(&out.stdout),
        "hello from preview1: 5 from ctr\n",
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn the_kernels_trees_and_the_rootfs_are_not_granted() {
    let ctd = with_legacy();
    for path in [
        "/proc/self/mem",
        "/proc/self/environ",
        "/sys/kernel/hostname",
        "/app.wasm",
    ] {
        let out = ctd.run(&[], "legacy:1", "deny", &["/app.wasm", "cat", path]);
        assert!(!out.status.success(), "{path} was readable");
        assert!(
            text(&out.stderr).contains("cannot read"),
            "{}",
            text(&out.stderr)
        );
    }
    // containerd's default spec mounts a scratch tmpfs at /run: not a grant.
    let out = ctd.run(
        &[],
        "legacy:1",
        "run",
        &["/app.wasm", "write", "/run/x", "y"],
    );
    assert!(!out.status.success(), "/run was writable");
}

#[test]
fn a_typed_function_runs_and_a_trap_gives_the_task_a_nonzero_exit() {
    let ctd = Containerd::start();
    ctd.import_files("kitchen:1", &[("app.wasm", &read(KITCHEN))], &["/app.wasm"]);
    let out = ctd.run(
        &[],
        "kitchen:1",
        "divide",
        &["/app.wasm", "--invoke", "divide", "6", "3"],
    );
    assert_eq!(text(&out.stdout), "2\n", "{}", text(&out.stderr));
    // `#F` after the file names the function, as runwasi's shims take it.
    let out = ctd.run(&[], "kitchen:1", "crash", &["/app.wasm#crash", "boom"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the component trapped"),
        "{}",
        text(&out.stderr)
    );
    let out = ctd.run(
        &[],
        "kitchen:1",
        "bad",
        &["/app.wasm", "--invoke", "divide", "six", "3"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn an_image_that_is_not_wasm_is_refused() {
    let ctd = Containerd::start();
    ctd.import_files("text:1", &[("app.wasm", b"not wasm")], &["/app.wasm"]);
    let out = ctd.run(&[], "text:1", "text", &[]);
    assert!(!out.status.success());
    let out = ctd.run(&[], "text:1", "missing", &["/nothing.wasm"]);
    assert!(!out.status.success());
}

/// `ctr run` of a served image, in the background, once it says where it
/// serves; `ctr task kill` stops it, and its exit status is the task's.
fn serve_until_killed(ctd: &Containerd, image: &str, id: &str, path: &str) -> (String, i32) {
    let port = test_support::free_port();
    let listen = format!("NANOPOD_LISTEN=127.0.0.1:{port}");
    let mut child = ctd
        .run_command(&["--net-host", "--env", &listen], image, id, &[])
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("{image} never served:\n{}", ctd.log()));
        if line.contains("serving") {
            break;
        }
    }
    let curl = std::process::Command::new("curl")
        .args(["-s", "-i", &format!("http://127.0.0.1:{port}{path}")])
        .output()
        .unwrap();
    let kill = ctd.ctr(&["task", "kill", id]).output().unwrap();
    assert!(kill.status.success(), "{}", text(&kill.stderr));
    let status = child.wait().unwrap();
    let said: Vec<String> = rx.try_iter().collect();
    assert!(
        said.iter().any(|l| l.contains("shutting down")),
        "not a graceful stop: {said:?}"
    );
    (text(&curl.stdout), status.code().unwrap_or(-1))
}

#[test]
fn a_served_component_answers_curl_and_stops_gracefully_on_task_kill() {
    let ctd = Containerd::start();
    ctd.import_files("http:1", &[("app.wasm", &read(HTTP_APP))], &["/app.wasm"]);
    let (reply, code) = serve_until_killed(&ctd, "http:1", "http", "/items");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("items"), "{reply}");
    assert_eq!(code, 0, "a graceful stop exits 0");
}

#[test]
fn a_pod_in_the_image_is_served_with_its_chain() {
    let ctd = Containerd::start();
    let manifest = "[serve]\nchain = [\"log\", \"app\"]\n\
                    [components.log]\nfile = \"log.wasm\"\n\
                    [components.app]\nfile = \"app.wasm\"\n";
    ctd.import_files(
        "pod:1",
        &[
            ("pod/pod.toml", manifest.as_bytes()),
            ("pod/log.wasm", &read(HTTP_LOG)),
            ("pod/app.wasm", &read(HTTP_APP)),
        ],
        &["/pod/pod.toml"],
    );
    let (reply, code) = serve_until_killed(&ctd, "pod:1", "pod", "/items");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        reply.contains("log"),
        "the request passed the log middleware: {reply}"
    );
    assert_eq!(code, 0);
}

#[test]
fn an_artifact_layer_is_precompiled_once_into_the_content_store() {
    let ctd = Containerd::start();
    let archive = ctd.scratch().join("artifact.tar");
    wasm_layer_image(&archive, "artifact:1", &read(LEGACY), &["legacy.wasm"]);
    ctd.import(&archive);
    let precompiled = || {
        let out = ctd.ctr(&["content", "ls"]).output().unwrap();
        text(&out.stdout)
            .matches("runwasi.io/precompiled/nanopod/")
            .count()
    };
    assert_eq!(precompiled(), 0);
    let flags = ["--platform", "wasip2/wasm"];
    let out = ctd.run(
        &flags,
        "artifact:1",
        "first",
        &["legacy.wasm", "echo", "first"],
    );
    assert_eq!(
        text(&out.stdout),
        "first\n",
        "{}\n{}",
        text(&out.stderr),
        ctd.log()
    );
    let labels = precompiled();
    assert!(labels > 0, "no precompiled layer in the content store");
    let out = ctd.run(
        &flags,
        "artifact:1",
        "second",
        &["legacy.wasm", "echo", "second"],
    );
    assert_eq!(text(&out.stdout), "second\n", "{}", text(&out.stderr));
    assert_eq!(precompiled(), labels, "compiled once, not again");
}
