//! Serving callers over TCP: one connection per caller, calls one after
//! another on it; a call with streams has the connection to itself.

use super::call::access_log;
use super::{
    Arguments, Call, DRAIN_TIMEOUT, Exporter, IDLE_TIMEOUT, Invocation, REQUEST_TIMEOUT,
    TOKEN_TIMEOUT,
};
use crate::stream::{self, CHANNEL_CHUNKS, Demux};
use crate::wire::{WireError, buffers, frame};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use nanopod_host::net::{Stopping, accept_until};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

impl Exporter {
    pub(super) async fn serve_tcp(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) {
        accept_until(listener, shutdown, move |mut stream, peer, stopping| {
            let exporter = self.clone();
            async move {
                let Ok(_slot) = exporter.slots.clone().try_acquire_owned() else {
                    let reason = exporter.busy();
                    let mut out = Vec::new();
                    frame::put_error(&mut out, &reason);
                    let _ = stream.write_all(&out).await;
                    let _ = stream.shutdown().await;
                    return;
                };
                match exporter.connection(stream, stopping).await {
                    Ok(()) => tracing::debug!(%peer, "connection closed"),
                    Err(e) => tracing::warn!(%peer, "connection dropped: {e}"),
                }
            }
        })
        .await;
    }

    /// Serves the calls of one connection, one after another.
    async fn connection(&self, stream: TcpStream, mut stopping: Stopping) -> Result<(), WireError> {
        let mut conn = BufReader::new(stream);
        let mut authorized = self.token.is_none();
        loop {
            // Between calls: wait for the next, the idle timeout (the token
            // timeout until a token was presented), or shutdown.
            let wait = if authorized {
                IDLE_TIMEOUT
            } else {
                TOKEN_TIMEOUT
            };
            let first = tokio::select! {
                b = tokio::time::timeout(wait, next_byte(&mut conn)) => match b {
                    Ok(b) => b?,
                    Err(_) if authorized => return Ok(()),
                    Err(_) => {
                        let reason = format!(
                            "this exporter requires a token, sent within {} s of connecting",
                            TOKEN_TIMEOUT.as_secs()
                        );
                        tracing::warn!("refused a caller: {reason}");
                        let mut out = Vec::new();
                        frame::put_error(&mut out, &reason);
                        let _ = conn.get_mut().write_all(&out).await;
                        let _ = conn.get_mut().shutdown().await;
                        return Ok(());
                    }
                },
                _ = stopping.changed() => return Ok(()),
            };
            let Some(first) = first else { return Ok(()) };
            let read = self.read_invocation(&mut conn, first, &mut authorized);
            let invocation = match tokio::time::timeout(REQUEST_TIMEOUT, read)
                .await
                .unwrap_or_else(|_| {
                    Err(WireError::Protocol("the call was not sent in time".into()))
                }) {
                Ok(invocation) => invocation,
                // A caller that broke the framing hears why (as
                // docs/remote.md says) before the connection closes.
                Err(e @ (WireError::Protocol(_) | WireError::Codec(_) | WireError::TooLarge)) => {
                    let mut out = Vec::new();
                    frame::put_error(&mut out, &e.to_string());
                    let _ = conn.get_mut().write_all(&out).await;
                    let _ = conn.get_mut().shutdown().await;
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            let reason = match invocation {
                Invocation::Token => continue,
                Invocation::Refused(reason) => reason,
                // Streams end the connection: its calls are served by then.
                Invocation::Call(call) if call.f.streams => {
                    return self.answer_streaming(call, &mut conn).await;
                }
                Invocation::Call(call) => match self.answer(call).await {
                    Ok(reply) => {
                        conn.get_mut().write_all(&reply).await?;
                        continue;
                    }
                    Err(reason) => reason,
                },
            };
            // After an error frame the connection is closed.
            let mut out = Vec::new();
            frame::put_error(&mut out, &reason);
            conn.get_mut().write_all(&out).await?;
            conn.get_mut().shutdown().await?;
            return Ok(());
        }
    }

    /// Serves a call with `stream<u8>` parameters or results on `conn`:
    /// the parameter streams' chunks are read while the guest runs, and the
    /// results, then the result streams' chunks, are written as they come.
    /// A result stream's end is sent only once the call has succeeded; if
    /// it fails (a trap midway), an error frame follows instead.
    async fn answer_streaming(
        &self,
        call: Call<'_>,
        conn: &mut BufReader<TcpStream>,
    ) -> Result<(), WireError> {
        let started = Instant::now();
        let name = call.name();
        let mut demux = Demux::default();
        let Arguments::Slots(slots) = call.params else {
            unreachable!("calls with streams are not on the byte fast path")
        };
        let params = stream::arrive(slots, &mut demux);
        let (out, mut outgoing) = mpsc::channel::<Vec<u8>>(CHANNEL_CHUNKS);
        let (rd, mut wr) = tokio::io::split(conn);
        // The connection's own buffer is read through first.
        let mut rd = BufReader::new(rd);
        let run = async {
            let outcome = self.call_streaming(call.f, params, out.clone()).await;
            let mut tail = Vec::new();
            match outcome {
                Ok(streams) => {
                    for i in streams {
                        stream::put_chunk(&mut tail, &[i], &[]);
                    }
                    access_log(&name, started);
                }
                Err(reason) => frame::put_error(&mut tail, &self.failed(&name, reason)),
            }
            let mut out = out;
            let _ = out.send(tail).await;
        };
        // Owns the channel's receiving end: once the caller is gone and a
        // write fails, dropping it tells the guest's stream that nobody
        // reads any more, and the call ends instead of waiting forever.
        let write = async move {
            while let Some(bytes) = outgoing.next().await {
                wr.write_all(&bytes).await?;
                buffers::give(bytes);
            }
            wr.shutdown().await
        };
        let work = async { tokio::join!(run, write).1 };
        let written = {
            let read = demux.run(&mut rd, IDLE_TIMEOUT);
            tokio::pin!(work, read);
            let mut reading = true;
            // Parameter streams are read while the call runs.
            loop {
                tokio::select! {
                    w = &mut work => break w,
                    r = &mut read, if reading => {
                        reading = false;
                        if let Err(e) = r {
                            tracing::debug!("`{name}`: a parameter stream broke off: {e}");
                        }
                    }
                }
            }
        };
        // Wait for the caller to close, dropping whatever it still sends:
        // closing a socket with unread bytes resets the connection, and a
        // reset can discard results the caller has not read yet.
        let mut sink = vec![0u8; 64 * 1024];
        let drain = async { while matches!(rd.read(&mut sink).await, Ok(n) if n > 0) {} };
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
        Ok(written?)
    }
}

async fn next_byte(conn: &mut BufReader<TcpStream>) -> Result<Option<u8>, WireError> {
    let mut b = [0u8];
    Ok((conn.read(&mut b).await? == 1).then_some(b[0]))
}
