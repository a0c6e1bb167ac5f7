//! What a filter sees of one HTTP stream while its callbacks run: the
//! request and response heads (with the `:method`, `:path`,
//! `:authority`, `:scheme` and `:status` pseudo-headers), trailers, the
//! body buffered so far, and what the filter asked for (a local reply, a
//! resumed stream, HTTP calls).

use crate::abi::{MapType, Status};
use crate::upstream::{CallResponse, PendingCall};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Uri};
use std::borrow::Cow;
use std::cell::OnceCell;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// A reply the filter made itself (`proxy_send_local_response`).
#[derive(Debug, Clone)]
pub(crate) struct LocalResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
}

/// Facts about the stream that properties expose.
#[derive(Debug)]
pub(crate) struct StreamInfo {
    /// The client's `x-request-id`, or one made when a filter first asks.
    request_id: OnceCell<String>,
    pub(crate) started: SystemTime,
    pub(crate) peer: Option<SocketAddr>,
}

impl StreamInfo {
    /// The facts of a stream starting now with `headers`, from `peer`.
    pub(crate) fn new(headers: &HeaderMap, peer: Option<SocketAddr>) -> Self {
        let request_id = OnceCell::new();
        if let Some(id) = headers.get("x-request-id").and_then(|v| v.to_str().ok()) {
            let _ = request_id.set(id.to_string());
        }
        StreamInfo {
            request_id,
            started: SystemTime::now(),
            peer,
        }
    }

    /// The request's id (`request.id`): its `x-request-id`, or a new
    /// UUID made the first time it is asked for.
    pub(crate) fn request_id(&self) -> &str {
        self.request_id.get_or_init(new_request_id)
    }
}

