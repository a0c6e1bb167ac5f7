//! The wRPC wire format, in layers: `leb128` integers, [`value`]s
//! encoded by their WIT types (and [`bulk`], the same bytes for the byte
//! fast path's values, without a `Val` per byte), [`frame`]s of an
//! invocation, and the [`buffers`] chunk-sized frames are read into. Nothing here knows of
//! connections, streams or transports.

pub mod buffers;
pub mod bulk;
pub mod frame;
pub(crate) mod leb128;
pub mod value;

use frame::MAX_MESSAGE;

/// Why a value could not be encoded or decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    /// The input ended inside a value.
    #[error("the message ends inside a value")]
    Truncated,
    /// Bytes were left over after the last value.
    #[error("{0} unexpected byte(s) after the last value")]
    Trailing(usize),
    /// The bytes are not a valid encoding of the expected type.
    #[error("malformed {what}")]
    Malformed {
        /// What was being read.
        what: &'static str,
    },
    /// A value of a type that cannot cross hosts.
    #[error("{0} values cannot cross hosts")]
    Unsupported(&'static str),
    /// The value does not have the type it was encoded as.
    #[error("a value does not match its WIT type ({0})")]
    Mismatch(String),
}

/// What went wrong on the wire.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Reading or writing the socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the connection before a whole message arrived.
    #[error("the peer closed the connection before a whole message arrived")]
    Closed,
    /// A message larger than [`MAX_MESSAGE`].
    #[error("a message larger than {} MiB was refused", MAX_MESSAGE >> 20)]
    TooLarge,
    /// The bytes do not decode as the expected values.
    #[error("malformed message: {0}")]
    Codec(#[from] CodecError),
    /// The peer broke the framing rules.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The exporter answered with an error frame.
    #[error("{0}")]
    Remote(String),
    /// The receiver holds as many message bytes as it allows, across all
    /// its connections; the reason is for the peer.
    #[error("{0}")]
    OverBudget(String),
}
