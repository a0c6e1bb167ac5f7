//! `stream<u8>` across hosts: the `text-client` app hands streams to an
//! `example:text/filter` import served by `nanopod export` over real
//! loopback TCP, and must see what it sees with the filter in its pod.

use crate::pods::{up, write_pod};
use crate::remote::{dead_addr, export};
use crate::support::*;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{ChildStdin, Stdio};
use std::time::Duration;
use test_programs_artifacts::{TEXT_CLIENT, TEXT_FILTER};

/// The text pod with its filter in the pod (`link` None) or at `link`.
fn text_pod(link: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    text_pod_with_timeout(link, "20s")
}

/// [`text_pod`] with the remote link's `timeout`.
fn text_pod_with_timeout(link: Option<&str>, timeout: &str) -> (tempfile::TempDir, PathBuf) {
    let (filter, target) = match link {
        None => (
            format!("[components.filter]\nfile = \"{TEXT_FILTER}\"\n"),
            "to = \"filter\"".to_string(),
        ),
        Some(url) => (
            String::new(),
            format!("remote = \"{url}\"\ntimeout = \"{timeout}\""),
        ),
    };
    write_pod(&format!(
        "entry = \"app\"\n[components.app]\nfile = \"{TEXT_CLIENT}\"\n{filter}\
         [[link]]\nfrom = \"app\"\nimport = \"example:text/filter\"\n{target}\n"
    ))
}

