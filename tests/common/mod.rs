//! Running the binary under test, with a private compile cache: what the
//! integration tests (`tests/all`) and the golden cases (`tests/golden.rs`)
//! share. Each binary uses a part of it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
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

/// Runs `nanopod ARGS` with the compile cache in `cache`.
pub(crate) fn run_cached(cache: &Path, args: &[&str]) -> Output {
    nanopod()
        .env("NANOPOD_CACHE_DIR", cache)
        .args(args)
        .output()
        .expect("spawn nanopod")
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

pub(crate) use test_support::free_port;

/// Starts `nanopod run FLAGS legacy.wasm listen ADDR` on a free loopback
/// address and waits until the guest listens: (the process, ADDR).
pub(crate) fn legacy_listening(legacy: &str, flags: &[&str]) -> (Child, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = nanopod()
        .args(["run", "--allow-listen", &addr])
        .args(flags)
        .args([legacy, "listen", &addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nanopod");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "listening\n");
    (child, addr)
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
    dir: Option<tempfile::TempDir>,
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
            dir,
        }
    }

    /// The directory it was started with, if any.
    pub(crate) fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|d| d.path())
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

/// A running `nanopod serve`.
pub(crate) type Server = Daemon;

impl Daemon {
    /// Starts `nanopod serve ARGS --listen 127.0.0.1:0` and waits for its
    /// address.
    pub(crate) fn serve(args: &[&str], dir: Option<tempfile::TempDir>) -> Server {
        Daemon::start("serve", args, "127.0.0.1:0", "http://", dir)
    }

    /// `GET path` with `headers`: (status, body).
    pub(crate) fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let reply = http(&self.addr, "GET", path, headers, b"");
        (reply.status, reply.body)
    }
}

/// A loopback HTTP origin that answers `200 ok` to up to `requests`
/// requests (for 20 s at most), then returns how many it answered.
pub(crate) fn http_origin(requests: usize) -> (String, std::thread::JoinHandle<usize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut answered = 0;
        while answered < requests && std::time::Instant::now() < deadline {
            if let Ok((mut s, _)) = listener.accept() {
                s.set_nonblocking(false).unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
                answered += 1;
                continue;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        answered
    });
    (addr, handle)
}

/// What an HTTP request got back.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The status code.
    pub(crate) status: u16,
    /// The headers, names lower-case, in order.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub(crate) body: String,
}

impl Reply {
    /// The first value of header `name`.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a connection of its own.
pub(crate) fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    conn.write_all(format!("{req}\r\n").as_bytes()).unwrap();
    conn.write_all(body).unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text[9..12].parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        unchunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// `npm install PACKAGES` in `dir` (a fresh `package.json` if it has
/// none), from the npm registry. `scripts/test.sh` installs npm.
pub(crate) fn npm_install(dir: &Path, packages: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    if !dir.join("package.json").exists() {
        std::fs::write(dir.join("package.json"), "{\"private\": true}\n").unwrap();
    }
    let status = Command::new("npm")
        .current_dir(dir)
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--save-dev",
        ])
        .args(packages)
        .status()
        .expect("npm is not installed: run scripts/test.sh, or install nodejs and npm");
    assert!(status.success(), "npm install {packages:?} failed");
}

/// Serves `filter` (a chain member's `file`, with `settings` lines) in
/// front of the JSON app.
pub(crate) fn serve_in_front_of_the_app(filter: &Path, settings: &str) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("pod.toml");
    std::fs::write(
        &pod,
        format!(
            "[serve]\nchain = [\"filter\", \"app\"]\n\
             [components.filter]\nfile = \"{}\"\n{settings}\n\
             [components.app]\nfile = \"{}\"\n",
            filter.display(),
            test_programs_artifacts::HTTP_APP
        ),
    )
    .unwrap();
    Daemon::serve(&[pod.to_str().unwrap()], Some(dir))
}

/// What the API-key component filters of `tests/fixtures/*-filter`
/// (one per language) do in front of the app: without `x-api-key: KEY`
/// they answer 401 with "LANGUAGE says: no key"; with it the app sees
/// `x-filtered-by: LANGUAGE` and the count of requests the instance has
/// seen (`x-SHORT-seen`), and the client `x-SHORT-method`.
pub(crate) fn assert_the_key_filter_in(language: &str, short: &str, key: &str, filter: &Path) {
    let server = serve_in_front_of_the_app(filter, "");
    let get = |headers: &[(&str, &str)]| http(&server.addr, "GET", "/headers", headers, b"");
    // The filter answers itself without the key; the app is never reached.
    let refused = get(&[]);
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(refused.body, format!("{language} says: no key\n"));
    // With it, the app sees the filter's headers and the client its stamp.
    let passed = get(&[("x-api-key", key)]);
    assert_eq!(passed.status, 200, "{passed:?}");
    let body = &passed.body;
    assert!(
        body.contains(&format!("x-filtered-by: {language}\n")),
        "{body}"
    );
    assert!(body.contains(&format!("x-{short}-seen: 2\n")), "{body}");
    assert_eq!(passed.header(&format!("x-{short}-method")), Some("get"));
    // Its module state is kept: the instance is reused.
    let again = get(&[("x-api-key", key)]);
    assert!(
        again.body.contains(&format!("x-{short}-seen: 3\n")),
        "{}",
        again.body
    );
}
