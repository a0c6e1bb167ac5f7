//! Helpers shared by the integration tests.

use nanopod_host::Grants;
use nanopod_host::engine::{EngineMode, Engines};
use nanopod_remote::{ExportOptions, Exporter};
use std::sync::Arc;
use wasmtime::component::Component;

/// Serves the guest at `path` on `listen` (`tcp://…` or `nats://…`) in
/// this process; returns the address it announced once it serves.
pub(crate) async fn export_on(path: &str, mode: EngineMode, listen: &str) -> String {
    let engines = Engines::pooled();
    let engine = engines.get(mode).unwrap().clone();
    let component = Component::from_file(&engine, path).unwrap();
    let exporter = Exporter::new(
        path,
        &engine,
        &component,
        Grants::new(),
        ExportOptions::default(),
    )
    .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let listen = listen.to_string();
    tokio::spawn(async move {
        let announce = move |at: &str| {
            let _ = tx.send(at.to_string());
        };
        Arc::new(exporter)
            .run(&listen, announce, std::future::pending())
            .await
    });
    rx.await.unwrap()
}
