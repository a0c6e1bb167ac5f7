//! The accept loop shared by nanopod's servers (`serve`, `export`): accept
//! until told to stop, then let open connections finish; and which of a
//! server's per-worker resources the current thread should use.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Told to a connection when the server stops accepting: finish what is in
/// flight, then close.
pub type Stopping = watch::Receiver<bool>;

/// How long connections in flight may take to finish once a server is
/// told to stop; past it they are cut.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Accepts connections on `listener` and runs `handle` on each (with
/// `TCP_NODELAY` set) until `shutdown` completes; then stops accepting,
/// signals every connection through its [`Stopping`], and waits for them
/// up to [`SHUTDOWN_GRACE`], after which the rest are cut.
pub async fn accept_until<F, Fut>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    handle: F,
) where
    F: Fn(TcpStream, SocketAddr, Stopping) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors, say: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Nagle's algorithm holds small answers back by up to 40 ms.
        let _ = stream.set_nodelay(true);
        connections.spawn(handle(stream, peer, stopping.clone()));
        // Reap finished connections so a long-running server does not
        // accumulate their results.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    tracing::info!(
        "shutting down: finishing {} open connection(s)",
        connections.len()
    );
    let _ = stop.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "cutting {} connection(s) still open after {}s",
            connections.len(),
            SHUTDOWN_GRACE.as_secs()
        );
        connections.shutdown().await;
    }
}

/// Which of `n` per-worker resources (a filter's VMs, a pool's shards)
/// the current thread should use: threads are numbered as they first ask,
/// so a server's worker threads each get their own, as Envoy gives each
/// worker its own filter VM. Keeping a resource on one thread keeps its
/// memory in that core's cache and off the other workers' locks.
pub fn worker_slot(n: usize) -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static NUMBER: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    NUMBER.with(|number| number % n.max(1))
}
