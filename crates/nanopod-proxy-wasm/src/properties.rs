//! `proxy_get_property`: Envoy's standard attributes that nanopod knows
//! (`request.path`, `request.method`, `request.headers`, `request.id`,
//! `request.time`, `response.code`, `source.address`, `plugin_name`,
//! `plugin_root_id`, and a few more), and the properties a filter set.
//! Strings are their bytes, integers and times 8 little-endian bytes
//! (times in nanoseconds since the Unix epoch), maps the ABI's pairs.

use crate::abi::{property_path, serialize_pairs};
use crate::stream::path_of;
use crate::vm::VmState;
use std::time::SystemTime;

/// The value at `path` (segments separated by NUL), if nanopod has one.
pub(crate) fn get(state: &mut VmState, path: &[u8]) -> Option<Vec<u8>> {
    if let Some((_, v)) = state.stream.properties.iter().find(|(k, _)| k == path) {
        return Some(v.clone());
    }
    let segments = property_path(path);
    let text = |s: &str| Some(s.as_bytes().to_vec());
    let int = |v: i64| Some(v.to_le_bytes().to_vec());
    let plugin = &state.plugin;
    match segments.as_slice() {
        [b"plugin_name"] => return text(&plugin.name),
        [b"plugin_root_id"] => return text(&plugin.root_id),
        [b"plugin_vm_id"] => return text(&plugin.vm_id),
        _ => {}
    }
    let stream = &mut state.stream;
    let info = stream.info.as_ref()?;
    let nanos = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64)
    };
    match segments.as_slice() {
        [b"request", b"id"] => text(info.request_id()),
        [b"request", b"time"] => int(nanos(info.started)),
        [b"request", b"protocol"] => text("HTTP/1.1"),
        [b"source", b"address"] => text(&info.peer?.to_string()),
        [b"source", b"port"] => int(i64::from(info.peer?.port())),
        [b"request", field @ ..] => {
            let request = stream.request.as_ref()?;
            match field {
                [b"path"] => text(path_of(&request.uri)),
                [b"url_path"] => text(request.uri.path()),
                [b"query"] => text(request.uri.query().unwrap_or("")),
                [b"method"] => text(request.method.as_str()),
                [b"scheme"] => text(request.uri.scheme_str().unwrap_or("http")),
                [b"host"] => text(request.uri.authority()?.as_str()),
                [b"headers"] => Some(headers(&request.headers)),
                [b"headers", name] => header(&request.headers, name),
                _ => None,
            }
        }
        [b"response", field @ ..] => {
            let response = stream.response.as_ref()?;
            match field {
                [b"code"] => int(i64::from(response.status.as_u16())),
                [b"headers"] => Some(headers(&response.headers)),
                [b"headers", name] => header(&response.headers, name),
                _ => None,
            }
        }
        _ => None,
    }
}

fn headers(map: &http::HeaderMap) -> Vec<u8> {
    let pairs: Vec<(&[u8], &[u8])> = map
        .iter()
        .map(|(k, v)| (k.as_str().as_bytes(), v.as_bytes()))
        .collect();
    serialize_pairs(&pairs)
}

fn header(map: &http::HeaderMap, name: &[u8]) -> Option<Vec<u8>> {
    let values: Vec<&[u8]> = map
        .get_all(http::HeaderName::from_bytes(name).ok()?)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    (!values.is_empty()).then(|| values.join(&b","[..]))
}
