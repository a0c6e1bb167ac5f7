//! `nanopod export`: a component's exported functions served to remote
//! callers over wRPC, each call in a fresh instance (from the pooling
//! allocator) under the component's own grants and limits.

use crate::frame::{self, PROTOCOL, TOKEN_PREAMBLE, WireError};
use crate::link::same_interface;
use anyhow::{Context, Result};
use nanopod_host::engine::{NO_DEADLINE, ticks_for};
use nanopod_host::net::{Stopping, accept_until};
use nanopod_host::{Grants, GuestFailure, HostState};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Val};
use wasmtime::{Engine, Store};

/// How long a connection may sit between calls (or before its first).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a caller may take to send one call once it has started.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Host memory a call's values may take, as `Val`s, before the call is
/// refused (bounds what one connection can make the exporter allocate).
const HOSTCALL_FUEL: usize = frame::MAX_MESSAGE * size_of::<Val>() + (16 << 20);

/// One exported function.
struct Exported {
    index: ComponentExportIndex,
    params: Vec<Type>,
    results: Vec<Type>,
}

/// A component's functions, ready to serve.
pub struct Exporter {
    name: String,
    engine: Engine,
    pre: InstancePre<HostState>,
    grants: Grants,
    token: Option<String>,
    /// `(instance, function)` → the function. Root functions have the
    /// instance `""`, as in wRPC.
    functions: Vec<((String, String), Exported)>,
}

impl Exporter {
    /// Prepares `component` (linked by `pre`) to serve the interfaces named
    /// in `expose` (all of its exports when empty). Refuses a name it does
    /// not export, and functions whose values cannot cross hosts.
    pub fn new(
        name: &str,
        component: &Component,
        pre: InstancePre<HostState>,
        grants: Grants,
        expose: &[String],
        token: Option<String>,
    ) -> Result<Self> {
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
                .find_map(crate::codec::first_unsupported);
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
            token,
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

    /// Serves callers on `listener` until `shutdown` completes, then stops
    /// accepting and lets calls in flight finish.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        accept_until(listener, shutdown, move |stream, peer, stopping| {
            let exporter = self.clone();
            async move {
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
            let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
                if first == TOKEN_PREAMBLE {
                    let token = frame::read_name(&mut conn).await?;
                    // An exporter without a token takes any caller.
                    authorized = self
                        .token
                        .as_deref()
                        .is_none_or(|t| constant_time_eq(t, &token));
                    if !authorized {
                        return Ok(Err("invalid token".to_string()));
                    }
                    return Ok(Ok(None));
                }
                if first != PROTOCOL {
                    return Ok(Err(format!("unsupported wRPC version {first}")));
                }
                if !authorized {
                    return Ok(Err("this exporter requires a token".to_string()));
                }
                let instance = frame::read_name(&mut conn).await?;
                let func = frame::read_name(&mut conn).await?;
                let Some(f) = self.lookup(&instance, &func) else {
                    // Read nothing more: the parameters' types are unknown.
                    return Ok(Err(format!("`{instance}#{func}` is not served here")));
                };
                let params = frame::read_message(&mut conn, &f.params).await?;
                Ok::<_, WireError>(Ok(Some((instance, func, f, params))))
            })
            .await
            .unwrap_or_else(|_| Err(WireError::Protocol("the call was not sent in time".into())))?;
            let (instance, func, f, params) = match answer {
                Ok(Some(call)) => call,
                Ok(None) => continue,
                Err(reason) => {
                    tracing::warn!("refused a call: {reason}");
                    return refuse(conn.get_mut(), &reason).await;
                }
            };
            let mut reply = Vec::new();
            let started = std::time::Instant::now();
            match self.call(f, params).await {
                Ok(results) => frame::put_message(&mut reply, &results, &f.results)?,
                Err(reason) => {
                    tracing::warn!("`{instance}#{func}`: {reason}");
                    return refuse(conn.get_mut(), &format!("`{}`: {reason}", self.name)).await;
                }
            }
            tracing::info!(
                target: "nanopod::access",
                "\"{instance}#{func}\" ok {:.3}ms",
                started.elapsed().as_secs_f64() * 1000.0
            );
            conn.get_mut().write_all(&reply).await?;
        }
    }

    fn lookup(&self, instance: &str, func: &str) -> Option<&Exported> {
        self.functions
            .iter()
            .find(|((i, f), _)| {
                f == func && (i == instance || (!i.is_empty() && same_interface(i, instance)))
            })
            .map(|(_, e)| e)
    }

    /// Calls `f` in a fresh instance; errors are one line for the caller.
    async fn call(&self, f: &Exported, params: Vec<Val>) -> Result<Vec<Val>, String> {
        let run = async {
            let mut store = Store::new(&self.engine, HostState::new(&self.grants)?);
            store.limiter(|s| &mut s.limits);
            store.set_hostcall_fuel(HOSTCALL_FUEL);
            store.set_epoch_deadline(self.grants.limits.timeout.map_or(NO_DEADLINE, ticks_for));
            let instance = self.pre.instantiate_async(&mut store).await?;
            let func = instance
                .get_func(&mut store, f.index)
                .context("the exported function is missing")?;
            let mut results = vec![Val::Bool(false); f.results.len()];
            func.call_async(&mut store, &params, &mut results).await?;
            Ok::<_, anyhow::Error>(results)
        };
        run.await.map_err(|e| {
            GuestFailure::classify(&e).map_or_else(|| format!("{e:#}"), |f| f.to_string())
        })
    }
}

fn exported(
    index: ComponentExportIndex,
    f: &wasmtime::component::types::ComponentFunc,
) -> Exported {
    Exported {
        index,
        params: f.params().map(|(_, t)| t).collect(),
        results: f.results().collect(),
    }
}

async fn next_byte(conn: &mut BufReader<TcpStream>) -> Result<Option<u8>, WireError> {
    let mut b = [0u8];
    Ok((conn.read(&mut b).await? == 1).then_some(b[0]))
}

/// Sends an error frame and closes the connection.
async fn refuse(stream: &mut TcpStream, reason: &str) -> Result<(), WireError> {
    let mut out = Vec::new();
    frame::put_error(&mut out, reason);
    stream.write_all(&out).await?;
    stream.shutdown().await?;
    Ok(())
}

/// Compares tokens without leaking where they differ through timing.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Where an exporter listens: `tcp://HOST:PORT` parsed into an address.
pub fn listen_addr(url: &str) -> Result<SocketAddr, String> {
    let addr = url.strip_prefix("tcp://").unwrap_or(url);
    addr.parse()
        .map_err(|_| format!("`{url}` is not `tcp://IP:PORT` (port 0 picks a free port)"))
}
