//! Interoperability with the Bytecode Alliance's own wRPC implementation
//! (the `wrpc-transport` crate): its TCP client calls a nanopod exporter,
//! and a nanopod remote link calls its TCP server, over real loopback;
//! plain values and `stream<u8>` values both ways.

mod common;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use nanopod_host::Grants;
use nanopod_host::engine::{EngineMode, Engines};
use nanopod_host::linker::component_linker;
use nanopod_remote::{Client, Endpoint};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::types::Type;
use wasmtime::component::{Component, Val};
use wrpc_transport::{InvokeExt, ServeExt};

/// How wrpc-transport types a `stream<u8>`.
type ByteStream = std::pin::Pin<Box<dyn futures::Stream<Item = Bytes> + Send>>;

/// A `wrpc-transport` TCP server.
type WrpcServer = wrpc_transport::Server<
    (),
    tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
    tokio::net::tcp::OwnedWriteHalf,
>;

/// A `wrpc-transport` server accepting on a free port; returns it and its
/// address. Functions are added with `serve_values`.
async fn wrpc_server() -> (Arc<WrpcServer>, String) {
    let server = Arc::new(WrpcServer::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let acceptor = server.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (rx, tx) = stream.into_split();
            let _ = acceptor.accept((), tx, tokio::io::BufReader::new(rx)).await;
        }
    });
    (server, addr)
}

