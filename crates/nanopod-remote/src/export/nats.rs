//! Serving callers over NATS, as a member of a subject's queue group: one
//! request per call, with heartbeats while it runs.

use super::{Exporter, Invocation, NATS_QUEUE_GROUP};
use crate::transport::{NATS_HEARTBEAT_HEADER, NATS_STATUS_HEADER};
use crate::wire::frame;
use anyhow::{Context, Result};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;

impl Exporter {
    /// Serves requests on the NATS `subject` as a member of the `nanopod`
    /// queue group (each request goes to one member) until `shutdown`
    /// completes; then unsubscribes and lets calls in flight finish.
    pub(super) async fn serve_nats(
        self: Arc<Self>,
        client: async_nats::Client,
        subject: &str,
        announce: impl FnOnce(),
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        let mut requests = client
            .queue_subscribe(subject.to_string(), NATS_QUEUE_GROUP.to_string())
            .await
            .with_context(|| format!("cannot subscribe to `{subject}`"))?;
        client
            .flush()
            .await
            .context("cannot reach the NATS server")?;
        announce();
        let mut in_flight = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            let message = tokio::select! {
                m = requests.next() => m,
                () = &mut shutdown => break,
            };
            let Some(message) = message else { break };
            let Some(reply_to) = message.reply.clone() else {
                tracing::warn!("a message on `{subject}` with no reply subject: ignored");
                continue;
            };
            let exporter = self.clone();
            let client = client.clone();
            in_flight.spawn(async move {
                let answer = async {
                    match exporter.slots.clone().try_acquire_owned() {
                        Ok(_slot) => exporter.answer_message(&message.payload).await,
                        Err(_) => {
                            let mut out = Vec::new();
                            frame::put_error(&mut out, &exporter.busy());
                            out
                        }
                    }
                };
                let reply = match heartbeat_interval(&message) {
                    Some(every) => with_heartbeats(answer, every, &client, &reply_to).await,
                    None => answer.await,
                };
                if let Err(e) = client.publish(reply_to, reply.into()).await {
                    tracing::warn!("cannot send a reply: {e}");
                }
            });
            while in_flight.try_join_next().is_some() {}
        }
        let _ = requests.unsubscribe().await;
        tracing::info!("shutting down: finishing {} call(s)", in_flight.len());
        while in_flight.join_next().await.is_some() {}
        client
            .flush()
            .await
            .context("cannot flush the last replies")?;
        Ok(())
    }

    /// The reply to one NATS request: an optional token, then one
    /// invocation, all in `payload`.
    async fn answer_message(&self, mut payload: &[u8]) -> Vec<u8> {
        let mut authorized = self.token.is_none();
        let outcome = loop {
            let Some((&first, rest)) = payload.split_first() else {
                break Err("an empty request".to_string());
            };
            payload = rest;
            match self
                .read_invocation(&mut payload, first, &mut authorized)
                .await
            {
                Ok(Invocation::Token) => continue,
                Ok(Invocation::Refused(reason)) => break Err(reason),
                Ok(Invocation::Call(call)) if call.f.streams => {
                    break Err(format!(
                        "`{}` takes or returns a stream<u8>, and streams cross hosts over tcp:// only",
                        call.name()
                    ));
                }
                Ok(Invocation::Call(call)) => break self.answer(call).await,
                Err(e) => break Err(e.to_string()),
            }
        };
        outcome.unwrap_or_else(|reason| {
            let mut out = Vec::new();
            frame::put_error(&mut out, &reason);
            out
        })
    }
}

/// The heartbeat interval a NATS caller asked for, if any (at least 100ms).
fn heartbeat_interval(message: &async_nats::Message) -> Option<Duration> {
    let value = message.headers.as_ref()?.get(NATS_HEARTBEAT_HEADER)?;
    let millis: u64 = value.as_str().parse().ok()?;
    Some(Duration::from_millis(millis.max(100)))
}

/// Runs `answer`, telling the caller on `reply_to` every `every` that the
/// call is still being worked on (an empty message with a status header).
async fn with_heartbeats(
    answer: impl Future<Output = Vec<u8>>,
    every: Duration,
    client: &async_nats::Client,
    reply_to: &async_nats::Subject,
) -> Vec<u8> {
    tokio::pin!(answer);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            reply = &mut answer => return reply,
            _ = ticks.tick() => {
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(NATS_STATUS_HEADER, "working");
                let beat = client.publish_with_headers(reply_to.clone(), headers, Vec::new().into());
                if let Err(e) = beat.await {
                    tracing::debug!("cannot send a heartbeat: {e}");
                }
            }
        }
    }
}
