//! An exporter on NATS answers a call to a `stream<u8>` function with a
//! reason, not a hang: one NATS request and one reply cannot carry a stream
//! as it is produced. nanopod's own links refuse such a link at load, so
//! only another wRPC peer can send this call; here it is sent by hand, over
//! a real `nats-server`.

mod common;

use nanopod_host::engine::EngineMode;
use nanopod_remote::wire::frame::{self, Frame};
use std::time::Duration;
use test_support::NatsServer;

#[tokio::test(flavor = "multi_thread")]
async fn a_nats_exporter_refuses_a_stream_call_with_a_reason_and_serves_on() {
    let server = NatsServer::start();
    let addr = server.addr();
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
