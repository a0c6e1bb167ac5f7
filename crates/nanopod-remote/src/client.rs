//! The calling side of a remote link: a pool of connections to one
//! exporter, and one call at a time on each.

use crate::frame::{self, WireError};
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// Idle connections kept per exporter.
const MAX_IDLE: usize = 32;

/// Where a remote link points, and how long a call may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port`.
    pub addr: String,
    /// The longest a call may take, connecting included.
    pub timeout: Duration,
    /// The exporter's shared token, if it requires one.
    pub token: Option<String>,
}

impl Endpoint {
    /// Parses `tcp://host:port`.
    pub fn parse(url: &str, timeout: Duration, token: Option<String>) -> Result<Self, String> {
        let addr = match url.split_once("://") {
            Some(("tcp", addr)) if !addr.is_empty() && !addr.contains('/') => addr,
            Some(("nats", _)) => {
                return Err(format!(
                    "`{url}`: the NATS transport is not built yet; use `tcp://HOST:PORT`"
                ));
            }
            _ => return Err(format!("`{url}` is not a `tcp://HOST:PORT` address")),
        };
        if addr
            .rsplit_once(':')
            .is_none_or(|(_, port)| port.parse::<u16>().is_err())
        {
            return Err(format!("`{url}` has no port: write `tcp://HOST:PORT`"));
        }
        Ok(Endpoint {
            addr: addr.to_string(),
            timeout,
            token,
        })
    }

    /// `tcp://host:port`.
    pub fn url(&self) -> String {
        format!("tcp://{}", self.addr)
    }
}

/// Why a remote call did not return values.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No connection could be made.
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    /// The call did not finish within the link's timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed or the exporter answered wrongly.
    #[error(transparent)]
    Wire(#[from] WireError),
}

type Connection = BufReader<TcpStream>;

/// Calls functions of one exporter, reusing connections.
pub struct Client {
    endpoint: Endpoint,
    idle: Mutex<Vec<Connection>>,
}

impl Client {
    /// A client of `endpoint`; connects on first use.
    pub fn new(endpoint: Endpoint) -> Self {
        Client {
            endpoint,
            idle: Mutex::new(Vec::new()),
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
            let mut conn = self.connection().await?;
            conn.get_mut()
                .write_all(&request)
                .await
                .map_err(WireError::from)?;
            let results = frame::read_message(&mut conn, result_types).await?;
            self.put_back(conn);
            Ok(results)
        };
        tokio::time::timeout(self.endpoint.timeout, call)
            .await
            .unwrap_or(Err(CallError::Timeout(self.endpoint.timeout)))
    }

    /// An idle connection that is still open, or a new one.
    async fn connection(&self) -> Result<Connection, CallError> {
        loop {
            let Some(conn) = self.idle.lock().expect("pool lock").pop() else {
                break;
            };
            // An exporter closes idle connections (and a plain wRPC server
            // closes after each call): a read that would block means open.
            let mut probe = [0u8];
            if conn.buffer().is_empty()
                && matches!(conn.get_ref().try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            {
                return Ok(conn);
            }
        }
        let mut stream = TcpStream::connect(&self.endpoint.addr)
            .await
            .map_err(CallError::Connect)?;
        stream.set_nodelay(true).map_err(CallError::Connect)?;
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
        let t = Duration::from_secs(1);
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:7000", t, None)
                .unwrap()
                .addr,
            "127.0.0.1:7000"
        );
        assert_eq!(
            Endpoint::parse("tcp://geo.internal:80", t, None)
                .unwrap()
                .url(),
            "tcp://geo.internal:80"
        );
        for bad in [
            "127.0.0.1:7000",
            "tcp://127.0.0.1",
            "http://a:1",
            "tcp://a:1/x",
            "tcp://a:port",
        ] {
            assert!(Endpoint::parse(bad, t, None).is_err(), "{bad}");
        }
        assert!(
            Endpoint::parse("nats://x:4222", t, None)
                .unwrap_err()
                .contains("NATS")
        );
    }
}
