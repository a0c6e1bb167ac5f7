//! An exporter on NATS answers a call to a `stream<u8>` function with a
//! reason, not a hang: one NATS request and one reply cannot carry a stream
//! as it is produced. nanopod's own links refuse such a link at load, so
//! only another wRPC peer can send this call; here it is sent by hand, over
//! a real `nats-server`.

mod common;

use nanopod_host::engine::EngineMode;
use nanopod_remote::frame::{self, Frame};
use std::time::Duration;

/// A `nats-server` on a free loopback port, killed when dropped.
struct NatsServer(std::process::Child);

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a `nats-server`; returns it and its `host:port`.
async fn nats_server() -> (NatsServer, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = NatsServer(
        std::process::Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server is needed: `apt-get install nats-server` (scripts/test.sh installs it)"),
    );
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return (server, addr);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nats-server did not start on {addr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nats_exporter_refuses_a_stream_call_with_a_reason_and_serves_on() {
    let (_server, addr) = nats_server().await;
    common::export_on(
        test_programs_artifacts::TEXT_FILTER,
        EngineMode::Concurrent,
        &format!("nats://{addr}/text"),
    )
    .await;

    let client = async_nats::connect(&addr).await.unwrap();
    // `upper(input: stream<u8>)` with its stream pending, as wRPC sends it.
    let mut call = Vec::new();
    frame::put_header(&mut call, "example:text/filter@0.1.0", "upper");
    frame::put_frame(&mut call, &[], &[0]);
    for _ in 0..2 {
        let reply = tokio::time::timeout(
            Duration::from_secs(10),
            client.request("text", call.clone().into()),
        )
        .await
        .expect("the exporter answers at once")
        .unwrap();
        let Frame { path, data } = frame::read_frame(&mut &reply.payload[..])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(path, [frame::ERROR_PATH], "an error frame");
        assert_eq!(
            String::from_utf8(data).unwrap(),
            "`example:text/filter@0.1.0#upper` takes or returns a stream<u8>, and streams cross hosts over tcp:// only"
        );
    }
}
