//! The host calls (`env.proxy_*`) a proxy-wasm module imports, on a
//! [`VmState`]. Each returns the ABI's status; a call nanopod does not
//! implement (gRPC, foreign functions) answers `Unimplemented`, and an
//! import the module names that no one defines is linked to a stub that
//! does the same ([`crate::vm`]), so the host itself never traps.

use crate::abi::{
    self, BufferType, MapType, MetricType, Status, StreamType, deserialize_pairs, serialize_pairs,
};
use crate::metrics::MetricError;
use crate::shared::SetError;
use crate::upstream::{self, PendingCall};
use crate::vm::VmState;
use crate::wasi;
use std::time::{Duration, SystemTime};
use wasmtime::{Caller, Linker, Memory};

type Ctx<'a> = Caller<'a, VmState>;

/// A host call's outcome: its status, or a trap (only ever the module's
/// own, from its allocator).
type Answer = wasmtime::Result<i32>;

fn status(result: Result<(), Status>) -> i32 {
    match result {
        Ok(()) => Status::Ok as i32,
        Err(s) => s as i32,
    }
}

fn memory(c: &mut Ctx<'_>) -> Result<Memory, Status> {
    c.data().memory.ok_or(Status::InternalFailure)
}

/// The `len` bytes at `ptr`; `(0, 0)` is empty.
pub(crate) fn read(c: &mut Ctx<'_>, ptr: i32, len: i32) -> Result<Vec<u8>, Status> {
    let (ptr, len) = (ptr as u32 as usize, len as u32 as usize);
    if len == 0 {
        return Ok(Vec::new());
    }
    let mem = memory(c)?;
    let data = mem.data(&*c);
    let end = ptr.checked_add(len).ok_or(Status::InvalidMemoryAccess)?;
    data.get(ptr..end)
        .map(<[u8]>::to_vec)
        .ok_or(Status::InvalidMemoryAccess)
}

fn write(c: &mut Ctx<'_>, ptr: i32, bytes: &[u8]) -> Result<(), Status> {
    let mem = memory(c)?;
    mem.write(&mut *c, ptr as u32 as usize, bytes)
        .map_err(|_| Status::InvalidMemoryAccess)
}

fn write_u32(c: &mut Ctx<'_>, ptr: i32, value: u32) -> Result<(), Status> {
    write(c, ptr, &value.to_le_bytes())
}

/// Hands `bytes` to the module: memory from its own allocator, its
/// address and length written at `ret_ptr` and `ret_len` (`0, 0` when
/// empty, as the Rust SDK expects).
fn give(
    c: &mut Ctx<'_>,
    bytes: &[u8],
    ret_ptr: i32,
    ret_len: i32,
) -> wasmtime::Result<Result<(), Status>> {
    if bytes.is_empty() {
        return Ok(write_u32(c, ret_ptr, 0).and_then(|()| write_u32(c, ret_len, 0)));
    }
    // Taken out for the call and put back (a clone of a typed function
    // costs more than the call itself).
    let Some(allocate) = c.data_mut().allocate.take() else {
        return Ok(Err(Status::InternalFailure));
    };
    let allocated = allocate.call(&mut *c, bytes.len() as i32);
    c.data_mut().allocate = Some(allocate);
    let ptr = allocated?;
    if ptr == 0 {
        return Ok(Err(Status::InternalFailure));
    }
    Ok(write(c, ptr, bytes)
        .and_then(|()| write_u32(c, ret_ptr, ptr as u32))
        .and_then(|()| write_u32(c, ret_len, bytes.len() as u32)))
}

