//! WASI 0.3 `wasi:http/handler` components behind `nanopod serve`.
//!
//! A 0.3 middleware imports the handler it passes requests to, so a chain
//! `log → auth → app` is linked in `pod.toml` and composed statically into
//! one component: one instance per request for the whole chain, and fused
//! calls between its members. The request lifecycle (the guest may keep
//! writing the body after it returned the response) is run by
//! wasmtime-wasi-http's `ProxyHandler`, configured here to give every
//! request a fresh instance, or, with `serve --reuse N`, to let one
//! instance handle up to N requests in turn.
//!
//! Time limits follow nanopod's one model: each request's deadline is its
//! start plus `timeout`, set on the store when the request starts (so a
//! reused instance gets a new one) and given to `ProxyHandler`'s expiry
//! hooks, which it requires as well.

use nanopod_host::store::Guarded;
use nanopod_host::{Deadline, Grants, HostEngine, HostState};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use wasmtime::component::GuestTaskId;
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, Proxy, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::p3::bindings::ServicePre;

/// How long an instance that may serve more requests is kept while idle.
const IDLE_INSTANCE_TIMEOUT: Duration = Duration::from_secs(1);

/// How `ProxyHandler` makes instances of one 0.3 handler component.
pub(crate) struct Instances {
    engine: HostEngine,
    pre: ServicePre<HostState>,
    grants: Grants,
    /// Requests one instance handles, one after another (1: a fresh
    /// instance per request).
    requests_per_instance: usize,
}

impl Instances {
    pub(crate) fn new(
        engine: HostEngine,
        pre: ServicePre<HostState>,
        grants: Grants,
        requests_per_instance: usize,
    ) -> Self {
        Instances {
            engine,
            pre,
            grants,
            requests_per_instance: requests_per_instance.max(1),
        }
    }

    /// The same component, with instances taking up to `requests` requests.
    pub(crate) fn with_requests_per_instance(&self, requests: usize) -> Self {
        Instances::new(
            self.engine.clone(),
            self.pre.clone(),
            self.grants.clone(),
            requests,
        )
    }
}

impl HandlerState for Instances {
    type StoreData = HostState;
    type WorkerExpiration = Expiry;
    type WorkerState = Requests;

    async fn instantiate(
        &self,
    ) -> wasmtime::Result<Instance<HostState, Self::WorkerExpiration, Self::WorkerState>> {
        let timeout = self.grants.limits.timeout;
        let mut store = self
            .engine
            .store(&self.grants, Deadline::after(timeout))
            .map_err(wasmtime::Error::new)?;
        let proxy = Proxy::P3(self.pre.instantiate_async(&mut store).await?);
        Ok(Instance {
            store,
            proxy,
            view: <HostState as WasiHttpView>::http,
            expiration: Expiry {
                timeout,
                reused: self.requests_per_instance > 1,
                sleep: Box::pin(tokio::time::sleep(Duration::MAX / 4)),
            },
            state: Requests {
                timeout,
                at_most: self.requests_per_instance,
            },
        })
    }
}

/// A worker that takes `at_most` requests, one at a time, and is then
/// dropped. With one, each request gets its own instance and memory, as
/// with WASI 0.2 handlers.
pub(crate) struct Requests {
    timeout: Option<Duration>,
    at_most: usize,
}

impl WorkerState for Requests {
    type StoreData = HostState;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.at_most {
            ShouldAccept::Never
        } else if concurrent > 0 {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        mut store: StoreContextMut<'_, HostState>,
        (): (),
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + 'static + Send + Sync>> {
        // The deadline counts from this request's start, not from the
        // instance's: a reused instance may be older.
        let deadline = Deadline::after(self.timeout);
        store.data_mut().guard().restart(deadline);
        match deadline.instant() {
            Some(at) => Box::pin(tokio::time::sleep_until(at.into())),
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

/// Drops an instance as soon as it is idle (or, when it may serve more
/// requests, once it has been idle for a second), and bounds a request by
/// the handler's `timeout` from its start (the second line of defence
/// `ProxyHandler` asks for).
pub(crate) struct Expiry {
    timeout: Option<Duration>,
    reused: bool,
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
        let limit = match (status, me.timeout) {
            (WorkerStatus::Idle, _) if !me.reused => return Poll::Ready(()),
            (WorkerStatus::Idle, _) => IDLE_INSTANCE_TIMEOUT,
            (_, None) => return Poll::Pending,
            (_, Some(timeout)) => timeout,
        };
        let deadline = tokio::time::Instant::from_std(start + limit);
        if me.sleep.deadline() != deadline {
            me.sleep.as_mut().reset(deadline);
        }
        me.sleep.as_mut().poll(cx)
    }
}