/// `nanopod up POD --invoke FUNC -` with its stdin, stdout and stderr
/// piped; returns it and its stdin.
fn up_reading_stdin(pod: &std::path::Path, func: &str) -> (std::process::Child, ChildStdin) {
    let mut caller = nanopod()
        .args(["up", pod.to_str().unwrap(), "--invoke", func, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = caller.stdin.take().unwrap();
    (caller, stdin)
}

/// Text of `len` bytes: numbered lines of mixed case.
fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = 0;
    while out.len() < len {
        out.extend_from_slice(format!("line {i}: The quick brown fox, {}\n", i * 7).as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

#[test]
fn streams_cross_hosts_and_give_what_the_pod_gives() {
    let filter = export(&[guest(TEXT_FILTER)]);
    let (_l, local) = text_pod(None);
    let (_r, remote) = text_pod(Some(&format!("tcp://{}", filter.addr)));
    let dir = tempfile::tempdir().unwrap();
    // Several frames' worth, not a multiple of the chunk size.
    let input = dir.path().join("in.txt");
    let data = text(5 * 1024 * 1024 + 123);
    std::fs::write(&input, &data).unwrap();
    let input = input.to_str().unwrap();

    for pod in [&local, &remote] {
        let out = dir.path().join("out.txt");
        let o = up(
            pod,
            &["--invoke", "shout", input, "-o", out.to_str().unwrap()],
        );
        assert_exit(&o, 0);
        assert!(std::fs::read(&out).unwrap() == data.to_ascii_uppercase());

        let o = up(pod, &["--invoke", "measure", input]);
        assert_exit(&o, 0);
        assert_eq!(stdout(&o), format!("{}\n", data.len()));

        // A result stream only; and an empty one.
        let o = up(pod, &["--invoke", "fill", "65", "3000001"]);
        assert_exit(&o, 0);
        assert_eq!(o.stdout.len(), 3_000_001);
        assert!(o.stdout.iter().all(|&b| b == b'A'));
        let o = up(pod, &["--invoke", "fill", "65", "0"]);
        assert_exit(&o, 0);
        assert!(o.stdout.is_empty());

        // An empty input.
        let o = run_with_stdin(
            &["up", pod.to_str().unwrap(), "--invoke", "measure", "-"],
            b"",
        );
        assert_exit(&o, 0);
        assert_eq!(stdout(&o), "0\n");
    }
    assert!(
        filter
            .log()
            .contains("\"example:text/filter@0.1.0#upper\" ok"),
        "{}",
        filter.log()
    );
}

#[test]
fn a_remote_stream_flows_before_its_input_has_ended() {
    let filter = export(&[guest(TEXT_FILTER)]);
    let (_r, remote) = text_pod(Some(&format!("tcp://{}", filter.addr)));
    let (mut caller, mut stdin) = up_reading_stdin(&remote, "shout");
    let mut stdout = BufReader::new(caller.stdout.take().unwrap());
    // Each line goes out and comes back upper-cased while stdin stays
    // open: nothing waits for the whole input.
    for word in ["first", "second", "third"] {
        writeln!(stdin, "{word}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line, format!("{}\n", word.to_uppercase()));
    }
    drop(stdin);
    let status = caller.wait().unwrap();
    assert!(status.success());
}

#[test]
fn an_exporter_lost_mid_stream_fails_the_call_and_leaves_no_output() {
    let mut filter = export(&[guest(TEXT_FILTER)]);
    let addr = filter.addr.clone();
    let (_r, remote) = text_pod(Some(&format!("tcp://{addr}")));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    // A terabyte: the call is still streaming when the exporter dies.
    let mut caller = nanopod()
        .args(["up", remote.to_str().unwrap(), "--invoke", "fill", "66"])
        .arg("1000000000000")
        .args(["-o", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        caller.try_wait().unwrap().is_none(),
        "the stream ended early"
    );
    filter.child.kill().unwrap();
    filter.child.wait().unwrap();
    let o = caller.wait_with_output().unwrap();
    assert_exit(&o, 3);
    assert!(
        stderr(&o).contains(&format!(
            "remote link `example:text/filter@0.1.0` → tcp://{addr}:"
        )),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "a half-written output was left behind");
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 0, "temporary files were left behind");
}

#[test]
fn a_caller_that_goes_away_mid_stream_ends_the_exporters_call() {
    let filter = export(&[guest(TEXT_FILTER)]);
    let (_r, remote) = text_pod(Some(&format!("tcp://{}", filter.addr)));
    // `| head -c 1000`: the caller's stdout closes after 1000 bytes of a
    // terabyte, and the caller exits.
    let mut caller = nanopod()
        .args(["up", remote.to_str().unwrap(), "--invoke", "fill", "67"])
        .arg("1000000000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut head = [0u8; 1000];
    std::io::Read::read_exact(caller.stdout.as_mut().unwrap(), &mut head).unwrap();
    assert!(head.iter().all(|&b| b == b'C'));
    drop(caller.stdout.take());
    caller.wait().unwrap();
    // The exporter's guest is told nobody reads its stream any more, and
    // its call ends rather than waiting forever.
    let done = "\"example:text/filter@0.1.0#repeat\" ok";
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !filter.log().contains(done) {
        assert!(
            std::time::Instant::now() < deadline,
            "the exporter's call never ended: {}",
            filter.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_remote_call_that_fails_mid_stream_is_never_passed_off_as_a_short_stream() {
    // The exporter stops the call at its --timeout, after it has sent
    // part of the stream: an error frame follows instead of the end.
    let filter = export(&["--timeout", "1s", guest(TEXT_FILTER)]);
    let (_r, remote) = text_pod(Some(&format!("tcp://{}", filter.addr)));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    let o = up(
        &remote,
        &[
            "--invoke",
            "fill",
            "66",
            "1000000000000",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_exit(&o, 3);
    assert!(
        stderr(&o).contains("remote link `example:text/filter@0.1.0`")
            && stderr(&o).contains("the component ran past its --timeout"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_stream_call_past_the_links_timeout_fails_and_the_exporter_serves_on() {
    let filter = export(&[guest(TEXT_FILTER)]);
    let url = format!("tcp://{}", filter.addr);
    let (_r, pod) = text_pod_with_timeout(Some(&url), "300ms");
    // `count` answers once its input ends, and this input never does.
    let (caller, mut stdin) = up_reading_stdin(&pod, "measure");
    stdin.write_all(b"the input goes on").unwrap();
    let o = caller.wait_with_output().unwrap();
    drop(stdin);
    assert_exit(&o, 3);
    assert!(
        stderr(&o).contains("no answer within 300ms"),
        "{}",
        stderr(&o)
    );
    // The abandoned call does not stop the exporter.
    let o = run_with_stdin(
        &["up", pod.to_str().unwrap(), "--invoke", "measure", "-"],
        b"12345",
    );
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "5\n");
}

#[test]
fn a_stream_call_to_no_exporter_fails_with_the_links_name() {
    let dead = dead_addr();
    let (_r, remote) = text_pod(Some(&format!("tcp://{dead}")));
    let o = run_with_stdin(
        &["up", remote.to_str().unwrap(), "--invoke", "measure", "-"],
        b"some input",
    );
    assert_exit(&o, 3);
    assert!(
        stderr(&o).contains(&format!(
            "remote link `example:text/filter@0.1.0` → tcp://{dead}: cannot connect"
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn streams_over_nats_are_refused_before_anything_runs() {
    let (_r, pod) = text_pod(Some("nats://127.0.0.1:4222/text"));
    let o = up(&pod, &["--invoke", "fill", "65", "3"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(
            "takes or returns a stream<u8>, and streams cross hosts over tcp:// links only"
        ),
        "{}",
        stderr(&o)
    );
}
