//! The calling side of a remote link: over [`tcp`], a pool of connections
//! to one exporter, one call at a time on each; over [`nats`], requests to a
//! subject that a queue group of exporters serves.

mod nats;
mod tcp;

use crate::transport::{Endpoint, Transport};
use crate::wire::frame::{BulkResult, Decode, Values};
use crate::wire::{CodecError, WireError, frame};
use nanopod_bulk::{Bulk, Returned, Returns};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::OnceCell;
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// Why a remote call did not return values.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No connection could be made.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The call did not finish within the link's timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Nobody serves the NATS subject.
    #[error("no exporter serves this subject")]
    NoResponders,
    /// The NATS exporter serving the call stopped sending heartbeats.
    #[error("the exporter stopped answering (no heartbeat for {0:?}): it may have died mid-call")]
    Silent(Duration),
    /// The connection failed or the exporter answered wrongly.
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// Calls functions of one exporter (or queue group).
pub struct Client {
    endpoint: Endpoint,
    idle: Mutex<Vec<tcp::Connection>>,
    nats: OnceCell<async_nats::Client>,
}

impl Client {
    /// A client of `endpoint`; connects on first use.
    pub fn new(endpoint: Endpoint) -> Self {
        Client {
            endpoint,
            idle: Mutex::new(Vec::new()),
            nats: OnceCell::new(),
        }
    }

    /// The exporter's address.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Calls `instance#func` with `params` and returns its results.
    pub async fn call(
        &self,
        instance: &str,
        func: &str,
        params: (&[Val], &[Type]),
        result_types: &[Type],
    ) -> Result<Vec<Val>, CallError> {
        self.call_with(
            instance,
            func,
            |out| frame::put_message(out, params.0, params.1),
            &Values(result_types),
        )
        .await
    }

    /// Calls `instance#func` on the byte fast path: `params` encoded
    /// without `Val`s, the result decoded as `returns`.
    pub async fn call_bulk(
        &self,
        instance: &str,
        func: &str,
        params: &[Bulk],
        returns: Returns,
    ) -> Result<Returned, CallError> {
        self.call_with(
            instance,
            func,
            |out| frame::put_bulk_message(out, params),
            &BulkResult(returns),
        )
        .await
    }

    /// Calls `instance#func` with the parameters `put_params` appends,
    /// and decodes the results with `decode`.
    async fn call_with<D: Decode>(
        &self,
        instance: &str,
        func: &str,
        put_params: impl FnOnce(&mut Vec<u8>) -> Result<(), CodecError>,
        decode: &D,
    ) -> Result<D::Out, CallError> {
        let mut request = Vec::new();
        frame::put_header(&mut request, instance, func);
        put_params(&mut request).map_err(WireError::from)?;
        let call = async {
            match &self.endpoint.transport {
                Transport::Tcp { addr } => self.call_tcp(addr, &request, decode).await,
                Transport::Nats { server, subject } => {
                    self.call_nats(server, subject, request, decode).await
                }
            }
        };
        tokio::time::timeout(self.endpoint.timeout, call)
            .await
            .unwrap_or(Err(CallError::Timeout(self.endpoint.timeout)))
    }
}
