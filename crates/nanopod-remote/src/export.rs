//! `nanopod export`: a component's exported functions served to remote
//! callers over wRPC, each call in a fresh instance (from the pooling
//! allocator) under the component's own grants and limits.

use crate::client::Transport;
use crate::frame::{self, PROTOCOL, TOKEN_PREAMBLE, WireError};
use crate::link::same_interface;
use crate::stream::{
    self, Arrived, CHANNEL_CHUNKS, ChunkConsumer, ChunkProducer, Demux, Slot, is_byte_stream,
};
use anyhow::{Context, Result};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use nanopod_host::net::{Stopping, accept_until};
use nanopod_host::{Grants, GuestFailure, HostState};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::component::{
    Component, ComponentExportIndex, Func, InstancePre, StreamAny, StreamReader, Val,
};
use wasmtime::{Engine, Store, UpdateDeadline};

/// How long a connection may sit between calls (or before its first).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a streaming call's connection waits for its caller to close
/// after the last result.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a caller may take to send one call once it has started.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Host memory a call's values may take, as `Val`s, before the call is
/// refused (bounds what one connection can make the exporter allocate).
const HOSTCALL_FUEL: usize = frame::MAX_MESSAGE * size_of::<Val>() + (16 << 20);

/// The queue group NATS exporters join: a request goes to one member.
pub const NATS_QUEUE_GROUP: &str = "nanopod";

/// What an invocation read from a caller comes to.
enum Invocation<'a> {
    /// A token preamble that was accepted.
    Token,
    /// A call to run.
    Call(Call<'a>),
    /// A refusal, with the reason for the caller.
    Refused(String),
}

/// One call: which function, with which parameters.
struct Call<'a> {
    instance: String,
    func: String,
    f: &'a Exported,
    params: Vec<Slot>,
}

impl Call<'_> {
    fn name(&self) -> String {
        format!("{}#{}", self.instance, self.func)
    }
}

/// One exported function.
struct Exported {
    index: ComponentExportIndex,
    params: Vec<Type>,
    results: Vec<Type>,
    /// Whether a parameter or result is a `stream<u8>`.
    streams: bool,
}

/// How an exporter admits callers.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The interfaces and root functions to serve; all exports when empty.
    pub expose: Vec<String>,
    /// The token callers must present, if any.
    pub token: Option<String>,
    /// The most connections (TCP) or calls in flight (NATS) at once; more
    /// are refused with an error frame, so no number of callers can make
    /// the exporter hold more than this many messages in memory.
    pub max_connections: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            expose: Vec::new(),
            token: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// [`ExportOptions::max_connections`] unless set.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// A component's functions, ready to serve.
pub struct Exporter {
    name: String,
    engine: Engine,
    pre: InstancePre<HostState>,
    grants: Grants,
    token: Option<String>,
    /// One permit per connection (TCP) or call in flight (NATS).
    slots: Arc<tokio::sync::Semaphore>,
    max_connections: usize,
    /// `(instance, function)` → the function. Root functions have the
    /// instance `""`, as in wRPC.
    functions: Vec<((String, String), Exported)>,
}

