//! Running the binary under test, with a private compile cache: what the
//! integration tests (`tests/all`) and the golden cases (`tests/golden.rs`)
//! share. Each binary uses a part of it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The compile cache shared by this test run (compiling once keeps the
/// suite fast; `inspect::cache_*` tests use their own).
pub(crate) fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("nanopod-test-cache")
}

/// `nanopod` with the test cache and no inherited RUST_LOG.
pub(crate) fn nanopod() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nanopod"));
    cmd.env("NANOPOD_CACHE_DIR", cache_dir())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

/// Runs `nanopod ARGS` and returns its output.
pub(crate) fn run(args: &[&str]) -> Output {
    nanopod().args(args).output().expect("spawn nanopod")
}

/// Runs `nanopod ARGS` with `input` on stdin.
pub(crate) fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = nanopod()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nanopod");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Stdout as text.
pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing both streams on failure.
#[track_caller]
pub(crate) fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// `dir` packed with `tar -cf` into `corpus.tar` in a new directory.
pub(crate) fn tar_of(dir: &Path) -> (tempfile::TempDir, PathBuf) {
    let archive_dir = tempfile::tempdir().unwrap();
    let archive = archive_dir.path().join("corpus.tar");
    let status = Command::new("tar")
        .arg("-cf")
        .arg(&archive)
        .arg("-C")
        .arg(dir)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success(), "tar failed");
    (archive_dir, archive)
}

/// A guest's path as a `&str`.
pub(crate) fn guest(path: &'static str) -> &'static str {
    assert!(Path::new(path).exists(), "guest {path} was not built");
    path
}

/// A running `nanopod serve` or `nanopod export`, killed when dropped.
/// Its stderr is collected so it never blocks on a full pipe.
pub(crate) struct Daemon {
    /// The process.
    pub child: Child,
    /// `host:port` it listens on.
    pub addr: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Starts `nanopod SUBCOMMAND ARGS --listen LISTEN` and waits for the
    /// line that announces its address after `scheme`.
    pub(crate) fn start(
        subcommand: &str,
        args: &[&str],
        listen: &str,
        scheme: &str,
        dir: Option<tempfile::TempDir>,
    ) -> Daemon {
        let mut child = nanopod()
            .arg(subcommand)
            .args(args)
            .args(["--listen", listen])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn nanopod");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let addr = line
            .rsplit_once(scheme)
            .and_then(|(_, a)| a.split_whitespace().next())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Daemon {
            child,
            addr,
            log,
            _dir: dir,
        }
    }

    /// What it has written to stderr after the line with its address.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}
