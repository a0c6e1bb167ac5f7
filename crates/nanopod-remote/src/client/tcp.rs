//! Calls over TCP: pooled connections for calls of values, a connection
//! of its own for each call with streams.

use super::{CallError, Client};
use crate::stream::{self, Arrived, Demux};
use crate::transport::Transport;
use crate::wire::frame::Decode;
use crate::wire::{WireError, frame};
use futures::channel::{mpsc, oneshot};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// Idle connections kept per exporter.
const MAX_IDLE: usize = 32;

pub(super) type Connection = BufReader<TcpStream>;

/// How one request/answer exchange on a connection failed.
enum Exchange {
    /// The connection failed before a single byte of the answer arrived.
    Unanswered(WireError),
    /// It failed later, or the answer was wrong.
    Failed(WireError),
}

impl Exchange {
    fn into_error(self) -> CallError {
        match self {
            Exchange::Unanswered(e) | Exchange::Failed(e) => CallError::Wire(e),
        }
    }
}

/// Sends `request` on `conn` and reads the results.
async fn exchange<D: Decode>(
    conn: &mut Connection,
    request: &[u8],
    decode: &D,
) -> Result<D::Out, Exchange> {
    let unanswered = |e: std::io::Error| Exchange::Unanswered(e.into());
    conn.get_mut()
        .write_all(request)
        .await
        .map_err(unanswered)?;
    if conn.fill_buf().await.map_err(unanswered)?.is_empty() {
        return Err(Exchange::Unanswered(WireError::Closed));
    }
    frame::read_root(conn, decode)
        .await
        .map_err(Exchange::Failed)
}

/// Aborts a task when dropped, unless it has been let go (set to `None`).
struct AbortOnDrop(Option<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

impl Client {
    pub(super) async fn call_tcp<D: Decode>(
        &self,
        addr: &str,
        request: &[u8],
        decode: &D,
    ) -> Result<D::Out, CallError> {
        let (mut conn, reused) = match self.idle_connection() {
            Some(conn) => (conn, true),
            None => (self.connect(addr).await?, false),
        };
        let results = match exchange(&mut conn, request, decode).await {
            // The exporter had closed the idle connection before it could
            // see this call (a plain wRPC server closes after every call,
            // and the close may not have arrived when the connection was
            // checked): nothing ran, so the call goes on a new connection.
            Err(Exchange::Unanswered(e)) if reused => {
                tracing::debug!("a pooled connection was closed ({e}); connecting again");
                conn = self.connect(addr).await?;
                exchange(&mut conn, request, decode)
                    .await
                    .map_err(Exchange::into_error)?
            }
            other => other.map_err(Exchange::into_error)?,
        };
        self.put_back(conn);
        Ok(results)
    }

    /// Calls `instance#func`, whose top-level `stream<u8>` parameters are
    /// sent as their chunks arrive on `param_streams` (framed, by index),
    /// over a connection of its own. Returns once the results' root message
    /// arrived (within the link's timeout); result streams then arrive
    /// chunk by chunk, each chunk within the timeout of the last.
    pub async fn call_streaming(
        &self,
        instance: &str,
        func: &str,
        params: (&[Val], &[Type]),
        param_streams: Vec<(u32, mpsc::Receiver<Vec<u8>>)>,
        result_types: &[Type],
    ) -> Result<Vec<Arrived>, CallError> {
        let Transport::Tcp { addr } = &self.endpoint.transport else {
            return Err(CallError::Wire(WireError::Protocol(
                "streams cross hosts over tcp:// links only".into(),
            )));
        };
        let mut request = Vec::new();
        frame::put_header(&mut request, instance, func);
        frame::put_message(&mut request, params.0, params.1).map_err(WireError::from)?;
        let patience = self.endpoint.timeout;
        let result_types = result_types.to_vec();
        // The connection's task outlives this call only once the results
        // are in: a call that times out or is dropped takes it down.
        let mut task = AbortOnDrop(None);
        let call = async {
            let (rd, mut wr) = self.connect(addr).await?.into_inner().into_split();
            wr.write_all(&request).await.map_err(WireError::from)?;
            let (answer, answered) = oneshot::channel();
            let handle = tokio::spawn(async move {
                let reader = async {
                    let mut rd = BufReader::new(rd);
                    let slots = match frame::read_slots(&mut rd, &result_types).await {
                        Ok(slots) => slots,
                        Err(e) => return drop(answer.send(Err(e))),
                    };
                    let mut demux = Demux::default();
                    let arrived = stream::arrive(slots, &mut demux);
                    if answer.send(Ok(arrived)).is_ok()
                        && let Err(e) = demux.run(&mut rd, patience).await
                    {
                        tracing::debug!("a result stream broke off: {e}");
                    }
                };
                // Once the exporter has answered it may close before taking
                // all of a stream: the reader has the last word.
                let (sent, ()) = tokio::join!(stream::send_all(wr, param_streams), reader);
                if let Err(e) = sent {
                    tracing::debug!("a parameter stream was not sent whole: {e}");
                }
            });
            task.0 = Some(handle.abort_handle());
            answered
                .await
                .map_err(|_| CallError::Wire(WireError::Closed))?
                .map_err(CallError::Wire)
        };
        let arrived = tokio::time::timeout(self.endpoint.timeout, call)
            .await
            .unwrap_or(Err(CallError::Timeout(self.endpoint.timeout)))?;
        task.0 = None;
        Ok(arrived)
    }

    /// An idle connection that still looks open.
    fn idle_connection(&self) -> Option<Connection> {
        loop {
            let conn = self.idle.lock().expect("pool lock").pop()?;
            // An exporter closes idle connections (and a plain wRPC server
            // closes after each call): a read that would block means open.
            let mut probe = [0u8];
            if conn.buffer().is_empty()
                && matches!(conn.get_ref().try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            {
                return Some(conn);
            }
        }
    }

    /// A new connection, with the token preamble sent if there is a token.
    async fn connect(&self, addr: &str) -> Result<Connection, CallError> {
        let connect = |e: std::io::Error| CallError::Connect(e.to_string());
        let mut stream = TcpStream::connect(addr).await.map_err(connect)?;
        stream.set_nodelay(true).map_err(connect)?;
        if let Some(token) = &self.endpoint.token {
            let mut preamble = Vec::new();
            frame::put_token(&mut preamble, token);
            stream.write_all(&preamble).await.map_err(WireError::from)?;
        }
        tracing::debug!("connected to {}", self.endpoint.url());
        Ok(BufReader::new(stream))
    }

    fn put_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().expect("pool lock");
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}
