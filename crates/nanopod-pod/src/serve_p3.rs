//! WASI 0.3 `wasi:http/handler` components behind `nanopod serve`.
//!
//! A 0.3 middleware imports the handler it passes requests to, so a chain
//! `log → auth → app` is linked in `pod.toml` and composed statically into
//! one component: one instance per request for the whole chain, and fused
//! calls between its members. The request lifecycle (the guest may keep
//! writing the body after it returned the response) is run by
//! wasmtime-wasi-http's `ProxyHandler`, configured here to give every
//! request a fresh instance.

use nanopod_host::engine::{NO_DEADLINE, ticks_for};
use nanopod_host::{Grants, HostState};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use wasmtime::component::GuestTaskId;
use wasmtime::{Engine, Store, StoreContextMut};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, Proxy, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::p3::bindings::ServicePre;

/// How `ProxyHandler` makes instances of one 0.3 handler component.
pub struct FreshInstances {
    pub(crate) engine: Engine,
    pub(crate) pre: ServicePre<HostState>,
    pub(crate) grants: Grants,
}

impl HandlerState for FreshInstances {
    type StoreData = HostState;
    type WorkerExpiration = Expiry;
    type WorkerState = OneRequest;

    async fn instantiate(
        &self,
    ) -> wasmtime::Result<Instance<HostState, Self::WorkerExpiration, Self::WorkerState>> {
        let state = HostState::new(&self.grants).map_err(wasmtime::Error::from_anyhow)?;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(self.grants.limits.timeout.map_or(NO_DEADLINE, ticks_for));
        let proxy = Proxy::P3(self.pre.instantiate_async(&mut store).await?);
        let timeout = self.grants.limits.timeout;
        Ok(Instance {
            store,
            proxy,
            view: <HostState as WasiHttpView>::http,
            expiration: Expiry {
                timeout,
                sleep: Box::pin(tokio::time::sleep(Duration::MAX / 4)),
            },
            state: OneRequest { timeout },
        })
    }
}

/// A worker that takes one request and is then dropped: each request gets
/// its own instance and memory, as with WASI 0.2 handlers.
pub struct OneRequest {
    timeout: Option<Duration>,
}

impl WorkerState for OneRequest {
    type StoreData = HostState;
    type RequestData = ();

    fn should_accept_request(&self, _concurrent: usize, total: usize) -> ShouldAccept {
        if total == 0 {
            ShouldAccept::Yes
        } else {
            ShouldAccept::Never
        }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, HostState>,
        (): (),
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + 'static + Send + Sync>> {
        match self.timeout {
            Some(t) => Box::pin(tokio::time::sleep(t)),
            None => Box::pin(std::future::pending()),
        }
    }

    fn drop(&self, store: Store<HostState>, result: wasmtime::Result<()>) {
        if let Err(e) = result {
            tracing::debug!("a WASI 0.3 handler instance ended with: {e:#}");
        }
        drop(store);
    }
}

/// Drops an instance as soon as it is idle, and bounds a request by the
/// handler's `timeout`.
pub struct Expiry {
    timeout: Option<Duration>,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl WorkerExpiration for Expiry {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        status: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let me = self.get_mut();
        match (status, me.timeout) {
            (WorkerStatus::Idle, _) => Poll::Ready(()),
            (_, None) => Poll::Pending,
            (_, Some(timeout)) => {
                let deadline = tokio::time::Instant::from_std(start + timeout);
                if me.sleep.deadline() != deadline {
                    me.sleep.as_mut().reset(deadline);
                }
                me.sleep.as_mut().poll(cx)
            }
        }
    }
}
