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
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nats-server did not start on port {port}");
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
