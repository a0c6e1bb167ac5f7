//! The calling side of a remote link: over TCP, a pool of connections to
//! one exporter, one call at a time on each; over NATS, requests to a
//! subject that a queue group of exporters serves.

use crate::frame::{self, WireError};
use crate::stream::{self, Arrived, Demux};
use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::OnceCell;
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// Idle connections kept per exporter.
const MAX_IDLE: usize = 32;

/// How calls reach the exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// `tcp://HOST:PORT`: one exporter, connections pooled.
    Tcp {
        /// `host:port`.
        addr: String,
    },
    /// `nats://HOST:PORT/SUBJECT`: requests on SUBJECT, answered by any one
    /// exporter of the queue group subscribed to it.
    Nats {
        /// The NATS server, `host:port`.
        server: String,
        /// The subject the exporters serve.
        subject: String,
    },
}

/// Where a remote link points, and how long a call may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// How calls travel.
    pub transport: Transport,
    /// The longest a call may take, connecting included.
    pub timeout: Duration,
    /// The exporter's shared token, if it requires one.
    pub token: Option<String>,
}

impl Transport {
    /// Parses `tcp://HOST:PORT` or `nats://HOST:PORT/SUBJECT`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let host_port = |addr: &str| {
            if addr.is_empty()
                || addr
                    .rsplit_once(':')
                    .is_none_or(|(_, port)| port.parse::<u16>().is_err())
            {
                Err(format!(
                    "`{url}` has no port: write `tcp://HOST:PORT` or `nats://HOST:PORT/SUBJECT`"
                ))
            } else {
                Ok(addr.to_string())
            }
        };
        match url.split_once("://") {
            Some(("tcp", addr)) if !addr.contains('/') => Ok(Transport::Tcp {
                addr: host_port(addr)?,
            }),
            Some(("nats", rest)) => {
                let (server, subject) = rest.split_once('/').unwrap_or((rest, ""));
                let valid = !subject.is_empty()
                    && subject
                        .split('.')
                        .all(|t| !t.is_empty() && !t.contains(['*', '>', ' ', '/']));
                if !valid {
                    return Err(format!(
                        "`{url}` needs a subject without wildcards: write `nats://HOST:PORT/SUBJECT`"
                    ));
                }
                Ok(Transport::Nats {
                    server: host_port(server)?,
                    subject: subject.to_string(),
                })
            }
            _ => Err(format!(
                "`{url}` is not `tcp://HOST:PORT` or `nats://HOST:PORT/SUBJECT`"
            )),
        }
    }

    /// The URL it was parsed from.
    pub fn url(&self) -> String {
        match self {
            Transport::Tcp { addr } => format!("tcp://{addr}"),
            Transport::Nats { server, subject } => format!("nats://{server}/{subject}"),
        }
    }
}

impl Endpoint {
    /// Parses `url` (see [`Transport::parse`]).
    pub fn parse(url: &str, timeout: Duration, token: Option<String>) -> Result<Self, String> {
        Ok(Endpoint {
            transport: Transport::parse(url)?,
            timeout,
            token,
        })
    }

    /// Its URL.
    pub fn url(&self) -> String {
        self.transport.url()
    }
}

/// Why a remote call did not return values.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No connection could be made.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The call did not finish within the link's timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Nobody serves the NATS subject.
    #[error("no exporter serves this subject")]
    NoResponders,
    /// The NATS exporter serving the call stopped sending heartbeats.
    #[error("the exporter stopped answering (no heartbeat for {0:?}): it may have died mid-call")]
    Silent(Duration),
    /// The connection failed or the exporter answered wrongly.
    #[error(transparent)]
    Wire(#[from] WireError),
}

