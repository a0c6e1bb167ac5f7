//! Helpers the test suites of the workspace share. Each starts the real
//! program a user would meet, on a free loopback port, and stops it when
//! dropped.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `nats-server` on a free loopback port, killed (and reaped) when
/// dropped.
pub struct NatsServer {
    child: Child,
    port: u16,
}

impl NatsServer {
    /// Starts `nats-server` and waits until it accepts connections.
    pub fn start() -> NatsServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is needed: `apt-get install nats-server` (scripts/test.sh installs it)");
        // Dropping the server kills and reaps it, also on the panic below.
        let server = NatsServer { child, port };
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
