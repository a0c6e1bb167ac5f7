//! Calls over NATS: one request per call, answered by one exporter of
//! the subject's queue group, which sends heartbeats while it works.

use super::{CallError, Client};
use crate::transport::{NATS_HEARTBEAT, NATS_HEARTBEAT_HEADER, NATS_SILENCE, NATS_STATUS_HEADER};
use crate::wire::frame::{self, Decode};
use futures::StreamExt;

impl Client {
    /// One NATS request: the token (if any) and the invocation in one
    /// message, the results (or an error frame) in the reply.
    pub(super) async fn call_nats<D: Decode>(
        &self,
        server: &str,
        subject: &str,
        invocation: Vec<u8>,
        decode: &D,
    ) -> Result<D::Out, CallError> {
        let client = self
            .nats
            .get_or_try_init(|| async {
                async_nats::ConnectOptions::new()
                    .connect(server)
                    .await
                    .map_err(|e| CallError::Connect(e.to_string()))
            })
            .await?;
        let mut payload = Vec::new();
        if let Some(token) = &self.endpoint.token {
            frame::put_token(&mut payload, token);
        }
        payload.extend_from_slice(&invocation);
        let lost = |e: &dyn std::fmt::Display| CallError::Connect(e.to_string());
        // A request on our own inbox rather than `Client::request`: the
        // exporter's heartbeats come before its reply.
        let inbox = client.new_inbox();
        let mut replies = client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| lost(&e))?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            NATS_HEARTBEAT_HEADER,
            NATS_HEARTBEAT.as_millis().to_string().as_str(),
        );
        client
            .publish_with_reply_and_headers(subject.to_string(), inbox, headers, payload.into())
            .await
            .map_err(|e| lost(&e))?;
        loop {
            let reply = tokio::time::timeout(NATS_SILENCE, replies.next())
                .await
                .map_err(|_| CallError::Silent(NATS_SILENCE))?
                .ok_or_else(|| lost(&"the connection to the NATS server closed"))?;
            if reply.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
                return Err(CallError::NoResponders);
            }
            let heartbeat = reply
                .headers
                .as_ref()
                .is_some_and(|h| h.get(NATS_STATUS_HEADER).is_some());
            if !heartbeat {
                return Ok(frame::read_root(&mut &reply.payload[..], decode).await?);
            }
        }
    }
}
