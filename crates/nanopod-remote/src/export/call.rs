//! One call of an exported function, in a fresh instance (or, with
//! `--reuse`, one that served earlier calls): with values, or with
//! `stream<u8>` parameters and results fed through channels (always in a
//! fresh instance).

use super::{Arguments, Call, Exported, Exporter, HOSTCALL_FUEL, Kept};
use crate::stream::{Arrived, ChunkConsumer, ChunkProducer};
use crate::wire::frame;
use crate::wire::value::Slot;
use anyhow::{Context, Result};
use futures::SinkExt;
use futures::channel::mpsc;
use nanopod_bulk::{Bulk, Caller, Returned};
use nanopod_host::store::Guarded;
use nanopod_host::{Deadline, GuestFailure, HostState};
use std::time::Instant;
use wasmtime::AsContextMut;
use wasmtime::component::{Func, StreamAny, StreamReader, Val};

impl Exporter {
    /// Runs `call` and encodes its results, or says why it failed.
    pub(super) async fn answer(&self, call: Call<'_>) -> Result<Vec<u8>, String> {
        let started = Instant::now();
        let name = call.name();
        let mut reply = Vec::new();
        let put = match (call.params, &call.f.bulk) {
            (Arguments::Bulk(params), Some(bulk)) => {
                let returned = self
                    .call_bulk(call.f, bulk, params)
                    .await
                    .map_err(|reason| self.failed(&name, reason))?;
                frame::put_returned(&mut reply, &returned, bulk.shape().returns)
            }
            (Arguments::Slots(slots), _) => {
                let params = slots
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
                frame::put_message(&mut reply, &results, &call.f.results)
            }
            (Arguments::Bulk(_), None) => unreachable!("bulk parameters are read for bulk calls"),
        };
        put.map_err(|e| format!("`{}` returned values that cannot be sent: {e}", self.name))?;
        access_log(&name, started);
        Ok(reply)
    }

    /// Logs a failed call; the reason for its caller.
    pub(super) fn failed(&self, name: &str, reason: String) -> String {
        tracing::warn!("`{name}`: {reason}");
        format!("`{}`: {reason}", self.name)
    }

    /// Runs `f` in a fresh instance with its parameter streams fed from
    /// their channels; sends its results on `out`, then its result streams'
    /// chunks, and returns the indices of those streams once all ended.
    pub(super) async fn call_streaming(
        &self,
        f: &Exported,
        params: Vec<Arrived>,
        out: mpsc::Sender<Vec<u8>>,
    ) -> Result<Vec<u32>, String> {
        let deadline = self.deadline();
        let run = async {
            let Kept {
                mut store,
                instance,
                ..
            } = self.fresh(deadline).await?;
            store.set_hostcall_fuel(HOSTCALL_FUEL);
            let func = function(&mut store, instance, f)?;
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
        deadline.bound(run).await.map_err(|e| describe_failure(&e))
    }

    /// A fresh instance, under the component's grants and limits. (The
    /// exporter's engine is a server's: a call yields to the executor at
    /// every tick, so a long call never holds a worker thread.)
    async fn fresh(&self, deadline: Deadline) -> Result<Kept> {
        let mut store = self.engine.store(&self.grants, deadline)?;
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok(Kept {
            store,
            instance,
            served: 0,
        })
    }

    /// An instance for one call: one that served fewer than `--reuse`
    /// calls, its deadline restarted for this one, else a fresh one.
    async fn instance(&self, deadline: Deadline) -> Result<Kept> {
        match self.idle.take() {
            Some(mut kept) => {
                kept.store.data_mut().guard().restart(deadline);
                Ok(kept)
            }
            None => self.fresh(deadline).await,
        }
    }

    /// An instance whose call returned: kept for the next call while it
    /// may serve more, else dropped. (One whose call failed is dropped
    /// where the error is, never kept.)
    fn returned(&self, mut kept: Kept) {
        kept.served += 1;
        if kept.served < self.reuse {
            self.idle.put(kept);
        }
    }

    /// Calls `f`, whose signature is on the byte fast path, through
    /// `bulk`; errors are one line for the caller.
    async fn call_bulk(
        &self,
        f: &Exported,
        bulk: &Caller<HostState>,
        params: Vec<Bulk>,
    ) -> Result<Returned, String> {
        let deadline = self.deadline();
        let run = async {
            let mut kept = self.instance(deadline).await?;
            // Bulk values cost a unit of hostcall fuel per byte, not a
            // `Val`'s size.
            kept.store
                .set_hostcall_fuel(frame::MAX_MESSAGE + (16 << 20));
            let func = function(&mut kept.store, kept.instance, f)?;
            let returned = bulk.call(kept.store.as_context_mut(), func, params).await?;
            self.returned(kept);
            Ok::<_, anyhow::Error>(returned)
        };
        deadline.bound(run).await.map_err(|e| describe_failure(&e))
    }

    /// Calls `f`; errors are one line for the caller.
    async fn call(&self, f: &Exported, params: Vec<Val>) -> Result<Vec<Val>, String> {
        let deadline = self.deadline();
        let run = async {
            let mut kept = self.instance(deadline).await?;
            kept.store.set_hostcall_fuel(HOSTCALL_FUEL);
            let func = function(&mut kept.store, kept.instance, f)?;
            let mut results = vec![Val::Bool(false); f.results.len()];
            func.call_async(&mut kept.store, &params, &mut results)
                .await?;
            self.returned(kept);
            Ok::<_, anyhow::Error>(results)
        };
        deadline.bound(run).await.map_err(|e| describe_failure(&e))
    }

    /// The deadline of a call starting now.
    fn deadline(&self) -> Deadline {
        Deadline::after(self.grants.limits.timeout)
    }
}

/// The exported function `f` of `instance`.
fn function(
    store: &mut wasmtime::Store<HostState>,
    instance: wasmtime::component::Instance,
    f: &Exported,
) -> Result<Func> {
    instance
        .get_func(&mut *store, f.index)
        .context("the exported function is missing")
}

/// A failed call, in one line for its caller.
fn describe_failure(e: &anyhow::Error) -> String {
    GuestFailure::classify(e).map_or_else(|| format!("{e:#}"), |f| f.to_string())
}

/// One access-log line for a call that succeeded.
pub(super) fn access_log(name: &str, started: Instant) {
    tracing::info!(
        target: "nanopod::access",
        "\"{name}\" ok {:.3}ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
}