/// Runs `f` and returns its status, or the status of handing its bytes to
/// the module.
fn giving(
    c: &mut Ctx<'_>,
    ret_ptr: i32,
    ret_len: i32,
    f: impl FnOnce(&mut Ctx<'_>) -> Result<Vec<u8>, Status>,
) -> Answer {
    match f(c) {
        Ok(bytes) => Ok(status(give(c, &bytes, ret_ptr, ret_len)?)),
        Err(s) => Ok(s as i32),
    }
}

/// Links every `env.proxy_*` call and the WASI preview1 subset.
pub(crate) fn add_to_linker(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    wasi::add_to_linker(linker)?;
    let env = "env";
    // Logging, time, ticks.
    linker.func_wrap(
        env,
        "proxy_log",
        |mut c: Ctx<'_>, level: i32, ptr: i32, len: i32| -> Answer {
            use tracing::{Level, enabled};
            // A line no one logs is not read (an access-log filter logs
            // one per request).
            let wanted = match level {
                0 => enabled!(target: "nanopod::filter", Level::TRACE),
                1 => enabled!(target: "nanopod::filter", Level::DEBUG),
                2 => enabled!(target: "nanopod::filter", Level::INFO),
                3 => enabled!(target: "nanopod::filter", Level::WARN),
                _ => enabled!(target: "nanopod::filter", Level::ERROR),
            };
            if !wanted {
                return Ok(Status::Ok as i32);
            }
            Ok(status(read(&mut c, ptr, len).map(|message| {
                let text = String::from_utf8_lossy(&message);
                let filter = &c.data().plugin.name;
                match level {
                    0 => tracing::trace!(target: "nanopod::filter", "{filter}: {text}"),
                    1 => tracing::debug!(target: "nanopod::filter", "{filter}: {text}"),
                    2 => tracing::info!(target: "nanopod::filter", "{filter}: {text}"),
                    3 => tracing::warn!(target: "nanopod::filter", "{filter}: {text}"),
                    _ => tracing::error!(target: "nanopod::filter", "{filter}: {text}"),
                }
            })))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_get_log_level",
        |mut c: Ctx<'_>, ret: i32| -> Answer {
            use tracing::level_filters::LevelFilter;
            let level = match LevelFilter::current() {
                LevelFilter::TRACE => 0,
                LevelFilter::DEBUG => 1,
                LevelFilter::INFO => 2,
                LevelFilter::WARN => 3,
                _ => 4,
            };
            Ok(status(write_u32(&mut c, ret, level)))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_get_current_time_nanoseconds",
        |mut c: Ctx<'_>, ret: i32| -> Answer {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            Ok(status(write(&mut c, ret, &now.to_le_bytes())))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_set_tick_period_milliseconds",
        |mut c: Ctx<'_>, ms: i32| -> Answer {
            let ms = ms as u32;
            c.data_mut().tick_period = (ms > 0).then(|| Duration::from_millis(u64::from(ms)));
            Ok(Status::Ok as i32)
        },
    )?;
    // Buffers.
    linker.func_wrap(
        env,
        "proxy_get_buffer_bytes",
        |mut c: Ctx<'_>, kind: i32, start: i32, max: i32, ret_ptr: i32, ret_len: i32| -> Answer {
            let slice = |c: &mut Ctx<'_>| -> Result<Vec<u8>, Status> {
                let kind = BufferType::from_wasm(kind).ok_or(Status::BadArgument)?;
                let (start, max) = (start as u32 as usize, max as u32 as usize);
                let data = c.data();
                let buffer: &[u8] = match kind {
                    BufferType::RequestBody => &data.stream.request_body,
                    BufferType::ResponseBody => &data.stream.response_body,
                    BufferType::HttpCallResponseBody => {
                        &data
                            .stream
                            .call_response
                            .as_ref()
                            .ok_or(Status::NotFound)?
                            .body
                    }
                    BufferType::VmConfiguration => &data.plugin.vm_config,
                    BufferType::PluginConfiguration => &data.plugin.plugin_config,
                };
                let from = start.min(buffer.len());
                let to = from.saturating_add(max).min(buffer.len());
                Ok(buffer[from..to].to_vec())
            };
            match slice(&mut c) {
                // As in Envoy (proxy-wasm-cpp-host): nothing to copy writes
                // nothing, and SDKs rely on it (the AssemblyScript SDK's
                // `onConfigure` passes the configuration's size where the
                // size pointer belongs).
                Ok(bytes) if bytes.is_empty() => Ok(Status::Ok as i32),
                Ok(bytes) => Ok(status(give(&mut c, &bytes, ret_ptr, ret_len)?)),
                Err(s) => Ok(s as i32),
            }
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_set_buffer_bytes",
        |mut c: Ctx<'_>, kind: i32, start: i32, size: i32, ptr: i32, len: i32| -> Answer {
            let new = match read(&mut c, ptr, len) {
                Ok(b) => b,
                Err(s) => return Ok(s as i32),
            };
            let (start, size) = (start as u32 as usize, size as u32 as usize);
            let stream = &mut c.data_mut().stream;
            let buffer = match BufferType::from_wasm(kind) {
                Some(BufferType::RequestBody) => &mut stream.request_body,
                Some(BufferType::ResponseBody) => &mut stream.response_body,
                _ => return Ok(Status::BadArgument as i32),
            };
            // As Envoy: replace from the start, or append past the end.
            if start == 0 {
                let cut = size.min(buffer.len());
                buffer.splice(..cut, new);
            } else if start >= buffer.len() {
                buffer.extend_from_slice(&new);
            } else {
                return Ok(Status::BadArgument as i32);
            }
            Ok(Status::Ok as i32)
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_get_buffer_status",
        |mut c: Ctx<'_>, kind: i32, ret_len: i32, ret_flags: i32| -> Answer {
            let data = c.data();
            let len = match BufferType::from_wasm(kind) {
                Some(BufferType::RequestBody) => data.stream.request_body.len(),
                Some(BufferType::ResponseBody) => data.stream.response_body.len(),
                Some(BufferType::VmConfiguration) => data.plugin.vm_config.len(),
                Some(BufferType::PluginConfiguration) => data.plugin.plugin_config.len(),
                Some(BufferType::HttpCallResponseBody) => data
                    .stream
                    .call_response
                    .as_ref()
                    .map_or(0, |r| r.body.len()),
                None => return Ok(Status::BadArgument as i32),
            };
            Ok(status(
                write_u32(&mut c, ret_len, len as u32)
                    .and_then(|()| write_u32(&mut c, ret_flags, 0)),
            ))
        },
    )?;
    // Header maps.
    linker.func_wrap(
        env,
        "proxy_get_header_map_pairs",
        |mut c: Ctx<'_>, map: i32, ret_ptr: i32, ret_len: i32| -> Answer {
            giving(&mut c, ret_ptr, ret_len, |c| {
                let map = MapType::from_wasm(map).ok_or(Status::BadArgument)?;
                Ok(c.data_mut()
                    .stream
                    .pairs(map)
                    .map(|p| serialize_pairs(&p))
                    .unwrap_or_default())
            })
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_get_header_map_size",
        |mut c: Ctx<'_>, map: i32, ret: i32| -> Answer {
            let Some(map) = MapType::from_wasm(map) else {
                return Ok(Status::BadArgument as i32);
            };
            let size = c
                .data_mut()
                .stream
                .pairs(map)
                .map_or(0, |p| serialize_pairs(&p).len());
            Ok(status(write_u32(&mut c, ret, size as u32)))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_set_header_map_pairs",
        |mut c: Ctx<'_>, map: i32, ptr: i32, len: i32| -> Answer {
            let result = (|| {
                let map = MapType::from_wasm(map).ok_or(Status::BadArgument)?;
                let bytes = read(&mut c, ptr, len)?;
                let pairs = deserialize_pairs(&bytes).ok_or(Status::BadArgument)?;
                c.data_mut().stream.set_pairs(map, &pairs)
            })();
            Ok(status(result))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_get_header_map_value",
        |mut c: Ctx<'_>,
         map: i32,
         key_ptr: i32,
         key_len: i32,
         ret_ptr: i32,
         ret_len: i32|
         -> Answer {
            giving(&mut c, ret_ptr, ret_len, |c| {
                let map = MapType::from_wasm(map).ok_or(Status::BadArgument)?;
                let key = read(c, key_ptr, key_len)?;
                c.data_mut().stream.get(map, &key)
            })
        },
    )?;
    for (name, replace) in [
        ("proxy_add_header_map_value", false),
        ("proxy_replace_header_map_value", true),
    ] {
        linker.func_wrap(
            env,
            name,
            move |mut c: Ctx<'_>,
                  map: i32,
                  key_ptr: i32,
                  key_len: i32,
                  val_ptr: i32,
                  val_len: i32|
                  -> Answer {
                let result = (|| {
                    let map = MapType::from_wasm(map).ok_or(Status::BadArgument)?;
                    let key = read(&mut c, key_ptr, key_len)?;
                    let value = read(&mut c, val_ptr, val_len)?;
                    c.data_mut().stream.set(map, &key, &value, replace)
                })();
                Ok(status(result))
            },
        )?;
    }
    linker.func_wrap(
        env,
        "proxy_remove_header_map_value",
        |mut c: Ctx<'_>, map: i32, key_ptr: i32, key_len: i32| -> Answer {
            let result = (|| {
                let map = MapType::from_wasm(map).ok_or(Status::BadArgument)?;
                let key = read(&mut c, key_ptr, key_len)?;
                c.data_mut().stream.remove(map, &key)
            })();
            Ok(status(result))
        },
    )?;
    // Properties.
    linker.func_wrap(
        env,
        "proxy_get_property",
        |mut c: Ctx<'_>, path_ptr: i32, path_len: i32, ret_ptr: i32, ret_len: i32| -> Answer {
            giving(&mut c, ret_ptr, ret_len, |c| {
                let path = read(c, path_ptr, path_len)?;
                crate::properties::get(c.data_mut(), &path).ok_or(Status::NotFound)
            })
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_set_property",
        |mut c: Ctx<'_>, path_ptr: i32, path_len: i32, val_ptr: i32, val_len: i32| -> Answer {
            let result = (|| {
                let path = read(&mut c, path_ptr, path_len)?;
                let value = read(&mut c, val_ptr, val_len)?;
                let props = &mut c.data_mut().stream.properties;
                props.retain(|(k, _)| *k != path);
                props.push((path, value));
                Ok(())
            })();
            Ok(status(result))
        },
    )?;
    // Shared data and queues.
    linker.func_wrap(
        env,
        "proxy_get_shared_data",
        |mut c: Ctx<'_>,
         key_ptr: i32,
         key_len: i32,
         ret_ptr: i32,
         ret_len: i32,
         ret_cas: i32|
         -> Answer {
            let key = match read(&mut c, key_ptr, key_len) {
                Ok(k) => k,
                Err(s) => return Ok(s as i32),
            };
            let (value, cas) = match c.data().plugin.data.get(&key) {
                Ok(Some(found)) => found,
                Ok(None) => return Ok(Status::NotFound as i32),
                Err(_) => return Ok(Status::InternalFailure as i32),
            };
            if let Err(s) = give(&mut c, &value, ret_ptr, ret_len)? {
                return Ok(s as i32);
            }
            Ok(status(write_u32(&mut c, ret_cas, cas)))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_set_shared_data",
        |mut c: Ctx<'_>,
         key_ptr: i32,
         key_len: i32,
         val_ptr: i32,
         val_len: i32,
         cas: i32|
         -> Answer {
            let result = (|| {
                let key = read(&mut c, key_ptr, key_len)?;
                let value = read(&mut c, val_ptr, val_len)?;
                c.data()
                    .plugin
                    .data
                    .set(&key, &value, cas as u32)
                    .map_err(|e| match e {
                        SetError::CasMismatch => Status::CasMismatch,
                        SetError::Full | SetError::Store => Status::InternalFailure,
                    })
            })();
            Ok(status(result))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_register_shared_queue",
        |mut c: Ctx<'_>, name_ptr: i32, name_len: i32, ret: i32| -> Answer {
            let result = (|| {
                let name = read(&mut c, name_ptr, name_len)?;
                let owner = (c.data().slot, c.data().root);
                let id = c.data().plugin.queues.register(&name, owner);
                write_u32(&mut c, ret, id)
            })();
            Ok(status(result))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_resolve_shared_queue",
        |mut c: Ctx<'_>,
         _vm_ptr: i32,
         _vm_len: i32,
         name_ptr: i32,
         name_len: i32,
         ret: i32|
         -> Answer {
            let result = (|| {
                let name = read(&mut c, name_ptr, name_len)?;
                let id = c
                    .data()
                    .plugin
                    .queues
                    .resolve(&name)
                    .ok_or(Status::NotFound)?;
                write_u32(&mut c, ret, id)
            })();
            Ok(status(result))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_enqueue_shared_queue",
        |mut c: Ctx<'_>, id: i32, ptr: i32, len: i32| -> Answer {
            let result = (|| {
                let item = read(&mut c, ptr, len)?;
                let plugin = c.data().plugin.clone();
                let owner = plugin
                    .queues
                    .enqueue(id as u32, &item)
                    .ok_or(Status::NotFound)?;
                plugin.notify_queue(owner, id as u32);
                Ok(())
            })();
            Ok(status(result))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_dequeue_shared_queue",
        |mut c: Ctx<'_>, id: i32, ret_ptr: i32, ret_len: i32| -> Answer {
            match c.data().plugin.queues.dequeue(id as u32) {
                Err(()) => Ok(Status::NotFound as i32),
                Ok(None) => Ok(Status::Empty as i32),
                Ok(Some(item)) => Ok(status(give(&mut c, &item, ret_ptr, ret_len)?)),
            }
        },
    )?;
    // Stream control.
    linker.func_wrap(
        env,
        "proxy_continue_stream",
        |mut c: Ctx<'_>, kind: i32| -> Answer {
            let Some(kind) = StreamType::from_wasm(kind) else {
                return Ok(Status::BadArgument as i32);
            };
            c.data_mut().stream.resumed[kind as usize] = true;
            Ok(Status::Ok as i32)
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_close_stream",
        |mut c: Ctx<'_>, _kind: i32| -> Answer {
            // A stream the filter closes ends with a bare reset reply.
            c.data_mut()
                .stream
                .local_response
                .get_or_insert(crate::stream::LocalResponse {
                    status: http::StatusCode::BAD_GATEWAY,
                    headers: Vec::new(),
                    body: Vec::new(),
                });
            Ok(Status::Ok as i32)
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_send_local_response",
        |mut c: Ctx<'_>,
         code: i32,
         _details_ptr: i32,
         _details_len: i32,
         body_ptr: i32,
         body_len: i32,
         headers_ptr: i32,
         headers_len: i32,
         _grpc_status: i32|
         -> Answer {
            let result = (|| {
                let status = http::StatusCode::from_u16(code as u32 as u16)
                    .map_err(|_| Status::BadArgument)?;
                let body = read(&mut c, body_ptr, body_len)?;
                let headers = read(&mut c, headers_ptr, headers_len)?;
                let headers = deserialize_pairs(&headers).ok_or(Status::BadArgument)?;
                c.data_mut().stream.local_response = Some(crate::stream::LocalResponse {
                    status,
                    headers,
                    body,
                });
                Ok(())
            })();
            Ok(status(result))
        },
    )?;
    // HTTP calls.
    linker.func_wrap(
        env,
        "proxy_http_call",
        |mut c: Ctx<'_>,
         up_ptr: i32,
         up_len: i32,
         headers_ptr: i32,
         headers_len: i32,
         body_ptr: i32,
         body_len: i32,
         _trailers_ptr: i32,
         _trailers_len: i32,
         timeout_ms: i32,
         ret_token: i32|
         -> Answer {
            let result = (|| {
                let upstream = String::from_utf8(read(&mut c, up_ptr, up_len)?).map_err(|_| Status::BadArgument)?;
                let headers = read(&mut c, headers_ptr, headers_len)?;
                let headers = deserialize_pairs(&headers).ok_or(Status::BadArgument)?;
                let body = read(&mut c, body_ptr, body_len)?;
                let plugin = c.data().plugin.clone();
                if !plugin.may_call(&upstream) {
                    tracing::warn!(
                        target: "nanopod::filter",
                        "{}: HTTP call to `{upstream}` denied: not granted with allow-http",
                        plugin.name
                    );
                    return Err(Status::BadArgument);
                }
                let timeout = Duration::from_millis(u64::from(timeout_ms as u32));
                let answer = upstream::dispatch(&upstream, headers, body, timeout).map_err(|why| {
                    tracing::warn!(target: "nanopod::filter", "{}: HTTP call to `{upstream}` not sent: {why}", plugin.name);
                    Status::BadArgument
                })?;
                let data = c.data_mut();
                data.next_token = data.next_token.wrapping_add(1).max(1);
                let call = PendingCall { token: data.next_token, answer };
                let token = call.token;
                if data.effective == data.root {
                    data.root_calls.push(call);
                } else {
                    data.stream.calls.push(call);
                }
                write_u32(&mut c, ret_token, token)
            })();
            Ok(status(result))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_get_status",
        |mut c: Ctx<'_>, ret_code: i32, ret_ptr: i32, ret_len: i32| -> Answer {
            let (code, message) = match &c.data().stream.call_response {
                None => return Ok(Status::NotFound as i32),
                Some(r) => match &r.failure {
                    Some(why) => (abi::BROKEN_CONNECTION, why.clone().into_bytes()),
                    None => (u32::from(r.status), Vec::new()),
                },
            };
            if let Err(s) = write_u32(&mut c, ret_code, code) {
                return Ok(s as i32);
            }
            Ok(status(give(&mut c, &message, ret_ptr, ret_len)?))
        },
    )?;
    // Contexts.
    linker.func_wrap(
        env,
        "proxy_set_effective_context",
        |mut c: Ctx<'_>, id: i32| -> Answer {
            let data = c.data_mut();
            if data.contexts.contains(&(id as u32)) {
                data.effective = id as u32;
                Ok(Status::Ok as i32)
            } else {
                Ok(Status::BadArgument as i32)
            }
        },
    )?;
    linker.func_wrap(env, "proxy_done", |_c: Ctx<'_>| -> Answer {
        Ok(Status::NotFound as i32)
    })?;
    // Metrics.
    linker.func_wrap(
        env,
        "proxy_define_metric",
        |mut c: Ctx<'_>, kind: i32, name_ptr: i32, name_len: i32, ret: i32| -> Answer {
            let result = (|| {
                let kind = MetricType::from_wasm(kind).ok_or(Status::BadArgument)?;
                let name = String::from_utf8(read(&mut c, name_ptr, name_len)?)
                    .map_err(|_| Status::BadArgument)?;
                let plugin = c.data().plugin.clone();
                let id = plugin.metrics.define(&plugin.name, kind, &name);
                write_u32(&mut c, ret, id)
            })();
            Ok(status(result))
        },
    )?;
    let metric_status = |r: Result<(), MetricError>| match r {
        Ok(()) => Status::Ok as i32,
        Err(MetricError::NotFound) => Status::NotFound as i32,
        Err(MetricError::BadArgument) => Status::BadArgument as i32,
    };
    linker.func_wrap(
        env,
        "proxy_increment_metric",
        move |c: Ctx<'_>, id: i32, delta: i64| -> Answer {
            Ok(metric_status(
                c.data().plugin.metrics.increment(id as u32, delta),
            ))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_record_metric",
        move |c: Ctx<'_>, id: i32, value: i64| -> Answer {
            Ok(metric_status(
                c.data().plugin.metrics.record(id as u32, value as u64),
            ))
        },
    )?;
    linker.func_wrap(
        env,
        "proxy_get_metric",
        move |mut c: Ctx<'_>, id: i32, ret: i32| -> Answer {
            match c.data().plugin.metrics.get(id as u32) {
                Ok(v) => Ok(status(write(&mut c, ret, &v.to_le_bytes()))),
                Err(e) => Ok(metric_status(Err(e))),
            }
        },
    )?;
    Ok(())
}