impl Exporter {
    /// Prepares `component` (linked by `pre`) to serve the interfaces named
    /// in `options.expose` (all of its exports when empty). Refuses a name
    /// it does not export, and functions whose values cannot cross hosts.
    pub fn new(
        name: &str,
        component: &Component,
        pre: InstancePre<HostState>,
        grants: Grants,
        options: ExportOptions,
    ) -> Result<Self> {
        let expose = &options.expose;
        let engine = component.engine().clone();
        let ty = component.component_type();
        let mut functions = Vec::new();
        let mut exported_names = Vec::new();
        for (export, item) in ty.exports(&engine) {
            exported_names.push(export.to_string());
            if !expose.is_empty() && !expose.iter().any(|e| same_interface(e, export)) {
                continue;
            }
            match item.ty {
                ComponentItem::ComponentFunc(f) => {
                    let index = component
                        .get_export_index(None, export)
                        .context("export index")?;
                    functions.push((("".into(), export.to_string()), exported(index, &f)));
                }
                ComponentItem::ComponentInstance(instance) => {
                    let parent = component
                        .get_export_index(None, export)
                        .context("export index")?;
                    for (fname, item) in instance.exports(&engine) {
                        let ComponentItem::ComponentFunc(f) = item.ty else {
                            continue;
                        };
                        let index = component
                            .get_export_index(Some(&parent), fname)
                            .context("export index")?;
                        functions
                            .push(((export.to_string(), fname.to_string()), exported(index, &f)));
                    }
                }
                _ => {}
            }
        }
        for e in expose {
            if !exported_names.iter().any(|n| same_interface(e, n)) {
                anyhow::bail!(
                    "`{name}` does not export `{e}` (it exports: {})",
                    exported_names.join(", ")
                );
            }
        }
        if functions.is_empty() {
            anyhow::bail!("`{name}` exports no function to serve");
        }
        functions.retain(|((instance, func), f)| {
            let unsupported = f
                .params
                .iter()
                .chain(&f.results)
                .find_map(crate::codec::cannot_cross);
            if let Some(what) = unsupported {
                tracing::warn!(
                    "not serving `{instance}#{func}`: its {what} values cannot cross hosts"
                );
            }
            unsupported.is_none()
        });
        Ok(Exporter {
            name: name.to_string(),
            engine,
            pre,
            grants,
            token: options.token,
            slots: Arc::new(tokio::sync::Semaphore::new(options.max_connections)),
            max_connections: options.max_connections,
            functions,
        })
    }

    /// `instance#function` for each served function.
    pub fn describe(&self) -> Vec<String> {
        self.functions
            .iter()
            .map(|((i, f), _)| {
                if i.is_empty() {
                    f.clone()
                } else {
                    format!("{i}#{f}")
                }
            })
            .collect()
    }

    /// Serves callers at `listen` (`tcp://IP:PORT`, or
    /// `nats://HOST:PORT/SUBJECT` to join that subject's queue group) until
    /// `shutdown` completes, then stops taking calls and lets those in
    /// flight finish. `announce` is told where it serves, once it does.
    pub async fn run(
        self: Arc<Self>,
        listen: &str,
        announce: impl FnOnce(&str),
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        match Transport::parse(listen).map_err(anyhow::Error::msg)? {
            Transport::Tcp { addr } => {
                let addr: SocketAddr = addr.parse().map_err(|_| {
                    anyhow::anyhow!("`{listen}` is not `tcp://IP:PORT` (port 0 picks a free port)")
                })?;
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on `{listen}`"))?;
                announce(&format!("tcp://{}", listener.local_addr()?));
                self.serve_tcp(listener, shutdown).await;
                Ok(())
            }
            Transport::Nats { server, subject } => {
                let client = async_nats::connect(&server)
                    .await
                    .with_context(|| format!("cannot connect to the NATS server at `{server}`"))?;
                self.serve_nats(
                    client,
                    &subject,
                    || {
                        announce(&format!(
                            "nats://{server}/{subject} (queue group `{NATS_QUEUE_GROUP}`)"
                        ))
                    },
                    shutdown,
                )
                .await
            }
        }
    }

