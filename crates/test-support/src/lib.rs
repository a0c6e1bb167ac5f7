//! Helpers the test suites of the workspace share. Each starts the real
//! program a user would meet, on a free loopback port, and stops it when
//! dropped.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A loopback port nothing listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Waits (up to 5 s) until something accepts connections on loopback
/// `port`; panics naming `program` otherwise.
fn wait_for_port(port: u16, program: &str) {
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{program} did not start on port {port}");
}

/// A `nats-server` on a free loopback port, killed (and reaped) when
/// dropped.
pub struct NatsServer {
    child: Child,
    port: u16,
    /// JetStream's storage, removed with the server.
    _store: Option<tempfile::TempDir>,
}

impl NatsServer {
    /// Starts `nats-server` and waits until it accepts connections.
    pub fn start() -> NatsServer {
        Self::launch(None)
    }

    /// Starts `nats-server -js` (JetStream, for key-value buckets) with its
    /// storage in a fresh temporary directory.
    pub fn start_jetstream() -> NatsServer {
        Self::launch(Some(tempfile::tempdir().expect("a temporary directory")))
    }

    fn launch(store: Option<tempfile::TempDir>) -> NatsServer {
        let port = free_port();
        let mut command = Command::new("nats-server");
        command.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
        if let Some(dir) = &store {
            command.arg("-js").arg("-sd").arg(dir.path());
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is needed: `apt-get install nats-server` (scripts/test.sh installs it)");
        // Dropping the server kills and reaps it, also on the panic below.
        let server = NatsServer {
            child,
            port,
            _store: store,
        };
        wait_for_port(port, "nats-server");
        server
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's `docker-registry` (the CNCF distribution registry) on a free
/// loopback port with its storage in a temporary directory; killed (and
/// reaped) when dropped.
pub struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    tls: bool,
}

impl Registry {
    /// A registry speaking plain HTTP, without authentication.
    pub fn start() -> Registry {
        Self::launch(None)
    }

    /// A registry speaking HTTPS with a self-signed certificate for
    /// `127.0.0.1` ([`Registry::ca`]) and requiring basic auth as `user`
    /// with `password`.
    pub fn start_tls_with_auth(user: &str, password: &str) -> Registry {
        Self::launch(Some((user, password)))
    }

    fn launch(auth: Option<(&str, &str)>) -> Registry {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = free_port();
        let root = dir.path();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            root.join("data").display()
        );
        if let Some((user, password)) = auth {
            let tool = |program: &str, args: &[&str]| {
                let out = Command::new(program)
                    .args(args)
                    .current_dir(root)
                    .output()
                    .unwrap_or_else(|e| {
                        panic!("{program} is needed ({e}): scripts/test.sh installs it")
                    });
                assert!(
                    out.status.success(),
                    "{program}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            };
            tool(
                "openssl",
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                    // A server's own certificate, not a CA's: webpki (rustls)
                    // refuses a CA certificate presented by a server.
                    "-addext",
                    "basicConstraints=critical,CA:FALSE",
                    "-addext",
                    "extendedKeyUsage=serverAuth",
                    "-keyout",
                    "key.pem",
                    "-out",
                    "cert.pem",
                ],
            );
            let htpasswd = tool("htpasswd", &["-Bbn", user, password]);
            std::fs::write(root.join("htpasswd"), htpasswd).expect("write htpasswd");
            config.push_str(&format!(
                "  tls:\n    certificate: {0}/cert.pem\n    key: {0}/key.pem\nauth:\n  htpasswd:\n    realm: nanopod-tests\n    path: {0}/htpasswd\n",
                root.display()
            ));
        }
        std::fs::write(root.join("config.yml"), config).expect("write the registry's config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(root.join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry is needed: `apt-get install docker-registry` (scripts/test.sh installs it)");
        let registry = Registry {
            child,
            port,
            dir,
            tls: auth.is_some(),
        };
        wait_for_port(port, "docker-registry");
        registry
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The certificate a TLS registry presents (its own CA).
    pub fn ca(&self) -> Option<std::path::PathBuf> {
        self.tls.then(|| self.dir.path().join("cert.pem"))
    }

    /// The file in the registry's storage holding the blob `sha256:HEX`.
    pub fn blob_file(&self, digest: &str) -> std::path::PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
