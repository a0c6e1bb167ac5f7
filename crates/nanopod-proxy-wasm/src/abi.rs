//! The numbers and byte layouts of the proxy-wasm ABI (0.2.1, also 0.2.0),
//! as the spec (proxy-wasm/spec `abi-versions/v0.2.1`) defines them and
//! the Rust SDK (`proxy-wasm` 0.2.5) and Envoy use them.

/// The export that marks a proxy-wasm module, newest first.
pub const ABI_MARKERS: [&str; 2] = ["proxy_abi_version_0_2_1", "proxy_abi_version_0_2_0"];

/// What a host call returns (`proxy_status_t`).
///
/// The Rust SDK knows only some of these and treats any other value as a
/// bug (its module panics), so nanopod returns `Unimplemented` only where
/// the spec says so and reports a bad argument as `BadArgument`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// No such key, header, property or queue.
    NotFound = 1,
    /// An argument is not valid here.
    BadArgument = 2,
    /// A value could not be serialized.
    SerializationFailure = 3,
    /// A value could not be parsed.
    ParseFailure = 4,
    /// A pointer outside the module's memory.
    InvalidMemoryAccess = 6,
    /// A shared queue is empty.
    Empty = 7,
    /// A shared data write lost a compare-and-swap.
    CasMismatch = 8,
    /// The host failed.
    InternalFailure = 10,
    /// The host does not implement the call.
    Unimplemented = 12,
}

/// The code `proxy_get_status` gives for an HTTP call that got no response
/// (`BrokenConnection`, as Envoy's host reports a reset).
pub const BROKEN_CONNECTION: u32 = 11;

/// What a filter callback returns (`proxy_action_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Go on to the next filter.
    Continue,
    /// Stop until the filter resumes the stream (or replies).
    Pause,
}

impl Action {
    /// The callback's return value: 0 continues, anything else stops (as
    /// Envoy reads it).
    pub fn from_wasm(value: i32) -> Self {
        if value == 0 {
            Action::Continue
        } else {
            Action::Pause
        }
    }
}

/// Which header map a call addresses (`proxy_map_type_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapType {
    /// The request's headers, pseudo-headers included.
    RequestHeaders,
    /// The request's trailers.
    RequestTrailers,
    /// The response's headers, `:status` included.
    ResponseHeaders,
    /// The response's trailers.
    ResponseTrailers,
    /// The headers of a `dispatch_http_call` response.
    HttpCallResponseHeaders,
    /// The trailers of a `dispatch_http_call` response.
    HttpCallResponseTrailers,
}

impl MapType {
    /// The map `value` names; gRPC metadata maps are `None`.
    pub fn from_wasm(value: i32) -> Option<Self> {
        Some(match value {
            0 => MapType::RequestHeaders,
            1 => MapType::RequestTrailers,
            2 => MapType::ResponseHeaders,
            3 => MapType::ResponseTrailers,
            6 => MapType::HttpCallResponseHeaders,
            7 => MapType::HttpCallResponseTrailers,
            _ => return None,
        })
    }
}

/// Which buffer a call addresses (`proxy_buffer_type_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferType {
    /// The request body (as buffered so far).
    RequestBody,
    /// The response body (as buffered so far).
    ResponseBody,
    /// The body of a `dispatch_http_call` response.
    HttpCallResponseBody,
    /// The VM configuration (`vm-config`).
    VmConfiguration,
    /// The plugin configuration (`config`).
    PluginConfiguration,
}

impl BufferType {
    /// The buffer `value` names; TCP data, gRPC messages and foreign
    /// function arguments are `None`.
    pub fn from_wasm(value: i32) -> Option<Self> {
        Some(match value {
            0 => BufferType::RequestBody,
            1 => BufferType::ResponseBody,
            4 => BufferType::HttpCallResponseBody,
            6 => BufferType::VmConfiguration,
            7 => BufferType::PluginConfiguration,
            _ => return None,
        })
    }
}

/// Which stream `proxy_continue_stream` resumes (`proxy_stream_type_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamType {
    /// The request.
    Request,
    /// The response.
    Response,
}

impl StreamType {
    /// The stream `value` names; TCP streams are `None`.
    pub fn from_wasm(value: i32) -> Option<Self> {
        match value {
            0 => Some(StreamType::Request),
            1 => Some(StreamType::Response),
            _ => None,
        }
    }
}