    async fn serve_tcp(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
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
            // Between calls: wait for the next, the idle timeout, or shutdown.
            let first = tokio::select! {
                b = tokio::time::timeout(IDLE_TIMEOUT, next_byte(&mut conn)) => match b {
                    Ok(b) => b?,
                    Err(_) => return Ok(()),
                },
                _ = stopping.changed() => return Ok(()),
            };
            let Some(first) = first else { return Ok(()) };
            let read = self.read_invocation(&mut conn, first, &mut authorized);
            let invocation = tokio::time::timeout(REQUEST_TIMEOUT, read)
                .await
                .unwrap_or_else(|_| {
                    Err(WireError::Protocol("the call was not sent in time".into()))
                })?;
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

    /// Serves requests on the NATS `subject` as a member of the `nanopod`
    /// queue group (each request goes to one member) until `shutdown`
    /// completes; then unsubscribes and lets calls in flight finish.
    async fn serve_nats(
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

    /// Reads what follows the first byte `first` of an invocation (or of a
    /// token preamble). Refusals are reasons for the caller.
    async fn read_invocation<'a>(
        &'a self,
        r: &mut (impl AsyncBufRead + Unpin),
        first: u8,
        authorized: &mut bool,
    ) -> Result<Invocation<'a>, WireError> {
        if first == TOKEN_PREAMBLE {
            let token = frame::read_name(r).await?;
            // An exporter without a token takes any caller.
            *authorized = self
                .token
                .as_deref()
                .is_none_or(|t| constant_time_eq(t, &token));
            return Ok(if *authorized {
                Invocation::Token
            } else {
                self.refused("invalid token".into())
            });
        }
        if first != PROTOCOL {
            return Ok(self.refused(format!("unsupported wRPC version {first}")));
        }
        if !*authorized {
            return Ok(self.refused("this exporter requires a token".into()));
        }
        let instance = frame::read_name(r).await?;
        let func = frame::read_name(r).await?;
        let Some(f) = self.lookup(&instance, &func) else {
            // Read nothing more: the parameters' types are unknown.
            return Ok(self.refused(format!("`{instance}#{func}` is not served here")));
        };
        let params = frame::read_slots(r, &f.params).await?;
        Ok(Invocation::Call(Call {
            instance,
            func,
            f,
            params,
        }))
    }

    /// The refusal when every slot is taken.
    fn busy(&self) -> String {
        let reason = format!(
            "the exporter is at its limit of {} connections; try again later",
            self.max_connections
        );
        tracing::warn!("refused a caller: {reason}");
        reason
    }

    fn refused<'a>(&self, reason: String) -> Invocation<'a> {
        tracing::warn!("refused a call: {reason}");
        Invocation::Refused(reason)
    }