/// The guest at `path` exported on a free port; returns its address.
async fn export(path: &str, mode: EngineMode) -> String {
    let at = common::export_on(path, mode, "tcp://127.0.0.1:0").await;
    at.trim_start_matches("tcp://").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrpc_client_calls_a_nanopod_exporter() {
    let addr = export(test_programs_artifacts::KITCHEN, EngineMode::Sync).await;
    let client = wrpc_transport::tcp::Client::from(addr.as_str());
    let no_paths: &[[Option<usize>; 0]; 0] = &[];
    let (sum,): (u32,) = client
        .invoke_values_blocking((), "", "add", (40u32, 2u32), no_paths)
        .await
        .unwrap();
    assert_eq!(sum, 42);
    let (greeting,): (String,) = client
        .invoke_values_blocking(
            (),
            "",
            "greet",
            ("Ada".to_string(), true, Some("Dr".to_string())),
            no_paths,
        )
        .await
        .unwrap();
    assert!(greeting.contains("Ada"), "{greeting}");
    let (ok,): (Result<f64, String>,) = client
        .invoke_values_blocking((), "", "divide", (1.0f64, 4.0f64), no_paths)
        .await
        .unwrap();
    assert_eq!(ok, Ok(0.25));
    let (err,): (Result<f64, String>,) = client
        .invoke_values_blocking((), "", "divide", (1.0f64, 0.0f64), no_paths)
        .await
        .unwrap();
    assert!(err.is_err(), "{err:?}");
    let (total,): (i64,) = client
        .invoke_values_blocking((), "", "sum", (vec![1i64, -5, 1 << 40],), no_paths)
        .await
        .unwrap();
    assert_eq!(total, (1 << 40) - 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrpc_client_streams_bytes_through_a_nanopod_exporter() {
    let addr = export(test_programs_artifacts::TEXT_FILTER, EngineMode::Concurrent).await;
    let client = wrpc_transport::tcp::Client::from(addr.as_str());
    // The input is still open when the call is encoded, so wrpc-transport
    // sends it pending: chunk frames on path [0], then an empty chunk.
    let (mut tx, rx) = futures::channel::mpsc::channel::<Bytes>(4);
    let input: ByteStream = Box::pin(rx);
    let (sent, call) = tokio::join!(
        async move {
            for chunk in ["hello ", "wrpc ", "streams"] {
                tokio::time::sleep(Duration::from_millis(20)).await;
                tx.send(Bytes::from(chunk)).await.unwrap();
            }
        },
        client.invoke_values::<_, _, (ByteStream,), _>(
            (),
            "example:text/filter@0.1.0",
            "upper",
            (input,),
            [[Some(0)]],
        )
    );
    let ((output,), io) = call.unwrap();
    let ((), chunks, io) =
        tokio::join!(async { sent }, output.collect::<Vec<Bytes>>(), async move {
            if let Some(io) = io {
                io.await.unwrap();
            }
        });
    let () = io;
    assert_eq!(chunks.concat(), b"HELLO WRPC STREAMS");

    // A stream sent whole (it had ended when the call was encoded) and an
    // integer result: `count`.
    let input: ByteStream = Box::pin(futures::stream::iter([Bytes::from(vec![7u8; 300_000])]));
    let no_paths: &[[Option<usize>; 0]; 0] = &[];
    let (n,): (u64,) = client
        .invoke_values_blocking((), "example:text/filter@0.1.0", "count", (input,), no_paths)
        .await
        .unwrap();
    assert_eq!(n, 300_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nanopod_link_calls_a_wrpc_server() {
    let (server, addr) = wrpc_server().await;
    let calls = server
        .serve_values::<(u32, u32), (u32,)>("example:calc/ops@0.1.0", "add", Arc::from(vec![]))
        .await
        .unwrap();
    tokio::spawn(async move {
        let mut calls = std::pin::pin!(calls);
        while let Some(Ok(((), (a, b), _, reply))) = calls.next().await {
            reply((a.wrapping_add(b),)).await.unwrap();
        }
    });
    let client = Client::new(
        Endpoint::parse(&format!("tcp://{addr}"), Duration::from_secs(10), None).unwrap(),
    );
    // The wRPC server closes every connection after one call, sometimes
    // after the client has already checked the pooled one: each call must
    // still succeed, on a new connection.
    for (a, b) in (0..20u32).map(|i| (i, 40 * i)) {
        let results = client
            .call(
                "example:calc/ops@0.1.0",
                "add",
                (&[Val::U32(a), Val::U32(b)], &[Type::U32, Type::U32]),
                &[Type::U32],
            )
            .await
            .unwrap();
        assert_eq!(results, [Val::U32(a + b)]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nanopod_link_streams_bytes_through_a_wrpc_server() {
    use nanopod_host::io::{InputSource, OutputConsumer, OutputTarget};
    use nanopod_remote::{RemoteImports, RemoteLink};
    use wasmtime::component::{StreamAny, StreamReader};

    // A wrpc-transport server of `example:text/filter#upper`, its stream
    // parameter announced as pending on path [0].
    let (server, addr) = wrpc_server().await;
    let calls = server
        .serve_values::<(ByteStream,), (ByteStream,)>(
            "example:text/filter@0.1.0",
            "upper",
            Arc::from([Box::from([Some(0)])]),
        )
        .await
        .unwrap();
    tokio::spawn(async move {
        let mut calls = std::pin::pin!(calls);
        while let Some(Ok(((), (input,), receiving, reply))) = calls.next().await {
            if let Some(receiving) = receiving {
                tokio::spawn(receiving);
            }
            let output: ByteStream =
                Box::pin(input.map(|chunk| Bytes::from(chunk.to_ascii_uppercase())));
            tokio::spawn(reply((output,)));
        }
    });

    // `text-client`'s `shout`, its import linked to that server.
    let engines = Engines::pooled();
    let engine = engines.get(EngineMode::Concurrent).unwrap().clone();
    let component = Component::from_file(&engine, test_programs_artifacts::TEXT_CLIENT).unwrap();
    let mut linker = component_linker(&engine, EngineMode::Concurrent).unwrap();
    let link = RemoteLink {
        import: "example:text/filter".into(),
        endpoint: Endpoint::parse(&format!("tcp://{addr}"), Duration::from_secs(10), None).unwrap(),
    };
    RemoteImports::bind(&engine, &component, &[link])
        .unwrap()
        .add_to_linker(&mut linker)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input: Vec<u8> = (0..300_000u32)
        .map(|i| b"abcxyz\n"[i as usize % 7])
        .collect();
    std::fs::write(dir.path().join("in"), &input).unwrap();
    let out_path = dir.path().join("out");

    let mut store = engine
        .store(&Grants::new(), nanopod_host::Deadline::NONE)
        .unwrap();
    let instance = linker
        .instantiate_async(&mut store, &component)
        .await
        .unwrap();
    let shout = instance.get_func(&mut store, "shout").unwrap();
    let source = InputSource::open(&dir.path().join("in")).unwrap();
    let reader = StreamReader::new(&mut store, source.into_producer()).unwrap();
    let param = Val::Stream(StreamAny::try_from_stream_reader(&mut store, reader).unwrap());
    let out = Arc::new(std::sync::Mutex::new(
        OutputTarget::create(Some(out_path.as_path())).unwrap(),
    ));
    let sink = out.clone();
    store
        .run_concurrent(async move |acc| -> wasmtime::Result<()> {
            let mut results = [Val::Bool(false)];
            shout.call_concurrent(acc, &[param], &mut results).await?;
            let [Val::Stream(output)] = results else {
                panic!("shout returned {results:?}")
            };
            let (consumer, done) = OutputConsumer::new(sink);
            acc.with(|mut access| {
                output
                    .try_into_stream_reader::<u8>()?
                    .pipe(&mut access, consumer)
            })?;
            done.wait().await.map_err(wasmtime::Error::from_anyhow)?;
            Ok(())
        })
        .await
        .unwrap()
        .unwrap();
    Arc::try_unwrap(out)
        .ok()
        .unwrap()
        .into_inner()
        .unwrap()
        .commit()
        .unwrap();
    assert!(std::fs::read(&out_path).unwrap() == input.to_ascii_uppercase());
}