/// A metric's kind (`proxy_metric_type_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    /// Only goes up.
    Counter,
    /// Goes up and down, or is set.
    Gauge,
    /// A distribution of recorded values.
    Histogram,
}

impl MetricType {
    /// The kind `value` names.
    pub fn from_wasm(value: i32) -> Option<Self> {
        match value {
            0 => Some(MetricType::Counter),
            1 => Some(MetricType::Gauge),
            2 => Some(MetricType::Histogram),
            _ => None,
        }
    }
}

/// The largest map nanopod reads from a module (as Envoy's host limits it).
pub const MAX_PAIRS: usize = 1024;

/// Serializes `pairs` as the ABI's map layout: the count, every key and
/// value length (little-endian u32s), then each key and value with a NUL
/// after it. An empty map is empty bytes (the Rust SDK cannot read a
/// one-byte empty map).
pub fn serialize_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Vec<u8> {
    if pairs.is_empty() {
        return Vec::new();
    }
    let data: usize = pairs
        .iter()
        .map(|(k, v)| k.as_ref().len() + v.as_ref().len() + 2)
        .sum();
    let mut out = Vec::with_capacity(4 + pairs.len() * 8 + data);
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.as_ref().len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.as_ref().len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
    out
}

/// Reads the ABI's map layout; `None` when the bytes are not one (wrong
/// lengths, missing NULs, trailing bytes, more than [`MAX_PAIRS`] pairs).
pub fn deserialize_pairs(bytes: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    if bytes.is_empty() || bytes == [0] {
        return Some(Vec::new());
    }
    let u32_at = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at + 4)?;
        Some(u32::from_le_bytes(b.try_into().ok()?) as usize)
    };
    let n = u32_at(0)?;
    if n > MAX_PAIRS {
        return None;
    }
    let mut sizes = Vec::with_capacity(n);
    for i in 0..n {
        sizes.push((u32_at(4 + i * 8)?, u32_at(8 + i * 8)?));
    }
    let mut at = 4 + n * 8;
    let mut take = |len: usize| -> Option<Vec<u8>> {
        let end = at.checked_add(len)?;
        let field = bytes.get(at..end)?.to_vec();
        if bytes.get(end) != Some(&0) {
            return None;
        }
        at = end + 1;
        Some(field)
    };
    let mut pairs = Vec::with_capacity(n);
    for (k, v) in sizes {
        let key = take(k)?;
        let value = take(v)?;
        pairs.push((key, value));
    }
    (at == bytes.len()).then_some(pairs)
}

/// A property path (`request\0path`) as its segments.
pub fn property_path(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split(|b| *b == 0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_laid_out_as_the_spec_says() {
        let bytes = serialize_pairs(&[(":method", "GET")]);
        assert_eq!(
            bytes,
            [
                1, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0, b':', b'm', b'e', b't', b'h', b'o', b'd', 0,
                b'G', b'E', b'T', 0
            ]
        );
        let pairs = [("a", ""), ("b", "two")];
        let back = deserialize_pairs(&serialize_pairs(&pairs)).unwrap();
        assert_eq!(
            back,
            [
                (b"a".to_vec(), b"".to_vec()),
                (b"b".to_vec(), b"two".to_vec())
            ]
        );
        assert!(serialize_pairs::<&str, &str>(&[]).is_empty());
        assert_eq!(deserialize_pairs(&[]), Some(Vec::new()));
        assert_eq!(deserialize_pairs(&[0, 0, 0, 0]), Some(Vec::new()));
    }

    #[test]
    fn malformed_maps_are_refused_not_trusted() {
        let good = serialize_pairs(&[("k", "v")]);
        for bad in [
            &good[..good.len() - 1],               // missing the last NUL
            &[good.as_slice(), &[9]].concat()[..], // trailing byte
            &[255, 255, 255, 255][..],             // absurd count
            &[1, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0][..],
        ] {
            assert_eq!(deserialize_pairs(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn property_paths_split_on_nul() {
        assert_eq!(
            property_path(b"request\0path"),
            [&b"request"[..], &b"path"[..]]
        );
        assert_eq!(property_path(b"plugin_name"), [&b"plugin_name"[..]]);
    }
}