    /// Runs `call` and encodes its results, or says why it failed.
    async fn answer(&self, call: Call<'_>) -> Result<Vec<u8>, String> {
        let started = Instant::now();
        let name = call.name();
        let params = call
            .params
            .into_iter()
            .map(|slot| match slot {
                Slot::Value(v) => Ok(v),
                _ => Err(format!("`{name}` takes no stream")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let results = self
            .call(call.f, params)
            .await
            .map_err(|reason| self.failed(&name, reason))?;
        let mut reply = Vec::new();
        frame::put_message(&mut reply, &results, &call.f.results)
            .map_err(|e| format!("`{}` returned values that cannot be sent: {e}", self.name))?;
        access_log(&name, started);
        Ok(reply)
    }

    /// Logs a failed call; the reason for its caller.
    fn failed(&self, name: &str, reason: String) -> String {
        tracing::warn!("`{name}`: {reason}");
        format!("`{}`: {reason}", self.name)
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
        let params = stream::arrive(call.params, &mut demux);
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
                stream::buffers::give(bytes);
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

    /// Runs `f` in a fresh instance with its parameter streams fed from
    /// their channels; sends its results on `out`, then its result streams'
    /// chunks, and returns the indices of those streams once all ended.
    async fn call_streaming(
        &self,
        f: &Exported,
        params: Vec<Arrived>,
        out: mpsc::Sender<Vec<u8>>,
    ) -> Result<Vec<u32>, String> {
        let run = async {
            let (mut store, func) = self.instantiate(f).await?;
            let mut vals = Vec::with_capacity(params.len());
            for param in params {
                vals.push(match param {
                    Arrived::Value(v) => v,
                    Arrived::Stream(rx) => {
                        let producer = ChunkProducer::new(rx, "a parameter stream from the caller");
                        let reader = StreamReader::new(&mut store, producer)?;
                        Val::Stream(StreamAny::try_from_stream_reader(&mut store, reader)?)
                    }
                });
            }
            let types = f.results.clone();
            store
                .run_concurrent(async move |acc| -> Result<Vec<u32>> {
                    let mut results = vec![Val::Bool(false); types.len()];
                    func.call_concurrent(acc, &vals, &mut results).await?;
                    let mut root = Vec::new();
                    frame::put_message(&mut root, &results, &types)?;
                    let mut out = out;
                    out.send(root).await.context("the caller went away")?;
                    let mut streams = Vec::new();
                    let mut ended = Vec::new();
                    acc.with(|mut access| -> Result<()> {
                        for (i, result) in results.into_iter().enumerate() {
                            if let Val::Stream(s) = result {
                                let (consumer, dropped) =
                                    ChunkConsumer::new(vec![i as u32], out.clone());
                                s.try_into_stream_reader::<u8>()?
                                    .pipe(&mut access, consumer)?;
                                streams.push(i as u32);
                                ended.push(dropped);
                            }
                        }
                        Ok(())
                    })?;
                    // The guest writes its streams while the store runs.
                    for e in ended {
                        let _ = e.await;
                    }
                    Ok(streams)
                })
                .await?
        };
        run.await.map_err(|e| describe_failure(&e))
    }

    fn lookup(&self, instance: &str, func: &str) -> Option<&Exported> {
        self.functions
            .iter()
            .find(|((i, f), _)| {
                f == func && (i == instance || (!i.is_empty() && same_interface(i, instance)))
            })
            .map(|(_, e)| e)
    }

    /// A fresh instance for one call, and its function `f`.
    async fn instantiate(&self, f: &Exported) -> Result<(Store<HostState>, Func)> {
        let mut store = self.new_store()?;
        let instance = self.pre.instantiate_async(&mut store).await?;
        let func = instance
            .get_func(&mut store, f.index)
            .context("the exported function is missing")?;
        Ok((store, func))
    }

    /// A store for one call, under the component's grants and limits.
    fn new_store(&self) -> Result<Store<HostState>> {
        let mut store = Store::new(&self.engine, HostState::new(&self.grants)?);
        store.limiter(|s| &mut s.limits);
        store.set_hostcall_fuel(HOSTCALL_FUEL);
        // Every epoch tick the call yields to the executor, so a long
        // call never holds a worker thread (NATS heartbeats and other
        // connections go on); past `--timeout` it is interrupted.
        let deadline = self.grants.limits.timeout.map(|t| Instant::now() + t);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if deadline.is_some_and(|d| Instant::now() >= d) {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(1)
            })
        });
        Ok(store)
    }

    /// Calls `f` in a fresh instance; errors are one line for the caller.
    async fn call(&self, f: &Exported, params: Vec<Val>) -> Result<Vec<Val>, String> {
        let run = async {
            let (mut store, func) = self.instantiate(f).await?;
            let mut results = vec![Val::Bool(false); f.results.len()];
            func.call_async(&mut store, &params, &mut results).await?;
            Ok::<_, anyhow::Error>(results)
        };
        run.await.map_err(|e| describe_failure(&e))
    }
}

/// A failed call, in one line for its caller.
fn describe_failure(e: &anyhow::Error) -> String {
    GuestFailure::classify(e).map_or_else(|| format!("{e:#}"), |f| f.to_string())
}

/// One access-log line for a call that succeeded.
fn access_log(name: &str, started: Instant) {
    tracing::info!(
        target: "nanopod::access",
        "\"{name}\" ok {:.3}ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
}

fn exported(
    index: ComponentExportIndex,
    f: &wasmtime::component::types::ComponentFunc,
) -> Exported {
    let params: Vec<Type> = f.params().map(|(_, t)| t).collect();
    let results: Vec<Type> = f.results().collect();
    let streams = params.iter().chain(&results).any(is_byte_stream);
    Exported {
        index,
        params,
        results,
        streams,
    }
}

async fn next_byte(conn: &mut BufReader<TcpStream>) -> Result<Option<u8>, WireError> {
    let mut b = [0u8];
    Ok((conn.read(&mut b).await? == 1).then_some(b[0]))
}

/// Compares tokens without leaking where they differ through timing.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The heartbeat interval a NATS caller asked for, if any (at least 100ms).
fn heartbeat_interval(message: &async_nats::Message) -> Option<Duration> {
    let value = message
        .headers
        .as_ref()?
        .get(frame::NATS_HEARTBEAT_HEADER)?;
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
                headers.insert(frame::NATS_STATUS_HEADER, "working");
                let beat = client.publish_with_headers(reply_to.clone(), headers, Vec::new().into());
                if let Err(e) = beat.await {
                    tracing::debug!("cannot send a heartbeat: {e}");
                }
            }
        }
    }
}