/// A version-4-shaped UUID, unique in this process: a counter through a
/// bijective mix, keyed by a random seed drawn once. (Request ids must be
/// unique, not secret; a system call per request would cost more than a
/// filter's callbacks.)
fn new_request_id() -> String {
    static SEED: OnceLock<[u64; 2]> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = SEED.get_or_init(|| {
        let mut bytes = [0u8; 16];
        let _ = getrandom::fill(&mut bytes);
        let half = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
        [half(&bytes[..8]), half(&bytes[8..])]
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let high = splitmix(n ^ seed[0]);
    let low = splitmix(n.wrapping_add(seed[1]));
    let mut id = (u128::from(high) << 64) | u128::from(low);
    // Version 4, variant 1.
    id = (id & !(0xf << 76)) | (0x4 << 76);
    id = (id & !(0x3 << 62)) | (0x2 << 62);
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(36);
    for (i, byte) in id.to_be_bytes().iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

/// A bijection on 64 bits that scatters neighbouring inputs
/// (SplitMix64's finalizer).
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A stream's state, boxed: moving it into a VM for each callback moves a
/// pointer, not the heads.
pub(crate) type Stream = Box<StreamState>;

/// The state of one HTTP stream, moved into the VM for each callback.
#[derive(Default)]
pub(crate) struct StreamState {
    pub(crate) request: Option<http::request::Parts>,
    pub(crate) request_trailers: Option<HeaderMap>,
    pub(crate) response: Option<http::response::Parts>,
    pub(crate) response_trailers: Option<HeaderMap>,
    pub(crate) request_body: Vec<u8>,
    pub(crate) response_body: Vec<u8>,
    pub(crate) local_response: Option<LocalResponse>,
    /// `proxy_continue_stream` was called for the request / the response.
    pub(crate) resumed: [bool; 2],
    /// HTTP calls dispatched and not answered yet.
    pub(crate) calls: Vec<PendingCall>,
    /// The answer being delivered in `proxy_on_http_call_response`.
    pub(crate) call_response: Option<CallResponse>,
    /// Properties the filter set.
    pub(crate) properties: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) info: Option<StreamInfo>,
}

/// A header map of the stream, whichever kind.
enum Map<'a> {
    Request(&'a mut http::request::Parts),
    Response(&'a mut http::response::Parts),
    Fields(&'a mut HeaderMap),
    Call(&'a CallResponse, bool),
}

impl StreamState {
    /// The headers of map `which` as name/value pairs, pseudo-headers first;
    /// `None` when the map does not exist (yet).
    pub(crate) fn pairs(&mut self, which: MapType) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        let fields = match self.map(which)? {
            Map::Request(p) => {
                out.push((b":method".to_vec(), p.method.as_str().as_bytes().to_vec()));
                out.push((b":path".to_vec(), path_of(&p.uri).as_bytes().to_vec()));
                if let Some(a) = authority_of(p) {
                    out.push((b":authority".to_vec(), a.as_bytes().to_vec()));
                }
                out.push((b":scheme".to_vec(), scheme_of(&p.uri).as_bytes().to_vec()));
                &p.headers
            }
            Map::Response(p) => {
                out.push((b":status".to_vec(), p.status.as_str().as_bytes().to_vec()));
                &p.headers
            }
            Map::Fields(h) => &*h,
            Map::Call(c, trailers) => {
                if !trailers {
                    out.push((b":status".to_vec(), c.status.to_string().into_bytes()));
                }
                return Some(
                    out.into_iter()
                        .chain(
                            if trailers { &c.trailers } else { &c.headers }
                                .iter()
                                .cloned(),
                        )
                        .collect(),
                );
            }
        };
        out.extend(
            fields
                .iter()
                .map(|(k, v)| (k.as_str().as_bytes().to_vec(), v.as_bytes().to_vec())),
        );
        Some(out)
    }

    /// How many pairs [`pairs`](Self::pairs) would give (0 for a map that
    /// does not exist yet), without building them.
    pub(crate) fn count(&mut self, which: MapType) -> usize {
        match self.map(which) {
            None => 0,
            Some(Map::Request(p)) => {
                let authority = usize::from(authority_of(p).is_some());
                3 + authority + p.headers.len()
            }
            Some(Map::Response(p)) => 1 + p.headers.len(),
            Some(Map::Fields(h)) => h.len(),
            Some(Map::Call(c, true)) => c.trailers.len(),
            Some(Map::Call(c, false)) => 1 + c.headers.len(),
        }
    }

    /// The first value of `name` in map `which`.
    pub(crate) fn get(&mut self, which: MapType, name: &[u8]) -> Result<Vec<u8>, Status> {
        let name = lower(name);
        let name: &[u8] = &name;
        let value = match self.map(which).ok_or(Status::NotFound)? {
            Map::Request(p) => match name {
                b":method" => Some(p.method.as_str().as_bytes().to_vec()),
                b":path" => Some(path_of(&p.uri).as_bytes().to_vec()),
                b":authority" => authority_of(p).map(|a| a.as_bytes().to_vec()),
                b":scheme" => Some(scheme_of(&p.uri).as_bytes().to_vec()),
                _ => field(&p.headers, name),
            },
            Map::Response(p) => match name {
                b":status" => Some(p.status.as_str().as_bytes().to_vec()),
                _ => field(&p.headers, name),
            },
            Map::Fields(h) => field(h, name),
            Map::Call(c, trailers) => {
                if !trailers && name == b":status" {
                    Some(c.status.to_string().into_bytes())
                } else {
                    let list = if trailers { &c.trailers } else { &c.headers };
                    list.iter()
                        .find(|(k, _)| k.as_slice() == name)
                        .map(|(_, v)| v.clone())
                }
            }
        };
        value.ok_or(Status::NotFound)
    }

    /// Sets (`replace`) or adds a value of `name` in map `which`.
    pub(crate) fn set(
        &mut self,
        which: MapType,
        name: &[u8],
        value: &[u8],
        replace: bool,
    ) -> Result<(), Status> {
        let name = lower(name);
        let name: &[u8] = &name;
        match self.map(which).ok_or(Status::BadArgument)? {
            Map::Request(p) if name.starts_with(b":") => set_request_pseudo(p, name, value),
            Map::Response(p) if name == b":status" => {
                let code = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse::<u16>().ok())
                    .and_then(|c| StatusCode::from_u16(c).ok())
                    .ok_or(Status::BadArgument)?;
                p.status = code;
                Ok(())
            }
            Map::Response(_) if name.starts_with(b":") => Err(Status::BadArgument),
            Map::Request(p) => put(&mut p.headers, name, value, replace),
            Map::Response(p) => put(&mut p.headers, name, value, replace),
            Map::Fields(h) => put(h, name, value, replace),
            Map::Call(..) => Err(Status::BadArgument),
        }
    }

    /// Removes every value of `name` from map `which` (pseudo-headers
    /// stay).
    pub(crate) fn remove(&mut self, which: MapType, name: &[u8]) -> Result<(), Status> {
        let name = lower(name);
        let name: &[u8] = &name;
        if name.starts_with(b":") {
            return Ok(());
        }
        let Ok(name) = HeaderName::from_bytes(name) else {
            return Ok(());
        };
        match self.map(which).ok_or(Status::BadArgument)? {
            Map::Request(p) => drop(p.headers.remove(&name)),
            Map::Response(p) => drop(p.headers.remove(&name)),
            Map::Fields(h) => drop(h.remove(&name)),
            Map::Call(..) => return Err(Status::BadArgument),
        }
        Ok(())
    }

    /// Replaces map `which` with `pairs`.
    pub(crate) fn set_pairs(
        &mut self,
        which: MapType,
        pairs: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(), Status> {
        match self.map(which).ok_or(Status::BadArgument)? {
            Map::Request(p) => p.headers.clear(),
            Map::Response(p) => p.headers.clear(),
            Map::Fields(h) => h.clear(),
            Map::Call(..) => return Err(Status::BadArgument),
        }
        for (k, v) in pairs {
            self.set(which, k, v, false)?;
        }
        Ok(())
    }

    fn map(&mut self, which: MapType) -> Option<Map<'_>> {
        Some(match which {
            MapType::RequestHeaders => Map::Request(self.request.as_mut()?),
            MapType::ResponseHeaders => Map::Response(self.response.as_mut()?),
            MapType::RequestTrailers => {
                Map::Fields(self.request_trailers.get_or_insert_with(HeaderMap::new))
            }
            MapType::ResponseTrailers => {
                Map::Fields(self.response_trailers.get_or_insert_with(HeaderMap::new))
            }
            MapType::HttpCallResponseHeaders => Map::Call(self.call_response.as_ref()?, false),
            MapType::HttpCallResponseTrailers => Map::Call(self.call_response.as_ref()?, true),
        })
    }
}

/// `name` in lower case (borrowed when it is already).
fn lower(name: &[u8]) -> Cow<'_, [u8]> {
    if name.iter().any(u8::is_ascii_uppercase) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

fn field(headers: &HeaderMap, name: &[u8]) -> Option<Vec<u8>> {
    // Looked up as text: `http` parses a `&str` name on the stack, where a
    // `HeaderName` of a non-standard name would be allocated.
    let name = std::str::from_utf8(name).ok()?;
    headers.get(name).map(|v| v.as_bytes().to_vec())
}

fn put(headers: &mut HeaderMap, name: &[u8], value: &[u8], replace: bool) -> Result<(), Status> {
    let name = HeaderName::from_bytes(name).map_err(|_| Status::BadArgument)?;
    let value = HeaderValue::from_bytes(value).map_err(|_| Status::BadArgument)?;
    if replace {
        headers.insert(name, value);
    } else {
        headers.append(name, value);
    }
    Ok(())
}

/// `:path`: the path and query.
pub(crate) fn path_of(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |p| p.as_str())
}

fn scheme_of(uri: &Uri) -> &str {
    uri.scheme_str().unwrap_or("http")
}

/// `:authority`: the URI's, else the `Host` header.
fn authority_of(p: &http::request::Parts) -> Option<&str> {
    p.uri.authority().map(|a| a.as_str()).or_else(|| {
        p.headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
    })
}

fn set_request_pseudo(
    p: &mut http::request::Parts,
    name: &[u8],
    value: &[u8],
) -> Result<(), Status> {
    let text = std::str::from_utf8(value).map_err(|_| Status::BadArgument)?;
    let mut uri = p.uri.clone().into_parts();
    match name {
        b":method" => {
            p.method = Method::from_bytes(value).map_err(|_| Status::BadArgument)?;
            return Ok(());
        }
        b":path" => uri.path_and_query = Some(text.parse().map_err(|_| Status::BadArgument)?),
        b":authority" => {
            uri.authority = Some(text.parse().map_err(|_| Status::BadArgument)?);
            if let Ok(host) = HeaderValue::from_str(text) {
                p.headers.insert(http::header::HOST, host);
            }
        }
        b":scheme" => uri.scheme = Some(text.parse().map_err(|_| Status::BadArgument)?),
        _ => return Err(Status::BadArgument),
    }
    p.uri = Uri::from_parts(uri).map_err(|_| Status::BadArgument)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_distinct_version_4_uuids() {
        let ids: Vec<String> = (0..1000).map(|_| new_request_id()).collect();
        for id in &ids {
            let groups: Vec<&str> = id.split('-').collect();
            assert_eq!(
                groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12],
                "{id}"
            );
            assert!(groups[2].starts_with('4'), "{id}");
            assert!(matches!(&groups[3][..1], "8" | "9" | "a" | "b"), "{id}");
            assert!(id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
        }
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }

    fn stream() -> StreamState {
        let (parts, ()) = http::Request::builder()
            .method("POST")
            .uri("http://example.test/items?x=1")
            .header("Authorization", "Bearer t")
            .header("x-a", "1")
            .header("x-a", "2")
            .body(())
            .unwrap()
            .into_parts();
        StreamState {
            request: Some(parts),
            ..Default::default()
        }
    }

    #[test]
    fn pseudo_headers_and_fields_are_one_map() {
        let mut s = stream();
        let get = |s: &mut StreamState, n: &[u8]| s.get(MapType::RequestHeaders, n);
        assert_eq!(get(&mut s, b":method").unwrap(), b"POST");
        assert_eq!(get(&mut s, b":path").unwrap(), b"/items?x=1");
        assert_eq!(get(&mut s, b":authority").unwrap(), b"example.test");
        assert_eq!(get(&mut s, b"authorization").unwrap(), b"Bearer t");
        assert_eq!(get(&mut s, b"X-A").unwrap(), b"1", "first value, any case");
        assert_eq!(get(&mut s, b"missing"), Err(Status::NotFound));
        let pairs = s.pairs(MapType::RequestHeaders).unwrap();
        assert_eq!(pairs[0], (b":method".to_vec(), b"POST".to_vec()));
        assert_eq!(pairs.len(), 4 + 3);
        assert!(
            s.pairs(MapType::ResponseHeaders).is_none(),
            "no response yet"
        );
    }

    #[test]
    fn edits_reach_the_request() {
        let mut s = stream();
        let m = MapType::RequestHeaders;
        s.set(m, b":path", b"/other", true).unwrap();
        s.set(m, b"x-new", b"v", false).unwrap();
        s.set(m, b"x-a", b"3", true).unwrap();
        s.remove(m, b"authorization").unwrap();
        let p = s.request.as_ref().unwrap();
        assert_eq!(p.uri.to_string(), "http://example.test/other");
        assert_eq!(p.headers["x-new"], "v");
        assert_eq!(p.headers.get_all("x-a").iter().count(), 1);
        assert!(p.headers.get("authorization").is_none());
        assert_eq!(s.set(m, b"bad name", b"v", true), Err(Status::BadArgument));
        assert_eq!(
            s.set(m, b":method", b"G ET", true),
            Err(Status::BadArgument)
        );
    }
}