type Connection = BufReader<TcpStream>;

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
async fn exchange(
    conn: &mut Connection,
    request: &[u8],
    result_types: &[Type],
) -> Result<Vec<Val>, Exchange> {
    let unanswered = |e: std::io::Error| Exchange::Unanswered(e.into());
    conn.get_mut()
        .write_all(request)
        .await
        .map_err(unanswered)?;
    if conn.fill_buf().await.map_err(unanswered)?.is_empty() {
        return Err(Exchange::Unanswered(WireError::Closed));
    }
    frame::read_message(conn, result_types)
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

/// Calls functions of one exporter (or queue group).
pub struct Client {
    endpoint: Endpoint,
    idle: Mutex<Vec<Connection>>,
    nats: OnceCell<async_nats::Client>,
}

impl Client {
    /// A client of `endpoint`; connects on first use.
    pub fn new(endpoint: Endpoint) -> Self {
        Client {
            endpoint,
            idle: Mutex::new(Vec::new()),
            nats: OnceCell::new(),
        }
    }

    /// The exporter's address.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Calls `instance#func` with `params` and returns its results.
    pub async fn call(
        &self,
        instance: &str,
        func: &str,
        params: (&[Val], &[Type]),
        result_types: &[Type],
    ) -> Result<Vec<Val>, CallError> {
        let mut request = Vec::new();
        frame::put_header(&mut request, instance, func);
        frame::put_message(&mut request, params.0, params.1).map_err(WireError::from)?;
        let call = async {
            match &self.endpoint.transport {
                Transport::Tcp { addr } => self.call_tcp(addr, &request, result_types).await,
                Transport::Nats { server, subject } => {
                    self.call_nats(server, subject, request, result_types).await
                }
            }
        };
        tokio::time::timeout(self.endpoint.timeout, call)
            .await
            .unwrap_or(Err(CallError::Timeout(self.endpoint.timeout)))
    }

    async fn call_tcp(
        &self,
        addr: &str,
        request: &[u8],
        result_types: &[Type],
    ) -> Result<Vec<Val>, CallError> {
        let (mut conn, reused) = match self.idle_connection() {
            Some(conn) => (conn, true),
            None => (self.connect(addr).await?, false),
        };
        let results = match exchange(&mut conn, request, result_types).await {
            // The exporter had closed the idle connection before it could
            // see this call (a plain wRPC server closes after every call,
            // and the close may not have arrived when the connection was
            // checked): nothing ran, so the call goes on a new connection.
            Err(Exchange::Unanswered(e)) if reused => {
                tracing::debug!("a pooled connection was closed ({e}); connecting again");
                conn = self.connect(addr).await?;
                exchange(&mut conn, request, result_types)
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

    /// One NATS request: the token (if any) and the invocation in one
    /// message, the results (or an error frame) in the reply.
    async fn call_nats(
        &self,
        server: &str,
        subject: &str,
        invocation: Vec<u8>,
        result_types: &[Type],
    ) -> Result<Vec<Val>, CallError> {
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
            frame::NATS_HEARTBEAT_HEADER,
            frame::NATS_HEARTBEAT.as_millis().to_string().as_str(),
        );
        client
            .publish_with_reply_and_headers(subject.to_string(), inbox, headers, payload.into())
            .await
            .map_err(|e| lost(&e))?;
        loop {
            let reply = tokio::time::timeout(frame::NATS_SILENCE, replies.next())
                .await
                .map_err(|_| CallError::Silent(frame::NATS_SILENCE))?
                .ok_or_else(|| lost(&"the connection to the NATS server closed"))?;
            if reply.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
                return Err(CallError::NoResponders);
            }
            let heartbeat = reply
                .headers
                .as_ref()
                .is_some_and(|h| h.get(frame::NATS_STATUS_HEADER).is_some());
            if !heartbeat {
                return Ok(frame::read_message(&mut &reply.payload[..], result_types).await?);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_or_say_what_to_write() {
        let tcp = Transport::parse("tcp://127.0.0.1:7000").unwrap();
        assert_eq!(
            tcp,
            Transport::Tcp {
                addr: "127.0.0.1:7000".into()
            }
        );
        assert_eq!(
            Transport::parse("tcp://geo.internal:80").unwrap().url(),
            "tcp://geo.internal:80"
        );
        let nats = Transport::parse("nats://127.0.0.1:4222/pod.geo").unwrap();
        assert_eq!(
            nats,
            Transport::Nats {
                server: "127.0.0.1:4222".into(),
                subject: "pod.geo".into()
            }
        );
        assert_eq!(nats.url(), "nats://127.0.0.1:4222/pod.geo");
        for bad in [
            "127.0.0.1:7000",
            "tcp://127.0.0.1",
            "http://a:1",
            "tcp://a:1/x",
            "tcp://a:port",
            "nats://a:4222",
            "nats://a:4222/geo.*",
            "nats://a:4222/geo..x",
            "nats://a/geo",
        ] {
            assert!(Transport::parse(bad).is_err(), "{bad}");
        }
    }
}
