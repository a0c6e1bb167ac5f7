//! Where a remote link points: `tcp://HOST:PORT` or
//! `nats://HOST:PORT/SUBJECT`, how long a call may take, and the token an
//! exporter requires, read from a file by the one rule both ends share.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a remote call may take when its link sets no `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// NATS header by which a caller asks the exporter to send heartbeats while
/// its call runs; the value is the interval in milliseconds.
pub const NATS_HEARTBEAT_HEADER: &str = "Nanopod-Heartbeat";
/// NATS header that marks a heartbeat (its payload is empty).
pub const NATS_STATUS_HEADER: &str = "Nanopod-Status";
/// How often an exporter says it is still working on a NATS call.
pub const NATS_HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a NATS caller waits without a word from the exporter before it
/// gives the call up: NATS never says that the member serving a request
/// died, so silence is how a caller hears it.
pub const NATS_SILENCE: Duration = Duration::from_secs(3);

/// A URL that is not a transport nanopod speaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// No port, or a port that is not a number.
    #[error("`{0}` has no port: write `tcp://HOST:PORT` or `nats://HOST:PORT/SUBJECT`")]
    NoPort(String),
    /// A NATS URL without a usable subject.
    #[error("`{0}` needs a subject without wildcards: write `nats://HOST:PORT/SUBJECT`")]
    BadSubject(String),
    /// Neither scheme.
    #[error("`{0}` is not `tcp://HOST:PORT` or `nats://HOST:PORT/SUBJECT`")]
    Scheme(String),
}

/// A token file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// It cannot be read.
    #[error("cannot read `{}`", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It holds nothing but white space: a token must not be empty.
    #[error("`{}` is empty", .0.display())]
    Empty(PathBuf),
}

/// Reads the token in `path`: its text without surrounding white space,
/// which must not be empty. Exporters and links read tokens this one way.
pub fn read_token(path: &Path) -> Result<String, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokenError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenError::Empty(path.to_path_buf()));
    }
    Ok(token.to_string())
}

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
    pub fn parse(url: &str) -> Result<Self, EndpointError> {
        let host_port = |addr: &str| {
            if addr.is_empty()
                || addr
                    .rsplit_once(':')
                    .is_none_or(|(_, port)| port.parse::<u16>().is_err())
            {
                Err(EndpointError::NoPort(url.to_string()))
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
                    return Err(EndpointError::BadSubject(url.to_string()));
                }
                Ok(Transport::Nats {
                    server: host_port(server)?,
                    subject: subject.to_string(),
                })
            }
            _ => Err(EndpointError::Scheme(url.to_string())),
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
    pub fn parse(
        url: &str,
        timeout: Duration,
        token: Option<String>,
    ) -> Result<Self, EndpointError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_read_trimmed_and_never_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, " s3cret\n").unwrap();
        assert_eq!(read_token(&file).unwrap(), "s3cret");
        std::fs::write(&file, " \n").unwrap();
        assert!(matches!(read_token(&file), Err(TokenError::Empty(_))));
        let missing = dir.path().join("missing");
        assert!(matches!(
            read_token(&missing),
            Err(TokenError::Unreadable { .. })
        ));
    }

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
